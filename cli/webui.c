/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webui.c - the profile web UI (webui.h): the routes of go tool pprof's
 * internal/driver/webui.go (/flamegraph, /top, /source, /peek, /graph,
 * /download) as one page (web/index.html) that asks /api/... for JSON.
 *
 * Every API request is what pprof's makeReport does: copy the loaded
 * profile, select the sample type, apply the page's filters (focus,
 * ignore, hide, show, tagfocus, tagignore: cp_filter_apply), aggregate to
 * the granularity, build the report model (graph.h), and answer with
 * compact JSON; the page never sees samples. The flame tree of the last
 * filter state is cached, so zooming into a cut subtree costs no rebuild.
 *
 * Threads: one per connection (httpd.c). `lock` guards the profile and
 * its version and is held only to copy or replace them; `flame_lock`
 * guards the flame cache and is held while a tree is built (taken before
 * `lock`), so a build never delays /api/meta or the other views. Never
 * used in signal context.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callgraph.h"
#include "codec.h"
#include "filter.h"
#include "flame.h"
#include "graph.h"
#include "httpd.h"
#include "merge.h"
#include "pprof.h"
#include "source.h"
#include "webui.h"

/* Rows of the top table sent to the page at most. */
#define TOP_MAX_ROWS 5000
/* Functions the peek view shows at most. */
#define PEEK_MAX 50
/* Default share of the zoom root below which flame frames are not sent
 * (1/20000: a 2000-pixel-wide graph draws nothing narrower than 0.1 px). */
#define FLAME_MINFRAC 5e-5
/* Nodes of the call graph by default (go tool pprof's default for dot). */
#define GRAPH_NODES 80
#define DOT_TIMEOUT_S 60
/* Cap on any one JSON reply. */
#define REPLY_LIMIT (512u << 20)

struct webui {
    /* Lock order: flame_lock, then lock. Both are leaves otherwise. */
    pthread_mutex_t flame_lock; /* guards the flame cache (fkey...) */
    pthread_mutex_t lock;       /* guards prof and version */
    struct cp_profile prof;
    unsigned version; /* bumped by refresh */
    const struct cp_webui_opts *o;
    char initial_query[4096];
    const char *initial_kv[20]; /* the same as name, value, ..., NULL */
    /* the last flame tree, for the query string fkey */
    char *fkey;
    struct cp_profile fprof;
    struct cp_flame flame;
    int64_t ftotal;
    char fwarn[2048];
    bool have_flame;
};

/* ---- request -> filtered profile (pprof's makeReport) ------------------ */

struct view {
    struct cp_profile p;
    int si;
    int64_t total; /* pprof's computeTotal before the filters */
    char unit[64], type[64];
    struct cp_dynbuf warn;
    /* each function's file and first line before aggregation */
    int64_t *fn_files, *fn_lines;
};

static const char *arg(struct cp_http_req *rq, const char *name)
{
    const char *v = cp_http_arg(rq, name);
    return v && *v ? v : NULL;
}

/* The arguments of a request, or of the warm-up (kv: name, value, ...,
 * NULL) when there is no request. */
struct args {
    struct cp_http_req *rq;
    const char *const *kv;
};

static const char *argv_(const struct args *a, const char *name)
{
    if (a->rq)
        return arg(a->rq, name);
    for (const char *const *p = a->kv; p && *p; p += 2)
        if (!strcmp(p[0], name))
            return p[1] && *p[1] ? p[1] : NULL;
    return NULL;
}

/* An error for the request (queued), or on stderr for the warm-up. */
static void fail(const struct args *a, int status, const char *msg)
{
    if (a->rq)
        cp_http_error(a->rq, status, "%s", msg);
}

/* pprof's computeTotal: |values|, of the base alone in a diff */
static int64_t compute_total(const struct cp_profile *p, int si)
{
    int64_t total = 0, diff_total = 0;
    for (size_t s = 0; s < p->n_samples; s++) {
        const struct cp_sample *sm = &p->samples[s];
        int64_t v = sm->values[si];
        if (v < 0)
            v = -v;
        total += v;
        for (size_t k = 0; k < sm->n_labels; k++)
            if (sm->labels[k].str &&
                !strcmp(cp_profile_string(p, sm->labels[k].key),
                        CP_FLAME_BASE_LABEL)) {
                diff_total += v;
                break;
            }
    }
    return diff_total > 0 ? diff_total : total;
}

/*
 * Fill v from the request's filters (takes w->lock for the copy).
 * The profile is aggregated to the request's granularity (g=), else to
 * defgran; defgran -1 leaves it as it is (the source view needs lines).
 * On failure the reply (400) is already queued and -1 returned.
 */
