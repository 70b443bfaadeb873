/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.h - the blocking-call interposers: pthread mutexes, rwlocks,
 * condition variables, joins, semaphores, sleeps and the usual blocking
 * system calls (read, write, poll, accept...), and the hooks through
 * which cprof's features learn that a thread waited: the execution tracer
 * (trace.c) today, the block and mutex profiles and the wall-clock
 * profile (issue 8) by subscribing the same way, never by touching the
 * interposers.
 *
 * Cost. With no subscriber for a kind, an interposer is one relaxed load
 * of cp_sync_active, a branch and a call of the real function. With one,
 * a lock is first tried (pthread_mutex_trylock, sem_trywait,
 * pthread_rwlock_try*lock, pthread_tryjoin_np): an uncontended lock
 * stays a trylock and a branch, and only a call that would block is timed
 * and reported. Condition waits and sleeps always block, so they are
 * always timed; system calls are timed and reported when they took at
 * least the smallest min_ns any subscriber asked for.
 *
 * Which calls are never reported: calls made by cprof's own threads
 * (cp_tls.internal) or inside cprof (cp_tls.in_cprof), and calls glibc
 * makes internally (they do not go through the PLT: sleep() calls
 * nanosleep internally, which is why sleep is interposed on its own;
 * C11 mtx_lock and cnd_wait are not seen at all).
 */
#ifndef CP_SYNC_H
#define CP_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What a thread waited in (the same numbers as the trace format's BLOCK
 * kinds, src/trace/trace_format.h). */
enum cp_sync_kind {
    CP_SYNC_MUTEX = 1,     /* pthread_mutex_lock/timedlock/clocklock */
    CP_SYNC_RWLOCK_RD = 2, /* pthread_rwlock_rdlock/timedrdlock/clockrdlock */
    CP_SYNC_RWLOCK_WR = 3, /* pthread_rwlock_wrlock/timedwrlock/clockwrlock */
    CP_SYNC_COND = 4,      /* pthread_cond_wait/timedwait/clockwait */
    CP_SYNC_SEM = 5,       /* sem_wait/timedwait/clockwait */
    CP_SYNC_JOIN = 6,      /* pthread_join/timedjoin_np/clockjoin_np */
    CP_SYNC_SLEEP = 7,     /* nanosleep, clock_nanosleep, usleep, sleep */
    CP_SYNC_SYSCALL = 8,   /* read, write, poll, accept, ... */
    CP_SYNC__COUNT
};

#define CP_SYNC_BIT(kind) (1u << (kind))
#define CP_SYNC_ALL_WAITS (((1u << CP_SYNC__COUNT) - 1) & ~1u)
/* Not a wait kind: someone wants on_unlock (contention tracking). */
#define CP_SYNC_UNLOCK_BIT (1u << 16)
/* Not a wait kind: someone wants on_enter/on_leave. */
#define CP_SYNC_ENTER_BIT (1u << 17)

/*
 * One call that waited (or, for on_enter, is about to). Filled by the
 * interposer; hooks read it and may call cp_sync_stack on it.
 */
struct cp_sync_wait {
    enum cp_sync_kind kind;
    const char *call;   /* "pthread_mutex_lock", "read"...: static */
    const void *obj;    /* the mutex, rwlock, cond or semaphore; for a
                           join the pthread_t; a system call's fd (cast);
                           NULL for sleeps */
    uint64_t start;     /* cp_clock_ticks() when the wait began (for
                           locks: after the trylock failed) */
    uint64_t end;       /* cp_clock_ticks() when the call returned (0 in
                           on_enter) */
    int ret;            /* the call's result: an errno value for pthread
                           calls, the return value for the others */
    /*
     * The caller's frame at the call: its return address, its stack
     * pointer right after the call returns (the interposer's CFA) and its
     * frame pointer. The caller's frames above sp stay as they are while
     * the call lasts, so another thread may copy them and unwind from
     * (caller - 1, sp, fp) until on_leave (the wall-clock profiler does).
     */
    uintptr_t caller;
    uintptr_t sp, fp;
    /* private to sync.c */
    int n_pcs;          /* -1: not unwound yet */
    uintptr_t pcs[64];
};

