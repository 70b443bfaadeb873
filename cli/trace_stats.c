/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_stats.c - the tables go tool trace shows, for cprof traces: per
 * region type and per task type, count and min/median/p90/p99/max
 * duration with the slowest instances; per thread, time running,
 * runnable and blocked (the shared interval tracker, trace_sched.h:
 * from context-switch records where the trace has them, else estimated
 * from the blocking calls), samples, events and losses. One scan of the
 * trace; printed as text (cprof trace -summary)
 * or JSON (the viewer's tables). Also the helpers the other writers
 * share: JSON strings, stack names.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/symbolize.h"
#include "trace/trace_format.h"
#include "trace/trace_sched.h"
#include "trace_cli.h"

/* ---- shared by the exports ---- */

int cp_trace_flush(struct cp_dynbuf *o, FILE *f, bool force)
{
    int r = 0;

    if (o->len && (force || o->len > (1 << 20))) {
        if (fwrite(o->data, 1, o->len, f) != o->len)
            r = -EIO;
        cp_dynbuf_reset(o);
    }
    return r;
}

/* ---- open regions and tasks per thread ---- */

int cp_tregions_push(struct cp_tregions *s, uint64_t name, int64_t start,
                     uint64_t task)
{
    if (s->depth == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct cp_topen *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->depth++] = (struct cp_topen){name, start, task};
    return 0;
}

int cp_ttasks_push(struct cp_ttasks *s, uint64_t id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return 0;
}

void cp_ttasks_remove(struct cp_ttasks *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == id) {
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
            s->n--;
            break;
        }
    }
}

/* ---- JSON strings ---- */

