/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_trace.c - the tracer inside a process (src/trace.c, tracebuf.c,
 * sync.c): what the annotations write, read back with the trace reader;
 * errors of the API; the string cache when a pointer's contents change;
 * events from a signal handler interrupting an event; exact loss counts
 * when a ring fills (the writer held by the test seam); the endpoint's
 * in-memory capture; start/stop while threads keep tracing; the
 * blocking-call hooks (waits, contended unlocks, nothing for uncontended
 * locks).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "cprof.h"
#include "sync.h"
#include "trace.h"
#include "trace/trace_read.h"

extern _Atomic int cp_trace_test_hold;

static char path[64];

static int setup(void **state)
{
    snprintf(path, sizeof path, "/tmp/cprof-test-trace-%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    return 0;
}

struct loaded {
    char *data;
    size_t len;
    struct cp_trace *t;
};

static void load(struct loaded *l, const char *p)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    l->len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    l->data = malloc(l->len + 1);
    assert_int_equal(fread(l->data, 1, l->len, f), l->len);
    fclose(f);
    assert_int_equal(cp_trace_open(l->data, l->len, &l->t, NULL, 0), 0);
    assert_true(cp_trace_complete(l->t));
}

static void unload(struct loaded *l)
{
    assert_int_equal(cp_trace_damaged(l->t), 0);
    cp_trace_close(l->t);
    free(l->data);
}

/* Events of one thread, in order. */
struct seq {
    int tid;
    struct cp_trace_event e[4096];
    char names[4096][24];
    int n;
    uint64_t by_type[CP_TEV__COUNT];
    uint64_t lost;
    struct cp_trace *t;
};

static int on_seq(const struct cp_trace_event *e, void *arg)
{
    struct seq *s = arg;
    if (e->tid != s->tid || e->from_global)
        return 0;
    s->by_type[e->type]++;
    if (e->type == CP_TEV_LOST)
        s->lost += (uint64_t)e->value;
    if (e->type == CP_TEV_CPU || e->type == CP_TEV_LOST || s->n == 4096)
        return 0;
    s->e[s->n] = *e;
    snprintf(s->names[s->n], sizeof s->names[0], "%s",
             cp_trace_str(s->t, e->str));
    s->n++;
    return 0;
}

static int my_tid(void)
{
    return cp_gettid();
}

/* ---- what the annotations write ---- */

struct worker_arg {
    int tid;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    a->tid = my_tid();
    pthread_setname_np(pthread_self(), "tworker");
    for (int i = 0; i < 3; i++) {
        cprof_region_begin("w-outer");
        cprof_region_begin("w-inner");
        cprof_region_end();
        cprof_region_end();
    }
    return NULL;
}

static void test_basic(void **state)
{
    struct loaded l;
    struct seq *s = calloc(1, sizeof *s);
    struct worker_arg wa;
    pthread_t th;

    assert_int_equal(cprof_trace_start(path), 0);
    assert_true(cp_trace_running());
    uint64_t task = cprof_task_begin("job");
    assert_true(task > 0);
    cprof_region_begin("outer");
    cprof_region_begin("inner");
    cprof_log("cat", "message one");
    cprof_region_end();
    cprof_region_end();
    cprof_task_end(task);
    pthread_create(&th, NULL, worker, &wa);
    pthread_join(th, NULL);
    assert_int_equal(cprof_trace_stop(), 0);
    assert_false(cp_trace_running());

    load(&l, path);
    s->t = l.t;
    s->tid = my_tid();
    cp_trace_scan(l.t, on_seq, s);
    /* main: task, 2 regions, a log, ends (the join is a BLOCK too) */
    int k = 0;
    while (k < s->n && s->e[k].type != CP_TEV_TASK_BEGIN)
        k++;
    assert_true(k + 6 < s->n);
    assert_int_equal(s->e[k].type, CP_TEV_TASK_BEGIN);
    assert_string_equal(s->names[k], "job");
    assert_int_equal(s->e[k].task, task);
    assert_int_equal(s->e[k + 1].type, CP_TEV_REGION_BEGIN);
    assert_string_equal(s->names[k + 1], "outer");
    assert_string_equal(s->names[k + 2], "inner");
    assert_int_equal(s->e[k + 3].type, CP_TEV_LOG);
    assert_string_equal(s->names[k + 3], "cat");
    assert_int_equal(s->e[k + 3].msg_len, strlen("message one"));
    assert_memory_equal(s->e[k + 3].msg, "message one", 11);
    assert_int_equal(s->e[k + 4].type, CP_TEV_REGION_END);
    assert_int_equal(s->e[k + 5].type, CP_TEV_REGION_END);
    assert_int_equal(s->e[k + 6].type, CP_TEV_TASK_END);
    for (int i = k + 1; i <= k + 6; i++)
        assert_true(s->e[i].ts >= s->e[i - 1].ts);
    /* the worker: started, its regions, its name, exited */
    memset(s, 0, sizeof *s);
    s->t = l.t;
    s->tid = wa.tid;
    cp_trace_scan(l.t, on_seq, s);
    assert_int_equal(s->e[0].type, CP_TEV_THREAD_START);
    assert_int_equal(s->e[0].value, my_tid()); /* the creator */
    assert_int_equal(s->by_type[CP_TEV_REGION_BEGIN], 6);
    assert_int_equal(s->by_type[CP_TEV_REGION_END], 6);
    assert_int_equal(s->e[s->n - 1].type, CP_TEV_THREAD_EXIT);
    assert_int_equal(s->e[s->n - 2].type, CP_TEV_THREAD_NAME);
    assert_string_equal(s->names[s->n - 2], "tworker");
    unload(&l);
    free(s);
}

