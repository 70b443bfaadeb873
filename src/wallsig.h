/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wallsig.h - what the wall-clock profiler (wall.c) needs on the profiled
 * program's own threads: the slot each followed thread publishes into, the
 * blocking-call hooks that publish (sync.h), and the signal that makes a
 * running thread unwind itself, in user mode only.
 *
 * A slot belongs to one thread (tid), claimed for it by the sampler. Two
 * parts, each with one writer:
 *   - the publication, written by the thread in on_enter/on_leave of an
 *     interposed call: a sequence number, odd while the thread is inside a
 *     call, with the caller's frame (return address, stack and frame
 *     pointers), the call's name, the CPU and the thread's labels. The
 *     sampler reads it as a seqlock and unwinds the caller's frames from a
 *     copy of the stack, which stays as it is while the call lasts;
 *   - the answer, written by the signal handler on the thread: the stack
 *     of the user code it interrupted, and its CPU and labels.
 *
 * The trigger is a perf_event on the thread's task clock that counts user
 * mode only (exclude_kernel) and fires once after 10 us of it, or where
 * perf_event_open is refused, a one-shot POSIX timer on the thread's CPU
 * clock (the kernel sends its signal from task work on the way back to
 * user mode: CONFIG_POSIX_CPU_TIMERS_TASK_WORK, x86 since Linux 5.11).
 * Either way the signal is generated while the thread runs user code or is
 * about to, and never interrupts a system call.
 * Design: docs/internals/wall.md.
 */
#ifndef CP_WALLSIG_H
#define CP_WALLSIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cp_limits.h"
#include "sync.h"

enum { CP_WSLOT_FREE = 0, CP_WSLOT_ARMED = 1, CP_WSLOT_BUSY = 2,
       CP_WSLOT_DONE = 3 };

struct cp_wall_slot {
    /* the owner: set by the sampler (claim/release), read by everyone */
    _Atomic int tid;
    /* publication: written by the owner thread only */
    _Atomic uint32_t seq;   /* odd while inside an interposed call */
    _Atomic uint32_t depth; /* nesting (a signal handler's calls) */
    _Atomic uintptr_t pc, sp, fp; /* caller's frame at the call */
    _Atomic(const char *) call;   /* "nanosleep", static */
    _Atomic int kind;             /* enum cp_sync_kind */
    _Atomic int cpu;
    _Atomic uint32_t labels;
    /* answer: written by the handler on the owner thread */
    _Atomic int state; /* CP_WSLOT_* */
    _Atomic int perf_fd; /* the trigger's descriptor, -1 if a timer */
    int n, truncated, acpu;
    uint32_t alabels;
    uint32_t aseq; /* seq when the handler ran: a call between the arm
                      and the answer makes the answer stale */
    int64_t ans_ns; /* CLOCK_MONOTONIC when the handler ran */
    uintptr_t pcs[CP_MAX_STACK_DEPTH];
};

/* A consistent read of a slot's publication (cp_wallsig_read). */
struct cp_wall_pub {
    uint32_t seq;
    uintptr_t pc, sp, fp;
    const char *call;
    int kind, cpu;
    uint32_t labels;
};

/*
 * Map the slots, choose and install the signal (once for the process;
 * the handler stays so a late signal never meets the default action).
 * 0 or -errno. Async-signal-safe: no. Not thread-safe (wall.c's lock).
 */
int cp_wallsig_init(void);
int cp_wallsig_signal(void);

/* Slot i, or NULL. */
struct cp_wall_slot *cp_wallsig_slot(int i);

/*
 * tid's slot: the one it has (a thread claims its own in its first hook),
 * else a free one, its publication reset; or -ENOSPC. Release slot i.
 * cp_wallsig_owner: the tid owning slot i (0: free); cp_wallsig_count:
 * slots ever used (scan [0, count)). Sampler thread only.
 */
int cp_wallsig_claim(int tid);
void cp_wallsig_release(int i);
int cp_wallsig_owner(int i);
int cp_wallsig_count(void);

/*
 * Read slot i's publication: true when the owner is inside an interposed
 * call (a stable odd sequence number), with *out filled.
 * Async-signal-safe: yes.
 */
bool cp_wallsig_read(int i, struct cp_wall_pub *out);
/* Whether slot i's sequence number is still seq (the call goes on). */
bool cp_wallsig_same(int i, uint32_t seq);

/* The sync.h hooks (on_enter, on_leave) the sampler subscribes with. */
extern const struct cp_sync_hooks cp_wallsig_hooks;

/*
 * Triggers. A trigger belongs to one slot and fires at most once per arm.
 *   cp_wallsig_perf_open: a disabled user-mode perf_event for tid, its
 *     signal sent to tid; the descriptor or -errno.
 *   cp_wallsig_timer_open: a timer on tid's CPU clock tagged with slot i.
 *   cp_wallsig_arm: mark slot i armed and fire once (perf fd >= 0, else
 *     timer). 0 or -errno (the slot is left free).
 *   cp_wallsig_disarm: no answer starts after this returns, and one being
 *     written has finished; returns true if the slot holds an answer (its
 *     state DONE), false if it is free again.
 * Async-signal-safe: no. Sampler thread only.
 */
int cp_wallsig_perf_open(int tid);
int cp_wallsig_timer_open(int i, int tid, timer_t *out);
int cp_wallsig_arm(int i, int perf_fd, timer_t timer);
bool cp_wallsig_disarm(int i, int perf_fd, timer_t timer);

/* Counters for tests: answers written, signals that found no armed slot. */
struct cp_wallsig_stats {
    uint64_t answers, stray, published;
};
void cp_wallsig_stats(struct cp_wallsig_stats *out);

/* Forked child: every slot is released (no thread of the parent but the
 * caller exists, and the sampler restarts from nothing). */
void cp_wallsig_atfork_child(void);

#endif /* CP_WALLSIG_H */
