/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flame.h - a profile aggregated into the call tree a flame graph draws,
 * and its compact JSON for the web UI (the page never receives samples).
 *
 * Frames are the report model's nodes (graph.h: one per function, or per
 * line/file/address by granularity, named as go tool pprof names them);
 * the tree merges samples whose stacks share a prefix, root first. With a
 * group label (e.g. thread_name) every sample first goes through a frame
 * "thread_name=VALUE", so each thread gets its own tower. For a diff
 * (samples labelled pprof::base=true, as `-diff_base` merges them, with
 * negated values) each node carries the base's values beside the new
 * profile's.
 *
 *     struct cp_flame f;
 *     struct cp_flame_opts o = {.sample_index = si, .group = "thread_name"};
 *     cp_flame_build(&f, p, &o);          // p aggregated, strings canonical
 *     cp_flame_json(&f, 0, 1e-4, &json);  // whole tree, tiny frames cut
 *     cp_flame_free(&f);
 *
 * Never used in signal context. Thread-safe: no (one owner).
 */
#ifndef CP_FLAME_H
#define CP_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "graph.h"
#include "profile.h"

/* Label that marks the base profile's samples in a -diff_base merge
 * (go tool pprof's convention). */
#define CP_FLAME_BASE_LABEL "pprof::base"

struct cp_flame_opts {
    int sample_index;
    const char *group; /* string label key to group by, NULL or "" for none */
    /* file and first line of each function (by index) before the profile
     * was aggregated, which forgets them at function granularity; NULL
     * for none (see cp_flame_node_files) */
    const int64_t *fn_files, *fn_lines;
};

struct cp_flame_func {
    const char *name; /* as pprof prints it */
    const char *file;
    int64_t line;
    const char *lib; /* basename of the mapping's file, "" if unknown */
    bool label;      /* a group frame ("thread_name=worker") */
};

struct cp_flame_node {
    uint32_t func; /* index into funcs; node 0 (the root) has UINT32_MAX */
    uint32_t parent;
    uint32_t depth;
    /* nodes are in preorder: the subtree is [self, end), the children
     * are self + 1, then each child's end, while below end */
    uint32_t end;
    int64_t total, self;   /* the profile (the new one of a diff) */
    int64_t btotal, bself; /* the base of a diff, as positive values */
};

struct cp_flame {
    struct cp_flame_node *nodes; /* nodes[0] is the root ("root") */
    size_t n_nodes;
    struct cp_flame_func *funcs;
    size_t n_funcs;
    bool diff;        /* some sample carried pprof::base */
    size_t n_samples; /* samples with a non-zero value */
    /* private */
    struct cp_graph g; /* owns the names */
    char **labels;
    size_t n_labels, cap_nodes, cap_funcs;
};

/* Build the tree. p must be aggregated (cp_filter_aggregate) with
 * canonical strings; it must outlive f. 0, -EINVAL (bad sample index) or
 * -ENOMEM. */
int cp_flame_build(struct cp_flame *f, struct cp_profile *p,
                   const struct cp_flame_opts *o);
void cp_flame_free(struct cp_flame *f);

/*
 * The node reached from the root through frames named path[0..n) (node 0
 * for n == 0), or -1.
 */
long cp_flame_find(const struct cp_flame *f, const char *const *path, size_t n);

/*
 * Append the JSON of the subtree at node `root` to out:
 *   {"strings":[...],             every name, file and library once
 *    "funcs":[name,file,line,lib,label, ...],  5 numbers per frame kind
 *    "nodes":[func*2+cut, depth, total, self, ...],  preorder, 4 numbers
 *                                 per node (6 in a diff: + btotal, bself);
 *                                 depth from the subtree's root; cut = 1
 *                                 when children were left out
 *    "path":[names from the whole tree's root down to `root`],
 *    "diff":bool, "minval":N, "cut":N nodes left out}
 * Children are ordered by total (then name). Nodes whose weight (|total|,
 * or the larger of |total| and |btotal|) is below minfrac of the
 * subtree's root weight are left out, with their subtrees: the page draws
 * nothing narrower than a pixel and asks again when it zooms in.
 * 0 or -ENOMEM / -E2BIG.
 */
int cp_flame_json(const struct cp_flame *f, uint32_t root, double minfrac,
                  struct cp_dynbuf *out);

/*
 * For every node id of g (cp_graph_n_ids entries in files/lines), the
 * source file and first line of its function, from fn_files/fn_lines
 * (string indexes and lines by function index, saved from p before it was
 * aggregated); "" and 0 where unknown. Lets tooltips and the top table
 * name files at function granularity, as a reader expects.
 */
void cp_flame_node_files(const struct cp_graph *g, const struct cp_profile *p,
                         const int64_t *fn_files, const int64_t *fn_lines,
                         const char **files, int64_t *lines);

/* Append s as a JSON string literal (quotes included); bytes that are not
 * UTF-8 become U+FFFD, so any C name or path makes valid JSON. */
int cp_json_escape(struct cp_dynbuf *out, const char *s);

#endif /* CP_FLAME_H */
