/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callgraph.h - the call graph view: the report model (graph.h) written
 * as Graphviz DOT the way go tool pprof's internal/graph/dotgraph.go
 * writes it (box size by flat, colour by cum, edge width by weight), and
 * rendered to SVG by running `dot`.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#ifndef CP_CALLGRAPH_H
#define CP_CALLGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "graph.h"

/* Write g as DOT into out. total is the percentage base; unit the
 * values' unit ("nanoseconds"); legend lines go in a box at the top. */
int cp_callgraph_dot(const struct cp_graph *g, int64_t total, const char *unit,
                     const char *const *legend, size_t n_legend,
                     struct cp_dynbuf *out);

/*
 * Run `dot -Tsvg` on dot (bounded by timeout_s seconds) and append the
 * SVG to svg. 0; -ENOENT when dot is not installed; other negative errno
 * with a sentence in err.
 */
int cp_callgraph_svg(const char *dot, size_t len, int timeout_s,
                     struct cp_dynbuf *svg, char *err, size_t errlen);

#endif /* CP_CALLGRAPH_H */
