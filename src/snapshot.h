/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - the stacks of every thread of the process at one moment,
 * taken without changing what the threads do: the threads profile
 * (/debug/pprof/goroutine), and the building block of wall-clock
 * profiling.
 *
 * A thread blocked in a system call is never signalled (a signal makes
 * nanosleep, poll, epoll_wait, select, sem_wait... return EINTR even under
 * SA_RESTART): its user-space SP and PC come from
 * /proc/self/task/TID/syscall, its stack is copied with process_vm_readv
 * (which cannot fault), unwound from the copy, and the syscall file is read
 * again to check the thread did not move meanwhile. Only a thread running
 * user code is interrupted, and only while it is in user mode: a one-shot
 * perf_event on its user CPU time (exclude_kernel) raises cprof's snapshot
 * signal, whose handler unwinds in place into a slot of the request.
 * Design: docs/internals/endpoint.md.
 */
#ifndef CP_SNAPSHOT_H
#define CP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_limits.h"

/* How a thread's stack was obtained. */
enum cp_snap_how {
    CP_SNAP_NONE = 0,    /* no stack: see the flags */
    CP_SNAP_SYSCALL = 1, /* from /proc (blocked), unwound from a copy */
    CP_SNAP_SIGNAL = 2,  /* running: unwound in place by the handler */
    CP_SNAP_SELF = 3     /* the calling thread itself */
};

/* Why a thread has no (or only a partial) stack. */
enum {
    CP_SNAP_F_NO_ANSWER = 1,   /* running, did not answer in time */
    CP_SNAP_F_MOVED = 2,       /* kept moving while being read */
    CP_SNAP_F_SIG_BLOCKED = 4, /* running with the snapshot signal blocked */
    CP_SNAP_F_UNREADABLE = 8   /* /proc or its stack could not be read */
};

struct cp_snap_thread {
    int tid;
    char name[CP_THREAD_NAME_LEN];
    char state;     /* from /proc/.../stat: R S D T t Z I X */
    int cpu;        /* CPU it last ran on */
    int syscall_nr; /* blocked in this system call; -1 if none */
    enum cp_snap_how how;
    unsigned flags;
    int truncated;
    int n;
    uintptr_t *pcs; /* leaf first; n entries, in the snapshot's storage */
    const uintptr_t *create_pcs; /* where pthread_create was called */
    int n_create_pcs;
    uintptr_t stack_lo, stack_hi; /* from the registry; 0 if unknown */
};

struct cp_snapshot {
    int n;
    struct cp_snap_thread *threads; /* sorted by tid */
    int64_t time_ns;                /* CLOCK_REALTIME at the start */
    int64_t took_ns;                /* how long taking it took */
    int signalled;                  /* threads interrupted in user mode */
    /* private */
    uintptr_t *pc_store;
    uintptr_t *create_store;
};

/* What to take. */
enum {
    CP_SNAP_STACKS = 1,       /* current stacks (else names/states only) */
    CP_SNAP_CREATE_STACKS = 2 /* creation stacks (threadcreate) */
};

/*
 * Take a snapshot of every thread of the process but cprof's own, into
 * out (freed with cp_snapshot_free, also on failure). One snapshot runs
 * at a time; others wait. 0 or -errno (-ENOMEM).
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_snapshot_take(unsigned what, struct cp_snapshot *out);
void cp_snapshot_free(struct cp_snapshot *s);

/* Number of threads of the process but cprof's own (the index count).
 * Async-signal-safe: no. */
int cp_snapshot_count(void);

/* The name of system call nr ("futex"), or NULL when unknown. */
const char *cp_syscall_name(int nr);

/* A short description of the state ("running", "sleeping in futex"),
 * into buf (at least 48 bytes). */
const char *cp_snap_state(const struct cp_snap_thread *t, char *buf,
                          int len);

/*
 * /proc helpers shared by the snapshot and the wall-clock sampler (wall.c),
 * which read blocked threads the same way. Async-signal-safe: no.
 */

/* /proc/self/task/TID/<what> into buf (NUL-terminated). Length or -errno
 * (-ENOENT once the thread is gone). */
int cp_snap_read_task(int tid, const char *what, char *buf, size_t len);

/* What /proc/self/task/TID/syscall says about a thread. */
enum cp_snap_sc {
    CP_SNAP_SC_GONE,    /* unreadable or unparsable: gone, or moving */
    CP_SNAP_SC_RUNNING, /* "running" */
    CP_SNAP_SC_BLOCKED  /* blocked: *nr (-1 outside a system call), *sp, *pc */
};

/* Parse the text of /proc/.../syscall: "running", "NR a1 .. a6 SP PC"
 * (blocked in system call NR) or "-1 SP PC" (blocked outside a system
 * call: a stop, a page fault). Sets *nr, *sp, *pc only when blocked. */
enum cp_snap_sc cp_snap_parse_syscall(const char *s, int *nr, uintptr_t *sp,
                                      uintptr_t *pc);

/* Whether signal sig is blocked in thread tid right now (SigBlk in its
 * status file); false when unreadable. */
bool cp_snap_sig_blocked_now(int tid, int sig);

/* Counters for tests and the benchmark. */
struct cp_snap_stats {
    uint64_t snapshots, from_proc, signalled, no_answer, moved, retries;
    int trigger; /* 0 none yet, 1 perf_event (user mode), 2 CPU timer */
};
void cp_snapshot_stats(struct cp_snap_stats *out);

/* Forked child: forget the slots (no snapshot is in progress there). */
void cp_snapshot_atfork_child(void);

#endif /* CP_SNAPSHOT_H */
