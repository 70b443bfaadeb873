/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c - go tool pprof's text reports over the report model:
 * printText, printTraces, Profile.String (raw) and printSource (list) of
 * google/pprof internal/report/report.go and source.go, and profile.go
 * (Go 1.19's copy), with their exact formats, plus folded stacks for
 * FlameGraph.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "merge.h"
#include "phash.h"
#include "report.h"

static const char *S(const struct cp_profile *p, int64_t i)
{
    return cp_profile_string(p, i);
}

#define abs64 cp_abs64

#define OUT(...)                                                             \
    do {                                                                     \
        if (cp_dynbuf_printf(out, __VA_ARGS__) < 0)                          \
            return -ENOMEM;                                                  \
    } while (0)

/* ---- setup ---------------------------------------------------------------- */

int cp_report_init(struct cp_report *r, struct cp_profile *p,
                   const struct cp_report_opts *o)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->o = *o;
    if (o->sample_index < 0 || (size_t)o->sample_index >= p->n_sample_types)
        return -EINVAL;
    const struct cp_value_type *vt = &p->sample_types[o->sample_index];
    snprintf(r->sample_type, sizeof(r->sample_type), "%s%s",
             o->mean ? "mean_" : "", S(p, vt->type));
    snprintf(r->sample_unit, sizeof(r->sample_unit), "%s", S(p, vt->unit));
    snprintf(r->output_unit, sizeof(r->output_unit), "%s",
             o->output_unit && *o->output_unit ? o->output_unit : "minimum");
    if (cp_num_units_init(&r->units, p) < 0)
        return -ENOMEM;
    /* pprof's computeTotal: |values|, only the diff base's when there is
     * one (samples labelled pprof::base=true) */
    int64_t div = 0, total = 0, ddiv = 0, dtotal = 0;
    int si = o->sample_index;
    for (size_t j = 0; j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        int64_t v = s->values[si], d = o->mean ? s->values[0] : 0;
        v = cp_abs64(v);
        total = cp_add64(total, v);
        div = cp_add64(div, d);
        if (cp_sample_has_label(p, s, "pprof::base", "true")) {
            dtotal = cp_add64(dtotal, v);
            ddiv = cp_add64(ddiv, d);
        }
    }
    if (dtotal > 0) {
        total = dtotal;
        div = ddiv;
    }
    r->total = div ? cp_div64(total, div) : total;
    return 0;
}

void cp_report_free(struct cp_report *r)
{
    cp_num_units_free(&r->units);
}

char *cp_report_value(const struct cp_report *r, int64_t v, char *buf,
                      size_t n)
{
    double ratio = r->o.divide_by > 0 ? 1 / r->o.divide_by : 1;
    if (ratio > 0 && ratio != 1)
        v = cp_f2i64((double)v * ratio);
    return cp_unit_label(buf, n, v, r->sample_unit, r->output_unit);
}

void cp_report_graph_opts(const struct cp_report *r, int node_count_default,
                          struct cp_graph_opts *go)
{
    struct cp_graph_opts d = CP_GRAPH_OPTS_INIT;
    *go = d;
    go->sample_index = r->o.sample_index;
    go->mean_index = r->o.mean ? 0 : -1;
    go->cum_sort = r->o.cum_sort;
    go->drop_negative = r->o.drop_negative;
    go->node_count = r->o.node_count < 0 ? node_count_default
                                         : r->o.node_count;
    go->node_fraction = r->o.node_fraction;
    go->edge_fraction = r->o.edge_fraction;
    go->no_trim = !r->o.trim;
}

void cp_report_select_unit(struct cp_report *r, const struct cp_graph *g)
{
    if (strcmp(r->output_unit, "minimum") || g->n_nodes == 0)
        return;
    int64_t minv = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        int64_t m = abs64(cp_graph_flat(&g->nodes[i]));
        if (m == 0)
            m = abs64(cp_graph_cum(&g->nodes[i]));
        if (m > 0 && (minv == 0 || m < minv))
            minv = m;
    }
    int64_t maxv = r->total;
    if (minv == 0)
        minv = maxv;
    double ratio = r->o.divide_by > 0 ? 1 / r->o.divide_by : 1;
    if (ratio > 0 && ratio != 1) {
        minv = cp_f2i64((double)minv * ratio);
        maxv = cp_f2i64((double)maxv * ratio);
    }
    double v;
    const char *minu = cp_unit_scale(minv, r->sample_unit, "minimum", &v);
    char minbuf[32];
    snprintf(minbuf, sizeof(minbuf), "%s", minu);
    const char *maxu = cp_unit_scale(maxv, r->sample_unit, "minimum", &v);
    const char *unit = minbuf;
    if (strcmp(minbuf, maxu) && minv * 100 < maxv)
        unit = cp_unit_scale(100 * minv, r->sample_unit, "minimum", &v);
    snprintf(r->output_unit, sizeof(r->output_unit), "%s",
             *unit ? unit : r->sample_unit);
}

/* ---- header ---------------------------------------------------------------- */

