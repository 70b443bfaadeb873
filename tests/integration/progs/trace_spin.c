/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_spin.c - annotates forever without tracing by itself: regions of
 * ~50 us and a log per 100, until killed. The endpoint test traces it
 * through /debug/pprof/trace?seconds=1 (CPROF_HTTP).
 */
#include <time.h>

#include "cprof.h"

static volatile unsigned long sink;

int main(void)
{
    for (unsigned long i = 0;; i++) {
        struct timespec t0, t;
        cprof_region_begin("spin");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
            for (int k = 0; k < 100; k++)
                sink += k;
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000000000L +
                     (t.tv_nsec - t0.tv_nsec) < 50000);
        cprof_region_end();
        if (i % 100 == 0)
            cprof_log("spin", "hundred");
    }
}
