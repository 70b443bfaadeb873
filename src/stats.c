/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * stats.c - storage and names for libcprof's self-counters (stats.h).
 */
#include "stats.h"

_Atomic uint64_t cp_stats[CP_STAT__COUNT];

const char *cp_stat_name(enum cp_stat s)
{
    static const char *const names[CP_STAT__COUNT] = {
        [CP_STAT_SIGNALS] = "signals",
        [CP_STAT_SAMPLES] = "samples",
        [CP_STAT_WEIGHT] = "weight",
        [CP_STAT_DROPPED_RING] = "dropped_ring",
        [CP_STAT_DROPPED_TABLE] = "dropped_table",
        [CP_STAT_TRUNCATED] = "truncated",
        [CP_STAT_FOREIGN_SIGNALS] = "foreign_signals",
        [CP_STAT_TIMER_FAILURES] = "timer_failures",
        [CP_STAT_THREADS_ARMED] = "threads_armed",
        [CP_STAT_UNWIND_NO_CFI] = "unwind_no_cfi",
        [CP_STAT_HANDLER_NS] = "handler_ns",
        [CP_STAT_EXIT_COMPENSATED] = "exit_compensated",
    };
    return (unsigned)s < CP_STAT__COUNT && names[s] ? names[s] : "?";
}
