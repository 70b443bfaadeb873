/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapsig.h - the snapshot signal (snapsig.c): how a thread that runs user
 * code is made to unwind its own stack into a slot, for snapshot.c only.
 *
 * The signal is raised by a one-shot perf_event that counts the thread's
 * CPU time but overflows only in user mode (exclude_kernel), so it is
 * delivered on the way back to user code and never lands in a blocking
 * system call. Where perf_event is not allowed (perf_event_paranoid 3,
 * Debian's default), a one-shot timer on the thread's CPU clock is used: it
 * fires on a tick while the thread runs, which is user code or a system
 * call on its way (documented risk: docs/internals/endpoint.md).
 */
#ifndef CP_SNAPSIG_H
#define CP_SNAPSIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cp_limits.h"

enum { CP_SLOT_FREE = 0, CP_SLOT_ARMED = 1, CP_SLOT_BUSY = 2,
       CP_SLOT_DONE = 3 };

struct cp_snapsig_slot {
    /* written by the handler on thread tid, read by the snapshot taker */
    _Atomic int state;
    int n, truncated;
    uintptr_t pcs[CP_MAX_STACK_DEPTH];
    /* set by the taker before arming, read by the handler */
    _Atomic int tid;
    _Atomic int fd; /* perf event, -1 if none */
    /* taker only */
    bool has_timer;
    timer_t timer;
};

/* Choose the signal and install the handler (once; it stays installed so
 * a late signal never meets the default action). 0 or -errno.
 * Async-signal-safe: no. Call with the snapshot lock held. */
int cp_snapsig_init(void);
int cp_snapsig_signal(void);

/* Slot i (0 <= i < CP_SNAP_MAX_SIGNALLED); storage from cp_snapsig_init. */
struct cp_snapsig_slot *cp_snapsig_slot(int i);

/* Make thread tid answer into slot i: 1 (perf_event), 2 (CPU timer) or a
 * negative errno. Async-signal-safe: no. */
int cp_snapsig_arm(int i, int tid);
/* Stop slot i's trigger: no answer can start after this returns, and one
 * in progress has finished (a late signal is ignored). The slot's n/pcs
 * are then final; cp_snapsig_release frees it. */
void cp_snapsig_disarm(int i);
void cp_snapsig_release(int i);

/* Wait until `want` answers have arrived since the counter was reset, or
 * until deadline_ns (CLOCK_MONOTONIC). Returns the number arrived. */
void cp_snapsig_reset_answers(void);
extern _Atomic uint32_t cp_snapsig_answers; /* answers so far */
int cp_snapsig_wait(int want, int64_t deadline_ns);

#endif /* CP_SNAPSIG_H */
