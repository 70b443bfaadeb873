/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c - `cprof [flags] SOURCE...`: go tool pprof's non-interactive
 * mode. Parse the flags (flags.c), load the sources into one profile
 * (fetch.c), then either hand it to the web UI (-http) or generate the
 * report the flags ask for (src/profile/report.c) the way pprof's
 * generateRawReport does: the command's overrides of trimming and
 * granularity, the total taken before the focus filters, the filters,
 * the aggregation, the report; then write it to stdout or -output.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pprof.h"
#include "profile/codec.h"
#include "profile/filter.h"
#include "profile/measure.h"
#include "profile/report.h"

__attribute__((weak)) int cp_web_serve(const struct cp_pprof_cfg *c,
                                       struct cp_profile *p)
{
    (void)c;
    (void)p;
    return cp_die("the web UI (-http) is not built into this cprof yet; use "
                  "-top, -traces or -collapsed");
}

static bool set(const char *s)
{
    return s && *s;
}

int cp_pprof_generate(const struct cp_pprof_cfg *c, struct cp_profile *p,
                      struct cp_dynbuf *out, char *err, size_t errlen)
{
    if (c->format == CP_FMT_COMMENTS) {
        for (size_t i = 0; i < p->n_comments; i++)
            if (cp_dynbuf_printf(out, "%s\n",
                                 cp_profile_string(p, p->comments[i])) < 0)
                return -ENOMEM;
        return 0;
    }
    int si = cp_sample_index(p, c->sample_index, err, errlen);
    if (si < 0)
        return si;
    if (c->mean && p->n_sample_types == 0)
        return -EINVAL;

    /* pprof's applyCommandOverrides */
    bool trim = c->trim, noinlines = c->noinlines;
    int nodecount = c->nodecount;
    int gran = c->granularity;
    switch (c->format) {
    case CP_FMT_LIST:
        trim = false;
        gran = CP_GRAN_LINES;
        break;
    case CP_FMT_TEXT:
        if (nodecount == -1)
            nodecount = 0;
        break;
    default:
        if (nodecount == -1)
            nodecount = 80;
        break;
    }
    if (c->format == CP_FMT_PROTO || c->format == CP_FMT_RAW) {
        trim = false;
        gran = CP_GRAN_ADDRESSES;
        noinlines = false;
    }
    struct cp_report_opts ro = CP_REPORT_OPTS_INIT;
    ro.sample_index = si;
    ro.mean = c->mean;
    ro.output_unit = set(c->unit) ? c->unit : "minimum";
    ro.divide_by = c->divide_by;
    ro.cum_sort = c->cum;
    ro.drop_negative = c->drop_negative;
    ro.compact_labels = c->compact_labels;
    ro.trim = trim;
    ro.node_count = trim ? nodecount : 0;
    ro.node_fraction = trim ? c->nodefraction : 0;
    ro.edge_fraction = trim ? c->edgefraction : 0;
    ro.source_path = c->source_path;
    ro.trim_path = c->trim_path;
    /* "Active filters:" lines, in pprof's order */
    const struct cp_filter_opts *f = &c->filter;
    const char *names[] = {"focus",     "ignore",   "hide",
                           "show",      "show_from", "tagfocus",
                           "tagignore", "tagshow",  "taghide"};
    const char *vals[] = {f->focus,     f->ignore,   f->hide,
                          f->show,      f->show_from, f->tagfocus,
                          f->tagignore, f->tagshow,  f->taghide};
    char *active[9];
    size_t na = 0;
    for (int i = 0; i < 9; i++)
        if (set(vals[i]) && asprintf(&active[na], "%s=%s", names[i],
                                     vals[i]) >= 0)
            na++;
    ro.active_filters = (const char *const *)active;
    ro.n_active_filters = na;

    struct cp_dynbuf warn;
    cp_dynbuf_init(&warn, 1 << 20);
    struct cp_report r;
    int e = 0;
    bool inited = false;
    if (c->relative_percentages) {
        e = cp_filter_apply(p, &c->filter, &warn, err, errlen);
        if (e < 0)
            goto out;
    }
    e = cp_report_init(&r, p, &ro);
    inited = true;
    if (e < 0) {
        snprintf(err, errlen, "cannot set up the report");
        goto out;
    }
    if (!c->relative_percentages) {
        e = cp_filter_apply(p, &c->filter, &warn, err, errlen);
        if (e < 0)
            goto out;
    }
    if (warn.len) {
        /* one "cprof: " line per warning */
        for (char *line = warn.data, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                nl = line + strlen(line) - 1;
            fprintf(stderr, "cprof: %.*s\n", (int)(nl - line), line);
            if (!nl[1])
                break;
        }
    }
    cp_filter_aggregate(p, gran, noinlines);

