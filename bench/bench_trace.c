/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_trace.c - what an annotation costs the traced thread: a region
 * begin+end pair and a log, each call timed alone with rdtsc (median and
 * p99, the empty timing subtracted), with no trace running and with one;
 * two clock reads for scale (rdtsc, clock_gettime); and the trace's bytes
 * per event. bench/trace.sh runs it beside the Go twin.
 *
 *     bench_trace [-n CALLS] [-o TRACE]
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "cprof.h"

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ns_per_tick;
static uint64_t *v;
static uint64_t empty_ticks;

/* median and p99 in ns of the per-call samples v[0..n) */
static void report(const char *what, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    double med = (double)(v[n / 2] > empty_ticks ? v[n / 2] - empty_ticks : 0);
    double p99 = (double)(v[n * 99 / 100] > empty_ticks
                              ? v[n * 99 / 100] - empty_ticks
                              : 0);
    printf("%-34s median %6.1f ns   p99 %7.1f ns\n", what, med * ns_per_tick,
           p99 * ns_per_tick);
}

#define TIMED(n, body)                                                      \
    do {                                                                    \
        for (size_t i_ = 0; i_ < (n); i_++) {                               \
            uint64_t t0_ = __rdtsc();                                       \
            body;                                                           \
            v[i_] = __rdtsc() - t0_;                                        \
        }                                                                   \
    } while (0)

int main(int argc, char **argv)
{
    size_t n = 2000000;
    const char *out = "/tmp/bench_trace.trace";
    struct stat st;
    int c;

    while ((c = getopt(argc, argv, "n:o:")) != -1) {
        if (c == 'n')
            n = strtoul(optarg, NULL, 10);
        else if (c == 'o')
            out = optarg;
        else
            return 2;
    }
    v = malloc(n * sizeof *v);
    if (!v || n < 1000)
        return 2;
    /* the TSC rate, and the cost of timing nothing */
    int64_t a = now_ns();
    uint64_t ta = __rdtsc();
    usleep(200000);
    ns_per_tick = (double)(now_ns() - a) / (double)(__rdtsc() - ta);
    TIMED(n, (void)0);
    qsort(v, n, sizeof *v, cmp);
    empty_ticks = v[n / 2];

    TIMED(n, (void)__rdtsc());
    report("one rdtsc (for scale)", n);
    struct timespec ts;
    TIMED(n, clock_gettime(CLOCK_MONOTONIC, &ts));
    report("one clock_gettime (for scale)", n);

    TIMED(n, {
        cprof_region_begin("bench");
        cprof_region_end();
    });
    report("region pair, no trace running", n);

    if (cprof_trace_start(out) != 0) {
        fprintf(stderr, "bench_trace: %s\n", cprof_strerror());
        return 1;
    }
    TIMED(n, {
        cprof_region_begin("bench");
        cprof_region_end();
    });
    report("region pair, tracing", n);
    TIMED(n, cprof_log("bench", "sixteen byte msg"));
    report("log (16-byte message), tracing", n);
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "bench_trace: %s\n", cprof_strerror());
        return 1;
    }
    /* back to back, in a trace of their own: throughput in the thread's
     * CPU time (a loaded machine's preemptions are not the tracer's), and
     * the file's bytes per event, everything included */
    if (cprof_trace_start(out) != 0) {
        fprintf(stderr, "bench_trace: %s\n", cprof_strerror());
        return 1;
    }
    int64_t t0 = cpu_ns();
    for (size_t i = 0; i < n; i++) {
        cprof_region_begin("bench");
        cprof_region_end();
        if ((i & 1023) == 1023)
            usleep(50); /* ~1 M pairs/s: the writer keeps up, nothing lost */
    }
    double per = (double)(cpu_ns() - t0) / (double)n;
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "bench_trace: %s\n", cprof_strerror());
        return 1;
    }
    printf("%-34s mean   %6.1f ns (thread CPU time)\n",
           "region pair, tracing, in a loop", per);
    if (stat(out, &st) == 0)
        printf("trace of %zu region pairs: %lld bytes, %.2f bytes/event "
               "(everything included: strings, syncs, samples, switches)\n",
               n, (long long)st.st_size, (double)st.st_size / (double)(2 * n));
    free(v);
    return 0;
}