static int prepare_args(struct webui *w, const struct args *a, int defgran,
                        struct view *v)
{
    char err[1024];
    memset(v, 0, sizeof(*v));
    cp_dynbuf_init(&v->warn, 64 << 10);
    pthread_mutex_lock(&w->lock);
    int r = cp_profile_copy(&w->prof, &v->p);
    pthread_mutex_unlock(&w->lock);
    if (r < 0) {
        fail(a, 500, "out of memory copying the profile");
        return -1;
    }
    r = cp_sample_index(&v->p, argv_(a, "si"), err, sizeof(err));
    if (r < 0) {
        fail(a, 400, err);
        return -1;
    }
    v->si = r;
    snprintf(v->type, sizeof(v->type), "%s",
             cp_profile_string(&v->p, v->p.sample_types[r].type));
    snprintf(v->unit, sizeof(v->unit), "%s",
             cp_profile_string(&v->p, v->p.sample_types[r].unit));
    v->total = compute_total(&v->p, v->si);
    struct cp_filter_opts fo = {
        .focus = argv_(a, "focus"),
        .ignore = argv_(a, "ignore"),
        .hide = argv_(a, "hide"),
        .show = argv_(a, "show"),
        .show_from = argv_(a, "show_from"),
        .tagfocus = argv_(a, "tagfocus"),
        .tagignore = argv_(a, "tagignore"),
    };
    r = cp_filter_apply(&v->p, &fo, &v->warn, err, sizeof(err));
    if (r < 0) {
        fail(a, 400, r == -ENOMEM ? "out of memory" : err);
        return -1;
    }
    int g = defgran;
    const char *gs = defgran >= 0 ? argv_(a, "g") : NULL;
    if (gs) {
        g = cp_granularity_parse(gs);
        if (g < 0) {
            snprintf(err, sizeof(err),
                     "unknown granularity %s (functions, "
                     "filefunctions, files, lines or addresses)",
                     gs);
            fail(a, 400, err);
            return -1;
        }
    }
    size_t nf = v->p.n_functions;
    v->fn_files = malloc((nf + 1) * sizeof(*v->fn_files));
    v->fn_lines = malloc((nf + 1) * sizeof(*v->fn_lines));
    if (!v->fn_files || !v->fn_lines) {
        fail(a, 500, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nf; i++) {
        v->fn_files[i] = v->p.functions[i].filename;
        v->fn_lines[i] = v->p.functions[i].start_line;
    }
    if (g >= 0)
        cp_filter_aggregate(&v->p, (enum cp_granularity)g, false);
    return 0;
}

static int prepare(struct webui *w, struct cp_http_req *rq, int defgran,
                   struct view *v)
{
    struct args a = {rq, NULL};
    return prepare_args(w, &a, defgran, v);
}

static void view_free(struct view *v)
{
    cp_profile_free(&v->p);
    cp_dynbuf_free(&v->warn);
    free(v->fn_files);
    free(v->fn_lines);
}

/* The warnings (one per line) as a JSON array. */
static json_t *warnings(const char *text)
{
    json_t *a = json_array();
    const char *s = text ? text : "";
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t l = nl ? (size_t)(nl - s) : strlen(s);
        if (l)
            json_array_append_new(a, json_stringn(s, l));
        s += l + (nl ? 1 : 0);
    }
    return a;
}

static int reply_json(struct cp_http_req *rq, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return cp_http_error(rq, 500, "could not write JSON");
    return cp_http_reply_take(rq, 200, "application/json", s, strlen(s));
}

static json_t *view_json(const struct view *v)
{
    return json_pack("{s:I,s:s,s:s,s:i,s:o}", "total", (json_int_t)v->total,
                     "unit", v->unit, "type", v->type, "si", v->si, "warnings",
                     warnings(v->warn.data));
}

/* ---- pages and assets --------------------------------------------------- */

static int page(struct cp_http_req *rq, void *ctx)
{
    return cp_http_reply_asset(rq, "index.html");
}

static int root(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    char loc[16384];
    const char *q = cp_http_query(rq);
    if (!*q)
        q = w->initial_query;
    snprintf(loc, sizeof(loc), "/flamegraph%s%s", *q ? "?" : "", q);
    return cp_http_redirect(rq, 302, loc);
}

/* go tool pprof serves under /ui/ (and had /flamegraph2): links made
 * for it lead to the same view here. */
static int pprof_alias(struct cp_http_req *rq, void *ctx)
{
    const char *path = cp_http_path(rq);
    if (!strncmp(path, "/ui", 3))
        path += 3;
    if (!*path || !strcmp(path, "/") || !strcmp(path, "/flamegraph2") ||
        !strcmp(path, "/flamegraphold"))
        path = "/flamegraph";
    char loc[16384];
    const char *q = cp_http_query(rq);
    snprintf(loc, sizeof(loc), "%s%s%s", path, *q ? "?" : "", q);
    return cp_http_redirect(rq, 301, loc);
}

static int favicon(struct cp_http_req *rq, void *ctx)
{
    return cp_http_reply_asset(rq, "favicon.svg");
}

/* ---- /api/meta ---------------------------------------------------------- */

