/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_http.c - `cprof trace -http=[HOST]:PORT [-no_browser] TRACE|URL`:
 * the trace viewer, as go tool trace serves it. The page (web/trace.html,
 * trace.js, trace.css, embedded like the profile UI's) draws a timeline
 * on a canvas from windows the server cuts out of the timeline model
 * (trace_view.c) at the page's resolution, so a 1M-event trace is never
 * sent whole: a full-width view is a few thousand boxes, and zooming in
 * asks for the detail. The tables (regions and tasks by type, threads)
 * come from trace_stats.c.
 *
 * The server is httpd.c (shared with the profile UI). The URL is printed
 * as soon as the server listens; the model and the tables are built
 * meanwhile on a thread of their own (while the browser starts), and the
 * requests that need them wait. Design and the page's protocol:
 * docs/internals/trace.md, "The viewer".
 *
 * Locks: v->lock guards the ready flags; v->tlock serializes every use of
 * the trace reader after the model is built (a scan keeps per-thread state
 * in the trace, the symbolizer sorts its table on first use). Windows read
 * only the model and the trace's string table, both immutable once the
 * model is ready, so they never wait for the tables or a stack lookup.
 *
 * Never used in signal context.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "httpd.h"
#include "profile/codec.h"
#include "trace_cli.h"
#include "trace_http.h"

/* A window may hold at most this many pixels' worth of boxes per lane and
 * depth: a page that asks for more (a tiny res over a long range) gets a
 * coarser answer instead of a huge one. */
#define TV_MAX_COLUMNS 100000
/* JSON answers are capped (a window is ~50 KB; a Chrome JSON export of a
 * big trace is the largest thing served). */
#define TV_MAX_JSON ((size_t)1 << 30)

struct tview {
    struct cp_trace *t;
    const char *src;
    pthread_mutex_t lock; /* guards the flags below */
    pthread_cond_t cond;
    bool model_ready, stats_ready;
    int build_err;         /* -errno when the model or the tables failed */
    pthread_mutex_t tlock; /* the trace reader (see the file comment) */
    struct cp_tmodel m;
    struct cp_tstats s;
    bool have_model, have_stats;
    char *meta, *stats; /* JSON, built once */
    size_t meta_len, stats_len;
    double build_ms[2]; /* model, tables (the page's "Trace" tab) */
    struct cp_httpd *d;
    pthread_t builder;
    bool building;
};

static void tview_free(struct tview *v)
{
    if (v->have_model)
        cp_tmodel_free(&v->m);
    if (v->have_stats)
        cp_tstats_free(&v->s);
    free(v->meta);
    free(v->stats);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->tlock);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* ---- building (on its own thread) ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Per lane: rows of nesting, whether it has scheduling and samples, and
 * a counter's range (fixed, so a counter track keeps its scale as the
 * page zooms). */