void cp_json_str(struct cp_dynbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char buf[256];
    size_t n = 0;

    buf[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (n > sizeof buf - 8) {
            cp_dynbuf_add(out, buf, n);
            n = 0;
        }
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[n++] = '\\';
            buf[n++] = 'u';
            buf[n++] = '0';
            buf[n++] = '0';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        } else if (c >= 0x80) {
            /* pass valid UTF-8 through; anything else becomes U+FFFD */
            size_t need = c >= 0xf0 && c < 0xf5   ? 3
                          : c >= 0xe0             ? 2
                          : c >= 0xc2 && c < 0xe0 ? 1
                                                  : 9;
            bool ok = need < 4 && i + need < len + 0;
            for (size_t k = 1; ok && k <= need; k++)
                ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
            if (ok) {
                for (size_t k = 0; k <= need; k++)
                    buf[n++] = s[i + k];
                i += need;
            } else {
                memcpy(buf + n, "\\ufffd", 6);
                n += 6;
            }
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    cp_dynbuf_add(out, buf, n);
}

/* ---- stack names ---- */

/* Symbolizing a trace that has no symbol table (cut short before its
 * end): from its mappings and the files on this machine. One cache for
 * the process, for the last trace asked. */
static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cp_trace *sym_trace;
static struct cp_symbolizer *sym;

static int fallback_lookup(struct cp_trace *t, uint64_t pc,
                           struct cp_sym_frame *fr, int max)
{
    int n;
    pthread_mutex_lock(&sym_lock);
    if (sym_trace != t) {
        const struct cp_trace_mapping *m;
        int nm = cp_trace_mappings(t, &m);
        if (sym)
            cp_sym_destroy(sym);
        sym = cp_sym_new();
        sym_trace = t;
        for (int i = 0; sym && i < nm; i++) {
            if (m[i].path[0] && m[i].path[0] != '[')
                cp_sym_add_module(sym, m[i].path, m[i].start, m[i].limit,
                                  m[i].offset,
                                  m[i].build_id[0] ? m[i].build_id : NULL);
        }
    }
    n = sym ? cp_sym_lookup(sym, pc, fr, max) : 0;
    pthread_mutex_unlock(&sym_lock);
    return n;
}

int cp_trace_stack_names(struct cp_trace *t, uint64_t stack, char ***names)
{
    const uint64_t *pcs;
    int n = cp_trace_stack(t, stack, &pcs), k = 0, cap = n + 8;
    char **v;

    *names = NULL;
    if (n <= 0)
        return 0;
    v = calloc((size_t)cap, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const struct cp_trace_frame *f;
        int nf = cp_trace_symbolize(t, pcs[i], &f);
        if (nf > 0) {
            for (int j = 0; j < nf; j++) {
                char *s = NULL;
                if (k == cap) {
                    char **nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
                    if (!nv)
                        break;
                    v = nv;
                }
                if (f[j].file[0])
                    s = NULL, asprintf(&s, "%s (%s:%" PRId64 ")",
                                       f[j].function[0] ? f[j].function : "?",
                                       f[j].file, f[j].line);
                else
                    s = strdup(f[j].function[0] ? f[j].function : "?");
                if (s)
                    v[k++] = s;
            }
            continue;
        }
        struct cp_sym_frame fr[8];
        int m = fallback_lookup(t, pcs[i], fr, 8);
        for (int j = 0; j < m || j == 0; j++) {
            char *s = NULL;
            if (k == cap) {
                char **nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
                if (!nv)
                    break;
                v = nv;
            }
            if (m == 0)
                asprintf(&s, "0x%" PRIx64, pcs[i]);
            else if (fr[j].file)
                asprintf(&s, "%s (%s:%d)", fr[j].function ? fr[j].function
                                                          : "?",
                         fr[j].file, fr[j].line);
            else
                s = strdup(fr[j].function ? fr[j].function : "?");
            if (s)
                v[k++] = s;
        }
    }
    *names = v;
    return k;
}

/* ---- distributions ---- */

#define HIST_BUCKETS (256 + 56 * 256)

static size_t bucket(int64_t v)
{
    uint64_t u = v > 0 ? (uint64_t)v : 0;
    int e;
    if (u < 256)
        return (size_t)u;
    e = 63 - __builtin_clzll(u);
    return 256 + (size_t)(e - 8) * 256 + ((u >> (e - 8)) & 255);
}

/* Lower bound of a bucket (the value reported for it). */
static int64_t bucket_value(size_t b)
{
    size_t e;
    if (b < 256)
        return (int64_t)b;
    e = (b - 256) / 256 + 8;
    return (int64_t)(((uint64_t)256 + (b & 255)) << (e - 8));
}

static void dist_add(struct cp_tstat_dist *d, int64_t v)
{
    if (v < 0)
        v = 0;
    if (!d->count || v < d->min)
        d->min = v;
    if (!d->count || v > d->max)
        d->max = v;
    d->count++;
    d->total += v;
    if (d->hist) {
        d->hist[bucket(v)]++;
        return;
    }
    if (d->n == d->cap && d->n < CP_TSTAT_EXACT) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        int64_t *nv = realloc(d->v, cap * sizeof *nv);
        if (nv) {
            d->v = nv;
            d->cap = cap;
        }
    }
    if (d->n < d->cap) {
        d->v[d->n++] = v;
        return;
    }
    /* too many to keep: switch to the histogram */
    d->hist = calloc(HIST_BUCKETS, sizeof *d->hist);
    if (!d->hist)
        return;
    for (size_t i = 0; i < d->n; i++)
        d->hist[bucket(d->v[i])]++;
    d->hist[bucket(v)]++;
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t quantile(struct cp_tstat_dist *d, double q)
{
    uint64_t rank;
    if (!d->count)
        return 0;
    rank = (uint64_t)(q * (double)(d->count - 1) + 0.5);
    if (!d->hist)
        return d->v[rank < d->n ? rank : d->n - 1];
    uint64_t seen = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++) {
        seen += d->hist[b];
        if (seen > rank) {
            int64_t v = bucket_value(b);
            return v < d->min ? d->min : v > d->max ? d->max : v;
        }
    }
    return d->max;
}

static void dist_finish(struct cp_tstat_dist *d)
{
    if (!d->hist && d->n)
        qsort(d->v, d->n, sizeof *d->v, cmp_i64);
    d->median = quantile(d, 0.5);
    d->p90 = quantile(d, 0.9);
    d->p99 = quantile(d, 0.99);
}

static void dist_free(struct cp_tstat_dist *d)
{
    free(d->v);
    free(d->hist);
    d->v = NULL;
    d->hist = NULL;
}

/* ---- an id -> index map ---- */

