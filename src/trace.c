/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace.c - the execution tracer (trace.h): the public annotations
 * (cprof_region_*, cprof_task_*, cprof_log), starting and stopping a
 * trace, the writer thread, and the events cprof records by itself.
 *
 * Producers. An annotation on a thread appends to that thread's own ring
 * (tracebuf.h) without any lock: a relaxed load of the running trace's
 * generation (0 when no trace runs: the whole cost of an annotation
 * then), the buffer pointer from cp_tls, a busy flag that keeps the
 * thread's own signal handlers out and lets the stopper know when the
 * thread is done, one rdtsc, the encoding, one release store.
 *
 * Stopping without losing or double-counting an event is an asymmetric
 * Dekker handshake: a producer stores busy = 1 and then re-reads the
 * generation; the stopper stores generation 0, runs membarrier() (a full
 * barrier on every thread of the process, so either the producer saw 0
 * or the stopper sees busy) and waits for every busy flag to clear before
 * the last flush. Where membarrier is missing it sleeps 2 ms instead (a
 * store buffer drains in well under a microsecond).
 *
 * The writer thread (one of cprof's own: signals blocked, never sampled
 * nor traced) wakes every CP_TRACE_FLUSH_MS or when a ring passes half
 * full, and appends whole chunks to the file: new strings and stacks
 * first, then events cprof recorded on the threads' behalf (CPU samples,
 * context switches, counters, names), then each ring's new bytes as they
 * are. A reader therefore never meets an id before its definition, and a
 * trace cut short is a readable prefix.
 *
 * Design: docs/internals/trace.md. Format: docs/trace-format.md.
 */
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "cp_assert.h"
#include "cp_lock.h"
#include "cpu.h"
#include "cprof.h"
#include "init.h"
#include "modules.h"
#include "sampbuf.h"
#include "sampler.h"
#include "sigsafe.h"
#include "symbol/symbolize.h"
#include "sync.h"
#include "thread_reg.h"
#include "tracebuf.h"
#include "trace/trace_format.h"

#define CP_API __attribute__((visibility("default")))

/* The endpoint registers windows through http.h; weak so that a libcprof
 * built without the endpoint still links. */
struct cp_http_window;
int cp_http_register_window(const struct cp_http_window *w)
    __attribute__((weak));
/* The CPU drain thread's per-sample hook (cpu.c). */
extern void (*cp_cpu_sample_hook)(const struct cp_sample_rec *s);

/* ---- state ---- */

/* 0: no trace; else the generation of the running one. Read relaxed by
 * every annotation. */
static _Atomic uint32_t trace_gen;
/* Units are ticks >> unit_shift (2-4 ns); fixed while a trace runs. */
static int unit_shift;
/* Interned strings and stacks of the running trace. */
static struct cp_tintern strs, stks;
static _Atomic uint64_t next_task = 1;
/* cp_tls.trace of a thread past its exit hook: its gen never matches, and
 * slow_buf refuses to give it a new buffer. */
static struct cp_tbuf exiting_buf;

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by trace_lock */
static uint32_t gen_counter;
static bool hooks_installed;
static struct cp_cpu_session *cpu_sess;
static char *trace_path;  /* file trace: its path (for the fork child) */
static const char *trace_origin;
static pthread_t writer_thread;
static bool writer_running;
static bool env_started;

/* The sink: a file, or memory for the endpoint. Written by the writer
 * thread, then by the stopper once the writer is joined. */
static int sink_fd = -1;
static struct cp_dynbuf *sink_mem;
static int sink_err; /* first write error (-errno) */
static _Atomic uint64_t st_bytes, st_flushes, st_samples, st_sched,
    st_events_done, st_dropped_done;
static _Atomic int st_sched_threads;
static int64_t start_mono_ns;

static _Atomic int writer_stop;
static _Atomic uint32_t writer_futex;
/* Test seam (tests/unit/test_rt_trace.c): while set, the writer skips its
 * passes, so a test can fill a ring and count the losses. */
_Atomic int cp_trace_test_hold;

/* ---- the calling thread's CPU, from rseq when glibc registered it ---- */

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
static ptrdiff_t rseq_off;
static int rseq_ok;

static inline int cur_cpu(void)
{
    if (CP_LIKELY(rseq_ok))
        return (int)*(volatile uint32_t *)((char *)__builtin_thread_pointer() +
                                           rseq_off + 4);
    return sched_getcpu();
}

/* ---- producers ---- */

static struct cp_tbuf *slow_buf(uint32_t g);

static inline void leave(struct cp_tbuf *b)
{
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&b->busy, 0, memory_order_release);
}

static inline void count_lost(struct cp_tbuf *b)
{
    atomic_fetch_add_explicit(&b->lost, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->lost_total, 1, memory_order_relaxed);
}

/* The calling thread's buffer, marked busy; NULL when no trace runs or
 * the event is dropped (counted). Async-signal-safe. */
