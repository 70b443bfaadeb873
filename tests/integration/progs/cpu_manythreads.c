/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_manythreads.c - NTHREADS short-lived threads, BATCH at a time, each
 * burning about MS milliseconds of CPU in short_work. Checks that threads
 * started after profiling began are sampled, that exiting threads release
 * their timers (no failures, nothing leaks into later threads), and that
 * the profile still accounts for the CPU these threads used.
 *
 * usage: cpu_manythreads NTHREADS BATCH MS
 */
#include <pthread.h>

#include "cpu_common.h"

static uint64_t per_ms;
static double ms_each;

CPT_NOINLINE uint64_t short_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void *worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "short/%d", (int)(uintptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    x = short_work((uint64_t)(ms_each * (double)per_ms), x);
    return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int batch = argc > 2 ? atoi(argv[2]) : 4;
    pthread_t t[64];

    ms_each = argc > 3 ? atof(argv[3]) : 2;
    if (batch < 1 || batch > 64)
        cpt_die("batch must be 1..64");
    per_ms = cpt_calibrate();
    for (int i = 0; i < n; i += batch) {
        int k = 0;
        for (; k < batch && i + k < n; k++) {
            int rc = pthread_create(&t[k], NULL, worker,
                                    (void *)(uintptr_t)(i + k));
            if (rc)
                cpt_die("pthread_create: %s", strerror(rc));
        }
        for (int j = 0; j < k; j++)
            pthread_join(t[j], NULL);
    }
    cpt_out("threads", "%d", n);
    cpt_out_rusage();
    return 0;
}
