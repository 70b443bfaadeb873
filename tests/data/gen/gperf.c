/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gperf.c - the program behind tests/data/gperf/: run under gperftools'
 * CPU profiler (CPUPROFILE=, libprofiler) and heap profiler (HEAPPROFILE=,
 * libtcmalloc) by regen_gperf.sh, it gives cprof real gperftools profiles
 * to read: the legacy binary CPU format with its /proc/self/maps tail, and
 * the "heap profile: ... @ heapprofile" text with MAPPED_LIBRARIES:.
 *
 * The work is plain arithmetic in this file (no libc calls in the hot
 * loops), so the samples land in functions of this binary, which is kept
 * beside the profiles for symbolization (PPROF_BINARY_PATH).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile double sink_d;
static volatile unsigned long sink_u;

__attribute__((noinline)) static void burn_float(long n)
{
    double x = 1.0;
    for (long i = 0; i < n; i++)
        x = x * 1.0000001 + 0.5 / (x + 1.0);
    sink_d = x;
}

__attribute__((noinline)) static void burn_hash(long n)
{
    unsigned long h = 1469598103934665603ul;
    for (long i = 0; i < n; i++)
        h = (h ^ (unsigned long)i) * 1099511628211ul;
    sink_u = h;
}

__attribute__((noinline)) static void leaf_work(long n)
{
    burn_hash(n / 2);
    burn_float(n / 2);
}

__attribute__((noinline)) static void recurse(int depth, long n)
{
    if (depth == 0) {
        leaf_work(n);
        return;
    }
    recurse(depth - 1, n);
}

static void *keep[4096];

__attribute__((noinline)) static void alloc_small(int n)
{
    for (int i = 0; i < n; i++) {
        keep[i % 2048] = malloc(64 + (size_t)(i % 7) * 16);
        memset(keep[i % 2048], 1, 64);
    }
}

__attribute__((noinline)) static void alloc_big(int n)
{
    for (int i = 0; i < n; i++) {
        keep[2048 + i % 2048] = malloc(1 << 16);
        memset(keep[2048 + i % 2048], 2, 1 << 16);
    }
}

int main(int argc, char **argv)
{
    long scale = argc > 1 ? atol(argv[1]) : 40;
    for (int round = 0; round < 4; round++) {
        burn_float(scale * 1000000 / 2);
        burn_hash(scale * 1000000 / 4);
        recurse(8, scale * 1000000 / 8);
        alloc_small(2000);
        alloc_big(64);
    }
    printf("%g %lu\n", sink_d, sink_u);
    return 0;
}
