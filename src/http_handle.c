/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_handle.c - the request handler of the live endpoint (http.h): Go's
 * net/http/pprof routes, parameters, headers, status codes and sentences,
 * on cprof's profiles. No libmicrohttpd here, so the fuzzer and the unit
 * tests drive it directly.
 *
 * Never in signal context. Takes no lock of its own but windows_lock
 * (a leaf); the profiles it renders take theirs.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "cp_limits.h"
#include "cp_lock.h"
#include "cpu.h"
#include "modules.h"
#include "profile/merge.h"
#include "profiles.h"
#include "sigsafe.h"
#include "symcache.h"

/* ---- small helpers ---- */

static const char *arg(const struct cp_http_req *req, const char *key)
{
    for (int i = 0; i < req->n_args; i++) {
        if (req->args[i].key && !strcmp(req->args[i].key, key))
            return req->args[i].value ? req->args[i].value : "";
    }
    return NULL;
}

/* Go's strconv.Atoi with errors ignored (0), as net/http/pprof reads
 * debug and gc. */
static int atoi_go(const char *s)
{
    char *end;
    long long v;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v > 1000000 || v < -1000000 ||
        isspace((unsigned char)*s))
        return 0;
    return (int)v;
}

/* strconv.ParseInt(s, 10, 64): true and *out on success. */
static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static void set_text(struct cp_http_resp *r)
{
    r->content_type = "text/plain; charset=utf-8";
}

/* Go's serveError: text/plain, X-Go-Pprof: 1, the sentence and "\n". */
static void serve_error(struct cp_http_resp *r, int status, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));
static void serve_error(struct cp_http_resp *r, int status, const char *fmt,
                        ...)
{
    va_list ap;
    cp_dynbuf_reset(&r->body);
    r->status = status;
    set_text(r);
    r->go_pprof_error = true;
    r->disposition[0] = '\0';
    va_start(ap, fmt);
    cp_dynbuf_vprintf(&r->body, fmt, ap);
    va_end(ap);
    cp_dynbuf_addstr(&r->body, "\n");
}

static void attachment(struct cp_http_resp *r, const char *name,
                       const char *suffix)
{
    r->content_type = "application/octet-stream";
    snprintf(r->disposition, sizeof r->disposition,
             "attachment; filename=\"%s%s\"", name, suffix);
}

/* ---- windows: profile?seconds (CPU), trace, wall ---- */

static pthread_mutex_t windows_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct cp_http_window *windows[8];
static int n_windows;

int cp_http_register_window(const struct cp_http_window *w)
{
    int r = 0, i;
    cp_mutex_lock(&windows_lock);
    for (i = 0; i < n_windows; i++) {
        if (!strcmp(windows[i]->name, w->name))
            break;
    }
    if (i < n_windows)
        windows[i] = w;
    else if (n_windows < (int)(sizeof windows / sizeof windows[0]))
        windows[n_windows++] = w;
    else
        r = -ENOSPC;
    cp_mutex_unlock(&windows_lock);
    return r;
}

static const struct cp_http_window *find_window(const char *name)
{
    const struct cp_http_window *w = NULL;
    cp_mutex_lock(&windows_lock);
    for (int i = 0; i < n_windows; i++) {
        if (!strcmp(windows[i]->name, name))
            w = windows[i];
    }
    cp_mutex_unlock(&windows_lock);
    return w;
}

/* The CPU profile's window: a session of its own over the shared
 * sampler (cpu.h), so concurrent requests and an API/env profile each
 * get the samples of their own window. */
static int cpu_begin(void **state)
{
    struct cp_cpu_session *s;
    int r = cp_cpu_session_begin(0, &s);
    if (r == 0)
        *state = s;
    return r;
}

static int cpu_end(void *state, struct cp_dynbuf *out)
{
    struct cp_profile p;
    int r = cp_cpu_session_end(state, &p);
    if (r < 0)
        return r;
    r = cp_profile_encode(&p, 1, out);
    cp_profile_free(&p);
    return r;
}