static int meta_json(struct tview *v, struct cp_dynbuf *o)
{
    const struct cp_tmodel *m = &v->m;
    size_t n = m->n_lanes ? m->n_lanes : 1;
    int *rows = calloc(n, sizeof *rows);
    unsigned char *flags = calloc(n, 1);
    int r;

    if (!rows || !flags) {
        free(rows);
        free(flags);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->n_spans; i++) {
        const struct cp_tspan *s = &m->spans[i];
        switch (s->kind) {
        case CP_TSPAN_REGION:
        case CP_TSPAN_BLOCK:
        case CP_TSPAN_LOG:
        case CP_TSPAN_TASK:
            if (s->depth + 1 > rows[s->lane])
                rows[s->lane] = s->depth + 1;
            break;
        case CP_TSPAN_RUNNING:
        case CP_TSPAN_RUNNABLE:
            flags[s->lane] |= 1;
            break;
        case CP_TSPAN_SAMPLE:
            flags[s->lane] |= 2;
            break;
        default:
            break;
        }
    }
    cp_dynbuf_addstr(o, "{\"title\":");
    cp_json_str(o, v->src, strlen(v->src));
    cp_dynbuf_printf(o, ",\"duration\":%lld,\"spans\":%zu,\"lanes\":[",
                     (long long)m->duration, m->n_spans);
    for (size_t l = 0; l < m->n_lanes; l++) {
        const struct cp_tlane *ln = &m->lanes[l];
        cp_dynbuf_printf(o, "%s{\"tid\":%d,\"kind\":%d,\"name\":", l ? "," : "",
                         ln->tid, ln->kind);
        cp_json_str(o, ln->name, strlen(ln->name));
        cp_dynbuf_printf(o, ",\"rows\":%d,\"sched\":%s,\"samples\":%s", rows[l],
                         flags[l] & 1 ? "true" : "false",
                         flags[l] & 2 ? "true" : "false");
        if (ln->kind == 2 && m->counter_off) {
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (size_t i = m->counter_off[l]; i < m->counter_off[l + 1]; i++) {
                lo = m->counters[i].v < lo ? m->counters[i].v : lo;
                hi = m->counters[i].v > hi ? m->counters[i].v : hi;
            }
            if (lo <= hi)
                cp_dynbuf_printf(o, ",\"min\":%lld,\"max\":%lld", (long long)lo,
                                 (long long)hi);
        }
        cp_dynbuf_addstr(o, "}");
    }
    cp_dynbuf_addstr(o, "],\"info\":{");
    for (int i = 0, k = 0; i < cp_trace_info_count(v->t); i++) {
        const char *key, *val;
        cp_trace_info_at(v->t, i, &key, &val);
        if (!key || !val)
            continue;
        cp_dynbuf_addstr(o, k++ ? "," : "");
        cp_json_str(o, key, strlen(key));
        cp_dynbuf_addstr(o, ":");
        cp_json_str(o, val, strlen(val));
    }
    cp_dynbuf_addstr(o, "},\"truncated\":");
    const char *tr = cp_trace_truncated(v->t);
    if (tr)
        cp_json_str(o, tr, strlen(tr));
    else
        cp_dynbuf_addstr(o, "null");
    r = cp_dynbuf_printf(o, ",\"complete\":%s,\"model_ms\":%.1f}",
                         cp_trace_complete(v->t) ? "true" : "false",
                         v->build_ms[0]);
    free(rows);
    free(flags);
    return r;
}

static void *build(void *arg)
{
    struct tview *v = arg;
    struct cp_dynbuf o;
    double t0 = now_ms();
    int r;

    pthread_mutex_lock(&v->tlock);
    r = cp_tmodel_build(v->t, &v->m);
    v->build_ms[0] = now_ms() - t0;
    if (r == 0) {
        v->have_model = true;
        cp_dynbuf_init(&o, TV_MAX_JSON);
        r = meta_json(v, &o);
        v->meta = cp_dynbuf_take(&o, &v->meta_len);
    }
    pthread_mutex_lock(&v->lock);
    v->model_ready = true;
    v->build_err = r < 0 ? r : 0;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);

    if (r == 0) {
        t0 = now_ms();
        r = cp_tstats_compute(v->t, &v->s);
        if (r == 0) {
            v->have_stats = true;
            v->build_ms[1] = now_ms() - t0;
            cp_dynbuf_init(&o, TV_MAX_JSON);
            r = cp_tstats_json(v->t, &v->s, &o);
            v->stats = cp_dynbuf_take(&o, &v->stats_len);
        }
    }
    pthread_mutex_unlock(&v->tlock);
    pthread_mutex_lock(&v->lock);
    v->stats_ready = true;
    if (r < 0 && !v->build_err)
        v->build_err = r;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    if (r < 0)
        fprintf(stderr,
                "cprof: trace: cannot build the viewer's model: "
                "%s\n",
                strerror(-r));
    return NULL;
}

