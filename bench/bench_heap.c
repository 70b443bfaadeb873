/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_heap.c - a malloc-heavy workload for the heap profiler's
 * benchmark (bench/heap.sh): each thread keeps LIVE slots, and each
 * operation frees a random slot and refills it with a block of 16 B to
 * 4 KiB (log-uniform: as many 16-32 B blocks as 2-4 KiB ones), touching
 * its first byte. Links nothing of cprof's: profilers come in through
 * LD_PRELOAD, as users run them.
 *
 *   bench_heap [-n OPS_PER_THREAD] [-t THREADS] [-l LIVE]
 *
 * Prints one line: threads, operations, bytes allocated, CPU seconds
 * (user + system, getrusage) and wall seconds.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long ops = 10000000, live = 10000;
static unsigned long long total_bytes[64];

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__attribute__((noinline)) static void *alloc_block(size_t n)
{
    char *p = malloc(n);
    if (p)
        p[0] = 1;
    return p;
}

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    void **slot = calloc((size_t)live, sizeof *slot);
    uint64_t s = 12345 + (uint64_t)id * 977;
    unsigned long long bytes = 0;

    for (long i = 0; i < ops; i++) {
        uint64_t r = next(&s);
        size_t k = (size_t)(r % (uint64_t)live);
        /* 16 << [0, 8] times 1.0..2.0: 16 B .. 4 KiB, log-uniform */
        size_t sz = (size_t)16 << ((r >> 32) % 9);
        sz += (sz * ((r >> 40) & 255)) >> 8;
        if (sz > 4096)
            sz = 4096;
        free(slot[k]);
        slot[k] = alloc_block(sz);
        bytes += sz;
    }
    for (long k = 0; k < live; k++)
        free(slot[k]);
    free(slot);
    total_bytes[id] = bytes;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1, c;
    pthread_t t[64];
    struct timespec a, b;
    struct rusage ru;
    unsigned long long bytes = 0;

    while ((c = getopt(argc, argv, "n:t:l:")) != -1) {
        switch (c) {
        case 'n': ops = atol(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'l': live = atol(optarg); break;
        default:
            fprintf(stderr, "usage: bench_heap [-n OPS] [-t THREADS] "
                            "[-l LIVE]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || ops < 1 || live < 1)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    getrusage(RUSAGE_SELF, &ru);
    for (int i = 0; i < threads; i++)
        bytes += total_bytes[i];
    printf("threads %d ops %ld bytes %llu cpu %.3f wall %.3f\n", threads,
           ops * threads, bytes,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
