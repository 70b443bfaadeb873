/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.h - the text reports of go tool pprof, built on the report model
 * (graph.h): -top/-text, -traces, -raw, -list, plus FlameGraph's folded
 * stacks (-collapsed). Each writes into a dynbuf, byte for byte what
 * go tool pprof prints (collapsed: what stackcollapse scripts print).
 *
 * A report is set up on the whole profile, before focus filters run, so
 * that percentages are of the whole (pprof computes its total first):
 *     cp_report_init(&r, p, &opts);     // total of all samples
 *     cp_filter_apply(p, ...);          // focus, ignore, tags...
 *     cp_filter_aggregate(p, gran, 0);
 *     cp_report_text(&r, &out);
 *
 * Never used in signal context. Thread-safe: no.
 */
#ifndef CP_REPORT_H
#define CP_REPORT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "filter.h"
#include "graph.h"
#include "profile.h"

struct cp_report_opts {
    int sample_index; /* from cp_sample_index */
    bool mean;        /* -mean: values divided by sample type 0 */
    const char *output_unit; /* -unit; NULL or "minimum" to pick one */
    double divide_by;        /* -divide_by; 0 or 1 for none */
    bool cum_sort;           /* -cum */
    bool drop_negative;
    bool compact_labels;
    bool trim;  /* honor node_count/fractions (pprof -trim, default on) */
    int node_count; /* -nodecount; -1 for the report's default */
    double node_fraction, edge_fraction;
    /* "focus=main" ... shown under "Active filters:" */
    const char *const *active_filters;
    size_t n_active_filters;
    const char *source_path; /* -list: where sources are, default cwd */
    const char *trim_path;
};

/* pprof's defaults: unit minimum, trim on, nodecount per report,
 * nodefraction 0.005, edgefraction 0.001 */
#define CP_REPORT_OPTS_INIT                                                  \
    {.sample_index = 0, .trim = true, .node_count = -1,                     \
     .node_fraction = 0.005, .edge_fraction = 0.001}

struct cp_report {
    struct cp_profile *p;
    struct cp_report_opts o;
    int64_t total;      /* pprof's computeTotal over the samples at init */
    char sample_type[128]; /* "cpu", "mean_delay" */
    char sample_unit[64];
    char output_unit[64];  /* changes when the report picks one */
    struct cp_num_units units; /* of numeric labels, at init */
};

/* Set up r over p (kept, not copied). 0, -EINVAL (bad index) or
 * -ENOMEM. */
int cp_report_init(struct cp_report *r, struct cp_profile *p,
                   const struct cp_report_opts *o);
void cp_report_free(struct cp_report *r);

/* pprof's formatValue: v (times 1/divide_by) in the output unit. */
char *cp_report_value(const struct cp_report *r, int64_t v, char *buf,
                      size_t n);

/* The graph options a text report uses (for the web UI's top table). */
void cp_report_graph_opts(const struct cp_report *r, int node_count_default,
                          struct cp_graph_opts *go);

/*
 * Pick the output unit the way pprof does for a graph (selectOutputUnit):
 * the unit of the smallest non-zero node, moved up while that keeps it
 * above 0.01 of the total. Only when the unit is "minimum".
 */
void cp_report_select_unit(struct cp_report *r, const struct cp_graph *g);

/* Header lines: File, Build ID, comments, Type, Time, Duration. */
int cp_report_profile_labels(const struct cp_report *r,
                             struct cp_dynbuf *out);

/* -top / -text. */
int cp_report_text(struct cp_report *r, struct cp_dynbuf *out);
/* -traces: every sample's stack with its labels. */
int cp_report_traces(struct cp_report *r, struct cp_dynbuf *out);
/* -raw: pprof's Profile.String(). */
int cp_report_raw(struct cp_report *r, struct cp_dynbuf *out);
/* -collapsed: "root;caller;leaf value" per distinct stack, sorted, for
 * FlameGraph's flamegraph.pl and speedscope; zero stacks left out. */
int cp_report_collapsed(struct cp_report *r, struct cp_dynbuf *out);
/*
 * -list=RE: annotated source of the functions whose name matches re
 * (profile aggregated by lines, with object names). Returns -ENOENT with
 * "no matches found for regexp: RE" in err when none matches.
 */
int cp_report_list(struct cp_report *r, const regex_t *re,
                   const char *pattern, struct cp_dynbuf *out, char *err,
                   size_t errlen);

#endif /* CP_REPORT_H */