static const char *base_name(const char *path, char *buf, size_t n)
{
    size_t l = strlen(path);
    while (l > 1 && path[l - 1] == '/')
        l--;
    size_t b = l;
    while (b > 0 && path[b - 1] != '/')
        b--;
    if (b == l && l > 0)
        snprintf(buf, n, "/");
    else
        snprintf(buf, n, "%.*s", (int)(l - b), path + b);
    return buf;
}

/* Go's time.Format(t, "Jan 2, 2006 at 3:04pm (MST)") in local time */
static void go_time_label(char *buf, size_t n, int64_t ns)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr",
                                      "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ns / 1000000000);
    if (ns % 1000000000 < 0)
        t--;
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        snprintf(buf, n, "?");
        return;
    }
    int h = tm.tm_hour % 12;
    snprintf(buf, n, "%s %d, %d at %d:%02d%s (%s)", mon[tm.tm_mon % 12],
             tm.tm_mday, tm.tm_year + 1900, h ? h : 12, tm.tm_min,
             tm.tm_hour < 12 ? "am" : "pm", tm.tm_zone ? tm.tm_zone : "UTC");
}

int cp_report_profile_labels(const struct cp_report *r,
                             struct cp_dynbuf *out)
{
    const struct cp_profile *p = r->p;
    char buf[512];
    if (p->n_mappings > 0) {
        const char *f = S(p, p->mappings[0].filename);
        if (*f)
            OUT("File: %s\n", base_name(f, buf, sizeof(buf)));
        const char *b = S(p, p->mappings[0].build_id);
        if (*b)
            OUT("Build ID: %s\n", b);
    }
    for (size_t i = 0; i < p->n_comments; i++) {
        const char *c = S(p, p->comments[i]);
        if (c[0] != '#')
            OUT("%s\n", c);
    }
    if (*r->sample_type)
        OUT("Type: %s\n", r->sample_type);
    if (p->time_nanos) {
        go_time_label(buf, sizeof(buf), p->time_nanos);
        OUT("Time: %s\n", buf);
    }
    if (p->duration_nanos) {
        char d[64], tv[64], ratio[32] = "";
        cp_unit_label(d, sizeof(d), p->duration_nanos, "nanoseconds", "auto");
        double tn;
        const char *tu =
            cp_unit_scale(r->total, r->sample_unit, "nanoseconds", &tn);
        if (!strcmp(tu, "ns") && (int64_t)tn != 0) {
            char pc[16];
            cp_unit_percentage(pc, sizeof(pc), (int64_t)tn,
                               p->duration_nanos);
            snprintf(ratio, sizeof(ratio), "(%s)", pc);
        }
        OUT("Duration: %s, Total samples = %s %s\n", d,
            cp_report_value(r, r->total, tv, sizeof(tv)), ratio);
    }
    return 0;
}

