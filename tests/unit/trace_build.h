/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_build.h - build cprof traces byte by byte in tests: the header,
 * chunks, and per-thread / global events, through the format's own
 * constants (src/trace/trace_format.h). Header-only, for the unit tests
 * of the reader (test_trace_read.c) and of the command (test_cli_trace.c).
 */
#ifndef CP_TEST_TRACE_BUILD_H
#define CP_TEST_TRACE_BUILD_H

#include <stdint.h>
#include <string.h>

#include "profile/dynbuf.h"
#include "trace/trace_format.h"

static inline void tb_uv(struct cp_dynbuf *b, uint64_t v)
{
    uint8_t t[CP_VARINT_MAX];
    cp_dynbuf_add(b, t, (size_t)(cp_put_uvarint(t, v) - t));
}

static inline void tb_sv(struct cp_dynbuf *b, int64_t v)
{
    tb_uv(b, cp_zigzag(v));
}

static inline void tb_u8(struct cp_dynbuf *b, uint8_t v)
{
    cp_dynbuf_add(b, &v, 1);
}

static inline void tb_str(struct cp_dynbuf *b, const char *s)
{
    tb_uv(b, strlen(s));
    cp_dynbuf_add(b, s, strlen(s));
}

static inline void tb_header(struct cp_dynbuf *b)
{
    uint8_t h[CP_TRF_HEADER_LEN] = {0};
    memcpy(h, CP_TRF_MAGIC, CP_TRF_MAGIC_LEN);
    h[8] = CP_TRF_MAJOR;
    h[9] = CP_TRF_MINOR;
    cp_dynbuf_add(b, h, sizeof h);
}

/* Append payload p as a chunk of kind, then empty p. */
static inline void tb_chunk(struct cp_dynbuf *b, int kind, struct cp_dynbuf *p)
{
    tb_u8(b, (uint8_t)kind);
    tb_uv(b, p->len);
    cp_dynbuf_add(b, p->data, p->len);
    cp_dynbuf_reset(p);
}

/* A trace of one thread (tid 100, "main"): INFO, two syncs (units run
 * at 2 per ns from unit 1000 = 1e9 ns), the strings "region"/"cat",
 * regions nested two deep, a task, a log, a block with a 2-frame stack,
 * a sample and a counter, and the end record. */
static inline void tb_sample_trace(struct cp_dynbuf *b)
{
    struct cp_dynbuf p;
    cp_dynbuf_init(&p, 1 << 20);
    tb_header(b);
    tb_uv(&p, 3);
    tb_str(&p, "pid");
    tb_str(&p, "100");
    tb_str(&p, "cmdline");
    tb_str(&p, "./prog a b");
    tb_str(&p, "units_per_second");
    tb_str(&p, "2000000000");
    tb_chunk(b, CP_TRC_INFO, &p);
    tb_uv(&p, 1000); /* sync: units 1000 = 1e9 ns */
    tb_uv(&p, 1000000000);
    tb_uv(&p, 5);
    tb_chunk(b, CP_TRC_SYNC, &p);
    tb_uv(&p, 4);
    tb_uv(&p, 1), tb_str(&p, "outer");
    tb_uv(&p, 2), tb_str(&p, "inner");
    tb_uv(&p, 3), tb_str(&p, "cat");
    tb_uv(&p, 4), tb_str(&p, "main");
    tb_chunk(b, CP_TRC_STRINGS, &p);
    tb_uv(&p, 1);
    tb_uv(&p, 1); /* stack 1: 0x1000, 0x2000 */
    tb_uv(&p, 2);
    tb_uv(&p, 0x1000);
    tb_sv(&p, 0x1000);
    tb_chunk(b, CP_TRC_STACKS, &p);
    /* tid 100: a new buffer, absolute time in the first dt */
    tb_uv(&p, 100);
    tb_uv(&p, CP_TRB_NEW_BUFFER);
    tb_u8(&p, CP_TRE_THREAD_START), tb_uv(&p, 1000), tb_uv(&p, 0),
        tb_uv(&p, 0), tb_uv(&p, 0), tb_uv(&p, 4);
    tb_u8(&p, CP_TRE_TASK_BEGIN), tb_uv(&p, 2), tb_uv(&p, 7), tb_uv(&p, 3);
    tb_u8(&p, CP_TRE_REGION_BEGIN), tb_uv(&p, 2), tb_uv(&p, 1);
    tb_u8(&p, CP_TRE_REGION_BEGIN), tb_uv(&p, 200), tb_uv(&p, 2);
    tb_u8(&p, CP_TRE_LOG), tb_uv(&p, 10), tb_uv(&p, 3), tb_str(&p, "hi");
    tb_u8(&p, 99 /* skippable */), tb_uv(&p, 0), tb_str(&p, "xyz");
    tb_u8(&p, CP_TRE_BLOCK), tb_uv(&p, 100), tb_u8(&p, CP_TRK_MUTEX),
        tb_uv(&p, 0), tb_uv(&p, 40), tb_uv(&p, 1), tb_sv(&p, 0x1234);
    tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 2000);
    tb_u8(&p, CP_TRE_REGION_END), tb_uv(&p, 2);
    tb_u8(&p, CP_TRE_TASK_END), tb_uv(&p, 0), tb_uv(&p, 7);
    tb_chunk(b, CP_TRC_BATCH, &p);
    tb_uv(&p, 1000000100); /* global: base ns */
    tb_u8(&p, CP_TRG_SAMPLE), tb_sv(&p, 0), tb_uv(&p, 100), tb_uv(&p, 1),
        tb_uv(&p, 1), tb_uv(&p, 1);
    tb_u8(&p, CP_TRG_COUNTER), tb_sv(&p, 50), tb_uv(&p, 0), tb_uv(&p, 3),
        tb_sv(&p, -5);
    tb_chunk(b, CP_TRC_GLOBAL, &p);
    tb_uv(&p, 21000); /* second sync: +20000 units = +10000 ns */
    tb_uv(&p, 1000010000);
    tb_uv(&p, 6);
    tb_chunk(b, CP_TRC_SYNC, &p);
    tb_uv(&p, 9);
    tb_uv(&p, 0);
    tb_uv(&p, 0);
    tb_chunk(b, CP_TRC_END, &p);
    cp_dynbuf_free(&p);
}

#endif /* CP_TEST_TRACE_BUILD_H */
