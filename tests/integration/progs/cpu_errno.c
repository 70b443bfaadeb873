/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_errno.c - errno must be the same after a sample as before it: two
 * threads set errno, spin, and check it, millions of times, while sampled.
 * The number of mismatches goes to $CPT_OUT (must be 0). errno is read
 * through a volatile pointer so the compiler cannot keep it in a register.
 *
 * usage: cpu_errno MILLISECONDS_OF_CPU_PER_THREAD
 */
#include <errno.h>
#include <pthread.h>

#include "cpu_common.h"

static int64_t want;

CPT_NOINLINE long errno_loop(void)
{
    volatile int *ep = &errno;
    long bad = 0;
    uint64_t x = 1;
    int64_t t0 = cpt_thread_cpu_ns();
    int v = 1;

    while (cpt_thread_cpu_ns() - t0 < want) {
        for (int k = 0; k < 1000; k++) {
            v = v % 4000 + 1;
            *ep = v;
            CPT_SPIN(x, 64);
            if (*ep != v)
                bad++;
        }
    }
    __asm__ volatile("" ::"r"(x));
    return bad;
}

static void *thread_main(void *arg)
{
    *(long *)arg = errno_loop();
    return NULL;
}

int main(int argc, char **argv)
{
    long bad_main, bad_thread = 0;
    pthread_t t;

    want = (argc > 1 ? atoll(argv[1]) : 1000) * 1000000LL;
    if (pthread_create(&t, NULL, thread_main, &bad_thread))
        cpt_die("pthread_create");
    bad_main = errno_loop();
    pthread_join(t, NULL);
    cpt_out("errno_mismatches", "%ld", bad_main + bad_thread);
    cpt_out_rusage();
    return 0;
}