static void cpu_abort(void *state)
{
    cp_cpu_session_abort(state);
}

static const struct cp_http_window cpu_window = {
    .name = "profile",
    .help = "CPU profile. You can specify the duration in the seconds GET "
            "parameter. After you get the profile file, use the go tool "
            "pprof command to investigate the profile.",
    .content_type = "application/octet-stream",
    .default_seconds = 30,
    .begin = cpu_begin,
    .end = cpu_end,
    .abort = cpu_abort,
};

/* What Go says when a window cannot start, by name. */
static const char *could_not(const char *name)
{
    if (!strcmp(name, "profile"))
        return "Could not enable CPU profiling";
    if (!strcmp(name, "trace"))
        return "Could not enable tracing";
    if (!strcmp(name, "wall"))
        return "Could not enable wall-clock profiling";
    return "Could not start the profile";
}

static const char *not_built(const char *name)
{
    if (!strcmp(name, "trace"))
        return "the execution tracer is not built into this libcprof yet";
    if (!strcmp(name, "wall"))
        return "the wall-clock profiler is not built into this libcprof yet";
    if (!strcmp(name, "heap") || !strcmp(name, "allocs"))
        return "the heap profiler is not built into this libcprof yet";
    return "this profile is not built into this libcprof yet";
}

static void serve_window(const struct cp_http_config *cfg,
                         const struct cp_http_req *req, const char *name,
                         struct cp_http_resp *resp)
{
    const struct cp_http_window *w =
        !strcmp(name, "profile") ? &cpu_window : find_window(name);
    const char *sec_s = arg(req, "seconds");
    int64_t sec = 0;
    void *state = NULL;
    int r;

    if (!w) {
        serve_error(resp, 501, "%s: %s", could_not(name), not_built(name));
        return;
    }
    /* Go: a missing, bad or non-positive value means the default */
    if (!parse_int(sec_s, &sec) || sec <= 0)
        sec = w->default_seconds;
    if (sec > cfg->max_seconds) {
        serve_error(resp, 400,
                    "profile duration exceeds server's limit of %d seconds "
                    "(CPROF_HTTP_MAX_SECONDS)",
                    cfg->max_seconds);
        return;
    }
    r = w->begin(&state);
    if (r < 0) {
        serve_error(resp, 500, "%s: %s", could_not(name),
                    r == -ENOSPC ? "too many profiles are running at once"
                                 : strerror(-r));
        return;
    }
    if (req->wait_ms && !req->wait_ms(req->wait_ctx, sec * 1000)) {
        /* the client went away, or the server is stopping */
        w->abort(state);
        serve_error(resp, 500, "context canceled");
        return;
    }
    r = w->end(state, &resp->body);
    if (r < 0) {
        serve_error(resp, 500, "%s: %s", could_not(name), strerror(-r));
        return;
    }
    resp->status = 200;
    resp->content_type = w->content_type;
    snprintf(resp->disposition, sizeof resp->disposition,
             "attachment; filename=\"%s\"", name);
}

/* ---- named profiles: heap, allocs, threads/goroutine, ... ---- */

static bool supports_delta(const char *name)
{
    static const char *const names[] = {"allocs", "block", "goroutine",
                                        "threads", "heap", "mutex",
                                        "threadcreate"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(name, names[i]))
            return true;
    }
    return false;
}

static bool is_contention(const char *name)
{
    return !strcmp(name, "mutex") || !strcmp(name, "block");
}

/* Go's profiles of names in Go that cprof calls otherwise. */
static void go_names(const char *name, struct cp_profile *p)
{
    if (strcmp(name, "goroutine") != 0)
        return;
    /* /goroutine answers as Go's goroutine profile does, for tools that
     * key on the type (fleet profilers) */
    p->period_type.type = cp_profile_str(p, "goroutine");
    if (p->n_sample_types)
        p->sample_types[0].type = p->period_type.type;
}

/* mutex/block before contention profiling exists: empty, as Go's are
 * with their rates at 0. */