static inline struct cp_tbuf *enter(void)
{
    uint32_t g = atomic_load_explicit(&trace_gen, memory_order_relaxed);
    struct cp_tbuf *b;

    if (CP_LIKELY(!g))
        return NULL;
    b = cp_tls.trace;
    if (CP_UNLIKELY(!b ||
                    atomic_load_explicit(&b->gen, memory_order_relaxed) != g)) {
        b = slow_buf(g);
        if (!b)
            return NULL;
    }
    if (CP_UNLIKELY(atomic_load_explicit(&b->busy, memory_order_relaxed))) {
        count_lost(b); /* a handler interrupted this thread mid-event */
        return NULL;
    }
    atomic_store_explicit(&b->busy, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (CP_UNLIKELY(atomic_load_explicit(&trace_gen, memory_order_relaxed) !=
                    g)) {
        leave(b);
        return NULL;
    }
    return b;
}

static inline uint64_t now_units(void)
{
    return cp_clock_ticks() >> unit_shift;
}

static inline uint8_t *put_head(struct cp_tbuf *b, uint8_t *p, int type,
                                uint64_t now)
{
    uint64_t last = b->last_units;
    *p++ = (uint8_t)type;
    if (CP_LIKELY(now >= last)) {
        p = cp_put_uvarint(p, now - last);
        b->last_units = now;
    } else {
        *p++ = 0; /* a BLOCK ending before a nested handler's event */
    }
    return p;
}

/* The LOST and CPU events that precede an event when due. */
static __attribute__((noinline)) uint8_t *
prefix(struct cp_tbuf *b, uint8_t *p, uint64_t now, uint64_t lost, int cpu)
{
    if (lost) {
        p = put_head(b, p, CP_TRE_LOST, now);
        p = cp_put_uvarint(p, lost);
        atomic_fetch_sub_explicit(&b->lost, lost, memory_order_relaxed);
    }
    if (cpu != b->cpu && cpu >= 0) {
        p = put_head(b, p, CP_TRE_CPU, now);
        p = cp_put_uvarint(p, (uint64_t)cpu);
        b->cpu = cpu;
    }
    return p;
}

/* Room for an event with args_max bytes of arguments and what precedes
 * it; NULL when the ring is full (counted). */
static inline uint8_t *ev_begin(struct cp_tbuf *b, size_t args_max,
                                uint64_t now, int type, uint8_t **p0)
{
    uint8_t *p = cp_tbuf_reserve(b, args_max + 3 * (1 + CP_VARINT_MAX) +
                                        2 * CP_VARINT_MAX);
    uint64_t lost;
    int cpu;

    if (CP_UNLIKELY(!p)) {
        count_lost(b);
        return NULL;
    }
    *p0 = p;
    lost = atomic_load_explicit(&b->lost, memory_order_relaxed);
    cpu = cur_cpu();
    if (CP_UNLIKELY(lost || cpu != b->cpu))
        p = prefix(b, p, now, lost, cpu);
    return put_head(b, p, type, now);
}

static inline void ev_end(struct cp_tbuf *b, uint8_t *p0, uint8_t *p)
{
    cp_tbuf_commit(b, p0, p);
    atomic_store_explicit(
        &b->events,
        atomic_load_explicit(&b->events, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

/* Id of string s: the thread's cache by pointer, verified byte by byte
 * (the same pointer may hold another string by now), else the table. */
static __attribute__((noinline)) uint32_t str_slow(struct cp_tbuf *b,
                                                   const char *s,
                                                   struct cp_tbuf_cache *c)
{
    size_t len = strnlen(s, 4096);
    uint32_t id = cp_tintern_get(&strs, s, len);
    if (len < CP_TBUF_CACHE_STR && id) {
        c->ptr = s;
        c->id = id;
        c->len = (uint32_t)len;
        memcpy(c->copy, s, len);
    }
    return id;
}

static inline uint32_t str_id(struct cp_tbuf *b, const char *s)
{
    struct cp_tbuf_cache *c;
    uint32_t i;

    if (CP_UNLIKELY(!s || !*s))
        return 0;
    c = &b->cache[((uintptr_t)s * 0x9e3779b97f4a7c15ull) >> 58];
    if (CP_LIKELY(c->ptr == s)) {
        for (i = 0; i < c->len; i++) {
            if (s[i] != c->copy[i])
                goto miss;
        }
        if (s[i] == '\0')
            return c->id;
    }
miss:
    return str_slow(b, s, c);
}

/* Stack id of n pcs (0 if none or the table is full). */
static uint32_t stack_id(const uintptr_t *pcs, int n)
{
    if (n <= 0)
        return 0;
    return cp_tintern_get(&stks, pcs, (size_t)n * sizeof *pcs);
}

/*
 * The calling thread's buffer for generation g: its idle one from an
 * earlier trace, reset, or a new one. Async-signal-safe (mmap and a CAS
 * push), so a thread's first event may come from a signal handler.
 */
static struct cp_tbuf *slow_buf(uint32_t g)
{
    struct cp_tbuf *b = cp_tls.trace;

    if (b == &exiting_buf || cp_tls.internal)
        return NULL;
    if (!cp_tls.tid)
        cp_tls.tid = cp_gettid();
    if (b) {
        if (atomic_load_explicit(&b->busy, memory_order_relaxed))
            return NULL; /* a handler interrupted the reset below */
        atomic_store_explicit(&b->busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        b->tid = cp_tls.tid;
        cp_tbuf_reset(b, g);
        leave(b);
        return b;
    }
    b = cp_tbuf_new(cp_tls.tid, g);
    if (b)
        cp_tls.trace = b;
    return b;
}

/* ---- the public annotations ---- */

CP_API void cprof_region_begin(const char *name)
{
    struct cp_tbuf *b = enter();
    uint64_t now;
    uint32_t id;
    uint8_t *p0, *p;

    if (!b)
        return;
    now = now_units();
    id = str_id(b, name);
    p = ev_begin(b, CP_VARINT_MAX, now, CP_TRE_REGION_BEGIN, &p0);
    if (p) {
        p = cp_put_uvarint(p, id);
        ev_end(b, p0, p);
    }
    leave(b);
}

CP_API void cprof_region_end(void)
{
    struct cp_tbuf *b = enter();
    uint64_t now;
    uint8_t *p0, *p;

    if (!b)
        return;
    now = now_units();
    p = ev_begin(b, 0, now, CP_TRE_REGION_END, &p0);
    if (p)
        ev_end(b, p0, p);
    leave(b);
}

CP_API uint64_t cprof_task_begin(const char *name)
{
    uint64_t task =
        atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed);
    struct cp_tbuf *b = enter();
    uint64_t now;
    uint32_t id;
    uint8_t *p0, *p;

    if (!b)
        return task;
    now = now_units();
    id = str_id(b, name);
    p = ev_begin(b, 2 * CP_VARINT_MAX, now, CP_TRE_TASK_BEGIN, &p0);
    if (p) {
        p = cp_put_uvarint(p, task);
        p = cp_put_uvarint(p, id);
        ev_end(b, p0, p);
    }
    leave(b);
    return task;
}

CP_API void cprof_task_end(uint64_t task)
{
    struct cp_tbuf *b;
    uint64_t now;
    uint8_t *p0, *p;

    if (!task)
        return;
    b = enter();
    if (!b)
        return;
    now = now_units();
    p = ev_begin(b, CP_VARINT_MAX, now, CP_TRE_TASK_END, &p0);
    if (p) {
        p = cp_put_uvarint(p, task);
        ev_end(b, p0, p);
    }
    leave(b);
}

CP_API void cprof_log(const char *category, const char *message)
{
    struct cp_tbuf *b = enter();
    uint64_t now;
    uint32_t id;
    size_t len;
    uint8_t *p0, *p;

    if (!b)
        return;
    now = now_units();
    id = str_id(b, category);
    len = message ? strnlen(message, CP_TRACE_MAX_LOG) : 0;
    p = ev_begin(b, 2 * CP_VARINT_MAX + len, now, CP_TRE_LOG, &p0);
    if (p) {
        p = cp_put_uvarint(p, id);
        p = cp_put_uvarint(p, len);
        memcpy(p, message, len);
        ev_end(b, p0, p + len);
    }
    leave(b);
}

/* ---- blocking calls (sync.h subscriber) ---- */

static void on_wait(struct cp_sync_wait *w, void *arg)
{
    struct cp_tbuf *b = enter();
    const uintptr_t *pcs;
    uint32_t stack, call;
    uint64_t end, start;
    int n;
    uint8_t *p0, *p;

    if (!b)
        return;
    n = cp_sync_stack(w, &pcs);
    stack = stack_id(pcs, n);
    call = str_id(b, w->call);
    end = w->end >> unit_shift;
    start = w->start >> unit_shift;
    p = ev_begin(b, 1 + 4 * CP_VARINT_MAX, end, CP_TRE_BLOCK, &p0);
    if (p) {
        *p++ = (uint8_t)w->kind;
        p = cp_put_uvarint(p, call);
        p = cp_put_uvarint(p, end > start ? end - start : 0);
        p = cp_put_uvarint(p, stack);
        p = cp_put_svarint(p, (int64_t)(intptr_t)w->obj);
        ev_end(b, p0, p);
    }
    leave(b);
}

/* Blocking system calls shorter than this are not traced: most reads and
 * writes finish in a few microseconds without sleeping, and each traced
 * call costs an unwind. Go's scheduler, likewise, only treats a system
 * call as blocking once it has run for 20 us. */
#define CP_TRACE_SYSCALL_MIN_NS 20000

static const struct cp_sync_hooks sync_hooks = {
    .kinds = CP_SYNC_ALL_WAITS,
    .min_ns = CP_TRACE_SYSCALL_MIN_NS,
    .on_wait = on_wait,
};

/* ---- events written by the writer side (GLOBAL chunks) ---- */

/* gq: encoded global events waiting for the writer. Appended by the CPU
 * drain thread, the registry hooks and the writer; guarded by gq_lock (a
 * leaf). Events are only accepted while a trace runs (checked under the
 * lock, so none slips in after the stopper's last swap). */
static pthread_mutex_t gq_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cp_dynbuf gq;
static int64_t gq_base, gq_prev;
static uint64_t gq_dropped;
static bool gq_open; /* events accepted: from start until the last pass */
#define CP_TRACE_GQ_MAX ((size_t)64 << 20)

/* Append one global event: type, time, tid, then n uvarints. */
static void gq_event(int type, int64_t t_ns, int tid, const uint64_t *args,
                     int n)
{
    uint8_t tmp[16 + 12 * CP_VARINT_MAX], *p = tmp;

    cp_mutex_lock(&gq_lock);
    if (!gq_open)
        goto out;
    if (!gq.len) {
        gq_base = t_ns;
        gq_prev = t_ns;
    }
    *p++ = (uint8_t)type;
    p = cp_put_svarint(p, t_ns - gq_prev);
    gq_prev = t_ns;
    p = cp_put_uvarint(p, (uint64_t)(tid > 0 ? tid : 0));
    for (int i = 0; i < n && i < 12; i++)
        p = cp_put_uvarint(p, args[i]);
    if (cp_dynbuf_add(&gq, tmp, (size_t)(p - tmp)) < 0)
        gq_dropped++;
out:
    cp_mutex_unlock(&gq_lock);
}

/* CPU samples, from cpu.c's drain thread (cpu_lock and cp_reg_lock held). */
static void on_sample(const struct cp_sample_rec *s)
{
    uint64_t a[3];
    if (!atomic_load_explicit(&trace_gen, memory_order_relaxed))
        return;
    a[0] = (uint64_t)(s->cpu >= 0 ? s->cpu : 0);
    a[1] = stack_id(s->pcs, s->n);
    a[2] = s->weight;
    gq_event(CP_TRG_SAMPLE, s->time_ns, s->tid, a, 3);
    atomic_fetch_add(&st_samples, 1);
}

/* ---- precise context switches (perf_event PERF_RECORD_SWITCH) ---- */

/* One per thread: a software dummy event that counts nothing and only
 * asks the kernel for a record at every switch in and out of the thread,
 * with the time (CLOCK_MONOTONIC), tid and CPU, into a small ring we
 * mmap and the writer empties. Allowed to unprivileged users for their own
 * threads (exclude_kernel). Each ring is locked memory: past the
 * RLIMIT_MEMLOCK + perf_event_mlock_kb budget mmap fails and that thread
 * is "estimated" in the trace. */
#define CP_TRACE_SCHED_PAGES 4 /* 16 KiB: 512 records, 256 switches per
                                  flush interval */

struct sched_src {
    int tid;
    int fd;
    struct perf_event_mmap_page *mm;
    size_t mm_len;
    bool dead;
    struct sched_src *next;
};

static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by sched_lock */
static struct sched_src *sched_list;
static bool sched_on;        /* switch records usable on this kernel */
static char sched_why[160];  /* why not, when not */

static int sched_perf_open(int pid)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_DUMMY;
    a.context_switch = 1;
    a.sample_id_all = 1;
    a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC;
    return (int)syscall(SYS_perf_event_open, &a, pid, -1, -1,
                        PERF_FLAG_FD_CLOEXEC);
}

/* Open the ring of thread tid (self: the calling thread). sched_lock held.
 * Returns the mode for the trace. */
static int sched_open_locked(int tid, bool self)
{
    struct sched_src *s;
    size_t len = (size_t)(1 + CP_TRACE_SCHED_PAGES) * 4096;
    int fd;
    void *mm;

    if (!sched_on)
        return CP_TRM_ESTIMATED;
    for (s = sched_list; s; s = s->next) {
        if (s->tid == tid && !s->dead)
            return CP_TRM_PRECISE;
    }
    fd = sched_perf_open(self ? 0 : tid);
    if (fd < 0)
        return CP_TRM_ESTIMATED;
    mm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mm == MAP_FAILED) {
        close(fd);
        return CP_TRM_ESTIMATED;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        munmap(mm, len);
        close(fd);
        return CP_TRM_ESTIMATED;
    }
    s->tid = tid;
    s->fd = fd;
    s->mm = mm;
    s->mm_len = len;
    s->next = sched_list;
    sched_list = s;
    atomic_fetch_add(&st_sched_threads, 1);
    return CP_TRM_PRECISE;
}

static void sched_open(int tid, bool self)
{
    uint64_t mode;
    cp_mutex_lock(&sched_lock);
    mode = atomic_load(&trace_gen) ? (uint64_t)sched_open_locked(tid, self)
                                   : CP_TRM_ESTIMATED;
    cp_mutex_unlock(&sched_lock);
    gq_event(CP_TRG_SCHED_MODE, cp_now_ns(), tid, &mode, 1);
}

static void sched_mark_dead(int tid)
{
    cp_mutex_lock(&sched_lock);
    for (struct sched_src *s = sched_list; s; s = s->next) {
        if (s->tid == tid)
            s->dead = true;
    }
    cp_mutex_unlock(&sched_lock);
}

static void sched_free(struct sched_src *s)
{
    munmap(s->mm, s->mm_len);
    close(s->fd);
    free(s);
}

/* Move the records of one ring into global events. */
static void sched_read(struct sched_src *s)
{
    struct perf_event_mmap_page *pg = s->mm;
    uint8_t *data = (uint8_t *)pg + pg->data_offset;
    uint64_t size = pg->data_size, head, tail;
    uint8_t rec[256];

    if (!size)
        return;
    head = atomic_load_explicit((_Atomic uint64_t *)&pg->data_head,
                                memory_order_acquire);
    tail = pg->data_tail;
    while (tail + sizeof(struct perf_event_header) <= head) {
        struct perf_event_header h;
        for (size_t i = 0; i < sizeof h; i++)
            ((uint8_t *)&h)[i] = data[(tail + i) % size];
        if (h.size < sizeof h || tail + h.size > head)
            break;
        size_t n = h.size < sizeof rec ? h.size : sizeof rec;
        for (size_t i = 0; i < n; i++)
            rec[i] = data[(tail + i) % size];
        tail += h.size;
        /* sample_id at the end: pid, tid, time, cpu, res */
        if (n < sizeof h + 24)
            continue;
        const uint8_t *sid = rec + n - 24;
        uint32_t tid, cpu;
        uint64_t t;
        memcpy(&tid, sid + 4, 4);
        memcpy(&t, sid + 8, 8);
        memcpy(&cpu, sid + 16, 4);
        if (h.type == PERF_RECORD_SWITCH) {
            if (h.misc & PERF_RECORD_MISC_SWITCH_OUT) {
                uint64_t fl = (h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT)
                                  ? CP_TRS_PREEMPTED
                                  : 0;
                gq_event(CP_TRG_SCHED_OUT, (int64_t)t, (int)tid, &fl, 1);
            } else {
                uint64_t c = cpu;
                gq_event(CP_TRG_SCHED_IN, (int64_t)t, (int)tid, &c, 1);
            }
            atomic_fetch_add(&st_sched, 1);
        } else if (h.type == PERF_RECORD_LOST && n >= sizeof h + 16 + 24) {
            uint64_t lost;
            memcpy(&lost, rec + sizeof h + 8, 8);
            gq_event(CP_TRG_SCHED_LOST, (int64_t)t, s->tid, &lost, 1);
        }
    }
    atomic_store_explicit((_Atomic uint64_t *)&pg->data_tail, tail,
                          memory_order_release);
}

static void sched_drain(bool final)
{
    struct sched_src **pp, *s;
    cp_mutex_lock(&sched_lock);
    for (pp = &sched_list; (s = *pp);) {
        sched_read(s);
        if (s->dead || final) {
            *pp = s->next;
            sched_free(s);
            continue;
        }
        pp = &s->next;
    }
    cp_mutex_unlock(&sched_lock);
}

/* Whether switch records work here, tried on the calling thread. */
static void sched_probe(void)
{
    int fd = sched_perf_open(0);
    if (fd < 0) {
        snprintf(sched_why, sizeof sched_why,
                 "estimated: perf_event_open for context switches failed "
                 "(%s; kernel.perf_event_paranoid may forbid it)",
                 strerror(errno));
        sched_on = false;
        return;
    }
    close(fd);
    sched_on = true;
    snprintf(sched_why, sizeof sched_why,
             "precise: perf_event context-switch records per thread");
}

/* ---- thread registry hooks (thread_reg.h; cp_reg_lock held) ---- */

static void thread_info_args(const struct cp_thread *t, uint64_t *a)
{
    uintptr_t start = (uintptr_t)t->start_routine;
    a[0] = (uint64_t)(t->creator_tid > 0 ? t->creator_tid : 0);
    a[1] = start ? stack_id(&start, 1) : 0;
    a[2] = stack_id(t->create_pcs, t->n_create_pcs);
    a[3] = t->name[0] ? cp_tintern_get(&strs, t->name, strlen(t->name)) : 0;
}

/* Set while announce_threads walks the registry (under cp_reg_lock):
 * threads it adopts are announced by the walk itself. */
static bool announcing;

static void reg_on_register(struct cp_thread *t)
{
    bool self = !t->external && t->tid == cp_tls.tid;
    uint64_t a[4];

    if (!atomic_load(&trace_gen) || announcing)
        return;
    sched_open(t->tid, self);
    if (self) {
        struct cp_tbuf *b = enter();
        uint8_t *p0, *p;
        if (!b)
            return;
        thread_info_args(t, a);
        p = ev_begin(b, 4 * CP_VARINT_MAX, now_units(),
                     CP_TRE_THREAD_START, &p0);
        if (p) {
            for (int i = 0; i < 4; i++)
                p = cp_put_uvarint(p, a[i]);
            ev_end(b, p0, p);
        }
        leave(b);
    } else {
        thread_info_args(t, a);
        gq_event(CP_TRG_THREAD, cp_now_ns(), t->tid, a, 4);
    }
}

static void reg_on_unregister(struct cp_thread *t)
{
    bool self = !t->external && t->tid == cp_tls.tid;

    sched_mark_dead(t->tid);
    if (!self) {
        gq_event(CP_TRG_THREAD_GONE, cp_now_ns(), t->tid, NULL, 0);
        return;
    }
    struct cp_tbuf *b = enter();
    if (b) {
        uint8_t *p0, *p;
        uint64_t now = now_units();
        /* its last name: the writer's polling may not have seen it, and
         * names set with prctl never reach the registry; the kernel's is
         * both (we are that thread) */
        char name[CP_THREAD_NAME_LEN + 1] = "";
        if (prctl(PR_GET_NAME, name) != 0)
            memcpy(name, t->name, CP_THREAD_NAME_LEN);
        name[CP_THREAD_NAME_LEN] = '\0';
        if (name[0]) {
            uint32_t id = cp_tintern_get(&strs, name, strlen(name));
            p = ev_begin(b, CP_VARINT_MAX, now, CP_TRE_THREAD_NAME, &p0);
            if (p) {
                p = cp_put_uvarint(p, id);
                ev_end(b, p0, p);
            }
        }
        p = ev_begin(b, 0, now, CP_TRE_THREAD_EXIT, &p0);
        if (p)
            ev_end(b, p0, p);
        leave(b);
    }
    /* the writer drains this buffer and frees it; later events of this
     * thread (other TLS destructors) are not recorded */
    b = cp_tls.trace;
    cp_tls.trace = &exiting_buf;
    if (b && b != &exiting_buf)
        atomic_store_explicit(&b->dead, 1, memory_order_release);
}

/* Every thread the registry knows, as THREAD events, with their rings. */
static void announce_threads(void)
{
    uint64_t a[4];
    int *tids = NULL, n = 0, cap = 0;

    cp_mutex_lock(&cp_reg_lock);
    announcing = true;
    cp_reg_adopt_all_locked();
    announcing = false;
    for (struct cp_thread *t = cp_reg_head; t; t = t->next) {
        thread_info_args(t, a);
        gq_event(CP_TRG_THREAD, cp_now_ns(), t->tid, a, 4);
        if (n == cap) {
            int c = cap ? cap * 2 : 256;
            int *v = realloc(tids, (size_t)c * sizeof *v);
            if (!v)
                continue;
            tids = v;
            cap = c;
        }
        tids[n++] = t->tid;
    }
    cp_mutex_unlock(&cp_reg_lock);
    for (int i = 0; i < n; i++)
        sched_open(tids[i], tids[i] == cp_tls.tid);
    free(tids);
}

/* ---- the writer ---- */

static void sink_write(const void *p, size_t n)
{
    const uint8_t *c = p;
    if (sink_err || !n)
        return;
    atomic_fetch_add(&st_bytes, n);
    if (sink_mem) {
        if (sink_mem->len + n > CP_TRACE_MEM_MAX)
            sink_err = -E2BIG;
        else
            sink_err = cp_dynbuf_add(sink_mem, p, n);
        return;
    }
    while (n) {
        ssize_t w = write(sink_fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            sink_err = -errno;
            return;
        }
        c += w;
        n -= (size_t)w;
    }
}

/* The writer's output of one pass; chunks are appended whole. */
static struct cp_dynbuf out;
static struct cp_dynbuf tmp; /* payload being built */
static uint32_t strs_done = 1, stks_done = 1;
static int mods_done;
static uint32_t cur_gen; /* the writer's generation */

static void put_uv(struct cp_dynbuf *d, uint64_t v)
{
    uint8_t b[CP_VARINT_MAX];
    cp_dynbuf_add(d, b, (size_t)(cp_put_uvarint(b, v) - b));
}

static void put_str(struct cp_dynbuf *d, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_uv(d, n);
    cp_dynbuf_add(d, s, n);
}

static void chunk(int kind, const void *payload, size_t len)
{
    uint8_t h[1 + CP_VARINT_MAX], *p = h;
    *p++ = (uint8_t)kind;
    p = cp_put_uvarint(p, len);
    cp_dynbuf_add(&out, h, (size_t)(p - h));
    cp_dynbuf_add(&out, payload, len);
}

static void chunk_tmp(int kind)
{
    chunk(kind, tmp.data, tmp.len);
    cp_dynbuf_reset(&tmp);
}

static void flush_out(void)
{
    sink_write(out.data, out.len);
    cp_dynbuf_reset(&out);
}

/* Bytes of id, waiting for an entry another thread is still copying
 * (a few instructions, unless that thread was preempted right there). */
static const uint8_t *wait_bytes(struct cp_tintern *t, uint32_t id,
                                 uint32_t *len)
{
    for (int i = 0; i < 20000; i++) {
        const uint8_t *b = cp_tintern_bytes(t, id, len);
        if (b)
            return b;
        if (i > 100) {
            struct timespec ts = {0, 10000};
            nanosleep(&ts, NULL);
        } else {
            sched_yield();
        }
    }
    *len = 0;
    return (const uint8_t *)"";
}

/* Definitions of the strings and stacks created since the last pass. */
static void emit_defs(void)
{
    uint32_t n = atomic_load_explicit(&strs.next, memory_order_acquire);
    if (n > strs.cap)
        n = strs.cap;
    if (strs_done < n) {
        put_uv(&tmp, n - strs_done);
        for (uint32_t id = strs_done; id < n; id++) {
            uint32_t len;
            const uint8_t *b = wait_bytes(&strs, id, &len);
            put_uv(&tmp, id);
            if (!len && atomic_load(&strs.ent[id].ready) == 2) {
                put_str(&tmp, "(cprof: string table full)");
                continue;
            }
            put_uv(&tmp, len);
            cp_dynbuf_add(&tmp, b, len);
        }
        strs_done = n;
        chunk_tmp(CP_TRC_STRINGS);
    }
    n = atomic_load_explicit(&stks.next, memory_order_acquire);
    if (n > stks.cap)
        n = stks.cap;
    if (stks_done < n) {
        put_uv(&tmp, n - stks_done);
        for (uint32_t id = stks_done; id < n; id++) {
            uint32_t len;
            const uint8_t *b = wait_bytes(&stks, id, &len);
            uint32_t depth = len / (uint32_t)sizeof(uintptr_t);
            uintptr_t prev = 0;
            put_uv(&tmp, id);
            put_uv(&tmp, depth);
            for (uint32_t k = 0; k < depth; k++) {
                uintptr_t pc;
                uint8_t v[CP_VARINT_MAX];
                memcpy(&pc, b + k * sizeof pc, sizeof pc);
                if (k == 0)
                    put_uv(&tmp, pc);
                else
                    cp_dynbuf_add(&tmp, v,
                                  (size_t)(cp_put_svarint(
                                               v, (int64_t)(pc - prev)) -
                                           v));
                prev = pc;
            }
        }
        stks_done = n;
        chunk_tmp(CP_TRC_STACKS);
    }
}

static void emit_sync(void)
{
    uint64_t ticks;
    int64_t mono, real;
    cp_clock_sync(&ticks, &mono, &real);
    put_uv(&tmp, ticks >> unit_shift);
    put_uv(&tmp, (uint64_t)mono);
    put_uv(&tmp, (uint64_t)real);
    chunk_tmp(CP_TRC_SYNC);
}

static void emit_mappings(void)
{
    struct cp_module_info *m;
    int n = cp_modules_history(&m);
    if (n <= mods_done) {
        if (n >= 0)
            cp_modules_history_free(m, n);
        return;
    }
    /* strings first: they must be defined before the chunk using them */
    uint32_t *ids = calloc((size_t)(n - mods_done) * 2, sizeof *ids);
    if (!ids) {
        cp_modules_history_free(m, n);
        return;
    }
    for (int i = mods_done; i < n; i++) {
        const char *path = m[i].path ? m[i].path : "";
        ids[2 * (i - mods_done)] = cp_tintern_get(&strs, path, strlen(path));
        ids[2 * (i - mods_done) + 1] =
            cp_tintern_get(&strs, m[i].build_id, strlen(m[i].build_id));
    }
    emit_defs();
    put_uv(&tmp, (uint64_t)(n - mods_done));
    for (int i = mods_done; i < n; i++) {
        put_uv(&tmp, m[i].start);
        put_uv(&tmp, m[i].limit);
        put_uv(&tmp, m[i].file_offset);
        put_uv(&tmp, ids[2 * (i - mods_done)]);
        put_uv(&tmp, ids[2 * (i - mods_done) + 1]);
    }
    chunk_tmp(CP_TRC_MAPPINGS);
    mods_done = n;
    free(ids);
    cp_modules_history_free(m, n);
}

/* Heap in use and resident memory, as counters. */
static void emit_counters(void)
{
    uint64_t a[2];
    int64_t now = cp_now_ns();
    struct mallinfo2 mi = mallinfo2();
    char buf[128];
    int fd;

    a[0] = cp_tintern_get(&strs, "heap_inuse_bytes", 16);
    a[1] = cp_zigzag((int64_t)(mi.uordblks + mi.hblkhd));
    gq_event(CP_TRG_COUNTER, now, 0, a, 2);
    fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            long long size = 0, res = 0;
            buf[n] = '\0';
            if (sscanf(buf, "%lld %lld", &size, &res) == 2) {
                a[0] = cp_tintern_get(&strs, "rss_bytes", 9);
                a[1] = cp_zigzag(res * sysconf(_SC_PAGESIZE));
                gq_event(CP_TRG_COUNTER, now, 0, a, 2);
            }
        }
    }
}

