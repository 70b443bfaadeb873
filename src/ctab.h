/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctab.h - the contention profiles' record table: (stack) -> (count,
 * value) buckets, filled from the blocking-call hooks (sync.h), which may
 * run in signal context and on many threads at once, so adding takes no
 * lock and allocates nothing.
 *
 * The buckets live in one mapping made when the profile is first switched
 * on (a few MiB of address space, touched only as buckets are used) and
 * kept for the life of the process: records are cumulative, as Go's block
 * and mutex profiles are. A stack that finds no bucket (the table is full,
 * or its probe run is) is counted in the table's `dropped` totals, which
 * the profile shows as a marker frame.
 */
#ifndef CP_CTAB_H
#define CP_CTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_limits.h"

/* Counts are kept in units of 1/CP_CTAB_ONE: Go's block profile adds
 * fractional counts (rate / cycles) for short sampled waits. */
#define CP_CTAB_ONE 1024

struct cp_ctab_bucket {
    /* claimed once (0 -> hash), then immutable */
    _Atomic uint64_t key;
    /* 1 once n and pcs are written (release) */
    _Atomic int ready;
    int n;
    /* added to by any thread */
    _Atomic uint64_t count; /* CP_CTAB_ONE per event */
    _Atomic uint64_t value; /* nanoseconds */
    uintptr_t pcs[CP_CTAB_DEPTH];
};

struct cp_ctab {
    struct cp_ctab_bucket *_Atomic b; /* NULL until cp_ctab_init */
    size_t n;                         /* buckets, a power of two */
    _Atomic uint64_t used;            /* buckets claimed */
    _Atomic uint64_t dropped_count, dropped_value;
};

/*
 * Map the buckets (n a power of two; once, later calls do nothing).
 * 0 or -ENOMEM. Async-signal-safe: no. Thread-safe: no (the caller
 * serializes; adders may run meanwhile).
 */
int cp_ctab_init(struct cp_ctab *t, size_t n);

/*
 * Add (count, value) to the bucket of stack pcs[0..n) (n is cut to
 * CP_CTAB_DEPTH). Returns the bucket (valid for the life of the process:
 * more can be added to its atomics later), or NULL when the event went to
 * the dropped totals. Async-signal-safe: yes. Thread-safe: yes
 * (lock-free).
 */
struct cp_ctab_bucket *cp_ctab_add(struct cp_ctab *t, const uintptr_t *pcs,
                                   int n, uint64_t count, uint64_t value);

/* One record of a snapshot. */
struct cp_ctab_rec {
    uint64_t count, value; /* count in 1/CP_CTAB_ONE */
    int n;
    const uintptr_t *pcs; /* into the table: stable once ready */
};

/*
 * The records now, duplicates of one stack merged (a bucket being claimed
 * by a thread that a signal interrupted may leave a second bucket for the
 * same stack), sorted by value then stack. *out is malloc'd (free it).
 * Returns the number of records or -ENOMEM.
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_ctab_snapshot(struct cp_ctab *t, struct cp_ctab_rec **out);

#endif /* CP_CTAB_H */
