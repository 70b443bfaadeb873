/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp_limits.h - every tunable and cap of libcprof in one place, each with
 * the reason for its value (after sqlite's sqliteLimit.h). Bounded memory
 * everywhere: whatever the host does, cprof's footprint stays below these.
 */
#ifndef CP_LIMITS_H
#define CP_LIMITS_H

/* Frames kept per stack. Go keeps 128 since 1.23; deeper stacks end in a
 * marker frame so truncation is visible in the profile. */
#define CP_MAX_STACK_DEPTH 128

/* CPU sample ring, in 8-byte words. A sample of depth 128 is 133 words;
 * 512 Ki words (4 MiB) hold ~4000 such samples: 2 s of 2 threads at
 * 1000 Hz even at full depth, while the drain thread empties it every
 * CP_DRAIN_INTERVAL_MS. */
#define CP_SAMPBUF_WORDS (512u * 1024u)

/* How often the drain thread empties the ring. The handler also wakes it
 * early when the ring passes half full. */
#define CP_DRAIN_INTERVAL_MS 20

/* Distinct (stack, thread, cpu, labels) records kept per CPU profile.
 * Beyond this, samples are counted as dropped (and the profile's comments
 * say how many). 1 Mi records of ~64 bytes plus stacks: about 100 MiB in
 * the worst case, which only a pathological program reaches. */
#define CP_MAX_CPU_RECORDS (1u << 20)

/* Distinct label sets a process may create with cprof_label_set. Label sets
 * are interned and never freed (samples refer to them by number), so the
 * cap bounds their memory: a program generating unique labels per request
 * would otherwise leak. */
#define CP_MAX_LABEL_SETS 65536
#define CP_MAX_LABELS_PER_SET 16

/* Threads the registry tracks at once (slots are reused when threads
 * exit). Threads beyond this are still sampled when they have a timer, but
 * their names are not kept. */
#define CP_MAX_THREADS 32768

/* Loaded modules (executable, shared libraries, vdso) tracked at once. */
#define CP_MAX_MODULES 4096

/* CPU sampling rates accepted by cprof_cpu_set_hz / CPROF_CPU_HZ. */
#define CP_MIN_HZ 1
#define CP_MAX_HZ 100000
#define CP_DEFAULT_HZ 100

/* Concurrent CPU profile sessions (API or CPROF_CPU, plus endpoint
 * requests that each get their own window of samples). */
#define CP_MAX_CPU_SESSIONS 8

/* cprof's own threads listed at once (drain thread, the endpoint's
 * listener and one per connection, CP_HTTP_MAX_CONNECTIONS): the list is
 * scanned when threads are adopted, so it stays small. */
#define CP_MAX_INTERNAL_THREADS 512

/* Thread snapshots (threads profile, snapshot.c). Threads running user
 * code are interrupted at most this many at a time per snapshot (each has a
 * 1 KiB answer slot, mmap'ed once); more are reported without a stack. */
#define CP_SNAP_MAX_SIGNALLED 256
/* How much of a blocked thread's stack is copied: 128 frames of 2 KiB. */
#define CP_SNAP_STACK_BYTES (256u * 1024u)
/* How long a running thread has to answer. It answers after 10 us of user
 * CPU time (perf_event) or at its next tick (CPU timer, 4 ms at 250 Hz);
 * one waiting for a CPU on a loaded machine needs longer. */
#define CP_SNAP_TIMEOUT_MS 200
/* Reads of a blocked thread that moved while read, before giving up. */
#define CP_SNAP_RETRIES 3

/* The live endpoint (http.c). Connections served at once, each on a
 * thread of its own (a seconds=N request holds its thread for N s): more
 * are accepted and closed at once. Enough for a fleet scraper, a few
 * people and a load test's 50 clients. */
#define CP_HTTP_MAX_CONNECTIONS 128
/* A connection idle this long is closed (half-open and slow clients). */
#define CP_HTTP_IDLE_TIMEOUT_S 10
/* Request line plus headers, per connection (libmicrohttpd answers 414 or
 * 431 past it): Go's net/http allows 1 MiB; pprof clients send < 1 KiB. */
#define CP_HTTP_MAX_HEADER_BYTES (32u * 1024u)
/* A symbol request's body: pprof sends ~19 bytes per address. */
#define CP_HTTP_MAX_BODY (1024 * 1024)
/* Addresses looked up per symbol request. */
#define CP_HTTP_MAX_SYMBOLS 65536
/* Query parameters per request. */
#define CP_HTTP_MAX_ARGS 32
/* A response body (profiles are a few MiB at most; debug=2 of 10k threads
 * is ~20 MiB). */
#define CP_HTTP_MAX_RESPONSE ((size_t)256 << 20)
/* Stack of each connection thread: symbolization (libdw) recurses. */
#define CP_HTTP_THREAD_STACK (1024u * 1024u)
/* CPROF_HTTP_MAX_SECONDS' default: Go's own cap is the server's
 * WriteTimeout; 5 minutes covers any sensible profile. */
#define CP_HTTP_DEFAULT_MAX_SECONDS 300

/* Thread name length, including the NUL (Linux's TASK_COMM_LEN). */
#define CP_THREAD_NAME_LEN 16

/* ---- heap profiler (heap.c, heap_region.c; docs/internals/heap-sampling.md) */

/* Mean bytes between samples, Go's MemProfileRate default (512 KiB). */
#define CP_HEAP_DEFAULT_RATE 524288
/* Largest rate accepted: beyond 1 TiB nothing is ever sampled anyway. */
#define CP_HEAP_MAX_RATE ((int64_t)1 << 40)
/* With the rate at 0 a thread looks at the rate again after this many
 * bytes, so that cprof_heap_set_rate(N) reaches every thread soon; the
 * cost is one slow-path call per 4 MiB allocated. */
#define CP_HEAP_OFF_RECHECK ((int64_t)4 << 20)

/* Address space reserved for sampled blocks (PROT_NONE until used, so it
 * costs neither memory nor commit charge). Tried first at 1 TiB, halved
 * down to 256 MiB where the address space is limited (ulimit -v,
 * valgrind). Sampled live memory beyond it is not sampled (counted). */
#define CP_HEAP_REGION_MAX ((size_t)1 << 40)
#define CP_HEAP_REGION_MIN ((size_t)256 << 20)
/* Bootstrap blocks (what dlsym asks for before malloc is resolved):
 * glibc's dlsym needs a few hundred bytes at most. */
#define CP_HEAP_BOOT_BYTES ((size_t)64 << 10)
/* The region is made writable in steps of this much (one mprotect). */
#define CP_HEAP_COMMIT_STEP ((size_t)4 << 20)
/* Blocks up to this size are carved from shared chunks of CP_HEAP_CHUNK;
 * larger ones get page-aligned slots of their own. */
#define CP_HEAP_SMALL_MAX ((size_t)32 << 10)
#define CP_HEAP_CHUNK ((size_t)1 << 20)
/* Freed large slots kept resident for reuse, at most this many bytes in
 * all; slots of CP_HEAP_PURGE_MIN or more are always given back at once
 * (glibc munmaps such blocks too). */
#define CP_HEAP_DIRTY_MAX ((size_t)16 << 20)
#define CP_HEAP_PURGE_MIN ((size_t)1 << 20)
/* Largest alignment a sampled block honours (larger requests are served
 * unsampled by the real allocator). */
#define CP_HEAP_MAX_ALIGN ((size_t)1 << 20)

/* Distinct (stack, size) buckets and stack words kept. Beyond them new
 * samples are dropped (counted, and reported in the profile's comments);
 * at the default rate a program would need millions of distinct sites.
 * Worst case: 32 MiB of buckets plus 64 MiB of stacks. */
#define CP_HEAP_MAX_BUCKETS ((uint32_t)1 << 20)
#define CP_HEAP_MAX_STACK_WORDS ((size_t)8 << 20)

/* ---- contention and wall-clock profiles (contention.c, ctab.c, wall.c;
 * docs/internals/wall.md) ---- */

/* Frames kept per block/mutex record: what the blocking-call hooks unwind
 * (sync.h keeps 64 per call). */
#define CP_CTAB_DEPTH 64
/* Distinct stacks per block or mutex profile. Each bucket is ~560 bytes
 * of address space touched only when used: 8192 buckets map 4.5 MiB. A
 * program with more distinct contended stacks has the rest counted as
 * dropped (a marker frame in the profile). */
#define CP_CTAB_BUCKETS 8192
/* Probes before a stack is counted as dropped (open addressing). */
#define CP_CTAB_PROBES 64

/* Wall-clock sampling rates accepted by CPROF_WALL_HZ. Every tick reads
 * the state of every thread, so rates past 1000 Hz cost more than they
 * tell. */
#define CP_WALL_MIN_HZ 1
#define CP_WALL_MAX_HZ 1000
#define CP_WALL_DEFAULT_HZ 100
/* Wall-clock sessions open at once (CPROF_WALL plus endpoint windows). */
#define CP_MAX_WALL_SESSIONS 8
/* Threads the wall-clock sampler follows at once (a slot of ~1.1 KiB of
 * address space each, mapped once, touched when used). Threads past it
 * are sampled from /proc only. */
#define CP_WALL_MAX_THREADS 4096
/* Stack bytes copied to unwind a thread waiting in an interposed call
 * (from its caller's frame up; a partial copy stops at the stack's top). */
#define CP_WALL_STACK_BYTES (64u * 1024u)
/* perf_event descriptors the wall-clock sampler keeps open at once (one
 * per thread seen running, to interrupt it in user mode only); threads
 * past it use a timer on their CPU clock instead, which needs no
 * descriptor. Keeps cprof's descriptors well below a 1024 RLIMIT_NOFILE. */
#define CP_WALL_MAX_PERF_FDS 64
/* An armed thread silent this long is looked up in /proc (it may be
 * blocked outside cprof's interposers); before, it is taken to be waiting
 * for a CPU. Two ticks at 100 Hz; at higher rates it saves a /proc read
 * (~35 us here) per starved thread per tick. */
#define CP_WALL_SILENT_NS 20000000
/* An answer later than this after the arm comes from a thread that waited
 * for a CPU (a running one answers within 10 us of user time, or at its
 * next kernel tick with a timer: 4 ms at 250 Hz, 10 ms at 100 Hz). */
#define CP_WALL_LATE_PERF_NS 2000000
#define CP_WALL_LATE_TIMER_NS 12000000
/* Distinct (stack, thread, state, labels) records per wall session. */
#define CP_WALL_MAX_RECORDS (1u << 20)

#endif /* CP_LIMITS_H */