static int api_meta(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    pthread_mutex_lock(&w->lock);
    const struct cp_profile *p = &w->prof;
    json_t *types = json_array(), *labels = json_array(),
           *comments = json_array();
    for (size_t i = 0; i < p->n_sample_types; i++)
        json_array_append_new(
            types,
            json_pack(
                "{s:o,s:o}", "type",
                cp_json_text(cp_profile_string(p, p->sample_types[i].type)),
                "unit",
                cp_json_text(cp_profile_string(p, p->sample_types[i].unit))));
    /* string label keys, for "group by" (first 64 distinct) */
    int64_t keys[64];
    size_t nk = 0;
    bool diff = false;
    for (size_t s = 0; s < p->n_samples; s++) {
        const struct cp_sample *sm = &p->samples[s];
        for (size_t k = 0; k < sm->n_labels; k++) {
            if (!sm->labels[k].str)
                continue;
            int64_t key = sm->labels[k].key;
            const char *ks = cp_profile_string(p, key);
            if (!strcmp(ks, CP_FLAME_BASE_LABEL)) {
                diff = true;
                continue;
            }
            size_t i;
            for (i = 0; i < nk; i++)
                if (keys[i] == key ||
                    !strcmp(cp_profile_string(p, keys[i]), ks))
                    break;
            if (i == nk && nk < 64)
                keys[nk++] = key;
        }
    }
    for (size_t i = 0; i < nk; i++)
        json_array_append_new(labels,
                              cp_json_text(cp_profile_string(p, keys[i])));
    for (size_t i = 0; i < p->n_comments; i++)
        json_array_append_new(
            comments, cp_json_text(cp_profile_string(p, p->comments[i])));
    char err[256];
    int def = cp_sample_index(p, NULL, err, sizeof(err));
    const struct cp_mapping *m = p->n_mappings ? &p->mappings[0] : NULL;
    json_t *j = json_pack(
        "{s:o,s:o,s:i,s:o,s:o,s:b,s:b,s:I,s:I,s:I,s:o,s:o,s:i,s:s,s:I,s:o}",
        "title", cp_json_text(w->o->title ? w->o->title : ""), "sample_types",
        types, "default_index", def < 0 ? 0 : def, "labels", labels, "comments",
        comments, "diff", diff, "refresh", w->o->reload != NULL, "time_nanos",
        (json_int_t)p->time_nanos, "duration_nanos",
        (json_int_t)p->duration_nanos, "samples", (json_int_t)p->n_samples,
        "main_file", cp_json_text(m ? cp_profile_string(p, m->filename) : ""),
        "build_id", cp_json_text(m ? cp_profile_string(p, m->build_id) : ""),
        "version", (int)w->version, "initial", w->initial_query, "period",
        (json_int_t)p->period, "period_type",
        json_pack("{s:o,s:o}", "type",
                  cp_json_text(cp_profile_string(p, p->period_type.type)),
                  "unit",
                  cp_json_text(cp_profile_string(p, p->period_type.unit))));
    pthread_mutex_unlock(&w->lock);
    if (!j)
        return cp_http_error(rq, 500, "could not write JSON");
    return reply_json(rq, j);
}

/* ---- /api/flame --------------------------------------------------------- */

/* The cache key: the query without the arguments that only pick a part of
 * the tree. */
static char *flame_key(struct webui *w, const struct args *a)
{
    static const char *const keys[] = {
        "si",        "focus",    "ignore",    "hide", "show",
        "show_from", "tagfocus", "tagignore", "g",    "group"};
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1 << 20);
    pthread_mutex_lock(&w->lock);
    unsigned version = w->version;
    pthread_mutex_unlock(&w->lock);
    cp_dynbuf_printf(&b, "v%u", version);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = argv_(a, keys[i]);
        cp_dynbuf_printf(&b, "\x1f%s=%s", keys[i], v ? v : "");
    }
    size_t len;
    return cp_dynbuf_take(&b, &len);
}

/* Split "a;b;c" (";" and "\" escaped by "\") into names; returns count. */
static size_t split_path(char *s, const char **out, size_t max)
{
    size_t n = 0;
    if (!*s)
        return 0;
    char *w = s;
    out[n++] = w;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            *w++ = *++r;
        } else if (*r == ';') {
            *w++ = 0;
            if (n == max)
                return n;
            out[n++] = w;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return n;
}

/*
 * Make the cached tree the one for a's filters; w->flame_lock held. 0, or -1
 * after queueing the error (for a request).
 */