/* Wait for the model (stats = false) or the tables too. 0, or a reply was
 * sent (an error) and the handler returns what this returns. */
static int wait_ready(struct tview *v, struct cp_http_req *rq, bool stats,
                      bool *failed)
{
    pthread_mutex_lock(&v->lock);
    while (!(stats ? v->stats_ready : v->model_ready))
        pthread_cond_wait(&v->cond, &v->lock);
    int err = v->build_err;
    bool ok = stats ? v->have_stats && v->stats : v->have_model && v->meta;
    pthread_mutex_unlock(&v->lock);
    *failed = !ok;
    if (!ok)
        return cp_http_error(rq, 500,
                             "the trace viewer could not read "
                             "this trace: %s",
                             strerror(err < 0 ? -err : ENOMEM));
    return 0;
}

/* ---- handlers ---- */

/* A query argument as an integer; false (and a 400 sent) when malformed. */
static bool arg_i64(struct cp_http_req *rq, const char *name, int64_t dflt,
                    int64_t *out, int *ret)
{
    const char *s = cp_http_arg(rq, name);
    char *end;

    if (!s || !*s) {
        *out = dflt;
        return true;
    }
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end) {
        *ret = cp_http_error(rq, 400, "%s=%.40s: want an integer", name, s);
        return false;
    }
    *out = x;
    return true;
}

static int reply_buf(struct cp_http_req *rq, struct cp_dynbuf *o,
                     const char *type)
{
    size_t len;
    char *data = cp_dynbuf_take(o, &len);
    if (!data)
        return cp_http_error(rq, 500, "out of memory");
    return cp_http_reply_take(rq, 200, type, data, len);
}

static int h_page(struct cp_http_req *rq, void *ctx)
{
    (void)ctx;
    return cp_http_reply_asset(rq, "trace.html");
}

static int h_favicon(struct cp_http_req *rq, void *ctx)
{
    (void)ctx;
    return cp_http_reply_asset(rq, "trace.svg");
}

static int h_meta(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    bool failed;
    int r = wait_ready(v, rq, false, &failed);
    if (failed)
        return r;
    return cp_http_reply(rq, 200, "application/json", v->meta, v->meta_len);
}

static int h_stats(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    bool failed;
    int r = wait_ready(v, rq, true, &failed);
    if (failed)
        return r;
    return cp_http_reply(rq, 200, "application/json", v->stats, v->stats_len);
}

/* /api/window?from=NS&to=NS&res=NS: the boxes of [from, to), spans
 * shorter than res merged (the page asks res = 1 pixel); or px=PIXELS
 * instead of res (the page's first request: the whole trace, whose
 * length it does not know yet). The answer is cp_tmodel_window_json's
 * with the res used. */
static int h_window(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    int64_t from, to, res, px;
    int ret = 0;
    bool failed;
    struct cp_dynbuf o, w;

    if (!arg_i64(rq, "from", 0, &from, &ret) ||
        !arg_i64(rq, "to", INT64_MAX, &to, &ret) ||
        !arg_i64(rq, "res", 1, &res, &ret) || !arg_i64(rq, "px", 0, &px, &ret))
        return ret;
    ret = wait_ready(v, rq, false, &failed);
    if (failed)
        return ret;
    if (to == INT64_MAX)
        to = v->m.duration + 1;
    if (to <= from)
        return cp_http_error(rq, 400,
                             "empty window: to=%lld is not after "
                             "from=%lld",
                             (long long)to, (long long)from);
    /* (to - from) may overflow for absurd arguments: divide first */
    if (px > 0 && to / px - from / px > res)
        res = to / px - from / px;
    if (res < 1)
        res = 1;
    if (to / TV_MAX_COLUMNS - from / TV_MAX_COLUMNS > res)
        res = to / TV_MAX_COLUMNS - from / TV_MAX_COLUMNS;
    cp_dynbuf_init(&w, TV_MAX_JSON);
    cp_dynbuf_init(&o, TV_MAX_JSON);
    int r = cp_tmodel_window_json(&v->m, from, to, res, &w);
    if (r == 0)
        r = cp_dynbuf_printf(&o, "{\"res\":%lld,", (long long)res);
    if (r == 0)
        r = cp_dynbuf_add(&o, w.data + 1, w.len - 1);
    cp_dynbuf_free(&w);
    if (r < 0) {
        cp_dynbuf_free(&o);
        return cp_http_error(rq, 500, "out of memory");
    }
    return reply_buf(rq, &o, "application/json");
}

