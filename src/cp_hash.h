/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp_hash.h - the 64-bit mixers the runtime's hash tables use (stack
 * tables in cpu.c and wall.c, locations in pbuild.c, the heap's live
 * table and sampler seeds in heap.c and heap_region.c, the symbolizer's
 * address maps in src/symbol/). Pure functions:
 * async-signal-safe, thread-safe.
 */
#ifndef CP_HASH_H
#define CP_HASH_H

#include <stdint.h>

/* MurmurHash3's fmix64 finalizer: every input bit reaches every output
 * bit, so a table may index by the low bits. */
static inline uint64_t cp_fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* SplitMix64's finalizer (Steele, Lea, Flood 2014): a bijection, also
 * the step of a splitmix64 random sequence. */
static inline uint64_t cp_splitmix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif /* CP_HASH_H */
