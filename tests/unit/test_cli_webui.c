/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_webui.c - unit tests of the web UI's C side: the flame tree
 * (cli/flame.c: values, order, grouping, diff, cut frames, paths, JSON),
 * the JSON string escaper, the call graph's DOT, the embedded assets, and
 * the HTTP server (cli/httpd.c: routes, methods, errors, redirects, ETags,
 * gzip) over a real loopback socket. The browser tests (tests/browser)
 * cover what the page makes of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "callgraph.h"
#include "filter.h"
#include "flame.h"
#include "httpd.h"
#include "merge.h"
#include "profile.h"

/* ---- a small profile: main > a > b (6), main > a (1), main > c (3) ---- */

static uint64_t fn(struct cp_profile *p, const char *name)
{
    for (size_t i = 0; i < p->n_functions; i++)
        if (!strcmp(cp_profile_string(p, p->functions[i].name), name))
            return p->functions[i].id;
    struct cp_function *f = cp_profile_add_function(p);
    f->name = cp_profile_str(p, name);
    f->filename = cp_profile_str(p, "/src/t.c");
    f->start_line = 1;
    return f->id;
}

static uint64_t loc(struct cp_profile *p, const char *name)
{
    uint64_t fid = fn(p, name);
    for (size_t i = 0; i < p->n_locations; i++)
        if (p->locations[i].lines[0].function_id == fid)
            return p->locations[i].id;
    struct cp_location *l = cp_profile_add_location(p, 1);
    l->lines[0].function_id = fid;
    l->lines[0].line = 3;
    l->mapping_id = 1;
    return l->id;
}