/* Thread names as the registry knows them now; emitted when changed. */
struct name_ent {
    int tid;
    char name[CP_THREAD_NAME_LEN];
};
static struct name_ent *names;
static size_t n_names, cap_names;

static void note_name(int tid, const char *name, int64_t now)
{
    size_t i;
    for (i = 0; i < n_names; i++) {
        if (names[i].tid == tid)
            break;
    }
    if (i < n_names && !strcmp(names[i].name, name))
        return;
    if (i == n_names) {
        if (n_names == cap_names) {
            size_t cap = cap_names ? cap_names * 2 : 64;
            struct name_ent *v = realloc(names, cap * sizeof *v);
            if (!v)
                return;
            names = v;
            cap_names = cap;
        }
        names[n_names++].tid = tid;
        if (!name[0]) {
            names[i].name[0] = '\0';
            return;
        }
    }
    snprintf(names[i].name, sizeof names[i].name, "%s", name);
    uint64_t a = cp_tintern_get(&strs, name, strlen(name));
    gq_event(CP_TRG_THREAD_NAME, now, tid, &a, 1);
}

static void poll_names(bool from_proc)
{
    int64_t now = cp_now_ns();
    struct {
        int tid;
        char name[CP_THREAD_NAME_LEN];
    } *v = NULL;
    size_t n = 0, cap = 0;

    cp_mutex_lock(&cp_reg_lock);
    for (struct cp_thread *t = cp_reg_head; t; t = t->next) {
        if (n == cap) {
            size_t c = cap ? cap * 2 : 64;
            void *nv = realloc(v, c * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap = c;
        }
        v[n].tid = t->tid;
        memcpy(v[n].name, t->name, CP_THREAD_NAME_LEN);
        n++;
    }
    cp_mutex_unlock(&cp_reg_lock);
    for (size_t i = 0; i < n; i++) {
        if (from_proc) {
            /* prctl(PR_SET_NAME) names never reach the registry */
            char path[64], buf[CP_THREAD_NAME_LEN];
            snprintf(path, sizeof path, "/proc/self/task/%d/comm", v[i].tid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t k = read(fd, buf, CP_THREAD_NAME_LEN - 1);
                close(fd);
                if (k > 0) {
                    buf[k] = '\0';
                    if (buf[k - 1] == '\n')
                        buf[k - 1] = '\0';
                    memcpy(v[i].name, buf, CP_THREAD_NAME_LEN);
                }
            }
        }
        note_name(v[i].tid, v[i].name, now);
    }
    free(v);
}

/* Totals of buffers already freed in this trace (their counters). */
static uint64_t done_events, done_dropped;
struct lost_ent {
    int tid;
    uint64_t n;
};
static struct lost_ent *unreported;
static size_t n_unreported, cap_unreported;

static void note_unreported(int tid, uint64_t n)
{
    if (!n)
        return;
    if (n_unreported == cap_unreported) {
        size_t cap = cap_unreported ? cap_unreported * 2 : 16;
        struct lost_ent *v = realloc(unreported, cap * sizeof *v);
        if (!v)
            return;
        unreported = v;
        cap_unreported = cap;
    }
    unreported[n_unreported++] = (struct lost_ent){tid, n};
}

/*
 * One pass: defs, global events, every ring's new bytes. final: the
 * producers are quiescent; take everything and count what is left
 * unreported.
 */
static void flush_pass(bool final)
{
    struct cp_dynbuf g;
    int64_t base;
    struct cp_tbuf *b, *next;
    static uint64_t pass;

    pass++;
    atomic_fetch_add(&st_flushes, 1);
    sched_drain(final);
    /* snapshot the rings before reading the tables: every id an event
     * below the snapshot uses is defined by then */
    for (b = atomic_load(&cp_tbuf_head); b; b = b->next) {
        if (atomic_load_explicit(&b->gen, memory_order_acquire) != cur_gen)
            continue;
        b->snap = atomic_load_explicit(&b->pub_w, memory_order_acquire);
        b->snap_pass = pass;
    }
    cp_mutex_lock(&gq_lock);
    g = gq;
    base = gq_base;
    cp_dynbuf_init(&gq, CP_TRACE_GQ_MAX);
    cp_mutex_unlock(&gq_lock);

    emit_defs();
    if (g.len) {
        put_uv(&tmp, (uint64_t)base);
        cp_dynbuf_add(&tmp, g.data, g.len);
        chunk_tmp(CP_TRC_GLOBAL);
    }
    cp_dynbuf_free(&g);
    flush_out();

    for (b = atomic_load(&cp_tbuf_head); b; b = next) {
        next = b->next;
        if (atomic_load_explicit(&b->gen, memory_order_acquire) != cur_gen ||
            b->snap_pass != pass)
            continue;
        uint64_t r = atomic_load_explicit(&b->r, memory_order_relaxed);
        uint64_t w = b->snap;
        if (w > r) {
            uint8_t h[1 + 3 * CP_VARINT_MAX], *p = h + 1;
            uint64_t n = w - r, off = r & (b->size - 1);
            uint64_t first = n < b->size - off ? n : b->size - off;
            uint8_t hdr2[2 * CP_VARINT_MAX], *q = hdr2;
            q = cp_put_uvarint(q, (uint64_t)b->tid);
            q = cp_put_uvarint(q, b->batch_new ? CP_TRB_NEW_BUFFER : 0);
            h[0] = CP_TRC_BATCH;
            p = cp_put_uvarint(p, (uint64_t)(q - hdr2) + n);
            cp_dynbuf_add(&out, h, (size_t)(p - h));
            cp_dynbuf_add(&out, hdr2, (size_t)(q - hdr2));
            cp_dynbuf_add(&out, b->data + off, first);
            if (first < n)
                cp_dynbuf_add(&out, b->data, n - first);
            b->batch_new = false;
            atomic_store_explicit(&b->r, w, memory_order_release);
            if (out.len >= ((size_t)1 << 20))
                flush_out();
        }
        atomic_store_explicit(&b->woke, 0, memory_order_relaxed);
        bool dead = atomic_load_explicit(&b->dead, memory_order_acquire);
        if ((dead || final) &&
            atomic_load_explicit(&b->pub_w, memory_order_acquire) == w) {
            if (final || dead) {
                done_events += atomic_load(&b->events);
                done_dropped += atomic_load(&b->lost_total);
                note_unreported(b->tid, atomic_load(&b->lost));
            }
            if (dead) {
                cp_tbuf_unlink(b);
                cp_tbuf_free(b);
            } else {
                /* final: this generation is over for the buffer */
                atomic_store_explicit(&b->gen, 0, memory_order_release);
            }
        }
    }
    flush_out();
}

static void writer_wake(void)
{
    atomic_store(&writer_futex, 1);
    syscall(SYS_futex, &writer_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void cp_tbuf_wake_writer(void)
{
    writer_wake();
}

static void *writer_main(void *arg)
{
    struct timespec ts = {0, CP_TRACE_FLUSH_MS * 1000000L};
    int64_t last_slow = 0, last_sync = cp_now_ns(), last_mods = last_sync;

    while (!atomic_load(&writer_stop)) {
        syscall(SYS_futex, &writer_futex, FUTEX_WAIT_PRIVATE, 0, &ts, NULL,
                0);
        atomic_store(&writer_futex, 0);
        if (atomic_load(&writer_stop))
            break;
        if (atomic_load_explicit(&cp_trace_test_hold, memory_order_relaxed))
            continue;
        int64_t now = cp_now_ns();
        if (now - last_slow >= 100000000) {
            emit_counters();
            poll_names(false);
            last_slow = now;
        }
        if (now - last_mods >= 1000000000) {
            emit_mappings();
            last_mods = now;
        }
        if (now - last_sync >= 1000000000) {
            emit_sync();
            last_sync = now;
        }
        flush_pass(false);
    }
    return NULL;
}

/* ---- start ---- */

static void put_kv(int *n, const char *k, const char *v)
{
    put_str(&tmp, k);
    put_str(&tmp, v ? v : "");
    (*n)++;
}

static void read_small(const char *path, char *buf, size_t len, bool nul)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    if (nul) {
        for (ssize_t i = 0; i < n; i++) {
            if (!buf[i])
                buf[i] = ' ';
        }
        while (n > 0 && buf[n - 1] == ' ')
            buf[--n] = '\0';
    }
}

static void emit_header_info(const char *cpu_desc)
{
    struct cp_dynbuf kv;
    char buf[4096], num[64];
    int n = 0;

    memcpy(buf, CP_TRF_MAGIC, CP_TRF_MAGIC_LEN);
    buf[8] = CP_TRF_MAJOR;
    buf[9] = CP_TRF_MINOR;
    memset(buf + 10, 0, 6);
    cp_dynbuf_add(&out, buf, CP_TRF_HEADER_LEN);

    cp_dynbuf_init(&kv, 1 << 20);
    /* the pairs go to tmp; the count is prefixed below */
    put_kv(&n, "cprof_version", CPROF_VERSION);
    put_kv(&n, "clock", cp_clock_tsc ? "tsc" : "monotonic");
    put_kv(&n, "clock_description", cp_clock_describe());
    snprintf(num, sizeof num, "%.3f", cp_clock_hz() / (double)(1 << unit_shift));
    put_kv(&n, "units_per_second", num);
    snprintf(num, sizeof num, "%ld", (long)getpid());
    put_kv(&n, "pid", num);
    read_small("/proc/self/cmdline", buf, sizeof buf, true);
    put_kv(&n, "cmdline", buf);
    ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[k > 0 ? k : 0] = '\0';
    put_kv(&n, "exe", buf);
    if (gethostname(buf, sizeof buf - 1) != 0)
        buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    put_kv(&n, "hostname", buf);
    snprintf(num, sizeof num, "%lld", (long long)cp_realtime_ns());
    put_kv(&n, "start_realtime_ns", num);
    snprintf(num, sizeof num, "%lld", (long long)start_mono_ns);
    put_kv(&n, "start_monotonic_ns", num);
    put_kv(&n, "sched", sched_why);
    put_kv(&n, "cpu_samples", cpu_desc);
    snprintf(num, sizeof num, "%u", CP_TRACE_BUF_BYTES);
    put_kv(&n, "buffer_bytes", num);
    snprintf(num, sizeof num, "%d", CP_TRACE_SYSCALL_MIN_NS);
    put_kv(&n, "syscall_min_ns", num);
    snprintf(num, sizeof num, "%d", (int)sysconf(_SC_NPROCESSORS_CONF));
    put_kv(&n, "cpus", num);
    put_uv(&kv, (uint64_t)n);
    cp_dynbuf_add(&kv, tmp.data, tmp.len);
    cp_dynbuf_reset(&tmp);
    chunk(CP_TRC_INFO, kv.data, kv.len);
    cp_dynbuf_free(&kv);
}

static void trace_atfork_child(void);
static void quiesce(void);

static void install_hooks_once(void)
{
    if (hooks_installed)
        return;
    hooks_installed = true;
    if (&__rseq_size && &__rseq_offset && __rseq_size >= 8) {
        rseq_off = __rseq_offset;
        rseq_ok = 1;
    }
    cp_reg_add_hooks(reg_on_register, reg_on_unregister);
    pthread_atfork(NULL, NULL, trace_atfork_child);
    /* for the stopper's handshake; failure means the fallback */
    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

/* Buffers of threads that exited while no trace ran: unmap them. Called
 * with no writer running (the only remover). */
static void sweep_dead(void)
{
    struct cp_tbuf *b, *next;
    for (b = atomic_load(&cp_tbuf_head); b; b = next) {
        next = b->next;
        if (atomic_load(&b->dead)) {
            cp_tbuf_unlink(b);
            cp_tbuf_free(b);
        }
    }
}

static void reset_writer_state(void)
{
    cp_dynbuf_free(&out);
    cp_dynbuf_free(&tmp);
    cp_dynbuf_init(&out, (size_t)1 << 34);
    cp_dynbuf_init(&tmp, (size_t)1 << 34);
    strs_done = stks_done = 1;
    mods_done = 0;
    n_names = 0;
    n_unreported = 0;
    done_events = done_dropped = 0;
    sink_err = 0;
    atomic_store(&st_bytes, 0);
    atomic_store(&st_flushes, 0);
    atomic_store(&st_samples, 0);
    atomic_store(&st_sched, 0);
    atomic_store(&st_sched_threads, 0);
    atomic_store(&st_events_done, 0);
    atomic_store(&st_dropped_done, 0);
}

int cp_trace_begin(const char *path, struct cp_dynbuf *mem,
                   const char *origin)
{
    char cpu_desc[300];
    int r, fd = -1;

    cp_mutex_lock(&trace_lock);
    cp_tls.in_cprof++;
    if (atomic_load(&trace_gen) || writer_running) {
        r = cp_api_err(-EBUSY, "%s: a trace started by %s is already "
                       "running", origin, trace_origin ? trace_origin : "?");
        goto out;
    }
    if (!mem) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) {
            r = cp_api_err(-errno, "%s: cannot write %s: %s", origin, path,
                           strerror(errno));
            goto out;
        }
    }
    cp_thread_self();
    cp_clock_init();
    unit_shift = 0;
    while (cp_clock_hz() / (double)(1 << (unit_shift + 1)) >= 250e6)
        unit_shift++;
    r = cp_tintern_init(&strs, CP_TRACE_MAX_STRINGS, CP_TRACE_STRING_BYTES);
    if (r == 0)
        r = cp_tintern_init(&stks, CP_TRACE_MAX_STACKS, CP_TRACE_STACK_BYTES);
    if (r < 0) {
        cp_tintern_destroy(&strs);
        if (fd >= 0)
            close(fd);
        r = cp_api_err(r, "%s: cannot allocate the trace tables", origin);
        goto out;
    }
    install_hooks_once();
    sweep_dead();
    reset_writer_state();
    sink_fd = fd;
    sink_mem = mem;
    free(trace_path);
    trace_path = mem ? NULL : strdup(path);
    trace_origin = origin;
    start_mono_ns = cp_now_ns();
    sched_probe();
    /* CFI for unwinding blocking calls; the CPU session does it too */
    cp_modules_refresh(true);

    /* CPU samples come from a CPU session of the trace's own (its profile
     * is thrown away); the drain thread hands each sample to on_sample. */
    cp_cpu_sample_hook = on_sample;
    cpu_sess = NULL;
    r = cp_cpu_session_begin(0, &cpu_sess);
    if (r < 0) {
        cpu_sess = NULL;
        snprintf(cpu_desc, sizeof cpu_desc, "off: %s", strerror(-r));
    } else {
        snprintf(cpu_desc, sizeof cpu_desc, "%s", cp_sampler_describe());
    }
    emit_header_info(cpu_desc);
    emit_sync();
    emit_mappings();
    flush_out();

    cur_gen = ++gen_counter ? gen_counter : ++gen_counter;
    cp_mutex_lock(&gq_lock);
    cp_dynbuf_init(&gq, CP_TRACE_GQ_MAX);
    gq_dropped = 0;
    gq_open = true;
    cp_mutex_unlock(&gq_lock);
    atomic_store(&trace_gen, cur_gen);
    announce_threads();
    cp_sync_subscribe(&sync_hooks);

    atomic_store(&writer_stop, 0);
    if (cp_internal_thread_create(&writer_thread, writer_main, NULL) != 0) {
        if (cpu_sess)
            cp_cpu_session_abort(cpu_sess);
        cpu_sess = NULL;
        cp_sync_unsubscribe(&sync_hooks);
        atomic_store(&trace_gen, 0);
        quiesce();
        cp_mutex_lock(&cp_reg_lock);
        cp_mutex_unlock(&cp_reg_lock);
        cp_mutex_lock(&gq_lock);
        gq_open = false;
        cp_dynbuf_free(&gq);
        cp_mutex_unlock(&gq_lock);
        sched_drain(true);
        cp_tintern_destroy(&strs);
        cp_tintern_destroy(&stks);
        if (fd >= 0)
            close(fd);
        sink_fd = -1;
        sink_mem = NULL;
        r = cp_api_err(-EAGAIN, "%s: cannot start the trace writer thread",
                       origin);
        goto out;
    }
    writer_running = true;
    r = 0;
    cp_api_ok();
out:
    cp_tls.in_cprof--;
    cp_mutex_unlock(&trace_lock);
    return r;
}

/* ---- stop ---- */

/* Wait until no producer is inside an event (see the file comment). */
static void quiesce(void)
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    for (struct cp_tbuf *b = atomic_load(&cp_tbuf_head); b; b = b->next) {
        for (int i = 0; i < 100000 && atomic_load_explicit(
                                          &b->busy, memory_order_acquire);
             i++) {
            struct timespec ts = {0, 10000};
            nanosleep(&ts, NULL); /* a producer preempted mid-event */
        }
    }
}