struct imap {
    uint64_t *keys;
    uint32_t *vals; /* index + 1, 0 = empty */
    size_t cap, n;
};

static uint32_t *imap_slot(struct imap *m, uint64_t key)
{
    size_t i;
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return NULL;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->vals[j])
                continue;
            i = (size_t)(m->keys[j] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
            while (v[i])
                i = (i + 1) & (cap - 1);
            k[i] = m->keys[j];
            v[i] = m->vals[j];
        }
        free(m->keys);
        free(m->vals);
        m->keys = k;
        m->vals = v;
        m->cap = cap;
    }
    i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    return &m->vals[i];
}

static void imap_free(struct imap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- the scan ---- */

struct open_region {
    uint64_t name;
    int64_t start;
};

struct thread_state {
    struct open_region *stack;
    size_t depth, cap;
    int64_t name_ts;  /* time of the name kept (the latest wins) */
};

struct open_task {
    uint64_t name;
    int64_t start;
    int tid;
};

struct scan {
    struct cp_trace *t;
    struct cp_tstats *s;
    struct imap threads, region_types, task_types, tasks;
    struct thread_state *ts;
    size_t cap_ts;
    struct open_task *otasks;
    size_t n_otasks, cap_otasks;
    struct cp_tsched *sched; /* running/runnable/blocked per thread */
    int err;
};

static struct cp_tstat_thread *thread_of(struct scan *c, int tid, size_t *idx)
{
    uint32_t *slot = imap_slot(&c->threads, (uint64_t)(uint32_t)tid);
    struct cp_tstats *s = c->s;
    if (!slot) {
        c->err = -ENOMEM;
        return NULL;
    }
    if (!*slot) {
        struct cp_tstat_thread *v =
            realloc(s->threads, (s->n_threads + 1) * sizeof *v);
        if (!v) {
            c->err = -ENOMEM;
            return NULL;
        }
        s->threads = v;
        if (s->n_threads + 1 > c->cap_ts) {
            size_t cap = c->cap_ts ? c->cap_ts * 2 : 16;
            struct thread_state *nt = realloc(c->ts, cap * sizeof *nt);
            if (!nt) {
                c->err = -ENOMEM;
                return NULL;
            }
            c->ts = nt;
            c->cap_ts = cap;
        }
        memset(&c->ts[s->n_threads], 0, sizeof c->ts[0]);
        memset(&v[s->n_threads], 0, sizeof v[0]);
        v[s->n_threads].tid = tid;
        v[s->n_threads].first = INT64_MAX;
        v[s->n_threads].last = INT64_MIN;
        v[s->n_threads].last_cpu = -1;
        *slot = (uint32_t)++s->n_threads;
        c->threads.n++;
    }
    *idx = *slot - 1;
    return &s->threads[*slot - 1];
}

static struct cp_tstat_type *type_of(struct scan *c, struct imap *m,
                                     struct cp_tstat_type **arr, size_t *n,
                                     uint64_t name)
{
    uint32_t *slot = imap_slot(m, name);
    if (!slot) {
        c->err = -ENOMEM;
        return NULL;
    }
    if (!*slot) {
        struct cp_tstat_type *v = realloc(*arr, (*n + 1) * sizeof *v);
        if (!v) {
            c->err = -ENOMEM;
            return NULL;
        }
        *arr = v;
        memset(&v[*n], 0, sizeof v[0]);
        v[*n].name = cp_trace_str(c->t, name);
        *slot = (uint32_t)++*n;
        m->n++;
    }
    return &(*arr)[*slot - 1];
}

static void note_slow(struct cp_tstat_type *ty, int64_t start, int64_t dur,
                      int tid, uint64_t task)
{
    int i = ty->n_slowest;
    if (i == CP_TSTAT_SLOWEST) {
        if (dur <= ty->slowest[i - 1].dur)
            return;
        i--;
    } else {
        ty->n_slowest++;
    }
    while (i > 0 && ty->slowest[i - 1].dur < dur) {
        ty->slowest[i] = ty->slowest[i - 1];
        i--;
    }
    ty->slowest[i] = (struct cp_tstat_inst){start, dur, tid, task};
}

static int on_event(const struct cp_trace_event *e, void *arg)
{
    struct scan *c = arg;
    struct cp_tstats *s = c->s;
    struct cp_tstat_thread *th = NULL;
    struct thread_state *st = NULL;
    size_t idx;
    int64_t rel = e->ts - s->start;

    if ((unsigned)e->type < 32)
        s->n_events[e->type]++;
    if (cp_tsched_add(c->sched, e) < 0)
        return c->err = -ENOMEM;
    if (e->type == CP_TEV_COUNTER)
        return 0;
    th = thread_of(c, e->tid, &idx);
    if (!th)
        return c->err;
    st = &c->ts[idx];
    if (rel < th->first)
        th->first = rel;
    if (rel > th->last)
        th->last = rel;
    /* what the writer counts: the thread's own events, not the LOST and
     * CPU markers it adds */
    if (!e->from_global && e->type != CP_TEV_LOST && e->type != CP_TEV_CPU)
        th->events++;
    switch (e->type) {
    case CP_TEV_REGION_BEGIN:
        if (st->depth == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 8;
            struct open_region *v = realloc(st->stack, cap * sizeof *v);
            if (!v)
                return c->err = -ENOMEM;
            st->stack = v;
            st->cap = cap;
        }
        st->stack[st->depth++] = (struct open_region){e->str, rel};
        break;
    case CP_TEV_REGION_END: {
        struct cp_tstat_type *ty;
        struct open_region o;
        if (!st->depth) {
            s->unmatched_ends++;
            break;
        }
        o = st->stack[--st->depth];
        ty = type_of(c, &c->region_types, &s->regions, &s->n_regions, o.name);
        if (!ty)
            return c->err;
        dist_add(&ty->d, rel - o.start);
        note_slow(ty, o.start, rel - o.start, e->tid, 0);
        th->regions++;
        break;
    }
    case CP_TEV_TASK_BEGIN: {
        uint32_t *slot = imap_slot(&c->tasks, e->task);
        if (!slot)
            return c->err = -ENOMEM;
        if (*slot)
            break; /* the same id twice: keep the first */
        if (c->n_otasks == c->cap_otasks) {
            size_t cap = c->cap_otasks ? c->cap_otasks * 2 : 64;
            struct open_task *v = realloc(c->otasks, cap * sizeof *v);
            if (!v)
                return c->err = -ENOMEM;
            c->otasks = v;
            c->cap_otasks = cap;
        }
        c->otasks[c->n_otasks] = (struct open_task){e->str, rel, e->tid};
        *slot = (uint32_t)++c->n_otasks;
        c->tasks.n++;
        break;
    }
    case CP_TEV_TASK_END: {
        uint32_t *slot = imap_slot(&c->tasks, e->task);
        struct cp_tstat_type *ty;
        struct open_task *o;
        if (!slot)
            return c->err = -ENOMEM;
        if (!*slot) {
            /* imap_slot claimed nothing: keys without value are empty */
            break;
        }
        o = &c->otasks[*slot - 1];
        if (o->start == INT64_MIN)
            break; /* ended twice */
        ty = type_of(c, &c->task_types, &s->tasks, &s->n_tasks, o->name);
        if (!ty)
            return c->err;
        dist_add(&ty->d, rel - o->start);
        note_slow(ty, o->start, rel - o->start, o->tid, e->task);
        o->start = INT64_MIN;
        break;
    }
    case CP_TEV_LOST: th->lost += (uint64_t)e->value; break;
    case CP_TEV_CPU: th->last_cpu = (int)e->value; break;
    case CP_TEV_SAMPLE:
        th->samples++;
        th->last_cpu = (int)e->value;
        break;
    case CP_TEV_BLOCK:
        switch (e->kind) {
        case CP_TRK_SYSCALL: th->blocked_syscall += e->dur; break;
        case CP_TRK_SLEEP: th->blocked_sleep += e->dur; break;
        case CP_TRK_JOIN: th->blocked_join += e->dur; break;
        default: th->blocked_sync += e->dur; break;
        }
        break;
    case CP_TEV_SCHED_IN: th->last_cpu = (int)e->value; break;
    case CP_TEV_THREAD_START:
    case CP_TEV_THREAD:
    case CP_TEV_THREAD_NAME: {
        const char *n = cp_trace_str(c->t, e->str);
        if (*n && (!th->name[0] || e->ts >= st->name_ts)) {
            snprintf(th->name, sizeof th->name, "%s", n);
            st->name_ts = e->ts;
        }
        break;
    }
    default: break;
    }
    return 0;
}

static int cmp_type(const void *a, const void *b)
{
    const struct cp_tstat_type *x = a, *y = b;
    if (x->d.total != y->d.total)
        return x->d.total < y->d.total ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int cmp_thread(const void *a, const void *b)
{
    const struct cp_tstat_thread *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

int cp_tstats_compute(struct cp_trace *t, struct cp_tstats *s)
{
    struct scan c;
    int r;

    memset(s, 0, sizeof *s);
    memset(&c, 0, sizeof c);
    c.t = t;
    c.s = s;
    s->start = cp_trace_start_ns(t);
    c.sched = cp_tsched_new(s->start);
    r = c.sched ? cp_trace_scan(t, on_event, &c) : -ENOMEM;
    if (r == 0)
        r = c.err;
    s->end = cp_trace_end_ns(t);
    if (r == 0)
        r = cp_tsched_finish(c.sched, s->end);
    for (size_t i = 0; i < s->n_threads; i++) {
        struct cp_tstat_thread *th = &s->threads[i];
        struct thread_state *st = &c.ts[i];
        const struct cp_tsched_thread *ts =
            r == 0 ? cp_tsched_find(c.sched, th->tid) : NULL;
        s->lost += th->lost + cp_trace_unreported(t, th->tid);
        /* its life and how it spent it: the tracker's intervals sum to
         * end - begin, whatever records were lost or came after its exit */
        if (ts) {
            th->first = ts->begin - s->start;
            th->last = ts->end - s->start;
            th->running = ts->running;
            th->runnable = ts->runnable;
            th->blocked = ts->blocked;
            th->precise = ts->precise;
            th->switches = ts->switches;
        }
        /* regions still open at the end */
        for (size_t k = 0; k < st->depth; k++) {
            struct cp_tstat_type *ty = type_of(
                &c, &c.region_types, &s->regions, &s->n_regions,
                st->stack[k].name);
            if (ty)
                ty->unfinished++;
        }
        free(st->stack);
    }
    for (size_t i = 0; i < c.n_otasks; i++) {
        if (c.otasks[i].start == INT64_MIN)
            continue;
        struct cp_tstat_type *ty = type_of(&c, &c.task_types, &s->tasks,
                                           &s->n_tasks, c.otasks[i].name);
        if (ty)
            ty->unfinished++;
    }
    for (size_t i = 0; i < s->n_regions; i++)
        dist_finish(&s->regions[i].d);
    for (size_t i = 0; i < s->n_tasks; i++)
        dist_finish(&s->tasks[i].d);
    if (s->n_regions)
        qsort(s->regions, s->n_regions, sizeof *s->regions, cmp_type);
    if (s->n_tasks)
        qsort(s->tasks, s->n_tasks, sizeof *s->tasks, cmp_type);
    if (s->n_threads)
        qsort(s->threads, s->n_threads, sizeof *s->threads, cmp_thread);
    free(c.ts);
    free(c.otasks);
    cp_tsched_free(c.sched);
    imap_free(&c.threads);
    imap_free(&c.region_types);
    imap_free(&c.task_types);
    imap_free(&c.tasks);
    if (r < 0)
        cp_tstats_free(s);
    return r < 0 ? r : 0;
}

void cp_tstats_free(struct cp_tstats *s)
{
    for (size_t i = 0; i < s->n_regions; i++)
        dist_free(&s->regions[i].d);
    for (size_t i = 0; i < s->n_tasks; i++)
        dist_free(&s->tasks[i].d);
    free(s->regions);
    free(s->tasks);
    free(s->threads);
    memset(s, 0, sizeof *s);
}

/* ---- text ---- */

static const char *dur(char buf[24], int64_t ns)
{
    double v = (double)ns;
    if (ns < 1000)
        snprintf(buf, 24, "%lldns", (long long)ns);
    else if (ns < 1000000)
        snprintf(buf, 24, "%.3gus", v / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, 24, "%.4gms", v / 1e6);
    else
        snprintf(buf, 24, "%.4gs", v / 1e9);
    return buf;
}

static void print_types(FILE *out, const char *title,
                        const struct cp_tstat_type *v, size_t n)
{
    char b[7][24];
    if (!n)
        return;
    fprintf(out, "\n%-28s %8s %10s %9s %9s %9s %9s %9s %s\n", title, "count",
            "total", "min", "median", "p90", "p99", "max", "unfinished");
    for (size_t i = 0; i < n; i++) {
        const struct cp_tstat_dist *d = &v[i].d;
        fprintf(out, "%-28.28s %8llu %10s %9s %9s %9s %9s %9s %llu\n",
                v[i].name[0] ? v[i].name : "(unnamed)",
                (unsigned long long)d->count, dur(b[0], d->total),
                dur(b[1], d->min), dur(b[2], d->median), dur(b[3], d->p90),
                dur(b[4], d->p99), dur(b[5], d->max),
                (unsigned long long)v[i].unfinished);
    }
}

void cp_tstats_print(struct cp_trace *t, const struct cp_tstats *s, FILE *out)
{
    char b[8][24];
    uint64_t total = 0;
    const char *cmd = cp_trace_info(t, "cmdline");

    for (int i = 0; i < 32; i++)
        total += s->n_events[i];
    fprintf(out, "Trace of %s (pid %s): %s, %llu events, %llu lost%s\n",
            cmd && *cmd ? cmd : "?", cp_trace_info(t, "pid") ?: "?",
            dur(b[0], s->end - s->start), (unsigned long long)total,
            (unsigned long long)s->lost,
            cp_trace_complete(t) ? "" : " (incomplete: no end record)");
    fprintf(out, "Clock: %s\nScheduling: %s\nCPU samples: %s\n",
            cp_trace_info(t, "clock_description") ?: "?",
            cp_trace_info(t, "sched") ?: "?",
            cp_trace_info(t, "cpu_samples") ?: "?");
    fprintf(out, "Events:");
    for (int i = 1; i < CP_TEV__COUNT; i++) {
        if (s->n_events[i])
            fprintf(out, " %s=%llu", cp_trace_evtype_name(i),
                    (unsigned long long)s->n_events[i]);
    }
    fputc('\n', out);
    print_types(out, "Region", s->regions, s->n_regions);
    print_types(out, "Task", s->tasks, s->n_tasks);
    if (s->unmatched_ends)
        fprintf(out, "(%llu region ends without their begin: begun before "
                     "the trace, or lost)\n",
                (unsigned long long)s->unmatched_ends);
    fprintf(out, "\n%-8s %-16s %10s %10s %10s %10s %10s %10s %8s %8s %6s "
                 "%s\n",
            "Thread", "name", "running", "runnable", "blocked", "sync",
            "syscall", "sleep", "samples", "events", "lost", "sched");
    for (size_t i = 0; i < s->n_threads; i++) {
        const struct cp_tstat_thread *th = &s->threads[i];
        if (!th->tid)
            continue;
        fprintf(out,
                "%-8d %-16.16s %10s %10s %10s %10s %10s %10s %8llu %8llu "
                "%6llu %s\n",
                th->tid, th->name, dur(b[0], th->running),
                th->precise ? dur(b[1], th->runnable) : "-",
                dur(b[2], th->blocked), dur(b[3], th->blocked_sync),
                dur(b[4], th->blocked_syscall), dur(b[5], th->blocked_sleep),
                (unsigned long long)th->samples,
                (unsigned long long)th->events, (unsigned long long)th->lost,
                th->precise ? "precise" : "estimated");
    }
}

/* ---- JSON ---- */

static void json_types(struct cp_dynbuf *o, const char *key,
                       const struct cp_tstat_type *v, size_t n)
{
    cp_dynbuf_printf(o, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        const struct cp_tstat_dist *d = &v[i].d;
        cp_dynbuf_addstr(o, i ? ",{\"name\":" : "{\"name\":");
        cp_json_str(o, v[i].name, strlen(v[i].name));
        cp_dynbuf_printf(o,
                         ",\"count\":%llu,\"total_ns\":%lld,\"min_ns\":%lld,"
                         "\"median_ns\":%lld,\"p90_ns\":%lld,\"p99_ns\":%lld,"
                         "\"max_ns\":%lld,\"unfinished\":%llu,\"slowest\":[",
                         (unsigned long long)d->count, (long long)d->total,
                         (long long)d->min, (long long)d->median,
                         (long long)d->p90, (long long)d->p99,
                         (long long)d->max,
                         (unsigned long long)v[i].unfinished);
        for (int k = 0; k < v[i].n_slowest; k++)
            cp_dynbuf_printf(o,
                             "%s{\"start_ns\":%lld,\"dur_ns\":%lld,\"tid\":%d,"
                             "\"task\":%llu}",
                             k ? "," : "", (long long)v[i].slowest[k].start,
                             (long long)v[i].slowest[k].dur,
                             v[i].slowest[k].tid,
                             (unsigned long long)v[i].slowest[k].task);
        cp_dynbuf_addstr(o, "]}");
    }
    cp_dynbuf_addstr(o, "]");
}

int cp_tstats_json(struct cp_trace *t, const struct cp_tstats *s,
                   struct cp_dynbuf *o)
{
    cp_dynbuf_printf(o, "{\"duration_ns\":%lld,\"lost\":%llu,"
                        "\"complete\":%s,\"end_events\":%llu,"
                        "\"end_dropped\":%llu,\"damaged\":%llu,"
                        "\"unmatched_ends\":%llu,\"events\":{",
                     (long long)(s->end - s->start),
                     (unsigned long long)s->lost,
                     cp_trace_complete(t) ? "true" : "false",
                     (unsigned long long)cp_trace_end_events(t),
                     (unsigned long long)cp_trace_end_dropped(t),
                     (unsigned long long)cp_trace_damaged(t),
                     (unsigned long long)s->unmatched_ends);
    for (int i = 1, k = 0; i < CP_TEV__COUNT; i++) {
        if (s->n_events[i])
            cp_dynbuf_printf(o, "%s\"%s\":%llu", k++ ? "," : "",
                             cp_trace_evtype_name(i),
                             (unsigned long long)s->n_events[i]);
    }
    cp_dynbuf_addstr(o, "},");
    json_types(o, "regions", s->regions, s->n_regions);
    cp_dynbuf_addstr(o, ",");
    json_types(o, "tasks", s->tasks, s->n_tasks);
    cp_dynbuf_addstr(o, ",\"threads\":[");
    for (size_t i = 0, k = 0; i < s->n_threads; i++) {
        const struct cp_tstat_thread *th = &s->threads[i];
        if (!th->tid)
            continue;
        cp_dynbuf_printf(o, "%s{\"tid\":%d,\"name\":", k++ ? "," : "",
                         th->tid);
        cp_json_str(o, th->name, strlen(th->name));
        cp_dynbuf_printf(
            o,
            ",\"unreported_lost\":%llu,\"regions\":%llu,"
            "\"running_ns\":%lld,\"runnable_ns\":%lld,\"blocked_ns\":%lld,"
            "\"sync_ns\":%lld,\"syscall_ns\":%lld,\"sleep_ns\":%lld,"
            "\"join_ns\":%lld,\"samples\":%llu,\"events\":%llu,\"lost\":%llu,"
            "\"precise\":%s,\"begin_ns\":%lld,\"end_ns\":%lld,"
            "\"switches\":%llu}",
            (unsigned long long)cp_trace_unreported(t, th->tid),
            (unsigned long long)th->regions, (long long)th->running, (long long)th->runnable,
            (long long)th->blocked, (long long)th->blocked_sync,
            (long long)th->blocked_syscall, (long long)th->blocked_sleep,
            (long long)th->blocked_join, (unsigned long long)th->samples,
            (unsigned long long)th->events, (unsigned long long)th->lost,
            th->precise ? "true" : "false", (long long)th->first,
            (long long)th->last, (unsigned long long)th->switches);
    }
    return cp_dynbuf_addstr(o, "]}");
}
