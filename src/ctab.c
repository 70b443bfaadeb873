/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * ctab.c - lock-free (stack) -> (count, value) table of the block and
 * mutex profiles (ctab.h).
 *
 * Open addressing on a hash of the stack. A bucket is claimed by a CAS of
 * its key from 0, its stack written, then `ready` published; readers only
 * compare stacks of ready buckets. A thread that finds a matching key not
 * yet ready (another thread is writing it, or this very thread was
 * interrupted by a signal handler while writing it) moves on to the next
 * bucket rather than wait, which may leave two buckets for one stack: the
 * snapshot (contention.c) merges them. cp_ctab_init runs in ordinary
 * threads, before any hook can add.
 */
#include "ctab.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

static uint64_t hash_stack(const uintptr_t *pcs, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

int cp_ctab_init(struct cp_ctab *t, size_t n)
{
    void *m;

    if (atomic_load(&t->b))
        return 0;
    m = mmap(NULL, n * sizeof(struct cp_ctab_bucket), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -ENOMEM;
    t->n = n;
    atomic_store_explicit(&t->b, m, memory_order_release);
    return 0;
}

struct cp_ctab_bucket *cp_ctab_add(struct cp_ctab *t, const uintptr_t *pcs,
                                   int n, uint64_t count, uint64_t value)
{
    struct cp_ctab_bucket *b = atomic_load_explicit(&t->b,
                                                    memory_order_acquire);
    uint64_t h;
    size_t mask, i;

    if (n > CP_CTAB_DEPTH)
        n = CP_CTAB_DEPTH;
    if (n < 0)
        n = 0;
    if (!b)
        goto dropped;
    h = hash_stack(pcs, n);
    mask = t->n - 1;
    i = (size_t)h & mask;
    for (int probe = 0; probe < CP_CTAB_PROBES; probe++, i = (i + 1) & mask) {
        struct cp_ctab_bucket *k = &b[i];
        uint64_t key = atomic_load_explicit(&k->key, memory_order_acquire);

        if (key == 0) {
            uint64_t zero = 0;
            if (!atomic_compare_exchange_strong(&k->key, &zero, h)) {
                key = zero; /* taken meanwhile: look at it as it is now */
            } else {
                k->n = n;
                memcpy(k->pcs, pcs, (size_t)n * sizeof *pcs);
                atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&k->count, count,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&k->value, value,
                                          memory_order_relaxed);
                atomic_store_explicit(&k->ready, 1, memory_order_release);
                return k;
            }
        }
        if (key != h ||
            !atomic_load_explicit(&k->ready, memory_order_acquire) ||
            k->n != n || memcmp(k->pcs, pcs, (size_t)n * sizeof *pcs) != 0)
            continue;
        atomic_fetch_add_explicit(&k->count, count, memory_order_relaxed);
        atomic_fetch_add_explicit(&k->value, value, memory_order_relaxed);
        return k;
    }
dropped:
    atomic_fetch_add_explicit(&t->dropped_count, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->dropped_value, value, memory_order_relaxed);
    return NULL;
}
