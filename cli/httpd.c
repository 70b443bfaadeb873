/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.c - the cprof command's web server on libmicrohttpd: a routes
 * table (as go tool pprof's webui.go Handlers map), embedded assets with
 * ETags and cached gzip, loopback-only clients when bound to loopback, and
 * opening the user's browser. Contract and example: httpd.h.
 *
 * Threads: libmicrohttpd runs one thread per connection (so a slow handler,
 * e.g. dot on a large graph, never stalls the page's other requests); the
 * only state shared here is the gzip cache of assets (asset_lock) and a
 * byte counter (atomic). Never used in signal context.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "dynbuf.h"
#include "httpd.h"

/* Bodies below this are sent as they are: gzip would save little. */
#define GZIP_MIN 1024
/* Connections served at once; more wait in the listen queue. */
#define MAX_CONNECTIONS 64
/* Seconds an idle keep-alive connection is kept. */
#define IDLE_TIMEOUT 120

struct cp_httpd {
    struct MHD_Daemon *mhd;
    const struct cp_http_route *routes;
    size_t n_routes;
    void *ctx;
    bool local_only; /* bound to loopback: serve loopback clients only */
    int port;
    char url[300];
    _Atomic uint64_t bytes_sent;
};

#define MAX_EXTRA_HEADERS 8

struct cp_http_req {
    struct cp_httpd *d;
    struct MHD_Connection *c;
    const char *path;
    const char *method;
    const struct cp_http_route *route;
    char *query; /* rebuilt lazily */
    bool replied;
    size_t n_hdr;
    char *hdr_name[MAX_EXTRA_HEADERS], *hdr_value[MAX_EXTRA_HEADERS];
};

/* ---- assets ------------------------------------------------------------- */

static pthread_mutex_t asset_lock = PTHREAD_MUTEX_INITIALIZER;
/* gzip'd copies of the assets, made on first request (guarded by
 * asset_lock; once set, immutable) */
static struct cp_dynbuf *asset_gz;

const struct cp_asset *cp_asset_find(const char *path)
{
    for (size_t i = 0; i < cp_web_n_assets; i++)
        if (!strcmp(cp_web_assets[i].path, path))
            return &cp_web_assets[i];
    return NULL;
}

static const struct cp_dynbuf *asset_gzip(const struct cp_asset *a)
{
    size_t i = (size_t)(a - cp_web_assets);
    const struct cp_dynbuf *r = NULL;
    pthread_mutex_lock(&asset_lock);
    if (!asset_gz)
        asset_gz = calloc(cp_web_n_assets, sizeof(*asset_gz));
    if (asset_gz) {
        struct cp_dynbuf *b = &asset_gz[i];
        if (!b->data) {
            cp_dynbuf_init(b, a->len + 4096);
            if (cp_gzip(a->data, a->len, 9, b) < 0)
                cp_dynbuf_free(b);
        }
        if (b->data)
            r = b;
    }
    pthread_mutex_unlock(&asset_lock);
    return r;
}

/* ---- requests ----------------------------------------------------------- */

const char *cp_http_path(const struct cp_http_req *rq)
{
    return rq->path;
}

const char *cp_http_method(const struct cp_http_req *rq)
{
    return rq->method;
}

const char *cp_http_arg(const struct cp_http_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->c, MHD_GET_ARGUMENT_KIND, name);
}

const char *cp_http_header(const struct cp_http_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, name);
}

static void url_escape(struct cp_dynbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
            cp_dynbuf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            cp_dynbuf_add(b, e, 3);
        }
    }
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value)
{
    struct cp_dynbuf *b = cls;
    if (b->len)
        cp_dynbuf_addstr(b, "&");
    url_escape(b, key);
    if (value) {
        cp_dynbuf_addstr(b, "=");
        url_escape(b, value);
    }
    return MHD_YES;
}

const char *cp_http_query(const struct cp_http_req *rq)
{
    struct cp_http_req *w = (struct cp_http_req *)rq;
    if (!w->query) {
        struct cp_dynbuf b;
        cp_dynbuf_init(&b, 1 << 20);
        MHD_get_connection_values(w->c, MHD_GET_ARGUMENT_KIND, add_arg, &b);
        size_t len;
        w->query = cp_dynbuf_take(&b, &len);
        if (!w->query)
            w->query = strdup("");
    }
    return w->query ? w->query : "";
}

