/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_trace_read.c - the trace reader (src/trace/trace_read.c) on traces
 * built byte by byte: every event type and its arguments, clock units to
 * nanoseconds through the sync points, lookups, unknown chunks and
 * skippable events stepped over, a trace cut at every byte, damaged
 * batches recovered at the next buffer start, bad headers refused with a
 * sentence.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/trace_read.h"
#include "trace_build.h"

struct rec {
    struct cp_trace_event e[64];
    int n;
};

static int collect(const struct cp_trace_event *e, void *arg)
{
    struct rec *r = arg;
    if (r->n < 64)
        r->e[r->n++] = *e;
    return 0;
}

static void test_sample_trace(void **state)
{
    struct cp_dynbuf b;
    struct cp_trace *t;
    struct rec r = {0};
    char err[128];

    cp_dynbuf_init(&b, 1 << 20);
    tb_sample_trace(&b);
    assert_int_equal(cp_trace_open(b.data, b.len, &t, err, sizeof err), 0);
    assert_true(cp_trace_complete(t));
    assert_null(cp_trace_truncated(t));
    assert_string_equal(cp_trace_info(t, "cmdline"), "./prog a b");
    assert_null(cp_trace_info(t, "nope"));
    assert_string_equal(cp_trace_str(t, 1), "outer");
    assert_string_equal(cp_trace_str(t, 999), "");
    assert_int_equal(cp_trace_end_events(t), 9);
    assert_int_equal(cp_trace_start_ns(t), 1000000000);

    assert_int_equal(cp_trace_scan(t, collect, &r), 0);
    assert_int_equal(r.n, 11);
    /* per-thread events: units (2 per ns from unit 1000 = 1 s) to ns */
    assert_int_equal(r.e[0].type, CP_TEV_THREAD_START);
    assert_int_equal(r.e[0].ts, 1000000000);
    assert_string_equal(cp_trace_str(t, r.e[0].str), "main");
    assert_int_equal(r.e[1].type, CP_TEV_TASK_BEGIN);
    assert_int_equal(r.e[1].task, 7);
    assert_int_equal(r.e[1].ts, 1000000001);
    assert_int_equal(r.e[2].type, CP_TEV_REGION_BEGIN);
    assert_string_equal(cp_trace_str(t, r.e[2].str), "outer");
    assert_int_equal(r.e[3].ts, 1000000102);
    assert_int_equal(r.e[4].type, CP_TEV_LOG);
    assert_int_equal(r.e[4].msg_len, 2);
    assert_memory_equal(r.e[4].msg, "hi", 2);
    assert_string_equal(cp_trace_str(t, r.e[4].str), "cat");
    /* the skippable type 99 was stepped over */
    assert_int_equal(r.e[5].type, CP_TEV_BLOCK);
    assert_int_equal(r.e[5].kind, CP_TRK_MUTEX);
    assert_int_equal(r.e[5].dur, 20);
    assert_int_equal(r.e[5].obj, 0x1234);
    assert_int_equal(r.e[5].ts, 1000000157);
    const uint64_t *pcs;
    assert_int_equal(cp_trace_stack(t, r.e[5].stack, &pcs), 2);
    assert_int_equal(pcs[0], 0x1000);
    assert_int_equal(pcs[1], 0x2000);
    assert_int_equal(r.e[6].type, CP_TEV_REGION_END);
    assert_int_equal(r.e[6].ts, 1000001157);
    assert_int_equal(r.e[8].type, CP_TEV_TASK_END);
    /* global events: ns, with tid */
    assert_int_equal(r.e[9].type, CP_TEV_SAMPLE);
    assert_true(r.e[9].from_global);
    assert_int_equal(r.e[9].tid, 100);
    assert_int_equal(r.e[9].ts, 1000000100);
    assert_int_equal(r.e[10].type, CP_TEV_COUNTER);
    assert_int_equal(r.e[10].value, -5);
    assert_int_equal(r.e[10].ts, 1000000150);
    /* a second scan sees the same */
    struct rec r2 = {0};
    assert_int_equal(cp_trace_scan(t, collect, &r2), 0);
    assert_int_equal(r2.n, 11);
    assert_int_equal(r2.e[6].ts, r.e[6].ts);
    cp_trace_close(t);
    cp_dynbuf_free(&b);
}