static int empty_contention(const char *name, int debug,
                            struct cp_profile *p, struct cp_dynbuf *out)
{
    if (debug > 0)
        return cp_dynbuf_printf(out,
                                "--- %s:\ncycles/second=1000000000\n"
                                "sampling period=0\n",
                                !strcmp(name, "mutex") ? "mutex"
                                                       : "contention");
    if (cp_profile_init(p) < 0 ||
        cp_profile_add_sample_type(p, "contentions", "count") < 0 ||
        cp_profile_add_sample_type(p, "delay", "nanoseconds") < 0)
        return -ENOMEM;
    p->period_type.type = cp_profile_str(p, "contentions");
    p->period_type.unit = cp_profile_str(p, "count");
    p->period = 1;
    p->time_nanos = cp_realtime_ns();
    return 0;
}

static int collect(const struct cp_profile_source *src, const char *name,
                   struct cp_profile *p)
{
    int r;
    if (!src)
        return empty_contention(name, 0, p, NULL);
    if (!src->build)
        return -ENOSYS;
    r = src->build(p);
    if (r == 0)
        p->time_nanos = cp_realtime_ns();
    return r;
}

/* Go's serveDeltaProfile: p1 - p0 over seconds. */
static void serve_delta(const struct cp_http_config *cfg,
                        const struct cp_http_req *req, const char *name,
                        const struct cp_profile_source *src,
                        struct cp_http_resp *resp)
{
    struct cp_profile p0, p1, d;
    struct cp_profile *both[2] = {&p0, &p1};
    int64_t sec;
    char err[160];
    int r;

    if (!parse_int(arg(req, "seconds"), &sec) || sec <= 0) {
        serve_error(resp, 400, "invalid value for \"seconds\" - must be a "
                               "positive integer");
        return;
    }
    if (!supports_delta(name)) {
        serve_error(resp, 400, "\"seconds\" parameter is not supported for "
                               "this profile type");
        return;
    }
    if (sec > cfg->max_seconds) {
        serve_error(resp, 400,
                    "profile duration exceeds server's limit of %d seconds "
                    "(CPROF_HTTP_MAX_SECONDS)",
                    cfg->max_seconds);
        return;
    }
    if (atoi_go(arg(req, "debug")) != 0) {
        serve_error(resp, 400, "seconds and debug params are incompatible");
        return;
    }
    if (collect(src, name, &p0) < 0) {
        serve_error(resp, 500, "failed to collect profile");
        return;
    }
    if (req->wait_ms && !req->wait_ms(req->wait_ctx, sec * 1000)) {
        cp_profile_free(&p0);
        serve_error(resp, 500, "context canceled");
        return;
    }
    if (collect(src, name, &p1) < 0) {
        cp_profile_free(&p0);
        serve_error(resp, 500, "failed to collect profile");
        return;
    }
    int64_t ts = p1.time_nanos, dur = p1.time_nanos - p0.time_nanos;
    r = cp_profile_scale(&p0, -1);
    if (r == 0)
        r = cp_profile_merge(both, 2, &d, err, sizeof err);
    cp_profile_free(&p0);
    cp_profile_free(&p1);
    if (r < 0) {
        serve_error(resp, 500, "failed to compute delta");
        return;
    }
    d.time_nanos = ts;
    d.duration_nanos = dur;
    go_names(name, &d);
    r = cp_profile_encode(&d, 1, &resp->body);
    cp_profile_free(&d);
    if (r < 0) {
        serve_error(resp, 500, "failed to compute delta");
        return;
    }
    resp->status = 200;
    attachment(resp, name, "-delta");
}

static void serve_profile(const struct cp_http_config *cfg,
                          const struct cp_http_req *req, const char *name,
                          struct cp_http_resp *resp)
{
    const struct cp_profile_source *src = cp_profiles_find(name);
    struct cp_profile p;
    int debug, r;

