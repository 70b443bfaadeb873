/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace.h - the execution tracer (runtime/trace for C): starting and
 * stopping a trace into a file or memory, the writer thread, the events
 * cprof records on its own (threads, CPU samples, blocking calls, context
 * switches, counters), and the /debug/pprof/trace window.
 *
 * The public entry points (cprof_trace_start/stop, cprof_region_*,
 * cprof_task_*, cprof_log) are in trace.c; the file format is
 * docs/trace-format.md; the design, docs/internals/trace.md.
 *
 * Lock order: trace_lock (start/stop) -> cpu_lock -> cp_reg_lock ->
 * sched_lock -> gq_lock (leaves). Producers (the annotations, the
 * blocking-call hooks) take no lock at all.
 */
#ifndef CP_TRACE_H
#define CP_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "profile/dynbuf.h"

/*
 * Start a trace written to path (when mem is NULL) or appended to mem
 * (the endpoint's window; at most CP_TRACE_MEM_MAX bytes). origin names
 * the starter in error sentences ("cprof_trace_start", "CPROF_TRACE").
 * 0, -EBUSY (a trace is running), or -errno with a sentence for
 * cprof_strerror. Async-signal-safe: no. Thread-safe: yes.
 */
int cp_trace_begin(const char *path, struct cp_dynbuf *mem,
                   const char *origin);

/*
 * Stop the running trace: flush every buffer, add symbols and the end
 * record, close the file. 0, -EINVAL (none running), or -errno (the file
 * could not be written). Thread-safe: yes.
 */
int cp_trace_end(const char *origin);

/* Whether a trace is running. */
bool cp_trace_running(void);

/*
 * Trace the whole process for `seconds` and append the trace to out
 * (what /debug/pprof/trace?seconds=N answers). 0 or -errno (-EBUSY when
 * another trace runs). Blocks for the duration. Thread-safe: yes.
 */
int cp_trace_capture(int seconds, struct cp_dynbuf *out);

/* Cap on a trace kept in memory (the endpoint): past it the trace ends
 * early with its end record, and the loss is counted. */
#define CP_TRACE_MEM_MAX ((size_t)512 << 20)

/* Called once from init.c: CPROF_TRACE=FILE, and the endpoint window. */
void cp_trace_init_from_env(void);

/* Counters for tests (a snapshot of the running or last trace). */
struct cp_trace_stats {
    uint64_t events;     /* per-thread events written */
    uint64_t dropped;    /* per-thread events lost (buffer full/reentrant) */
    uint64_t bytes;      /* bytes written to the sink */
    uint64_t flushes;    /* writer passes */
    uint64_t samples;    /* CPU samples recorded */
    uint64_t sched;      /* context-switch records */
    int sched_threads;   /* threads with precise switch records */
};
void cp_trace_stats(struct cp_trace_stats *out);

#endif /* CP_TRACE_H */
