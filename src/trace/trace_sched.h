/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_sched.h - per-thread scheduling intervals of a cprof trace: the
 * one place that turns switch records (SCHED_IN / SCHED_OUT), thread
 * start / exit / gone, blocking calls and CPU hints into clean intervals
 * (running, runnable, blocked with the call it waited in) covering each
 * thread's life within the trace, and their totals. Every consumer of
 * scheduling state (cprof trace -summary, the viewer's model, the JSON
 * and Perfetto exports, -pprof=sched) reads it from here, so they agree.
 *
 * The rules (docs/internals/trace.md, "Scheduling intervals"):
 *  - a thread's life runs from its THREAD_START (or from the trace's
 *    start when it has none: it existed before the trace, or its start
 *    was lost) to its THREAD_EXIT / THREAD_GONE (or the trace's end: the
 *    last event of a trace cut short); records outside it are ignored;
 *  - the stretch before a thread's first switch record is inferred from
 *    that record: a SCHED_OUT means it was running, a SCHED_IN that it
 *    was off the CPU (blocked; runnable cannot be told apart);
 *  - threads without switch records (estimated mode) run all their life
 *    except inside interposed blocking calls;
 *  - the reader's events come in file order, not time order (a thread's
 *    switch records and its own events sit in different chunks), so the
 *    tracker keeps each thread's records and sorts them at the end.
 *
 * Untrusted input: any event sequence gives intervals that do not
 * overlap, lie inside the thread's life and sum to it. Never used in
 * signal context. Thread-safe: one tracker per thread.
 */
#ifndef CP_TRACE_SCHED_H
#define CP_TRACE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace_format.h"
#include "trace/trace_read.h"

enum cp_tsched_state {
    CP_TSCHED_RUNNING = 1,  /* on a CPU */
    CP_TSCHED_RUNNABLE = 2, /* preempted, waiting for a CPU */
    CP_TSCHED_BLOCKED = 3,  /* off the CPU by its own doing: waiting,
                               sleeping, in a system call */
};

/* Interval flags */
#define CP_TSCHED_ESTIMATED 1 /* from blocking calls, not switch records */
#define CP_TSCHED_INFERRED 2  /* before the first switch record (or after
                                 lost records): told by the next record */

struct cp_tsched_iv {
    int64_t start, end; /* ns, CLOCK_MONOTONIC of the traced process */
    uint8_t state;      /* enum cp_tsched_state */
    uint8_t reason;     /* BLOCKED: CP_TRK_* of the interposed call the
                           thread was in when it left the CPU, 0 unknown */
    uint8_t flags;      /* CP_TSCHED_* */
    int32_t cpu;        /* RUNNING: the CPU, -1 when unknown */
};

struct cp_tsched_thread {
    int tid;
    bool precise;       /* it has switch records (or said it would) */
    bool started;       /* begin is its THREAD_START, not the trace's */
    bool exited;        /* end is its THREAD_EXIT / THREAD_GONE */
    int64_t begin, end; /* its life within the trace, ns */
    const struct cp_tsched_iv *iv; /* in time order, covering [begin, end)
                                      without overlap (zero-length ones
                                      left out) */
    size_t n_iv;
    /* totals, ns: running + runnable + blocked == end - begin */
    int64_t running, runnable, blocked;
    int64_t blocked_by[CP_TRK__COUNT]; /* blocked time by reason */
    uint64_t switches;  /* switch-ins inside its life */
    uint64_t ignored;   /* switch records outside its life (after exit) */
};

struct cp_tsched;

/* A tracker for a trace whose first clock sync is trace_start (ns;
 * cp_trace_start_ns). NULL on out of memory. */
struct cp_tsched *cp_tsched_new(int64_t trace_start);
void cp_tsched_free(struct cp_tsched *s);

/* Feed one event (any type; those that do not matter are skipped), in
 * the reader's order. 0 or -ENOMEM (the tracker is then unusable). */
int cp_tsched_add(struct cp_tsched *s, const struct cp_trace_event *e);

/* Build the intervals; trace_end (cp_trace_end_ns) ends the lives of
 * threads still alive. Call once, after the last add. 0 or -ENOMEM. */
int cp_tsched_finish(struct cp_tsched *s, int64_t trace_end);

/* The threads (finished tracker), by tid; tid 0 (process-wide events)
 * is never one. */
size_t cp_tsched_count(const struct cp_tsched *s);
const struct cp_tsched_thread *cp_tsched_at(const struct cp_tsched *s,
                                            size_t i);
/* The thread tid, or NULL. */
const struct cp_tsched_thread *cp_tsched_find(const struct cp_tsched *s,
                                              int tid);
/* Whether any thread has switch records. */
bool cp_tsched_any_precise(const struct cp_tsched *s);

/* One scan of t, finished: new, add every event, finish. 0, -ENOMEM, or
 * what the scan returned. */
int cp_tsched_build(struct cp_trace *t, struct cp_tsched **out);

/* "running", "runnable", "blocked". */
const char *cp_tsched_state_name(int state);

#endif /* CP_TRACE_SCHED_H */
