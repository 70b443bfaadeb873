/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_read.h - reading cprof execution traces (docs/trace-format.md):
 * open a trace held in memory, look up its strings, stacks, symbols and
 * metadata, and stream its events in file order with timestamps in
 * CLOCK_MONOTONIC nanoseconds.
 *
 * Untrusted input: every length, id and count is checked against what is
 * left of the data, a trace cut short reads up to its last whole chunk
 * (cp_trace_truncated says so), and damage inside one thread's batch
 * costs that thread's events up to its next buffer start, never a crash.
 * Fuzzed by fuzz/fuzz_trace.c.
 *
 * Shared by the cprof command, the tests and the fuzzer (cpshared); never
 * used in signal context. Thread-safe: one reader per thread.
 */
#ifndef CP_TRACE_READ_H
#define CP_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_trace;

/* What an event is (the reader's view: per-thread and global events of
 * the file under one enum). */
enum cp_trace_evtype {
    CP_TEV_REGION_BEGIN = 1, /* str: name */
    CP_TEV_REGION_END,       /* - */
    CP_TEV_TASK_BEGIN,       /* task, str: name */
    CP_TEV_TASK_END,         /* task */
    CP_TEV_LOG,              /* str: category; msg, msg_len */
    CP_TEV_CPU,              /* value: the CPU the thread runs on from now */
    CP_TEV_BLOCK,            /* kind (CP_TRK_*), str: call, dur, stack,
                                obj; ts is the end */
    CP_TEV_LOST,             /* value: events lost just before */
    CP_TEV_THREAD_START,     /* value: creator tid, stack: start routine,
                                stack2: creation stack, str: name */
    CP_TEV_THREAD_EXIT,      /* - */
    CP_TEV_THREAD_NAME,      /* str: name */
    CP_TEV_SAMPLE,           /* value: cpu, stack, weight */
    CP_TEV_SCHED_IN,         /* value: cpu */
    CP_TEV_SCHED_OUT,        /* kind: CP_TRS_* flags */
    CP_TEV_COUNTER,          /* str: counter name, value (tid 0) */
    CP_TEV_THREAD,           /* as THREAD_START, for a thread that existed
                                before the trace or was found later */
    CP_TEV_THREAD_GONE,      /* - */
    CP_TEV_SCHED_LOST,       /* value: context-switch records lost */
    CP_TEV_SCHED_MODE,       /* kind: CP_TRM_* */
    CP_TEV__COUNT
};

struct cp_trace_event {
    int64_t ts;    /* ns, CLOCK_MONOTONIC of the traced process */
    int tid;
    enum cp_trace_evtype type;
    int kind;
    uint64_t str;    /* string id (cp_trace_str) */
    uint64_t task;
    int64_t dur;     /* ns */
    uint64_t stack;  /* stack id (cp_trace_stack) */
    uint64_t stack2;
    int64_t value;
    uint64_t weight;
    int64_t obj;
    const char *msg; /* log message, not NUL-terminated; valid while the
                        trace is open */
    size_t msg_len;
    bool from_global; /* a GLOBAL event (cprof wrote it for the thread) */
};

/*
 * Open the trace in data[0..len) (the caller keeps data alive and
 * unchanged until cp_trace_close). Reads the metadata chunks and indexes
 * the rest. Returns 0, or -EINVAL with a sentence in err ("not a cprof
 * trace", "unsupported version 2.0"...), or -ENOMEM. A truncated trace
 * opens: see cp_trace_truncated.
 */
int cp_trace_open(const void *data, size_t len, struct cp_trace **out,
                  char *err, size_t errlen);
void cp_trace_close(struct cp_trace *t);

/*
 * Call fn for every event, in file order (each thread's own events in
 * time order; cprof's global events per thread in time order; the two
 * interleaved by chunk). fn returns 0 to go on, anything else to stop
 * (returned). Returns 0 when all were seen.
 */
int cp_trace_scan(struct cp_trace *t,
                  int (*fn)(const struct cp_trace_event *e, void *arg),
                  void *arg);

/* Metadata value of key ("cmdline", "pid", "clock", "sched"...), or NULL. */
const char *cp_trace_info(const struct cp_trace *t, const char *key);
/* All metadata pairs, for dumping. */
int cp_trace_info_count(const struct cp_trace *t);
void cp_trace_info_at(const struct cp_trace *t, int i, const char **key,
                      const char **value);

/* String id, "" when unknown (never NULL); NUL-terminated copy. */
const char *cp_trace_str(const struct cp_trace *t, uint64_t id);
/* Stack id: number of pcs, leaf first (0 when unknown). */
int cp_trace_stack(const struct cp_trace *t, uint64_t id,
                   const uint64_t **pcs);

/* Source frames of pc from the trace's symbol table, innermost first;
 * strings are the trace's. Returns the count (0: not symbolized). */
struct cp_trace_frame {
    const char *function;
    const char *file;
    int64_t line;
};
int cp_trace_symbolize(const struct cp_trace *t, uint64_t pc,
                       const struct cp_trace_frame **frames);

/* Loaded modules the trace lists. */
struct cp_trace_mapping {
    uint64_t start, limit, offset;
    const char *path, *build_id;
};
int cp_trace_mappings(const struct cp_trace *t,
                      const struct cp_trace_mapping **out);

/* Time span: first and last event (ns); start_ns is the trace start
 * (first clock sync), end_ns the last event or sync. */
int64_t cp_trace_start_ns(const struct cp_trace *t);
int64_t cp_trace_end_ns(const struct cp_trace *t);

/*
 * Whether the trace ends without its end record (the process was killed
 * or is still running), and why reading stopped early when it did: a
 * sentence, or NULL when the trace is whole.
 */
bool cp_trace_complete(const struct cp_trace *t);
const char *cp_trace_truncated(const struct cp_trace *t);

/* Totals from the end record (0 when there is none): events the process
 * wrote; events it lost; the part of the loss no LOST event reports, per
 * thread (cp_trace_unreported). */
uint64_t cp_trace_end_events(const struct cp_trace *t);
uint64_t cp_trace_end_dropped(const struct cp_trace *t);
uint64_t cp_trace_unreported(const struct cp_trace *t, int tid);
/* Problems met while scanning (bad events inside batches), so far. */
uint64_t cp_trace_damaged(const struct cp_trace *t);

/* Name of an event type / block kind, for text and JSON. */
const char *cp_trace_evtype_name(enum cp_trace_evtype type);
const char *cp_trace_block_kind_name(int kind);

#endif /* CP_TRACE_READ_H */
