/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_prog.c - the traced program behind the trace viewer's browser
 * tests (trace_test.js) and its benchmark (bench/trace_viewer.sh).
 *
 *     trace_prog TRACE           the test program (below)
 *     trace_prog TRACE -n N      the big one: 3 threads, N iterations each
 *                                of 2 nested regions and a log every 64
 *                                (~4.03 N events per thread, so N = 83000
 *                                gives a 1M-event trace)
 *
 * The test program: threads "alpha", "beta" and "gamma" each run JOBS
 * tasks "job"; each job is a region "step" holding "load" (1 ms of CPU, a
 * log "loaded J of THREAD" after it), "work" holding "crunch" (1 ms of
 * CPU with a shared mutex held, so the others block on it: in the first
 * job alpha holds it asleep for 20 ms while the others come for it) and
 * "pause"
 * (a 1 ms nanosleep). beta's third "load" takes 15 ms: the slowest "load"
 * by far, which the test finds from the region table. A task "pipeline"
 * is begun by main and ended by gamma (a task across threads). Counts: one
 * region of each of the 5 names per job, 3 * JOBS = 12 jobs, 1 pipeline.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"

#define JOBS 4

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t together;
static uint64_t pipeline;
static long big_n;
static volatile uint64_t sink;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((noinline)) static void burn_cpu(int64_t ns)
{
    int64_t end = now_ns() + ns;
    uint64_t x = 1;
    while (now_ns() < end) {
        for (int i = 0; i < 100; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    sink += x;
}

static void big(const char *name)
{
    char msg[64];
    uint64_t x = 1;
    for (long i = 0; i < big_n; i++) {
        cprof_region_begin("outer");
        cprof_region_begin("inner");
        for (int k = 0; k < 200; k++)
            x = x * 6364136223846793005ull + 1;
        cprof_region_end();
        cprof_region_end();
        if (i % 64 == 0) {
            snprintf(msg, sizeof msg, "%s at %ld", name, i);
            cprof_log("progress", msg);
        }
    }
    sink += x;
}

static void *worker(void *arg)
{
    const char *name = arg;
    char msg[64];

    pthread_setname_np(pthread_self(), name);
    if (big_n) {
        big(name);
        return NULL;
    }
    for (int j = 0; j < JOBS; j++) {
        uint64_t task = cprof_task_begin("job");
        cprof_region_begin("step");
        cprof_region_begin("load");
        burn_cpu(!strcmp(name, "beta") && j == 2 ? 15000000 : 1000000);
        cprof_region_end();
        snprintf(msg, sizeof msg, "loaded %d of %s", j, name);
        cprof_log("status", msg);
        cprof_region_begin("work");
        cprof_region_begin("crunch");
        if (j == 0 && !strcmp(name, "alpha")) {
            /* alpha holds the lock, asleep, while the others come for it:
             * they wait on it whatever the machine's load */
            pthread_mutex_lock(&shared);
            pthread_barrier_wait(&together);
            struct timespec hold = {0, 20000000};
            nanosleep(&hold, NULL);
        } else {
            if (j == 0)
                pthread_barrier_wait(&together);
            pthread_mutex_lock(&shared);
        }
        burn_cpu(1000000);
        pthread_mutex_unlock(&shared);
        cprof_region_end();
        cprof_region_begin("pause");
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        cprof_region_end();
        cprof_region_end();
        cprof_region_end();
        cprof_task_end(task);
    }
    if (!strcmp(name, "gamma"))
        cprof_task_end(pipeline);
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *names[3] = {"alpha", "beta", "gamma"};
    pthread_t t[3];

    if (argc == 4 && !strcmp(argv[2], "-n")) {
        big_n = strtol(argv[3], NULL, 10);
    } else if (argc != 2) {
        fprintf(stderr, "usage: trace_prog TRACE [-n ITERATIONS]\n");
        return 2;
    }
    if (cprof_trace_start(argv[1]) != 0) {
        fprintf(stderr, "trace_prog: %s\n", cprof_strerror());
        return 1;
    }
    pthread_barrier_init(&together, NULL, 3);
    pipeline = cprof_task_begin("pipeline");
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)names[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "trace_prog: %s\n", cprof_strerror());
        return 1;
    }
    return 0;
}