/* stack: names root first, separated by spaces */
static void add(struct cp_profile *p, const char *stack, int64_t v,
                const char *lkey, const char *lval)
{
    char buf[256];
    const char *names[16];
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", stack);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        names[n++] = t;
    uint64_t ids[16];
    for (size_t i = 0; i < n; i++)
        ids[i] = loc(p, names[i]);
    struct cp_sample *s = cp_profile_add_sample(p, n, lkey ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        s->location_ids[i] = ids[n - 1 - i]; /* leaf first */
    s->values[0] = v;
    if (lkey) {
        s->labels[0].key = cp_profile_str(p, lkey);
        s->labels[0].str = cp_profile_str(p, lval);
    }
}

static void make(struct cp_profile *p)
{
    assert_int_equal(cp_profile_init(p), 0);
    cp_profile_add_sample_type(p, "cpu", "nanoseconds");
    struct cp_mapping *m = cp_profile_add_mapping(p);
    m->filename = cp_profile_str(p, "/usr/lib/libt.so.1");
    add(p, "main a b", 6, "thread_name", "w1");
    add(p, "main a", 1, "thread_name", "w1");
    add(p, "main c", 3, "thread_name", "w2");
}

static const struct cp_flame_node *
child_named(const struct cp_flame *f, uint32_t parent, const char *name)
{
    for (uint32_t c = parent + 1; c < f->nodes[parent].end; c = f->nodes[c].end)
        if (!strcmp(f->funcs[f->nodes[c].func].name, name))
            return &f->nodes[c];
    return NULL;
}

static void test_flame_tree(void **state)
{
    struct cp_profile p;
    make(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_flame f;
    struct cp_flame_opts o = {.sample_index = 0};
    assert_int_equal(cp_flame_build(&f, &p, &o), 0);
    assert_int_equal(f.nodes[0].total, 10);
    assert_false(f.diff);
    const struct cp_flame_node *m = child_named(&f, 0, "main");
    assert_non_null(m);
    assert_int_equal(m->total, 10);
    assert_int_equal(m->self, 0);
    uint32_t mi = (uint32_t)(m - f.nodes);
    const struct cp_flame_node *a = child_named(&f, mi, "a");
    const struct cp_flame_node *c = child_named(&f, mi, "c");
    assert_int_equal(a->total, 7);
    assert_int_equal(a->self, 1);
    assert_int_equal(c->total, 3);
    assert_int_equal(c->self, 3);
    const struct cp_flame_node *b =
        child_named(&f, (uint32_t)(a - f.nodes), "b");
    assert_int_equal(b->total, 6);
    assert_int_equal(b->depth, 3);
    /* the library of a frame: the mapping's base name */
    assert_string_equal(f.funcs[b->func].lib, "libt.so.1");
    /* paths */
    const char *path[] = {"main", "a", "b"};
    assert_int_equal(cp_flame_find(&f, path, 3), (long)(b - f.nodes));
    const char *bad[] = {"main", "b"};
    assert_int_equal(cp_flame_find(&f, bad, 2), -1);
    assert_int_equal(cp_flame_find(&f, path, 0), 0);
    /* preorder: every subtree is [node, end) */
    assert_int_equal(f.nodes[0].end, f.n_nodes);
    for (size_t i = 1; i < f.n_nodes; i++) {
        uint32_t par = f.nodes[i].parent;
        assert_true(par < i);
        assert_true(f.nodes[i].end <= f.nodes[par].end);
        assert_true(f.nodes[i].end > i);
    }
    assert_int_equal(c->end, c - f.nodes + 1);
    cp_flame_free(&f);
    cp_profile_free(&p);
}

static void test_flame_group(void **state)
{
    struct cp_profile p;
    make(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_flame f;
    struct cp_flame_opts o = {.sample_index = 0, .group = "thread_name"};
    assert_int_equal(cp_flame_build(&f, &p, &o), 0);
    const struct cp_flame_node *w1 = child_named(&f, 0, "thread_name=w1");
    const struct cp_flame_node *w2 = child_named(&f, 0, "thread_name=w2");
    assert_non_null(w1);
    assert_non_null(w2);
    assert_true(f.funcs[w1->func].label);
    assert_int_equal(w1->total, 7);
    assert_int_equal(w2->total, 3);
    const struct cp_flame_node *m2 =
        child_named(&f, (uint32_t)(w2 - f.nodes), "main");
    assert_int_equal(m2->total, 3);
    assert_null(child_named(&f, (uint32_t)(m2 - f.nodes), "a"));
    cp_flame_free(&f);
    cp_profile_free(&p);
}

/* thousands of threads: one tower each, values intact */
static void test_flame_many_groups(void **state)
{
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    cp_profile_add_sample_type(&p, "cpu", "nanoseconds");
    cp_profile_add_mapping(&p);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        add(&p, "main work", 1 + i % 3, "thread_name", name);
        add(&p, "main", 1, "thread_name", name);
    }
    add(&p, "main idle", 7, NULL, NULL); /* no label: a tower of its own */
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_flame f;
    struct cp_flame_opts o = {.sample_index = 0, .group = "thread_name"};
    assert_int_equal(cp_flame_build(&f, &p, &o), 0);
    size_t towers = 0;
    for (uint32_t c = 1; c < f.nodes[0].end; c = f.nodes[c].end)
        towers++;
    assert_int_equal(towers, 5001);
    const struct cp_flame_node *t7 = child_named(&f, 0, "thread_name=t7");
    assert_non_null(t7);
    assert_int_equal(t7->total, 1 + 7 % 3 + 1);
    const struct cp_flame_node *none = child_named(&f, 0, "thread_name=");
    assert_non_null(none);
    assert_int_equal(none->total, 7);
    cp_flame_free(&f);
    cp_profile_free(&p);
}

/* a -diff_base merge: base samples negated and labelled pprof::base */
static void test_flame_diff(void **state)
{
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    cp_profile_add_sample_type(&p, "cpu", "nanoseconds");
    cp_profile_add_mapping(&p);
    add(&p, "main grow", 40, NULL, NULL);
    add(&p, "main shrink", 10, NULL, NULL);
    add(&p, "main grow", -10, CP_FLAME_BASE_LABEL, "true");
    add(&p, "main shrink", -30, CP_FLAME_BASE_LABEL, "true");
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_flame f;
    struct cp_flame_opts o = {.sample_index = 0};
    assert_int_equal(cp_flame_build(&f, &p, &o), 0);
    assert_true(f.diff);
    const struct cp_flame_node *m = child_named(&f, 0, "main");
    const struct cp_flame_node *g =
        child_named(&f, (uint32_t)(m - f.nodes), "grow");
    const struct cp_flame_node *s =
        child_named(&f, (uint32_t)(m - f.nodes), "shrink");
    assert_int_equal(g->total, 40);
    assert_int_equal(g->btotal, 10);
    assert_int_equal(s->total, 10);
    assert_int_equal(s->btotal, 30);
    assert_int_equal(m->total, 50);
    assert_int_equal(m->btotal, 40);
    /* JSON: 6 numbers per node */
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, 1 << 20);
    assert_int_equal(cp_flame_json(&f, 0, 0, &out), 0);
    json_error_t je;
    json_t *j = json_loads(out.data, 0, &je);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "diff")));
    assert_int_equal(json_integer_value(json_object_get(j, "stride")), 6);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 4 * 6);
    json_decref(j);
    cp_dynbuf_free(&out);
    cp_flame_free(&f);
    cp_profile_free(&p);
}