static const char *trim_space(char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

static int report_labels(const struct cp_report *r, const struct cp_graph *g,
                         struct cp_dynbuf *out)
{
    if (!r->o.compact_labels) {
        int e = cp_report_profile_labels(r, out);
        if (e < 0)
            return e;
    }
    int64_t flat_sum = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        flat_sum = cp_add64(flat_sum, cp_graph_flat(&g->nodes[i]));
    if (r->o.n_active_filters) {
        OUT("Active filters:\n");
        for (size_t i = 0; i < r->o.n_active_filters; i++) {
            const char *f = r->o.active_filters[i];
            if (strlen(f) > 80)
                OUT("   %.80s\xe2\x80\xa6\n", f);
            else
                OUT("   %s\n", f);
        }
    }
    char a[64], b[64], pc[16];
    cp_unit_percentage(pc, sizeof(pc), flat_sum, r->total);
    OUT("Showing nodes accounting for %s, %s of %s total\n",
        cp_report_value(r, flat_sum, a, sizeof(a)), trim_space(pc),
        cp_report_value(r, r->total, b, sizeof(b)));
    if (r->total != 0) {
        if (g->dropped_nodes > 0)
            OUT("Dropped %zu node%s (cum <= %s)\n", g->dropped_nodes,
                g->dropped_nodes > 1 ? "s" : "",
                cp_report_value(r,
                                abs64(cp_f2i64((double)r->total *
                                                r->o.node_fraction)),
                                a, sizeof(a)));
        if (g->n_nodes > 0 && g->n_nodes < g->orig_count)
            OUT("Showing top %zu nodes out of %zu\n", g->n_nodes,
                g->orig_count);
    }
    return 0;
}

/* ---- -top / -text ------------------------------------------------------------ */

int cp_report_text(struct cp_report *r, struct cp_dynbuf *out)
{
    struct cp_graph g;
    struct cp_graph_opts go;
    cp_report_graph_opts(r, 0, &go);
    int e = cp_graph_new(&g, r->p, &go);
    if (e < 0)
        return e;
    cp_report_select_unit(r, &g);
    e = report_labels(r, &g, out);
    if (e == 0 && cp_dynbuf_printf(out, "%10s %5s%% %5s%% %10s %5s%%\n",
                                   "flat", "flat", "sum", "cum", "cum") < 0)
        e = -ENOMEM;
    int64_t flat_sum = 0;
    for (size_t i = 0; e == 0 && i < g.n_nodes; i++) {
        const struct cp_graph_node *n = &g.nodes[i];
        int64_t flat = cp_graph_flat(n), cum = cp_graph_cum(n);
        char fv[64], cv[64], fp[16], sp[16], cp[16];
        flat_sum = cp_add64(flat_sum, flat);
        const char *inl = cp_graph_inline_label(&g, n);
        if (cp_dynbuf_printf(
                out, "%10s %s %s %10s %s  %s%s%s\n",
                cp_report_value(r, flat, fv, sizeof(fv)),
                cp_unit_percentage(fp, sizeof(fp), flat, r->total),
                cp_unit_percentage(sp, sizeof(sp), flat_sum, r->total),
                cp_report_value(r, cum, cv, sizeof(cv)),
                cp_unit_percentage(cp, sizeof(cp), cum, r->total),
                n->printable, *inl ? " " : "", inl) < 0)
            e = -ENOMEM;
    }
    cp_graph_free(&g);
    return e;
}

/* ---- frame names without a graph (traces, collapsed) ------------------------ */

/* Printable names of every (location, line) as pprof's CreateNodes with
 * default options names them; loc_off/names indexed like the graph's. */
struct frame_names {
    uint32_t *off; /* n_locations + 2 */
    char **names;
    char *store;
};

static void frame_names_free(struct frame_names *f)
{
    free(f->off);
    free(f->names);
    free(f->store);
}

static int frame_names_init(struct frame_names *f, const struct cp_profile *p)
{
    memset(f, 0, sizeof(*f));
    size_t total = 0, bytes = 0;
    char small[1024];
    for (int pass = 0; pass < 2; pass++) {
        size_t w = 0, b = 0;
        if (pass == 1) {
            f->off = malloc((p->n_locations + 2) * sizeof(*f->off));
            f->names = malloc((total + 1) * sizeof(*f->names));
            f->store = malloc(bytes + 1);
            if (!f->off || !f->names || !f->store)
                return -ENOMEM;
            f->off[0] = f->off[1] = 0;
        }
        for (size_t i = 0; i < p->n_locations; i++) {
            const struct cp_location *l = &p->locations[i];
            const struct cp_mapping *m = cp_profile_mapping(p, l->mapping_id);
            const char *obj = m ? S(p, m->filename) : "";
            size_t n = l->n_lines ? l->n_lines : 1;
            for (size_t k = 0; k < n; k++) {
                const struct cp_function *fn =
                    l->n_lines ? cp_profile_function(p,
                                                     l->lines[k].function_id)
                               : NULL;
                const char *name = "", *file = "", *o = obj;
                int64_t lineno = 0;
                char cleaned[4096] = "";
                if (fn) {
                    name = S(p, fn->name);
                    lineno = l->lines[k].line;
                    const char *ff = S(p, fn->filename);
                    if (*ff && strlen(ff) + 2 <= sizeof(cleaned))
                        file = cp_path_clean(cleaned, sizeof(cleaned), ff);
                    else
                        file = ff;
                    if (*name)
                        o = "";
                }
                size_t need = strlen(name) + strlen(file) + strlen(o) + 64;
                char *buf = need > sizeof(small) ? malloc(need) : small;
                if (!buf)
                    return -ENOMEM;
                cp_graph_printable(buf, need, name, file, o, l->address,
                                   lineno);
                size_t len = strlen(buf) + 1;
                if (pass == 1) {
                    memcpy(f->store + b, buf, len);
                    f->names[w] = f->store + b;
                }
                b += len;
                w++;
                if (buf != small)
                    free(buf);
            }
            if (pass == 1)
                f->off[i + 2] = (uint32_t)w;
        }
        total = w;
        bytes = b;
        if (total >= UINT32_MAX)
            return -ENOMEM;
    }
    /* names point into store; fix them if realloc ever moved it (no) */
    return 0;
}

/* ---- -traces ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines "%10s:  v1 v2\n" per key, sorted as strings; numeric when num. */
static int label_lines(const struct cp_report *r, const struct cp_sample *s,
                       bool num, struct cp_dynbuf *out)
{
    const struct cp_profile *p = r->p;
    size_t n = s->n_labels;
    if (!n)
        return 0;
    char **lines = calloc(n, sizeof(*lines));
    bool *done = calloc(n, sizeof(*done));
    size_t nl = 0;
    int e = 0;
    if (!lines || !done) {
        e = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cp_label *l = &s->labels[i];
        bool isnum = l->str == 0;
        if (done[i] || isnum != num)
            continue;
        const char *key = S(p, l->key);
        struct cp_dynbuf vals;
        cp_dynbuf_init(&vals, 1 << 20);
        const char *unit = num ? cp_num_units_get(&r->units, key) : NULL;
        for (size_t k = i; k < n; k++) {
            const struct cp_label *m = &s->labels[k];
            if (done[k] || (m->str == 0) != num || strcmp(S(p, m->key), key))
                continue;
            done[k] = true;
            char v[64];
            const char *text = num ? cp_unit_label(v, sizeof(v), m->num, unit,
                                                   "auto")
                                   : S(p, m->str);
            if (cp_dynbuf_printf(&vals, "%s%s", vals.len ? " " : "", text) <
                0)
                e = -ENOMEM;
        }
        char *line = NULL;
        if (e == 0 && asprintf(&line, "%10s:  %s\n", key,
                               vals.data ? vals.data : "") < 0)
            e = -ENOMEM;
        cp_dynbuf_free(&vals);
        if (e < 0)
            goto out;
        lines[nl++] = line;
    }
    qsort(lines, nl, sizeof(*lines), cmp_str);
    for (size_t i = 0; i < nl && e == 0; i++)
        if (cp_dynbuf_addstr(out, lines[i]) < 0)
            e = -ENOMEM;
out:
    for (size_t i = 0; lines && i < nl; i++)
        free(lines[i]);
    free(lines);
    free(done);
    return e;
}

int cp_report_traces(struct cp_report *r, struct cp_dynbuf *out)
{
    static const char sep[] =
        "-----------+-------------------------------------------------------";
    const struct cp_profile *p = r->p;
    int e = cp_report_profile_labels(r, out);
    if (e < 0)
        return e;
    struct frame_names fnames;
    e = frame_names_init(&fnames, p);
    if (e < 0) {
        frame_names_free(&fnames);
        return e;
    }
    int si = r->o.sample_index;
    for (size_t j = 0; j < p->n_samples && e == 0; j++) {
        const struct cp_sample *s = &p->samples[j];
        size_t frames = 0;
        for (size_t k = 0; k < s->n_locations; k++) {
            uint64_t id = s->location_ids[k];
            if (id && id <= p->n_locations)
                frames += fnames.off[id + 1] - fnames.off[id];
        }
        if (!frames)
            continue;
        if (cp_dynbuf_printf(out, "%s\n", sep) < 0 ||
            label_lines(r, s, false, out) < 0 ||
            label_lines(r, s, true, out) < 0) {
            e = -ENOMEM;
            break;
        }
        int64_t v = s->values[si], d = r->o.mean ? s->values[0] : 0;
        if (d != 0)
            v = cp_div64(v, d);
        bool first = true;
        for (size_t k = 0; k < s->n_locations && e == 0; k++) {
            uint64_t id = s->location_ids[k];
            if (!id || id > p->n_locations)
                continue;
            uint32_t a = fnames.off[id], b = fnames.off[id + 1];
            for (uint32_t i = a; i < b; i++) {
                char vs[64] = "";
                if (first)
                    cp_report_value(r, v, vs, sizeof(vs));
                first = false;
                if (cp_dynbuf_printf(out, "%10s   %s%s\n", vs,
                                     fnames.names[i],
                                     i != b - 1 ? " (inline)" : "") < 0) {
                    e = -ENOMEM;
                    break;
                }
            }
        }
    }
    if (e == 0 && cp_dynbuf_printf(out, "%s\n", sep) < 0)
        e = -ENOMEM;
    frame_names_free(&fnames);
    return e;
}

/* ---- -raw ------------------------------------------------------------------------- */

/* Go's Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST" */
static void go_time_string(char *buf, size_t n, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        t--;
    }
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        snprintf(buf, n, "?");
        return;
    }
    char f[16] = "";
    if (frac) {
        snprintf(f, sizeof(f), ".%09" PRId64, frac);
        size_t l = strlen(f);
        while (l > 1 && f[l - 1] == '0')
            f[--l] = 0;
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, f, sign, off / 3600, off % 3600 / 60,
             tm.tm_zone ? tm.tm_zone : "UTC");
}