static int flame_ensure(struct webui *w, const struct args *a)
{
    char *key = flame_key(w, a);
    if (!key) {
        fail(a, 500, "out of memory");
        return -1;
    }
    if (w->have_flame && !strcmp(key, w->fkey)) {
        free(key);
        return 0;
    }
    if (w->have_flame) {
        cp_flame_free(&w->flame);
        cp_profile_free(&w->fprof);
        free(w->fkey);
        w->fkey = NULL;
        w->have_flame = false;
    }
    struct view v;
    if (prepare_args(w, a, CP_GRAN_FUNCTIONS, &v) < 0) {
        view_free(&v);
        free(key);
        return -1;
    }
    struct cp_flame_opts fo = {.sample_index = v.si,
                               .group = argv_(a, "group"),
                               .fn_files = v.fn_files,
                               .fn_lines = v.fn_lines};
    int r = cp_flame_build(&w->flame, &v.p, &fo);
    if (r < 0) {
        view_free(&v);
        free(key);
        char msg[128];
        snprintf(msg, sizeof(msg), "could not build the flame graph: %s",
                 strerror(-r));
        fail(a, 500, msg);
        return -1;
    }
    w->fprof = v.p; /* the tree's names point into it */
    memset(&v.p, 0, sizeof(v.p));
    w->ftotal = v.total;
    snprintf(w->fwarn, sizeof(w->fwarn), "%s", v.warn.data ? v.warn.data : "");
    view_free(&v);
    w->fkey = key;
    w->have_flame = true;
    return 0;
}

/* The node named by the request's root= path (0 without one), or -1 after
 * queueing a 404. w->flame_lock held. */
static long find_root(struct webui *w, struct cp_http_req *rq)
{
    const char *rs = cp_http_arg(rq, "root");
    if (!rs || !*rs)
        return 0;
    char *copy = strdup(rs);
    const char **names = malloc((strlen(rs) + 1) * sizeof(*names));
    long found = -1;
    if (copy && names) {
        size_t n = split_path(copy, names, strlen(rs) + 1);
        found = cp_flame_find(&w->flame, names, n);
    }
    free(copy);
    free(names);
    if (found < 0)
        cp_http_error(rq, 404, "no frame %s in this flame graph", rs);
    return found;
}

/*
 * /api/search?q=RE: the share of the flame graph's frames matching RE
 * (POSIX ERE on the frame's name), each sample counted once (a matching
 * frame's subtree is not searched further), over the whole tree and under
 * the root= frame. Computed here on the full tree: the page holds only the
 * frames wide enough to draw.
 */
static int api_search(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    regex_t re;
    const char *q = arg(rq, "q");
    char err[512];
    if (!q)
        return cp_http_error(rq, 400, "missing q= (a regular expression)");
    if (cp_regex_compile(&re, "search", q, err, sizeof(err)) < 0)
        return cp_http_error(rq, 400, "%s", err);
    struct args a = {rq, NULL};
    int ret = 0;
    uint8_t *m = NULL;
    pthread_mutex_lock(&w->flame_lock);
    if (flame_ensure(w, &a) < 0)
        goto out;
    long root = find_root(w, rq);
    if (root < 0)
        goto out;
    const struct cp_flame *f = &w->flame;
    m = malloc(f->n_funcs + 1); /* 0 unknown, 1 no, 2 yes */
    if (!m) {
        ret = cp_http_error(rq, 500, "out of memory");
        goto out;
    }
    memset(m, 0, f->n_funcs + 1);
    int64_t sum[2] = {0, 0}, bsum[2] = {0, 0};
    /* pass 0: the whole tree; pass 1: under root. Nodes are in preorder
     * (flame.h), so a pass is a scan that jumps over matched subtrees. */
    for (int pass = 0; pass < 2; pass++) {
        uint32_t from = pass ? (uint32_t)root : 0;
        if (pass && from == 0) {
            sum[1] = sum[0];
            bsum[1] = bsum[0];
            break;
        }
        uint32_t to = f->nodes[from].end;
        for (uint32_t i = from; i < to;) {
            const struct cp_flame_node *n = &f->nodes[i];
            if (n->func != UINT32_MAX) {
                if (!m[n->func])
                    m[n->func] =
                        cp_regex_match(&re, f->funcs[n->func].name) ? 2 : 1;
                if (m[n->func] == 2) {
                    sum[pass] += n->total;
                    bsum[pass] += n->btotal;
                    i = n->end;
                    continue;
                }
            }
            i++;
        }
    }
    json_t *j = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "matched", (json_int_t)sum[0],
        "base_matched", (json_int_t)bsum[0], "total", (json_int_t)w->ftotal,
        "tree_total", (json_int_t)f->nodes[0].total, "root_matched",
        (json_int_t)sum[1], "root_total", (json_int_t)f->nodes[root].total,
        "root_base", (json_int_t)bsum[1]);
    pthread_mutex_unlock(&w->flame_lock);
    free(m);
    regfree(&re);
    return reply_json(rq, j);
out:
    pthread_mutex_unlock(&w->flame_lock);
    free(m);
    regfree(&re);
    return ret;
}

