/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tracebuf.h - the execution tracer's per-thread event buffers and its
 * lock-free intern tables (strings, stacks). Design and reasoning:
 * docs/internals/trace.md; the bytes they hold: docs/trace-format.md.
 *
 * Each traced thread owns one buffer: a single-producer single-consumer
 * byte ring. The owning thread appends encoded events (no lock, no atomic
 * read-modify-write: a few plain stores and one release store of the write
 * position); cprof's writer thread copies the published bytes to the trace
 * file as they are, in BATCH chunks, and releases them. A full ring drops
 * the event and counts it; the next event that fits is preceded by a LOST
 * event with the count, so the trace says exactly how many were lost and
 * where.
 *
 * Everything the producer side does is async-signal-safe: a program may
 * trace from a signal handler, and the blocking-call interposers (sync.c)
 * run inside write() called from one. A handler that interrupts its own
 * thread mid-event finds the buffer busy and counts its event as lost
 * instead of corrupting the ring. Buffers and tables come from mmap, never
 * malloc.
 */
#ifndef CP_TRACEBUF_H
#define CP_TRACEBUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_assert.h"
#include "trace/trace_format.h"

/* ---- limits (each with its reason) ---- */

/* Bytes of one thread's ring. At 5 M events/s (3-4 bytes each) a thread
 * fills 16 MB/s; the writer empties the rings every CP_TRACE_FLUSH_MS and
 * is woken when one passes half full, so 1 MiB gives it ~60 ms of slack.
 * Only touched pages cost memory; a thread that traces little uses a few
 * pages. */
#define CP_TRACE_BUF_BYTES (1u << 20)
/* Largest encoded event: a log with its message (capped below), plus the
 * CPU and LOST events that may precede any event. */
#define CP_TRACE_MAX_LOG 1024
#define CP_TRACE_MAX_EVENT (CP_TRACE_MAX_LOG + 64)
/* How often the writer thread empties the buffers. */
#define CP_TRACE_FLUSH_MS 10
/* Distinct strings (region, task, log category, thread names, function
 * and file names at the end) and the bytes they may take. Past either,
 * new strings read "(cprof: string table full)", counted. */
#define CP_TRACE_MAX_STRINGS (1u << 20)
#define CP_TRACE_STRING_BYTES ((size_t)64 << 20)
/* Distinct stacks (blocking calls, CPU samples, thread creation) and their
 * bytes (a 128-frame stack is 1 KiB). Past either, stack id 0 (unknown). */
#define CP_TRACE_MAX_STACKS (1u << 20)
#define CP_TRACE_STACK_BYTES ((size_t)256 << 20)
/* Frames kept per stack of a blocking call. */
#define CP_TRACE_STACK_DEPTH 64

/* ---- intern tables ---- */

/*
 * Insert-only hash table of byte strings with dense ids from 1 (0 is ""
 * or "unknown"). Lock-free: an inserter reserves an id with one
 * fetch_add, copies the bytes into the arena, marks the entry ready
 * (release) and only then publishes it in a hash slot with a CAS, so any
 * id a reader finds in a slot is complete. Two threads inserting the same
 * bytes at once may both get an id (both are defined in the trace; only
 * one stays findable): harmless. Memory is mmap'ed once with its cap and
 * touched lazily.
 */
struct cp_tintern_ent {
    _Atomic uint32_t ready; /* 1: defined; 2: defined but out of room */
    uint32_t len;
    uint64_t off;  /* into arena */
    uint64_t hash;
};

struct cp_tintern {
    _Atomic uint32_t next;   /* next id to hand out (starts at 1) */
    uint32_t cap;            /* entries, id < cap */
    struct cp_tintern_ent *ent;
    _Atomic uint32_t *slots; /* id or 0 */
    uint32_t slot_mask;
    _Atomic uint64_t used;   /* arena bytes handed out */
    uint64_t arena_cap;
    uint8_t *arena;
    _Atomic uint64_t full;   /* inserts refused (cap or arena) */
};

/* mmap the table. 0 or -ENOMEM. Async-signal-safe: no. */
int cp_tintern_init(struct cp_tintern *t, uint32_t cap, size_t arena);
void cp_tintern_destroy(struct cp_tintern *t);

/*
 * Id of the len bytes at data, inserting them if new; 0 when the table is
 * full. Async-signal-safe: yes. Thread-safe: yes (lock-free).
 */
uint32_t cp_tintern_get(struct cp_tintern *t, const void *data, size_t len);

/* Bytes of id (NULL if id is not defined yet). Single consumer side. */
const uint8_t *cp_tintern_bytes(const struct cp_tintern *t, uint32_t id,
                                uint32_t *len);

/* ---- per-thread buffers ---- */

#define CP_TBUF_CACHE 64  /* string-cache entries (direct mapped) */
#define CP_TBUF_CACHE_STR 48