    switch (c->format) {
    case CP_FMT_TRACES:
        e = cp_report_traces(&r, out);
        break;
    case CP_FMT_RAW:
        e = cp_report_raw(&r, out);
        break;
    case CP_FMT_COLLAPSED:
        e = cp_report_collapsed(&r, out);
        break;
    case CP_FMT_LIST: {
        regex_t re;
        e = cp_regex_compile(&re, "list", c->list, err, errlen);
        if (e < 0)
            break;
        e = cp_report_list(&r, &re, c->list, out, err, errlen);
        regfree(&re);
        break;
    }
    case CP_FMT_PROTO: {
        double ratio = c->divide_by > 0 ? 1 / c->divide_by : 1;
        if (ratio > 0 && ratio != 1)
            for (size_t j = 0; j < p->n_samples; j++)
                for (size_t i = 0; i < p->n_sample_types; i++)
                    p->samples[j].values[i] =
                        cp_f2i64((double)p->samples[j].values[i] * ratio);
        e = cp_profile_encode(p, 1, out);
        if (e < 0)
            snprintf(err, errlen, "cannot encode the profile: %s",
                     strerror(-e));
        break;
    }
    default:
        e = cp_report_text(&r, out);
        break;
    }
    if (e == -ENOMEM)
        snprintf(err, errlen, "out of memory generating the report");
    else if (e == -E2BIG)
        snprintf(err, errlen, "the report is too large");
out:
    if (inited)
        cp_report_free(&r);
    cp_dynbuf_free(&warn);
    for (size_t i = 0; i < na; i++)
        free(active[i]);
    return e;
}

static int write_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    return 0;
}

/* pprof's awayFromTTY: binary output meant for a terminal goes to
 * profileNNN.pb.gz in the current directory instead */
static int write_away_from_tty(const struct cp_dynbuf *out)
{
    for (int i = 1; i < 10000; i++) {
        char name[64];
        snprintf(name, sizeof(name), "profile%03d.pb.gz", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return cp_die("cannot create %s: %s", name, strerror(errno));
        fprintf(stderr, "Generating report in %s\n", name);
        int e = write_all(fd, out->data, out->len);
        if (close(fd) < 0 && e == 0)
            e = -errno;
        if (e < 0)
            return cp_die("cannot write %s: %s", name, strerror(-e));
        return 0;
    }
    return cp_die("no free profileNNN.pb.gz name in this directory");
}

int cp_cmd_pprof(int argc, char **argv)
{
    struct cp_pprof_cfg c;
    char err[1024] = "";
    cp_pprof_cfg_init(&c);
    int e = cp_pprof_parse_flags(&c, argc, argv, err, sizeof(err));
    if (e == 1) {
        cp_pprof_cfg_free(&c);
        return 0;
    }
    if (e < 0) {
        cp_pprof_cfg_free(&c);
        return cp_die("%s", err);
    }
    struct cp_profile p;
    e = cp_pprof_load(&c, &p, err, sizeof(err));
    if (e < 0) {
        cp_pprof_cfg_free(&c);
        return cp_die("%s", err);
    }
    if (c.http && *c.http) {
        int status = cp_web_serve(&c, &p);
        cp_profile_free(&p);
        cp_pprof_cfg_free(&c);
        return status;
    }
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, (size_t)16 << 30);
    e = cp_pprof_generate(&c, &p, &out, err, sizeof(err));
    cp_profile_free(&p);
    int status = 0;
    if (e < 0) {
        status = cp_die("%s", *err ? err : strerror(-e));
    } else if (c.output && *c.output) {
        e = cp_write_file_atomic(c.output, out.data ? out.data : "", out.len);
        if (e < 0)
            status = cp_die("cannot write %s: %s", c.output, strerror(-e));
    } else if (c.format == CP_FMT_PROTO && isatty(STDOUT_FILENO)) {
        status = write_away_from_tty(&out);
    } else {
        e = write_all(STDOUT_FILENO, out.data ? out.data : "", out.len);
        if (e < 0 && e != -EPIPE)
            status = cp_die("writing the report: %s", strerror(-e));
        else if (e == -EPIPE)
            status = 1;
    }
    cp_dynbuf_free(&out);
    cp_pprof_cfg_free(&c);
    return status;
}