void cp_http_add_header(struct cp_http_req *rq, const char *name,
                        const char *value)
{
    if (rq->n_hdr >= MAX_EXTRA_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    rq->hdr_name[rq->n_hdr] = n;
    rq->hdr_value[rq->n_hdr++] = v;
}

static bool accepts_gzip(const struct cp_http_req *rq)
{
    const char *ae = cp_http_header(rq, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    return ae && strstr(ae, "gzip");
}

static int queue(struct cp_http_req *rq, int status, struct MHD_Response *resp,
                 const char *type, bool gzipped, size_t body_len)
{
    if (!resp)
        return -1;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (gzipped)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    bool has_cache = false;
    for (size_t i = 0; i < rq->n_hdr; i++) {
        MHD_add_response_header(resp, rq->hdr_name[i], rq->hdr_value[i]);
        if (!strcasecmp(rq->hdr_name[i], MHD_HTTP_HEADER_CACHE_CONTROL))
            has_cache = true;
    }
    if (!has_cache)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
    int r =
        MHD_queue_response(rq->c, (unsigned)status, resp) == MHD_YES ? 0 : -1;
    MHD_destroy_response(resp);
    rq->replied = true;
    atomic_fetch_add(&rq->d->bytes_sent, body_len);
    return r;
}

static bool compressible(const char *type)
{
    return type && (!strncmp(type, "text/", 5) || strstr(type, "json") ||
                    strstr(type, "javascript") || strstr(type, "svg"));
}

int cp_http_reply_take(struct cp_http_req *rq, int status, const char *type,
                       char *data, size_t len)
{
    if (len >= GZIP_MIN && compressible(type) && accepts_gzip(rq)) {
        struct cp_dynbuf gz;
        cp_dynbuf_init(&gz, len + 4096);
        /* level 1: JSON of a large profile compresses ~10x even so, and
         * level 6 costs several times the CPU for a few percent (a 300 kB
         * flame graph: 10 ms at level 1, 40 ms at 6 on a busy core) */
        if (cp_gzip(data, len, len > (64 << 10) ? 1 : 6, &gz) == 0) {
            free(data);
            size_t glen;
            char *g = cp_dynbuf_take(&gz, &glen);
            struct MHD_Response *resp =
                MHD_create_response_from_buffer(glen, g, MHD_RESPMEM_MUST_FREE);
            if (!resp)
                free(g);
            return queue(rq, status, resp, type, true, glen);
        }
        cp_dynbuf_free(&gz);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(data);
    return queue(rq, status, resp, type, false, len);
}

int cp_http_reply(struct cp_http_req *rq, int status, const char *type,
                  const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, data, len);
    return cp_http_reply_take(rq, status, type, copy, len);
}

int cp_http_error(struct cp_http_req *rq, int status, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    return cp_http_reply(rq, status, "text/plain; charset=utf-8", buf,
                         (size_t)n);
}

int cp_http_redirect(struct cp_http_req *rq, int code, const char *location)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    return queue(rq, code, resp, NULL, false, 0);
}

int cp_http_reply_asset(struct cp_http_req *rq, const char *name)
{
    const struct cp_asset *a = cp_asset_find(name);
    if (!a)
        return cp_http_error(rq, 404, "%s: no such file", rq->path);
    /* Assets change only with the binary: revalidate by ETag. */
    cp_http_add_header(rq, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    cp_http_add_header(rq, MHD_HTTP_HEADER_ETAG, a->etag);
    const char *inm = cp_http_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strstr(inm, a->etag)) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        return queue(rq, 304, resp, NULL, false, 0);
    }
    if (a->len >= GZIP_MIN && compressible(a->type) && accepts_gzip(rq)) {
        const struct cp_dynbuf *g = asset_gzip(a);
        if (g) {
            struct MHD_Response *resp = MHD_create_response_from_buffer(
                g->len, g->data, MHD_RESPMEM_PERSISTENT);
            return queue(rq, 200, resp, a->type, true, g->len);
        }
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    return queue(rq, 200, resp, a->type, false, a->len);
}

int cp_http_serve_asset(struct cp_http_req *rq, void *ctx)
{
    const char *name = rq->path + strlen(rq->route->path);
    if (strstr(name, ".."))
        return cp_http_error(rq, 404, "%s: no such file", rq->path);
    return cp_http_reply_asset(rq, name);
}

/* ---- the daemon --------------------------------------------------------- */

static const struct cp_http_route *find_route(const struct cp_httpd *d,
                                              const char *path)
{
    for (size_t i = 0; i < d->n_routes; i++) {
        const struct cp_http_route *r = &d->routes[i];
        if (r->flags & CP_HTTP_PREFIX) {
            if (!strncmp(path, r->path, strlen(r->path)))
                return r;
        } else if (!strcmp(path, r->path)) {
            return r;
        }
    }
    return NULL;
}

static void free_req(struct cp_http_req *rq)
{
    if (!rq)
        return;
    for (size_t i = 0; i < rq->n_hdr; i++) {
        free(rq->hdr_name[i]);
        free(rq->hdr_value[i]);
    }
    free(rq->query);
    free(rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct cp_httpd *d = cls;
    if (!*con_cls) {
        /* First call: headers only. Come back for the body, if any. */
        *con_cls = d;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* No handler reads a body; small ones are discarded. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct cp_http_req *rq = calloc(1, sizeof(*rq));
    if (!rq)
        return MHD_NO;
    rq->d = d;
    rq->c = c;
    rq->path = url;
    rq->method = method;
    int r;
    const struct cp_http_route *rt = find_route(d, url);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    if (!rt) {
        r = cp_http_error(rq, 404, "%s: no such page", url);
    } else if (!((get && (rt->flags & CP_HTTP_GET)) ||
                 (post && (rt->flags & CP_HTTP_POST)))) {
        cp_http_add_header(rq, MHD_HTTP_HEADER_ALLOW,
                           (rt->flags & CP_HTTP_POST) ? "POST" : "GET, HEAD");
        r = cp_http_error(rq, 405, "method %s not allowed on %s", method, url);
    } else {
        rq->route = rt;
        r = rt->fn(rq, d->ctx);
        if (r == 0 && !rq->replied)
            r = cp_http_error(rq, 500, "%s: no reply", url);
    }
    free_req(rq);
    return r == 0 ? MHD_YES : MHD_NO;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen)
{
    const struct cp_httpd *d = cls;
    /* go tool pprof: "Only allow local clients" when bound to localhost */
    if (d->local_only && !is_loopback(addr))
        return MHD_NO;
    return MHD_YES;
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd reports client misbehaviour (resets, bad requests) it
     * already answered; nothing for the user to act on. */
}

/* Split "[HOST]:PORT" the way Go's net.SplitHostPort does. */
static int split_addr(const char *addr, char *host, size_t hn, char *port,
                      size_t pn, char *err, size_t errlen)
{
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen,
                     "could not split http address: address %s: missing "
                     "port in address",
                     addr);
            return -EINVAL;
        }
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) {
            snprintf(err, errlen,
                     "could not split http address: address %s: missing "
                     "port in address",
                     addr);
            return -EINVAL;
        }
        if (memchr(addr, ':', (size_t)(colon - addr))) {
            snprintf(err, errlen,
                     "could not split http address: address %s: too many "
                     "colons in address",
                     addr);
            return -EINVAL;
        }
        hl = (size_t)(colon - addr);
    }
    if (hl >= hn || strlen(colon + 1) >= pn) {
        snprintf(err, errlen, "http address %s is too long", addr);
        return -EINVAL;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    strcpy(port, colon + 1);
    for (const char *q = port; *q; q++)
        if (*q < '0' || *q > '9') {
            snprintf(err, errlen,
                     "invalid port number: strconv.Atoi: parsing \"%s\": "
                     "invalid syntax",
                     port);
            return -EINVAL;
        }
    if (*port && atol(port) > 65535) {
        snprintf(err, errlen, "invalid port number %s", port);
        return -EINVAL;
    }
    return 0;
}