static void test_api_errors(void **state)
{
    assert_int_equal(cprof_trace_stop(), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(cprof_strerror(), "no trace is running"));
    assert_int_equal(cprof_trace_start(""), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(cprof_trace_start("/nonexistent-dir/x/trace"), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(cprof_strerror(), "/nonexistent-dir/x/trace"));
    assert_int_equal(cprof_trace_start(path), 0);
    assert_int_equal(cprof_trace_start(path), -1);
    assert_int_equal(errno, EBUSY);
    assert_non_null(strstr(cprof_strerror(), "already running"));
    assert_int_equal(cprof_trace_stop(), 0);
    /* annotations with no trace are no-ops; task ids stay unique */
    cprof_region_begin("x");
    cprof_region_end();
    cprof_log(NULL, NULL);
    uint64_t a = cprof_task_begin("t"), b = cprof_task_begin("t");
    assert_true(a && b && a != b);
    cprof_task_end(a);
    cprof_task_end(0);
}

/* The same buffer holds other names over time: the trace has each. */
static void test_string_cache(void **state)
{
    struct loaded l;
    struct seq *s = calloc(1, sizeof *s);
    char buf[64];

    assert_int_equal(cprof_trace_start(path), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10; i++) {
            snprintf(buf, sizeof buf, "name-%d", i);
            cprof_region_begin(buf);
            cprof_region_end();
        }
    }
    /* a longer name than the cache keeps, and an empty one */
    memset(buf, 'z', 60);
    buf[60] = '\0';
    cprof_region_begin(buf);
    cprof_region_end();
    cprof_region_begin("");
    cprof_region_end();
    assert_int_equal(cprof_trace_stop(), 0);
    load(&l, path);
    s->t = l.t;
    s->tid = my_tid();
    cp_trace_scan(l.t, on_seq, s);
    int seen = 0;
    for (int i = 0; i < s->n; i++) {
        char want[64];
        if (s->e[i].type != CP_TEV_REGION_BEGIN)
            continue;
        if (seen < 30) {
            snprintf(want, sizeof want, "name-%d", seen % 10);
            assert_string_equal(s->names[i], want);
        }
        seen++;
    }
    assert_int_equal(seen, 32);
    unload(&l);
    free(s);
}

/* ---- signals ---- */

static volatile uint64_t sig_events;

static void on_alarm(int sig)
{
    cprof_log("signal", "tick");
    sig_events++;
}

