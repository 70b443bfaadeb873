/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_regions.c - the tracer's main check: three named threads run
 * tasks with nested regions and logs, and measure every region with their
 * own clock; check_trace.py compares the trace's JSON and Perfetto exports
 * with what they measured.
 *
 *     trace_regions TRACE EXPECT
 *
 * EXPECT gets one JSON object per line: {"thread", "name", "depth",
 * "parent", "dur_ns"} per region in the order each thread ended them,
 * {"log": ...} per log, {"task": id, "thread"} per task, and the id of
 * the task that main begins and worker-a ends. Regions spin (CPU) or
 * sleep (a blocking call inside a region), 2 to 12 ms: at 1%, a
 * preemption between the program's clock read and the call it measures
 * around must stay under 20 us.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"

static FILE *expect;
static pthread_mutex_t expect_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cross_task;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile uint64_t sink;

__attribute__((noinline)) static void spin_ns(int64_t ns)
{
    int64_t end = now_ns() + ns;
    uint64_t x = 1;
    while (now_ns() < end) {
        for (int i = 0; i < 200; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    sink += x;
}

struct frame {
    const char *name;
    int64_t t0;
};

struct ctx {
    const char *thread;
    struct frame stack[8];
    int depth;
};

static void begin(struct ctx *c, const char *name)
{
    c->stack[c->depth].name = name;
    c->stack[c->depth].t0 = now_ns();
    c->depth++;
    cprof_region_begin(name);
}

static void end(struct ctx *c)
{
    cprof_region_end();
    int64_t t1 = now_ns();
    struct frame f = c->stack[--c->depth];
    pthread_mutex_lock(&expect_lock);
    fprintf(expect,
            "{\"thread\":\"%s\",\"name\":\"%s\",\"depth\":%d,"
            "\"parent\":\"%s\",\"dur_ns\":%" PRId64 "}\n",
            c->thread, f.name, c->depth,
            c->depth ? c->stack[c->depth - 1].name : "", t1 - f.t0);
    pthread_mutex_unlock(&expect_lock);
}

static void log_line(struct ctx *c, const char *cat, const char *msg)
{
    cprof_log(cat, msg);
    pthread_mutex_lock(&expect_lock);
    fprintf(expect, "{\"log\":\"%s\",\"category\":\"%s\",\"thread\":\"%s\"}\n",
            msg, cat, c->thread);
    pthread_mutex_unlock(&expect_lock);
}

static void *worker(void *arg)
{
    struct ctx c = {.thread = arg};
    char msg[64];
    pthread_setname_np(pthread_self(), c.thread);
    for (int i = 0; i < 4; i++) {
        uint64_t task = cprof_task_begin("request");
        pthread_mutex_lock(&expect_lock);
        fprintf(expect, "{\"task\":%" PRIu64 ",\"thread\":\"%s\"}\n", task,
                c.thread);
        pthread_mutex_unlock(&expect_lock);
        begin(&c, "handle");
        begin(&c, "parse");
        spin_ns(2000000 + 500000 * i);
        end(&c);
        snprintf(msg, sizeof msg, "parsed request %d of %s", i, c.thread);
        log_line(&c, "status", msg);
        begin(&c, "compute");
        begin(&c, "inner");
        spin_ns(3000000);
        end(&c);
        begin(&c, "wait");
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        end(&c);
        end(&c);
        end(&c);
        cprof_task_end(task);
        if (i == 1 && !strcmp(c.thread, "worker-a"))
            cprof_task_end(cross_task);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *names[3] = {"worker-a", "worker-b", "worker-c"};
    pthread_t t[3];

    if (argc != 3) {
        fprintf(stderr, "usage: trace_regions TRACE EXPECT\n");
        return 2;
    }
    expect = fopen(argv[2], "w");
    if (!expect || cprof_trace_start(argv[1]) != 0) {
        fprintf(stderr, "trace_regions: %s\n", cprof_strerror());
        return 1;
    }
    cross_task = cprof_task_begin("batch");
    fprintf(expect, "{\"cross_task\":%" PRIu64 "}\n", cross_task);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)names[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "trace_regions: %s\n", cprof_strerror());
        return 1;
    }
    fclose(expect);
    return 0;
}
