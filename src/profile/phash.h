/* SPDX-License-Identifier: Apache-2.0 */
/*
 * phash.h - the hashing pieces merge.c, graph.c and legacy.c share: a
 * 64-bit mixer and an open-addressing index (slot -> entry number) whose
 * entries live in the caller's own arrays, so a table of a million
 * samples costs 4 bytes a slot and no allocation per entry.
 *
 * Never used in signal context. Thread-safe: no (one owner per table).
 */
#ifndef CP_PHASH_H
#define CP_PHASH_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t cp_hmix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static inline uint64_t cp_hfinal(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* Index of entries 0..n-1: slots hold entry + 1, 0 is empty; hashes of
 * the entries are kept beside them so a rehash needs no key access. */
struct cp_hindex {
    uint32_t *slots;
    uint64_t *hash; /* per entry */
    size_t mask;    /* slots - 1 */
    size_t n;       /* entries */
    size_t cap;     /* of hash[] */
};

static inline void cp_hindex_free(struct cp_hindex *x)
{
    free(x->slots);
    free(x->hash);
    memset(x, 0, sizeof(*x));
}

static inline int cp_hindex_grow(struct cp_hindex *x, size_t want)
{
    if (want >= UINT32_MAX - 1)
        return -ENOMEM;
    if (want > x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        while (nc < want)
            nc *= 2;
        uint64_t *nh = realloc(x->hash, nc * sizeof(*nh));
        if (!nh)
            return -ENOMEM;
        x->hash = nh;
        x->cap = nc;
    }
    if (x->slots && want * 2 <= x->mask + 1)
        return 0;
    size_t ns = 64;
    while (ns < want * 2)
        ns *= 2;
    uint32_t *sl = calloc(ns, sizeof(*sl));
    if (!sl)
        return -ENOMEM;
    for (size_t e = 0; e < x->n; e++) {
        size_t j = (size_t)x->hash[e] & (ns - 1);
        while (sl[j])
            j = (j + 1) & (ns - 1);
        sl[j] = (uint32_t)(e + 1);
    }
    free(x->slots);
    x->slots = sl;
    x->mask = ns - 1;
    return 0;
}

/*
 * Probe for hash h: calls eq(ctx, entry) on entries whose hash matches.
 * Returns the entry found, or -1 with *slot set to the empty slot where a
 * new entry goes (cp_hindex_put). The table must have room (grow first).
 */
static inline long cp_hindex_find(const struct cp_hindex *x, uint64_t h,
                                  int (*eq)(void *, size_t), void *ctx,
                                  size_t *slot)
{
    size_t j = (size_t)h & x->mask;
    for (;;) {
        uint32_t s = x->slots[j];
        if (!s) {
            *slot = j;
            return -1;
        }
        if (x->hash[s - 1] == h && eq(ctx, s - 1))
            return (long)(s - 1);
        j = (j + 1) & x->mask;
    }
}

/* Record entry x->n (the next one) with hash h in the slot find gave. */
static inline size_t cp_hindex_put(struct cp_hindex *x, size_t slot,
                                   uint64_t h)
{
    size_t e = x->n++;
    x->hash[e] = h;
    x->slots[slot] = (uint32_t)(e + 1);
    return e;
}

#endif /* CP_PHASH_H */
