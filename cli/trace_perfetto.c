/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_perfetto.c - cprof trace -perfetto: the trace as a Perfetto
 * protobuf trace (a `Trace` message: a stream of TracePackets), which
 * ui.perfetto.dev opens at sizes JSON cannot reach.
 *
 * Perfetto's protos are not packaged in Debian, and we need a handful of
 * fields, so they are written by hand here; the field numbers are those
 * of perfetto/protos/perfetto/trace/ (trace_packet.proto,
 * track_event/track_event.proto, track_descriptor.proto,
 * interned_data/interned_data.proto, debug_annotation.proto).
 *
 * Tracks: the process; a track per thread (regions, blocking calls, logs
 * and CPU samples as slices and instants), with a child track "state"
 * (running / runnable / blocked, from context-switch records, by the
 * shared interval tracker src/trace/trace_sched.h); task lanes (tasks
 * of one name share lanes, a task keeps its lane from begin to end,
 * whichever threads begin and end it); a counter track per counter; a
 * track per CPU with the threads that ran there. Names, categories and
 * annotation names are interned on one packet sequence; each distinct
 * stack is one interned annotation string.
 *
 * Two scans: the first finds threads, names, counters, CPUs, task lanes
 * and the scheduling intervals, so every track is described before its
 * first event; the second writes the events. Timestamps stay the process's CLOCK_MONOTONIC ns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_format.h"
#include "trace/trace_sched.h"
#include "trace_cli.h"

/* ---- protobuf writing ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

static void pb_key(struct cp_dynbuf *b, int field, int wt)
{
    uint8_t v[CP_VARINT_MAX];
    cp_dynbuf_add(b, v,
                  (size_t)(cp_put_uvarint(v, (uint64_t)field << 3 | wt) - v));
}

static void pb_uv(struct cp_dynbuf *b, int field, uint64_t x)
{
    uint8_t v[CP_VARINT_MAX];
    pb_key(b, field, WT_VARINT);
    cp_dynbuf_add(b, v, (size_t)(cp_put_uvarint(v, x) - v));
}

static void pb_bytes(struct cp_dynbuf *b, int field, const void *p,
                     size_t n)
{
    uint8_t v[CP_VARINT_MAX];
    pb_key(b, field, WT_LEN);
    cp_dynbuf_add(b, v, (size_t)(cp_put_uvarint(v, n) - v));
    cp_dynbuf_add(b, p, n);
}

static void pb_str(struct cp_dynbuf *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Append sub as a length-delimited field, then empty sub. */
static void pb_msg(struct cp_dynbuf *b, int field, struct cp_dynbuf *sub)
{
    pb_bytes(b, field, sub->data, sub->len);
    cp_dynbuf_reset(sub);
}

/* field numbers */
enum {
    TRACE_PACKET = 1,
    TP_TIMESTAMP = 8,
    TP_SEQ_ID = 10,
    TP_TRACK_EVENT = 11,
    TP_INTERNED = 12,
    TP_SEQ_FLAGS = 13,
    TP_TRACK_DESC = 60,
    SEQ_CLEARED = 1,
    SEQ_NEEDS = 2,

    TD_UUID = 1,
    TD_NAME = 2,
    TD_PROCESS = 3,
    TD_THREAD = 4,
    TD_PARENT = 5,
    TD_COUNTER = 8,
    PD_PID = 1,
    PD_NAME = 6,
    THD_PID = 1,
    THD_TID = 2,
    THD_NAME = 5,
    CD_UNIT = 3,
    CD_UNIT_BYTES = 3,

    TE_CATEGORY_IIDS = 3,
    TE_DEBUG = 4,
    TE_TYPE = 9,
    TE_NAME_IID = 10,
    TE_TRACK = 11,
    TE_COUNTER = 30,
    TYPE_BEGIN = 1,
    TYPE_END = 2,
    TYPE_INSTANT = 3,
    TYPE_COUNTER = 4,

    ID_CATEGORIES = 1,
    ID_NAMES = 2,
    ID_ANN_NAMES = 3,
    ID_ANN_STRINGS = 29,
    IID = 1,
    INAME = 2,

    DA_NAME_IID = 1,
    DA_UINT = 3,
    DA_INT = 4,
    DA_STRING = 6,
    DA_STRING_IID = 17,
};

