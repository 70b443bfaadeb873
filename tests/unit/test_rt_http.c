/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_http.c - the live endpoint's request handler without a socket
 * (http.h: routing, Go's sentences and codes, auth, query and address
 * parsing, symbol protocol) and thread snapshots (snapshot.h: blocked
 * threads read from /proc, running ones from the snapshot signal).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "snapshot.h"

static struct cp_http_config cfg = {NULL, 300};

/* Run one request: method, path with query, optional body/auth. */
static void run(const char *method, const char *url, const char *auth,
                const char *body, struct cp_http_resp *resp)
{
    struct cp_http_arg args[CP_HTTP_MAX_ARGS];
    struct cp_dynbuf store;
    struct cp_http_req req;
    const char *q = strchr(url, '?');
    char path[256];
    int n = 0;

    cp_dynbuf_init(&store, 1 << 20);
    snprintf(path, sizeof path, "%.*s", q ? (int)(q - url) : (int)strlen(url),
             url);
    if (q)
        n = cp_http_parse_query(q + 1, strlen(q + 1), args, CP_HTTP_MAX_ARGS,
                                &store);
    assert_true(n >= 0);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.args = args;
    req.n_args = n;
    req.authorization = auth;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    cp_http_handle(&cfg, &req, resp);
    cp_dynbuf_free(&store);
}

static const char *text(struct cp_http_resp *r)
{
    return r->body.data ? r->body.data : "";
}

static void test_query(void **state)
{
    struct cp_http_arg a[8];
    struct cp_dynbuf st;
    const char *q = "seconds=5&debug=1&x=a%20b+c&flag&0x1+0x2&bad=%zz";
    int n;

    cp_dynbuf_init(&st, 4096);
    n = cp_http_parse_query(q, strlen(q), a, 8, &st);
    assert_int_equal(n, 6);
    assert_string_equal(a[0].key, "seconds");
    assert_string_equal(a[0].value, "5");
    assert_string_equal(a[2].value, "a b c");
    assert_string_equal(a[3].key, "flag");
    assert_null(a[3].value);
    assert_string_equal(a[4].key, "0x1 0x2");
    assert_string_equal(a[5].value, "%zz");
    cp_dynbuf_reset(&st);
    assert_int_equal(cp_http_parse_query("a&b&c", 5, a, 2, &st), -E2BIG);
    cp_dynbuf_free(&st);
}

static void test_auth(void **state)
{
    assert_true(cp_http_auth_ok(NULL, NULL));
    assert_false(cp_http_auth_ok(NULL, "tok"));
    assert_true(cp_http_auth_ok("Bearer tok", "tok"));
    assert_true(cp_http_auth_ok("bearer   tok ", "tok"));
    assert_false(cp_http_auth_ok("Bearer tok2", "tok"));
    assert_false(cp_http_auth_ok("Bearer to", "tok"));
    /* "user:tok", "pprof:tok", ":tok" */
    assert_true(cp_http_auth_ok("Basic dXNlcjp0b2s=", "tok"));
    assert_true(cp_http_auth_ok("Basic cHByb2Y6dG9r", "tok"));
    assert_true(cp_http_auth_ok("Basic OnRvaw==", "tok"));
    assert_false(cp_http_auth_ok("Basic dXNlcjp0b2t4", "tok"));
    assert_false(cp_http_auth_ok("Basic !!!", "tok"));
    assert_false(cp_http_auth_ok("Digest x", "tok"));
}

