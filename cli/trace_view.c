/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_view.c - the timeline model behind the trace viewer: every
 * region, task, blocking call, running/runnable stretch, log and CPU
 * sample of a trace as a box on a lane, sorted so that the boxes of any
 * time window are found by binary search, and served in windows with a
 * level of detail: boxes shorter than the window's resolution are merged
 * per lane and depth, so a full-width view of a 1M-event trace is a few
 * thousand boxes and zooming in brings the detail back.
 *
 * Running and runnable stretches come from the shared interval tracker
 * (src/trace/trace_sched.h), drawn only where the trace has switch
 * records (estimated intervals are the summary's business).
 *
 * Lanes: one per thread (ordered by tid), then task lanes (tasks of one
 * name share lanes: a task takes the first lane of its name that is free
 * at its begin), then one per counter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_format.h"
#include "trace/trace_sched.h"
#include "trace_cli.h"

struct vthread {
    int tid;
    uint64_t name;
    int64_t name_ts;
    uint32_t lane;
    struct cp_tregions regions; /* open regions */
    struct cp_ttasks open;      /* open tasks begun here */
};

struct vtask {
    uint64_t id, name;
    int64_t begin, end;
};

struct vb {
    struct cp_trace *t;
    struct cp_tmodel *m;
    int64_t start, end;
    struct vthread *th;
    size_t n_th, cap_th;
    struct vtask *tasks;
    size_t n_tasks, cap_tasks;
    uint64_t *cnames; /* counter name ids, lane order */
    size_t n_cnames;
    struct cp_tcounter_pt *cpts;
    uint32_t *cpt_lane;
    size_t n_cpts, cap_cpts;
    size_t cap_spans, cap_logs;
    struct cp_tsched *sched;
    int err;
};

static struct vthread *vthread_of(struct vb *b, int tid)
{
    for (size_t i = b->n_th; i > 0; i--) {
        if (b->th[i - 1].tid == tid)
            return &b->th[i - 1];
    }
    if (b->n_th == b->cap_th) {
        size_t cap = b->cap_th ? b->cap_th * 2 : 16;
        struct vthread *v = realloc(b->th, cap * sizeof *v);
        if (!v) {
            b->err = -ENOMEM;
            return NULL;
        }
        b->th = v;
        b->cap_th = cap;
    }
    memset(&b->th[b->n_th], 0, sizeof b->th[0]);
    b->th[b->n_th].tid = tid;
    return &b->th[b->n_th++];
}

/* Spans are stored with the thread's tid in lane until lanes are known. */
static void span(struct vb *b, uint32_t lane, int kind, int depth,
                 int64_t start, int64_t dur, uint64_t name, uint64_t ref,
                 int sub)
{
    struct cp_tmodel *m = b->m;
    if (m->n_spans == b->cap_spans) {
        size_t cap = b->cap_spans ? b->cap_spans * 2 : 4096;
        struct cp_tspan *v = realloc(m->spans, cap * sizeof *v);
        if (!v) {
            b->err = -ENOMEM;
            return;
        }
        m->spans = v;
        b->cap_spans = cap;
    }
    m->spans[m->n_spans++] = (struct cp_tspan){
        start - b->start, dur < 0 ? 0 : dur, lane, (uint8_t)kind,
        (uint8_t)(depth > 255 ? 255 : depth), (uint16_t)sub, name, ref};
}

static int on_ev(const struct cp_trace_event *e, void *arg)
{
    struct vb *b = arg;
    struct vthread *th;
    uint32_t lane;

    if (cp_tsched_add(b->sched, e) < 0)
        return b->err = -ENOMEM;
    if (e->type == CP_TEV_COUNTER) {
        size_t c;
        for (c = 0; c < b->n_cnames; c++) {
            if (b->cnames[c] == e->str)
                break;
        }
        if (c == b->n_cnames) {
            uint64_t *v = realloc(b->cnames, (c + 1) * sizeof *v);
            if (!v)
                return b->err = -ENOMEM;
            b->cnames = v;
            b->cnames[b->n_cnames++] = e->str;
        }
        if (b->n_cpts == b->cap_cpts) {
            size_t cap = b->cap_cpts ? b->cap_cpts * 2 : 256;
            struct cp_tcounter_pt *v = realloc(b->cpts, cap * sizeof *v);
            uint32_t *l = realloc(b->cpt_lane, cap * sizeof *l);
            if (v)
                b->cpts = v;
            if (l)
                b->cpt_lane = l;
            if (!v || !l)
                return b->err = -ENOMEM;
            b->cap_cpts = cap;
        }
        b->cpts[b->n_cpts] = (struct cp_tcounter_pt){e->ts - b->start,
                                                     e->value};
        b->cpt_lane[b->n_cpts++] = (uint32_t)c;
        return 0;
    }
    th = vthread_of(b, e->tid);
    if (!th)
        return b->err;
    lane = (uint32_t)(th - b->th); /* thread index; mapped to lanes later */
    switch (e->type) {
    case CP_TEV_REGION_BEGIN:
        if (cp_tregions_push(&th->regions, e->str, e->ts,
                             cp_ttasks_top(&th->open)) < 0)
            return b->err = -ENOMEM;
        break;
    case CP_TEV_REGION_END:
        if (th->regions.depth) {
            struct cp_topen o = cp_tregions_pop(&th->regions);
            span(b, lane, CP_TSPAN_REGION, (int)th->regions.depth, o.start,
                 e->ts - o.start, o.name, o.task, 0);
        }
        break;
    case CP_TEV_TASK_BEGIN:
        if (cp_ttasks_push(&th->open, e->task) < 0)
            return b->err = -ENOMEM;
        if (b->n_tasks == b->cap_tasks) {
            size_t cap = b->cap_tasks ? b->cap_tasks * 2 : 64;
            struct vtask *v = realloc(b->tasks, cap * sizeof *v);
            if (!v)
                return b->err = -ENOMEM;
            b->tasks = v;
            b->cap_tasks = cap;
        }
        b->tasks[b->n_tasks++] = (struct vtask){e->task, e->str, e->ts,
                                                INT64_MAX};
        break;
    case CP_TEV_TASK_END:
        for (size_t i = b->n_tasks; i > 0; i--) {
            if (b->tasks[i - 1].id == e->task) {
                if (b->tasks[i - 1].end == INT64_MAX)
                    b->tasks[i - 1].end = e->ts;
                break;
            }
        }
        for (size_t k = 0; k < b->n_th; k++)
            cp_ttasks_remove(&b->th[k].open, e->task);
        break;
    case CP_TEV_LOG: {
        struct cp_tmodel *m = b->m;
        if (m->n_logs == b->cap_logs) {
            size_t cap = b->cap_logs ? b->cap_logs * 2 : 256;
            char **v = realloc(m->log_msgs, cap * sizeof *v);
            if (!v)
                return b->err = -ENOMEM;
            m->log_msgs = v;
            b->cap_logs = cap;
        }
        char *msg = malloc(e->msg_len + 1);
        if (!msg)
            return b->err = -ENOMEM;
        memcpy(msg, e->msg ? e->msg : "", e->msg_len);
        msg[e->msg_len] = '\0';
        m->log_msgs[m->n_logs] = msg;
        span(b, lane, CP_TSPAN_LOG, (int)th->regions.depth, e->ts, 0, e->str,
             m->n_logs++, 0);
        break;
    }
    case CP_TEV_BLOCK:
        span(b, lane, CP_TSPAN_BLOCK, (int)th->regions.depth,
             e->ts - e->dur, e->dur, e->str, e->stack, e->kind);
        break;
    case CP_TEV_SAMPLE:
        span(b, lane, CP_TSPAN_SAMPLE, 0, e->ts, 0, 0, e->stack,
             (int)e->value);
        break;
    case CP_TEV_THREAD:
    case CP_TEV_THREAD_START:
    case CP_TEV_THREAD_NAME:
        if (e->str && (!th->name || e->ts >= th->name_ts)) {
            th->name = e->str;
            th->name_ts = e->ts;
        }
        break;
    default: break;
    }
    return b->err;
}

static int cmp_tid(const void *a, const void *b)
{
    const struct vthread *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_span(const void *a, const void *b)
{
    const struct cp_tspan *x = a, *y = b;
    if (x->lane != y->lane)
        return x->lane < y->lane ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->depth > y->depth) - (x->depth < y->depth);
}

/*
 * Sort the spans by (lane, start, depth): an LSD radix sort of 64-bit
 * (start, depth) keys, then a stable counting sort by lane. qsort of the
 * 40-byte spans was half of the model's build on a 1M-event trace (glibc
 * sorts elements that large indirectly and moves each with memcpy); this
 * touches each span twice. Falls back to qsort when memory is short.
 */
struct skey {
    uint64_t key;
    size_t idx;
};

static void sort_spans(struct cp_tmodel *m)
{
    size_t n = m->n_spans;
    struct cp_tspan *out = malloc(n * sizeof *out);
    struct skey *a = malloc(n * sizeof *a), *t = malloc(n * sizeof *t);
    size_t *pos = calloc(m->n_lanes + 1, sizeof *pos);
    int64_t lo = INT64_MAX;

    if (!out || !a || !t || !pos) {
        qsort(m->spans, n, sizeof *m->spans, cmp_span);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        lo = m->spans[i].start < lo ? m->spans[i].start : lo;
    for (size_t i = 0; i < n; i++) {
        /* 56 bits of nanoseconds: two years from the earliest span */
        uint64_t st = (uint64_t)(m->spans[i].start - lo);
        if (st >> 56)
            st = ((uint64_t)1 << 56) - 1;
        a[i] = (struct skey){st << 8 | m->spans[i].depth, i};
    }
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[(a[i].key >> shift) & 255]++;
        if (count[(a[0].key >> shift) & 255] == n)
            continue; /* every key has this byte: nothing to do */
        for (size_t k = 0, sum = 0; k < 256; k++) {
            size_t c = count[k];
            count[k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            t[count[(a[i].key >> shift) & 255]++] = a[i];
        struct skey *x = a;
        a = t;
        t = x;
    }
    for (size_t i = 0; i < n; i++)
        pos[m->spans[i].lane + 1]++;
    for (size_t l = 0; l < m->n_lanes; l++)
        pos[l + 1] += pos[l];
    for (size_t i = 0; i < n; i++) {
        const struct cp_tspan *s = &m->spans[a[i].idx];
        out[pos[s->lane]++] = *s;
    }
    free(m->spans);
    m->spans = out;
    out = NULL;
out:
    free(out);
    free(a);
    free(t);
    free(pos);
}

static int cmp_vtask(const void *a, const void *b)
{
    const struct vtask *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

int cp_tmodel_build(struct cp_trace *t, struct cp_tmodel *m)
{
    struct vb b;
    uint32_t *lane_of = NULL;
    int r;

    memset(m, 0, sizeof *m);
    memset(&b, 0, sizeof b);
    m->trace = t;
    b.t = t;
    b.m = m;
    b.start = cp_trace_start_ns(t);
    b.sched = cp_tsched_new(b.start);
    r = b.sched ? cp_trace_scan(t, on_ev, &b) : -ENOMEM;
    if (r == 0)
        r = b.err;
    if (r < 0)
        goto out;
    b.end = cp_trace_end_ns(t);
    m->duration = b.end - b.start;
    r = cp_tsched_finish(b.sched, b.end);
    if (r < 0)
        goto out;
    /* close what is still open */
    for (size_t i = 0; i < b.n_th; i++) {
        struct vthread *th = &b.th[i];
        while (th->regions.depth) {
            struct cp_topen o = cp_tregions_pop(&th->regions);
            span(&b, (uint32_t)i, CP_TSPAN_REGION, (int)th->regions.depth,
                 o.start, b.end - o.start, o.name, o.task, 1);
        }
        /* running and runnable from switch records (blocked shows as
         * the waits themselves) */
        const struct cp_tsched_thread *ts = cp_tsched_find(b.sched, th->tid);
        for (size_t k = 0; ts && k < ts->n_iv; k++) {
            const struct cp_tsched_iv *v = &ts->iv[k];
            if ((v->flags & CP_TSCHED_ESTIMATED) ||
                v->state == CP_TSCHED_BLOCKED)
                continue;
            span(&b, (uint32_t)i,
                 v->state == CP_TSCHED_RUNNING ? CP_TSPAN_RUNNING
                                               : CP_TSPAN_RUNNABLE,
                 0, v->start, v->end - v->start, 0, 0, 0);
        }
    }
    /* lanes: threads by tid */
    size_t nth = b.n_th;
    lane_of = malloc((nth ? nth : 1) * sizeof *lane_of);
    struct vthread *sorted = malloc((nth ? nth : 1) * sizeof *sorted);
    if (!lane_of || !sorted) {
        free(sorted);
        r = -ENOMEM;
        goto out;
    }
    if (nth)
        memcpy(sorted, b.th, nth * sizeof *sorted);
    if (nth)
        qsort(sorted, nth, sizeof *sorted, cmp_tid);
    size_t n_thread_lanes = 0;
    for (size_t i = 0; i < nth; i++) {
        if (sorted[i].tid)
            n_thread_lanes++;
    }
    if (b.n_tasks)
        qsort(b.tasks, b.n_tasks, sizeof *b.tasks, cmp_vtask);
    /* task lanes, then counters */
    struct { uint64_t name; int64_t free_at; } *tl = NULL;
    size_t n_tl = 0;
    uint32_t *task_lane = malloc((b.n_tasks ? b.n_tasks : 1) * sizeof *task_lane);
    if (!task_lane) {
        free(sorted);
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b.n_tasks; i++) {
        size_t l;
        for (l = 0; l < n_tl; l++) {
            if (tl[l].name == b.tasks[i].name && tl[l].free_at <= b.tasks[i].begin)
                break;
        }
        if (l == n_tl) {
            void *v = realloc(tl, (n_tl + 1) * sizeof *tl);
            if (!v) {
                r = -ENOMEM;
                break;
            }
            tl = v;
            tl[n_tl++].name = b.tasks[i].name;
        }
        tl[l].free_at = b.tasks[i].end;
        task_lane[i] = (uint32_t)l;
    }
    m->n_lanes = n_thread_lanes + n_tl + b.n_cnames;
    m->lanes = calloc(m->n_lanes ? m->n_lanes : 1, sizeof *m->lanes);
    if (r < 0 || !m->lanes) {
        free(sorted);
        free(tl);
        free(task_lane);
        r = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nth; i++) {
        if (!sorted[i].tid)
            continue;
        m->lanes[k].tid = sorted[i].tid;
        m->lanes[k].kind = 0;
        const char *n = sorted[i].name ? cp_trace_str(t, sorted[i].name) : "";
        snprintf(m->lanes[k].name, sizeof m->lanes[k].name, "%s%s%d", n,
                 *n ? " " : "thread ", sorted[i].tid);
        /* map the thread's index in b.th to this lane */
        for (size_t j = 0; j < nth; j++) {
            if (b.th[j].tid == sorted[i].tid)
                lane_of[j] = (uint32_t)k;
        }
        k++;
    }
    for (size_t l = 0; l < n_tl; l++, k++) {
        m->lanes[k].kind = 1;
        snprintf(m->lanes[k].name, sizeof m->lanes[k].name, "task %s",
                 cp_trace_str(t, tl[l].name));
    }
    for (size_t c = 0; c < b.n_cnames; c++, k++) {
        m->lanes[k].kind = 2;
        snprintf(m->lanes[k].name, sizeof m->lanes[k].name, "%s",
                 cp_trace_str(t, b.cnames[c]));
    }
    /* thread spans to their lanes (tid 0 spans are dropped) */
    size_t w = 0;
    for (size_t i = 0; i < m->n_spans; i++) {
        struct cp_tspan s = m->spans[i];
        if (!b.th[s.lane].tid)
            continue;
        s.lane = lane_of[s.lane];
        m->spans[w++] = s;
    }
    m->n_spans = w;
    for (size_t i = 0; i < b.n_tasks; i++) {
        int64_t end = b.tasks[i].end == INT64_MAX ? b.end : b.tasks[i].end;
        span(&b, (uint32_t)(n_thread_lanes + task_lane[i]), CP_TSPAN_TASK, 0,
             b.tasks[i].begin, end - b.tasks[i].begin, b.tasks[i].name,
             b.tasks[i].id, b.tasks[i].end == INT64_MAX);
    }
    free(sorted);
    free(tl);
    free(task_lane);
    if (b.err) {
        r = b.err;
        goto out;
    }
    if (m->n_spans)
        sort_spans(m);
    m->lane_maxdur = calloc(m->n_lanes + 1, sizeof *m->lane_maxdur);
    if (!m->lane_maxdur) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < m->n_spans; i++) {
        if (m->spans[i].dur > m->lane_maxdur[m->spans[i].lane])
            m->lane_maxdur[m->spans[i].lane] = m->spans[i].dur;
    }
    /* counters, grouped by lane */
    size_t base = n_thread_lanes + n_tl;
    m->counter_off = calloc(m->n_lanes + 1, sizeof *m->counter_off);
    m->counters = malloc((b.n_cpts ? b.n_cpts : 1) * sizeof *m->counters);
    if (!m->counter_off || !m->counters) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b.n_cpts; i++)
        m->counter_off[base + b.cpt_lane[i] + 1]++;
    for (size_t l = 0; l < m->n_lanes; l++)
        m->counter_off[l + 1] += m->counter_off[l];
    size_t *fill = calloc(m->n_lanes + 1, sizeof *fill);
    if (!fill) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b.n_cpts; i++) {
        size_t l = base + b.cpt_lane[i];
        m->counters[m->counter_off[l] + fill[l]++] = b.cpts[i];
    }
    m->n_counters = b.n_cpts;
    free(fill);
out:
    for (size_t i = 0; i < b.n_th; i++) {
        free(b.th[i].regions.v);
        free(b.th[i].open.v);
    }
    free(b.th);
    free(b.tasks);
    free(b.cnames);
    free(b.cpts);
    free(b.cpt_lane);
    free(lane_of);
    cp_tsched_free(b.sched);
    if (r < 0)
        cp_tmodel_free(m);
    return r;
}

void cp_tmodel_free(struct cp_tmodel *m)
{
    for (size_t i = 0; i < m->n_logs; i++)
        free(m->log_msgs[i]);
    free(m->log_msgs);
    free(m->lanes);
    free(m->spans);
    free(m->counters);
    free(m->counter_off);
    free(m->lane_maxdur);
    memset(m, 0, sizeof *m);
}

/* ---- windows ---- */

/* First span of lane at or after index lo whose start >= t. */
static size_t lower(const struct cp_tmodel *m, uint32_t lane, int64_t t)
{
    size_t lo = 0, hi = m->n_spans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct cp_tspan *s = &m->spans[mid];
        if (s->lane < lane || (s->lane == lane && s->start < t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct pending {
    bool on;
    struct cp_tspan s;
    int64_t end;
    size_t index; /* of the first span merged */
    uint32_t count;
};

/* The 10th field is the kind of the span (of the first one, for a MERGED
 * box: spans merge only with their own kind), so the viewer draws a
 * merged box where and how its spans would be drawn. */
static void emit(struct cp_dynbuf *o, bool *first, const struct cp_tspan *s,
                 int64_t dur, int sub, int kind, size_t index)
{
    cp_dynbuf_printf(o, "%s[%u,%lld,%lld,%d,%d,%llu,%llu,%d,%zu,%d]",
                     *first ? "" : ",", s->lane, (long long)s->start,
                     (long long)dur, kind, s->depth,
                     (unsigned long long)s->name, (unsigned long long)s->ref,
                     sub, index, s->kind);
    *first = false;
}

/* A pending run of short spans: MERGED when it holds several, else the
 * span as it was. */
static void emit_pending(struct cp_dynbuf *o, bool *first,
                         const struct pending *p)
{
    if (p->count > 1)
        emit(o, first, &p->s, p->end - p->s.start,
             p->count < 65535 ? (int)p->count : 65535, CP_TSPAN_MERGED,
             p->index);
    else
        emit(o, first, &p->s, p->s.dur, p->s.sub, p->s.kind, p->index);
}

int cp_tmodel_window_json(const struct cp_tmodel *m, int64_t from, int64_t to,
                          int64_t min_ns, struct cp_dynbuf *o)
{
    bool first = true;
    const int64_t *maxdur = m->lane_maxdur;
    uint64_t *names = NULL;
    size_t n_names = 0, cap_names = 0;

    cp_dynbuf_printf(o, "{\"from\":%lld,\"to\":%lld,\"duration\":%lld,"
                        "\"lanes\":[",
                     (long long)from, (long long)to, (long long)m->duration);
    for (size_t l = 0; l < m->n_lanes; l++) {
        cp_dynbuf_printf(o, "%s{\"tid\":%d,\"kind\":%d,\"name\":",
                         l ? "," : "", m->lanes[l].tid, m->lanes[l].kind);
        cp_json_str(o, m->lanes[l].name, strlen(m->lanes[l].name));
        cp_dynbuf_addstr(o, "}");
    }
    cp_dynbuf_addstr(o, "],\"spans\":[");
    for (uint32_t l = 0; l < m->n_lanes; l++) {
        /* merge runs of short spans per depth (and per kind class) */
        /* 16 depths x 7 kinds (each kind merges only with itself) */
        struct pending pend[16 * 7];
        memset(pend, 0, sizeof pend);
        for (size_t i = lower(m, l, from - maxdur[l]);
             i < m->n_spans && m->spans[i].lane == l &&
             m->spans[i].start < to;
             i++) {
            const struct cp_tspan *s = &m->spans[i];
            if (s->start + s->dur < from)
                continue;
            if (s->dur >= min_ns) {
                emit(o, &first, s, s->dur, s->sub, s->kind, i);
            } else {
                int slot = (s->depth & 15) * 7 + (s->kind - 1) % 7;
                struct pending *p = &pend[slot];
                if (p->on && s->start - p->end < min_ns) {
                    if (s->start + s->dur > p->end)
                        p->end = s->start + s->dur;
                    p->count++;
                    continue;
                }
                if (p->on)
                    emit_pending(o, &first, p);
                p->on = true;
                p->s = *s;
                p->count = 1;
                p->end = s->start + s->dur;
                p->index = i;
            }
            /* names used in this window, for the "names" table */
            if (s->name && (s->kind == CP_TSPAN_REGION ||
                            s->kind == CP_TSPAN_TASK ||
                            s->kind == CP_TSPAN_BLOCK ||
                            s->kind == CP_TSPAN_LOG)) {
                bool seen = false;
                for (size_t k = n_names; k > 0 && k + 8 > n_names; k--)
                    seen |= names[k - 1] == s->name;
                if (!seen) {
                    if (n_names == cap_names) {
                        size_t cap = cap_names ? cap_names * 2 : 64;
                        uint64_t *v = realloc(names, cap * sizeof *v);
                        if (!v) {
                            free(names);
                            return -ENOMEM;
                        }
                        names = v;
                        cap_names = cap;
                    }
                    names[n_names++] = s->name;
                }
            }
        }
        for (size_t k = 0; k < sizeof pend / sizeof pend[0]; k++) {
            if (pend[k].on)
                emit_pending(o, &first, &pend[k]);
        }
    }
    cp_dynbuf_addstr(o, "],\"counters\":[");
    bool cfirst = true;
    for (size_t l = 0; m->counter_off && l < m->n_lanes; l++) {
        size_t a = m->counter_off[l], e = m->counter_off[l + 1];
        int64_t last_t = 0;
        bool any = false;
        for (size_t i = a; i < e; i++) {
            const struct cp_tcounter_pt *p = &m->counters[i];
            /* keep the point before the window, thin to the resolution */
            if (p->t > to || (i + 1 < e && m->counters[i + 1].t < from))
                continue;
            if (any && p->t - last_t < min_ns && i + 1 < e)
                continue;
            any = true;
            last_t = p->t;
            cp_dynbuf_printf(o, "%s[%zu,%lld,%lld]", cfirst ? "" : ",", l,
                             (long long)p->t, (long long)p->v);
            cfirst = false;
        }
    }
    cp_dynbuf_addstr(o, "],\"names\":{");
    for (size_t i = 0; i < n_names; i++) {
        const char *s = cp_trace_str(m->trace, names[i]);
        cp_dynbuf_printf(o, "%s\"%llu\":", i ? "," : "",
                         (unsigned long long)names[i]);
        cp_json_str(o, s, strlen(s));
    }
    free(names);
    return cp_dynbuf_addstr(o, "}}");
}

int cp_tmodel_span_json(const struct cp_tmodel *m, size_t i,
                        struct cp_dynbuf *o)
{
    const struct cp_tspan *s;
    char **frames = NULL;
    int n = 0;

    if (i >= m->n_spans)
        return -EINVAL;
    s = &m->spans[i];
    cp_dynbuf_printf(o, "{\"lane\":%u,\"start\":%lld,\"dur\":%lld,"
                        "\"kind\":%d,\"depth\":%d,\"name\":",
                     s->lane, (long long)s->start, (long long)s->dur,
                     s->kind, s->depth);
    const char *name = cp_trace_str(m->trace, s->name);
    cp_json_str(o, name, strlen(name));
    switch (s->kind) {
    case CP_TSPAN_REGION:
    case CP_TSPAN_TASK:
        cp_dynbuf_printf(o, ",\"task\":%llu", (unsigned long long)s->ref);
        break;
    case CP_TSPAN_LOG:
        if (s->ref < m->n_logs) {
            cp_dynbuf_addstr(o, ",\"message\":");
            cp_json_str(o, m->log_msgs[s->ref], strlen(m->log_msgs[s->ref]));
        }
        break;
    case CP_TSPAN_BLOCK:
    case CP_TSPAN_SAMPLE:
        cp_dynbuf_printf(o, ",\"%s\":\"%s\"",
                         s->kind == CP_TSPAN_BLOCK ? "block" : "cpu",
                         s->kind == CP_TSPAN_BLOCK
                             ? cp_trace_block_kind_name(s->sub)
                             : "");
        n = cp_trace_stack_names(m->trace, s->ref, &frames);
        cp_dynbuf_addstr(o, ",\"stack\":[");
        for (int k = 0; k < n; k++) {
            if (k)
                cp_dynbuf_addstr(o, ",");
            cp_json_str(o, frames[k], strlen(frames[k]));
            free(frames[k]);
        }
        free(frames);
        cp_dynbuf_addstr(o, "]");
        break;
    default: break;
    }
    return cp_dynbuf_addstr(o, "}");
}