static int api_flame(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    struct args a = {rq, NULL};
    char *key = NULL;
    int ret = 0;
    pthread_mutex_lock(&w->flame_lock);
    if (flame_ensure(w, &a) < 0)
        goto out;
    /* the part of the tree asked for */
    long found = find_root(w, rq);
    if (found < 0)
        goto out;
    uint32_t rootn = (uint32_t)found;
    double minfrac = FLAME_MINFRAC;
    const char *mf = arg(rq, "minfrac");
    if (mf) {
        char *end;
        minfrac = strtod(mf, &end);
        if (*end || !(minfrac >= 0 && minfrac <= 1)) {
            ret = cp_http_error(rq, 400,
                                "minfrac %s is not a number between "
                                "0 and 1",
                                mf);
            goto out;
        }
    }
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, REPLY_LIMIT);
    const struct cp_profile *p = &w->fprof;
    char err[64];
    int sidx = cp_sample_index(p, arg(rq, "si"), err, sizeof(err));
    if (sidx < 0)
        sidx = 0;
    cp_dynbuf_printf(&out, "{\"total\":%" PRId64 ",\"type\":", w->ftotal);
    cp_json_escape(&out, cp_profile_string(p, p->sample_types[sidx].type));
    cp_dynbuf_addstr(&out, ",\"unit\":");
    cp_json_escape(&out, cp_profile_string(p, p->sample_types[sidx].unit));
    cp_dynbuf_addstr(&out, ",\"warnings\":");
    json_t *wj = warnings(w->fwarn);
    char *ws = json_dumps(wj, JSON_COMPACT);
    json_decref(wj);
    cp_dynbuf_addstr(&out, ws ? ws : "[]");
    free(ws);
    cp_dynbuf_addstr(&out, ",\"tree\":");
    int r = cp_flame_json(&w->flame, rootn, minfrac, &out);
    if (r == 0)
        r = cp_dynbuf_addstr(&out, "}");
    if (r < 0) {
        cp_dynbuf_free(&out);
        ret = cp_http_error(rq, 500, "could not write the flame graph: %s",
                            strerror(-r));
        goto out;
    }
    pthread_mutex_unlock(&w->flame_lock);
    free(key);
    size_t len;
    char *data = cp_dynbuf_take(&out, &len);
    return cp_http_reply_take(rq, 200, "application/json", data, len);
out:
    pthread_mutex_unlock(&w->flame_lock);
    free(key);
    return ret;
}

/* ---- /api/top, /api/peek ------------------------------------------------ */

static int api_top(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    struct view v;
    int r = prepare(w, rq, CP_GRAN_FUNCTIONS, &v);
    if (r < 0) {
        view_free(&v);
        return 0;
    }
    struct cp_graph g;
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    go.sample_index = v.si;
    go.no_trim = true;
    r = cp_graph_new(&g, &v.p, &go);
    if (r < 0) {
        view_free(&v);
        return cp_http_error(rq, 500, "could not build the report: %s",
                             strerror(-r));
    }
    size_t nid = cp_graph_n_ids(&g);
    const char **files = malloc((nid + 1) * sizeof(*files));
    int64_t *flines = malloc((nid + 1) * sizeof(*flines));
    if (!files || !flines) {
        free(files);
        free(flines);
        cp_graph_free(&g);
        view_free(&v);
        return cp_http_error(rq, 500, "out of memory");
    }
    cp_flame_node_files(&g, &v.p, v.fn_files, v.fn_lines, files, flines);
    json_t *rows = json_array();
    for (size_t i = 0; i < g.n_nodes && i < TOP_MAX_ROWS; i++) {
        const struct cp_graph_node *n = &g.nodes[i];
        const char *file = *n->file ? n->file : files[n->id];
        json_t *row = json_array();
        json_array_append_new(row, cp_json_text(n->printable));
        json_array_append_new(row, json_integer(cp_graph_flat(n)));
        json_array_append_new(row, json_integer(cp_graph_cum(n)));
        json_array_append_new(row, cp_json_text(file));
        json_array_append_new(row, cp_json_text(cp_graph_inline_label(&g, n)));
        json_array_append_new(rows, row);
    }
    free(files);
    free(flines);
    json_t *j = view_json(&v);
    json_object_set_new(j, "rows", rows);
    json_object_set_new(j, "nodes", json_integer((json_int_t)g.n_nodes));
    cp_graph_free(&g);
    view_free(&v);
    return reply_json(rq, j);
}

static int compile_arg(struct cp_http_req *rq, const char *name, regex_t *re)
{
    const char *f = arg(rq, name);
    char err[512];
    if (!f) {
        cp_http_error(rq, 400,
                      "missing %s= (a regular expression naming "
                      "functions)",
                      name);
        return -1;
    }
    if (cp_regex_compile(re, name, f, err, sizeof(err)) < 0) {
        cp_http_error(rq, 400, "%s", err);
        return -1;
    }
    return 0;
}

