/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_trace_http.c - the trace viewer's server (cli/trace_http.c)
 * over loopback, on a trace built byte by byte (trace_build.h): the page
 * and its icon, /api/meta (lanes with their rows, counter ranges, the
 * trace's metadata), /api/window (the boxes, the resolution used, px),
 * /api/span (details, the threads of a task), /api/find (an instance from
 * the tables), /api/stats, the downloads, and a 4xx with one sentence for
 * every malformed request.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace_build.h"
#include "trace_cli.h"
#include "trace_http.h"

static struct cp_dynbuf raw;
static struct cp_trace *tr;
static struct cp_tview *tv;
static int port;

static int setup(void **state)
{
    char err[256];
    cp_dynbuf_init(&raw, 1 << 20);
    tb_sample_trace(&raw);
    if (cp_trace_open(raw.data, raw.len, &tr, NULL, 0) < 0)
        return -1;
    if (cp_tview_start(tr, "sample.trace", "127.0.0.1:0", &tv, err,
                       sizeof err) < 0)
        return -1;
    const char *u = strrchr(cp_tview_url(tv), ':');
    port = atoi(u + 1);
    return 0;
}

static int teardown(void **state)
{
    cp_tview_stop(tv);
    cp_trace_close(tr);
    cp_dynbuf_free(&raw);
    return 0;
}

/* GET path over HTTP/1.0: the status, the body in *body (static). */
static int get(const char *path, const char **body, char *hdrs, size_t hcap)
{
    static char buf[1 << 20];
    char req[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t len = 0;
    ssize_t got;
    while (len < sizeof buf - 1 &&
           (got = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    buf[len] = 0;
    close(fd);
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    *end = 0;
    if (hdrs) {
        size_t hl = strlen(buf) < hcap ? strlen(buf) : hcap - 1;
        memcpy(hdrs, buf, hl);
        hdrs[hl] = 0;
    }
    *body = end + 4;
    return atoi(strchr(buf, ' ') + 1);
}

static json_t *get_json(const char *path)
{
    const char *body;
    assert_int_equal(get(path, &body, NULL, 0), 200);
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    if (!j)
        fail_msg("%s: %s: %s", path, e.text, body);
    return j;
}

static void test_page_and_assets(void **state)
{
    const char *body;
    char h[2048];
    assert_int_equal(get("/", &body, h, sizeof h), 200);
    assert_non_null(strstr(h, "text/html"));
    assert_non_null(strstr(body, "/static/trace.js"));
    assert_non_null(strstr(body, "/static/trace.svg"));
    assert_int_equal(get("/static/trace.js", &body, h, sizeof h), 200);
    assert_non_null(strstr(body, "__cprofTrace"));
    assert_int_equal(get("/favicon.ico", &body, h, sizeof h), 200);
    assert_non_null(strstr(h, "image/svg+xml"));
    assert_int_equal(get("/static/trace.css", &body, NULL, 0), 200);
    assert_int_equal(get("/static/nope.js", &body, NULL, 0), 404);
}

static void test_meta(void **state)
{
    json_t *m = get_json("/api/meta");
    assert_string_equal(json_string_value(json_object_get(m, "title")),
                        "sample.trace");
    assert_true(json_integer_value(json_object_get(m, "duration")) > 0);
    json_t *lanes = json_object_get(m, "lanes");
    /* thread 100, the task lane, the counter */
    assert_int_equal(json_array_size(lanes), 3);
    json_t *th = json_array_get(lanes, 0);
    assert_int_equal(json_integer_value(json_object_get(th, "tid")), 100);
    assert_string_equal(json_string_value(json_object_get(th, "name")),
                        "main 100");
    /* outer, inner and the block inside inner: 3 rows */
    assert_int_equal(json_integer_value(json_object_get(th, "rows")), 3);
    assert_true(json_is_true(json_object_get(th, "samples")));
    json_t *task = json_array_get(lanes, 1);
    assert_int_equal(json_integer_value(json_object_get(task, "kind")), 1);
    json_t *c = json_array_get(lanes, 2);
    assert_int_equal(json_integer_value(json_object_get(c, "kind")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "min")), -5);
    assert_int_equal(json_integer_value(json_object_get(c, "max")), -5);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(m, "info"), "cmdline")),
                        "./prog a b");
    json_decref(m);
}

static json_t *span_of(json_t *spans, int kind)
{
    for (size_t i = 0; i < json_array_size(spans); i++) {
        json_t *s = json_array_get(spans, i);
        if (json_integer_value(json_array_get(s, 3)) == kind)
            return s;
    }
    return NULL;
}

