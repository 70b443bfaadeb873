/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.h - the cprof command's small web server (libmicrohttpd) and the
 * web assets embedded in the binary. The profile UI (webui.c) and the
 * trace viewer both serve through it:
 *
 *     static int hello(struct cp_http_req *rq, void *ctx)
 *     {
 *         return cp_http_reply(rq, 200, "text/plain", "hi\n", 3);
 *     }
 *     static const struct cp_http_route routes[] = {
 *         {"/hello", hello, CP_HTTP_GET},
 *         {"/static/", cp_http_serve_asset, CP_HTTP_GET | CP_HTTP_PREFIX},
 *     };
 *     struct cp_httpd *d;
 *     if (cp_httpd_start(&d, "localhost:8080", routes, 2, ctx, err, n) == 0) {
 *         printf("Serving web UI on %s\n", cp_httpd_url(d));
 *         cp_httpd_wait_signal();            // until SIGINT/SIGTERM
 *         cp_httpd_stop(d);
 *     }
 *
 * Requests are served on a thread per connection, so a handler may block
 * (running dot, fetching a profile) without stalling the page's other
 * requests; handlers that share state lock it themselves. Bound to a
 * loopback address, the server refuses clients that are not on loopback
 * (as go tool pprof does). Every reply carries X-Content-Type-Options:
 * nosniff; errors are text/plain with one sentence.
 *
 * Never used in signal context.
 */
#ifndef CP_HTTPD_H
#define CP_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One embedded file (generated web_assets.c, see tools/embed.c). */
struct cp_asset {
    const char *path; /* relative to web/, e.g. "flame.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted hash of the content */
};
extern const struct cp_asset cp_web_assets[];
extern const size_t cp_web_n_assets;

/* The asset at path (relative to web/), or NULL. */
const struct cp_asset *cp_asset_find(const char *path);

struct cp_http_req; /* one request, valid during the handler call */
struct cp_httpd;

/* Returns 0 once a reply was queued (cp_http_reply...), -1 to drop the
 * connection. */
typedef int cp_http_handler_fn(struct cp_http_req *rq, void *ctx);

enum {
    CP_HTTP_GET = 1, /* GET and HEAD */
    CP_HTTP_POST = 2,
    CP_HTTP_PREFIX = 4, /* path matches every path that starts with it */
};

struct cp_http_route {
    const char *path;
    cp_http_handler_fn *fn;
    unsigned flags;
};

/*
 * Listen on addr ("[HOST]:PORT"; HOST defaults to localhost, an empty or 0
 * PORT picks a free one, "[::1]:80" for IPv6) and serve routes (kept, not
 * copied) with ctx. 0, or a negative errno with one sentence in err.
 */
int cp_httpd_start(struct cp_httpd **out, const char *addr,
                   const struct cp_http_route *routes, size_t n_routes,
                   void *ctx, char *err, size_t errlen);
/* "http://localhost:8080" (the host as given, the port as bound). */
const char *cp_httpd_url(const struct cp_httpd *d);
int cp_httpd_port(const struct cp_httpd *d);
/* Stop serving; waits for handlers running now. */
void cp_httpd_stop(struct cp_httpd *d);

/*
 * Block SIGINT, SIGTERM and SIGHUP in the calling thread; call before
 * cp_httpd_start so the server's threads inherit the mask.
 */
void cp_httpd_block_signals(void);
/* Wait until one of them arrives; returns its number. */
int cp_httpd_wait_signal(void);

/*
 * Open url in the user's browser when one can be shown: $BROWSER, else
 * xdg-open / x-www-browser when DISPLAY or WAYLAND_DISPLAY is set. Never
 * waits for it; returns false when none was started.
 */
bool cp_httpd_open_browser(const char *url);

/* ---- inside a handler ---- */

const char *cp_http_path(const struct cp_http_req *rq); /* decoded */
const char *cp_http_method(const struct cp_http_req *rq);
/* A query argument (decoded), or NULL when absent. */
const char *cp_http_arg(const struct cp_http_req *rq, const char *name);
/* The raw query string after '?', "" when none. */
const char *cp_http_query(const struct cp_http_req *rq);
const char *cp_http_header(const struct cp_http_req *rq, const char *name);

/* Queue a reply: data is copied. Large bodies are gzip'd when the client
 * accepts it. 0 or -1. */
int cp_http_reply(struct cp_http_req *rq, int status, const char *type,
                  const void *data, size_t len);
/* Takes ownership of data (malloc'd). */
int cp_http_reply_take(struct cp_http_req *rq, int status, const char *type,
                       char *data, size_t len);
/* text/plain one-sentence error, with a newline added. */
int cp_http_error(struct cp_http_req *rq, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 302 (or code) to location. */
int cp_http_redirect(struct cp_http_req *rq, int code, const char *location);
/* Add a header to the reply the handler is about to send. */
void cp_http_add_header(struct cp_http_req *rq, const char *name,
                        const char *value);

/* Handler for CP_HTTP_PREFIX routes: serves the embedded asset named by
 * the path after the route's prefix (e.g. "/static/flame.js"), with ETag
 * revalidation; 404 for unknown names. */
int cp_http_serve_asset(struct cp_http_req *rq, void *ctx);
/* Serve one named asset (e.g. "index.html") whatever the path. */
int cp_http_reply_asset(struct cp_http_req *rq, const char *name);

/* Bytes of reply bodies sent since start (after compression), for the
 * benchmark's "bytes sent to the page". */
uint64_t cp_httpd_bytes_sent(const struct cp_httpd *d);

#endif /* CP_HTTPD_H */