static int api_peek(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    regex_t re;
    if (compile_arg(rq, "f", &re) < 0)
        return 0;
    struct view v;
    int r = prepare(w, rq, CP_GRAN_FUNCTIONS, &v);
    if (r < 0) {
        view_free(&v);
        regfree(&re);
        return 0;
    }
    struct cp_graph g;
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    go.sample_index = v.si;
    go.no_trim = true;
    r = cp_graph_new(&g, &v.p, &go);
    if (r < 0) {
        view_free(&v);
        regfree(&re);
        return cp_http_error(rq, 500, "could not build the report: %s",
                             strerror(-r));
    }
    json_t *funcs = json_array();
    size_t shown = 0;
    /* nodes are sorted by flat; peek lists by cum like pprof's -peek */
    for (size_t i = 0; i < g.n_nodes && shown < PEEK_MAX; i++) {
        const struct cp_graph_node *n = &g.nodes[i];
        if (!cp_regex_match(&re, n->printable))
            continue;
        shown++;
        json_t *callers = json_array(), *callees = json_array();
        for (uint32_t k = 0; k < n->n_in; k++) {
            const struct cp_graph_edge *e = &g.edges[n->in[k]];
            json_array_append_new(
                callers,
                json_pack("[o,I,b]", cp_json_text(g.nodes[e->src].printable),
                          (json_int_t)e->weight, e->inline_));
        }
        for (uint32_t k = 0; k < n->n_out; k++) {
            const struct cp_graph_edge *e = &g.edges[n->out[k]];
            json_array_append_new(
                callees,
                json_pack("[o,I,b]", cp_json_text(g.nodes[e->dst].printable),
                          (json_int_t)e->weight, e->inline_));
        }
        json_array_append_new(funcs,
                              json_pack("{s:o,s:o,s:I,s:I,s:o,s:o}", "name",
                                        cp_json_text(n->printable), "file",
                                        cp_json_text(n->file), "flat",
                                        (json_int_t)cp_graph_flat(n), "cum",
                                        (json_int_t)cp_graph_cum(n), "callers",
                                        callers, "callees", callees));
    }
    json_t *j = view_json(&v);
    json_object_set_new(j, "funcs", funcs);
    cp_graph_free(&g);
    view_free(&v);
    regfree(&re);
    return reply_json(rq, j);
}

/* ---- /api/source -------------------------------------------------------- */

static int api_source(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    regex_t re;
    if (compile_arg(rq, "f", &re) < 0)
        return 0;
    struct view v;
    int r = prepare(w, rq, -1, &v);
    if (r < 0) {
        view_free(&v);
        regfree(&re);
        return 0;
    }
    json_t *funcs = json_array();
    struct cp_source_opts so = {.sample_index = v.si,
                                .source_path = w->o->source_path,
                                .trim_path = w->o->trim_path};
    r = cp_source_json(&v.p, &re, &so, funcs);
    regfree(&re);
    if (r < 0) {
        json_decref(funcs);
        view_free(&v);
        return cp_http_error(rq, 500, "could not build the source view: %s",
                             strerror(-r));
    }
    json_t *j = view_json(&v);
    json_object_set_new(j, "funcs", funcs);
    view_free(&v);
    return reply_json(rq, j);
}

/* ---- /api/graph --------------------------------------------------------- */

static int api_graph(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    struct view v;
    int r = prepare(w, rq, CP_GRAN_FUNCTIONS, &v);
    const char *title = w->o->title ? w->o->title : "";
    if (r < 0) {
        view_free(&v);
        return 0;
    }
    struct cp_graph g;
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    go.sample_index = v.si;
    go.node_count = GRAPH_NODES;
    const char *nc = arg(rq, "nodecount");
    if (nc)
        go.node_count = atoi(nc);
    r = cp_graph_new(&g, &v.p, &go);
    if (r < 0) {
        view_free(&v);
        return cp_http_error(rq, 500, "could not build the graph: %s",
                             strerror(-r));
    }
    char l0[512], l1[128], l2[128];
    snprintf(l0, sizeof(l0), "File: %s", title);
    snprintf(l1, sizeof(l1), "Type: %s", v.type);
    snprintf(l2, sizeof(l2), "Showing %zu of %zu nodes", g.n_nodes,
             g.orig_count + g.dropped_nodes);
    const char *legend[] = {l0, l1, l2};
    struct cp_dynbuf dot, svg;
    cp_dynbuf_init(&dot, 64u << 20);
    cp_dynbuf_init(&svg, 256u << 20);
    r = cp_callgraph_dot(&g, v.total, v.unit, legend, 3, &dot);
    cp_graph_free(&g);
    view_free(&v);
    char err[512] = "";
    if (r == 0)
        r = cp_callgraph_svg(dot.data, dot.len, DOT_TIMEOUT_S, &svg, err,
                             sizeof(err));
    cp_dynbuf_free(&dot);
    if (r == -ENOENT) {
        cp_dynbuf_free(&svg);
        return cp_http_error(rq, 501,
                             "Could not execute dot; install "
                             "graphviz (sudo apt-get install "
                             "graphviz) to see the call graph.");
    }
    if (r < 0) {
        cp_dynbuf_free(&svg);
        return cp_http_error(rq, 500, "%s",
                             *err ? err : "could not draw the graph");
    }
    size_t len;
    char *data = cp_dynbuf_take(&svg, &len);
    if (!data)
        return cp_http_error(rq, 500, "dot wrote nothing");
    return cp_http_reply_take(rq, 200, "image/svg+xml", data, len);
}

