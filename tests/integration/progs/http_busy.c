/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_busy.c - computes on THREADS threads for SECONDS and prints how much
 * work got done ("work N"), so check_http.py can measure what serving the
 * endpoint under load costs the program. It also keeps LIVE allocations
 * alive and starts EXTRA threads that sleep (the benchmark's "10k sampled
 * live allocations and 64 threads", with CPROF_HEAP_RATE=1).
 *
 *   http_busy SECONDS THREADS [LIVE [EXTRA]]  (endpoint: CPROF_HTTP)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static atomic_ullong work;

__attribute__((noinline)) static uint64_t mix_block(uint64_t h)
{
    for (int i = 0; i < 4096; i++)
        h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull + (uint64_t)i;
    return h;
}

static void *computer(void *a)
{
    uint64_t h = (uintptr_t)a, n = 0;
    while (!stop) {
        h = mix_block(h);
        n++;
    }
    atomic_fetch_add(&work, n);
    return (void *)(uintptr_t)h;
}

static void *napper(void *a)
{
    while (!stop)
        usleep(50000);
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int live = argc > 3 ? atoi(argv[3]) : 0;
    int extra = argc > 4 ? atoi(argv[4]) : 0;
    pthread_t *t = calloc((size_t)(threads + extra), sizeof *t);
    void **keep = calloc((size_t)live + 1, sizeof *keep);

    /* with CPROF_HEAP_RATE=1 every one of them is a sampled allocation */
    for (int i = 0; i < live; i++)
        keep[i] = malloc(1024 + (size_t)(i % 64) * 16);
    for (int i = 0; i < threads; i++) {
        pthread_create(&t[i], NULL, computer, (void *)(uintptr_t)(i + 1));
        pthread_setname_np(t[i], "computer");
    }
    for (int i = 0; i < extra; i++) {
        pthread_create(&t[threads + i], NULL, napper, NULL);
        pthread_setname_np(t[threads + i], "napper");
    }
    fprintf(stderr, "http_busy: ready\n");
    sleep((unsigned)seconds);
    stop = 1;
    for (int i = 0; i < threads + extra; i++)
        pthread_join(t[i], NULL);
    printf("work %llu\n", (unsigned long long)atomic_load(&work));
    for (int i = 0; i < live; i++)
        free(keep[i]);
    free(keep);
    free(t);
    return 0;
}