    if (!src && !is_contention(name)) {
        if (!strcmp(name, "heap") || !strcmp(name, "allocs"))
            serve_error(resp, 501, "%s profile: %s", name, not_built(name));
        else
            serve_error(resp, 404, "Unknown profile");
        return;
    }
    if (arg(req, "seconds") && *arg(req, "seconds")) {
        serve_delta(cfg, req, name, src, resp);
        return;
    }
    /* gc=1: Go runs a collection first; a C heap has none to run, so the
     * parameter is accepted and changes nothing. */
    debug = atoi_go(arg(req, "debug"));
    resp->status = 200;
    if (debug != 0) {
        set_text(resp);
        if (!src) {
            r = empty_contention(name, debug, NULL, &resp->body);
        } else if (src->write_text) {
            r = src->write_text(debug, &resp->body);
            /* Go's goroutine text says "goroutine profile: total N" */
            if (r == 0 && !strcmp(name, "goroutine") &&
                resp->body.len > 8 &&
                !strncmp(resp->body.data, "threads ", 8)) {
                struct cp_dynbuf b;
                cp_dynbuf_init(&b, resp->body.limit);
                r = cp_dynbuf_addstr(&b, "goroutine ");
                if (r == 0)
                    r = cp_dynbuf_add(&b, resp->body.data + 8,
                                      resp->body.len - 8);
                if (r == 0) {
                    cp_dynbuf_free(&resp->body);
                    resp->body = b;
                } else {
                    cp_dynbuf_free(&b);
                }
            }
        } else {
            r = cp_profiles_render(name, debug, &resp->body);
        }
        if (r < 0)
            serve_error(resp, 500, "Could not write the %s profile: %s",
                        name, strerror(-r));
        return;
    }
    r = collect(src, name, &p);
    if (r < 0) {
        serve_error(resp, 500, "Could not write the %s profile: %s", name,
                    strerror(-r));
        return;
    }
    go_names(name, &p);
    r = cp_profile_encode(&p, 1, &resp->body);
    cp_profile_free(&p);
    if (r < 0) {
        serve_error(resp, 500, "Could not write the %s profile: %s", name,
                    strerror(-r));
        return;
    }
    attachment(resp, name, "");
}

/* ---- cmdline, symbol ---- */

