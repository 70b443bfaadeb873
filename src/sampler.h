/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampler.h - CPU sampling: one CPU-time timer per thread, delivering
 * cprof's own signal to that thread, and the signal handler that unwinds
 * the interrupted stack into the sample ring.
 *
 * Two sources (docs/internals/sampling.md):
 *   - POSIX timers on each thread's CPU clock (CLOCK_THREAD_CPUTIME_ID,
 *     SIGEV_THREAD_ID), as Go since 1.18. They fire on kernel ticks only,
 *     so above the tick rate a signal stands for several periods: its
 *     overrun count weights the sample and totals stay right.
 *   - perf_event task-clock per thread (exclude_kernel), for rates above
 *     the tick where the kernel allows it: real sampling at the asked rate,
 *     of user CPU time only (sampling kernel time would interrupt blocking
 *     system calls with EINTR).
 * Never SIGPROF: the program may use it.
 */
#ifndef CP_SAMPLER_H
#define CP_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sampbuf.h"

enum cp_sample_source {
    CP_SOURCE_NONE = 0,
    CP_SOURCE_TIMER = 1,
    CP_SOURCE_PERF = 2
};

/* The ring the handler fills (initialized by cp_sampler_start). */
extern struct cp_sampbuf cp_cpu_ring;

/*
 * Choose the signal (CPROF_SIGNAL's value, or 0 to pick a free real-time
 * one). Call before the first start. 0 or -EINVAL.
 */
int cp_sampler_set_signal(int signo);
int cp_sampler_signal(void);

/*
 * Start sampling every known thread (and threads registered later) at hz.
 * Returns 0 or -errno. Async-signal-safe: no. Not thread-safe: the CPU
 * profile (cpu.c) serializes calls.
 */
int cp_sampler_start(int hz);

/* Disarm every timer and wait until no handler is running. */
void cp_sampler_stop(void);

bool cp_sampler_running(void);
enum cp_sample_source cp_sampler_source(void);
/* Sampling period in nanoseconds of CPU time. */
int64_t cp_sampler_period_ns(void);
/* Kernel tick rate (from CLOCK_MONOTONIC_COARSE's resolution). */
int cp_sampler_tick_hz(void);
/* One sentence on the source, for the profile's comments. */
const char *cp_sampler_describe(void);

/*
 * Before execve: stop the calling thread's timer and consume any pending
 * sampling signal, so the new image (which has no handler) cannot be
 * killed by one. Returns true if sampling was running (call
 * cp_sampler_after_exec_failed if exec returns).
 * Async-signal-safe: yes (a vfork child may call it).
 */
bool cp_sampler_before_exec(void);
void cp_sampler_after_exec_failed(void);

/* Forked child: close inherited perf fds, forget timers. */
void cp_sampler_atfork_child(void);

/* A perf task-clock event counting tid's user CPU time, disabled, that
 * sends signo to tid itself at each overflow of period_ns (armed with
 * PERF_EVENT_IOC_REFRESH): the CPU sampler's, the thread dump's and the
 * wall-clock sampler's user-mode-only trigger. The fd or -errno. */
int cp_perf_signal_open(int tid, uint64_t period_ns, int signo);

/*
 * For the handlers of cprof's signals (CPU sampler, thread dump,
 * wall-clock sampler): the top of the stack sp is on, for cp_unwind. The
 * calling thread's registered stack when sp is on it, else the region
 * found from the maps (a thread cprof did not create: cached in cp_tls;
 * a signal stack, a coroutine). 0 if unknown.
 * Async-signal-safe: yes (signal context only: uses the caller's cp_tls).
 */
uintptr_t cp_handler_stack_hi(uintptr_t sp);

/* Whether sig has its default disposition (no handler, not ignored): free
 * for cprof to take. Async-signal-safe: yes. */
bool cp_signal_is_default(int sig);

/*
 * Install handler for sig (SA_SIGINFO | SA_RESTART), blocking every other
 * signal while it runs if block_all, none otherwise. 0 or -errno.
 * Async-signal-safe: yes (sigaction), but meant for setup.
 */
int cp_signal_install(int sig, void (*handler)(int, siginfo_t *, void *),
                      bool block_all);

/* Wake the drain thread early (set by cpu.c). */
extern void (*cp_sampler_wake)(void);

#endif /* CP_SAMPLER_H */
