/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_trace.c - `cprof trace`'s pieces on a trace built byte by byte
 * (trace_build.h): the Chrome JSON (parsed with jansson: nesting,
 * microsecond timestamps to the nanosecond, tasks, logs, counters,
 * blocks with stack frames), the Perfetto export (a well-formed packet
 * stream with the thread's track), the pprof view of waiting, the tables,
 * and the viewer's model (lanes, windows with level of detail, span
 * details).
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace_build.h"
#include "trace_cli.h"

static struct cp_dynbuf raw;
static struct cp_trace *tr;

static int setup(void **state)
{
    cp_dynbuf_init(&raw, 1 << 20);
    tb_sample_trace(&raw);
    return cp_trace_open(raw.data, raw.len, &tr, NULL, 0);
}

static int teardown(void **state)
{
    cp_trace_close(tr);
    cp_dynbuf_free(&raw);
    return 0;
}

static json_t *find(json_t *events, const char *ph, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "ph")), ph) &&
            !strcmp(json_string_value(json_object_get(e, "name")), name))
            return e;
    }
    return NULL;
}

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void test_json(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_error_t err;

    assert_int_equal(cp_trace_write_json(tr, f), 0);
    fclose(f);
    json_t *doc = json_loadb(buf, len, 0, &err);
    if (!doc)
        fail_msg("JSON: %s at %d", err.text, err.position);
    json_t *ev = json_object_get(doc, "traceEvents");
    assert_true(json_is_array(ev));
    json_t *outer = find(ev, "X", "outer"), *inner = find(ev, "X", "inner");
    assert_non_null(outer);
    assert_non_null(inner);
    /* exact to the nanosecond, in microseconds */
    assert_true(num(outer, "ts") == 0.002);
    assert_true(num(outer, "dur") == 1.156);
    assert_true(num(inner, "ts") == 0.102);
    assert_true(num(inner, "dur") == 1.055);
    assert_int_equal(num(outer, "tid"), 100);
    assert_int_equal(num(outer, "pid"), 100);
    assert_int_equal(num(json_object_get(outer, "args"), "task"), 7);
    json_t *tn = find(ev, "M", "thread_name");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(tn, "args"),
                                          "name")),
        "main");
    /* the task, the log, the counter, the block with its stack */
    assert_non_null(find(ev, "b", "cat"));
    assert_non_null(find(ev, "e", "cat"));
    json_t *log = find(ev, "i", "cat");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(log, "args"), "message")),
                        "hi");
    json_t *c = find(ev, "C", "cat");
    assert_int_equal(num(json_object_get(c, "args"), "value"), -5);
    size_t i;
    json_t *e, *block = NULL;
    json_array_foreach(ev, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "cat")), "block"))
            block = e;
    }
    assert_non_null(block);
    assert_true(num(block, "dur") == 0.020);
    assert_true(num(block, "ts") == 0.137);
    const char *sf = json_string_value(json_object_get(block, "sf"));
    json_t *frames = json_object_get(doc, "stackFrames");
    json_t *leaf = json_object_get(frames, sf);
    assert_non_null(leaf);
    assert_string_equal(json_string_value(json_object_get(leaf, "name")),
                        "0x1000");
    json_t *parent = json_object_get(
        frames, json_string_value(json_object_get(leaf, "parent")));
    assert_string_equal(json_string_value(json_object_get(parent, "name")),
                        "0x2000");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "otherData"),
                                          "cmdline")),
        "./prog a b");
    json_decref(doc);
    free(buf);
}