static void serve_cmdline(struct cp_http_resp *resp)
{
    char buf[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    resp->status = 200;
    set_text(resp);
    if (fd < 0)
        return;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (cp_dynbuf_add(&resp->body, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
    /* Go joins os.Args with NUL; /proc ends each with one */
    if (resp->body.len && resp->body.data[resp->body.len - 1] == '\0')
        cp_dynbuf_setlen(&resp->body, resp->body.len - 1);
}

/* Parse Go's ParseUint(word, 0, 64): decimal, 0x hex, 0 octal, 0b. */
static uint64_t parse_pc(const char *s, size_t len)
{
    char tmp[40];
    char *end;
    unsigned long long v;
    int base = 10;
    const char *p = tmp;

    if (!len || len >= sizeof tmp)
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)tmp[i]) && tmp[i] != '_')
            return 0;
    }
    if (tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (tmp[0] == '0' && (tmp[1] == 'b' || tmp[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (tmp[0] == '0' && tmp[1]) {
        base = 8;
        p += 1 + (tmp[1] == 'o' || tmp[1] == 'O');
    }
    if (!*p || *p == '-' || *p == '+')
        return 0;
    errno = 0;
    v = strtoull(p, &end, base);
    if (errno || *end)
        return 0;
    return v;
}

/* Go's Symbol handler: "num_symbols: 1", then "0xPC name" for each
 * address of the POST body (or the query) that has a name. */
static void serve_symbol(const struct cp_http_req *req,
                         struct cp_http_resp *resp)
{
    uint64_t *pcs = NULL;
    size_t npcs = 0;
    struct cp_dynbuf words;
    const char *data;
    size_t len, start = 0;
    int count = 0;

    resp->status = 200;
    set_text(resp);
    if (req->body_too_big) {
        serve_error(resp, 413, "request body too large: at most %d bytes of "
                               "addresses",
                    CP_HTTP_MAX_BODY);
        return;
    }
    cp_dynbuf_addstr(&resp->body, "num_symbols: 1\n");
    cp_dynbuf_init(&words, CP_HTTP_MAX_BODY + 1);
    if (req->method && !strcmp(req->method, "POST")) {
        data = req->body ? req->body : "";
        len = req->body_len;
    } else {
        /* the raw query, as Go reads r.URL.RawQuery: "0x1+0x2" arrives
         * here decoded as the key "0x1 0x2" */
        for (int i = 0; i < req->n_args; i++) {
            if (i)
                cp_dynbuf_addstr(&words, "&");
            cp_dynbuf_addstr(&words, req->args[i].key ? req->args[i].key
                                                      : "");
            if (req->args[i].value) {
                cp_dynbuf_addstr(&words, "=");
                cp_dynbuf_addstr(&words, req->args[i].value);
            }
        }
        data = words.data ? words.data : "";
        len = words.len;
    }
    pcs = malloc(sizeof *pcs * (len / 2 + 1));
    for (size_t i = 0; pcs && i <= len; i++) {
        uint64_t pc;

        if (i < len && data[i] != '+' && data[i] != ' ')
            continue;
        pc = parse_pc(data + start, i - start);
        start = i + 1;
        if (!pc)
            continue;
        if (++count > CP_HTTP_MAX_SYMBOLS)
            break;
        pcs[npcs++] = pc;
    }
    if (npcs)
        cp_symcache_names(pcs, npcs, &resp->body);
    free(pcs);
    cp_dynbuf_free(&words);
}

/* ---- index ---- */

struct entry {
    const char *name, *desc;
    int64_t count;
};

static const char *go_desc(const char *name)
{
    static const struct {
        const char *name, *desc;
    } d[] = {
        {"allocs", "A sampling of all past memory allocations"},
        {"block", "Stack traces that led to blocking on synchronization "
                  "primitives"},
        {"cmdline", "The command line invocation of the current program"},
        {"goroutine", "Stack traces of all current goroutines (here: every "
                      "thread, as threads)"},
        {"heap", "A sampling of memory allocations of live objects. You can "
                 "specify the gc GET parameter to run GC before taking the "
                 "heap sample."},
        {"mutex", "Stack traces of holders of contended mutexes"},
        {"profile", "CPU profile. You can specify the duration in the "
                    "seconds GET parameter. After you get the profile file, "
                    "use the go tool pprof command to investigate the "
                    "profile."},
        {"threadcreate", "Stack traces that led to the creation of new OS "
                         "threads"},
        {"trace", "A trace of execution of the current program. You can "
                  "specify the duration in the seconds GET parameter. After "
                  "you get the trace file, use the go tool trace command to "
                  "investigate the trace."},
        {"threads", "Stack traces of all current threads, with their names "
                    "and states (cprof's name for goroutine)"},
        {"wall", "Wall-clock profile of every thread, running or waiting. "
                 "You can specify the duration in the seconds GET "
                 "parameter."},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        if (!strcmp(d[i].name, name))
            return d[i].desc;
    }
    return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name,
                  ((const struct entry *)b)->name);
}

/* HTML-escape as Go's html.EscapeString. */
static void add_escaped(struct cp_dynbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': cp_dynbuf_addstr(b, "&lt;"); break;
        case '>': cp_dynbuf_addstr(b, "&gt;"); break;
        case '&': cp_dynbuf_addstr(b, "&amp;"); break;
        case '\'': cp_dynbuf_addstr(b, "&#39;"); break;
        case '"': cp_dynbuf_addstr(b, "&#34;"); break;
        default: cp_dynbuf_add(b, s, 1); break;
        }
    }
}