static void test_signal_reentry(void **state)
{
    struct loaded l;
    struct seq *s = calloc(1, sizeof *s);
    struct sigaction sa = {.sa_handler = on_alarm};
    struct itimerval it = {{0, 200}, {0, 200}};
    uint64_t mine = 0;
    int64_t end;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sig_events = 0;
    assert_int_equal(cprof_trace_start(path), 0);
    setitimer(ITIMER_REAL, &it, NULL);
    end = cp_now_ns() + 300000000;
    while (cp_now_ns() < end) {
        cprof_region_begin("busy");
        cprof_region_end();
        mine += 2;
    }
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
    assert_int_equal(cprof_trace_stop(), 0);
    load(&l, path);
    s->t = l.t;
    s->tid = my_tid();
    cp_trace_scan(l.t, on_seq, s);
    uint64_t got = s->by_type[CP_TEV_REGION_BEGIN] +
                   s->by_type[CP_TEV_REGION_END] + s->by_type[CP_TEV_LOG];
    uint64_t lost = s->lost + cp_trace_unreported(l.t, s->tid);
    print_message("%llu annotations, %llu from the handler; %llu in the "
                  "trace, %llu lost\n",
                  (unsigned long long)mine,
                  (unsigned long long)sig_events, (unsigned long long)got,
                  (unsigned long long)lost);
    assert_true(sig_events > 10);
    assert_int_equal(got + lost, mine + sig_events);
    unload(&l);
    free(s);
}

/* A full ring loses events, and says exactly how many. */
static void test_ring_full(void **state)
{
    struct loaded l;
    struct seq *s = calloc(1, sizeof *s);
    struct cp_trace_stats st;
    const uint64_t n = 1000000;

    assert_int_equal(cprof_trace_start(path), 0);
    cprof_region_begin("warm"); /* the ring exists before the hold */
    cprof_region_end();
    usleep(30000);
    cp_trace_test_hold = 1;
    for (uint64_t i = 0; i < n; i++) {
        cprof_region_begin("fill");
        cprof_region_end();
    }
    cp_trace_stats(&st);
    assert_true(st.dropped > 0);
    cp_trace_test_hold = 0;
    usleep(50000);
    cprof_log("after", "the loss"); /* carries the LOST event */
    assert_int_equal(cprof_trace_stop(), 0);
    load(&l, path);
    s->t = l.t;
    s->tid = my_tid();
    cp_trace_scan(l.t, on_seq, s);
    uint64_t got = s->by_type[CP_TEV_REGION_BEGIN] +
                   s->by_type[CP_TEV_REGION_END] + s->by_type[CP_TEV_LOG];
    print_message("%llu in the trace, %llu in LOST events, %llu "
                  "unreported\n",
                  (unsigned long long)got, (unsigned long long)s->lost,
                  (unsigned long long)cp_trace_unreported(l.t, s->tid));
    assert_true(s->lost > n);
    assert_int_equal(got + s->lost + cp_trace_unreported(l.t, s->tid),
                     2 * n + 3);
    assert_int_equal(cp_trace_end_dropped(l.t), s->lost);
    unload(&l);
    free(s);
}

/* ---- the endpoint's capture, and stop while threads trace ---- */

static _Atomic int spinning;

static void *spinner(void *p)
{
    while (spinning) {
        cprof_region_begin("spin");
        cprof_log("spin", "x");
        cprof_region_end();
    }
    return NULL;
}

static void test_capture_and_restart(void **state)
{
    pthread_t th[4];
    struct cp_dynbuf out;
    struct cp_trace *t;

    spinning = 1;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, spinner, NULL);
    cp_dynbuf_init(&out, (size_t)1 << 30);
    assert_int_equal(cp_trace_capture(1, &out), 0);
    assert_true(out.len > 1000);
    assert_int_equal(cp_trace_open(out.data, out.len, &t, NULL, 0), 0);
    assert_true(cp_trace_complete(t));
    assert_true(cp_trace_end_events(t) > 1000);
    cp_trace_close(t);
    cp_dynbuf_free(&out);
    /* stop and start again while they keep tracing */
    for (int round = 0; round < 3; round++) {
        struct loaded l;
        assert_int_equal(cprof_trace_start(path), 0);
        usleep(100000);
        assert_int_equal(cprof_trace_stop(), 0);
        load(&l, path);
        assert_true(cp_trace_end_events(l.t) > 100);
        unload(&l);
    }
    spinning = 0;
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

/* ---- blocking-call hooks ---- */