static int listen_on(const char *host, const char *port, bool *loopback,
                     int *bound_port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    const char *p = *port ? port : "0";
    int rc = getaddrinfo(*host ? host : NULL, p, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "could not resolve %s: %s", host,
                 gai_strerror(rc));
        return -EINVAL;
    }
    /* IPv4 first: "localhost" then means 127.0.0.1, which every browser
     * and curl reach, whatever the order of /etc/hosts. */
    int fd = -1, e = 0;
    for (int pass = 0; pass < 2 && fd < 0; pass++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
            if (fd < 0) {
                e = errno;
                continue;
            }
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                listen(fd, 64) == 0) {
                *loopback = is_loopback(ai->ai_addr);
                break;
            }
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "listen tcp %s:%s: %s", *host ? host : "", port,
                 strerror(e ? e : EADDRNOTAVAIL));
        return -(e ? e : EADDRNOTAVAIL);
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound_port = ntohs(ss.ss_family == AF_INET
                            ? ((struct sockaddr_in *)&ss)->sin_port
                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

int cp_httpd_start(struct cp_httpd **out, const char *addr,
                   const struct cp_http_route *routes, size_t n_routes,
                   void *ctx, char *err, size_t errlen)
{
    char host[256], port[16];
    *out = NULL;
    int r =
        split_addr(addr, host, sizeof(host), port, sizeof(port), err, errlen);
    if (r < 0)
        return r;
    /* Go: an empty host means localhost for the web UI. */
    if (!*host)
        snprintf(host, sizeof(host), "localhost");
    struct cp_httpd *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    bool loop = false;
    int fd = listen_on(host, port, &loop, &d->port, err, errlen);
    if (fd < 0) {
        free(d);
        return fd;
    }
    d->routes = routes;
    d->n_routes = n_routes;
    d->ctx = ctx;
    d->local_only = loop;
    bool v6 = strchr(host, ':') != NULL;
    snprintf(d->url, sizeof(d->url), "http://%s%s%s:%d", v6 ? "[" : "", host,
             v6 ? "]" : "", d->port);
    d->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_POLL | MHD_USE_ERROR_LOG,
        0, on_accept, d, on_request, d, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, d, MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, errlen, "could not start the web server on %s", addr);
        close(fd);
        free(d);
        return -EIO;
    }
    *out = d;
    return 0;
}