/* For a task's box: the threads its regions ran on (tasks cross
 * threads), with how many regions and when. */
static void task_threads(struct tview *v, uint64_t task, struct cp_dynbuf *o)
{
    const struct cp_tmodel *m = &v->m;
    cp_dynbuf_addstr(o, ",\"threads\":[");
    bool first = true;
    for (size_t l = 0; l < m->n_lanes; l++) {
        if (m->lanes[l].kind != 0)
            continue;
        uint64_t n = 0;
        int64_t a = 0, b = 0, busy = 0;
        /* spans are sorted by lane: find this lane's run once */
        size_t lo = 0, hi = m->n_spans;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->spans[mid].lane < l)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < m->n_spans && m->spans[i].lane == l; i++) {
            const struct cp_tspan *s = &m->spans[i];
            if (s->kind != CP_TSPAN_REGION || s->ref != task)
                continue;
            if (!n || s->start < a)
                a = s->start;
            if (!n || s->start + s->dur > b)
                b = s->start + s->dur;
            if (s->depth == 0)
                busy += s->dur;
            n++;
        }
        if (!n)
            continue;
        cp_dynbuf_printf(o, "%s{\"lane\":%zu,\"name\":", first ? "" : ",", l);
        cp_json_str(o, m->lanes[l].name, strlen(m->lanes[l].name));
        cp_dynbuf_printf(o,
                         ",\"regions\":%" PRIu64 ",\"first\":%lld,"
                         "\"last\":%lld,\"in_regions_ns\":%lld}",
                         n, (long long)a, (long long)b, (long long)busy);
        first = false;
    }
    cp_dynbuf_addstr(o, "]");
}

/* /api/span?i=INDEX: one box's details (a window gives the index). */
static int h_span(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    int64_t i;
    int ret = 0;
    bool failed;
    struct cp_dynbuf o;

    if (!arg_i64(rq, "i", -1, &i, &ret))
        return ret;
    ret = wait_ready(v, rq, false, &failed);
    if (failed)
        return ret;
    if (i < 0 || (uint64_t)i >= v->m.n_spans)
        return cp_http_error(rq, 404, "no span %lld in this trace",
                             (long long)i);
    cp_dynbuf_init(&o, TV_MAX_JSON);
    pthread_mutex_lock(&v->tlock);
    int r = cp_tmodel_span_json(&v->m, (size_t)i, &o);
    const struct cp_tspan *s = &v->m.spans[i];
    if (r == 0 && o.len && o.data[o.len - 1] == '}') {
        /* add the lane's name, and for a task the threads it ran on */
        cp_dynbuf_setlen(&o, o.len - 1);
        cp_dynbuf_printf(&o, ",\"index\":%lld,\"lane_name\":", (long long)i);
        const char *ln = v->m.lanes[s->lane].name;
        cp_json_str(&o, ln, strlen(ln));
        if (s->kind == CP_TSPAN_TASK)
            task_threads(v, s->ref, &o);
        r = cp_dynbuf_addstr(&o, "}");
    }
    pthread_mutex_unlock(&v->tlock);
    if (r < 0) {
        cp_dynbuf_free(&o);
        return cp_http_error(rq, 500, "out of memory");
    }
    return reply_buf(rq, &o, "application/json");
}

