/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_sites.c - allocation workloads with known truth for the heap
 * profiler's accuracy checks (check_heap.py):
 *
 *   heap_sites exact        rate-1 counts: three sites, some blocks freed
 *   heap_sites ratio MB     MB live from three sites in a 60/30/10 ratio,
 *                           mixed block sizes, plus freed garbage
 *   heap_sites stat         fixed sizes for the statistical campaign
 *   heap_sites churn GB     GB allocated and freed in 16 B..4 KiB blocks
 *
 * Everything live stays live until exit (CPROF_HEAP is written then).
 */
#include <math.h>
#include <stdint.h>

#include "heap_common.h"

HEAP_SITE(site_a)
HEAP_SITE(site_b)
HEAP_SITE(site_c)
HEAP_SITE(site_garbage)
HEAP_SITE(site_churn)

static void **keep;
static size_t n_keep, cap_keep;

static void hold(void *p)
{
    if (n_keep == cap_keep) {
        cap_keep = cap_keep ? cap_keep * 2 : 4096;
        keep = realloc(keep, cap_keep * sizeof *keep);
        HEAP_CHECK(keep);
    }
    keep[n_keep++] = p;
}

static void exact(void)
{
    static void *one[1000], *two[300];
    for (int i = 0; i < 1000; i++)
        HEAP_CHECK(one[i] = site_a(100));
    for (int i = 0; i < 400; i++)
        free(one[i]);
    for (int i = 0; i < 300; i++)
        HEAP_CHECK(two[i] = site_b(5000));
    for (int i = 0; i < 300; i++)
        free(two[i]);
    for (int i = 0; i < 7; i++)
        hold(site_c(1 << 20));
    heap_truth_site("site_a", 600, 60000, 1000, 100000);
    heap_truth_site("site_b", 0, 0, 300, 1500000);
    heap_truth_site("site_c", 7, 7 << 20, 7, 7 << 20);
}

/* Log-uniform sizes in [64, 64 KiB]. */
static size_t mixed_size(unsigned long long *s)
{
    double u = (double)(heap_rand(s) >> 11) * 0x1p-53;
    size_t n = (size_t)(64.0 * pow(1024.0, u));
    return n < 64 ? 64 : n;
}

static void ratio(long long mb)
{
    void *(*const fn[3])(size_t) = {site_a, site_b, site_c};
    const char *name[3] = {"site_a", "site_b", "site_c"};
    const int share[3] = {60, 30, 10};
    unsigned long long s = 42;

    for (int k = 0; k < 3; k++) {
        long long want = mb * 1024 * 1024 * share[k] / 100, got = 0, n = 0;
        while (got < want) {
            size_t sz = mixed_size(&s);
            void *g = site_garbage(sz); /* freed: alloc != inuse */
            hold(fn[k](sz));
            free(g);
            got += (long long)sz;
            n++;
        }
        heap_truth_site(name[k], n, got, n, got);
    }
}

static void stat(void)
{
    for (int i = 0; i < 2560; i++)
        hold(site_a(4096));
    for (int i = 0; i < 640; i++)
        hold(site_b(32768));
    for (int i = 0; i < 40; i++)
        hold(site_c(1 << 20));
    heap_truth_site("site_a", 2560, 2560LL * 4096, 2560, 2560LL * 4096);
    heap_truth_site("site_b", 640, 640LL * 32768, 640, 640LL * 32768);
    heap_truth_site("site_c", 40, 40LL << 20, 40, 40LL << 20);
}

static void churn(double gb)
{
    enum { SLOTS = 10000 };
    static void *slot[SLOTS];
    long long total = 0, n = 0, want = (long long)(gb * (1 << 30));
    unsigned long long s = 7;

    while (total < want) {
        unsigned long long r = heap_rand(&s);
        size_t i = r % SLOTS, sz = 16 + (r >> 32) % 4081;
        free(slot[i]);
        slot[i] = site_churn(sz);
        HEAP_CHECK(slot[i]);
        total += (long long)sz;
        n++;
    }
    for (size_t i = 0; i < SLOTS; i++)
        free(slot[i]);
    heap_truth_site("site_churn", 0, 0, n, total);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        HEAP_DIE("usage: heap_sites exact|ratio MB|stat|churn GB");
    if (!strcmp(argv[1], "exact"))
        exact();
    else if (!strcmp(argv[1], "ratio") && argc > 2)
        ratio(atoll(argv[2]));
    else if (!strcmp(argv[1], "stat"))
        stat();
    else if (!strcmp(argv[1], "churn") && argc > 2)
        churn(atof(argv[2]));
    else
        HEAP_DIE("unknown mode %s", argv[1]);
    heap_write_profiles();
    return 0;
}