const char *cp_httpd_url(const struct cp_httpd *d)
{
    return d->url;
}

int cp_httpd_port(const struct cp_httpd *d)
{
    return d->port;
}

uint64_t cp_httpd_bytes_sent(const struct cp_httpd *d)
{
    return atomic_load(&((struct cp_httpd *)d)->bytes_sent);
}

void cp_httpd_stop(struct cp_httpd *d)
{
    if (!d)
        return;
    MHD_socket fd = MHD_quiesce_daemon(d->mhd);
    MHD_stop_daemon(d->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    free(d);
}

static sigset_t stop_signals(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    return s;
}

void cp_httpd_block_signals(void)
{
    sigset_t s = stop_signals();
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    /* a browser closing a connection mid-reply must not kill us */
    signal(SIGPIPE, SIG_IGN);
}

int cp_httpd_wait_signal(void)
{
    sigset_t s = stop_signals();
    int sig = 0;
    while (sigwait(&s, &sig) != 0)
        ;
    return sig;
}

bool cp_httpd_open_browser(const char *url)
{
    const char *cands[4];
    size_t n = 0;
    const char *b = getenv("BROWSER");
    if (b && *b)
        cands[n++] = b;
    const char *disp = getenv("DISPLAY"), *way = getenv("WAYLAND_DISPLAY");
    if ((disp && *disp) || (way && *way)) {
        cands[n++] = "xdg-open";
        cands[n++] = "x-www-browser";
    }
    for (size_t i = 0; i < n; i++) {
        /* the browser must neither hold our terminal nor become a zombie:
         * double fork, output to /dev/null */
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return false;
        pid_t pid = fork();
        if (pid < 0) {
            close(pfd[0]);
            close(pfd[1]);
            return false;
        }
        if (pid == 0) {
            sigset_t s = stop_signals();
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);
            setsid();
            pid_t gc = fork();
            if (gc == 0) {
                int nul = open("/dev/null", O_RDWR);
                if (nul >= 0) {
                    dup2(nul, 0);
                    dup2(nul, 1);
                    dup2(nul, 2);
                }
                execlp(cands[i], cands[i], url, (char *)NULL);
                char fail = 1;
                (void)!write(pfd[1], &fail, 1);
                _exit(127);
            }
            _exit(gc < 0 ? 1 : 0);
        }
        close(pfd[1]);
        int st = 0;
        waitpid(pid, &st, 0);
        char fail = 0;
        /* EOF (0 bytes) means exec succeeded and closed the pipe */
        ssize_t got = read(pfd[0], &fail, 1);
        close(pfd[0]);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == 0)
            return true;
    }
    return false;
}