struct hook_log {
    _Atomic int waits, unlocks, sleeps;
    enum cp_sync_kind kind;
    int64_t wait_ns, unlock_ns, sleep_ns;
    uintptr_t wait_pcs[64], unlock_pcs[64];
    int n_wait, n_unlock;
};
static struct hook_log hl;

static void h_wait(struct cp_sync_wait *w, void *arg)
{
    const uintptr_t *pcs;
    if (w->kind == CP_SYNC_SLEEP) {
        hl.sleeps++;
        hl.sleep_ns = cp_clock_ticks_to_ns(w->end - w->start);
        return;
    }
    if (w->kind != CP_SYNC_MUTEX)
        return;
    hl.waits++;
    hl.kind = w->kind;
    hl.wait_ns = cp_clock_ticks_to_ns(w->end - w->start);
    hl.n_wait = cp_sync_stack(w, &pcs);
    memcpy(hl.wait_pcs, pcs, (size_t)hl.n_wait * sizeof *pcs);
}

static void h_unlock(struct cp_sync_unlock *u, void *arg)
{
    const uintptr_t *pcs;
    hl.unlocks++;
    hl.unlock_ns = cp_clock_ticks_to_ns(u->delay);
    hl.n_unlock = cp_sync_unlock_stack(u, &pcs);
    memcpy(hl.unlock_pcs, pcs, (size_t)hl.n_unlock * sizeof *pcs);
}

static const struct cp_sync_hooks test_hooks = {
    .kinds = CP_SYNC_BIT(CP_SYNC_MUTEX) | CP_SYNC_BIT(CP_SYNC_SLEEP) |
             CP_SYNC_UNLOCK_BIT,
    .on_wait = h_wait,
    .on_unlock = h_unlock,
};

static pthread_mutex_t hm = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int held;

__attribute__((noinline)) static void *holder_fn(void *p)
{
    pthread_mutex_lock(&hm);
    held = 1;
    usleep(30000);
    pthread_mutex_unlock(&hm);
    return NULL;
}

__attribute__((noinline)) static void waiter_fn(void)
{
    pthread_mutex_lock(&hm);
    pthread_mutex_unlock(&hm);
}

static bool has_pc_in(const uintptr_t *pcs, int n, void *fn)
{
    for (int i = 0; i < n; i++) {
        if (pcs[i] >= (uintptr_t)fn && pcs[i] < (uintptr_t)fn + 512)
            return true;
    }
    return false;
}

static void test_sync_hooks(void **state)
{
    pthread_t h;

    memset(&hl, 0, sizeof hl);
    assert_int_equal(cp_sync_subscribe(&test_hooks), 0);
    /* uncontended: nothing */
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&hm);
        pthread_mutex_unlock(&hm);
    }
    assert_int_equal(hl.waits, 0);
    assert_int_equal(hl.unlocks, 0);
    /* contended: the waiter's wait, the holder's unlock */
    held = 0;
    pthread_create(&h, NULL, holder_fn, NULL);
    while (!held)
        ;
    waiter_fn();
    pthread_join(h, NULL);
    assert_int_equal(hl.waits, 1);
    assert_int_equal(hl.kind, CP_SYNC_MUTEX);
    print_message("wait %.1f ms, unlock delay %.1f ms\n", hl.wait_ns / 1e6,
                  hl.unlock_ns / 1e6);
    assert_true(hl.wait_ns > 20000000 && hl.wait_ns < 200000000);
    assert_true(has_pc_in(hl.wait_pcs, hl.n_wait, (void *)waiter_fn));
    assert_int_equal(hl.unlocks, 1);
    assert_true(hl.unlock_ns > hl.wait_ns * 8 / 10 &&
                hl.unlock_ns < hl.wait_ns * 12 / 10);
    assert_true(has_pc_in(hl.unlock_pcs, hl.n_unlock, (void *)holder_fn));
    /* sleeps */
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    assert_true(hl.sleeps >= 1);
    assert_true(hl.sleep_ns >= 5000000);
    /* unsubscribed: nothing more */
    cp_sync_unsubscribe(&test_hooks);
    int before = hl.sleeps;
    nanosleep(&ts, NULL);
    assert_int_equal(hl.sleeps, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_string_cache),
        cmocka_unit_test(test_signal_reentry),
        cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_capture_and_restart),
        cmocka_unit_test(test_sync_hooks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