static void test_window_span_find(void **state)
{
    json_t *w = get_json("/api/window?from=0&px=1000");
    json_t *spans = json_object_get(w, "spans");
    int64_t dur = json_integer_value(json_object_get(w, "duration"));
    /* the whole trace at 1000 px: res = its length / 1000 */
    assert_int_equal(json_integer_value(json_object_get(w, "res")),
                     (dur + 1) / 1000 > 1 ? (dur + 1) / 1000 : 1);
    json_decref(w);
    w = get_json("/api/window?from=0&to=100000&res=1");
    spans = json_object_get(w, "spans");
    assert_int_equal(json_integer_value(json_object_get(w, "res")), 1);
    json_t *outer = NULL, *inner = NULL;
    for (size_t i = 0; i < json_array_size(spans); i++) {
        json_t *s = json_array_get(spans, i);
        if (json_integer_value(json_array_get(s, 3)) != CP_TSPAN_REGION)
            continue;
        if (json_integer_value(json_array_get(s, 4)) == 0)
            outer = s;
        else
            inner = s;
    }
    assert_non_null(outer);
    assert_non_null(inner);
    /* nested: inner inside outer, one level down, 10th field its kind */
    int64_t os = json_integer_value(json_array_get(outer, 1)),
            od = json_integer_value(json_array_get(outer, 2)),
            is = json_integer_value(json_array_get(inner, 1)),
            id = json_integer_value(json_array_get(inner, 2));
    assert_true(os <= is && is + id <= os + od);
    assert_int_equal(json_integer_value(json_array_get(inner, 9)),
                     CP_TSPAN_REGION);
    json_t *names = json_object_get(w, "names");
    char key[32];
    snprintf(key, sizeof key, "%lld",
             (long long)json_integer_value(json_array_get(inner, 5)));
    assert_string_equal(json_string_value(json_object_get(names, key)),
                        "inner");

    /* a box's details by its index */
    char path[256];
    snprintf(path, sizeof path, "/api/span?i=%lld",
             (long long)json_integer_value(json_array_get(inner, 8)));
    json_t *d = get_json(path);
    assert_string_equal(json_string_value(json_object_get(d, "name")), "inner");
    assert_int_equal(json_integer_value(json_object_get(d, "dur")), id);
    assert_string_equal(json_string_value(json_object_get(d, "lane_name")),
                        "main 100");
    assert_int_equal(json_integer_value(json_object_get(d, "task")), 7);
    json_decref(d);
    json_t *blk = span_of(spans, CP_TSPAN_BLOCK);
    assert_non_null(blk);
    snprintf(path, sizeof path, "/api/span?i=%lld",
             (long long)json_integer_value(json_array_get(blk, 8)));
    d = get_json(path);
    assert_string_equal(json_string_value(json_object_get(d, "block")),
                        "mutex");
    assert_int_equal(json_array_size(json_object_get(d, "stack")), 2);
    json_decref(d);
    /* a task: the threads its regions ran on */
    json_t *task = span_of(spans, CP_TSPAN_TASK);
    assert_non_null(task);
    snprintf(path, sizeof path, "/api/span?i=%lld",
             (long long)json_integer_value(json_array_get(task, 8)));
    d = get_json(path);
    json_t *ths = json_object_get(d, "threads");
    assert_int_equal(json_array_size(ths), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(ths, 0), "regions")),
        2);
    json_decref(d);

    /* find: a region by thread, start and duration; a task by id */
    snprintf(path, sizeof path,
             "/api/find?kind=region&tid=100&start=%lld&dur=%lld", (long long)is,
             (long long)id);
    d = get_json(path);
    assert_int_equal(json_integer_value(json_object_get(d, "index")),
                     json_integer_value(json_array_get(inner, 8)));
    assert_int_equal(json_integer_value(json_object_get(d, "depth")), 1);
    json_decref(d);
    d = get_json("/api/find?kind=task&task=7");
    assert_int_equal(json_integer_value(json_object_get(d, "index")),
                     json_integer_value(json_array_get(task, 8)));
    json_decref(d);
    json_decref(w);
}

static void test_stats_and_downloads(void **state)
{
    json_t *s = get_json("/api/stats");
    json_t *regions = json_object_get(s, "regions");
    assert_int_equal(json_array_size(regions), 2);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(regions, 0), "count")),
                     1);
    json_decref(s);
    const char *body;
    char h[2048];
    assert_int_equal(get("/download/sync.pb.gz", &body, h, sizeof h), 200);
    assert_non_null(strstr(h, "attachment; filename=\"sync.pb.gz\""));
    assert_int_equal((unsigned char)body[0], 0x1f); /* gzip */
    assert_int_equal(get("/download/trace.json", &body, h, sizeof h), 200);
    assert_non_null(strstr(body, "traceEvents"));
    assert_int_equal(get("/download/trace.perfetto-trace", &body, h, sizeof h),
                     200);
    assert_int_equal(get("/download/x.pb.gz", &body, NULL, 0), 404);
}

/* Every malformed request: a 4xx and one sentence, the server goes on. */
static void test_bad_requests(void **state)
{
    static const struct {
        const char *path;
        int status;
        const char *says;
    } bad[] = {
        {"/api/window?from=x", 400, "from=x: want an integer"},
        {"/api/window?from=10&to=5", 400, "empty window"},
        {"/api/window?from=1&to=99999999999999999999", 400, "want an integer"},
        {"/api/window?res=1e3", 400, "want an integer"},
        {"/api/span?i=abc", 400, "want an integer"},
        {"/api/span?i=-1", 404, "no span -1"},
        {"/api/span?i=999999", 404, "no span 999999"},
        {"/api/span", 404, "no span"},
        {"/api/find?kind=region&tid=100&start=1", 404, "no such region"},
        {"/api/find?kind=task&task=99", 404, "no such task"},
        {"/api/find?kind=thread", 400, "want region or task"},
        {"/api/find", 400, "want region or task"},
        {"/api/nothing", 404, ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *body;
        char h[2048];
        int st = get(bad[i].path, &body, h, sizeof h);
        if (st != bad[i].status || !strstr(body, bad[i].says))
            fail_msg("%s: %d %s", bad[i].path, st, body);
        assert_non_null(strstr(h, "text/plain"));
        assert_non_null(strstr(h, "nosniff"));
    }
    /* huge windows are answered coarser, not refused */
    json_t *w = get_json("/api/window?from=-9000000000000000000&to="
                         "9000000000000000000&res=1");
    assert_true(json_integer_value(json_object_get(w, "res")) > 1000000);
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_and_assets),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_window_span_find),
        cmocka_unit_test(test_stats_and_downloads),
        cmocka_unit_test(test_bad_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
