/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_wall.c - the wall-clock profiler inside a process (src/wall.c,
 * src/wallsig.c): a slot's publication as a seqlock (enter, nested enter
 * from a handler, leave, a call abandoned by longjmp); sessions with a
 * sleeping, a computing and a lock-waiting thread (states, calls, stacks,
 * one sample per tick, no EINTR); overlapping sessions; the "wall"
 * profile without CPROF_WALL.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cprof.h"
#include "sigsafe.h"
#include "sync.h"
#include "thread_reg.h"
#include "wall.h"
#include "wallsig.h"

/* ---- publication ---- */

static void fake_wait(struct cp_sync_wait *w, const char *call, uintptr_t sp)
{
    memset(w, 0, sizeof *w);
    w->kind = CP_SYNC_SLEEP;
    w->call = call;
    w->caller = 0x401234;
    w->sp = sp;
    w->fp = sp + 64;
    w->n_pcs = -1;
}

static void test_publication(void **state)
{
    struct cp_sync_wait outer, inner, later;
    struct cp_wall_pub pub;
    int slot;

    assert_int_equal(cp_wallsig_init(), 0);
    assert_true(cp_wallsig_signal() > 0);
    slot = cp_wallsig_claim(cp_gettid());
    assert_true(slot >= 0);
    /* the same tid gets the same slot */
    assert_int_equal(cp_wallsig_claim(cp_gettid()), slot);
    assert_false(cp_wallsig_read(slot, &pub));

    fake_wait(&outer, "nanosleep", 0x7000f000);
    cp_wallsig_hooks.on_enter(&outer, NULL);
    assert_true(cp_wallsig_read(slot, &pub));
    assert_true(pub.seq & 1);
    assert_string_equal(pub.call, "nanosleep");
    assert_int_equal(pub.pc, 0x401234);
    assert_int_equal(pub.sp, 0x7000f000);
    uint32_t seq = pub.seq;

    /* a call from a handler interrupting it, deeper on the stack: the
     * outer call stays published */
    fake_wait(&inner, "write", 0x7000e000);
    cp_wallsig_hooks.on_enter(&inner, NULL);
    assert_true(cp_wallsig_read(slot, &pub));
    assert_string_equal(pub.call, "nanosleep");
    cp_wallsig_hooks.on_leave(&inner, NULL);
    assert_true(cp_wallsig_read(slot, &pub));
    assert_int_equal(pub.seq, seq);
    assert_true(cp_wallsig_same(slot, seq));
    cp_wallsig_hooks.on_leave(&outer, NULL);
    assert_false(cp_wallsig_read(slot, &pub));
    assert_false(cp_wallsig_same(slot, seq));

    /* a call left without on_leave (longjmp out of a handler): the next
     * call at or above its frame replaces it */
    cp_wallsig_hooks.on_enter(&outer, NULL);
    fake_wait(&later, "read", 0x7000f100);
    cp_wallsig_hooks.on_enter(&later, NULL);
    assert_true(cp_wallsig_read(slot, &pub));
    assert_string_equal(pub.call, "read");
    cp_wallsig_hooks.on_leave(&later, NULL);
    assert_false(cp_wallsig_read(slot, &pub));
    /* a stray leave changes nothing */
    cp_wallsig_hooks.on_leave(&outer, NULL);
    assert_false(cp_wallsig_read(slot, &pub));
    cp_wallsig_release(slot);
}

/* ---- sessions ---- */

static volatile int stop;
static volatile double sink;
static int eintr;
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void sleeper_wait(void)
{
    struct timespec ts = {0, 50000000};
    if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
        __atomic_fetch_add(&eintr, 1, __ATOMIC_RELAXED);
}

static void *sleeper(void *arg)
{
    pthread_setname_np(pthread_self(), "t-sleeper");
    while (!stop)
        sleeper_wait();
    return NULL;
}

__attribute__((noinline)) static void spin_work(void)
{
    double x = 1;
    for (int i = 0; i < 100000; i++)
        x = x * 1.0000001 + 1e-9;
    sink = x;
}

static void *spinner(void *arg)
{
    pthread_setname_np(pthread_self(), "t-spinner");
    while (!stop)
        spin_work();
    return NULL;
}

__attribute__((noinline)) static void locker_wait(void)
{
    pthread_mutex_lock(&lk);
    pthread_mutex_unlock(&lk);
}

static void *locker(void *arg)
{
    pthread_setname_np(pthread_self(), "t-locker");
    while (!stop)
        locker_wait();
    return NULL;
}

static const char *label_str(const struct cp_profile *p,
                             const struct cp_sample *s, const char *key)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!strcmp(cp_profile_string(p, s->labels[i].key), key))
            return cp_profile_string(p, s->labels[i].str);
    }
    return NULL;
}

static bool has_func(const struct cp_profile *p, const struct cp_sample *s,
                     const char *fn)
{
    for (size_t k = 0; k < s->n_locations; k++) {
        const struct cp_location *l =
            cp_profile_location(p, s->location_ids[k]);
        for (size_t j = 0; l && j < l->n_lines; j++) {
            const struct cp_function *f =
                cp_profile_function(p, l->lines[j].function_id);
            if (f && strstr(cp_profile_string(p, f->name), fn))
                return true;
        }
    }
    return false;
}

struct tally {
    int64_t count, ns, running, blocked, in_fn;
    const char *call;
};

