/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_flood.c - the tracer under a flood: THREADS threads emit RATE
 * events per second in all (region begin/end pairs, a log every 64) for
 * SECONDS, count exactly what they emitted, then the trace stops; the
 * checker wants every event in the trace or counted as lost.
 *
 *     trace_flood TRACE SECONDS RATE THREADS [forever]
 *
 * Prints {"threads":[{"name","tid","events"}...],"seconds","rate"} on
 * stdout. With "forever" the threads never stop (and the trace is never
 * stopped): the kill -9 test cuts it short.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

static double seconds, rate;
static int nthreads, forever;
static volatile int go;

struct worker {
    pthread_t t;
    char name[24];
    int tid;
    uint64_t events;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    double per_ns = rate / nthreads / 1e9;
    uint64_t n = 0;
    int64_t start, end;

    pthread_setname_np(pthread_self(), w->name);
    w->tid = (int)syscall(SYS_gettid);
    while (!go)
        ;
    start = now_ns();
    end = start + (int64_t)(seconds * 1e9);
    for (;;) {
        /* 64 events: 31 region pairs and 2 logs */
        for (int i = 0; i < 31; i++) {
            cprof_region_begin("flood");
            cprof_region_end();
        }
        cprof_log("flood", "tick");
        cprof_log("flood", "tock");
        n += 64;
        int64_t t = now_ns();
        if (!forever && t >= end)
            break;
        /* pace: wait while ahead of the rate */
        while ((double)n > (double)(t - start) * per_ns) {
            t = now_ns();
            if (!forever && t >= end)
                break;
        }
    }
    w->events = n;
    return NULL;
}

int main(int argc, char **argv)
{
    struct worker *w;

    if (argc < 5) {
        fprintf(stderr, "usage: trace_flood TRACE SECONDS RATE THREADS "
                        "[forever]\n");
        return 2;
    }
    seconds = atof(argv[2]);
    rate = atof(argv[3]);
    nthreads = atoi(argv[4]);
    forever = argc > 5 && !strcmp(argv[5], "forever");
    if (nthreads < 1 || nthreads > 64 || rate <= 0)
        return 2;
    if (cprof_trace_start(argv[1]) != 0) {
        fprintf(stderr, "trace_flood: %s\n", cprof_strerror());
        return 1;
    }
    w = calloc((size_t)nthreads, sizeof *w);
    for (int i = 0; i < nthreads; i++) {
        snprintf(w[i].name, sizeof w[i].name, "flood-%d", i);
        pthread_create(&w[i].t, NULL, run, &w[i]);
    }
    go = 1;
    for (int i = 0; i < nthreads; i++)
        pthread_join(w[i].t, NULL);
    int64_t t0 = now_ns();
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "trace_flood: %s\n", cprof_strerror());
        return 1;
    }
    printf("{\"seconds\":%g,\"rate\":%g,\"stop_ms\":%.1f,\"threads\":[",
           seconds, rate, (double)(now_ns() - t0) / 1e6);
    for (int i = 0; i < nthreads; i++)
        printf("%s{\"name\":\"%s\",\"tid\":%d,\"events\":%" PRIu64 "}",
               i ? "," : "", w[i].name, w[i].tid, w[i].events);
    printf("]}\n");
    free(w);
    return 0;
}
