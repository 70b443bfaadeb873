/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h - libcprof's own counters: what the sampler did, what it lost
 * (gperftools ProfileHandlerState, Go's lostProfileEvent). Tests read them
 * to prove that ticks arrived and nothing was dropped; profiles report the
 * losses in their comments.
 *
 * Async-signal-safe: yes (relaxed atomics). Thread-safe: yes.
 */
#ifndef CP_STATS_H
#define CP_STATS_H

#include <stdatomic.h>
#include <stdint.h>

enum cp_stat {
    CP_STAT_SIGNALS,          /* sampling signals handled */
    CP_STAT_SAMPLES,          /* samples stored in the ring */
    CP_STAT_WEIGHT,           /* samples including timer overruns */
    CP_STAT_DROPPED_RING,     /* samples lost: ring full */
    CP_STAT_DROPPED_TABLE,    /* samples lost: aggregation table full */
    CP_STAT_TRUNCATED,        /* stacks cut at CP_MAX_STACK_DEPTH */
    CP_STAT_FOREIGN_SIGNALS,  /* our signal number, not from our timers */
    CP_STAT_TIMER_FAILURES,   /* timer_create / perf_event_open failures */
    CP_STAT_THREADS_ARMED,    /* per-thread timers created */
    CP_STAT_UNWIND_NO_CFI,    /* frames unwound by frame pointer fallback */
    CP_STAT_HANDLER_NS,       /* total ns spent in the handler */
    CP_STAT_EXIT_COMPENSATED, /* periods credited at thread exit */
    CP_STAT__COUNT
};

extern _Atomic uint64_t cp_stats[CP_STAT__COUNT];

static inline void cp_stat_add(enum cp_stat s, uint64_t n)
{
    atomic_fetch_add_explicit(&cp_stats[s], n, memory_order_relaxed);
}

static inline uint64_t cp_stat_get(enum cp_stat s)
{
    return atomic_load_explicit(&cp_stats[s], memory_order_relaxed);
}

/* Name of a counter, for the stats dump (CPROF_DEBUG_STATS=1 at exit). */
const char *cp_stat_name(enum cp_stat s);

#endif /* CP_STATS_H */