/*
 * /api/find?kind=region&tid=T&start=NS&dur=NS or /api/find?kind=task&task=ID:
 * the index of the box of one instance the tables list (their slowest), so
 * a click in a table selects it on the timeline.
 */
static int h_find(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    const struct cp_tmodel *m = &v->m;
    const char *kind = cp_http_arg(rq, "kind");
    int64_t tid, start, dur, task;
    int ret = 0;
    bool failed;
    size_t found = SIZE_MAX;

    if (!arg_i64(rq, "tid", 0, &tid, &ret) ||
        !arg_i64(rq, "start", 0, &start, &ret) ||
        !arg_i64(rq, "dur", -1, &dur, &ret) ||
        !arg_i64(rq, "task", 0, &task, &ret))
        return ret;
    if (!kind || (strcmp(kind, "region") && strcmp(kind, "task")))
        return cp_http_error(rq, 400, "kind: want region or task");
    ret = wait_ready(v, rq, false, &failed);
    if (failed)
        return ret;
    if (!strcmp(kind, "task")) {
        for (size_t i = 0; i < m->n_spans && found == SIZE_MAX; i++) {
            if (m->spans[i].kind == CP_TSPAN_TASK &&
                m->spans[i].ref == (uint64_t)task)
                found = i;
        }
    } else {
        size_t l;
        for (l = 0; l < m->n_lanes; l++) {
            if (m->lanes[l].kind == 0 && m->lanes[l].tid == tid)
                break;
        }
        /* first span of lane l starting at start */
        size_t lo = 0, hi = m->n_spans;
        while (l < m->n_lanes && lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const struct cp_tspan *s = &m->spans[mid];
            if (s->lane < l || (s->lane == l && s->start < start))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; l < m->n_lanes && i < m->n_spans &&
                            m->spans[i].lane == l && m->spans[i].start == start;
             i++) {
            if (m->spans[i].kind == CP_TSPAN_REGION &&
                (dur < 0 || m->spans[i].dur == dur)) {
                found = i;
                break;
            }
        }
    }
    if (found == SIZE_MAX)
        return cp_http_error(rq, 404, "no such %s in this trace", kind);
    const struct cp_tspan *s = &m->spans[found];
    char out[160];
    int n = snprintf(out, sizeof out,
                     "{\"index\":%zu,\"lane\":%u,\"start\":%lld,"
                     "\"dur\":%lld,\"depth\":%d}",
                     found, s->lane, (long long)s->start, (long long)s->dur,
                     s->depth);
    return cp_http_reply(rq, 200, "application/json", out, (size_t)n);
}

/* /download/trace.json, /download/trace.perfetto-trace and
 * /download/{block,sync,syscall,sched}.pb.gz: the command's exports, for
 * Perfetto or pprof (go tool trace links its pprof profiles the same
 * way). */