static int raw_labels(const struct cp_profile *p, const struct cp_sample *s,
                      struct cp_dynbuf *out)
{
    /* labelsToString / numLabelsToString: "k:[v1 v2]" sorted, joined */
    for (int num = 0; num < 2; num++) {
        size_t n = s->n_labels, nl = 0;
        char **items = calloc(n + 1, sizeof(*items));
        bool *done = calloc(n + 1, sizeof(*done));
        int e = 0;
        if (!items || !done) {
            free(items);
            free(done);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n && e == 0; i++) {
            const struct cp_label *l = &s->labels[i];
            if (done[i] || (l->str == 0) != num)
                continue;
            const char *key = S(p, l->key);
            bool units = false;
            for (size_t k = i; k < n; k++)
                if (!done[k] && (s->labels[k].str == 0) == num &&
                    !strcmp(S(p, s->labels[k].key), key) &&
                    s->labels[k].num_unit)
                    units = true;
            struct cp_dynbuf v;
            cp_dynbuf_init(&v, 1 << 20);
            cp_dynbuf_printf(&v, "%s:[", key);
            bool first = true;
            for (size_t k = i; k < n; k++) {
                const struct cp_label *m = &s->labels[k];
                if (done[k] || (m->str == 0) != num ||
                    strcmp(S(p, m->key), key))
                    continue;
                done[k] = true;
                if (!num)
                    cp_dynbuf_printf(&v, "%s%s", first ? "" : " ",
                                     S(p, m->str));
                else if (units)
                    cp_dynbuf_printf(&v, "%s%" PRId64 " %s", first ? "" : " ",
                                     m->num, S(p, m->num_unit));
                else
                    cp_dynbuf_printf(&v, "%s%" PRId64, first ? "" : " ",
                                     m->num);
                first = false;
            }
            if (cp_dynbuf_addstr(&v, "]") < 0)
                e = -ENOMEM;
            items[nl++] = cp_dynbuf_take(&v, NULL);
            if (!items[nl - 1])
                e = -ENOMEM;
        }
        if (e == 0 && nl) {
            qsort(items, nl, sizeof(*items), cmp_str);
            if (cp_dynbuf_addstr(out, "                ") < 0)
                e = -ENOMEM;
            for (size_t i = 0; i < nl && e == 0; i++)
                if (cp_dynbuf_printf(out, "%s%s", i ? " " : "", items[i]) <
                    0)
                    e = -ENOMEM;
            if (e == 0 && cp_dynbuf_addstr(out, "\n") < 0)
                e = -ENOMEM;
        }
        for (size_t i = 0; i < nl; i++)
            free(items[i]);
        free(items);
        free(done);
        if (e < 0)
            return e;
    }
    return 0;
}