/* uuid spaces: tids, task lanes, counters and CPUs never collide */
#define UUID_PROCESS 1ull
#define UUID_THREAD(t) (0x100000000ull + (uint32_t)(t))
#define UUID_STATE(t) (0x200000000ull + (uint32_t)(t))
#define UUID_LANE(l) (0x300000000ull + (uint64_t)(l))
#define UUID_COUNTER(s) (0x400000000ull + (uint64_t)(s))
#define UUID_CPU(c) (0x500000000ull + (uint32_t)(c))

/* ---- interning (iid = index + 1 in a small hash map per kind) ---- */

struct intern {
    char **keys;
    uint64_t *iids;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
    return h;
}

/* The iid of s; *fresh when it was just added (so the caller emits it). */
static uint64_t intern(struct intern *m, const char *s, bool *fresh)
{
    size_t i;
    *fresh = false;
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        char **k = calloc(cap, sizeof *k);
        uint64_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return 0;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            i = hash_str(m->keys[j]) & (cap - 1);
            while (k[i])
                i = (i + 1) & (cap - 1);
            k[i] = m->keys[j];
            v[i] = m->iids[j];
        }
        free(m->keys);
        free(m->iids);
        m->keys = k;
        m->iids = v;
        m->cap = cap;
    }
    i = hash_str(s) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], s))
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = strdup(s);
        if (!m->keys[i])
            return 0;
        m->iids[i] = ++m->n;
        *fresh = true;
    }
    return m->iids[i];
}

static void intern_free(struct intern *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->iids);
}

/* ---- state of the two scans ---- */

struct pthread_info {
    int tid;
    uint64_t name;  /* latest name */
    int64_t name_ts;
};

struct task_iv {
    uint64_t id, name;
    int64_t begin, end;
    uint32_t lane;
};

struct lane {
    uint64_t name;
    int64_t free_at;
};

struct pw {
    struct cp_trace *t;
    FILE *f;
    struct cp_dynbuf out, pkt, te, sub, sub2, idata;
    struct intern names, cats, anns, strs;
    struct pthread_info *th;
    size_t n_th, cap_th;
    uint64_t *counters;
    size_t n_counters, cap_counters;
    bool cpus[4096];
    struct task_iv *tasks; /* sorted by id after pass 1 */
    size_t n_tasks, cap_tasks;
    struct lane *lanes;
    size_t n_lanes;
    struct cp_tsched *sched;
    int pid;
    bool first_packet;
    int err;
};

