/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the live endpoint's server (http.h): libmicrohttpd in
 * thread-per-connection mode on threads of cprof's own, the public
 * cprof_http_start/stop, CPROF_HTTP, and the safety rules of SPEC §5:
 * loopback unless a token is set, connection and size limits, timeouts.
 *
 * The threads are cprof's own: they are created while the calling thread
 * is marked internal (cp_tls.internal), so the pthread_create interposer
 * gives libmicrohttpd's listener and every connection thread the internal
 * mark too. They are never registered, sampled nor listed in the threads
 * profile, and they block every signal (so the host's SIGPIPE or SIGINT
 * handlers never run on them).
 *
 * Lock order: http_lock is taken alone (never while holding another
 * cprof lock); request handlers never take it, so cprof_http_stop can
 * wait for them.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "cp_limits.h"
#include "cp_lock.h"
#include "cprof.h"
#include "init.h"
#include "sigsafe.h"
#include "snapshot.h"
#include "symcache.h"
#include "thread_reg.h"

#define CP_API __attribute__((visibility("default")))

static pthread_mutex_t http_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by http_lock; read by handlers while the daemon runs (they
 * cannot outlive it: MHD_stop_daemon joins them) */
static struct MHD_Daemon *daemon_;
static struct cp_http_config config;
static char *config_token;
static char serving[300];
static int stop_fd = -1; /* eventfd: wakes handlers waiting out seconds=N */
static int max_seconds = CP_HTTP_DEFAULT_MAX_SECONDS;
static bool atexit_done;

/* Open connections' sockets, so a forked child can close its copies (a
 * client would otherwise wait for a child that never answers). */
static _Atomic int conn_fds[CP_HTTP_MAX_CONNECTIONS + 8];

/* ---- addresses ---- */

static bool sa_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        /* ::ffff:127.x.y.z */
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return false;
}

