/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampbuf.h - the ring that carries CPU samples from the signal handler to
 * the drain thread (after Go's runtime/profbuf.go, multi-producer).
 *
 * Many writers (the handler, on whichever thread the signal hit), one
 * reader (the drain thread). A writer reserves space with one CAS on the
 * write cursor, fills the record, then publishes its header word with a
 * release store; the reader stops at the first unpublished header and
 * zeroes what it consumed, so a zero header always means "not yet". A
 * writer that finds the ring full counts the loss and returns; the reader
 * turns the count into a "cprof_lost_samples" sample.
 * Layout and reasoning: docs/internals/sampbuf.md.
 */
#ifndef CP_SAMPBUF_H
#define CP_SAMPBUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One sample as the reader sees it. pcs points into the ring and is valid
 * only during the callback. */
struct cp_sample_rec {
    int tid;
    int cpu;
    uint32_t labels;
    uint32_t weight;  /* 1 + timer overruns */
    int64_t time_ns;  /* CLOCK_MONOTONIC */
    int truncated;    /* the stack had more than n frames */
    int exit_credit;  /* not a signal: periods a thread passed unsampled
                       * before it exited (sampler.c exit_compensate) */
    uintptr_t routine; /* the thread's start routine, 0 if unknown */
    int n;
    const uintptr_t *pcs;
};

struct cp_sampbuf {
    /* written by the handlers, read by the drain thread: atomics only */
    _Atomic uint64_t w;
    _Atomic uint64_t dropped;
    /* written by the drain thread only */
    _Atomic uint64_t r;
    /* set by cp_sampbuf_init, then immutable */
    _Atomic uint64_t *data;
    uint64_t words; /* power of two */
};

/* Allocate words (a power of two) with mmap. 0 or -ENOMEM.
 * Async-signal-safe: no. */
int cp_sampbuf_init(struct cp_sampbuf *b, uint64_t words);
void cp_sampbuf_destroy(struct cp_sampbuf *b);

/*
 * Append one sample. Returns 0, or -ENOSPC when the ring is full (the loss
 * is counted in b->dropped).
 * Async-signal-safe: yes. Reentrant: yes (lock-free, multi-producer).
 */
int cp_sampbuf_push(struct cp_sampbuf *b, const struct cp_sample_rec *s);

/*
 * Hand every published record to fn, in order, then free their space.
 * Returns how many were read. Single reader only.
 * Async-signal-safe: no.
 */
size_t cp_sampbuf_drain(struct cp_sampbuf *b,
                        void (*fn)(const struct cp_sample_rec *, void *),
                        void *arg);

/* Words in use (for the half-full wakeup). Async-signal-safe: yes. */
static inline uint64_t cp_sampbuf_used(struct cp_sampbuf *b)
{
    return atomic_load_explicit(&b->w, memory_order_relaxed) -
           atomic_load_explicit(&b->r, memory_order_relaxed);
}

/* Forget everything (forked child: writers of the parent are gone). */
void cp_sampbuf_reset(struct cp_sampbuf *b);

#endif /* CP_SAMPBUF_H */