struct cp_tbuf_cache {
    const char *ptr;
    uint32_t id;
    uint32_t len; /* < CP_TBUF_CACHE_STR */
    char copy[CP_TBUF_CACHE_STR];
};

struct cp_tbuf {
    /* owner thread only (its handlers are kept out by busy) */
    uint64_t w;          /* bytes written, not all published yet */
    uint64_t cached_r;   /* last r seen */
    uint64_t last_units; /* time of the previous event, clock units */
    _Atomic uint32_t busy; /* an event is being written (see trace.c);
                              read by the stopper */
    int32_t cpu;         /* CPU recorded last, -1 none */
    uint8_t *data;       /* ring: size bytes + CP_TRACE_MAX_EVENT slack */
    uint64_t size;       /* power of two */
    _Atomic uint32_t gen; /* trace generation this buffer belongs to */
    int tid;
    size_t map_len;      /* whole mapping, header included */

    /* owner writes, writer thread reads: atomics */
    _Atomic uint64_t pub_w __attribute__((aligned(64)));
    _Atomic uint64_t lost;       /* dropped, not yet in a LOST event */
    _Atomic uint64_t lost_total; /* dropped in this generation */
    _Atomic uint64_t events;     /* written in this generation */
    _Atomic uint32_t dead;       /* owner exited: drain, then unmap */
    _Atomic uint32_t woke;       /* woke the writer; it clears this */

    /* writer thread only */
    _Atomic uint64_t r __attribute__((aligned(64)));
    uint64_t snap;   /* pub_w seen at the start of the pass */
    uint64_t snap_pass; /* the pass that took snap: a ring that joins the
                           trace during a pass waits for the next one */
    bool batch_new;  /* next batch starts the buffer */
    struct cp_tbuf *next; /* list link: pushed with CAS, unlinked by one
                             remover at a time (trace.c) */

    /* owner only: string cache by pointer, contents verified */
    struct cp_tbuf_cache cache[CP_TBUF_CACHE];
};

/* Header of the global buffer list (push: lock-free). */
extern _Atomic(struct cp_tbuf *) cp_tbuf_head;

/*
 * mmap a buffer for the calling thread (tid), for generation gen, and push
 * it on the list. NULL on ENOMEM. Async-signal-safe: yes.
 */
struct cp_tbuf *cp_tbuf_new(int tid, uint32_t gen);

/* Reset an idle buffer of the calling thread for a new generation (its
 * owner calls this; the writer of that generation looks at it only once
 * gen is published). Async-signal-safe: yes. */
void cp_tbuf_reset(struct cp_tbuf *b, uint32_t gen);

/* Unmap a buffer that is off the list. */
void cp_tbuf_free(struct cp_tbuf *b);

/* Unlink b from the list; only the one remover may call this. */
void cp_tbuf_unlink(struct cp_tbuf *b);

/*
 * Room for max bytes at the write position, or NULL when the ring is full
 * (the caller counts the loss). Async-signal-safe: yes.
 */
static inline uint8_t *cp_tbuf_reserve(struct cp_tbuf *b, size_t max)
{
    if (CP_UNLIKELY(b->w + max - b->cached_r > b->size)) {
        b->cached_r = atomic_load_explicit(&b->r, memory_order_acquire);
        if (b->w + max - b->cached_r > b->size)
            return NULL;
    }
    return b->data + (b->w & (b->size - 1));
}

/* Called when the writer should run early (a ring is half full). */
void cp_tbuf_wake_writer(void);

/*
 * Publish the bytes written at p (from cp_tbuf_reserve) up to end. An
 * event that ran past the ring's end into the slack is wrapped to its
 * start. Async-signal-safe: yes.
 */
static inline void cp_tbuf_commit(struct cp_tbuf *b, uint8_t *p, uint8_t *end)
{
    uint64_t n = (uint64_t)(end - p);
    uint64_t off = (uint64_t)(p - b->data);
    if (CP_UNLIKELY(off + n > b->size))
        __builtin_memcpy(b->data, b->data + b->size, off + n - b->size);
    b->w += n;
    atomic_store_explicit(&b->pub_w, b->w, memory_order_release);
    if (CP_UNLIKELY(b->w - b->cached_r > b->size / 2)) {
        /* cached_r may be stale: look at the writer's position before
         * waking it (else every event after a half-full moment would) */
        b->cached_r = atomic_load_explicit(&b->r, memory_order_acquire);
        if (b->w - b->cached_r > b->size / 2 &&
            !atomic_load_explicit(&b->woke, memory_order_relaxed)) {
            atomic_store_explicit(&b->woke, 1, memory_order_relaxed);
            cp_tbuf_wake_writer();
        }
    }
}

#endif /* CP_TRACEBUF_H */
