/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_wall.c - workloads for the contention and wall-clock profiler
 * benchmark (bench/wall.sh). No cprof calls: profiles are switched on by
 * the environment (CPROF_MUTEX_FRACTION, CPROF_BLOCK_RATE, CPROF_WALL)
 * with libcprof preloaded, or not at all. Prints one JSON line.
 *
 *   bench_wall lock [-n PAIRS]
 *       one thread, uncontended pthread_mutex_lock + unlock pairs, timed
 *       in batches of 256: median and p99 of a pair's cost
 *   bench_wall contended [-threads T] [-seconds S]
 *       T threads take one mutex for a short critical section, with a
 *       little work outside it: lock acquisitions per second
 *   bench_wall mix [-threads T] [-seconds S]
 *       T threads each compute ~200 us then wait ~200 us (even ones sleep,
 *       odd ones wait on a condition variable a helper signals): work
 *       units per second, and the process's CPU time per second
 *   bench_wall fixed [-threads T] [-seconds S]
 *       the same with a fixed amount of work per unit (not a time), for
 *       S seconds of the program's life: the CPU time the process used
 *       per unit of work (what a profiler adds shows there, whatever the
 *       machine's load does to the wall time)
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- lock ---- */

static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;

static int bench_lock(long pairs)
{
    enum { BATCH = 256 };
    long n = pairs / BATCH;
    int64_t *per = malloc((size_t)n * sizeof *per);
    if (!per)
        return 1;
    for (long i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        for (int k = 0; k < BATCH; k++) {
            pthread_mutex_lock(&m1);
            __asm__ volatile("" ::: "memory");
            pthread_mutex_unlock(&m1);
        }
        /* per pair, in 1/100 ns */
        per[i] = (now_ns() - t0) * 100 / BATCH;
    }
    qsort(per, (size_t)n, sizeof *per, cmp_i64);
    printf("{\"mode\": \"lock\", \"pairs\": %ld, \"median_ns\": %.2f, "
           "\"p99_ns\": %.2f}\n",
           n * BATCH, per[n / 2] / 100.0, per[n * 99 / 100] / 100.0);
    free(per);
    return 0;
}

/* ---- contended ---- */

static volatile int stop;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared_counter;
static uint64_t ops[256];

static uint64_t spin_sink;

/* The same busy work as the Go twin's (bench/go/contention). */
static void spin(int iters)
{
    for (int i = 0; i < iters; i++)
        __atomic_fetch_add(&spin_sink, 0, __ATOMIC_SEQ_CST);
}

static void *contender(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t n = 0;
    while (!stop) {
        pthread_mutex_lock(&cm);
        shared_counter++;
        spin(50);
        pthread_mutex_unlock(&cm);
        spin(200);
        n++;
    }
    ops[id] = n;
    return NULL;
}

/* ---- mix ---- */

static pthread_mutex_t mm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mc = PTHREAD_COND_INITIALIZER;
static uint64_t generation;
static volatile double sink;

__attribute__((noinline)) static void compute_unit(void)
{
    double x = 1.0;
    int64_t end = now_ns() + 200000;
    while (now_ns() < end) {
        for (int i = 0; i < 200; i++)
            x = x * 1.0000001 + 1e-9;
    }
    sink = x;
}

__attribute__((noinline)) static void wait_sleep(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void wait_cond(void)
{
    pthread_mutex_lock(&mm);
    uint64_t g = generation;
    while (g == generation && !stop)
        pthread_cond_wait(&mc, &mm);
    pthread_mutex_unlock(&mm);
}

static volatile int fixed_mode;

/* ~100 us of arithmetic here, the same amount every time */
__attribute__((noinline)) static void compute_fixed(void)
{
    double x = 1.0;
    for (int i = 0; i < 60000; i++)
        x = x * 1.0000001 + 1e-9;
    sink = x;
}

static void *mixer(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t n = 0;
    while (!stop) {
        if (fixed_mode)
            compute_fixed();
        else
            compute_unit();
        if (id & 1)
            wait_cond();
        else
            wait_sleep();
        n++;
    }
    ops[id] = n;
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&mm);
        generation++;
        pthread_cond_broadcast(&mc);
        pthread_mutex_unlock(&mm);
    }
    pthread_mutex_lock(&mm);
    generation++;
    pthread_cond_broadcast(&mc);
    pthread_mutex_unlock(&mm);
    return NULL;
}

static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int bench_threads(const char *mode, int threads, double seconds)
{
    pthread_t t[256], tk;
    uint64_t total = 0;
    int64_t t0, c0, el, cpu;
    bool mix = !strcmp(mode, "mix") || !strcmp(mode, "fixed");

    fixed_mode = !strcmp(mode, "fixed");

    if (threads < 1 || threads > 256)
        threads = 8;
    t0 = now_ns();
    c0 = cpu_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, mix ? mixer : contender,
                       (void *)(intptr_t)i);
    if (mix)
        pthread_create(&tk, NULL, ticker, NULL);
    struct timespec ts = {(time_t)seconds,
                          (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    stop = 1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    if (mix)
        pthread_join(tk, NULL);
    el = now_ns() - t0;
    cpu = cpu_ns() - c0;
    for (int i = 0; i < threads; i++)
        total += ops[i];
    printf("{\"mode\": \"%s\", \"threads\": %d, \"ops_per_s\": %.1f, "
           "\"cpu_per_s\": %.4f, \"cpu_ns_per_op\": %.1f, "
           "\"seconds\": %.3f}\n",
           mode, threads, total / (el / 1e9), cpu / (double)el,
           total ? cpu / (double)total : 0.0, el / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "lock";
    long pairs = 2000000;
    int threads = 8;
    double seconds = 2;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            pairs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-seconds"))
            seconds = atof(argv[i + 1]);
    }
    if (!strcmp(mode, "lock"))
        return bench_lock(pairs < 256 ? 256 : pairs);
    if (!strcmp(mode, "contended") || !strcmp(mode, "mix") ||
        !strcmp(mode, "fixed"))
        return bench_threads(mode, threads, seconds);
    fprintf(stderr, "usage: bench_wall lock|contended|mix [options]\n");
    return 2;
}