int cp_report_raw(struct cp_report *r, struct cp_dynbuf *out)
{
    const struct cp_profile *p = r->p;
    char buf[128];
    for (size_t i = 0; i < p->n_comments; i++)
        OUT("Comment: %s\n", S(p, p->comments[i]));
    if (p->period_type.type || p->period_type.unit)
        OUT("PeriodType: %s %s\n", S(p, p->period_type.type),
            S(p, p->period_type.unit));
    OUT("Period: %" PRId64 "\n", p->period);
    if (p->time_nanos) {
        go_time_string(buf, sizeof(buf), p->time_nanos);
        OUT("Time: %s\n", buf);
    }
    if (p->duration_nanos) {
        /* Go's "%.4v" keeps the first 4 runes of the duration's string */
        cp_go_duration(buf, sizeof(buf), p->duration_nanos);
        size_t b = 0;
        for (int runes = 0; buf[b] && runes < 4; runes++) {
            b++;
            while ((buf[b] & 0xc0) == 0x80)
                b++;
        }
        buf[b] = 0;
        OUT("Duration: %s\n", buf);
    }
    OUT("Samples:\n");
    const char *dst = S(p, p->default_sample_type);
    struct cp_dynbuf hdr;
    cp_dynbuf_init(&hdr, 1 << 20);
    for (size_t i = 0; i < p->n_sample_types; i++) {
        const char *t = S(p, p->sample_types[i].type);
        cp_dynbuf_printf(&hdr, "%s%s/%s%s", i ? " " : "", t,
                         S(p, p->sample_types[i].unit),
                         !strcmp(t, dst) ? "[dflt]" : "");
    }
    int e = cp_dynbuf_printf(out, "%s\n", hdr.data ? hdr.data : "");
    cp_dynbuf_free(&hdr);
    if (e < 0)
        return -ENOMEM;
    for (size_t j = 0; j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        for (size_t i = 0; i < p->n_sample_types; i++)
            OUT(" %10" PRId64, s->values[i]);
        OUT(": ");
        for (size_t k = 0; k < s->n_locations; k++)
            OUT("%" PRIu64 " ", s->location_ids[k]);
        OUT("\n");
        if (raw_labels(p, s, out) < 0)
            return -ENOMEM;
    }
    OUT("Locations\n");
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        char loc[96];
        int n = snprintf(loc, sizeof(loc), "%6" PRIu64 ": 0x%" PRIx64 " ",
                         l->id, l->address);
        if (l->mapping_id && cp_profile_mapping(p, l->mapping_id))
            n += snprintf(loc + n, sizeof(loc) - (size_t)n, "M=%" PRIu64 " ",
                          l->mapping_id);
        if (l->is_folded)
            snprintf(loc + n, sizeof(loc) - (size_t)n, "[F] ");
        if (l->n_lines == 0)
            OUT("%s\n", loc);
        for (size_t k = 0; k < l->n_lines; k++) {
            const struct cp_function *f =
                cp_profile_function(p, l->lines[k].function_id);
            if (!f) {
                OUT("%s??\n", loc);
            } else {
                const char *name = S(p, f->name), *sys = S(p, f->system_name);
                OUT("%s%s %s:%" PRId64 " s=%" PRId64, loc, name,
                    S(p, f->filename), l->lines[k].line, f->start_line);
                if (strcmp(name, sys))
                    OUT("(%s)", sys);
                OUT("\n");
            }
            snprintf(loc, sizeof(loc), "             ");
        }
    }
    OUT("Mappings\n");
    for (size_t i = 0; i < p->n_mappings; i++) {
        const struct cp_mapping *m = &p->mappings[i];
        OUT("%" PRIu64 ": 0x%" PRIx64 "/0x%" PRIx64 "/0x%" PRIx64
            " %s %s %s%s%s%s\n",
            m->id, m->memory_start, m->memory_limit, m->file_offset,
            S(p, m->filename), S(p, m->build_id),
            m->has_functions ? "[FN]" : "", m->has_filenames ? "[FL]" : "",
            m->has_line_numbers ? "[LN]" : "",
            m->has_inline_frames ? "[IN]" : "");
    }
    return 0;
}