/* ---- /api/refresh, /download -------------------------------------------- */

static int api_refresh(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    if (!w->o->reload)
        return cp_http_error(rq, 400,
                             "this profile was not loaded from a "
                             "URL; there is nothing to refresh");
    struct cp_profile np;
    char err[1024] = "";
    /* outside the lock: fetching a CPU profile takes its seconds */
    int r = w->o->reload(w->o->reload_ctx, &np, err, sizeof(err));
    if (r < 0)
        return cp_http_error(rq, 502, "%s",
                             *err ? err : "could not fetch the profile");
    r = cp_profile_canon_strings(&np);
    if (r < 0) {
        cp_profile_free(&np);
        return cp_http_error(rq, 500, "out of memory");
    }
    pthread_mutex_lock(&w->flame_lock);
    pthread_mutex_lock(&w->lock);
    cp_profile_free(&w->prof);
    w->prof = np;
    w->version++;
    unsigned ver = w->version;
    size_t ns = w->prof.n_samples;
    pthread_mutex_unlock(&w->lock);
    if (w->have_flame) {
        cp_flame_free(&w->flame);
        cp_profile_free(&w->fprof);
        free(w->fkey);
        w->fkey = NULL;
        w->have_flame = false;
    }
    pthread_mutex_unlock(&w->flame_lock);
    return reply_json(rq, json_pack("{s:i,s:I}", "version", (int)ver, "samples",
                                    (json_int_t)ns));
}

static int download(struct cp_http_req *rq, void *ctx)
{
    struct webui *w = ctx;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1u << 30);
    pthread_mutex_lock(&w->lock);
    int r = cp_profile_encode(&w->prof, 1, &b);
    pthread_mutex_unlock(&w->lock);
    if (r < 0) {
        cp_dynbuf_free(&b);
        return cp_http_error(rq, 500, "could not encode the profile: %s",
                             strerror(-r));
    }
    cp_http_add_header(rq, "Content-Disposition",
                       "attachment;filename=profile.pb.gz");
    size_t len;
    char *data = cp_dynbuf_take(&b, &len);
    return cp_http_reply_take(rq, 200, "application/vnd.google.protobuf+gzip",
                              data, len);
}

static const struct cp_http_route routes[] = {
    {"/", root, CP_HTTP_GET},
    {"/flamegraph", page, CP_HTTP_GET},
    {"/top", page, CP_HTTP_GET},
    {"/source", page, CP_HTTP_GET},
    {"/peek", page, CP_HTTP_GET},
    {"/graph", page, CP_HTTP_GET},
    {"/api/meta", api_meta, CP_HTTP_GET},
    {"/api/flame", api_flame, CP_HTTP_GET},
    {"/api/search", api_search, CP_HTTP_GET},
    {"/api/top", api_top, CP_HTTP_GET},
    {"/api/peek", api_peek, CP_HTTP_GET},
    {"/api/source", api_source, CP_HTTP_GET},
    {"/api/graph", api_graph, CP_HTTP_GET},
    {"/api/refresh", api_refresh, CP_HTTP_POST},
    {"/download", download, CP_HTTP_GET},
    {"/favicon.ico", favicon, CP_HTTP_GET},
    {"/ui", pprof_alias, CP_HTTP_GET},
    {"/ui/", pprof_alias, CP_HTTP_GET | CP_HTTP_PREFIX},
    {"/flamegraph2", pprof_alias, CP_HTTP_GET},
    {"/flamegraphold", pprof_alias, CP_HTTP_GET},
    {"/static/", cp_http_serve_asset, CP_HTTP_GET | CP_HTTP_PREFIX},
};

/* Build the default flame graph while the browser starts, so that the
 * first page shows it without waiting. */
static void *warm_up(void *arg)
{
    struct webui *w = arg;
    struct args a = {NULL, w->initial_kv};
    pthread_mutex_lock(&w->flame_lock);
    flame_ensure(w, &a);
    pthread_mutex_unlock(&w->flame_lock);
    return NULL;
}

static void add_initial(struct webui *w, struct cp_dynbuf *b, const char *key,
                        const char *val)
{
    if (!val || !*val)
        return;
    size_t n = 0;
    while (w->initial_kv[n])
        n += 2;
    if (n + 2 < sizeof(w->initial_kv) / sizeof(w->initial_kv[0])) {
        w->initial_kv[n] = key;
        w->initial_kv[n + 1] = val;
        w->initial_kv[n + 2] = NULL;
    }
    if (b->len)
        cp_dynbuf_addstr(b, "&");
    cp_dynbuf_printf(b, "%s=", key);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *s = (const unsigned char *)val; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
            (*s >= '0' && *s <= '9') || strchr("-_.~", *s)) {
            cp_dynbuf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[*s >> 4], hex[*s & 15]};
            cp_dynbuf_add(b, e, 3);
        }
    }
}