/* Walk a protobuf message: count fields, return false on bad wire data. */
static bool pb_walk(const uint8_t *p, const uint8_t *end, int *n_packets,
                    bool *thread_main, int depth)
{
    while (p < end) {
        uint64_t key, v;
        if (cp_get_uvarint(&p, end, &key) < 0)
            return false;
        int wt = (int)(key & 7), field = (int)(key >> 3);
        if (wt == 0) {
            if (cp_get_uvarint(&p, end, &v) < 0)
                return false;
        } else if (wt == 2) {
            if (cp_get_uvarint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                return false;
            if (depth == 0 && field == 1)
                (*n_packets)++;
            if (v == 4 && !memcmp(p, "main", 4))
                *thread_main = true;
            /* strings are not messages: only descend into packets and
             * descriptors we know */
            if ((depth == 0 && field == 1) ||
                (depth == 1 && (field == 60 || field == 11)) ||
                (depth == 2 && field == 4))
                if (!pb_walk(p, p + v, n_packets, thread_main, depth + 1))
                    return false;
            p += v;
        } else if (wt == 1) {
            if (end - p < 8)
                return false;
            p += 8;
        } else {
            return false;
        }
    }
    return true;
}

static void test_perfetto(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int packets = 0;
    bool main_track = false;

    assert_int_equal(cp_trace_write_perfetto(tr, f), 0);
    fclose(f);
    assert_true(pb_walk((uint8_t *)buf, (uint8_t *)buf + len, &packets,
                        &main_track, 0));
    /* descriptors (process, thread, state, task lane, counter) and the
     * events: 2 regions x 2, the task x 2, a log, a block x 2, a sample, a
     * counter, the thread start */
    assert_true(packets >= 15);
    assert_true(main_track);
    free(buf);
}

static void test_pprof(void **state)
{
    struct cp_profile p;
    char warn[128];

    assert_int_equal(cp_trace_pprof(tr, "nope", &p, warn, sizeof warn),
                     -EINVAL);
    assert_int_equal(cp_trace_pprof(tr, "sync", &p, warn, sizeof warn), 0);
    assert_int_equal(p.n_samples, 1);
    assert_int_equal(p.samples[0].values[0], 1);
    assert_int_equal(p.samples[0].values[1], 20);
    assert_int_equal(p.samples[0].n_locations, 2);
    assert_string_equal(cp_profile_string(&p, p.sample_types[1].type),
                        "delay");
    cp_profile_free(&p);
    assert_int_equal(cp_trace_pprof(tr, "syscall", &p, warn, sizeof warn),
                     0);
    assert_int_equal(p.n_samples, 0);
    cp_profile_free(&p);
    assert_int_equal(cp_trace_pprof(tr, "sched", &p, warn, sizeof warn), 0);
    assert_non_null(strstr(warn, "no context-switch records"));
    cp_profile_free(&p);
}

static void test_stats(void **state)
{
    struct cp_tstats s;
    struct cp_dynbuf j;

    assert_int_equal(cp_tstats_compute(tr, &s), 0);
    assert_int_equal(s.n_regions, 2);
    /* sorted by total: outer first */
    assert_string_equal(s.regions[0].name, "outer");
    assert_int_equal(s.regions[0].d.count, 1);
    assert_int_equal(s.regions[0].d.median, 1156);
    assert_string_equal(s.regions[1].name, "inner");
    assert_int_equal(s.regions[1].d.max, 1055);
    assert_int_equal(s.n_tasks, 1);
    assert_int_equal(s.tasks[0].d.total, 1157);
    assert_int_equal(s.tasks[0].slowest[0].task, 7);
    assert_int_equal(s.n_threads, 1);
    assert_string_equal(s.threads[0].name, "main");
    assert_int_equal(s.threads[0].blocked_sync, 20);
    assert_false(s.threads[0].precise);
    assert_int_equal(s.threads[0].events, 9);
    cp_dynbuf_init(&j, 1 << 20);
    assert_int_equal(cp_tstats_json(tr, &s, &j), 0);
    json_t *doc = json_loads(j.data, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(doc, "regions"), 0), "median_ns")),
        1156);
    json_decref(doc);
    cp_dynbuf_free(&j);
    cp_tstats_free(&s);
}

/* Distributions: exact, then histogram past CP_TSTAT_EXACT (0.4%). */
static void test_model(void **state)
{
    struct cp_tmodel m;
    struct cp_dynbuf j;

    assert_int_equal(cp_tmodel_build(tr, &m), 0);
    /* a thread, a task lane, a counter */
    assert_int_equal(m.n_lanes, 3);
    assert_int_equal(m.lanes[0].tid, 100);
    assert_int_equal(m.lanes[1].kind, 1);
    assert_int_equal(m.lanes[2].kind, 2);
    assert_int_equal(m.n_counters, 1);
    /* full detail: every span */
    cp_dynbuf_init(&j, 1 << 20);
    assert_int_equal(cp_tmodel_window_json(&m, 0, 2000, 1, &j), 0);
    json_t *doc = json_loads(j.data, 0, NULL);
    assert_non_null(doc);
    size_t n_full = json_array_size(json_object_get(doc, "spans"));
    /* 2 regions, a log, a block, a sample on the thread; the task */
    assert_int_equal(n_full, 6);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "names"),
                                          "1")),
        "outer");
    json_decref(doc);
    /* coarse: nothing here to merge (one span per depth and kind) */
    cp_dynbuf_reset(&j);
    assert_int_equal(cp_tmodel_window_json(&m, 0, 2000, 5000, &j), 0);
    doc = json_loads(j.data, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "spans")), n_full);
    json_decref(doc);
    /* a window past everything: no spans */
    cp_dynbuf_reset(&j);
    assert_int_equal(cp_tmodel_window_json(&m, 5000, 6000, 1, &j), 0);
    doc = json_loads(j.data, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "spans")), 0);
    json_decref(doc);
    /* details of the block: its stack */
    for (size_t i = 0; i < m.n_spans; i++) {
        if (m.spans[i].kind != CP_TSPAN_BLOCK)
            continue;
        cp_dynbuf_reset(&j);
        assert_int_equal(cp_tmodel_span_json(&m, i, &j), 0);
        assert_non_null(strstr(j.data, "\"block\":\"mutex\""));
        assert_non_null(strstr(j.data, "0x2000"));
    }
    assert_int_equal(cp_tmodel_span_json(&m, m.n_spans, &j), -EINVAL);
    cp_dynbuf_free(&j);
    cp_tmodel_free(&m);
}

