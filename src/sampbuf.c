/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * sampbuf.c - multi-producer, single-consumer sample ring (sampbuf.h).
 *
 * Record layout, in 64-bit words:
 *   [0] header: length in words << 32 | kind << 24 | flags << 16 | n
 *       (flags: 1 truncated, 2 exit credit)
 *   [1] tid << 32 | cpu
 *   [2] labels << 32 | weight
 *   [3] time_ns
 *   [4] the thread's start routine
 *   [5..5+n) pcs
 * A record never wraps: when it does not fit before the end of the ring,
 * the writer first fills the tail with a padding record.
 */
#include "sampbuf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "cp_assert.h"

enum { KIND_SAMPLE = 1, KIND_PAD = 2, HDR_WORDS = 5 };

int cp_sampbuf_init(struct cp_sampbuf *b, uint64_t words)
{
    void *mem;

    if (words & (words - 1))
        return -EINVAL;
    mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    atomic_init(&b->w, 0);
    atomic_init(&b->r, 0);
    atomic_init(&b->dropped, 0);
    b->data = mem;
    b->words = words;
    return 0;
}

void cp_sampbuf_destroy(struct cp_sampbuf *b)
{
    if (b->data)
        munmap((void *)b->data, b->words * 8);
    b->data = NULL;
}

void cp_sampbuf_reset(struct cp_sampbuf *b)
{
    if (b->data)
        memset((void *)b->data, 0, b->words * 8);
    atomic_store(&b->w, 0);
    atomic_store(&b->r, 0);
}

static inline uint64_t hdr(uint64_t len, unsigned kind, unsigned flags, int n)
{
    return len << 32 | (uint64_t)kind << 24 | (uint64_t)flags << 16 |
           (uint64_t)(unsigned)n;
}

int cp_sampbuf_push(struct cp_sampbuf *b, const struct cp_sample_rec *s)
{
    uint64_t len = HDR_WORDS + (uint64_t)s->n;
    uint64_t w, r, pos, tail, need;
    _Atomic uint64_t *d = b->data;

    if (!d || len > b->words / 4)
        return -EINVAL;
    w = atomic_load_explicit(&b->w, memory_order_relaxed);
    do {
        r = atomic_load_explicit(&b->r, memory_order_acquire);
        pos = w & (b->words - 1);
        tail = b->words - pos;
        need = len <= tail ? len : tail + len;
        if (w + need - r > b->words) {
            atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
            return -ENOSPC;
        }
    } while (!atomic_compare_exchange_weak_explicit(
        &b->w, &w, w + need, memory_order_acq_rel, memory_order_relaxed));

    if (need != len) {
        /* pad to the end of the ring; the record starts at 0 */
        atomic_store_explicit(&d[pos], hdr(tail, KIND_PAD, 0, 0),
                              memory_order_release);
        pos = 0;
    }
    atomic_store_explicit(&d[pos + 1],
                          (uint64_t)(uint32_t)s->tid << 32 |
                              (uint32_t)s->cpu,
                          memory_order_relaxed);
    atomic_store_explicit(&d[pos + 2],
                          (uint64_t)s->labels << 32 | s->weight,
                          memory_order_relaxed);
    atomic_store_explicit(&d[pos + 3], (uint64_t)s->time_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&d[pos + 4], (uint64_t)s->routine,
                          memory_order_relaxed);
    for (int i = 0; i < s->n; i++)
        atomic_store_explicit(&d[pos + HDR_WORDS + i], s->pcs[i],
                              memory_order_relaxed);
    atomic_store_explicit(&d[pos],
                          hdr(len, KIND_SAMPLE,
                              (s->truncated ? 1u : 0u) |
                                  (s->exit_credit ? 2u : 0u),
                              s->n),
                          memory_order_release);
    return 0;
}

size_t cp_sampbuf_drain(struct cp_sampbuf *b,
                        void (*fn)(const struct cp_sample_rec *, void *),
                        void *arg)
{
    _Atomic uint64_t *d = b->data;
    uint64_t r = atomic_load_explicit(&b->r, memory_order_relaxed);
    uint64_t w = atomic_load_explicit(&b->w, memory_order_acquire);
    uintptr_t pcs[1024];
    size_t count = 0;

    if (!d)
        return 0;
    while (r < w) {
        uint64_t pos = r & (b->words - 1);
        uint64_t h = atomic_load_explicit(&d[pos], memory_order_acquire);
        uint64_t len = h >> 32;
        if (!h)
            break; /* a writer is still filling this record */
        if (CP_NEVER(len == 0 || len > b->words - pos)) {
            /* Cannot happen; if it does, drop everything rather than
             * loop or read out of bounds. */
            cp_sampbuf_reset(b);
            return count;
        }
        if (((h >> 24) & 0xff) == KIND_SAMPLE) {
            struct cp_sample_rec s;
            uint64_t w1 = atomic_load_explicit(&d[pos + 1],
                                               memory_order_relaxed);
            uint64_t w2 = atomic_load_explicit(&d[pos + 2],
                                               memory_order_relaxed);
            s.tid = (int)(w1 >> 32);
            s.cpu = (int)(int32_t)(uint32_t)w1;
            s.labels = (uint32_t)(w2 >> 32);
            s.weight = (uint32_t)w2;
            s.time_ns = (int64_t)atomic_load_explicit(&d[pos + 3],
                                                      memory_order_relaxed);
            s.routine = (uintptr_t)atomic_load_explicit(
                &d[pos + 4], memory_order_relaxed);
            s.truncated = (int)((h >> 16) & 1);
            s.exit_credit = (int)((h >> 17) & 1);
            s.n = (int)(h & 0xffff);
            if (s.n > (int)(sizeof pcs / sizeof pcs[0]))
                s.n = (int)(sizeof pcs / sizeof pcs[0]);
            for (int i = 0; i < s.n; i++)
                pcs[i] = atomic_load_explicit(&d[pos + HDR_WORDS + i],
                                              memory_order_relaxed);
            s.pcs = pcs;
            fn(&s, arg);
            count++;
        }
        /* zero the whole record so any word may later be a header */
        for (uint64_t i = 0; i < len; i++)
            atomic_store_explicit(&d[pos + i], 0, memory_order_relaxed);
        r += len;
        atomic_store_explicit(&b->r, r, memory_order_release);
    }
    return count;
}
