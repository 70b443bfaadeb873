/* SPDX-License-Identifier: Apache-2.0 */
/*
 * contention.h - the block and mutex profiles, as Go defines them, from the
 * pthread waits the blocking-call interposers report (sync.h):
 *
 *   - block: the waiter's stack and how long it waited, for waits in
 *     pthread mutexes, rwlocks, condition variables, semaphores and joins
 *     (not sleeps nor I/O, as Go's leaves out time.Sleep and network
 *     waits). Sampled like runtime.SetBlockProfileRate(rate): a wait of
 *     at least rate ns is always recorded, a shorter one with probability
 *     ns/rate and then counted as rate/ns events of rate ns (Go's
 *     saveblockevent, golang.org/cl/299991).
 *   - mutex: the stack of the holder whose unlock ended others' waits, and
 *     the waiting it caused (the time its waiters spent waiting while it
 *     held the lock since the previous such unlock: sync.c's contention
 *     table). Sampled like runtime.SetMutexProfileFraction(n): one unlock
 *     in n on average, counted n times (count n, delay n * delay).
 *
 * Both are off by default (rate 0), cost nothing then (no subscriber), and
 * are cumulative from when they were first switched on, as Go's are.
 * Profiles: sample types contentions/count and delay/nanoseconds, period
 * type contentions/count; legacy text as runtime/pprof's debug=1
 * ("--- contention:" / "--- mutex:", "cycles/second=", "sampling
 * period=", "CYCLES COUNT @ ADDR..." records, "#" frame lines) followed by
 * a "--- Memory map: ---" section so go tool pprof can place addresses.
 */
#ifndef CP_CONTENTION_H
#define CP_CONTENTION_H

#include <stdint.h>

/*
 * Set the rates (the public cprof_block_set_rate and
 * cprof_mutex_set_fraction call these). Block: ns <= 0 off, 1 every wait.
 * Mutex: n == 0 off, n > 0 one unlock in n; n < 0 changes nothing.
 * Returns 0 or -ENOMEM (the table could not be mapped: the profile stays
 * off). Async-signal-safe: no. Thread-safe: yes.
 */
int cp_contention_set_block_rate(int64_t ns);
int cp_contention_set_mutex_fraction(int n);
int64_t cp_contention_block_rate(void);
int cp_contention_mutex_fraction(void);

/* Register the "block" and "mutex" profiles and apply CPROF_BLOCK_RATE and
 * CPROF_MUTEX_FRACTION. Called once from init.c. */
void cp_contention_init_from_env(void);

/* Counters for tests: waits and unlocks seen by the hooks, and recorded. */
struct cp_contention_stats {
    uint64_t block_seen, block_recorded, mutex_seen, mutex_recorded;
    uint64_t dropped; /* records that found no bucket, both profiles */
};
void cp_contention_stats(struct cp_contention_stats *out);

#endif /* CP_CONTENTION_H */