/* 1000 regions of 5 ns, 5 ns apart, inside one of 10 us: a coarse window
 * merges the small ones into one box that counts them, a fine one shows
 * each, and a window in the middle finds the long one that began before
 * it. */
static void test_level_of_detail(void **state)
{
    struct cp_dynbuf b, p, j;
    struct cp_trace *t;
    struct cp_tmodel m;

    cp_dynbuf_init(&b, 1 << 20);
    cp_dynbuf_init(&p, 1 << 20);
    cp_dynbuf_init(&j, 1 << 20);
    tb_header(&b);
    tb_uv(&p, 1000), tb_uv(&p, 1000000000), tb_uv(&p, 1); /* 1 unit/ns */
    tb_chunk(&b, CP_TRC_SYNC, &p);
    tb_uv(&p, 1), tb_uv(&p, 1), tb_str(&p, "r");
    tb_chunk(&b, CP_TRC_STRINGS, &p);
    tb_uv(&p, 9), tb_uv(&p, CP_TRB_NEW_BUFFER);
    tb_u8(&p, CP_TRE_REGION_BEGIN), tb_uv(&p, 1000), tb_uv(&p, 1);
    for (int i = 0; i < 1000; i++) {
        tb_u8(&p, CP_TRE_REGION_BEGIN), tb_uv(&p, 5), tb_uv(&p, 1);
        tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 5);
    }
    tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 10);
    tb_chunk(&b, CP_TRC_BATCH, &p);
    assert_int_equal(cp_trace_open(b.data, b.len, &t, NULL, 0), 0);
    assert_int_equal(cp_tmodel_build(t, &m), 0);
    assert_int_equal(m.n_spans, 1001);
    assert_int_equal(cp_tmodel_window_json(&m, 0, 20000, 100, &j), 0);
    json_t *doc = json_loads(j.data, 0, NULL), *sp;
    sp = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(sp), 2); /* the long one, a merge */
    json_t *merged = json_array_get(sp, 1);
    assert_int_equal(json_integer_value(json_array_get(merged, 3)),
                     CP_TSPAN_MERGED);
    assert_int_equal(json_integer_value(json_array_get(merged, 7)), 1000);
    json_decref(doc);
    cp_dynbuf_reset(&j);
    assert_int_equal(cp_tmodel_window_json(&m, 0, 20000, 1, &j), 0);
    doc = json_loads(j.data, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "spans")), 1001);
    json_decref(doc);
    cp_dynbuf_reset(&j);
    assert_int_equal(cp_tmodel_window_json(&m, 5000, 5020, 1, &j), 0);
    doc = json_loads(j.data, 0, NULL);
    sp = json_object_get(doc, "spans");
    assert_true(json_array_size(sp) >= 2 && json_array_size(sp) <= 4);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(sp, 0),
                                                       2)),
                     10010);
    json_decref(doc);
    cp_tmodel_free(&m);
    cp_trace_close(t);
    cp_dynbuf_free(&b);
    cp_dynbuf_free(&p);
    cp_dynbuf_free(&j);
}

static void test_json_strings(void **state)
{
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1 << 10);
    cp_json_str(&b, "a\"b\\c\n\x01\xc3\xa9\xff", 10);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\"");
    cp_dynbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),         cmocka_unit_test(test_perfetto),
        cmocka_unit_test(test_pprof),        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_model),        cmocka_unit_test(test_level_of_detail),
        cmocka_unit_test(test_json_strings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
