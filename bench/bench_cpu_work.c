/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_cpu_work.c - a deep-recursion workload for bench/run_cpu.sh: each
 * thread repeatedly recurses DEPTH frames down and burns a slice of CPU at
 * the bottom, so every sample has a DEPTH-frame stack to walk (the worst
 * case for a profiler's per-sample cost). Fixed work (ITERATIONS slices
 * per thread), so its CPU time compares across runs.
 *
 * usage: bench_cpu_work DEPTH ITERATIONS THREADS
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int depth = 100;
static long iterations = 20000;
static volatile uint64_t sink;

__attribute__((noipa)) static uint64_t bottom(uint64_t x)
{
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

__attribute__((noipa)) static uint64_t recurse(int left, uint64_t x)
{
    volatile int keep = left;
    uint64_t r = left <= 1 ? bottom(x) : recurse(left - 1, x + 1);
    return r + (uint64_t)keep;
}

static void *worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg;
    for (long i = 0; i < iterations; i++)
        x = recurse(depth, x);
    sink += x;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1;
    pthread_t t[64];

    if (argc > 1)
        depth = atoi(argv[1]);
    if (argc > 2)
        iterations = atol(argv[2]);
    if (argc > 3)
        threads = atoi(argv[3]);
    if (depth < 1 || iterations < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_cpu_work DEPTH ITERATIONS THREADS\n");
        return 2;
    }
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
            return 1;
    worker(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(t[i], NULL);
    return 0;
}