static struct pthread_info *pthr(struct pw *w, int tid)
{
    for (size_t i = w->n_th; i > 0; i--) {
        if (w->th[i - 1].tid == tid)
            return &w->th[i - 1];
    }
    if (w->n_th == w->cap_th) {
        size_t cap = w->cap_th ? w->cap_th * 2 : 16;
        struct pthread_info *v = realloc(w->th, cap * sizeof *v);
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

static void flush(struct pw *w, bool force)
{
    if (cp_trace_flush(&w->out, w->f, force) < 0)
        w->err = -EIO;
}

/* Finish the packet in w->pkt (+ interned data, + the track event in
 * w->te) and append it to the output. */
static void packet(struct pw *w, int64_t ts, bool has_event)
{
    struct cp_dynbuf p;
    cp_dynbuf_init(&p, (size_t)1 << 30);
    if (ts >= 0)
        pb_uv(&p, TP_TIMESTAMP, (uint64_t)ts);
    pb_uv(&p, TP_SEQ_ID, 1);
    if (w->first_packet) {
        pb_uv(&p, TP_SEQ_FLAGS, SEQ_CLEARED);
        w->first_packet = false;
    } else if (has_event) {
        pb_uv(&p, TP_SEQ_FLAGS, SEQ_NEEDS);
    }
    if (w->idata.len)
        pb_msg(&p, TP_INTERNED, &w->idata);
    if (has_event)
        pb_msg(&p, TP_TRACK_EVENT, &w->te);
    cp_dynbuf_add(&p, w->pkt.data, w->pkt.len);
    cp_dynbuf_reset(&w->pkt);
    pb_msg(&w->out, TRACE_PACKET, &p);
    cp_dynbuf_free(&p);
    flush(w, false);
}

/* Interned name / category / annotation name / annotation string. */
static uint64_t iid_of(struct pw *w, struct intern *m, int idfield,
                       int namefield, const char *s)
{
    bool fresh;
    uint64_t iid = intern(m, s, &fresh);
    if (!iid) {
        w->err = -ENOMEM;
        return 0;
    }
    if (fresh) {
        pb_uv(&w->sub2, IID, iid);
        pb_str(&w->sub2, namefield, s);
        pb_msg(&w->idata, idfield, &w->sub2);
    }
    return iid;
}

static void te_head(struct pw *w, int type, uint64_t track, const char *name,
                    const char *cat)
{
    pb_uv(&w->te, TE_TYPE, (uint64_t)type);
    pb_uv(&w->te, TE_TRACK, track);
    if (cat)
        pb_uv(&w->te, TE_CATEGORY_IIDS,
              iid_of(w, &w->cats, ID_CATEGORIES, INAME, cat));
    if (name)
        pb_uv(&w->te, TE_NAME_IID,
              iid_of(w, &w->names, ID_NAMES, INAME, name));
}

static void ann_int(struct pw *w, const char *name, int64_t v)
{
    pb_uv(&w->sub, DA_NAME_IID,
          iid_of(w, &w->anns, ID_ANN_NAMES, INAME, name));
    pb_uv(&w->sub, DA_INT, (uint64_t)v);
    pb_msg(&w->te, TE_DEBUG, &w->sub);
}

static void ann_str(struct pw *w, const char *name, const char *s, size_t n)
{
    pb_uv(&w->sub, DA_NAME_IID,
          iid_of(w, &w->anns, ID_ANN_NAMES, INAME, name));
    pb_bytes(&w->sub, DA_STRING, s, n);
    pb_msg(&w->te, TE_DEBUG, &w->sub);
}

/* A stack as one interned annotation string, frames one per line. */
static void ann_stack(struct pw *w, uint64_t stack)
{
    char **names = NULL, key[32];
    int n;
    struct cp_dynbuf s;
    bool fresh;
    uint64_t iid;

    if (!stack)
        return;
    snprintf(key, sizeof key, "%llu", (unsigned long long)stack);
    iid = intern(&w->strs, key, &fresh);
    if (!iid) {
        w->err = -ENOMEM;
        return;
    }
    if (fresh) {
        n = cp_trace_stack_names(w->t, stack, &names);
        cp_dynbuf_init(&s, (size_t)1 << 24);
        for (int i = 0; i < n; i++) {
            if (i)
                cp_dynbuf_addstr(&s, "\n");
            cp_dynbuf_addstr(&s, names[i]);
            free(names[i]);
        }
        free(names);
        pb_uv(&w->sub2, IID, iid);
        pb_bytes(&w->sub2, INAME, s.data ? s.data : "", s.len);
        pb_msg(&w->idata, ID_ANN_STRINGS, &w->sub2);
        cp_dynbuf_free(&s);
    }
    pb_uv(&w->sub, DA_NAME_IID,
          iid_of(w, &w->anns, ID_ANN_NAMES, INAME, "stack"));
    pb_uv(&w->sub, DA_STRING_IID, iid);
    pb_msg(&w->te, TE_DEBUG, &w->sub);
}

/* ---- pass 1: tracks ---- */

static int pass1(const struct cp_trace_event *e, void *arg)
{
    struct pw *w = arg;
    struct pthread_info *th;

    if (cp_tsched_add(w->sched, e) < 0)
        return w->err = -ENOMEM;
    switch (e->type) {
    case CP_TEV_COUNTER:
        for (size_t i = 0; i < w->n_counters; i++) {
            if (w->counters[i] == e->str)
                return 0;
        }
        if (w->n_counters == w->cap_counters) {
            size_t cap = w->cap_counters ? w->cap_counters * 2 : 8;
            uint64_t *v = realloc(w->counters, cap * sizeof *v);
            if (!v)
                return w->err = -ENOMEM;
            w->counters = v;
            w->cap_counters = cap;
        }
        w->counters[w->n_counters++] = e->str;
        return 0;
    case CP_TEV_TASK_BEGIN:
        if (w->n_tasks == w->cap_tasks) {
            size_t cap = w->cap_tasks ? w->cap_tasks * 2 : 64;
            struct task_iv *v = realloc(w->tasks, cap * sizeof *v);
            if (!v)
                return w->err = -ENOMEM;
            w->tasks = v;
            w->cap_tasks = cap;
        }
        w->tasks[w->n_tasks++] = (struct task_iv){e->task, e->str, e->ts,
                                                  INT64_MAX, 0};
        break;
    case CP_TEV_TASK_END:
        /* ends come after begins: the open task is near the end */
        for (size_t i = w->n_tasks; i > 0; i--) {
            if (w->tasks[i - 1].id == e->task) {
                if (w->tasks[i - 1].end == INT64_MAX)
                    w->tasks[i - 1].end = e->ts;
                break;
            }
        }
        break;
    default: break;
    }
    th = pthr(w, e->tid);
    if (!th)
        return w->err;
    if ((e->type == CP_TEV_THREAD || e->type == CP_TEV_THREAD_START ||
         e->type == CP_TEV_THREAD_NAME) &&
        e->str && (!th->name || e->ts >= th->name_ts)) {
        th->name = e->str;
        th->name_ts = e->ts;
    }
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const struct task_iv *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static int cmp_id(const void *a, const void *b)
{
    const struct task_iv *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Tasks of one name share lanes; a task takes the first lane of its name
 * free at its begin. */
static void assign_lanes(struct pw *w)
{
    if (w->n_tasks)
        qsort(w->tasks, w->n_tasks, sizeof *w->tasks, cmp_begin);
    for (size_t i = 0; i < w->n_tasks; i++) {
        struct task_iv *t = &w->tasks[i];
        size_t l;
        for (l = 0; l < w->n_lanes; l++) {
            if (w->lanes[l].name == t->name && w->lanes[l].free_at <= t->begin)
                break;
        }
        if (l == w->n_lanes) {
            struct lane *v = realloc(w->lanes, (l + 1) * sizeof *v);
            if (!v) {
                w->err = -ENOMEM;
                return;
            }
            w->lanes = v;
            w->lanes[l].name = t->name;
            w->n_lanes++;
        }
        w->lanes[l].free_at = t->end;
        t->lane = (uint32_t)l;
    }
    if (w->n_tasks)
        qsort(w->tasks, w->n_tasks, sizeof *w->tasks, cmp_id);
}

static const struct task_iv *task_find(struct pw *w, uint64_t id)
{
    size_t lo = 0, hi = w->n_tasks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->tasks[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->n_tasks && w->tasks[lo].id == id ? &w->tasks[lo] : NULL;
}

static void describe_tracks(struct pw *w)
{
    const char *cmd = cp_trace_info(w->t, "cmdline");
    char name[96];

    /* process */
    pb_uv(&w->sub, PD_PID, (uint64_t)w->pid);
    pb_str(&w->sub, PD_NAME, cmd && *cmd ? cmd : "traced process");
    pb_uv(&w->sub2, TD_UUID, UUID_PROCESS);
    pb_msg(&w->sub2, TD_PROCESS, &w->sub);
    pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
    packet(w, -1, false);
    for (size_t i = 0; i < w->n_th; i++) {
        const struct pthread_info *th = &w->th[i];
        if (!th->tid)
            continue;
        const char *n = th->name ? cp_trace_str(w->t, th->name) : "";
        if (!*n) {
            snprintf(name, sizeof name, "thread %d", th->tid);
            n = name;
        }
        pb_uv(&w->sub, THD_PID, (uint64_t)w->pid);
        pb_uv(&w->sub, THD_TID, (uint64_t)th->tid);
        pb_str(&w->sub, THD_NAME, n);
        pb_uv(&w->sub2, TD_UUID, UUID_THREAD(th->tid));
        pb_uv(&w->sub2, TD_PARENT, UUID_PROCESS);
        pb_msg(&w->sub2, TD_THREAD, &w->sub);
        pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
        packet(w, -1, false);
        pb_uv(&w->sub2, TD_UUID, UUID_STATE(th->tid));
        pb_uv(&w->sub2, TD_PARENT, UUID_THREAD(th->tid));
        pb_str(&w->sub2, TD_NAME, "state");
        pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
        packet(w, -1, false);
    }
    for (size_t l = 0; l < w->n_lanes; l++) {
        pb_uv(&w->sub2, TD_UUID, UUID_LANE(l));
        pb_uv(&w->sub2, TD_PARENT, UUID_PROCESS);
        snprintf(name, sizeof name, "task %s",
                 cp_trace_str(w->t, w->lanes[l].name));
        pb_str(&w->sub2, TD_NAME, name);
        pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
        packet(w, -1, false);
    }
    for (size_t i = 0; i < w->n_counters; i++) {
        pb_uv(&w->sub2, TD_UUID, UUID_COUNTER(w->counters[i]));
        pb_uv(&w->sub2, TD_PARENT, UUID_PROCESS);
        pb_str(&w->sub2, TD_NAME, cp_trace_str(w->t, w->counters[i]));
        pb_uv(&w->sub, CD_UNIT, CD_UNIT_BYTES);
        pb_msg(&w->sub2, TD_COUNTER, &w->sub);
        pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
        packet(w, -1, false);
    }
    for (int c = 0; c < 4096; c++) {
        if (!w->cpus[c])
            continue;
        pb_uv(&w->sub2, TD_UUID, UUID_CPU(c));
        snprintf(name, sizeof name, "CPU %d", c);
        pb_str(&w->sub2, TD_NAME, name);
        pb_msg(&w->pkt, TP_TRACK_DESC, &w->sub2);
        packet(w, -1, false);
    }
}

/* ---- pass 2: events ---- */

static void slice(struct pw *w, uint64_t track, int64_t b, int64_t e,
                  const char *name, const char *cat)
{
    te_head(w, TYPE_BEGIN, track, name, cat);
    packet(w, b, true);
    te_head(w, TYPE_END, track, NULL, NULL);
    packet(w, e, true);
}

static int pass2(const struct cp_trace_event *e, void *arg)
{
    struct pw *w = arg;
    uint64_t track = UUID_THREAD(e->tid);
    char name[128];

    switch (e->type) {
    case CP_TEV_REGION_BEGIN:
        te_head(w, TYPE_BEGIN, track, cp_trace_str(w->t, e->str), "region");
        packet(w, e->ts, true);
        break;
    case CP_TEV_REGION_END:
        te_head(w, TYPE_END, track, NULL, NULL);
        packet(w, e->ts, true);
        break;
    case CP_TEV_TASK_BEGIN: {
        const struct task_iv *t = task_find(w, e->task);
        if (!t)
            break;
        te_head(w, TYPE_BEGIN, UUID_LANE(t->lane), cp_trace_str(w->t, e->str),
                "task");
        ann_int(w, "task", (int64_t)e->task);
        ann_int(w, "begun_on_tid", e->tid);
        packet(w, e->ts, true);
        if (t->end == INT64_MAX) {
            te_head(w, TYPE_END, UUID_LANE(t->lane), NULL, NULL);
            packet(w, cp_trace_end_ns(w->t), true);
        }
        break;
    }
    case CP_TEV_TASK_END: {
        const struct task_iv *t = task_find(w, e->task);
        if (!t || t->end != e->ts)
            break; /* begun before the trace, or ended twice */
        te_head(w, TYPE_END, UUID_LANE(t->lane), NULL, NULL);
        ann_int(w, "ended_on_tid", e->tid);
        packet(w, e->ts, true);
        break;
    }
    case CP_TEV_LOG: {
        const char *cat = cp_trace_str(w->t, e->str);
        te_head(w, TYPE_INSTANT, track, *cat ? cat : "log", "log");
        ann_str(w, "message", e->msg ? e->msg : "", e->msg_len);
        packet(w, e->ts, true);
        break;
    }
    case CP_TEV_BLOCK:
        te_head(w, TYPE_BEGIN, track, cp_trace_str(w->t, e->str), "block");
        ann_str(w, "kind", cp_trace_block_kind_name(e->kind),
                strlen(cp_trace_block_kind_name(e->kind)));
        ann_stack(w, e->stack);
        packet(w, e->ts - e->dur, true);
        te_head(w, TYPE_END, track, NULL, NULL);
        packet(w, e->ts, true);
        break;
    case CP_TEV_SAMPLE: {
        char **names = NULL;
        int n = cp_trace_stack_names(w->t, e->stack, &names);
        snprintf(name, sizeof name, "%s", n > 0 ? names[0] : "(unknown)");
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        te_head(w, TYPE_INSTANT, track, name, "cpu_sample");
        ann_int(w, "cpu", e->value);
        ann_stack(w, e->stack);
        packet(w, e->ts, true);
        break;
    }
    case CP_TEV_LOST:
        te_head(w, TYPE_INSTANT, track, "events lost", "lost");
        ann_int(w, "lost", e->value);
        packet(w, e->ts, true);
        break;
    case CP_TEV_COUNTER:
        pb_uv(&w->te, TE_TYPE, TYPE_COUNTER);
        pb_uv(&w->te, TE_TRACK, UUID_COUNTER(e->str));
        pb_uv(&w->te, TE_COUNTER, (uint64_t)e->value);
        packet(w, e->ts, true);
        break;
    case CP_TEV_THREAD_START:
        te_head(w, TYPE_INSTANT, track, "thread start", "thread");
        ann_int(w, "creator", e->value);
        {
            char **r = NULL;
            int nr = cp_trace_stack_names(w->t, e->stack, &r);
            if (nr > 0)
                ann_str(w, "start_routine", r[0], strlen(r[0]));
            for (int i = 0; i < nr; i++)
                free(r[i]);
            free(r);
        }
        ann_stack(w, e->stack2);
        packet(w, e->ts, true);
        break;
    case CP_TEV_THREAD_EXIT:
        te_head(w, TYPE_INSTANT, track, "thread exit", "thread");
        packet(w, e->ts, true);
        break;
    default: break;
    }
    return w->err;
}

/* The scheduling intervals of the threads with switch records: on each
 * thread's state track, and the running ones on their CPU's track.
 * Estimated intervals (no switch records) are not drawn: the blocking
 * calls are on the thread's track already. */
static void sched_slices(struct pw *w)
{
    char name[128];
    for (size_t i = 0; i < cp_tsched_count(w->sched) && !w->err; i++) {
        const struct cp_tsched_thread *ts = cp_tsched_at(w->sched, i);
        const struct pthread_info *th = pthr(w, ts->tid);
        const char *n = th && th->name ? cp_trace_str(w->t, th->name) : "";
        for (size_t k = 0; k < ts->n_iv && !w->err; k++) {
            const struct cp_tsched_iv *v = &ts->iv[k];
            const char *st = cp_tsched_state_name(v->state);
            if (v->flags & CP_TSCHED_ESTIMATED)
                continue;
            if (v->state == CP_TSCHED_BLOCKED && v->reason) {
                snprintf(name, sizeof name, "blocked (%s)",
                         cp_trace_block_kind_name(v->reason));
                st = name;
            }
            slice(w, UUID_STATE(ts->tid), v->start, v->end, st, "sched");
            if (v->state == CP_TSCHED_RUNNING && v->cpu >= 0 &&
                v->cpu < 4096) {
                snprintf(name, sizeof name, "%s %d", *n ? n : "thread",
                         ts->tid);
                slice(w, UUID_CPU(v->cpu), v->start, v->end, name, "sched");
            }
        }
    }
}

int cp_trace_write_perfetto(struct cp_trace *t, FILE *f)
{
    struct pw w;
    const char *pid = cp_trace_info(t, "pid");
    int r;

    memset(&w, 0, sizeof w);
    w.t = t;
    w.f = f;
    w.pid = pid ? atoi(pid) : 1;
    w.first_packet = true;
    cp_dynbuf_init(&w.out, (size_t)1 << 32);
    cp_dynbuf_init(&w.pkt, (size_t)1 << 30);
    cp_dynbuf_init(&w.te, (size_t)1 << 30);
    cp_dynbuf_init(&w.sub, (size_t)1 << 30);
    cp_dynbuf_init(&w.sub2, (size_t)1 << 30);
    cp_dynbuf_init(&w.idata, (size_t)1 << 30);

    w.sched = cp_tsched_new(cp_trace_start_ns(t));
    r = w.sched ? cp_trace_scan(t, pass1, &w) : -ENOMEM;
    if (r == 0)
        r = w.err;
    if (r == 0)
        r = cp_tsched_finish(w.sched, cp_trace_end_ns(t));
    if (r == 0) {
        /* a CPU track for every CPU a thread ran on */
        for (size_t i = 0; i < cp_tsched_count(w.sched); i++) {
            const struct cp_tsched_thread *ts = cp_tsched_at(w.sched, i);
            for (size_t k = 0; k < ts->n_iv; k++) {
                const struct cp_tsched_iv *v = &ts->iv[k];
                if (!(v->flags & CP_TSCHED_ESTIMATED) && v->cpu >= 0 &&
                    v->cpu < 4096)
                    w.cpus[v->cpu] = true;
            }
        }
        assign_lanes(&w);
        describe_tracks(&w);
        r = cp_trace_scan(t, pass2, &w);
        if (r == 0)
            r = w.err;
    }
    if (r == 0)
        sched_slices(&w);
    flush(&w, true);
    if (r == 0)
        r = w.err;
    intern_free(&w.names);
    intern_free(&w.cats);
    intern_free(&w.anns);
    intern_free(&w.strs);
    free(w.th);
    free(w.counters);
    free(w.tasks);
    free(w.lanes);
    cp_tsched_free(w.sched);
    cp_dynbuf_free(&w.out);
    cp_dynbuf_free(&w.pkt);
    cp_dynbuf_free(&w.te);
    cp_dynbuf_free(&w.sub);
    cp_dynbuf_free(&w.sub2);
    cp_dynbuf_free(&w.idata);
    return r;
}
