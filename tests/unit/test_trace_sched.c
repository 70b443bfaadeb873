/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_trace_sched.c - the scheduling interval tracker
 * (src/trace/trace_sched.h): hand-built event sequences in the reader's
 * file order, with the exact intervals and totals they must give (the
 * review's bugs: switch records after a thread's exit, the stretch before
 * the first switch-out, the last stretch at the trace's end), a built
 * trace read through the reader, and random sequences that must always
 * give intervals tiling each thread's life.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "trace/trace_sched.h"
#include "trace_build.h"

/* ---- event helpers (ts in ns) ---- */

static struct cp_trace_event ev(enum cp_trace_evtype type, int tid,
                                int64_t ts)
{
    struct cp_trace_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.tid = tid;
    e.ts = ts;
    e.from_global = type >= CP_TEV_SAMPLE;
    return e;
}

static void feed(struct cp_tsched *s, struct cp_trace_event e)
{
    assert_int_equal(cp_tsched_add(s, &e), 0);
}

static void start(struct cp_tsched *s, int tid, int64_t ts)
{
    feed(s, ev(CP_TEV_THREAD_START, tid, ts));
}

static void exit_(struct cp_tsched *s, int tid, int64_t ts)
{
    feed(s, ev(CP_TEV_THREAD_EXIT, tid, ts));
}

static void in(struct cp_tsched *s, int tid, int64_t ts, int cpu)
{
    struct cp_trace_event e = ev(CP_TEV_SCHED_IN, tid, ts);
    e.value = cpu;
    feed(s, e);
}

static void out(struct cp_tsched *s, int tid, int64_t ts, bool preempted)
{
    struct cp_trace_event e = ev(CP_TEV_SCHED_OUT, tid, ts);
    e.kind = preempted ? CP_TRS_PREEMPTED : 0;
    feed(s, e);
}

static void block(struct cp_tsched *s, int tid, int64_t from, int64_t to,
                  int kind)
{
    struct cp_trace_event e = ev(CP_TEV_BLOCK, tid, to);
    e.dur = to - from;
    e.kind = kind;
    feed(s, e);
}

static void mode(struct cp_tsched *s, int tid, int64_t ts, int m)
{
    struct cp_trace_event e = ev(CP_TEV_SCHED_MODE, tid, ts);
    e.kind = m;
    feed(s, e);
}

/* expected interval */
struct want {
    int64_t start, end;
    int state, reason, flags, cpu;
};

#define R CP_TSCHED_RUNNING
#define Q CP_TSCHED_RUNNABLE
#define B CP_TSCHED_BLOCKED
#define INF CP_TSCHED_INFERRED
#define EST CP_TSCHED_ESTIMATED

static void check_ivs(const struct cp_tsched_thread *t, const struct want *w,
                      size_t n)
{
    assert_non_null(t);
    for (size_t i = 0; i < t->n_iv && i < n; i++) {
        const struct cp_tsched_iv *v = &t->iv[i];
        if (v->start != w[i].start || v->end != w[i].end ||
            v->state != w[i].state || v->reason != w[i].reason ||
            v->flags != w[i].flags || v->cpu != w[i].cpu)
            fail_msg("tid %d interval %zu: [%lld,%lld) %s reason %d flags "
                     "%d cpu %d; want [%lld,%lld) %s reason %d flags %d "
                     "cpu %d",
                     t->tid, i, (long long)v->start, (long long)v->end,
                     cp_tsched_state_name(v->state), v->reason, v->flags,
                     v->cpu, (long long)w[i].start, (long long)w[i].end,
                     cp_tsched_state_name(w[i].state), w[i].reason,
                     w[i].flags, w[i].cpu);
    }
    assert_int_equal(t->n_iv, n);
}

/* Bug 1: a SCHED_IN after the thread's exit (read before the exit: the
 * switch records are in an earlier chunk than the exit) must not make
 * it run to the trace's end. */
static void test_records_after_exit_ignored(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    assert_non_null(s);
    mode(s, 7, 99, CP_TRM_PRECISE);
    /* GLOBAL chunk of the pass: every record, the post-exit ones too */
    out(s, 7, 200, false);
    in(s, 7, 300, 1);
    out(s, 7, 450, false);
    in(s, 7, 500, 1);
    /* BATCH chunk: its own events, with the exit at 400 */
    start(s, 7, 100);
    exit_(s, 7, 400);
    assert_int_equal(cp_tsched_finish(s, 1000), 0);
    const struct cp_tsched_thread *t = cp_tsched_find(s, 7);
    struct want w[] = {{100, 200, R, 0, INF, -1},
                       {200, 300, B, 0, 0, -1},
                       {300, 400, R, 0, 0, 1}};
    check_ivs(t, w, 3);
    assert_true(t->started && t->exited && t->precise);
    assert_int_equal(t->begin, 100);
    assert_int_equal(t->end, 400);
    assert_int_equal(t->running, 200);
    assert_int_equal(t->blocked, 100);
    assert_int_equal(t->runnable, 0);
    assert_int_equal(t->ignored, 2);
    assert_int_equal(t->switches, 1);
    cp_tsched_free(s);
}

/* Bug 2: a thread that existed before the trace and was running: the
 * time to its first switch-out is running, from the trace's start. */
static void test_first_stretch_running(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(1000);
    struct cp_trace_event th = ev(CP_TEV_THREAD, 9, 1010);
    feed(s, th);
    mode(s, 9, 1020, CP_TRM_PRECISE);
    out(s, 9, 1250, true);
    in(s, 9, 1300, 3);
    /* a CPU event of its own before the first switch: where it ran */
    struct cp_trace_event c = ev(CP_TEV_CPU, 9, 1100);
    c.value = 2;
    feed(s, c);
    assert_int_equal(cp_tsched_finish(s, 1400), 0);
    const struct cp_tsched_thread *t = cp_tsched_find(s, 9);
    struct want w[] = {{1000, 1250, R, 0, INF, 2},
                       {1250, 1300, Q, 0, 0, -1},
                       {1300, 1400, R, 0, 0, 3}};
    check_ivs(t, w, 3);
    assert_false(t->started);
    assert_false(t->exited);
    assert_int_equal(t->running, 350);
    assert_int_equal(t->runnable, 50);
    assert_int_equal(t->blocked, 0);
    cp_tsched_free(s);
}

/* A first record that is a switch-in: it was off the CPU until then; the
 * wait it was in gives the reason. The last stretch ends at the trace's
 * end (a trace cut short: its last event). */
static void test_first_in_and_last_stretch(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    feed(s, ev(CP_TEV_THREAD, 5, 1));
    in(s, 5, 100, 0);
    out(s, 5, 200, false);
    in(s, 5, 260, 1);
    block(s, 5, 50, 110, CP_TRK_SLEEP);  /* woke at 100 */
    block(s, 5, 190, 255, CP_TRK_MUTEX); /* switched out at 200 in it */
    assert_int_equal(cp_tsched_finish(s, 300), 0);
    const struct cp_tsched_thread *t = cp_tsched_find(s, 5);
    struct want w[] = {{0, 100, B, CP_TRK_SLEEP, INF, -1},
                       {100, 200, R, 0, 0, 0},
                       {200, 260, B, CP_TRK_MUTEX, 0, -1},
                       {260, 300, R, 0, 0, 1}};
    check_ivs(t, w, 4);
    assert_int_equal(t->blocked_by[CP_TRK_SLEEP], 100);
    assert_int_equal(t->blocked_by[CP_TRK_MUTEX], 60);
    assert_int_equal(t->running + t->runnable + t->blocked, 300);
    cp_tsched_free(s);
}

/* Estimated mode (no switch records): running all its life but inside
 * its waits; overlapping waits do not count twice; a wait that began
 * before the thread's life is cut to it. */
static void test_estimated(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    mode(s, 3, 100, CP_TRM_ESTIMATED);
    start(s, 3, 100);
    block(s, 3, 150, 250, CP_TRK_MUTEX);
    block(s, 3, 200, 260, CP_TRK_COND); /* overlaps: 250..260 counts */
    block(s, 3, 300, 350, CP_TRK_SLEEP);
    block(s, 3, 390, 450, CP_TRK_SYSCALL); /* past the exit */
    exit_(s, 3, 400);
    assert_int_equal(cp_tsched_finish(s, 1000), 0);
    const struct cp_tsched_thread *t = cp_tsched_find(s, 3);
    struct want w[] = {{100, 150, R, 0, EST, -1},
                       {150, 250, B, CP_TRK_MUTEX, EST, -1},
                       {250, 260, B, CP_TRK_COND, EST, -1},
                       {260, 300, R, 0, EST, -1},
                       {300, 350, B, CP_TRK_SLEEP, EST, -1},
                       {350, 390, R, 0, EST, -1},
                       {390, 400, B, CP_TRK_SYSCALL, EST, -1}};
    check_ivs(t, w, 7);
    assert_false(t->precise);
    assert_int_equal(t->running, 50 + 40 + 40);
    assert_int_equal(t->blocked, 100 + 10 + 50 + 10);
    assert_int_equal(t->runnable, 0);
    assert_false(cp_tsched_any_precise(s));
    cp_tsched_free(s);
}

/* Lost records: two switch-ins in a row (an out lost between), a
 * SCHED_LOST (the state is unknown until the next record tells it). */
static void test_lost_records(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    start(s, 4, 0);
    in(s, 4, 100, 1);
    in(s, 4, 200, 3); /* its out was lost */
    out(s, 4, 300, false);
    struct cp_trace_event l = ev(CP_TEV_SCHED_LOST, 4, 350);
    l.value = 12;
    feed(s, l);
    out(s, 4, 500, true); /* it ran since the loss */
    exit_(s, 4, 600);
    assert_int_equal(cp_tsched_finish(s, 1000), 0);
    const struct cp_tsched_thread *t = cp_tsched_find(s, 4);
    struct want w[] = {{0, 100, B, 0, INF, -1},
                       {100, 200, R, 0, 0, 1},
                       {200, 300, R, 0, 0, 3},
                       {300, 350, B, 0, 0, -1},
                       {350, 500, R, 0, INF, -1},
                       {500, 600, Q, 0, 0, -1}};
    check_ivs(t, w, 6);
    assert_int_equal(t->switches, 2);
    cp_tsched_free(s);
}

/* Switch records promised but none came: with events of its own it ran
 * all along; without, it never had a CPU. Records just before its start
 * (its ring opens before it writes THREAD_START) belong to its life. */
static void test_no_records_and_early_records(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    mode(s, 10, 5, CP_TRM_PRECISE);
    feed(s, ev(CP_TEV_THREAD, 10, 5));
    struct cp_trace_event smp = ev(CP_TEV_SAMPLE, 10, 50);
    smp.value = 1;
    feed(s, smp);
    mode(s, 11, 5, CP_TRM_PRECISE);
    feed(s, ev(CP_TEV_THREAD, 11, 5));
    out(s, 12, 90, false);
    in(s, 12, 120, 0);
    start(s, 12, 100);
    feed(s, ev(CP_TEV_THREAD_GONE, 12, 150));
    feed(s, ev(CP_TEV_COUNTER, 0, 60)); /* process-wide: no thread */
    assert_int_equal(cp_tsched_finish(s, 200), 0);
    assert_int_equal(cp_tsched_count(s), 3);
    assert_null(cp_tsched_find(s, 0));
    assert_null(cp_tsched_find(s, 13));
    struct want w10[] = {{0, 200, R, 0, INF, -1}};
    check_ivs(cp_tsched_find(s, 10), w10, 1);
    struct want w11[] = {{0, 200, B, 0, INF, -1}};
    check_ivs(cp_tsched_find(s, 11), w11, 1);
    struct want w12[] = {{90, 120, B, 0, 0, -1}, {120, 150, R, 0, 0, 0}};
    const struct cp_tsched_thread *t = cp_tsched_find(s, 12);
    check_ivs(t, w12, 2);
    assert_int_equal(t->begin, 90);
    assert_true(t->exited);
    /* sorted by tid */
    assert_int_equal(cp_tsched_at(s, 0)->tid, 10);
    assert_int_equal(cp_tsched_at(s, 2)->tid, 12);
    assert_null(cp_tsched_at(s, 3));
    cp_tsched_free(s);
}

/* Through the reader: a BATCH with the thread's start and exit, then the
 * GLOBAL chunk of the next pass with a switch-in after the exit. */
static void test_built_trace(void **state)
{
    (void)state;
    struct cp_dynbuf b, p;
    struct cp_trace *t;
    struct cp_tsched *s;
    char err[128];

    cp_dynbuf_init(&b, 1 << 20);
    cp_dynbuf_init(&p, 1 << 20);
    tb_header(&b);
    tb_uv(&p, 1), tb_str(&p, "units_per_second"), tb_str(&p, "1000000000");
    tb_chunk(&b, CP_TRC_INFO, &p);
    tb_uv(&p, 1000), tb_uv(&p, 1000), tb_uv(&p, 0); /* units = ns */
    tb_chunk(&b, CP_TRC_SYNC, &p);
    /* pass 1: global first (the thread's switch-out at 1300) */
    tb_uv(&p, 1000);
    tb_u8(&p, CP_TRG_SCHED_MODE), tb_sv(&p, 100), tb_uv(&p, 42),
        tb_uv(&p, CP_TRM_PRECISE);
    tb_u8(&p, CP_TRG_SCHED_OUT), tb_sv(&p, 200), tb_uv(&p, 42), tb_uv(&p, 1);
    tb_chunk(&b, CP_TRC_GLOBAL, &p);
    tb_uv(&p, 42), tb_uv(&p, CP_TRB_NEW_BUFFER);
    tb_u8(&p, CP_TRE_THREAD_START), tb_uv(&p, 1100), tb_uv(&p, 1),
        tb_uv(&p, 0), tb_uv(&p, 0), tb_uv(&p, 0);
    tb_u8(&p, CP_TRE_THREAD_EXIT), tb_uv(&p, 400); /* at 1500 */
    tb_chunk(&b, CP_TRC_BATCH, &p);
    /* pass 2: in at 1400, and after the exit: in at 1600 */
    tb_uv(&p, 1400);
    tb_u8(&p, CP_TRG_SCHED_IN), tb_sv(&p, 0), tb_uv(&p, 42), tb_uv(&p, 1);
    tb_u8(&p, CP_TRG_SCHED_OUT), tb_sv(&p, 150), tb_uv(&p, 42), tb_uv(&p, 0);
    tb_u8(&p, CP_TRG_SCHED_IN), tb_sv(&p, 50), tb_uv(&p, 42), tb_uv(&p, 1);
    tb_u8(&p, CP_TRG_SAMPLE), tb_sv(&p, 400), tb_uv(&p, 1), tb_uv(&p, 0),
        tb_uv(&p, 0), tb_uv(&p, 1);
    tb_chunk(&b, CP_TRC_GLOBAL, &p);
    assert_int_equal(cp_trace_open(b.data, b.len, &t, err, sizeof err), 0);
    assert_int_equal(cp_trace_start_ns(t), 1000);
    assert_int_equal(cp_tsched_build(t, &s), 0);
    assert_int_equal(cp_trace_end_ns(t), 2000); /* the sample */
    const struct cp_tsched_thread *th = cp_tsched_find(s, 42);
    struct want w[] = {{1100, 1300, R, 0, INF, -1},
                       {1300, 1400, Q, 0, 0, -1},
                       {1400, 1500, R, 0, 0, 1}};
    check_ivs(th, w, 3);
    assert_int_equal(th->ignored, 2);
    /* thread 1 (only a sample) existed before the trace: trace start to
     * end, estimated running */
    struct want w1[] = {{1000, 2000, R, 0, EST, -1}};
    check_ivs(cp_tsched_find(s, 1), w1, 1);
    cp_tsched_free(s);
    cp_trace_close(t);
    cp_dynbuf_free(&b);
    cp_dynbuf_free(&p);
}

/* Any sequence, in any order: intervals tile [begin, end) exactly. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_random_sequences_tile_life(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        struct cp_tsched *s = cp_tsched_new((int64_t)(next() % 100));
        int n = (int)(next() % 60);
        int64_t end = 0;
        for (int i = 0; i < n; i++) {
            static const enum cp_trace_evtype types[] = {
                CP_TEV_SCHED_IN,    CP_TEV_SCHED_OUT,   CP_TEV_THREAD_START,
                CP_TEV_THREAD_EXIT, CP_TEV_THREAD_GONE, CP_TEV_BLOCK,
                CP_TEV_SAMPLE,      CP_TEV_CPU,         CP_TEV_SCHED_LOST,
                CP_TEV_SCHED_MODE,  CP_TEV_REGION_BEGIN};
            struct cp_trace_event e =
                ev(types[next() % (sizeof types / sizeof *types)],
                   1 + (int)(next() % 3), (int64_t)(next() % 1000) - 50);
            e.kind = (int)(next() % 3);
            e.dur = (int64_t)(next() % 300) - 20;
            e.value = (int64_t)(next() % 8) - 1;
            if (e.ts > end)
                end = e.ts;
            feed(s, e);
        }
        assert_int_equal(cp_tsched_finish(s, end), 0);
        for (size_t i = 0; i < cp_tsched_count(s); i++) {
            const struct cp_tsched_thread *t = cp_tsched_at(s, i);
            int64_t at = t->begin;
            assert_true(t->end >= t->begin);
            for (size_t k = 0; k < t->n_iv; k++) {
                assert_int_equal(t->iv[k].start, at);
                assert_true(t->iv[k].end > t->iv[k].start);
                at = t->iv[k].end;
            }
            if (t->n_iv)
                assert_int_equal(at, t->end);
            assert_int_equal(t->running + t->runnable + t->blocked,
                             t->end - t->begin);
        }
        cp_tsched_free(s);
    }
}

static void test_misuse(void **state)
{
    (void)state;
    struct cp_tsched *s = cp_tsched_new(0);
    struct cp_trace_event e = ev(CP_TEV_SCHED_IN, 1, 10);
    assert_int_equal(cp_tsched_count(s), 0); /* not finished */
    assert_int_equal(cp_tsched_finish(s, 10), 0);
    assert_int_equal(cp_tsched_add(s, &e), -EINVAL);
    assert_int_equal(cp_tsched_finish(s, 10), -EINVAL);
    assert_string_equal(cp_tsched_state_name(CP_TSCHED_RUNNABLE), "runnable");
    cp_tsched_free(s);
    cp_tsched_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_after_exit_ignored),
        cmocka_unit_test(test_first_stretch_running),
        cmocka_unit_test(test_first_in_and_last_stretch),
        cmocka_unit_test(test_estimated),
        cmocka_unit_test(test_lost_records),
        cmocka_unit_test(test_no_records_and_early_records),
        cmocka_unit_test(test_built_trace),
        cmocka_unit_test(test_random_sequences_tile_life),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