static int h_download(struct cp_http_req *rq, void *ctx)
{
    struct tview *v = ctx;
    const char *path = cp_http_path(rq);
    const char *name = strrchr(path, '/') + 1;
    char *data = NULL;
    size_t len = 0;
    int r = -EINVAL;
    const char *type = "application/octet-stream";
    bool failed;
    char warn[256] = "";

    int ret = wait_ready(v, rq, false, &failed);
    if (failed)
        return ret;
    pthread_mutex_lock(&v->tlock);
    bool json = !strcmp(name, "trace.json");
    if (json || !strcmp(name, "trace.perfetto-trace")) {
        FILE *f = open_memstream(&data, &len);
        if (!f) {
            r = -ENOMEM;
        } else {
            r = json ? cp_trace_write_json(v->t, f)
                     : cp_trace_write_perfetto(v->t, f);
            if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        }
        if (json)
            type = "application/json";
    } else {
        static const char *const kinds[] = {"block", "sync", "syscall",
                                            "sched"};
        for (size_t k = 0; k < 4; k++) {
            size_t n = strlen(kinds[k]);
            if (strncmp(name, kinds[k], n) || strcmp(name + n, ".pb.gz"))
                continue;
            struct cp_profile p;
            r = cp_trace_pprof(v->t, kinds[k], &p, warn, sizeof warn);
            if (r == 0) {
                struct cp_dynbuf enc;
                cp_dynbuf_init(&enc, (size_t)1 << 32);
                r = cp_profile_encode(&p, 1, &enc);
                data = cp_dynbuf_take(&enc, &len);
                cp_profile_free(&p);
            }
            break;
        }
    }
    pthread_mutex_unlock(&v->tlock);
    if (r == -EINVAL) {
        free(data);
        return cp_http_error(rq, 404, "%s: no such download", name);
    }
    if (r < 0 || !data) {
        free(data);
        return cp_http_error(rq, 500, "%s: %s", name, strerror(-r));
    }
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
    cp_http_add_header(rq, "Content-Disposition", disp);
    if (warn[0])
        cp_http_add_header(rq, "X-Cprof-Warning", warn);
    return cp_http_reply_take(rq, 200, type, data, len);
}

static const struct cp_http_route routes[] = {
    {"/", h_page, CP_HTTP_GET},
    {"/trace", h_page, CP_HTTP_GET},
    {"/favicon.ico", h_favicon, CP_HTTP_GET},
    {"/api/meta", h_meta, CP_HTTP_GET},
    {"/api/stats", h_stats, CP_HTTP_GET},
    {"/api/window", h_window, CP_HTTP_GET},
    {"/api/span", h_span, CP_HTTP_GET},
    {"/api/find", h_find, CP_HTTP_GET},
    {"/download/", h_download, CP_HTTP_GET | CP_HTTP_PREFIX},
    {"/static/", cp_http_serve_asset, CP_HTTP_GET | CP_HTTP_PREFIX},
};

int cp_tview_start(struct cp_trace *t, const char *src, const char *addr,
                   struct cp_tview **out, char *err, size_t errlen)
{
    struct tview *v = calloc(1, sizeof *v);
    int r;

    *out = NULL;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    v->t = t;
    v->src = src;
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->tlock, NULL);
    pthread_cond_init(&v->cond, NULL);
    r = cp_httpd_start(&v->d, addr, routes, sizeof routes / sizeof routes[0], v,
                       err, errlen);
    if (r < 0) {
        tview_free(v);
        return r;
    }
    /* the model and the tables are built while the browser starts */
    v->building = pthread_create(&v->builder, NULL, build, v) == 0;
    if (!v->building)
        build(v);
    *out = (struct cp_tview *)v;
    return 0;
}

const char *cp_tview_url(const struct cp_tview *tv)
{
    return cp_httpd_url(((const struct tview *)tv)->d);
}

void cp_tview_stop(struct cp_tview *tv)
{
    struct tview *v = (struct tview *)tv;
    if (!v)
        return;
    cp_httpd_stop(v->d);
    if (v->building)
        pthread_join(v->builder, NULL);
    tview_free(v);
}

int cp_trace_serve(struct cp_trace *t, const char *src, const char *addr,
                   bool no_browser)
{
    struct cp_tview *v;
    char err[512];

    /* before any thread starts, so every thread inherits the mask and
     * only cp_httpd_wait_signal takes Ctrl-C */
    cp_httpd_block_signals();
    if (cp_tview_start(t, src, addr, &v, err, sizeof err) < 0)
        return cp_die("trace: %s", err);
    /* go tool pprof's line (scripts and tests wait for it) */
    printf("Serving web UI on %s\n", cp_tview_url(v));
    fflush(stdout);
    if (!no_browser)
        cp_httpd_open_browser(cp_tview_url(v));
    cp_httpd_wait_signal();
    cp_tview_stop(v);
    return 0;
}
