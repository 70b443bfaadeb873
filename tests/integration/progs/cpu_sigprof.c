/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_sigprof.c - a program with its own SIGPROF handler and ITIMER_PROF
 * (as gperftools, or a program's own sampler, would have): cprof must not
 * take SIGPROF from it. The handler counts its ticks; the test expects
 * about one per 10 ms of process CPU time, and a complete cprof profile.
 *
 * usage: cpu_sigprof MILLISECONDS_OF_CPU
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#include "cpu_common.h"

static atomic_long ticks;
static atomic_long wrong_signal;

static void on_prof(int sig)
{
    if (sig == SIGPROF)
        atomic_fetch_add(&ticks, 1);
    else
        atomic_fetch_add(&wrong_signal, 1);
}

CPT_NOINLINE uint64_t sigprof_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

int main(int argc, char **argv)
{
    int64_t want = (argc > 1 ? atoll(argv[1]) : 2000) * 1000000LL;
    struct sigaction sa;
    struct itimerval it = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    uint64_t x = 1, per_ms = cpt_calibrate();
    int64_t t0;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL))
        cpt_die("sigaction");
    if (setitimer(ITIMER_PROF, &it, NULL))
        cpt_die("setitimer");
    t0 = cpt_thread_cpu_ns();
    while (cpt_thread_cpu_ns() - t0 < want)
        x = sigprof_work(per_ms, x);
    setitimer(ITIMER_PROF, &off, NULL);
    cpt_out("ticks", "%ld", atomic_load(&ticks));
    cpt_out("wrong_signal", "%ld", atomic_load(&wrong_signal));
    cpt_out("sink", "%llu", (unsigned long long)(x & 1));
    cpt_out_rusage();
    return 0;
}
