/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.c - the web UI's source view (source.h): the report model at
 * line granularity (graph.h), grouped by function and file, joined with
 * the lines of the source file when it can be found, the way go tool
 * pprof's weblist finds it (-source_path, -trim_path, path suffixes).
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>

#include "filter.h"
#include "flame.h"
#include "graph.h"
#include "source.h"

/* A source file larger than this is not shown (a generated monster). */
#define MAX_SOURCE_BYTES (16u << 20)
/* Context lines shown around the lines that have samples. */
#define CONTEXT 3
/* Gaps between sampled lines longer than this are elided. */
#define MAX_GAP 12

json_t *cp_json_text(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    /* not UTF-8: let the escaper replace the bad bytes, then parse */
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 64u << 20);
    if (cp_json_escape(&b, s) == 0)
        j = json_loads(b.data, JSON_DECODE_ANY, NULL);
    cp_dynbuf_free(&b);
    return j ? j : json_string("?");
}

static bool readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, R_OK) == 0;
}

char *cp_source_find(const char *file, const char *source_path,
                     const char *trim_path)
{
    if (!file || !*file)
        return NULL;
    const char *f = file;
    if (trim_path && *trim_path && !strncmp(f, trim_path, strlen(trim_path)))
        f += strlen(trim_path);
    if (readable_file(file))
        return strdup(file);
    if (f != file && readable_file(f))
        return strdup(f);
    const char *dirs = source_path && *source_path ? source_path : ".";
    size_t cap = strlen(dirs) + strlen(f) + 4;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    /* every directory, every suffix of the path (longest first) */
    for (const char *sfx = f; sfx; sfx = strchr(sfx + 1, '/')) {
        const char *s = sfx;
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *d = dirs;
        while (d) {
            const char *colon = strchr(d, ':');
            size_t dl = colon ? (size_t)(colon - d) : strlen(d);
            if (dl) {
                snprintf(buf, cap, "%.*s/%s", (int)dl, d, s);
                if (readable_file(buf))
                    return buf;
            }
            d = colon ? colon + 1 : NULL;
        }
    }
    free(buf);
    return NULL;
}

/* The lines of path: an array of pointers into one buffer. */
struct text {
    char *buf;
    char **line; /* line[i] is line i + 1 */
    size_t n;
};

static int read_text(const char *path, struct text *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "could not read %s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) < 0 || st.st_size > MAX_SOURCE_BYTES) {
        snprintf(err, errlen, "%s is larger than %u MB", path,
                 MAX_SOURCE_BYTES >> 20);
        fclose(fp);
        return -EFBIG;
    }
    size_t len = (size_t)st.st_size;
    t->buf = malloc(len + 1);
    if (!t->buf) {
        fclose(fp);
        return -ENOMEM;
    }
    len = fread(t->buf, 1, len, fp);
    fclose(fp);
    t->buf[len] = 0;
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += t->buf[i] == '\n';
    t->line = malloc(n * sizeof(*t->line));
    if (!t->line) {
        free(t->buf);
        return -ENOMEM;
    }
    char *s = t->buf;
    for (;;) {
        t->line[t->n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = 0;
        if (nl > s && nl[-1] == '\r')
            nl[-1] = 0;
        s = nl + 1;
        if (!*s && s == t->buf + len)
            break;
    }
    return 0;
}

struct fline {
    int64_t lineno, flat, cum;
};

struct func {
    const char *name, *file;
    int64_t start, flat, cum;
    struct fline *lines;
    size_t n, cap;
};

