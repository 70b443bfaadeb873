/* SPDX-License-Identifier: Apache-2.0 */
/*
 * graph.h - the report model: a profile summarized as nodes (one per
 * function, file, line or address, by granularity) with flat and
 * cumulative values and the caller->callee edges between them, trimmed to
 * the nodes a report shows, exactly as google/pprof's internal/graph and
 * report.newTrimmedGraph build it. Text reports (report.h), the web UI's
 * top table, callers/callees and call graph all read this one model.
 *
 * Usage:
 *     struct cp_graph g;
 *     struct cp_graph_opts o = CP_GRAPH_OPTS_INIT;
 *     o.sample_index = idx;   o.node_count = 80;
 *     if (cp_graph_new(&g, p, &o) == 0) {
 *         for (size_t i = 0; i < g.n_nodes; i++)   // sorted, trimmed
 *             use(g.nodes[i].name, g.nodes[i].flat, g.nodes[i].cum);
 *         cp_graph_free(&g);
 *     }
 * p must have been aggregated to the wanted granularity first
 * (cp_filter_aggregate) and must have interned strings (a merged profile,
 * or cp_profile_canon_strings).
 *
 * Never used in signal context. Thread-safe: no (the graph may add the
 * cleaned file names it prints to p's string table).
 */
#ifndef CP_GRAPH_H
#define CP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct cp_graph_opts {
    int sample_index; /* value summed into flat/cum */
    int mean_index;   /* divisor values (pprof -mean), -1 for none */
    bool obj_names;   /* keep the binary's name in every node (raw, list) */
    bool orig_fn_names; /* keep system (mangled) names */
    bool drop_negative; /* drop nodes with negative values (diffs) */
    /* trimming, as go tool pprof's -nodecount, -nodefraction,
     * -edgefraction: 0 disables each */
    int node_count;
    double node_fraction;
    double edge_fraction;
    bool cum_sort; /* sort by cum (-cum), else by flat */
    bool no_trim;  /* build the full graph: no cutoff, no count */
};

/* go tool pprof's defaults for -top (nodecount unlimited) */
#define CP_GRAPH_OPTS_INIT                                                   \
    {.sample_index = 0, .mean_index = -1, .node_fraction = 0.005,           \
     .edge_fraction = 0.001}

struct cp_graph_node {
    /* identity (pprof's NodeInfo); strings belong to the profile */
    const char *name;      /* function, "" when unknown */
    const char *orig_name; /* system name with orig_fn_names, else "" */
    const char *file;      /* cleaned path, "" when not shown */
    const char *objfile;   /* binary, only when names are unknown */
    uint64_t address;      /* with granularity addresses, else 0 */
    int64_t start_line, lineno;
    const char *printable; /* pprof's PrintableName, e.g. "main.f" */
    /* values (pprof's Flat, FlatDiv, Cum, CumDiv) */
    int64_t flat, flat_div, cum, cum_div;
    /* edges of the trimmed graph: indexes into cp_graph.edges, heaviest
     * first (pprof's EdgeMap.Sort) */
    uint32_t *in, *out;
    uint32_t n_in, n_out;
    uint32_t id; /* index in the untrimmed node table (stable) */
    uint8_t in_flags; /* incoming edges, shown or not: 1 inline, 2 not */
};

struct cp_graph_edge {
    uint32_t src, dst;  /* indexes into cp_graph.nodes */
    int64_t weight, weight_div;
    bool residual; /* goes over nodes the report dropped */
    bool inline_;  /* a call inlined into the caller */
};

struct cp_graph {
    struct cp_graph_node *nodes; /* sorted: flat (or cum), then name */
    size_t n_nodes;
    struct cp_graph_edge *edges;
    size_t n_edges;
    /* what trimming did, for the report header */
    int64_t total;       /* sum of flat before trimming */
    int64_t node_cutoff; /* |cum| below this was dropped */
    int64_t edge_cutoff;
    size_t dropped_nodes; /* by node_fraction */
    size_t dropped_edges; /* by edge_fraction */
    size_t orig_count;    /* nodes before node_count selected the top */
    /* private */
    struct cp_graph_int *priv;
};

/*
 * Build the graph of p as pprof's report.newTrimmedGraph does for text
 * and graph reports (no call tree): nodes whose |cum| is below
 * total*node_fraction are dropped, then the top node_count nodes are
 * kept, and edges lighter than total*edge_fraction are removed. Nodes
 * with no value at all never appear. 0 or -ENOMEM.
 */
int cp_graph_new(struct cp_graph *g, struct cp_profile *p,
                 const struct cp_graph_opts *o);
void cp_graph_free(struct cp_graph *g);

/* pprof's Node.FlatValue/CumValue: the value, divided by its divisor for
 * -mean reports. */
int64_t cp_graph_flat(const struct cp_graph_node *n);
int64_t cp_graph_cum(const struct cp_graph_node *n);

/*
 * The node ids (cp_graph_node.id numbering) of location `loc_id`'s frames,
 * innermost (inlined callee) first, as pprof's CreateNodes maps them; *n
 * gets the count. Lets a flame graph walk samples at the graph's
 * granularity. NULL when the location is unknown.
 */
const uint32_t *cp_graph_location_nodes(const struct cp_graph *g,
                                        uint64_t loc_id, size_t *n);
/* The node with that id if it survived trimming, else NULL. */
const struct cp_graph_node *cp_graph_node_by_id(const struct cp_graph *g,
                                                uint32_t id);
/* Identity and name of any node id, trimmed or not (for flame graphs):
 * fills name/file/... and printable; values are zero. */
int cp_graph_node_info(const struct cp_graph *g, uint32_t id,
                       struct cp_graph_node *out);
size_t cp_graph_n_ids(const struct cp_graph *g);

/* "(inline)", "(partial-inline)" or "" by the node's incoming edges, as
 * pprof's text report labels a node. */
const char *cp_graph_inline_label(const struct cp_graph *g,
                                  const struct cp_graph_node *n);

/* pprof's NodeInfo.PrintableName into buf; returns buf. */
char *cp_graph_printable(char *buf, size_t n, const char *name,
                         const char *file, const char *objfile,
                         uint64_t address, int64_t lineno);

/* Go's filepath.Clean into buf (n >= strlen(path) + 2); returns buf. */
char *cp_path_clean(char *buf, size_t n, const char *path);

#endif /* CP_GRAPH_H */