/* ---- -collapsed -------------------------------------------------------------------- */

struct folded {
    char *stack;
    int64_t v;
};

static int cmp_folded(const void *a, const void *b)
{
    return strcmp(((const struct folded *)a)->stack,
                  ((const struct folded *)b)->stack);
}

/* A frame as FlameGraph wants it: no ';' (the separator), no newline. */
static int add_frame(struct cp_dynbuf *b, const char *name)
{
    size_t start = b->len;
    if (cp_dynbuf_addstr(b, name) < 0)
        return -ENOMEM;
    for (size_t i = start; i < b->len; i++) {
        if (b->data[i] == ';')
            b->data[i] = ':';
        else if (b->data[i] == '\n' || b->data[i] == '\r')
            b->data[i] = ' ';
    }
    return 0;
}

struct sctx {
    const struct cp_profile *p;
    const struct cp_sample *s;
    const uint64_t *const *locs;
    const size_t *nlocs;
};

static int stack_eq(void *ctx, size_t e)
{
    struct sctx *c = ctx;
    return c->nlocs[e] == c->s->n_locations &&
           (!c->nlocs[e] || !memcmp(c->locs[e], c->s->location_ids,
                                    c->nlocs[e] * sizeof(uint64_t)));
}

int cp_report_collapsed(struct cp_report *r, struct cp_dynbuf *out)
{
    const struct cp_profile *p = r->p;
    int si = r->o.sample_index;
    struct frame_names fnames;
    int e = frame_names_init(&fnames, p);
    /* distinct location stacks first, then their folded strings */
    struct cp_hindex x = {0};
    const uint64_t **locs = NULL;
    size_t *nlocs = NULL, ng = 0, cap = 0;
    int64_t *vals = NULL;
    struct folded *f = NULL;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, (size_t)1 << 30);
    for (size_t j = 0; e == 0 && j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        int64_t v = s->values[si], d = r->o.mean ? s->values[0] : 0;
        if (d)
            v = cp_div64(v, d);
        if (!v)
            continue;
        uint64_t h = s->n_locations;
        for (size_t k = 0; k < s->n_locations; k++)
            h = cp_hmix(h, s->location_ids[k]);
        h = cp_hfinal(h);
        if (cp_hindex_grow(&x, ng + 1) < 0) {
            e = -ENOMEM;
            break;
        }
        struct sctx c = {p, s, locs, nlocs};
        size_t slot;
        long g = cp_hindex_find(&x, h, stack_eq, &c, &slot);
        if (g < 0) {
            if (ng == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                const uint64_t **nl = realloc(locs, nc * sizeof(*nl));
                size_t *nn = nl ? realloc(nlocs, nc * sizeof(*nn)) : NULL;
                int64_t *nv = nn ? realloc(vals, nc * sizeof(*nv)) : NULL;
                if (nl)
                    locs = nl;
                if (nn)
                    nlocs = nn;
                if (!nv) {
                    e = -ENOMEM;
                    break;
                }
                vals = nv;
                cap = nc;
            }
            g = (long)cp_hindex_put(&x, slot, h);
            locs[g] = s->location_ids;
            nlocs[g] = s->n_locations;
            vals[g] = 0;
            ng++;
        }
        vals[g] = cp_add64(vals[g], v);
    }
    if (e == 0 && ng) {
        f = calloc(ng, sizeof(*f));
        if (!f)
            e = -ENOMEM;
    }
    size_t nf = 0;
    for (size_t g = 0; e == 0 && g < ng; g++) {
        cp_dynbuf_reset(&b);
        bool any = false;
        for (size_t k = nlocs[g]; k-- > 0 && e == 0;) {
            uint64_t id = locs[g][k];
            if (!id || id > p->n_locations)
                continue;
            for (uint32_t i = fnames.off[id + 1]; i-- > fnames.off[id];) {
                if ((any && cp_dynbuf_addstr(&b, ";") < 0) ||
                    add_frame(&b, fnames.names[i]) < 0) {
                    e = -ENOMEM;
                    break;
                }
                any = true;
            }
        }
        if (!any || e)
            continue;
        f[nf].stack = strdup(b.data);
        f[nf].v = vals[g];
        if (!f[nf].stack)
            e = -ENOMEM;
        nf++;
    }
    if (e == 0 && nf) {
        qsort(f, nf, sizeof(*f), cmp_folded);
        for (size_t i = 0; i < nf && e == 0;) {
            size_t k = i;
            int64_t v = 0;
            while (k < nf && !strcmp(f[k].stack, f[i].stack))
                v = cp_add64(v, f[k++].v);
            if (v && cp_dynbuf_printf(out, "%s %" PRId64 "\n", f[i].stack,
                                      v) < 0)
                e = -ENOMEM;
            i = k;
        }
    }
    for (size_t i = 0; f && i < nf; i++)
        free(f[i].stack);
    free(f);
    free(locs);
    free(nlocs);
    free(vals);
    cp_hindex_free(&x);
    cp_dynbuf_free(&b);
    frame_names_free(&fnames);
    return e;
}

/* ---- -list -------------------------------------------------------------------------- */

struct src_file {
    char *path;
    char **lines; /* lines[0] unused */
    size_t n;
    int err;
};

