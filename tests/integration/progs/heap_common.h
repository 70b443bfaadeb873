/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_common.h - helpers for the heap profiler's test programs
 * (heap_*.c): allocation sites the profile can name, the "truth" file the
 * checker compares the profile with, and writing profiles through the API
 * when the program runs under LD_PRELOAD (found with dlsym, so the
 * programs need not link libcprof).
 */
#ifndef HEAP_COMMON_H
#define HEAP_COMMON_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A site: a function of its own that is never inlined and whose call to
 * the allocator is never a tail call, so the sample's first frame is in
 * it. */
#define HEAP_SITE(name)                                                     \
    __attribute__((noinline)) void *name(size_t n)                          \
    {                                                                       \
        void *p = malloc(n);                                                \
        __asm__ volatile("" ::: "memory");                                  \
        return p;                                                           \
    }

#define HEAP_DIE(...)                                                       \
    do {                                                                    \
        fprintf(stderr, "heap test program: " __VA_ARGS__);                 \
        fputc('\n', stderr);                                                \
        exit(1);                                                            \
    } while (0)

#define HEAP_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond))                                                        \
            HEAP_DIE("%s:%d: %s", __FILE__, __LINE__, #cond);               \
    } while (0)

/* The truth file ($HEAPT_OUT): one line per site,
 *   site NAME INUSE_OBJECTS INUSE_BYTES ALLOC_OBJECTS ALLOC_BYTES */
static FILE *heap_truth;

static inline void heap_truth_site(const char *name, long long io,
                                   long long ib, long long ao, long long ab)
{
    const char *p = getenv("HEAPT_OUT");
    if (!heap_truth && p)
        heap_truth = fopen(p, "w");
    if (heap_truth) {
        fprintf(heap_truth, "site %s %lld %lld %lld %lld\n", name, io, ib, ao,
                ab);
        fflush(heap_truth);
    }
}

/* $HEAPT_PROFILE=BASE: write BASE.pb.gz (debug=0), BASE.txt (debug=1) and
 * BASE.allocs.pb.gz now, through cprof_profile_write. */
static inline void heap_write_profiles(void)
{
    typedef int write_fn(const char *, const char *, int);
    const char *base = getenv("HEAPT_PROFILE");
    write_fn *w;
    char path[4096];

    if (!base)
        return;
    w = (write_fn *)dlsym(RTLD_DEFAULT, "cprof_profile_write");
    if (!w)
        HEAP_DIE("HEAPT_PROFILE set but libcprof is not loaded");
    snprintf(path, sizeof path, "%s.pb.gz", base);
    HEAP_CHECK(w("heap", path, 0) == 0);
    snprintf(path, sizeof path, "%s.txt", base);
    HEAP_CHECK(w("heap", path, 1) == 0);
    snprintf(path, sizeof path, "%s.allocs.pb.gz", base);
    HEAP_CHECK(w("allocs", path, 0) == 0);
}

/* Deterministic sizes (splitmix64). */
static inline unsigned long long heap_rand(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif /* HEAP_COMMON_H */
