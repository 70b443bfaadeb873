/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_cli.h - the pieces of `cprof trace` (trace_cmd.c): exports to
 * Chrome JSON (trace_json.c) and Perfetto (trace_perfetto.c), pprof
 * profiles of waiting (trace_pprof.c), the tables of regions, tasks and
 * threads (trace_stats.c), and the timeline model the viewer serves
 * (trace_view.c). Each takes an open trace (src/trace/trace_read.h) and
 * writes to a FILE or fills a structure, so the viewer (-http) and the
 * unit tests call the same functions as the command line.
 *
 * Never used in signal context. Thread-safe: one trace per thread.
 */
#ifndef CP_TRACE_CLI_H
#define CP_TRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/dynbuf.h"
#include "profile/profile.h"
#include "trace/trace_read.h"

/* Load a trace from a file or an http(s) URL into buf (capped at
 * max_bytes) and open it. 0, or -errno with a sentence in err. */
int cp_trace_load(const char *src, size_t max_bytes, struct cp_dynbuf *buf,
                  struct cp_trace **out, char *err, size_t errlen);

/* Chrome Trace Event JSON (chrome://tracing, Perfetto, speedscope). 0 or
 * -errno (write error). */
int cp_trace_write_json(struct cp_trace *t, FILE *out);

/* Perfetto protobuf trace (a TracePacket stream). 0 or -errno. */
int cp_trace_write_perfetto(struct cp_trace *t, FILE *out);

/* go tool trace -pprof: waiting intervals as a pprof profile (sample
 * types contentions/count and delay/nanoseconds, symbolized from the
 * trace). type: "block" (every blocking call but system calls), "sync"
 * (mutexes, rwlocks, condition variables, semaphores), "syscall"
 * (blocking system calls), "sched" (time runnable but not running, from
 * context-switch records). warn (may be NULL) receives a sentence when the
 * trace cannot answer fully (no switch records for sched). 0, -EINVAL
 * (bad type) or -ENOMEM. */
int cp_trace_pprof(struct cp_trace *t, const char *type, struct cp_profile *p,
                   char *warn, size_t warnlen);

/* ---- tables (go tool trace's "User-defined tasks/regions", per-thread
 * summary) ---- */

/* Durations of one region or task type. Quantiles are exact below
 * CP_TSTAT_EXACT samples and within 0.4% above. */
struct cp_tstat_dist {
    uint64_t count;
    int64_t total, min, max; /* ns */
    int64_t median, p90, p99;
    /* private */
    int64_t *v;
    size_t n, cap;
    uint32_t *hist;
};
#define CP_TSTAT_EXACT (1u << 20)

/* The slowest instances kept per type (for "one click from the table"). */
#define CP_TSTAT_SLOWEST 5
struct cp_tstat_inst {
    int64_t start, dur; /* ns since the trace start */
    int tid;
    uint64_t task;
};

struct cp_tstat_type {
    const char *name; /* the trace's string */
    struct cp_tstat_dist d;
    struct cp_tstat_inst slowest[CP_TSTAT_SLOWEST];
    int n_slowest;
    uint64_t unfinished; /* begun, not ended before the trace ended */
};

struct cp_tstat_thread {
    int tid;
    char name[64];
    int64_t first, last;      /* ns since the trace start */
    int64_t running;          /* on a CPU (precise, or estimated) */
    int64_t runnable;         /* preempted, waiting for a CPU (precise) */
    int64_t blocked;          /* off CPU, waiting (precise), or in
                                 interposed waits (estimated) */
    int64_t blocked_sync, blocked_syscall, blocked_sleep, blocked_join;
    bool precise;             /* from context-switch records */
    uint64_t events, samples, lost, regions, switches;
    int last_cpu;
};

struct cp_tstats {
    struct cp_tstat_type *regions, *tasks;
    size_t n_regions, n_tasks;
    struct cp_tstat_thread *threads;
    size_t n_threads;
    uint64_t n_events[32]; /* by enum cp_trace_evtype */
    uint64_t lost;         /* sum of LOST events + unreported at the end */
    uint64_t unmatched_ends; /* region ends whose begin is before the
                                trace (or lost) */
    int64_t start, end;    /* ns, monotonic */
};

/* Compute the tables in one scan. 0 or -ENOMEM. */
int cp_tstats_compute(struct cp_trace *t, struct cp_tstats *s);
void cp_tstats_free(struct cp_tstats *s);
/* Text report (cprof trace -summary). */
void cp_tstats_print(struct cp_trace *t, const struct cp_tstats *s, FILE *out);
/* The same as JSON, for the viewer's tables. */
int cp_tstats_json(struct cp_trace *t, const struct cp_tstats *s,
                   struct cp_dynbuf *out);

/* ---- the viewer's timeline (trace_view.c) ---- */

/* One box on a lane: a region, a block, a running/runnable interval, a
 * task (on its own lane), or a point (log, sample) with dur 0. */