static int is_abs(const char *p)
{
    return p[0] == '/';
}

/* pprof's trimPath: strip up to "/<base of a search dir>/", or the
 * configured prefixes and /proc/self/cwd/ */
static const char *trim_source_path(const char *path, const char *trim,
                                    const char *search, char *buf, size_t n)
{
    if (!trim || !*trim) {
        char *s = strdup(search ? search : "");
        for (char *save = NULL, *dir = s ? strtok_r(s, ":", &save) : NULL;
             dir; dir = strtok_r(NULL, ":", &save)) {
            char b[1024], want[1100];
            base_name(dir, b, sizeof(b));
            snprintf(want, sizeof(want), "/%s/", b);
            const char *found = strstr(path, want);
            if (found) {
                snprintf(buf, n, "%s", found + strlen(want));
                free(s);
                return buf;
            }
        }
        free(s);
    }
    char *t = strdup(trim ? trim : "");
    const char *fixed[] = {"/proc/self/cwd/./", "/proc/self/cwd/"};
    char *save = NULL;
    for (char *tp = t ? strtok_r(t, ":", &save) : NULL; tp;
         tp = strtok_r(NULL, ":", &save)) {
        char pre[1100];
        snprintf(pre, sizeof(pre), "%s%s", tp,
                 tp[strlen(tp) - 1] == '/' ? "" : "/");
        if (!strncmp(path, pre, strlen(pre))) {
            snprintf(buf, n, "%s", path + strlen(pre));
            free(t);
            return buf;
        }
    }
    free(t);
    for (int i = 0; i < 2; i++)
        if (!strncmp(path, fixed[i], strlen(fixed[i]))) {
            snprintf(buf, n, "%s", path + strlen(fixed[i]));
            return buf;
        }
    snprintf(buf, n, "%s", path);
    return buf;
}

static FILE *open_source(const char *path, const char *search,
                         const char *trim)
{
    char tp[4096];
    trim_source_path(path, trim, search, tp, sizeof(tp));
    if (is_abs(tp))
        return fopen(tp, "r");
    char *s = strdup(search ? search : "");
    FILE *f = NULL;
    char *save = NULL;
    for (char *dir = s ? strtok_r(s, ":", &save) : NULL; dir && !f;
         dir = strtok_r(NULL, ":", &save)) {
        char d[4096];
        snprintf(d, sizeof(d), "%s", dir);
        for (;;) {
            char full[8192];
            snprintf(full, sizeof(full), "%s/%s", d, tp);
            f = fopen(full, "r");
            if (f)
                break;
            char *slash = strrchr(d, '/');
            if (!slash || slash == d) {
                if (strcmp(d, "/") == 0)
                    break;
                snprintf(d, sizeof(d), "/");
                continue;
            }
            *slash = 0;
        }
    }
    free(s);
    return f;
}

static void src_load(struct src_file *sf, const char *search,
                     const char *trim)
{
    errno = 0;
    FILE *f = open_source(sf->path, search, trim);
    if (!f) {
        sf->err = errno ? -errno : -ENOENT;
        return;
    }
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t n;
    sf->n = 1;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (sf->n + 1 > alloc) {
            size_t na = alloc ? alloc * 2 : 256;
            char **nl = realloc(sf->lines, na * sizeof(*nl));
            if (!nl)
                break;
            sf->lines = nl;
            alloc = na;
        }
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = 0; /* bufio.ScanLines drops a CR before LF */
        sf->lines[sf->n++] = strdup(line);
    }
    free(line);
    fclose(f);
}

static int cmp_node_name(const void *a, const void *b)
{
    const struct cp_graph_node *x = *(const struct cp_graph_node *const *)a;
    const struct cp_graph_node *y = *(const struct cp_graph_node *const *)b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    r = strcmp(x->file, y->file);
    if (r)
        return r;
    /* then the graph's order, which is go tool pprof's: its first node
     * decides where the listing starts (cp_report_list) */
    return x < y ? -1 : x > y;
}

static char *value_or_dot(const struct cp_report *r, int64_t v, char *buf,
                          size_t n)
{
    if (v == 0) {
        snprintf(buf, n, ".");
        return buf;
    }
    return cp_report_value(r, v, buf, n);
}