int cp_webui_serve(struct cp_profile *p, const struct cp_webui_opts *o)
{
    struct webui *w = calloc(1, sizeof(*w));
    if (!w) {
        cp_profile_free(p);
        fprintf(stderr, "cprof: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->flame_lock, NULL);
    w->prof = *p;
    memset(p, 0, sizeof(*p));
    w->o = o;
    int ret = 1;
    if (cp_profile_canon_strings(&w->prof) < 0) {
        fprintf(stderr, "cprof: out of memory\n");
        goto out;
    }
    char err[1024];
    if (o->sample_index && *o->sample_index &&
        cp_sample_index(&w->prof, o->sample_index, err, sizeof(err)) < 0) {
        fprintf(stderr, "cprof: %s\n", err);
        goto out;
    }
    struct cp_dynbuf iq;
    cp_dynbuf_init(&iq, sizeof(w->initial_query) - 1);
    add_initial(w, &iq, "si", o->sample_index);
    add_initial(w, &iq, "focus", o->focus);
    add_initial(w, &iq, "ignore", o->ignore);
    add_initial(w, &iq, "hide", o->hide);
    add_initial(w, &iq, "show", o->show);
    add_initial(w, &iq, "tagfocus", o->tagfocus);
    add_initial(w, &iq, "tagignore", o->tagignore);
    if (o->granularity && strcmp(o->granularity, "functions"))
        add_initial(w, &iq, "g", o->granularity);
    snprintf(w->initial_query, sizeof(w->initial_query), "%s",
             iq.data ? iq.data : "");
    cp_dynbuf_free(&iq);

    cp_httpd_block_signals();
    struct cp_httpd *d;
    int r =
        cp_httpd_start(&d, o->addr, routes, sizeof(routes) / sizeof(routes[0]),
                       w, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "cprof: %s\n", err);
        goto out;
    }
    char url[8192];
    snprintf(url, sizeof(url), "%s%s%s", cp_httpd_url(d),
             *w->initial_query ? "/flamegraph?" : "", w->initial_query);
    /* go tool pprof prints this line; scripts wait for it */
    printf("Serving web UI on %s\n", cp_httpd_url(d));
    fflush(stdout);
    if (o->url_file) {
        FILE *f = fopen(o->url_file, "w");
        if (f) {
            fprintf(f, "%s\n", cp_httpd_url(d));
            fclose(f);
        }
    }
    pthread_t warm;
    bool warming = pthread_create(&warm, NULL, warm_up, w) == 0;
    if (o->open_browser)
        cp_httpd_open_browser(url);
    cp_httpd_wait_signal();
    cp_httpd_stop(d);
    if (warming)
        pthread_join(warm, NULL);
    ret = 0;
out:
    if (w->have_flame) {
        cp_flame_free(&w->flame);
        cp_profile_free(&w->fprof);
    }
    free(w->fkey);
    cp_profile_free(&w->prof);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->flame_lock);
    free(w);
    return ret;
}

/* ---- the cprof command's -http ------------------------------------------ */

static bool is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static int reload_sources(void *ctx, struct cp_profile *out, char *err,
                          size_t errlen)
{
    return cp_pprof_load(ctx, out, err, errlen);
}

int cp_web_serve(const struct cp_pprof_cfg *c, struct cp_profile *p)
{
    struct cp_webui_opts o = CP_WEBUI_OPTS_INIT;
    o.addr = c->http;
    o.open_browser = !c->no_browser;
    char title[1024] = "";
    size_t tl = 0;
    bool url = false;
    for (size_t i = 0; i < c->n_sources; i++) {
        url |= is_url(c->sources[i]);
        int n = snprintf(title + tl, sizeof(title) - tl, "%s%s", i ? " " : "",
                         c->sources[i]);
        if (n > 0 && (size_t)n < sizeof(title) - tl)
            tl += (size_t)n;
    }
    for (size_t i = 0; i < c->n_base; i++)
        url |= is_url(c->base[i]);
    if (c->n_base) {
        int n = snprintf(title + tl, sizeof(title) - tl, " %s %s",
                         c->diff_base ? "-diff_base" : "-base", c->base[0]);
        if (n > 0 && (size_t)n < sizeof(title) - tl)
            tl += (size_t)n;
    }
    o.title = title;
    if (url) {
        o.reload = reload_sources;
        o.reload_ctx = (void *)c;
    }
    o.sample_index = c->sample_index;
    o.focus = c->filter.focus;
    o.ignore = c->filter.ignore;
    o.hide = c->filter.hide;
    o.show = c->filter.show;
    o.tagfocus = c->filter.tagfocus;
    o.tagignore = c->filter.tagignore;
    o.granularity = cp_granularity_name((enum cp_granularity)c->granularity);
    o.source_path = c->source_path;
    o.trim_path = c->trim_path;
    return cp_webui_serve(p, &o);
}