static void serve_index(struct cp_http_resp *resp)
{
    static const char *const fixed[] = {
        "allocs", "block",   "cmdline",      "goroutine", "heap", "mutex",
        "profile", "threadcreate", "trace", "threads",    "wall"};
    const struct cp_profile_source *srcs[32];
    struct entry e[64];
    int n = 0, ns = cp_profiles_list(srcs, 32);
    struct cp_dynbuf *b = &resp->body;

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const struct cp_profile_source *s = cp_profiles_find(fixed[i]);
        e[n].name = fixed[i];
        e[n].desc = go_desc(fixed[i]);
        e[n].count = s && s->count ? s->count() : 0;
        if (e[n].count < 0)
            e[n].count = 0;
        n++;
    }
    for (int i = 0; i < ns && n < 64; i++) {
        bool known = false;
        for (int k = 0; k < n; k++)
            known |= !strcmp(e[k].name, srcs[i]->name);
        if (known)
            continue;
        e[n].name = srcs[i]->name;
        e[n].desc = srcs[i]->help ? srcs[i]->help : "";
        e[n].count = srcs[i]->count ? srcs[i]->count() : 0;
        n++;
    }
    qsort(e, (size_t)n, sizeof e[0], cmp_entry);

    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    /* Go's indexTmplExecute, byte for byte */
    cp_dynbuf_addstr(b, "<html>\n<head>\n<title>/debug/pprof/</title>\n"
                        "<style>\n.profile-name{\n\tdisplay:inline-block;\n"
                        "\twidth:6rem;\n}\n</style>\n</head>\n<body>\n"
                        "/debug/pprof/<br>\n<br>\n"
                        "Types of profiles available:\n<table>\n"
                        "<thead><td>Count</td><td>Profile</td></thead>\n");
    for (int i = 0; i < n; i++) {
        cp_dynbuf_printf(b, "<tr><td>%lld</td><td><a href='%s?debug=1'>",
                         (long long)e[i].count, e[i].name);
        add_escaped(b, e[i].name);
        cp_dynbuf_addstr(b, "</a></td></tr>\n");
    }
    cp_dynbuf_addstr(b, "</table>\n<a href=\"goroutine?debug=2\">full "
                        "goroutine stack dump</a>\n<br>\n<p>\n"
                        "Profile Descriptions:\n<ul>\n");
    for (int i = 0; i < n; i++) {
        cp_dynbuf_addstr(b, "<li><div class=profile-name>");
        add_escaped(b, e[i].name);
        cp_dynbuf_addstr(b, ": </div> ");
        add_escaped(b, e[i].desc ? e[i].desc : "");
        cp_dynbuf_addstr(b, "</li>\n");
    }
    cp_dynbuf_addstr(b, "</ul>\n</p>\n</body>\n</html>");
}

/* ---- authentication ---- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decode base64 (padding optional) into out; length or -1. */
static int b64decode(const char *s, char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* Compare without an early exit, so response time tells nothing about
 * how much of the token matched. */
static bool equal_ct(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char d = alen != blen;
    for (size_t i = 0; i < blen; i++)
        d |= (unsigned char)(i < alen ? a[i] : 0) ^ (unsigned char)b[i];
    return d == 0;
}

bool cp_http_auth_ok(const char *h, const char *token)
{
    char dec[1024];
    const char *colon;
    size_t tlen;

    if (!token)
        return true;
    if (!h)
        return false;
    tlen = strlen(token);
    while (*h == ' ')
        h++;
    if (!strncasecmp(h, "Bearer ", 7)) {
        h += 7;
        while (*h == ' ')
            h++;
        size_t n = strlen(h);
        while (n && h[n - 1] == ' ')
            n--;
        return equal_ct(h, n, token, tlen);
    }
    if (!strncasecmp(h, "Basic ", 6)) {
        int n;
        h += 6;
        while (*h == ' ')
            h++;
        if (strlen(h) > 1300)
            return false;
        n = b64decode(h, dec, sizeof dec);
        if (n < 0)
            return false;
        colon = memchr(dec, ':', (size_t)n);
        if (!colon)
            return false;
        return equal_ct(colon + 1, (size_t)(dec + n - colon - 1), token,
                        tlen);
    }
    return false;
}

/* ---- query parsing (for the fuzzer and tests; libmicrohttpd parses
 * real requests) ---- */

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Append s[0..len) decoded, NUL-terminated; returns its offset. */
static long add_decoded(struct cp_dynbuf *store, const char *s, size_t len)
{
    long off = (long)store->len;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < len &&
                   hexv((unsigned char)s[i + 1]) >= 0 &&
                   hexv((unsigned char)s[i + 2]) >= 0) {
            c = (char)(hexv((unsigned char)s[i + 1]) * 16 +
                       hexv((unsigned char)s[i + 2]));
            i += 2;
        }
        if (cp_dynbuf_add(store, &c, 1) < 0)
            return -1;
    }
    if (cp_dynbuf_add(store, "", 1) < 0)
        return -1;
    return off;
}

