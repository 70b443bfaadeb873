/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - the cheap timestamp of the tracer and of the blocking-call
 * interposers (sync.c): the TSC where the kernel says it is constant and
 * keeps running in deep idle (/proc/cpuinfo flags constant_tsc and
 * nonstop_tsc) and the kernel itself trusts it (clocksource "tsc"), else
 * CLOCK_MONOTONIC. rdtsc costs ~12 ns here against ~28-60 ns for the vDSO
 * clock_gettime, and two of them are most of a traced region.
 *
 * Ticks are only comparable within one process. They become nanoseconds
 * of CLOCK_MONOTONIC through a calibration (cp_clock_ticks_to_ns) that is
 * refined while the process runs; the trace file instead records pairs of
 * (ticks, monotonic ns) and the reader interpolates between them.
 */
#ifndef CP_CLOCK_H
#define CP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "sigsafe.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CP_CLOCK_HAVE_TSC 1
#else
#define CP_CLOCK_HAVE_TSC 0
#endif

/* Set once by cp_clock_init: 1 when ticks are TSC ticks, 0 when they are
 * CLOCK_MONOTONIC nanoseconds. */
extern int cp_clock_tsc;

/*
 * Now, in ticks. Async-signal-safe: yes. Thread-safe: yes. Before
 * cp_clock_init it returns monotonic nanoseconds.
 */
static inline uint64_t cp_clock_ticks(void)
{
#if CP_CLOCK_HAVE_TSC
    if (__builtin_expect(cp_clock_tsc, 1))
        return __rdtsc();
#endif
    return (uint64_t)cp_now_ns();
}

/*
 * Decide the clock and calibrate it (a few ms the first time). Idempotent.
 * Async-signal-safe: no. Thread-safe: yes.
 */
void cp_clock_init(void);

/* Ticks per second (exactly 1e9 for the monotonic clock). */
double cp_clock_hz(void);

/* A tick count (a duration) in nanoseconds, with the current calibration.
 * Async-signal-safe: yes. */
int64_t cp_clock_ticks_to_ns(uint64_t ticks);

/* Monotonic ns for a tick timestamp. Async-signal-safe: yes. */
int64_t cp_clock_ns(uint64_t ticks);

/*
 * Refine the calibration from a long baseline (the trace writer calls it
 * every second): stores the pair (ticks, monotonic ns) taken now in *ticks
 * and *mono_ns, and *real_ns (CLOCK_REALTIME). Thread-safe: yes.
 */
void cp_clock_sync(uint64_t *ticks, int64_t *mono_ns, int64_t *real_ns);

/* One sentence on the clock, for trace metadata and docs. */
const char *cp_clock_describe(void);

#endif /* CP_CLOCK_H */