static void test_flame_json(void **state)
{
    struct cp_profile p;
    make(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_flame f;
    struct cp_flame_opts o = {.sample_index = 0};
    assert_int_equal(cp_flame_build(&f, &p, &o), 0);
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, 1 << 20);
    assert_int_equal(cp_flame_json(&f, 0, 0, &out), 0);
    json_error_t je;
    json_t *j = json_loads(out.data, 0, &je);
    assert_non_null(j);
    json_t *S = json_object_get(j, "strings"), *F = json_object_get(j, "funcs"),
           *N = json_object_get(j, "nodes");
    assert_int_equal(json_integer_value(json_object_get(j, "stride")), 4);
    /* preorder, heavier child first: root main a b c */
    static const char *const want[] = {"root", "main", "a", "b", "c"};
    static const int depth[] = {0, 1, 2, 3, 2};
    static const int total[] = {10, 10, 7, 6, 3};
    assert_int_equal(json_array_size(N), 5 * 4);
    for (size_t i = 0; i < 5; i++) {
        json_int_t code = json_integer_value(json_array_get(N, i * 4));
        const char *name = "root";
        if (code >= 0) {
            json_int_t si =
                json_integer_value(json_array_get(F, (code >> 1) * 5));
            name = json_string_value(json_array_get(S, si));
        }
        assert_string_equal(name, want[i]);
        assert_int_equal(json_integer_value(json_array_get(N, i * 4 + 1)),
                         depth[i]);
        assert_int_equal(json_integer_value(json_array_get(N, i * 4 + 2)),
                         total[i]);
    }
    json_decref(j);

    /* frames below minfrac of the subtree's root are cut, and say so */
    cp_dynbuf_reset(&out);
    assert_int_equal(cp_flame_json(&f, 0, 0.5, &out), 0);
    j = json_loads(out.data, 0, &je);
    N = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(N), 4 * 4); /* c (3 < 5) left out */
    assert_int_equal(json_integer_value(json_object_get(j, "cut")), 1);
    /* main (node 1) had a child cut: its code is odd */
    assert_int_equal(json_integer_value(json_array_get(N, 4)) & 1, 1);
    json_decref(j);

    /* a subtree: its path from the root, depths from it */
    const char *path[] = {"main", "a"};
    long a = cp_flame_find(&f, path, 2);
    cp_dynbuf_reset(&out);
    assert_int_equal(cp_flame_json(&f, (uint32_t)a, 0, &out), 0);
    j = json_loads(out.data, 0, &je);
    json_t *pa = json_object_get(j, "path");
    assert_int_equal(json_array_size(pa), 2);
    assert_string_equal(json_string_value(json_array_get(pa, 1)), "a");
    N = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(N), 2 * 4);
    assert_int_equal(json_integer_value(json_array_get(N, 1)), 0);
    assert_int_equal(json_integer_value(json_array_get(N, 5)), 1);
    json_decref(j);
    assert_int_equal(cp_flame_json(&f, (uint32_t)f.n_nodes, 0, &out), -EINVAL);
    cp_dynbuf_free(&out);
    cp_flame_free(&f);
    cp_profile_free(&p);
}