static void test_bad_headers(void **state)
{
    struct cp_trace *t;
    char err[128];
    uint8_t h[32] = {0};

    assert_int_equal(cp_trace_open("", 0, &t, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not a cprof trace"));
    assert_int_equal(cp_trace_open("hello world, this is text", 25, &t, err,
                                   sizeof err),
                     -EINVAL);
    memcpy(h, CP_TRF_MAGIC, CP_TRF_MAGIC_LEN);
    h[8] = 2;
    h[9] = 7;
    assert_int_equal(cp_trace_open(h, sizeof h, &t, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "version 2.7"));
    /* a header alone: opens, empty, says it has no end */
    h[8] = CP_TRF_MAJOR;
    assert_int_equal(cp_trace_open(h, CP_TRF_HEADER_LEN, &t, err, sizeof err),
                     0);
    assert_false(cp_trace_complete(t));
    assert_non_null(strstr(cp_trace_truncated(t), "no end record"));
    cp_trace_close(t);
}

static int count(const struct cp_trace_event *e, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

/* Cut at every byte: always opens, never reads past the cut, and the
 * number of events only grows with the length. */
static void test_every_cut(void **state)
{
    struct cp_dynbuf b;
    int last = 0;
    cp_dynbuf_init(&b, 1 << 20);
    tb_sample_trace(&b);
    for (size_t n = CP_TRF_HEADER_LEN; n <= b.len; n++) {
        struct cp_trace *t;
        char *copy = malloc(n);
        int c = 0;
        memcpy(copy, b.data, n);
        assert_int_equal(cp_trace_open(copy, n, &t, NULL, 0), 0);
        assert_int_equal(cp_trace_scan(t, count, &c), 0);
        assert_true(c >= last);
        last = c;
        if (n < b.len)
            assert_false(cp_trace_complete(t));
        cp_trace_close(t);
        free(copy);
    }
    assert_int_equal(last, 11);
    cp_dynbuf_free(&b);
}

/* A damaged batch costs its thread's events until the next buffer
 * start; other threads and later chunks read on. */
static void test_damage_recovery(void **state)
{
    struct cp_dynbuf b, p;
    struct cp_trace *t;
    struct rec r = {0};

    cp_dynbuf_init(&b, 1 << 20);
    cp_dynbuf_init(&p, 1 << 20);
    tb_header(&b);
    tb_uv(&p, 5), tb_uv(&p, CP_TRB_NEW_BUFFER);
    tb_u8(&p, CP_TRE_REGION_BEGIN), tb_uv(&p, 10), tb_uv(&p, 0);
    tb_u8(&p, 50); /* unknown, not skippable */
    tb_uv(&p, 1);
    tb_chunk(&b, CP_TRC_BATCH, &p);
    tb_uv(&p, 5), tb_uv(&p, 0); /* continues the damaged buffer: skipped */
    tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 10);
    tb_chunk(&b, CP_TRC_BATCH, &p);
    tb_u8(&p, 1); /* an unknown chunk kind: skipped */
    tb_chunk(&b, 77, &p);
    tb_uv(&p, 6), tb_uv(&p, CP_TRB_NEW_BUFFER);
    tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 10);
    tb_chunk(&b, CP_TRC_BATCH, &p);
    tb_uv(&p, 5), tb_uv(&p, CP_TRB_NEW_BUFFER); /* a new buffer: back */
    tb_u8(&p, CP_TRE_THREAD_EXIT), tb_uv(&p, 20);
    tb_chunk(&b, CP_TRC_BATCH, &p);
    /* a strings chunk with an id past the input: refused, counted */
    tb_uv(&p, 1), tb_uv(&p, 1u << 30), tb_str(&p, "x");
    tb_chunk(&b, CP_TRC_STRINGS, &p);
    assert_int_equal(cp_trace_open(b.data, b.len, &t, NULL, 0), 0);
    assert_int_equal(cp_trace_scan(t, collect, &r), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.e[0].tid, 5);
    assert_int_equal(r.e[0].type, CP_TEV_REGION_BEGIN);
    assert_int_equal(r.e[1].tid, 6);
    assert_int_equal(r.e[2].tid, 5);
    assert_int_equal(r.e[2].type, CP_TEV_THREAD_EXIT);
    assert_int_equal(cp_trace_damaged(t), 2);
    cp_trace_close(t);
    cp_dynbuf_free(&b);
    cp_dynbuf_free(&p);
}

static void test_varints(void **state)
{
    uint8_t buf[CP_VARINT_MAX], *e;
    const uint8_t *p;
    uint64_t v;
    static const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384,
                                    UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        e = cp_put_uvarint(buf, vals[i]);
        p = buf;
        assert_int_equal(cp_get_uvarint(&p, e, &v), 0);
        assert_true(v == vals[i]);
        assert_ptr_equal(p, e);
        p = buf;
        if (e - buf > 1)
            assert_int_equal(cp_get_uvarint(&p, e - 1, &v), -1);
    }
    for (int64_t s = -1000; s <= 1000; s += 7)
        assert_true(cp_unzigzag(cp_zigzag(s)) == s);
    assert_true(cp_unzigzag(cp_zigzag(INT64_MIN)) == INT64_MIN);
    /* 11 continuation bytes: too long */
    memset(buf, 0xff, sizeof buf);
    p = buf;
    assert_int_equal(cp_get_uvarint(&p, buf + sizeof buf, &v), -1);
}

static void test_names(void **state)
{
    assert_string_equal(cp_trace_evtype_name(CP_TEV_REGION_BEGIN),
                        "region_begin");
    assert_string_equal(cp_trace_evtype_name(999), "?");
    assert_string_equal(cp_trace_block_kind_name(CP_TRK_COND), "cond");
    assert_string_equal(cp_trace_block_kind_name(0), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_trace),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_damage_recovery),
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
