/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_mixed.c - every allocation function the heap profiler interposes,
 * each from a site of its own, K times, kept live until exit; plus the
 * behaviour glibc documents for each (checked here, exit 1 on a
 * difference) at whatever rate the profiler runs. With CPROF_HEAP_RATE=1
 * check_heap.py expects exact counts per site.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

#include "heap_common.h"

#define K 10

__attribute__((noinline)) static void *m_malloc(void)
{
    void *p = malloc(40);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *m_calloc(void)
{
    unsigned char *p = calloc(5, 30);
    HEAP_CHECK(p);
    for (int i = 0; i < 150; i++)
        HEAP_CHECK(p[i] == 0);
    return p;
}
__attribute__((noinline)) static void *m_realloc(void)
{
    void *p = realloc(NULL, 70);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *m_reallocarray(void)
{
    void *p = reallocarray(NULL, 10, 9);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *m_posix_memalign(void)
{
    void *p = NULL;
    HEAP_CHECK(posix_memalign(&p, 64, 100) == 0);
    HEAP_CHECK((uintptr_t)p % 64 == 0);
    return p;
}
__attribute__((noinline)) static void *m_aligned_alloc(void)
{
    void *p = aligned_alloc(256, 512);
    HEAP_CHECK(p && (uintptr_t)p % 256 == 0);
    return p;
}
__attribute__((noinline)) static void *m_memalign(void)
{
    void *p = memalign(32, 48);
    HEAP_CHECK(p && (uintptr_t)p % 32 == 0);
    return p;
}
__attribute__((noinline)) static void *m_valloc(void)
{
    void *p = valloc(100);
    HEAP_CHECK(p && (uintptr_t)p % 4096 == 0);
    return p;
}
__attribute__((noinline)) static void *m_pvalloc(void)
{
    /* valgrind aborts on pvalloc: there, the same block by valloc */
    void *p = getenv("HEAPT_VALGRIND") ? valloc(4096) : pvalloc(100);
    HEAP_CHECK(p && (uintptr_t)p % 4096 == 0);
    HEAP_CHECK(malloc_usable_size(p) >= 4096);
    return p;
}
__attribute__((noinline)) static void *m_strdup(void)
{
    void *p = strdup("0123456789");
    __asm__ volatile("" ::: "memory");
    return p;
}
/* realloc that grows a block made elsewhere: counted at this site */
__attribute__((noinline)) static void *m_regrow(void *old)
{
    void *p = realloc(old, 3000);
    __asm__ volatile("" ::: "memory");
    return p;
}
HEAP_SITE(m_seed)

/* What glibc documents, at any sampling rate. */
static void semantics(void)
{
    char *p, *q;
    void *v;
    volatile size_t half = SIZE_MAX / 2, huge = SIZE_MAX - 4096;

    free(NULL);
    p = malloc(0);
    HEAP_CHECK(p);
    free(p);
    p = realloc(NULL, 0);
    HEAP_CHECK(p);
    HEAP_CHECK(realloc(p, 0) == NULL); /* frees p */
    p = malloc(10);
    memcpy(p, "abcdefghij", 10);
    for (size_t n = 16; n < (1 << 22); n *= 3) {
        p = realloc(p, n);
        HEAP_CHECK(p && !memcmp(p, "abcdefghij", 10));
        HEAP_CHECK(malloc_usable_size(p) >= n);
    }
    p = realloc(p, 4);
    HEAP_CHECK(!memcmp(p, "abcd", 4));
    free(p);
    errno = 0;
    HEAP_CHECK(calloc(half, 3) == NULL && errno == ENOMEM);
    errno = 0;
    HEAP_CHECK(reallocarray(NULL, half, 3) == NULL && errno == ENOMEM);
    errno = 0;
    /* (valgrind reports a size this large as an error of the program) */
    if (!getenv("HEAPT_VALGRIND"))
        HEAP_CHECK(malloc(huge) == NULL && errno == ENOMEM);
    HEAP_CHECK(posix_memalign(&v, 3, 8) == EINVAL);
    HEAP_CHECK(posix_memalign(&v, 4, 8) == EINVAL);
    HEAP_CHECK(malloc_usable_size(NULL) == 0);
    q = calloc(1, 1 << 20);
    HEAP_CHECK(q && q[12345] == 0 && q[(1 << 20) - 1] == 0);
    free(q);
    /* memory the program got before and frees now, across rates */
    q = malloc(77);
    memset(q, 1, 77);
    free(q);
}

int main(int argc, char **argv)
{
    static void *keep[32][K];
    int rounds = argc > 1 ? atoi(argv[1]) : 1;

    for (int r = 0; r < rounds; r++)
        semantics();
    for (int i = 0; i < K; i++) {
        int j = 0;
        keep[j++][i] = m_malloc();
        keep[j++][i] = m_calloc();
        keep[j++][i] = m_realloc();
        keep[j++][i] = m_reallocarray();
        keep[j++][i] = m_posix_memalign();
        keep[j++][i] = m_aligned_alloc();
        keep[j++][i] = m_memalign();
        keep[j++][i] = m_valloc();
        keep[j++][i] = m_pvalloc();
        keep[j++][i] = m_strdup();
        keep[j++][i] = m_regrow(m_seed(8));
        for (int k = 0; k < j; k++)
            HEAP_CHECK(keep[k][i]);
    }
    heap_truth_site("m_malloc", K, K * 40, K, K * 40);
    heap_truth_site("m_calloc", K, K * 150, K, K * 150);
    heap_truth_site("m_realloc", K, K * 70, K, K * 70);
    heap_truth_site("m_reallocarray", K, K * 90, K, K * 90);
    heap_truth_site("m_posix_memalign", K, K * 100, K, K * 100);
    heap_truth_site("m_aligned_alloc", K, K * 512, K, K * 512);
    heap_truth_site("m_memalign", K, K * 48, K, K * 48);
    heap_truth_site("m_valloc", K, K * 100, K, K * 100);
    heap_truth_site("m_pvalloc", K, K * 4096, K, K * 4096);
    heap_truth_site("m_strdup", K, K * 11, K, K * 11);
    heap_truth_site("m_regrow", K, K * 3000, K, K * 3000);
    heap_truth_site("m_seed", 0, 0, K, K * 8);
    heap_write_profiles();
    if (getenv("HEAPT_FREE_ALL")) { /* for leak checkers: nothing left */
        for (int k = 0; k < 11; k++)
            for (int i = 0; i < K; i++)
                free(keep[k][i]);
    }
    return 0;
}