static void test_addr(void **state)
{
    struct cp_http_addr a;
    char err[256];

    assert_int_equal(cp_http_parse_addr("localhost:6060", &a, err, sizeof err),
                     0);
    assert_true(a.loopback);
    assert_int_equal(a.port, 6060);
    assert_int_equal(cp_http_parse_addr(":0", &a, err, sizeof err), 0);
    assert_true(a.loopback); /* loopback unless told otherwise */
    assert_int_equal(cp_http_parse_addr("6060", &a, err, sizeof err), 0);
    assert_true(a.loopback);
    assert_int_equal(cp_http_parse_addr("[::1]:7", &a, err, sizeof err), 0);
    assert_true(a.loopback);
    assert_int_equal(cp_http_parse_addr("0.0.0.0:1", &a, err, sizeof err), 0);
    assert_false(a.loopback);
    assert_int_equal(cp_http_parse_addr("[::]:1", &a, err, sizeof err), 0);
    assert_false(a.loopback);
    assert_int_equal(cp_http_parse_addr("1.2.3.4:70000", &a, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(cp_http_parse_addr("::1:80", &a, err, sizeof err),
                     -EINVAL);
    assert_int_equal(cp_http_parse_addr("", &a, err, sizeof err), -EINVAL);
    assert_int_equal(cp_http_parse_addr("[::1", &a, err, sizeof err),
                     -EINVAL);
}

static void test_routes(void **state)
{
    struct cp_http_resp r;

    run("GET", "/debug/pprof/", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(text(&r), "<a href='goroutine?debug=1'>"));
    assert_non_null(strstr(text(&r), "<a href='threads?debug=1'>"));
    assert_non_null(strstr(text(&r), "full goroutine stack dump"));
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/nosuch", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_true(r.go_pprof_error);
    assert_string_equal(text(&r), "Unknown profile\n");
    cp_http_resp_free(&r);

    run("GET", "/elsewhere", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    cp_http_resp_free(&r);

    run("DELETE", "/debug/pprof/", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/goroutine?seconds=x", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(text(&r), "invalid value for \"seconds\" - must be "
                                  "a positive integer\n");
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/goroutine?seconds=1&debug=1", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(text(&r), "seconds and debug params are "
                                  "incompatible\n");
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/profile?seconds=301", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(text(&r), "CPROF_HTTP_MAX_SECONDS"));
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/cmdline", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(text(&r), "test_rt_http"));
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/mutex?debug=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/goroutine?debug=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(text(&r), "goroutine profile: total ", 25);
    cp_http_resp_free(&r);

    run("GET", "/debug/pprof/threadcreate", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.disposition,
                        "attachment; filename=\"threadcreate\"");
    assert_int_equal((unsigned char)r.body.data[0], 0x1f);
    cp_http_resp_free(&r);

    /* a window without waiting (wait_ms NULL): a whole CPU profile */
    run("GET", "/debug/pprof/profile?seconds=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.disposition, "attachment; filename=\"profile\"");
    cp_http_resp_free(&r);
}

static void test_token(void **state)
{
    struct cp_http_resp r;

    cfg.token = "s3cret";
    run("GET", "/debug/pprof/", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_true(r.www_authenticate);
    cp_http_resp_free(&r);
    run("GET", "/debug/pprof/", "Bearer s3cret", NULL, &r);
    assert_int_equal(r.status, 200);
    cp_http_resp_free(&r);
    cfg.token = NULL;
}

__attribute__((noinline)) static void symbol_target(void)
{
    __asm__ volatile("");
}

static void test_symbol(void **state)
{
    struct cp_http_resp r;
    char body[128], want[128];

    run("GET", "/debug/pprof/symbol", NULL, NULL, &r);
    assert_string_equal(text(&r), "num_symbols: 1\n");
    cp_http_resp_free(&r);

    snprintf(body, sizeof body, "%p+0+junk+%p", (void *)symbol_target,
             (void *)symbol_target);
    snprintf(want, sizeof want, "%#llx symbol_target\n",
             (unsigned long long)(uintptr_t)symbol_target);
    run("POST", "/debug/pprof/symbol", NULL, body, &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(text(&r), "num_symbols: 1\n", 15);
    assert_string_equal(text(&r) + 15, (strcat(strcpy(body, want), want)));
    cp_http_resp_free(&r);
}

/* ---- snapshots ---- */

static atomic_int stop_threads;

__attribute__((noinline)) static void *blocked_in_poll(void *a)
{
    while (!atomic_load(&stop_threads))
        poll(NULL, 0, 50);
    return NULL;
}

__attribute__((noinline)) static void *spinning(void *a)
{
    volatile unsigned long x = 0;
    while (!atomic_load(&stop_threads))
        x++;
    return (void *)x;
}

static const struct cp_snap_thread *find(const struct cp_snapshot *s,
                                         const char *name)
{
    for (int i = 0; i < s->n; i++) {
        if (!strcmp(s->threads[i].name, name))
            return &s->threads[i];
    }
    return NULL;
}

/* Whether one of t's frames is inside fn (within 1 KiB: under ASan the
 * spinning loop ends 270 bytes in). */
static bool has_frame(const struct cp_snap_thread *t, void *fn)
{
    for (int i = 0; i < t->n; i++) {
        if (t->pcs[i] >= (uintptr_t)fn && t->pcs[i] < (uintptr_t)fn + 1024)
            return true;
    }
    return false;
}

static void test_snapshot(void **state)
{
    pthread_t a, b;
    struct cp_snapshot s;
    const struct cp_snap_thread *ta, *tb;
    char buf[64];
    int signalled = 0;

    atomic_store(&stop_threads, 0);
    pthread_create(&a, NULL, blocked_in_poll, NULL);
    pthread_setname_np(a, "snap-poll");
    pthread_create(&b, NULL, spinning, NULL);
    pthread_setname_np(b, "snap-spin");
    usleep(100000);
    for (int round = 0; round < 5; round++) {
        assert_int_equal(cp_snapshot_take(CP_SNAP_STACKS, &s), 0);
        ta = find(&s, "snap-poll");
        tb = find(&s, "snap-spin");

        assert_non_null(ta);
        assert_non_null(tb);
        /* blocked: from /proc, in poll, with its caller */
        if (ta->how == CP_SNAP_SYSCALL) {
            /* "running in poll" too: on a loaded machine the timed-out
             * poll waits runnable for a CPU, still inside the call */
            const char *st = cp_snap_state(ta, buf, sizeof buf);
            assert_true(strcmp(st, "sleeping in poll") == 0 ||
                        strcmp(st, "running in poll") == 0);
            assert_true(has_frame(ta, (void *)blocked_in_poll));
        }
        /* running: interrupted in user mode, unwound in place (on a
         * loaded machine it may not get the CPU before the answer's
         * deadline: then it has no stack, and the round does not count) */
        if (tb->how == CP_SNAP_SIGNAL) {
            signalled++;
            assert_true(has_frame(tb, (void *)spinning));
            assert_string_equal(cp_snap_state(tb, buf, sizeof buf),
                                "running");
        }
        cp_snapshot_free(&s);
    }
    assert_true(signalled >= 3);
    assert_true(cp_snapshot_count() >= 3);
    atomic_store(&stop_threads, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),   cmocka_unit_test(test_auth),
        cmocka_unit_test(test_addr),    cmocka_unit_test(test_routes),
        cmocka_unit_test(test_token),   cmocka_unit_test(test_symbol),
        cmocka_unit_test(test_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
