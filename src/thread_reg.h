/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread_reg.h - the thread registry: every thread of the host process
 * that cprof knows about, how it was created, its name, stack bounds and
 * sampling timer; the pthread_create interposer that registers new threads
 * and the exit hook that releases them; per-thread state (cp_tls) that the
 * signal handler and the malloc interposer read without locks.
 *
 * Lock order: cp_reg_lock is taken before cp_modules_lock and before the
 * CPU profile's session lock is never held while taking it (see
 * docs/architecture.md). Never taken in signal context.
 */
#ifndef CP_THREAD_REG_H
#define CP_THREAD_REG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cp_assert.h"
#include "cp_limits.h"

struct cp_tbuf;

#define CP_CREATE_DEPTH 32

struct cp_thread {
    /* set at registration, then immutable */
    int tid;
    pthread_t pthread;
    bool has_pthread;
    bool external; /* found in /proc/self/task, not created through us */
    uintptr_t stack_lo, stack_hi;
    int creator_tid;
    void *start_routine;
    uintptr_t create_pcs[CP_CREATE_DEPTH]; /* where pthread_create was called */
    int n_create_pcs;
    int64_t start_ns;

    /* guarded by cp_reg_lock */
    char name[CP_THREAD_NAME_LEN];
    struct cp_thread *next, *prev;

    /* owned by the sampler, guarded by cp_reg_lock */
    bool armed;
    bool has_timer;
    timer_t timer;
    int perf_fd;           /* -1 when none */
    int64_t arm_cpu_ns;    /* the thread's CPU clock when its timer armed */
    int64_t first_ns;      /* first expiry, relative to arm_cpu_ns */
    /* written only by this thread's sampling handler */
    uint64_t cpu_delivered; /* periods its signals stood for */
};

/*
 * Per-thread state read in signal context and in malloc. Kept small: it is
 * initial-exec TLS, which a dlopen'ed libcprof takes from the loader's
 * limited static TLS surplus.
 */
struct cp_tls {
    struct cp_thread *self; /* NULL for threads cprof did not create */
    uintptr_t stack_lo, stack_hi; /* 0 until known */
    int tid;                      /* gettid(), 0 until known: a syscall
                                   * costs ~200 ns here, per sample */
    uint32_t labels;              /* cprof_label_set set id, 0 = none */
    uint32_t in_cprof;            /* reentrancy depth of cprof code */
    uint32_t internal;            /* 1 in cprof's own threads (never
                                   * registered, adopted or sampled) */
    /* heap sampler state lives here too (heap.c) */
    uint64_t heap_bytes_until_sample; /* bytes before the next sample */
    uint64_t rng;
    uint32_t heap_epoch; /* rate epoch the countdown was drawn for */
    struct cp_tbuf *trace; /* the tracer's ring (trace.c), NULL until
                            * the thread's first event */
};

extern CP_TLS struct cp_tls cp_tls;

/* Registry lock, for modules that walk the list (sampler, endpoint). */
extern pthread_mutex_t cp_reg_lock;
/* First registered thread; walk with ->next under cp_reg_lock. */
extern struct cp_thread *cp_reg_head;

/*
 * Register the calling thread if it is not yet (the main thread at load
 * time, threads cprof meets first in an API call). Fills cp_tls.
 * Async-signal-safe: no.
 */
struct cp_thread *cp_thread_self(void);

/*
 * Register every thread in /proc/self/task that is not registered yet (as
 * external), under cp_reg_lock which the caller holds.
 */
void cp_reg_adopt_all_locked(void);

/* Name of thread tid into name (CP_THREAD_NAME_LEN): the registry's, else
 * /proc/self/task/TID/comm, else the last name it had before it exited.
 * Returns 0 or -ENOENT. Async-signal-safe: no. Takes cp_reg_lock. */
int cp_reg_thread_name(int tid, char *name);
/* Same, with cp_reg_lock held. */
int cp_reg_thread_name_locked(int tid, char *name);

/* The real pthread_create, for cprof's own threads (which are never
 * registered nor sampled). Their signal mask blocks every signal.
 * "Internal" is inherited: a thread that an internal thread creates with
 * pthread_create (libmicrohttpd's connection threads) is internal too. */
int cp_internal_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Join one of cprof's own threads: the wait is cprof's, not the calling
 * program's (the tracer and the block profile do not record it). */
void cp_join_internal(pthread_t t);

/* Whether tid is one of cprof's own running threads (so the threads
 * profile and cp_reg_adopt_all_locked leave it out). Lock-free; a thread
 * beyond CP_MAX_INTERNAL_THREADS still runs internal but is not listed.
 * Async-signal-safe: yes. */
bool cp_reg_is_internal(int tid);

/* Hooks the sampler installs: called under cp_reg_lock when a thread
 * registers / unregisters. */
extern void (*cp_reg_on_register)(struct cp_thread *t);
extern void (*cp_reg_on_unregister)(struct cp_thread *t);

/* More such hooks, for other modules (the tracer): called after the
 * sampler's, in the order added, under cp_reg_lock; on register, on the
 * new thread itself unless t->external. Never removed. 0 or -ENOSPC. */
#define CP_REG_MAX_HOOKS 4
int cp_reg_add_hooks(void (*on_register)(struct cp_thread *t),
                     void (*on_unregister)(struct cp_thread *t));

/* Fork: take the lock before, release after; in the child, drop every
 * thread but the caller. */
void cp_reg_atfork_prepare(void);
void cp_reg_atfork_parent(void);
void cp_reg_atfork_child(void);

/* Called once from init.c. */
void cp_reg_init(void);

#endif /* CP_THREAD_REG_H */