static int cmp_pc(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Symbols of every pc in the stack table, from the modules loaded now. */
static void emit_symbols(void)
{
    struct cp_module_info *m = NULL;
    int nm = cp_modules_history(&m);
    struct cp_symbolizer *sym = cp_sym_new();
    uint32_t n = atomic_load(&stks.next);
    uintptr_t *pcs = NULL;
    size_t npcs = 0, cap = 0;
    struct cp_dynbuf body;

    if (!sym || nm < 0)
        goto out;
    for (int i = 0; i < nm; i++) {
        if (m[i].path && m[i].path[0] && m[i].path[0] != '[')
            cp_sym_add_module(sym, m[i].path, m[i].start, m[i].limit,
                              m[i].file_offset,
                              m[i].build_id[0] ? m[i].build_id : NULL);
    }
    if (n > stks.cap)
        n = stks.cap;
    for (uint32_t id = 1; id < n; id++) {
        uint32_t len;
        const uint8_t *b = cp_tintern_bytes(&stks, id, &len);
        if (!b)
            continue;
        for (uint32_t k = 0; k + sizeof(uintptr_t) <= len; k += sizeof(uintptr_t)) {
            if (npcs == cap) {
                size_t c = cap ? cap * 2 : 4096;
                uintptr_t *v = realloc(pcs, c * sizeof *v);
                if (!v)
                    goto out;
                pcs = v;
                cap = c;
            }
            memcpy(&pcs[npcs++], b + k, sizeof(uintptr_t));
        }
    }
    if (npcs)
        qsort(pcs, npcs, sizeof *pcs, cmp_pc);
    cp_dynbuf_init(&body, (size_t)1 << 34);
    size_t uniq = 0;
    for (size_t i = 0; i < npcs; i++) {
        struct cp_sym_frame fr[CP_SYM_MAX_FRAMES];
        int k;
        if (i && pcs[i] == pcs[i - 1])
            continue;
        k = cp_sym_lookup(sym, pcs[i], fr, CP_SYM_MAX_FRAMES);
        if (k <= 0)
            continue;
        put_uv(&body, pcs[i]);
        put_uv(&body, (uint64_t)k);
        for (int j = 0; j < k; j++) {
            const char *fn = fr[j].function ? fr[j].function : "";
            const char *file = fr[j].file ? fr[j].file : "";
            put_uv(&body, cp_tintern_get(&strs, fn, strlen(fn)));
            put_uv(&body, cp_tintern_get(&strs, file, strlen(file)));
            put_uv(&body, (uint64_t)(fr[j].line > 0 ? fr[j].line : 0));
        }
        uniq++;
    }
    emit_defs();
    put_uv(&tmp, uniq);
    cp_dynbuf_add(&tmp, body.data, body.len);
    chunk_tmp(CP_TRC_SYMBOLS);
    cp_dynbuf_free(&body);
out:
    free(pcs);
    if (sym)
        cp_sym_destroy(sym);
    if (nm >= 0)
        cp_modules_history_free(m, nm);
}

static void emit_end(void)
{
    put_uv(&tmp, done_events);
    put_uv(&tmp, done_dropped);
    put_uv(&tmp, n_unreported);
    for (size_t i = 0; i < n_unreported; i++) {
        put_uv(&tmp, (uint64_t)unreported[i].tid);
        put_uv(&tmp, unreported[i].n);
    }
    chunk_tmp(CP_TRC_END);
}

int cp_trace_end(const char *origin)
{
    int r;

    cp_mutex_lock(&trace_lock);
    cp_tls.in_cprof++;
    if (!writer_running) {
        r = cp_api_err(-EINVAL, "%s: no trace is running", origin);
        goto out;
    }
    /* the last samples, while the trace still takes them */
    if (cpu_sess)
        cp_cpu_session_abort(cpu_sess);
    cpu_sess = NULL;
    cp_sync_unsubscribe(&sync_hooks);
    atomic_store(&trace_gen, 0);
    quiesce();
    /* registry hooks run under cp_reg_lock and check the generation
     * first: once we had the lock, none is still using the tables */
    cp_mutex_lock(&cp_reg_lock);
    cp_mutex_unlock(&cp_reg_lock);
    atomic_store(&writer_stop, 1);
    writer_wake();
    cp_join_internal(writer_thread);
    writer_running = false;

    /* the producers are done: the last pass, then what only the end
     * knows (names set with prctl, symbols, totals) */
    poll_names(true);
    emit_counters();
    cp_mutex_lock(&gq_lock);
    gq_open = false;
    cp_mutex_unlock(&gq_lock);
    flush_pass(true);
    emit_sync(); /* the end of the trace, before the symbols' time */
    emit_mappings();
    emit_symbols();
    emit_end();
    flush_out();
    atomic_store(&st_events_done, done_events);
    atomic_store(&st_dropped_done, done_dropped);
    cp_tintern_destroy(&strs);
    cp_tintern_destroy(&stks);
    cp_mutex_lock(&gq_lock);
    cp_dynbuf_free(&gq);
    cp_mutex_unlock(&gq_lock);
    /* idle rings keep their descriptor (their threads may trace again)
     * but give their memory back */
    for (struct cp_tbuf *b = atomic_load(&cp_tbuf_head); b; b = b->next)
        madvise(b->data, b->size + CP_TRACE_MAX_EVENT, MADV_DONTNEED);
    sweep_dead();
    r = sink_err;
    if (sink_fd >= 0) {
        if (close(sink_fd) != 0 && !r)
            r = -errno;
        sink_fd = -1;
    }
    sink_mem = NULL;
    if (r < 0)
        r = cp_api_err(r, "%s: cannot write %s: %s", origin,
                       trace_path ? trace_path : "the trace", strerror(-r));
    else
        cp_api_ok();
out:
    cp_tls.in_cprof--;
    cp_mutex_unlock(&trace_lock);
    return r;
}

bool cp_trace_running(void)
{
    return atomic_load(&trace_gen) != 0;
}

void cp_trace_stats(struct cp_trace_stats *o)
{
    uint64_t ev = 0, dr = 0;
    bool live = atomic_load(&trace_gen) != 0;
    if (live) {
        for (struct cp_tbuf *b = atomic_load(&cp_tbuf_head); b; b = b->next) {
            if (atomic_load(&b->gen) != cur_gen)
                continue;
            ev += atomic_load(&b->events);
            dr += atomic_load(&b->lost_total);
        }
    }
    o->events = live ? ev : atomic_load(&st_events_done);
    o->dropped = live ? dr : atomic_load(&st_dropped_done);
    o->bytes = atomic_load(&st_bytes);
    o->flushes = atomic_load(&st_flushes);
    o->samples = atomic_load(&st_samples);
    o->sched = atomic_load(&st_sched);
    o->sched_threads = atomic_load(&st_sched_threads);
}

/* ---- fork: the child traces on into PATH.PID ---- */

static void trace_atfork_child(void)
{
    struct cp_tbuf *b, *next;
    char *path = NULL;
    const char *origin = trace_origin;

    pthread_mutex_init(&trace_lock, NULL);
    pthread_mutex_init(&gq_lock, NULL);
    pthread_mutex_init(&sched_lock, NULL);
    if (!writer_running)
        return;
    /* the parent's trace is the parent's: forget it here */
    atomic_store(&trace_gen, 0);
    writer_running = false;
    cpu_sess = NULL; /* cpu.c forgot its sessions already */
    for (b = atomic_load(&cp_tbuf_head); b; b = next) {
        next = b->next;
        cp_tbuf_free(b);
    }
    atomic_store(&cp_tbuf_head, NULL);
    cp_tls.trace = NULL;
    for (struct sched_src *s = sched_list, *n; s; s = n) {
        n = s->next;
        sched_free(s);
    }
    sched_list = NULL;
    cp_tintern_destroy(&strs);
    cp_tintern_destroy(&stks);
    if (sink_fd >= 0)
        close(sink_fd);
    sink_fd = -1;
    sink_mem = NULL;
    if (trace_path &&
        asprintf(&path, "%s.%ld", trace_path, (long)getpid()) >= 0) {
        cp_trace_begin(path, NULL, origin);
        free(path);
    }
}

/* ---- public start/stop, environment, endpoint ---- */

CP_API int cprof_trace_start(const char *path)
{
    if (!path || !*path)
        return cp_api_err(-EINVAL, "cprof_trace_start: empty path");
    return cp_trace_begin(path, NULL, "cprof_trace_start");
}

CP_API int cprof_trace_stop(void)
{
    return cp_trace_end("cprof_trace_stop");
}

int cp_trace_capture(int seconds, struct cp_dynbuf *o)
{
    struct cp_dynbuf mem;
    int r;

    cp_dynbuf_init(&mem, CP_TRACE_MEM_MAX);
    r = cp_trace_begin(NULL, &mem, "/debug/pprof/trace");
    if (r < 0) {
        cp_dynbuf_free(&mem);
        return -errno;
    }
    struct timespec ts = {seconds, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    r = cp_trace_end("/debug/pprof/trace");
    if (r == 0)
        r = cp_dynbuf_add(o, mem.data, mem.len);
    else
        r = -errno;
    cp_dynbuf_free(&mem);
    return r;
}

static void at_exit(void)
{
    if (env_started && writer_running &&
        cp_trace_end("CPROF_TRACE") < 0)
        fprintf(stderr, "cprof: %s\n", cprof_strerror());
}

/* The endpoint's window (struct cp_http_window of http.h, declared here
 * as the same layout so this file needs no http.h). */
struct trace_window {
    const char *name, *help, *content_type;
    int default_seconds;
    int (*begin)(void **state);
    int (*end)(void *state, struct cp_dynbuf *out);
    void (*abort)(void *state);
};

static int win_begin(void **state)
{
    struct cp_dynbuf *mem = malloc(sizeof *mem);
    int r;
    if (!mem)
        return -ENOMEM;
    cp_dynbuf_init(mem, CP_TRACE_MEM_MAX);
    r = cp_trace_begin(NULL, mem, "/debug/pprof/trace");
    if (r < 0) {
        r = -errno;
        free(mem);
        return r;
    }
    *state = mem;
    return 0;
}

static int win_end(void *state, struct cp_dynbuf *o)
{
    struct cp_dynbuf *mem = state;
    int r = cp_trace_end("/debug/pprof/trace");
    r = r < 0 ? -errno : cp_dynbuf_add(o, mem->data, mem->len);
    cp_dynbuf_free(mem);
    free(mem);
    return r;
}

static void win_abort(void *state)
{
    struct cp_dynbuf *mem = state;
    cp_trace_end("/debug/pprof/trace");
    cp_dynbuf_free(mem);
    free(mem);
}

static const struct trace_window trace_window = {
    .name = "trace",
    .help = "A trace of execution of the current program. You can specify "
            "the duration in the seconds GET parameter. After you get the "
            "trace file, use the cprof trace command to investigate the "
            "trace.",
    .content_type = "application/octet-stream",
    .default_seconds = 1, /* Go's default */
    .begin = win_begin,
    .end = win_end,
    .abort = win_abort,
};

void cp_trace_init_from_env(void)
{
    const char *file = cp_getenv("CPROF_TRACE");
    char *path;

    if (cp_http_register_window)
        cp_http_register_window((const struct cp_http_window *)&trace_window);
    cp_sync_init();
    if (!file)
        return;
    if (!*file) {
        fprintf(stderr, "cprof: CPROF_TRACE=: empty file name; tracing "
                        "stays off\n");
        return;
    }
    path = cp_env_output_path(file);
    if (!path)
        return;
    if (cp_trace_begin(path, NULL, "CPROF_TRACE") < 0) {
        fprintf(stderr, "cprof: %s; tracing stays off\n", cprof_strerror());
    } else {
        env_started = true;
        cp_on_exit(at_exit);
    }
    free(path);
}