int cp_http_parse_query(const char *q, size_t len, struct cp_http_arg *args,
                        int max, struct cp_dynbuf *store)
{
    long koff[CP_HTTP_MAX_ARGS], voff[CP_HTTP_MAX_ARGS];
    size_t start = 0;
    int n = 0;

    if (max > CP_HTTP_MAX_ARGS)
        max = CP_HTTP_MAX_ARGS;
    for (size_t i = 0; i <= len; i++) {
        const char *eq;
        if (i < len && q[i] != '&' && q[i] != ';')
            continue;
        if (i > start) {
            if (n == max)
                return -E2BIG;
            eq = memchr(q + start, '=', i - start);
            koff[n] = add_decoded(store, q + start,
                                  (size_t)((eq ? eq : q + i) - (q + start)));
            voff[n] = eq ? add_decoded(store, eq + 1,
                                       (size_t)(q + i - eq - 1))
                         : -2;
            if (koff[n] < 0 || voff[n] == -1)
                return -E2BIG;
            n++;
        }
        start = i + 1;
    }
    /* the store may have moved while growing: point in at the end */
    for (int i = 0; i < n; i++) {
        args[i].key = store->data + koff[i];
        args[i].value = voff[i] >= 0 ? store->data + voff[i] : NULL;
    }
    return n;
}

/* ---- the router ---- */

#define PREFIX "/debug/pprof/"

void cp_http_handle(const struct cp_http_config *cfg,
                    const struct cp_http_req *req, struct cp_http_resp *resp)
{
    const char *path = req->path ? req->path : "";
    const char *m = req->method ? req->method : "";
    const char *name;

    memset(resp, 0, sizeof *resp);
    cp_dynbuf_init(&resp->body, CP_HTTP_MAX_RESPONSE);
    resp->status = 200;
    set_text(resp);

    if (!cfg || !cp_http_auth_ok(req->authorization, cfg->token)) {
        resp->www_authenticate = true;
        serve_error(resp, 401, "Unauthorized: this endpoint needs the token "
                               "of CPROF_HTTP_TOKEN, as \"Authorization: "
                               "Bearer TOKEN\" or as a basic-auth password");
        return;
    }
    if (strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "POST")) {
        serve_error(resp, 405, "Method Not Allowed: only GET, HEAD and POST "
                               "are served here");
        return;
    }
    if (!strcmp(path, "/debug/pprof")) {
        /* Go's ServeMux redirects a subtree's root without its slash */
        resp->status = 301;
        cp_dynbuf_addstr(&resp->body, "<a href=\"/debug/pprof/\">Moved "
                                      "Permanently</a>.\n\n");
        resp->content_type = "text/html; charset=utf-8";
        return;
    }
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0) {
        resp->status = 404;
        cp_dynbuf_addstr(&resp->body, "404 page not found\n");
        return;
    }
    name = path + strlen(PREFIX);
    if (!*name)
        serve_index(resp);
    else if (!strcmp(name, "cmdline"))
        serve_cmdline(resp);
    else if (!strcmp(name, "symbol"))
        serve_symbol(req, resp);
    else if (!strcmp(name, "profile") || !strcmp(name, "trace") ||
             !strcmp(name, "wall") || find_window(name))
        serve_window(cfg, req, name, resp);
    else if (strlen(name) > 64 || strchr(name, '/'))
        serve_error(resp, 404, "Unknown profile");
    else
        serve_profile(cfg, req, name, resp);
}

void cp_http_resp_free(struct cp_http_resp *resp)
{
    cp_dynbuf_free(&resp->body);
}
