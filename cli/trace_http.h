/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_http.h - the trace viewer's server (trace_http.c), as a handle
 * the tests can start and stop; `cprof trace -http` calls cp_trace_serve
 * (declared weak in trace_cmd.c), which serves until Ctrl-C.
 *
 * Never used in signal context.
 */
#ifndef CP_TRACE_HTTP_H
#define CP_TRACE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "trace/trace_read.h"

struct cp_tview;

/*
 * Serve the viewer of t (kept, not copied: it must stay open until
 * cp_tview_stop) on addr ("[HOST]:PORT", as cp_httpd_start), titled src.
 * Returns once listening; the timeline model and the tables are built on
 * a thread of their own meanwhile, and requests that need them wait. 0, or
 * a negative errno with one sentence in err.
 */
int cp_tview_start(struct cp_trace *t, const char *src, const char *addr,
                   struct cp_tview **out, char *err, size_t errlen);
/* "http://HOST:PORT" */
const char *cp_tview_url(const struct cp_tview *v);
/* Stop serving (waits for running requests and the build), free. */
void cp_tview_stop(struct cp_tview *v);

/*
 * `cprof trace -http=ADDR [-no_browser]`: cp_tview_start, print "Serving
 * web UI on URL", open a browser unless no_browser, serve until SIGINT or
 * SIGTERM. Returns the exit status (1 with a "cprof: trace: ..." line when
 * addr cannot be served).
 */
int cp_trace_serve(struct cp_trace *t, const char *src, const char *addr,
                   bool no_browser);

#endif /* CP_TRACE_HTTP_H */
