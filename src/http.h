/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the live endpoint: /debug/pprof/ as Go's net/http/pprof serves
 * it, from libmicrohttpd threads of cprof's own (http.c), and the request
 * handler those threads call (http_handle.c), which knows nothing of
 * libmicrohttpd so it can be fuzzed and unit-tested alone.
 *
 * Never in signal context. The handler is thread-safe: each connection
 * thread runs it for its own request.
 */
#ifndef CP_HTTP_H
#define CP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/dynbuf.h"

/* One query argument, decoded ("seconds", "30"); value NULL when absent
 * ("?0x1+0x2" gives the key "0x1 0x2" and no value). */
struct cp_http_arg {
    const char *key, *value;
};

struct cp_http_req {
    const char *method;        /* "GET", "HEAD", "POST"... */
    const char *path;          /* "/debug/pprof/heap" (no query) */
    const struct cp_http_arg *args;
    int n_args;
    const char *authorization; /* the header, or NULL */
    const char *body;          /* POST data (symbol) */
    size_t body_len;
    bool body_too_big;         /* the body went past CP_HTTP_MAX_BODY */
    /*
     * Wait up to ms milliseconds for a seconds=N window; returns false
     * when the request should end early (client gone, server stopping).
     * NULL: do not wait (the fuzzer, tests).
     */
    bool (*wait_ms)(void *ctx, int64_t ms);
    void *wait_ctx;
};

struct cp_http_resp {
    int status;
    const char *content_type;
    char disposition[96]; /* Content-Disposition, "" if none */
    bool go_pprof_error;  /* X-Go-Pprof: 1 */
    bool www_authenticate;
    struct cp_dynbuf body;
};

/* How the server is configured (immutable while it runs). */
struct cp_http_config {
    const char *token;  /* NULL: no authentication (loopback only) */
    int max_seconds;    /* cap on seconds=N */
};

/*
 * Answer one request: fills resp (initialized here; the caller frees
 * resp->body). Never fails: errors become 4xx/5xx answers with Go's
 * sentences. May block for the seconds a window asks (through wait_ms).
 * Thread-safe: yes. Async-signal-safe: no.
 */
void cp_http_handle(const struct cp_http_config *cfg,
                    const struct cp_http_req *req, struct cp_http_resp *resp);
void cp_http_resp_free(struct cp_http_resp *resp);

/*
 * Parse a raw query string ("seconds=5&debug=1") into args (decoding %XX
 * and '+', as Go's url.ParseQuery), storing the strings in store (owned by
 * the caller). Returns the number of args (at most max) or -E2BIG.
 */
int cp_http_parse_query(const char *q, size_t len, struct cp_http_arg *args,
                        int max, struct cp_dynbuf *store);

/*
 * Whether an Authorization header value carries token: "Bearer TOKEN" or
 * "Basic base64(USER:TOKEN)" (any user). Constant time in the token.
 */
bool cp_http_auth_ok(const char *header, const char *token);

/* A listening address, parsed. */
struct cp_http_addr {
    char host[256]; /* "" for ":PORT" */
    int port;       /* 0..65535; 0 = any free port */
    bool loopback;  /* every address host resolves to is loopback */
    int family;     /* AF_INET or AF_INET6 */
    uint8_t sa[28]; /* struct sockaddr_in / sockaddr_in6 */
    unsigned sa_len;
};

/*
 * Parse "host:port", ":port" (loopback: cprof binds loopback unless told
 * otherwise, unlike Go), "[v6]:port" or "port"; resolve host (the first
 * address). 0, or -EINVAL with a sentence in err.
 */
int cp_http_parse_addr(const char *addr, struct cp_http_addr *out, char *err,
                       size_t errlen);

/*
 * Windowed profiles other modules add (the tracer's trace?seconds=N,
 * wall?seconds=N): begin a window, then end it into an encoded body.
 */
struct cp_http_window {
    const char *name;         /* "trace" */
    const char *help;         /* one line for the index */
    const char *content_type; /* of the body */
    int default_seconds;      /* when seconds is absent or bad */
    int (*begin)(void **state);                       /* 0 or -errno */
    int (*end)(void *state, struct cp_dynbuf *out);   /* 0 or -errno */
    void (*abort)(void *state);
};

/* Register a window (kept by pointer). 0 or -ENOSPC.
 * Thread-safe: yes. */
int cp_http_register_window(const struct cp_http_window *w);

/* Called once from init.c: start the endpoint if CPROF_HTTP asks. */
void cp_http_init_from_env(void);

#endif /* CP_HTTP_H */
