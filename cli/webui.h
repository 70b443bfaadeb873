/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webui.h - `cprof -http=[HOST]:PORT [-no_browser] SOURCE...`: the web UI
 * (flame graph, top, source, peek, call graph, diff), as go tool pprof's
 * internal/driver/webui.go serves it.
 *
 * Two entry points:
 *   - cp_web_serve(cfg, p) (declared in pprof.h, defined in webui.c): what
 *     cp_cmd_pprof calls for -http, with the profile cp_pprof_load made
 *     (sources merged, bases subtracted, -diff_base samples labelled
 *     "pprof::base" = "true" as go tool pprof does, drop_frames pruned).
 *     The filter flags become the page's initial state (as go tool pprof
 *     puts them in the first URL); the refresh button calls cp_pprof_load
 *     again when a source is an http(s) URL.
 *   - cp_webui_serve(p, opts): the same without the command's
 *     configuration, for other callers:
 *
 *     struct cp_webui_opts wo = CP_WEBUI_OPTS_INIT;
 *     wo.addr = ":8080";  wo.open_browser = false;
 *     wo.title = "hash_bench.prof";
 *     return cp_webui_serve(&merged, &wo);    // serves until Ctrl-C
 *
 * The profile handed over must be unfiltered: the page sets the filters
 * per request. The server itself (routes, assets, browser) is httpd.h,
 * which the trace viewer shares.
 *
 * Never used in signal context.
 */
#ifndef CP_WEBUI_H
#define CP_WEBUI_H

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

/* Load the sources again (the refresh button): out gets a profile made
 * the same way as the one first given to cp_webui_serve. 0, or a negative
 * errno with one sentence in err. */
typedef int cp_webui_reload_fn(void *ctx, struct cp_profile *out, char *err,
                               size_t errlen);

struct cp_webui_opts {
    const char *addr;  /* "[HOST]:PORT", e.g. ":8080" or "0.0.0.0:8080" */
    bool open_browser; /* false with -no_browser */
    const char *title; /* the sources, shown in the header */
    cp_webui_reload_fn *reload; /* NULL: no refresh button */
    void *reload_ctx;
    /* initial state, from the command line (NULL or "" = unset) */
    const char *sample_index, *focus, *ignore, *hide, *show, *tagfocus,
        *tagignore, *granularity;
    /* where -list and the source view look for files (pprof's
     * -source_path, ':'-separated, and -trim_path) */
    const char *source_path, *trim_path;
    /* a file to write the served URL to once listening (tests, scripts);
     * NULL for none */
    const char *url_file;
};

#define CP_WEBUI_OPTS_INIT                                                     \
    {                                                                          \
        .addr = "localhost:8080", .open_browser = true                         \
    }

/*
 * Serve p (taken: freed when the server stops) on o->addr until SIGINT or
 * SIGTERM; prints "Serving web UI on http://HOST:PORT" on stdout first and
 * opens a browser unless told not to. Returns the exit status (0 after a
 * signal, 1 with a "cprof: ..." line on stderr when the address cannot be
 * served).
 */
int cp_webui_serve(struct cp_profile *p, const struct cp_webui_opts *o);

#endif /* CP_WEBUI_H */
