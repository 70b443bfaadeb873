/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_threads.c - work spread over threads, for the per-thread accuracy
 * checks:
 *   equal SECONDS  two threads (thread_equal) each do the same work, about
 *                  SECONDS of CPU each, at the same time;
 *   split SECONDS  serial_work does 2*SECONDS of work on the main thread,
 *                  then split_work does the same work halved over two
 *                  threads at once.
 * Every worker writes its tid and CPU time to $CPT_OUT; the program writes
 * its rusage at the end, so check_cpu.py can also compare the profile's
 * total with the CPU time the process used.
 */
#include <pthread.h>

#include "cpu_common.h"

static uint64_t per_ms;

CPT_NOINLINE uint64_t equal_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

CPT_NOINLINE uint64_t serial_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

CPT_NOINLINE uint64_t split_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

struct job {
    const char *name;
    uint64_t (*fn)(uint64_t, uint64_t);
    uint64_t iters;
    int tid;
    int64_t cpu_ns;
    uint64_t x;
};

/* Work in slices of ~1 ms so nothing depends on one long loop. */
static void *worker(void *p)
{
    struct job *j = p;
    uint64_t x = (uint64_t)(uintptr_t)p;
    uint64_t slice = per_ms ? per_ms : 1000000;
    int64_t t0 = cpt_thread_cpu_ns();

    for (uint64_t done = 0; done < j->iters; done += slice)
        x = j->fn(slice, x);
    j->cpu_ns = cpt_thread_cpu_ns() - t0;
    j->tid = cpt_gettid();
    j->x = x;
    return NULL;
}

static void run_pair(struct job *a, struct job *b)
{
    pthread_t ta, tb;
    if (pthread_create(&ta, NULL, worker, a) ||
        pthread_create(&tb, NULL, worker, b))
        cpt_die("pthread_create");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

static void report(const char *key, const struct job *j)
{
    char k[64];
    snprintf(k, sizeof k, "%s_tid", key);
    cpt_out(k, "%d", j->tid);
    snprintf(k, sizeof k, "%s_cpu_ns", key);
    cpt_out(k, "%lld", (long long)j->cpu_ns);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "equal";
    double secs = argc > 2 ? atof(argv[2]) : 1;
    uint64_t iters;

    per_ms = cpt_calibrate();
    iters = (uint64_t)(secs * 1000 * (double)per_ms);
    if (!strcmp(mode, "equal")) {
        struct job a = {"t1", equal_work, iters}, b = {"t2", equal_work, iters};
        run_pair(&a, &b);
        report("t1", &a);
        report("t2", &b);
    } else if (!strcmp(mode, "split")) {
        struct job s = {"serial", serial_work, 2 * iters};
        struct job a = {"split1", split_work, iters};
        struct job b = {"split2", split_work, iters};
        worker(&s);
        report("serial", &s);
        run_pair(&a, &b);
        report("split1", &a);
        report("split2", &b);
    } else {
        cpt_die("unknown mode %s", mode);
    }
    cpt_out_rusage();
    return 0;
}