enum cp_tspan_kind {
    CP_TSPAN_REGION = 1,
    CP_TSPAN_TASK,
    CP_TSPAN_BLOCK,
    CP_TSPAN_RUNNING,
    CP_TSPAN_RUNNABLE,
    CP_TSPAN_LOG,
    CP_TSPAN_SAMPLE,
    CP_TSPAN_MERGED, /* several spans shorter than the resolution */
};

struct cp_tspan {
    int64_t start, dur;   /* ns since the trace start */
    uint32_t lane;        /* index into the model's lanes */
    uint8_t kind;         /* enum cp_tspan_kind */
    uint8_t depth;        /* nesting level on its lane */
    uint16_t sub;         /* block kind; for MERGED, how many */
    uint64_t name;        /* trace string id (region/task name, call,
                             log category) */
    uint64_t ref;         /* stack id, task id, or the log's event index */
};

struct cp_tlane {
    int tid;              /* 0 for counter and task lanes */
    char name[80];
    int kind;             /* 0 thread, 1 task group, 2 counter */
};

struct cp_tcounter_pt {
    int64_t t, v;
};

struct cp_tmodel {
    struct cp_trace *trace;
    struct cp_tlane *lanes;
    size_t n_lanes;
    struct cp_tspan *spans; /* sorted by (lane, start) */
    size_t n_spans;
    struct cp_tcounter_pt *counters; /* per counter lane, see off */
    size_t n_counters;
    size_t *counter_off;   /* lane -> first point (n_lanes + 1 entries) */
    char **log_msgs;       /* by log index */
    size_t n_logs;
    int64_t duration;      /* ns */
    int64_t *lane_maxdur;  /* longest span per lane: how far back a window
                              looks for spans that began before it */
};

/* Build the timeline of the whole trace (the viewer loads it once). 0 or
 * -ENOMEM. */
int cp_tmodel_build(struct cp_trace *t, struct cp_tmodel *m);
void cp_tmodel_free(struct cp_tmodel *m);

/*
 * The spans overlapping [from, to) (ns since the start) on the lanes
 * asked (NULL: all), as JSON: {"from":..,"to":..,"lanes":[...],
 * "spans":[[lane,start,dur,kind,depth,name,ref,sub,index,kind0],...],
 * "counters":[[lane,t,value],...], "names":{"id":"string"}} with spans
 * shorter than min_ns merged per lane, depth and kind
 * into one MERGED span (level of detail: a 1M-event trace answers a
 * full-width window with a few thousand boxes); kind0 is the kind of the
 * span (of those merged, for MERGED, whose sub is then how many). 0 or
 * -ENOMEM.
 */
int cp_tmodel_window_json(const struct cp_tmodel *m, int64_t from, int64_t to,
                          int64_t min_ns, struct cp_dynbuf *out);

/* One span's details (stack symbolized, task, log message) as JSON;
 * span is the index a window gave (for a merged box, its first span). */
int cp_tmodel_span_json(const struct cp_tmodel *m, size_t span,
                        struct cp_dynbuf *out);

/* Frames of a stack id as "func (file:line)" strings, leaf first, from
 * the trace's symbols; the caller frees the array and its strings. */
int cp_trace_stack_names(struct cp_trace *t, uint64_t stack, char ***names);

/* JSON string escaping shared by the JSON writers. */
void cp_json_str(struct cp_dynbuf *out, const char *s, size_t len);

/* The streaming exports' output: write out what o holds once it passes
 * 1 MiB, or now if force, and empty it. 0 or -EIO (short write). */
int cp_trace_flush(struct cp_dynbuf *o, FILE *f, bool force);

/* One thread's open regions, innermost last (depth of them): name, start
 * and the task each runs in. Shared by the JSON export and the viewer's
 * model. Zeroed is empty; free v. */
struct cp_topen {
    uint64_t name;
    int64_t start;
    uint64_t task;
};
struct cp_tregions {
    struct cp_topen *v;
    size_t depth, cap;
};

/* Open a region (push). 0 or -ENOMEM. */
int cp_tregions_push(struct cp_tregions *s, uint64_t name, int64_t start,
                     uint64_t task);

/* Close the innermost region (depth must be > 0): pop it. */
static inline struct cp_topen cp_tregions_pop(struct cp_tregions *s)
{
    return s->v[--s->depth];
}

/* One thread's open tasks (begun on it, not yet ended), innermost last:
 * the task a region or a log on that thread belongs to. Shared by the
 * JSON export and the viewer's model. Zeroed is empty; free v. */
struct cp_ttasks {
    uint64_t *v;
    size_t n, cap;
};

/* The innermost open task, or 0 when none. */
static inline uint64_t cp_ttasks_top(const struct cp_ttasks *s)
{
    return s->n ? s->v[s->n - 1] : 0;
}

/* Push task id (it begins on this thread). 0 or -ENOMEM. */
int cp_ttasks_push(struct cp_ttasks *s, uint64_t id);

/* Forget task id wherever it stands (it ended, maybe on another thread,
 * maybe not innermost). */
void cp_ttasks_remove(struct cp_ttasks *s, uint64_t id);

#endif /* CP_TRACE_CLI_H */