/*
 * An unlock that ended others' waits (mutexes and rwlocks only, and only
 * while a subscriber asks for CP_SYNC_UNLOCK_BIT): the mutex profile's
 * event, as Go defines it. delay is the waiting the current waiters did
 * while this holder held the lock since the previous unlock (so repeated
 * unlocks never count the same waiting twice), in ticks.
 */
struct cp_sync_unlock {
    enum cp_sync_kind kind; /* CP_SYNC_MUTEX or CP_SYNC_RWLOCK_WR */
    const char *call;
    const void *obj;
    uint64_t delay;   /* ticks (cp_clock_ticks_to_ns for ns) */
    int waiters;      /* threads waiting at the unlock */
    uint64_t now;     /* ticks */
    /* 0 on entry to the hooks; a hook that wants this unlock's hand-off
     * (on_handoff) leaves a non-zero value here (one subscriber uses it:
     * the mutex profile) */
    uintptr_t token;
    /* private */
    uintptr_t caller;
    int n_pcs;
    uintptr_t pcs[64];
};

/*
 * A subscriber. Any hook may be NULL. The hooks:
 *   - run on the thread that made the call, right after it returned (or
 *     before it starts, for on_enter), with errno already saved (the
 *     interposer restores it after the hooks);
 *   - may run in signal context (a program's handler calling write or
 *     nanosleep): they must be async-signal-safe, and must tolerate
 *     reentry on the same thread (a handler interrupting a hook);
 *   - may run on many threads at once, and for a short while after
 *     cp_sync_unsubscribe returned (a call already past the check): a
 *     subscriber checks its own "on" flag and its state stays valid;
 *   - must not block, and must not call interposed functions expecting
 *     to be reported (calls from inside a hook are not reported).
 * kinds: CP_SYNC_BIT()s of the waits wanted, plus CP_SYNC_UNLOCK_BIT /
 * CP_SYNC_ENTER_BIT. min_ns: system calls shorter than this are not
 * reported to on_wait (other kinds always are); only subscribers with an
 * on_wait hook take part in the smallest min_ns.
 */
struct cp_sync_hooks {
    unsigned kinds;
    int64_t min_ns;
    void (*on_wait)(struct cp_sync_wait *w, void *arg);
    void (*on_unlock)(struct cp_sync_unlock *u, void *arg);
    void (*on_enter)(struct cp_sync_wait *w, void *arg);
    void (*on_leave)(struct cp_sync_wait *w, void *arg);
    /* The waiter that took a lock after an unlock whose hooks left a
     * token: ticks from that unlock until it held the lock (the wake-up,
     * long on a loaded machine), on the waiter's thread. */
    void (*on_handoff)(uintptr_t token, uint64_t ticks, void *arg);
    void *arg;
};

/* Up to this many subscribers at once. */
#define CP_SYNC_MAX_SUBSCRIBERS 4

/*
 * Add / remove a subscriber (kept by pointer until removed). 0, -ENOSPC
 * or -EINVAL. Async-signal-safe: no. Thread-safe: yes.
 */
int cp_sync_subscribe(const struct cp_sync_hooks *h);
void cp_sync_unsubscribe(const struct cp_sync_hooks *h);

/*
 * The stack of the thread that made the call, starting at the caller of
 * the interposed function (leaf first; later frames are return addresses
 * minus one, as cp_unwind gives them). Unwound on first use and shared by
 * every hook of the same call. Returns the number of frames.
 * Async-signal-safe: yes.
 */
int cp_sync_stack(struct cp_sync_wait *w, const uintptr_t **pcs);
int cp_sync_unlock_stack(struct cp_sync_unlock *u, const uintptr_t **pcs);

/* Bits of the kinds someone subscribes to (the interposers' fast path). */
extern _Atomic unsigned cp_sync_active;

/* Resolve the real functions (called from the constructor; also lazily). */
void cp_sync_init(void);

/* Forked child: the subscriber lock may have been held by a thread that
 * does not exist there; make it usable again (subscribers stay). */
void cp_sync_atfork_child(void);

/* Counters for tests: calls that would block (a lock whose trylock
 * failed, every condition wait, sleep and system call), waits reported. */
struct cp_sync_stats {
    uint64_t tried, waited, unlocks_reported;
};
void cp_sync_stats(struct cp_sync_stats *out);

#endif /* CP_SYNC_H */