static void test_json_escape(void **state)
{
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1 << 16);
    assert_int_equal(cp_json_escape(&b, "a\"b\\c\n\x01 é \xff\xc3 ok"), 0);
    assert_string_equal(
        b.data, "\"a\\\"b\\\\c\\u000a\\u0001 é \xef\xbf\xbd\xef\xbf\xbd ok\"");
    json_error_t je;
    json_t *j = json_loads(b.data, JSON_DECODE_ANY, &je);
    assert_non_null(j); /* valid JSON whatever the input */
    json_decref(j);
    cp_dynbuf_reset(&b);
    /* overlong encoding and a surrogate are not UTF-8 */
    assert_int_equal(cp_json_escape(&b, "\xc0\xaf\xed\xa0\x80"), 0);
    j = json_loads(b.data, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    json_decref(j);
    cp_dynbuf_free(&b);
}

static void test_callgraph_dot(void **state)
{
    struct cp_profile p;
    make(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_graph g;
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    assert_int_equal(cp_graph_new(&g, &p, &go), 0);
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, 1 << 20);
    const char *legend[] = {"File: \"t\"", "Type: cpu"};
    assert_int_equal(cp_callgraph_dot(&g, 10, "nanoseconds", legend, 2, &out),
                     0);
    assert_non_null(strstr(out.data, "digraph \"cprof\" {"));
    assert_non_null(strstr(out.data, "File: \\\"t\\\"\\l")); /* escaped */
    assert_non_null(strstr(out.data, "label=\"b\\n6ns (60.00%)\""));
    assert_non_null(strstr(out.data, "of 7ns (70.00%)"));
    assert_non_null(strstr(out.data, " -> "));
    cp_graph_free(&g);
    /* dot itself, when installed */
    struct cp_dynbuf svg;
    cp_dynbuf_init(&svg, 64 << 20);
    char err[256];
    int r = cp_callgraph_svg(out.data, out.len, 30, &svg, err, sizeof(err));
    if (r != -ENOENT) {
        assert_int_equal(r, 0);
        assert_non_null(strstr(svg.data, "<svg"));
    }
    cp_dynbuf_reset(&svg);
    r = cp_callgraph_svg("digraph {", 9, 30, &svg, err, sizeof(err));
    if (r != -ENOENT) {
        assert_int_equal(r, -EIO);
        assert_non_null(strstr(err, "dot failed"));
    }
    cp_dynbuf_free(&svg);
    cp_dynbuf_free(&out);
    cp_profile_free(&p);
}

static void test_assets(void **state)
{
    const struct cp_asset *a = cp_asset_find("index.html");
    assert_non_null(a);
    assert_string_equal(a->type, "text/html; charset=utf-8");
    assert_non_null(strstr((const char *)a->data, "<canvas id=\"flame\">"));
    assert_int_equal(a->etag[0], '"');
    static const char *const need[] = {"common.js",  "common.css", "flame.js",
                                       "top.js",     "source.js",  "graph.js",
                                       "favicon.svg"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        assert_non_null(cp_asset_find(need[i]));
    assert_string_equal(cp_asset_find("flame.js")->type,
                        "text/javascript; charset=utf-8");
    assert_null(cp_asset_find("nope.js"));
}

/* ---- the server -------------------------------------------------------- */

static int h_hello(struct cp_http_req *rq, void *ctx)
{
    const char *who = cp_http_arg(rq, "who");
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "hello %s", who ? who : "?");
    return cp_http_reply(rq, 200, "text/plain", buf, (size_t)n);
}

static int h_big(struct cp_http_req *rq, void *ctx)
{
    char *s = malloc(100000);
    memset(s, 'x', 100000);
    return cp_http_reply_take(rq, 200, "application/json", s, 100000);
}

static int h_post(struct cp_http_req *rq, void *ctx)
{
    return cp_http_redirect(rq, 302, "/hello?who=post");
}

static const struct cp_http_route routes[] = {
    {"/hello", h_hello, CP_HTTP_GET},
    {"/big", h_big, CP_HTTP_GET},
    {"/post", h_post, CP_HTTP_POST},
    {"/static/", cp_http_serve_asset, CP_HTTP_GET | CP_HTTP_PREFIX},
};

