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

/* Thread name length, including the NUL (Linux's TASK_COMM_LEN). */
#define CP_THREAD_NAME_LEN 16

#endif /* CP_LIMITS_H */