int cp_report_list(struct cp_report *r, const regex_t *re,
                   const char *pattern, struct cp_dynbuf *out, char *err,
                   size_t errlen)
{
    struct cp_graph g;
    struct cp_graph_opts go;
    cp_report_graph_opts(r, 0, &go);
    go.no_trim = true;
    go.obj_names = true;
    int e = cp_graph_new(&g, r->p, &go);
    if (e < 0)
        return e;
    const struct cp_graph_node **m = calloc(g.n_nodes + 1, sizeof(*m));
    size_t nm = 0;
    if (!m) {
        cp_graph_free(&g);
        return -ENOMEM;
    }
    for (size_t i = 0; i < g.n_nodes; i++)
        if (regexec(re, g.nodes[i].name, 0, NULL, 0) == 0)
            m[nm++] = &g.nodes[i];
    if (nm == 0) {
        snprintf(err, errlen, "no matches found for regexp: %s", pattern);
        free(m);
        cp_graph_free(&g);
        return -ENOENT;
    }
    qsort(m, nm, sizeof(*m), cmp_node_name);
    char cwd[4096];
    const char *search = r->o.source_path && *r->o.source_path
                             ? r->o.source_path
                             : getcwd(cwd, sizeof(cwd));
    struct src_file *files = NULL;
    size_t nfiles = 0;
    char a[64], b[64], pc[16];
    e = cp_dynbuf_printf(out, "Total: %s\n",
                         cp_report_value(r, r->total, a, sizeof(a)));
    for (size_t i = 0; i < nm && e >= 0;) {
        const char *name = m[i]->name;
        size_t fend = i;
        while (fend < nm && !strcmp(m[fend]->name, name))
            fend++;
        bool any = false;
        for (size_t k = i; k < fend; k++)
            any = any || *m[k]->file;
        if (!any) {
            e = cp_dynbuf_printf(out, "No source information for %s\n", name);
            i = fend;
            continue;
        }
        for (size_t k = i; k < fend && e >= 0;) {
            const char *file = m[k]->file;
            size_t kend = k;
            while (kend < fend && !strcmp(m[kend]->file, file))
                kend++;
            if (!*file) {
                k = kend;
                continue;
            }
            /* The lines shown, computed as go tool pprof's
             * getSourceFromFile does, quirk included: from the first
             * node's function start (or line - 5) to its line + 5, a later
             * node widening the start or else the end, never both. */
            int64_t flat = 0, cum = 0;
            int64_t start = m[k]->start_line ? m[k]->start_line
                                             : m[k]->lineno - 5;
            int64_t end = m[k]->lineno + 5;
            for (size_t q = k; q < kend; q++) {
                flat = cp_add64(flat, m[q]->flat);
                cum = cp_add64(cum, m[q]->cum);
                int64_t ln = m[q]->lineno;
                int64_t ns = m[q]->start_line ? m[q]->start_line : ln - 5;
                if (ns < start)
                    start = ns;
                else if (ln + 5 > end)
                    end = ln + 5;
            }
            if (start < 1)
                start = 1;
            e = cp_dynbuf_printf(
                out, "ROUTINE ======================== %s in %s\n"
                     "%10s %10s (flat, cum) %s of Total\n",
                name, file, cp_report_value(r, flat, a, sizeof(a)),
                cp_report_value(r, cum, b, sizeof(b)),
                cp_unit_percentage(pc, sizeof(pc), cum, r->total));
            struct src_file *sf = NULL;
            for (size_t q = 0; q < nfiles; q++)
                if (!strcmp(files[q].path, file))
                    sf = &files[q];
            /* with no line to show pprof reads nothing, but still reports
             * what an earlier read of the file found */
            if (start > end && (!sf || !sf->err)) {
                k = kend;
                continue;
            }
            if (!sf) {
                struct src_file *nfp =
                    realloc(files, (nfiles + 1) * sizeof(*nfp));
                if (!nfp) {
                    e = -ENOMEM;
                    break;
                }
                files = nfp;
                sf = &files[nfiles++];
                memset(sf, 0, sizeof(*sf));
                sf->path = strdup(file);
                src_load(sf, search, r->o.trim_path);
            }
            if (sf->err) {
                char tp[4096];
                trim_source_path(file, r->o.trim_path, search, tp,
                                 sizeof(tp));
                if (is_abs(tp)) {
                    /* Go's os.Open error: "open PATH: no such file..." */
                    char why[128];
                    snprintf(why, sizeof(why), "%s", strerror(-sf->err));
                    if (why[0] >= 'A' && why[0] <= 'Z')
                        why[0] = (char)(why[0] - 'A' + 'a');
                    e = cp_dynbuf_printf(out, " Error: open %s: %s\n", tp,
                                         why);
                } else {
                    e = cp_dynbuf_printf(out,
                                         " Error: could not find file %s "
                                         "on path %s\n",
                                         tp, search ? search : "");
                }
                k = kend;
                continue;
            }
            for (int64_t ln = start; ln <= end && e >= 0; ln++) {
                if (ln <= 0 || (size_t)ln >= sf->n)
                    break;
                int64_t lf = 0, lc = 0;
                for (size_t q = k; q < kend; q++)
                    if (m[q]->lineno == ln) {
                        lf = cp_add64(lf, m[q]->flat);
                        lc = cp_add64(lc, m[q]->cum);
                    }
                e = cp_dynbuf_printf(out, "%10s %10s %6" PRId64 ":%s\n",
                                     value_or_dot(r, lf, a, sizeof(a)),
                                     value_or_dot(r, lc, b, sizeof(b)), ln,
                                     sf->lines[ln] ? sf->lines[ln] : "");
            }
            k = kend;
        }
        i = fend;
    }
    for (size_t q = 0; q < nfiles; q++) {
        for (size_t l = 1; l < files[q].n; l++)
            free(files[q].lines[l]);
        free(files[q].lines);
        free(files[q].path);
    }
    free(files);
    free(m);
    cp_graph_free(&g);
    return e < 0 ? -ENOMEM : 0;
}