/* One HTTP/1.0 exchange; the whole reply in buf. */
static size_t fetch(int port, const char *req, char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t n = 0;
    ssize_t got;
    while (n < cap - 1 && (got = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = 0;
    close(fd);
    return n;
}

static void test_httpd(void **state)
{
    struct cp_httpd *d;
    char err[256];
    assert_int_equal(
        cp_httpd_start(&d, "127.0.0.1:0", routes, 4, NULL, err, sizeof(err)),
        0);
    int port = cp_httpd_port(d);
    assert_true(port > 0);
    char want[64];
    snprintf(want, sizeof(want), "http://127.0.0.1:%d", port);
    assert_string_equal(cp_httpd_url(d), want);
    static char buf[1 << 18];
    fetch(port, "GET /hello?who=a%20b HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.0 200") ?: strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(buf, "\r\n\r\nhello a b"));
    fetch(port, "GET /nothing HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, " 404 "));
    assert_non_null(strstr(buf, "text/plain"));
    assert_non_null(strstr(buf, "/nothing: no such page\n"));
    fetch(port, "POST /hello HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", buf,
          sizeof(buf));
    assert_non_null(strstr(buf, " 405 "));
    assert_non_null(strstr(buf, "Allow: GET, HEAD"));
    fetch(port, "POST /post HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", buf,
          sizeof(buf));
    assert_non_null(strstr(buf, " 302 "));
    assert_non_null(strstr(buf, "Location: /hello?who=post"));
    /* gzip only when asked for */
    size_t n = fetch(port, "GET /big HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_true(n > 100000);
    assert_null(strstr(buf, "Content-Encoding"));
    n = fetch(port, "GET /big HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", buf,
              sizeof(buf));
    assert_true(n < 2000);
    assert_non_null(strstr(buf, "Content-Encoding: gzip"));
    assert_true(cp_httpd_bytes_sent(d) > 100000);
    /* assets, and revalidation by ETag */
    fetch(port, "GET /static/flame.js HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, " 200 "));
    assert_non_null(strstr(buf, "text/javascript"));
    const struct cp_asset *a = cp_asset_find("flame.js");
    assert_non_null(strstr(buf, a->etag));
    char req[256];
    snprintf(req, sizeof(req),
             "GET /static/flame.js HTTP/1.0\r\nIf-None-Match: %s\r\n\r\n",
             a->etag);
    fetch(port, req, buf, sizeof(buf));
    assert_non_null(strstr(buf, " 304 "));
    fetch(port, "GET /static/../webui.c HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, " 404 "));
    /* malformed request: a 4xx from libmicrohttpd, the server lives on */
    n = fetch(port, "BLAH\r\n\r\n", buf, sizeof(buf));
    assert_true(n == 0 || strstr(buf, " 400 "));
    fetch(port, "GET /hello HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, "hello ?"));
    cp_httpd_stop(d);
}

static void test_httpd_addr(void **state)
{
    struct cp_httpd *d;
    char err[256];
    assert_int_equal(
        cp_httpd_start(&d, "8080", routes, 1, NULL, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "could not split http address: address 8080: "
                             "missing port in address");
    assert_int_equal(
        cp_httpd_start(&d, "localhost:http", routes, 1, NULL, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "invalid port number"));
    assert_int_equal(
        cp_httpd_start(&d, "a:b:1", routes, 1, NULL, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "too many colons"));
    /* ":0" -> localhost, a free port */
    assert_int_equal(
        cp_httpd_start(&d, ":0", routes, 1, NULL, err, sizeof(err)), 0);
    assert_non_null(strstr(cp_httpd_url(d), "http://localhost:"));
    /* the same port twice: the second says why */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", cp_httpd_port(d));
    struct cp_httpd *d2;
    assert_true(cp_httpd_start(&d2, addr, routes, 1, NULL, err, sizeof(err)) <
                0);
    assert_non_null(strstr(err, "listen tcp"));
    cp_httpd_stop(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flame_tree),
        cmocka_unit_test(test_flame_group),
        cmocka_unit_test(test_flame_many_groups),
        cmocka_unit_test(test_flame_diff),
        cmocka_unit_test(test_flame_json),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_callgraph_dot),
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_httpd),
        cmocka_unit_test(test_httpd_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