int cp_http_parse_addr(const char *addr, struct cp_http_addr *out, char *err,
                       size_t errlen)
{
    const char *colon, *host_s = addr, *host_e;
    struct addrinfo hints, *res = NULL, *ai;
    char port_s[8];
    long port;
    char *end;
    int r;

    memset(out, 0, sizeof *out);
    if (!addr || !*addr) {
        snprintf(err, errlen, "empty address (want HOST:PORT, e.g. "
                              "localhost:6060)");
        return -EINVAL;
    }
    if (addr[0] == '[') {
        host_s = addr + 1;
        host_e = strchr(addr, ']');
        if (!host_e || (host_e[1] != ':' && host_e[1] != '\0')) {
            snprintf(err, errlen, "%s: a bracketed IPv6 address must be "
                                  "followed by :PORT", addr);
            return -EINVAL;
        }
        colon = host_e[1] ? host_e + 1 : NULL;
    } else {
        colon = strrchr(addr, ':');
        if (colon && memchr(addr, ':', (size_t)(colon - addr))) {
            snprintf(err, errlen, "%s: write an IPv6 address in brackets, "
                                  "as [::1]:6060", addr);
            return -EINVAL;
        }
        if (!colon) { /* "6060" alone */
            colon = addr - 1;
            host_s = addr;
            host_e = addr;
        } else {
            host_e = colon;
        }
    }
    if (!colon) {
        snprintf(err, errlen, "%s: no port (want HOST:PORT)", addr);
        return -EINVAL;
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535) {
        snprintf(err, errlen, "%s: the port must be a number from 0 to "
                              "65535", addr);
        return -EINVAL;
    }
    if ((size_t)(host_e - host_s) >= sizeof out->host) {
        snprintf(err, errlen, "host name too long");
        return -EINVAL;
    }
    memcpy(out->host, host_s, (size_t)(host_e - host_s));
    out->host[host_e - host_s] = '\0';
    out->port = (int)port;
    snprintf(port_s, sizeof port_s, "%ld", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    /* ":6060": loopback, not every interface as Go would (SPEC §5) */
    r = getaddrinfo(out->host[0] ? out->host : "127.0.0.1", port_s, &hints,
                    &res);
    if (r != 0 || !res) {
        snprintf(err, errlen, "%s: cannot resolve \"%s\": %s", addr,
                 out->host, gai_strerror(r));
        return -EINVAL;
    }
    out->loopback = true;
    for (ai = res; ai; ai = ai->ai_next)
        out->loopback &= sa_loopback(ai->ai_addr);
    /* the first IPv4 address if any (what "localhost" users mean), else
     * the first */
    for (ai = res; ai && ai->ai_family != AF_INET; ai = ai->ai_next)
        ;
    if (!ai)
        ai = res;
    if (ai->ai_addrlen > sizeof out->sa) {
        freeaddrinfo(res);
        snprintf(err, errlen, "%s: unsupported address family", addr);
        return -EINVAL;
    }
    out->family = ai->ai_family;
    memcpy(out->sa, ai->ai_addr, ai->ai_addrlen);
    out->sa_len = (unsigned)ai->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---- connections ---- */

static void track_fd(int fd, bool on)
{
    for (size_t i = 0; i < sizeof conn_fds / sizeof conn_fds[0]; i++) {
        int want = on ? -1 : fd, got = want;
        if (atomic_compare_exchange_strong(&conn_fds[i], &got,
                                           on ? fd : -1))
            return;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        track_fd(ci->connect_fd, code == MHD_CONNECTION_NOTIFY_STARTED);
}

/* Per request: the POST body. */
struct req_state {
    struct cp_dynbuf body;
    bool too_big;
    int fd;
};

struct args_ctx {
    struct cp_http_arg args[CP_HTTP_MAX_ARGS];
    int n;
    bool too_many;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    struct args_ctx *a = cls;
    if (a->n == CP_HTTP_MAX_ARGS) {
        a->too_many = true;
        return MHD_NO;
    }
    a->args[a->n].key = key;
    a->args[a->n].value = value;
    a->n++;
    return MHD_YES;
}

/* Wait out a seconds=N window; false when the client hung up or the
 * server is stopping. */
static bool wait_ms(void *ctx, int64_t ms)
{
    struct req_state *rs = ctx;
    int64_t deadline = cp_now_ns() + ms * 1000000;

    for (;;) {
        struct pollfd p[2] = {{stop_fd, POLLIN, 0},
                              {rs->fd, POLLRDHUP, 0}};
        int64_t left = (deadline - cp_now_ns()) / 1000000;
        int n;
        if (left <= 0)
            return true;
        n = poll(p, rs->fd >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR)
            return true;
        if (n > 0 && (p[0].revents & POLLIN))
            return false;
        if (n > 0 && rs->fd >= 0 &&
            (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
            return false;
    }
}

static enum MHD_Result queue(struct MHD_Connection *c,
                             struct cp_http_resp *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = 0;
    char *data = cp_dynbuf_take(&r->body, &len);

    if (data)
        resp = MHD_create_response_from_buffer(len, data,
                                               MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->go_pprof_error)
        MHD_add_response_header(resp, "X-Go-Pprof", "1");
    if (r->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    if (r->www_authenticate)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Bearer realm=\"cprof\", Basic "
                                "realm=\"cprof\"");
    if (r->status == 301)
        MHD_add_response_header(resp, "Location", "/debug/pprof/");
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct req_state *rs = *con_cls;
    struct args_ctx a;
    struct cp_http_req req;
    struct cp_http_resp resp;
    enum MHD_Result ret;
    const union MHD_ConnectionInfo *ci;

    if (!rs) {
        rs = calloc(1, sizeof *rs);
        if (!rs)
            return MHD_NO;
        cp_dynbuf_init(&rs->body, CP_HTTP_MAX_BODY);
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        rs->fd = ci ? ci->connect_fd : -1;
        *con_cls = rs;
        return MHD_YES;
    }
    if (*upload_size) {
        /* past the cap the rest is read and dropped, then 413 */
        if (!rs->too_big &&
            cp_dynbuf_add(&rs->body, upload_data, *upload_size) < 0)
            rs->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    memset(&a, 0, sizeof a);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.args = a.args;
    req.n_args = a.n;
    req.authorization =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    req.body = rs->body.data;
    req.body_len = rs->body.len;
    req.body_too_big = rs->too_big;
    req.wait_ms = wait_ms;
    req.wait_ctx = rs;
    if (a.too_many) {
        memset(&resp, 0, sizeof resp);
        cp_dynbuf_init(&resp.body, 256);
        resp.status = 400;
        resp.content_type = "text/plain; charset=utf-8";
        resp.go_pprof_error = true;
        cp_dynbuf_printf(&resp.body, "too many query parameters (at most "
                                     "%d)\n", CP_HTTP_MAX_ARGS);
    } else {
        cp_http_handle(&config, &req, &resp);
    }
    ret = queue(c, &resp);
    cp_http_resp_free(&resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *rs = *con_cls;
    if (rs) {
        cp_dynbuf_free(&rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd's complaints about clients stay out of the host's
     * stderr */
}

/* ---- start and stop ---- */

static int start_locked(const char *addr, const char *origin, bool quiet_busy)
{
    struct cp_http_addr a;
    char err[400];
    const char *token = cp_getenv("CPROF_HTTP_TOKEN");
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *di;
    uint32_t was_internal;
    int r, asked_port;

    if (daemon_)
        return cp_api_err(-EBUSY, "%s: the endpoint is already serving on "
                          "%s", origin, serving);
    r = cp_http_parse_addr(addr, &a, err, sizeof err);
    if (r < 0)
        return cp_api_err(r, "%s: %s", origin, err);
    if (token && !*token)
        token = NULL;
    if (!a.loopback && !token)
        return cp_api_err(-EACCES, "%s: %s is not a loopback address: set "
                          "CPROF_HTTP_TOKEN to serve profiles beyond this "
                          "machine (requests must then carry it as a "
                          "bearer token or basic-auth password)",
                          origin, addr);
    if (a.family == AF_INET6)
        flags |= MHD_USE_IPv6;
    free(config_token);
    config_token = token ? strdup(token) : NULL;
    if (token && !config_token)
        return cp_api_err(-ENOMEM, NULL);
    config.token = config_token;
    config.max_seconds = max_seconds;
    if (stop_fd < 0)
        stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (size_t i = 0; i < sizeof conn_fds / sizeof conn_fds[0]; i++)
        atomic_store(&conn_fds[i], -1);

    /* Everything libmicrohttpd creates from here is cprof's own. */
    was_internal = cp_tls.internal;
    cp_tls.internal = 1;
    errno = 0;
    daemon_ = MHD_start_daemon(
        flags, (uint16_t)a.port, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)a.sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CP_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CP_HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CP_HTTP_MAX_HEADER_BYTES,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)CP_HTTP_THREAD_STACK,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    r = errno;
    cp_tls.internal = was_internal;
    if (!daemon_) {
        if (r == EADDRINUSE && quiet_busy)
            return -EADDRINUSE;
        return cp_api_err(-(r ? r : EADDRNOTAVAIL), "%s: cannot listen on "
                          "%s: %s", origin, addr,
                          r ? strerror(r) : "libmicrohttpd refused to start");
    }
    asked_port = a.port;
    di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (di)
        a.port = di->port;
    if (a.family == AF_INET6)
        snprintf(serving, sizeof serving, "[%s]:%d",
                 a.host[0] ? a.host : "::1", a.port);
    else
        snprintf(serving, sizeof serving, "%s:%d",
                 a.host[0] ? a.host : "127.0.0.1", a.port);
    if (asked_port == 0) /* a free port was picked: say which */
        fprintf(stderr, "cprof: serving /debug/pprof/ on http://%s/\n",
                serving);
    cp_api_ok();
    return 0;
}

static void stop_locked(void)
{
    uint64_t one = 1;
    if (!daemon_)
        return;
    /* wake handlers waiting out a window, then join every thread */
    if (stop_fd >= 0 && write(stop_fd, &one, sizeof one) < 0) {
        /* a full counter still wakes them */
    }
    MHD_stop_daemon(daemon_);
    daemon_ = NULL;
    if (stop_fd >= 0) {
        uint64_t v;
        if (read(stop_fd, &v, sizeof v) < 0) {
            /* nothing pending */
        }
    }
    serving[0] = '\0';
}

static void stop_at_exit(void)
{
    cp_mutex_lock(&http_lock);
    stop_locked();
    cp_mutex_unlock(&http_lock);
}

static void atfork_child(void)
{
    const union MHD_DaemonInfo *di;

    pthread_mutex_init(&http_lock, NULL);
    if (!daemon_)
        return;
    /* The child has none of the server's threads: forget the daemon (it
     * cannot be stopped here) and close the sockets it inherited, so the
     * port and the open connections belong to the parent alone. */
    di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_LISTEN_FD);
    if (di)
        close(di->listen_fd);
    for (size_t i = 0; i < sizeof conn_fds / sizeof conn_fds[0]; i++) {
        int fd = atomic_exchange(&conn_fds[i], -1);
        if (fd >= 0)
            close(fd);
    }
    daemon_ = NULL;
    serving[0] = '\0';
}

static void once_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    pthread_atfork(NULL, NULL, atfork_child);
    pthread_atfork(NULL, NULL, cp_snapshot_atfork_child);
    pthread_atfork(NULL, NULL, cp_symcache_atfork_child);
}

CP_API int cprof_http_start(const char *addr)
{
    int r;
    cp_mutex_lock(&http_lock);
    once_init();
    r = start_locked(addr, "cprof_http_start", false);
    if (r == 0 && !atexit_done) {
        atexit(stop_at_exit);
        atexit_done = true;
    }
    cp_mutex_unlock(&http_lock);
    return r < 0 ? -1 : 0;
}

CP_API int cprof_http_stop(void)
{
    int r = 0;
    cp_mutex_lock(&http_lock);
    if (!daemon_)
        r = cp_api_err(-EINVAL, "cprof_http_stop: the endpoint is not "
                       "running");
    else
        stop_locked();
    if (r == 0)
        cp_api_ok();
    cp_mutex_unlock(&http_lock);
    return r;
}

void cp_http_init_from_env(void)
{
    const char *addr = cp_getenv("CPROF_HTTP");
    const char *owner = cp_getenv("CPROF_OWNER_PID");
    int64_t v;
    int r;

    if (!addr)
        return;
    if (!*addr) {
        cp_env_bad("CPROF_HTTP", "", "empty address", "the live endpoint");
        return;
    }
    switch (cp_env_int("CPROF_HTTP_MAX_SECONDS", 1, 86400, &v,
                       "the live endpoint")) {
    case -1: return;
    case 1: max_seconds = (int)v; break;
    default: break;
    }
    cp_mutex_lock(&http_lock);
    once_init();
    /* A process that inherited the variable (a child of the one that
     * serves) finds the port taken: that is expected, and quiet. */
    r = start_locked(addr, "CPROF_HTTP",
                     owner && atol(owner) != (long)getpid());
    if (r == 0 && !atexit_done) {
        atexit(stop_at_exit);
        atexit_done = true;
    }
    cp_mutex_unlock(&http_lock);
    if (r < 0 && r != -EADDRINUSE)
        fprintf(stderr, "cprof: %s; the live endpoint stays off\n",
                cprof_strerror());
}