static void tally(const struct cp_profile *p, const char *thread,
                  const char *fn, struct tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct cp_sample *s = &p->samples[i];
        const char *name = label_str(p, s, "thread_name");
        const char *st = label_str(p, s, "state");
        if (!name || strcmp(name, thread))
            continue;
        t->count += s->values[0];
        t->ns += s->values[1];
        if (st && !strcmp(st, "running"))
            t->running += s->values[1];
        if (st && !strcmp(st, "blocked")) {
            t->blocked += s->values[1];
            if (label_str(p, s, "call"))
                t->call = label_str(p, s, "call");
        }
        if (has_func(p, s, fn))
            t->in_fn += s->values[1];
    }
}

static void test_session(void **state)
{
    struct cp_wall_session *s, *s2;
    struct cp_profile p, p2;
    pthread_t t[4];
    struct tally ts, tr, tl;
    struct cp_wall_stats st;
    struct timespec half = {0, 700000000};

    int64_t t0, t1, t2, t3;

    stop = 0;
    pthread_create(&t[0], NULL, sleeper, NULL);
    pthread_create(&t[1], NULL, spinner, NULL);
    pthread_mutex_lock(&lk); /* the locker waits all along */
    t0 = cp_now_ns();
    assert_int_equal(cp_wall_session_begin(200, &s), 0);
    /* entered after the session began: its call is published */
    pthread_create(&t[2], NULL, locker, NULL);
    nanosleep(&half, NULL);
    /* a second session opened meanwhile gets only its own window */
    t1 = cp_now_ns();
    assert_int_equal(cp_wall_session_begin(0, &s2), 0);
    nanosleep(&half, NULL);
    assert_int_equal(cp_wall_session_end(s2, &p2), 0);
    t2 = cp_now_ns();
    assert_int_equal(cp_wall_session_end(s, &p), 0);
    t3 = cp_now_ns();
    stop = 1;
    pthread_mutex_unlock(&lk);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    assert_int_equal(p.n_sample_types, 2);
    assert_string_equal(cp_profile_string(&p, p.sample_types[1].type),
                        "wall");
    assert_string_equal(cp_profile_string(&p, p.period_type.unit),
                        "nanoseconds");
    assert_int_equal(p.period, 5000000);

    tally(&p, "t-sleeper", "sleeper_wait", &ts);
    tally(&p, "t-spinner", "spin_work", &tr);
    tally(&p, "t-locker", "locker_wait", &tl);
    print_message("sleeper %lld samples %.2f s (blocked %.2f, in fn %.2f, "
                  "call %s); spinner %lld samples %.2f s (running %.2f, in "
                  "fn %.2f); locker %.2f s blocked in %s\n",
                  (long long)ts.count, ts.ns / 1e9, ts.blocked / 1e9,
                  ts.in_fn / 1e9, ts.call ? ts.call : "-",
                  (long long)tr.count, tr.ns / 1e9, tr.running / 1e9,
                  tr.in_fn / 1e9, tl.blocked / 1e9,
                  tl.call ? tl.call : "-");
    /* one sample per tick, a period each: at most the window (ticks a
     * starved sampler missed on a busy machine are not there) */
    print_message("windows %.2f s and %.2f s\n", (t3 - t0) / 1e9,
                  (t2 - t1) / 1e9);
    assert_int_equal(ts.ns, ts.count * 5000000);
    assert_true(ts.ns > (t2 - t0) / 2 && ts.ns < (t3 - t0) * 11 / 10);
    assert_true(ts.blocked >= ts.ns * 95 / 100);
    assert_true(ts.in_fn >= ts.ns * 95 / 100);
    assert_non_null(ts.call);
    assert_string_equal(ts.call, "nanosleep");
    assert_true(tr.running >= tr.ns * 90 / 100);
    assert_true(tr.in_fn >= tr.ns * 80 / 100);
    assert_true(tl.blocked >= tl.ns * 95 / 100);
    assert_non_null(tl.call);
    assert_string_equal(tl.call, "pthread_mutex_lock");
    assert_int_equal(eintr, 0);

    /* the second window: its own */
    tally(&p2, "t-sleeper", "sleeper_wait", &ts);
    print_message("second window: sleeper %.2f s\n", ts.ns / 1e9);
    assert_true(ts.ns > 350000000 && ts.ns < (t2 - t1) + 20000000);
    cp_profile_free(&p);
    cp_profile_free(&p2);

    cp_wall_stats(&st);
    assert_true(st.ticks >= 100); /* 1.4 s at 200 Hz, some missed when busy */
    assert_true(st.answered > 0);
    assert_true(st.in_call > 0);
}

static void test_bad_args(void **state)
{
    struct cp_wall_session *s;
    char path[64];

    assert_int_equal(cp_wall_session_begin(-1, &s), -EINVAL);
    assert_int_equal(cp_wall_session_begin(CP_WALL_MAX_HZ + 1, &s), -EINVAL);
    assert_int_equal(cp_wall_set_default_hz(0), -EINVAL);
    assert_int_equal(cp_wall_set_default_hz(100), 0);
    /* no CPROF_WALL session: a sentence, no file */
    snprintf(path, sizeof path, "/tmp/cprof-test-wall-%d", (int)getpid());
    assert_int_equal(cprof_profile_write("wall", path, 0), -1);
    assert_int_equal(errno, ENODATA);
    assert_non_null(strstr(cprof_strerror(), "wall"));
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publication),
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
