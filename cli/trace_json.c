/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_json.c - cprof trace -json: the trace as Chrome Trace Event JSON,
 * which chrome://tracing, ui.perfetto.dev and speedscope open.
 *
 *   threads   one tid each, named by thread_name metadata (the last name
 *             the thread had); the process by process_name (its command)
 *   regions   complete events ("ph":"X"), nested as they were, args.task
 *             the task the region ran in (the innermost open task begun
 *             on that thread)
 *   tasks     async events ("b"/"e", cat "task", id = the task id), so a
 *             task begun on one thread and ended on another is one bar
 *   logs      thread instants ("i"), name = category, args.message
 *   blocking  complete events, cat "block", name = the call, args.kind
 *             and the stack ("sf" into stackFrames)
 *   samples   thread instants, cat "cpu_sample", "sf" = the stack
 *   counters  "C" events (heap_inuse_bytes, rss_bytes)
 *   switches  where the trace has context-switch records: one lane per
 *             CPU in a "CPUs" process, a box per thread's stay on it; and
 *             one lane per thread in a "Thread states" process (same tid
 *             and name as the thread), its life cut into running,
 *             runnable and blocked boxes (args.reason: the call it
 *             waited in), from its start (or the trace's) to its exit
 *             (or the trace's end), by the shared tracker (trace_sched.h)
 *
 * ts and dur are microseconds with three decimals (nanosecond exact), so
 * nesting and short durations survive. One streaming scan; the memory
 * kept is the open regions and tasks, and the scheduling intervals, which
 * are written after the scan (their thread's exit can come later in the
 * file than its last switch records).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_format.h"
#include "trace/trace_sched.h"
#include "trace_cli.h"

struct jthread {
    int tid;
    uint64_t name;      /* latest name's string id */
    int64_t name_ts;
    struct cp_tregions regions; /* open regions */
    struct cp_ttasks open;      /* open tasks begun here */
};

struct jtask {
    uint64_t id, name;
};

struct jw {
    struct cp_trace *t;
    FILE *f;
    struct cp_dynbuf o;
    int pid, cpu_pid, state_pid;
    int64_t start;
    bool first;
    struct jthread *th;
    size_t n_th, cap_th;
    struct jtask *tasks; /* open tasks, by id: small linear table */
    size_t n_tasks, cap_tasks;
    uint64_t *stacks_used; /* stack ids referenced by "sf" */
    size_t n_su, cap_su;
    struct cp_tsched *sched;
    int err;
};

static void flush_maybe(struct jw *w, bool force)
{
    if (cp_trace_flush(&w->o, w->f, force) < 0)
        w->err = -EIO;
}

/* Microseconds with 3 decimals, exact from ns. */
static void put_us(struct cp_dynbuf *o, int64_t ns)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t u = ns < 0 ? (uint64_t)-ns : (uint64_t)ns;
    cp_dynbuf_printf(o, "%s%llu.%03u", sign, (unsigned long long)(u / 1000),
                     (unsigned)(u % 1000));
}

static void ev_open(struct jw *w, const char *ph, const char *cat,
                    const char *name, int pid, int tid, int64_t ts)
{
    cp_dynbuf_addstr(&w->o, w->first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"");
    w->first = false;
    cp_dynbuf_addstr(&w->o, ph);
    cp_dynbuf_addstr(&w->o, "\",\"cat\":\"");
    cp_dynbuf_addstr(&w->o, cat);
    cp_dynbuf_addstr(&w->o, "\",\"name\":");
    cp_json_str(&w->o, name, strlen(name));
    cp_dynbuf_printf(&w->o, ",\"pid\":%d,\"tid\":%d,\"ts\":", pid, tid);
    put_us(&w->o, ts - w->start);
}

static struct jthread *thread(struct jw *w, int tid)
{
    for (size_t i = 0; i < w->n_th; i++) {
        if (w->th[i].tid == tid)
            return &w->th[i];
    }
    if (w->n_th == w->cap_th) {
        size_t cap = w->cap_th ? w->cap_th * 2 : 16;
        struct jthread *v = realloc(w->th, cap * sizeof *v);
        if (!v) {
            w->err = -ENOMEM;
            return NULL;
        }
        w->th = v;
        w->cap_th = cap;
    }
    memset(&w->th[w->n_th], 0, sizeof w->th[0]);
    w->th[w->n_th].tid = tid;
    return &w->th[w->n_th++];
}

static void use_stack(struct jw *w, uint64_t id)
{
    for (size_t i = w->n_su; i > 0 && i + 64 > w->n_su; i--) {
        if (w->stacks_used[i - 1] == id)
            return; /* recently noted; duplicates are removed at the end */
    }
    if (w->n_su == w->cap_su) {
        size_t cap = w->cap_su ? w->cap_su * 2 : 256;
        uint64_t *v = realloc(w->stacks_used, cap * sizeof *v);
        if (!v) {
            w->err = -ENOMEM;
            return;
        }
        w->stacks_used = v;
        w->cap_su = cap;
    }
    w->stacks_used[w->n_su++] = id;
}

static void put_sf(struct jw *w, uint64_t stack)
{
    const uint64_t *pcs;
    if (!stack || cp_trace_stack(w->t, stack, &pcs) <= 0)
        return;
    cp_dynbuf_printf(&w->o, ",\"sf\":\"s%llu.0\"", (unsigned long long)stack);
    use_stack(w, stack);
}

static void region_close(struct jw *w, struct jthread *th, int64_t end,
                         bool unfinished)
{
    struct cp_topen o = cp_tregions_pop(&th->regions);
    ev_open(w, "X", "region", cp_trace_str(w->t, o.name), w->pid, th->tid,
            o.start);
    cp_dynbuf_addstr(&w->o, ",\"dur\":");
    put_us(&w->o, end - o.start);
    if (o.task || unfinished)
        cp_dynbuf_printf(&w->o, ",\"args\":{\"task\":%llu%s}",
                         (unsigned long long)o.task,
                         unfinished ? ",\"unfinished\":true" : "");
    cp_dynbuf_addstr(&w->o, "}");
}

static int on_ev(const struct cp_trace_event *e, void *arg)
{
    struct jw *w = arg;
    struct jthread *th;

    if (cp_tsched_add(w->sched, e) < 0)
        return w->err = -ENOMEM;
    if (e->type == CP_TEV_COUNTER) {
        ev_open(w, "C", "counter", cp_trace_str(w->t, e->str), w->pid, 0,
                e->ts);
        cp_dynbuf_printf(&w->o, ",\"args\":{\"value\":%lld}}",
                         (long long)e->value);
        flush_maybe(w, false);
        return w->err;
    }
    th = thread(w, e->tid);
    if (!th)
        return w->err;
    switch (e->type) {
    case CP_TEV_REGION_BEGIN:
        if (cp_tregions_push(&th->regions, e->str, e->ts,
                             cp_ttasks_top(&th->open)) < 0)
            return w->err = -ENOMEM;
        break;
    case CP_TEV_REGION_END:
        if (th->regions.depth)
            region_close(w, th, e->ts, false);
        break;
    case CP_TEV_TASK_BEGIN:
        ev_open(w, "b", "task", cp_trace_str(w->t, e->str), w->pid, e->tid,
                e->ts);
        cp_dynbuf_printf(&w->o, ",\"id\":\"0x%llx\",\"args\":{\"task\":%llu",
                         (unsigned long long)e->task,
                         (unsigned long long)e->task);
        if (th->open.n)
            cp_dynbuf_printf(&w->o, ",\"parent\":%llu",
                             (unsigned long long)cp_ttasks_top(&th->open));
        cp_dynbuf_addstr(&w->o, "}}");
        if (cp_ttasks_push(&th->open, e->task) < 0)
            return w->err = -ENOMEM;
        if (w->n_tasks == w->cap_tasks) {
            size_t cap = w->cap_tasks ? w->cap_tasks * 2 : 64;
            struct jtask *v = realloc(w->tasks, cap * sizeof *v);
            if (!v)
                return w->err = -ENOMEM;
            w->tasks = v;
            w->cap_tasks = cap;
        }
        w->tasks[w->n_tasks++] = (struct jtask){e->task, e->str};
        break;
    case CP_TEV_TASK_END: {
        uint64_t name = 0;
        bool found = false;
        /* open tasks are few: newest first */
        for (size_t i = w->n_tasks; i > 0; i--) {
            if (w->tasks[i - 1].id == e->task) {
                name = w->tasks[i - 1].name;
                w->tasks[i - 1] = w->tasks[--w->n_tasks];
                found = true;
                break;
            }
        }
        if (!found)
            break; /* begun before the trace */
        for (size_t k = 0; k < w->n_th; k++)
            cp_ttasks_remove(&w->th[k].open, e->task);
        ev_open(w, "e", "task", cp_trace_str(w->t, name), w->pid, e->tid,
                e->ts);
        cp_dynbuf_printf(&w->o, ",\"id\":\"0x%llx\"}",
                         (unsigned long long)e->task);
        break;
    }
    case CP_TEV_LOG: {
        const char *cat = cp_trace_str(w->t, e->str);
        ev_open(w, "i", "log", *cat ? cat : "log", w->pid, e->tid, e->ts);
        cp_dynbuf_addstr(&w->o, ",\"s\":\"t\",\"args\":{\"category\":");
        cp_json_str(&w->o, cat, strlen(cat));
        cp_dynbuf_addstr(&w->o, ",\"message\":");
        cp_json_str(&w->o, e->msg ? e->msg : "", e->msg_len);
        if (th->open.n)
            cp_dynbuf_printf(&w->o, ",\"task\":%llu",
                             (unsigned long long)cp_ttasks_top(&th->open));
        cp_dynbuf_addstr(&w->o, "}}");
        break;
    }
    case CP_TEV_BLOCK:
        ev_open(w, "X", "block", cp_trace_str(w->t, e->str), w->pid, e->tid,
                e->ts - e->dur);
        cp_dynbuf_addstr(&w->o, ",\"dur\":");
        put_us(&w->o, e->dur);
        put_sf(w, e->stack);
        cp_dynbuf_printf(&w->o, ",\"args\":{\"kind\":\"%s\"",
                         cp_trace_block_kind_name(e->kind));
        if (e->kind == CP_TRK_SYSCALL)
            cp_dynbuf_printf(&w->o, ",\"fd\":%lld", (long long)e->obj);
        else if (e->obj)
            cp_dynbuf_printf(&w->o, ",\"object\":\"0x%llx\"",
                             (unsigned long long)e->obj);
        cp_dynbuf_addstr(&w->o, "}}");
        break;
    case CP_TEV_SAMPLE: {
        char **names = NULL;
        int n = cp_trace_stack_names(w->t, e->stack, &names);
        ev_open(w, "i", "cpu_sample", n > 0 ? names[0] : "(unknown)", w->pid,
                e->tid, e->ts);
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        cp_dynbuf_addstr(&w->o, ",\"s\":\"t\"");
        put_sf(w, e->stack);
        cp_dynbuf_printf(&w->o, ",\"args\":{\"cpu\":%lld,\"weight\":%llu}}",
                         (long long)e->value,
                         (unsigned long long)e->weight);
        break;
    }
    case CP_TEV_LOST:
        ev_open(w, "i", "lost", "events lost", w->pid, e->tid, e->ts);
        cp_dynbuf_printf(&w->o, ",\"s\":\"t\",\"args\":{\"lost\":%lld}}",
                         (long long)e->value);
        break;
    case CP_TEV_THREAD_START:
    case CP_TEV_THREAD:
        if (e->str && (!th->name || e->ts >= th->name_ts)) {
            th->name = e->str;
            th->name_ts = e->ts;
        }
        if (e->type == CP_TEV_THREAD_START) {
            char **r = NULL;
            int nr = cp_trace_stack_names(w->t, e->stack, &r);
            ev_open(w, "i", "thread", "thread start", w->pid, e->tid, e->ts);
            cp_dynbuf_printf(&w->o, ",\"s\":\"t\"");
            put_sf(w, e->stack2); /* where pthread_create was called */
            cp_dynbuf_printf(&w->o, ",\"args\":{\"creator\":%lld",
                             (long long)e->value);
            if (nr > 0) {
                cp_dynbuf_addstr(&w->o, ",\"start_routine\":");
                cp_json_str(&w->o, r[0], strlen(r[0]));
            }
            cp_dynbuf_addstr(&w->o, "}}");
            for (int i = 0; i < nr; i++)
                free(r[i]);
            free(r);
        }
        break;
    case CP_TEV_THREAD_EXIT:
        ev_open(w, "i", "thread", "thread exit", w->pid, e->tid, e->ts);
        cp_dynbuf_addstr(&w->o, ",\"s\":\"t\"}");
        break;
    case CP_TEV_THREAD_NAME:
        if (e->str && (!th->name || e->ts >= th->name_ts)) {
            th->name = e->str;
            th->name_ts = e->ts;
        }
        break;
    default: break;
    }
    flush_maybe(w, false);
    return w->err;
}

/* A thread's name for its lanes: the last it had, else "thread TID". */
static const char *thread_label(struct jw *w, const struct jthread *th,
                                char *buf, size_t len)
{
    const char *n = th && th->name ? cp_trace_str(w->t, th->name) : "";
    if (*n)
        return n;
    snprintf(buf, len, "thread %d", th ? th->tid : 0);
    return buf;
}

/* The scheduling intervals of every thread with switch records: a lane
 * per thread in the states process, and the running ones on their CPU's
 * lane. Estimated intervals (no switch records) are left to -summary:
 * the blocking calls are in the export already. */
static void sched_lanes(struct jw *w, bool *any)
{
    *any = false;
    for (size_t i = 0; i < cp_tsched_count(w->sched) && !w->err; i++) {
        const struct cp_tsched_thread *ts = cp_tsched_at(w->sched, i);
        struct jthread *th = NULL;
        char buf[64], name[96];
        const char *label;

        for (size_t k = 0; k < w->n_th; k++) {
            if (w->th[k].tid == ts->tid)
                th = &w->th[k];
        }
        label = thread_label(w, th, buf, sizeof buf);
        snprintf(name, sizeof name, "%s %d",
                 label == buf ? "thread" : label, ts->tid);
        for (size_t k = 0; k < ts->n_iv; k++) {
            const struct cp_tsched_iv *v = &ts->iv[k];
            if (v->flags & CP_TSCHED_ESTIMATED)
                continue;
            *any = true;
            ev_open(w, "X", "sched", cp_tsched_state_name(v->state),
                    w->state_pid, ts->tid, v->start);
            cp_dynbuf_addstr(&w->o, ",\"dur\":");
            put_us(&w->o, v->end - v->start);
            cp_dynbuf_printf(&w->o, ",\"args\":{\"tid\":%d", ts->tid);
            if (v->state == CP_TSCHED_RUNNING && v->cpu >= 0)
                cp_dynbuf_printf(&w->o, ",\"cpu\":%d", (int)v->cpu);
            if (v->state == CP_TSCHED_BLOCKED && v->reason)
                cp_dynbuf_printf(&w->o, ",\"reason\":\"%s\"",
                                 cp_trace_block_kind_name(v->reason));
            if (v->flags & CP_TSCHED_INFERRED)
                cp_dynbuf_addstr(&w->o, ",\"inferred\":true");
            cp_dynbuf_addstr(&w->o, "}}");
            if (v->state == CP_TSCHED_RUNNING && v->cpu >= 0) {
                bool preempted = k + 1 < ts->n_iv &&
                                 ts->iv[k + 1].state == CP_TSCHED_RUNNABLE;
                ev_open(w, "X", "sched", name, w->cpu_pid, v->cpu, v->start);
                cp_dynbuf_addstr(&w->o, ",\"dur\":");
                put_us(&w->o, v->end - v->start);
                cp_dynbuf_printf(&w->o, ",\"args\":{\"tid\":%d%s}}", ts->tid,
                                 preempted ? ",\"preempted\":true" : "");
            }
            flush_maybe(w, false);
        }
        if (ts->n_iv && !(ts->iv[0].flags & CP_TSCHED_ESTIMATED)) {
            ev_open(w, "M", "__metadata", "thread_name", w->state_pid,
                    ts->tid, w->start);
            cp_dynbuf_addstr(&w->o, ",\"args\":{\"name\":");
            cp_json_str(&w->o, label, strlen(label));
            cp_dynbuf_addstr(&w->o, "}}");
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* stackFrames: one node per (stack, depth); parent is the caller. */
static void stack_frames(struct jw *w)
{
    bool first = true;
    if (w->n_su)
        qsort(w->stacks_used, w->n_su, sizeof *w->stacks_used, cmp_u64);
    cp_dynbuf_addstr(&w->o, "\n],\"stackFrames\":{");
    for (size_t i = 0; i < w->n_su; i++) {
        char **names = NULL;
        int n;
        if (i && w->stacks_used[i] == w->stacks_used[i - 1])
            continue;
        n = cp_trace_stack_names(w->t, w->stacks_used[i], &names);
        for (int k = 0; k < n; k++) {
            cp_dynbuf_printf(&w->o, "%s\n\"s%llu.%d\":{\"name\":",
                             first ? "" : ",",
                             (unsigned long long)w->stacks_used[i], k);
            first = false;
            cp_json_str(&w->o, names[k], strlen(names[k]));
            if (k + 1 < n)
                cp_dynbuf_printf(&w->o, ",\"parent\":\"s%llu.%d\"",
                                 (unsigned long long)w->stacks_used[i],
                                 k + 1);
            cp_dynbuf_addstr(&w->o, "}");
            free(names[k]);
        }
        free(names);
        flush_maybe(w, false);
    }
    cp_dynbuf_addstr(&w->o, "}");
}

int cp_trace_write_json(struct cp_trace *t, FILE *f)
{
    struct jw w;
    const char *pid = cp_trace_info(t, "pid");
    const char *cmd = cp_trace_info(t, "cmdline");
    int r;

    memset(&w, 0, sizeof w);
    w.t = t;
    w.f = f;
    w.pid = pid ? atoi(pid) : 1;
    if (w.pid <= 0)
        w.pid = 1;
    /* the CPU lanes get a pid of their own, above any real pid
     * (pid_max is at most 2^22) */
    w.cpu_pid = 0x7fff0000 - w.pid % 0x10000;
    w.state_pid = w.cpu_pid - 0x10000;
    w.start = cp_trace_start_ns(t);
    w.first = true;
    cp_dynbuf_init(&w.o, (size_t)1 << 32);
    cp_dynbuf_addstr(&w.o, "{\"displayTimeUnit\":\"ns\",\"otherData\":{");
    for (int i = 0; i < cp_trace_info_count(t); i++) {
        const char *k, *v;
        cp_trace_info_at(t, i, &k, &v);
        if (i)
            cp_dynbuf_addstr(&w.o, ",");
        cp_json_str(&w.o, k, strlen(k));
        cp_dynbuf_addstr(&w.o, ":");
        cp_json_str(&w.o, v, strlen(v));
    }
    if (cp_trace_truncated(t)) {
        cp_dynbuf_addstr(&w.o, cp_trace_info_count(t) ? ",\"truncated\":"
                                                      : "\"truncated\":");
        cp_json_str(&w.o, cp_trace_truncated(t),
                    strlen(cp_trace_truncated(t)));
    }
    cp_dynbuf_addstr(&w.o, "},\"traceEvents\":[");
    ev_open(&w, "M", "__metadata", "process_name", w.pid, 0, w.start);
    cp_dynbuf_addstr(&w.o, ",\"args\":{\"name\":");
    cp_json_str(&w.o, cmd && *cmd ? cmd : "traced process",
                strlen(cmd && *cmd ? cmd : "traced process"));
    cp_dynbuf_addstr(&w.o, "}}");

    w.sched = cp_tsched_new(w.start);
    r = w.sched ? cp_trace_scan(t, on_ev, &w) : -ENOMEM;
    if (r == 0)
        r = w.err;
    /* what is still open ends with the trace */
    int64_t end = cp_trace_end_ns(t);
    bool has_sched = false;
    if (r == 0)
        r = cp_tsched_finish(w.sched, end);
    if (r == 0)
        sched_lanes(&w, &has_sched);
    for (size_t i = 0; i < w.n_th; i++) {
        struct jthread *th = &w.th[i];
        while (th->regions.depth)
            region_close(&w, th, end, true);
        ev_open(&w, "M", "__metadata", "thread_name", w.pid, th->tid,
                w.start);
        char buf[64];
        const char *n = thread_label(&w, th, buf, sizeof buf);
        cp_dynbuf_addstr(&w.o, ",\"args\":{\"name\":");
        cp_json_str(&w.o, n, strlen(n));
        cp_dynbuf_addstr(&w.o, "}}");
        free(th->regions.v);
        free(th->open.v);
    }
    for (size_t i = 0; i < w.n_tasks; i++) {
        ev_open(&w, "e", "task", cp_trace_str(t, w.tasks[i].name), w.pid, 0,
                end);
        cp_dynbuf_printf(&w.o, ",\"id\":\"0x%llx\",\"args\":{\"unfinished\":"
                               "true}}",
                         (unsigned long long)w.tasks[i].id);
    }
    if (has_sched) {
        ev_open(&w, "M", "__metadata", "process_name", w.cpu_pid, 0, w.start);
        cp_dynbuf_addstr(&w.o, ",\"args\":{\"name\":\"CPUs (context "
                               "switches)\"}}");
        ev_open(&w, "M", "__metadata", "process_name", w.state_pid, 0,
                w.start);
        cp_dynbuf_addstr(&w.o, ",\"args\":{\"name\":\"Thread states "
                               "(context switches)\"}}");
    }
    stack_frames(&w);
    cp_dynbuf_addstr(&w.o, "}\n");
    flush_maybe(&w, true);
    if (r == 0)
        r = w.err;
    free(w.th);
    free(w.tasks);
    free(w.stacks_used);
    cp_tsched_free(w.sched);
    cp_dynbuf_free(&w.o);
    return r;
}