static int by_lineno(const void *a, const void *b)
{
    const struct fline *x = a, *y = b;
    return (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

static int by_cum(const void *a, const void *b)
{
    const struct func *x = a, *y = b;
    int64_t cx = x->cum < 0 ? -x->cum : x->cum;
    int64_t cy = y->cum < 0 ? -y->cum : y->cum;
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static json_t *func_json(const struct func *fn, const struct cp_source_opts *o)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "name", cp_json_text(fn->name));
    json_object_set_new(j, "file", cp_json_text(fn->file));
    json_object_set_new(j, "start", json_integer(fn->start));
    json_object_set_new(j, "flat", json_integer(fn->flat));
    json_object_set_new(j, "cum", json_integer(fn->cum));
    char err[512] = "";
    struct text t = {0};
    char *path = cp_source_find(fn->file, o->source_path, o->trim_path);
    if (!path)
        snprintf(err, sizeof(err),
                 *fn->file ? "source file %s not found (try -source_path)"
                           : "the profile names no source file",
                 fn->file);
    else if (read_text(path, &t, err, sizeof(err)) < 0)
        t.n = 0;
    json_object_set_new(j, "path", path ? cp_json_text(path) : json_null());
    json_object_set_new(j, "error", *err ? json_string(err) : json_null());
    free(path);

    /* which lines: sampled ones, the span between them unless a gap is
     * long, the function's first line, and context */
    json_t *lines = json_array();
    int64_t lo = fn->n ? fn->lines[0].lineno : fn->start;
    if (fn->start > 0 && fn->start < lo && lo - fn->start <= MAX_GAP * 4)
        lo = fn->start;
    lo -= CONTEXT;
    if (lo < 1)
        lo = 1;
    size_t k = 0;
    int64_t last = fn->n ? fn->lines[fn->n - 1].lineno : lo;
    int64_t hi = last + CONTEXT;
    if (t.n && hi > (int64_t)t.n)
        hi = (int64_t)t.n;
    if (hi < last)
        hi = last;
    for (int64_t ln = lo; ln <= hi; ln++) {
        while (k < fn->n && fn->lines[k].lineno < ln)
            k++;
        /* elide a long run with no samples */
        if (k < fn->n && fn->lines[k].lineno - ln > MAX_GAP &&
            (k == 0 || ln - fn->lines[k - 1].lineno > CONTEXT)) {
            json_array_append_new(lines,
                                  json_pack("[I,I,I,n]", (json_int_t)-1,
                                            (json_int_t)0, (json_int_t)0));
            ln = fn->lines[k].lineno - CONTEXT - 1;
            continue;
        }
        int64_t flat = 0, cum = 0;
        if (k < fn->n && fn->lines[k].lineno == ln) {
            flat = fn->lines[k].flat;
            cum = fn->lines[k].cum;
        }
        json_t *txt = ln >= 1 && (size_t)ln <= t.n
                          ? cp_json_text(t.line[ln - 1])
                          : json_null();
        json_t *row = json_array();
        json_array_append_new(row, json_integer(ln));
        json_array_append_new(row, json_integer(flat));
        json_array_append_new(row, json_integer(cum));
        json_array_append_new(row, txt);
        json_array_append_new(lines, row);
    }
    json_object_set_new(j, "lines", lines);
    free(t.buf);
    free(t.line);
    return j;
}

int cp_source_json(struct cp_profile *p, const regex_t *re,
                   const struct cp_source_opts *o, json_t *funcs)
{
    cp_filter_aggregate(p, CP_GRAN_LINES, false);
    struct cp_graph g;
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    go.sample_index = o->sample_index;
    go.no_trim = true;
    int r = cp_graph_new(&g, p, &go);
    if (r < 0)
        return r;
    struct func *fs = NULL;
    size_t nf = 0, cap = 0;
    r = -ENOMEM;
    for (size_t i = 0; i < g.n_nodes; i++) {
        const struct cp_graph_node *n = &g.nodes[i];
        if (!*n->name || !cp_regex_match(re, n->name))
            continue;
        size_t k;
        for (k = 0; k < nf; k++)
            if (!strcmp(fs[k].name, n->name) && !strcmp(fs[k].file, n->file))
                break;
        if (k == nf) {
            if (nf == cap) {
                cap = cap * 2 + 8;
                struct func *nfs = realloc(fs, cap * sizeof(*nfs));
                if (!nfs)
                    goto out;
                fs = nfs;
            }
            memset(&fs[nf], 0, sizeof(fs[nf]));
            fs[nf].name = n->name;
            fs[nf].file = n->file;
            nf++;
        }
        struct func *fn = &fs[k];
        if (fn->n == fn->cap) {
            fn->cap = fn->cap * 2 + 16;
            struct fline *nl = realloc(fn->lines, fn->cap * sizeof(*nl));
            if (!nl)
                goto out;
            fn->lines = nl;
        }
        fn->lines[fn->n++] = (struct fline){n->lineno, n->flat, n->cum};
        fn->flat += n->flat;
    }
    /* start lines from the function table */
    for (size_t k = 0; k < nf; k++) {
        for (size_t i = 0; i < p->n_functions; i++) {
            const struct cp_function *f = &p->functions[i];
            if (f->start_line > 0 &&
                !strcmp(cp_profile_string(p, f->name), fs[k].name)) {
                fs[k].start = f->start_line;
                break;
            }
        }
        qsort(fs[k].lines, fs[k].n, sizeof(*fs[k].lines), by_lineno);
    }
    /* a function's cum: each sample with the function on its stack, once
     * (the sum of its lines' cum would count recursion twice) */
    size_t nid = cp_graph_n_ids(&g);
    int32_t *owner = malloc((nid + 1) * sizeof(*owner));
    size_t *stamp = malloc((nf + 1) * sizeof(*stamp));
    if (!owner || !stamp) {
        free(owner);
        free(stamp);
        goto out;
    }
    for (size_t id = 0; id < nid; id++) {
        struct cp_graph_node gn;
        owner[id] = -1;
        if (cp_graph_node_info(&g, (uint32_t)id, &gn) < 0)
            continue;
        for (size_t k = 0; k < nf; k++)
            if (!strcmp(gn.name, fs[k].name) && !strcmp(gn.file, fs[k].file)) {
                owner[id] = (int32_t)k;
                break;
            }
    }
    for (size_t k = 0; k < nf; k++) {
        fs[k].cum = 0;
        stamp[k] = SIZE_MAX;
    }
    for (size_t s = 0; s < p->n_samples; s++) {
        const struct cp_sample *sm = &p->samples[s];
        int64_t v = sm->values[o->sample_index];
        if (!v)
            continue;
        for (size_t li = 0; li < sm->n_locations; li++) {
            size_t nn;
            const uint32_t *ids =
                cp_graph_location_nodes(&g, sm->location_ids[li], &nn);
            for (size_t m = 0; m < nn; m++) {
                int32_t k = owner[ids[m]];
                if (k >= 0 && stamp[k] != s) {
                    stamp[k] = s;
                    fs[k].cum += v;
                }
            }
        }
    }
    free(owner);
    free(stamp);
    r = 0;
    qsort(fs, nf, sizeof(*fs), by_cum);
    size_t max = o->max_funcs ? o->max_funcs : 20;
    for (size_t k = 0; k < nf && k < max; k++) {
        json_t *j = func_json(&fs[k], o);
        if (!j || json_array_append_new(funcs, j) < 0) {
            r = -ENOMEM;
            break;
        }
    }
out:
    for (size_t k = 0; k < nf; k++)
        free(fs[k].lines);
    free(fs);
    cp_graph_free(&g);
    return r;
}
