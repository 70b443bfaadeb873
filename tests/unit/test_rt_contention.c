/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_contention.c - the block and mutex profiles inside a process
 * (src/contention.c, src/ctab.c, sync.c's contention table): the record
 * table (merging, drops, concurrent adders), nothing recorded while off,
 * exact counts and delays at rate 1 for a holder and waiters with known
 * hold times, Go's sampling and scaling at other rates, the proto and the
 * debug=1 text (header, records pprof's parser accepts, memory map), and
 * cprof_profile_write.
 */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
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

#include "contention.h"
#include "cprof.h"
#include "ctab.h"
#include "codec.h"
#include "profile/dynbuf.h"
#include "profile/profile.h"
#include "profiles.h"

/* ---- the table ---- */

static void test_ctab(void **state)
{
    struct cp_ctab t;
    struct cp_ctab_rec *r;
    uintptr_t a[3] = {0x1000, 0x2000, 0x3000}, b[2] = {0x1000, 0x2000};
    int n;

    memset(&t, 0, sizeof t);
    /* not initialized: everything is dropped, nothing crashes */
    assert_false(cp_ctab_add(&t, a, 3, CP_CTAB_ONE, 5));
    assert_int_equal(t.dropped_value, 5);
    assert_int_equal(cp_ctab_init(&t, 64), 0);
    assert_true(cp_ctab_add(&t, a, 3, CP_CTAB_ONE, 10));
    assert_true(cp_ctab_add(&t, a, 3, CP_CTAB_ONE, 20));
    assert_true(cp_ctab_add(&t, b, 2, 3 * CP_CTAB_ONE, 100));
    assert_true(cp_ctab_add(&t, b, 0, CP_CTAB_ONE, 1)); /* empty stack */
    n = cp_ctab_snapshot(&t, &r);
    assert_int_equal(n, 3);
    /* by value, largest first */
    assert_int_equal(r[0].value, 100);
    assert_int_equal(r[0].count, 3 * CP_CTAB_ONE);
    assert_int_equal(r[0].n, 2);
    assert_int_equal(r[1].value, 30);
    assert_int_equal(r[1].count, 2 * CP_CTAB_ONE);
    assert_int_equal(r[2].n, 0);
    free(r);
    /* deeper than CP_CTAB_DEPTH: cut */
    uintptr_t deep[CP_CTAB_DEPTH + 10];
    for (int i = 0; i < CP_CTAB_DEPTH + 10; i++)
        deep[i] = 0x5000 + (uintptr_t)i;
    assert_true(cp_ctab_add(&t, deep, CP_CTAB_DEPTH + 10, CP_CTAB_ONE, 1));
    n = cp_ctab_snapshot(&t, &r);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_true(r[i].n <= CP_CTAB_DEPTH);
    free(r);
    /* full: 64 buckets, the rest dropped and counted */
    for (uintptr_t i = 0; i < 200; i++) {
        uintptr_t s[1] = {0x100000 + i * 16};
        cp_ctab_add(&t, s, 1, CP_CTAB_ONE, 7);
    }
    assert_true(t.used <= 64);
    assert_true(t.dropped_count >= (200 - 64) * CP_CTAB_ONE);
}

/* Threads adding the same few stacks at once: every event counted once. */
static struct cp_ctab shared_tab;

static void *adder(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (int i = 0; i < 20000; i++) {
        uintptr_t s[2] = {0x7000 + (uintptr_t)(i % 5), id % 2};
        cp_ctab_add(&shared_tab, s, 2, CP_CTAB_ONE, 1);
    }
    return NULL;
}

static void test_ctab_threads(void **state)
{
    pthread_t t[4];
    struct cp_ctab_rec *r;
    uint64_t count = 0, value = 0;
    int n;

    assert_int_equal(cp_ctab_init(&shared_tab, 1024), 0);
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    n = cp_ctab_snapshot(&shared_tab, &r);
    assert_int_equal(n, 10);
    for (int i = 0; i < n; i++) {
        count += r[i].count;
        value += r[i].value;
    }
    assert_int_equal(value, 80000);
    assert_int_equal(count, 80000ull * CP_CTAB_ONE);
    free(r);
}

/* ---- contention in this process ---- */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int held, sink;
static int64_t measured_wait;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((noinline)) static void *holder_fn(void *arg)
{
    int ms = (int)(intptr_t)arg;
    struct timespec ts = {0, ms * 1000000L};
    pthread_mutex_lock(&m);
    held = 1;
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(&m);
    sink++;
    return NULL;
}

__attribute__((noinline)) static void waiter_fn(void)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&m);
    measured_wait += now_ns() - t0;
    pthread_mutex_unlock(&m);
    sink++;
}

/* One holder for ms, one waiter: returns after both are done. */
static void contend(int ms)
{
    pthread_t h;
    held = 0;
    pthread_create(&h, NULL, holder_fn, (void *)(intptr_t)ms);
    while (!held)
        ;
    waiter_fn();
    pthread_join(h, NULL);
}

static void totals(const struct cp_profile *p, void *fn, int64_t *count,
                   int64_t *delay);

/* Where fn ends, at the latest: 512 bytes past its entry, or the next of
 * this file's functions (under ASan waiter_fn is short enough that
 * contend's call of pthread_join fell within 512 bytes of it). */
static uintptr_t fn_end(void *fn)
{
    void *const fns[] = {(void *)holder_fn, (void *)waiter_fn,
                         (void *)contend, (void *)totals};
    uintptr_t end = (uintptr_t)fn + 512;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if ((uintptr_t)fns[i] > (uintptr_t)fn && (uintptr_t)fns[i] < end)
            end = (uintptr_t)fns[i];
    }
    return end;
}

/* Sum of the delays and counts of samples whose stack holds fn. */
static void totals(const struct cp_profile *p, void *fn, int64_t *count,
                   int64_t *delay)
{
    uintptr_t end = fn_end(fn);

    *count = *delay = 0;
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct cp_sample *s = &p->samples[i];
        bool hit = false;
        for (size_t k = 0; k < s->n_locations; k++) {
            const struct cp_location *l =
                cp_profile_location(p, s->location_ids[k]);
            /* the call site lies within 512 bytes past the entry */
            hit |= l && l->address >= (uintptr_t)fn && l->address < end;
        }
        if (hit) {
            *count += s->values[0];
            *delay += s->values[1];
        }
    }
}

static void build(const char *name, struct cp_profile *p)
{
    const struct cp_profile_source *src = cp_profiles_find(name);
    assert_non_null(src);
    assert_int_equal(src->build(p), 0);
    assert_int_equal(p->n_sample_types, 2);
    assert_string_equal(cp_profile_string(p, p->sample_types[0].type),
                        "contentions");
    assert_string_equal(cp_profile_string(p, p->sample_types[1].unit),
                        "nanoseconds");
    assert_string_equal(cp_profile_string(p, p->period_type.type),
                        "contentions");
}

static void test_off_records_nothing(void **state)
{
    struct cp_profile p;
    int64_t c, d;

    cprof_block_set_rate(0);
    cprof_mutex_set_fraction(0);
    contend(20);
    build("block", &p);
    totals(&p, (void *)waiter_fn, &c, &d);
    assert_int_equal(c, 0);
    cp_profile_free(&p);
    build("mutex", &p);
    totals(&p, (void *)holder_fn, &c, &d);
    assert_int_equal(c, 0);
    cp_profile_free(&p);
}

static void test_rate_one(void **state)
{
    struct cp_profile p;
    int64_t c0, d0, c1, d1, bc0, bd0, bc1, bd1;
    struct cp_contention_stats st;

    cprof_block_set_rate(1);
    cprof_mutex_set_fraction(1);
    assert_int_equal(cp_contention_block_rate(), 1);
    assert_int_equal(cp_contention_mutex_fraction(), 1);
    build("mutex", &p);
    totals(&p, (void *)holder_fn, &c0, &d0);
    cp_profile_free(&p);
    build("block", &p);
    totals(&p, (void *)waiter_fn, &bc0, &bd0);
    cp_profile_free(&p);

    measured_wait = 0;
    for (int i = 0; i < 5; i++)
        contend(30);
    /* uncontended pairs add nothing */
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    build("mutex", &p);
    totals(&p, (void *)holder_fn, &c1, &d1);
    cp_profile_free(&p);
    build("block", &p);
    totals(&p, (void *)waiter_fn, &bc1, &bd1);
    cp_profile_free(&p);
    print_message("measured %.1f ms; mutex %lld events %.1f ms; block %lld "
                  "events %.1f ms\n",
                  measured_wait / 1e6, (long long)(c1 - c0),
                  (d1 - d0) / 1e6, (long long)(bc1 - bc0),
                  (bd1 - bd0) / 1e6);
    assert_int_equal(c1 - c0, 5);
    assert_int_equal(bc1 - bc0, 5);
    assert_true(d1 - d0 > measured_wait * 9 / 10 &&
                d1 - d0 < measured_wait * 11 / 10);
    assert_true(bd1 - bd0 > measured_wait * 9 / 10 &&
                bd1 - bd0 <= measured_wait * 101 / 100);
    cp_contention_stats(&st);
    assert_true(st.mutex_recorded >= 5);
    assert_int_equal(st.dropped, 0);
}

/* Go's sampling: a fraction of n records about one unlock in n, each
 * counted n times; a block rate above the waits records each with
 * probability wait/rate, counted rate/wait times, rate ns each. */
static void test_sampling(void **state)
{
    struct cp_profile p;
    int64_t c0, d0, c1, d1;

    cprof_mutex_set_fraction(4);
    build("mutex", &p);
    totals(&p, (void *)holder_fn, &c0, &d0);
    cp_profile_free(&p);
    for (int i = 0; i < 40; i++)
        contend(2);
    build("mutex", &p);
    totals(&p, (void *)holder_fn, &c1, &d1);
    cp_profile_free(&p);
    print_message("fraction 4: %lld events for 40 unlocks\n",
                  (long long)(c1 - c0));
    assert_int_equal((c1 - c0) % 4, 0); /* scaled by the fraction */
    assert_true(c1 - c0 >= 4 && c1 - c0 <= 120);

    /* block rate 1 s: 2 ms waits are sampled ~1 time in 500, and each
     * sampled one stands for rate/wait events of the rate */
    cprof_block_set_rate(1000000000);
    build("block", &p);
    totals(&p, (void *)waiter_fn, &c0, &d0);
    cp_profile_free(&p);
    for (int i = 0; i < 20; i++)
        contend(2);
    build("block", &p);
    totals(&p, (void *)waiter_fn, &c1, &d1);
    cp_profile_free(&p);
    assert_int_equal((d1 - d0) % 1000000000, 0);
    if (d1 > d0)
        assert_true(c1 - c0 >= 100); /* 1 s / (< 10 ms) */
    cprof_block_set_rate(1);
    cprof_mutex_set_fraction(1);
    /* a negative fraction changes nothing (Go: it only reads) */
    cprof_mutex_set_fraction(-1);
    assert_int_equal(cp_contention_mutex_fraction(), 1);
}

static void test_text(void **state)
{
    struct cp_dynbuf b;
    regex_t rec;
    char *line, *save = NULL;
    int records = 0, frames = 0;
    bool map = false;

    contend(5);
    cp_dynbuf_init(&b, 1 << 26);
    assert_int_equal(cp_profiles_render("mutex", 1, &b), 0);
    assert_int_equal(cp_dynbuf_add(&b, "", 1), 0);
    assert_int_equal(strncmp(b.data, "--- mutex:\ncycles/second=1000000000\n"
                                     "sampling period=1\n",
                             53),
                     0);
    /* pprof's contentionSampleRE, anchored */
    assert_int_equal(regcomp(&rec, "^[0-9]+ +[0-9]+ @( 0x[0-9a-f]+)+$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (line = strtok_r(b.data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strcmp(line, "--- Memory map: ---"))
            map = true;
        else if (!map && line[0] == '#')
            frames++;
        else if (!map && line[0] >= '0' && line[0] <= '9')
            records += regexec(&rec, line, 0, NULL, 0) == 0;
    }
    regfree(&rec);
    assert_true(records >= 1);
    assert_true(frames >= records);
    assert_true(map);
    cp_dynbuf_free(&b);

    cp_dynbuf_init(&b, 1 << 26);
    assert_int_equal(cp_profiles_render("block", 1, &b), 0);
    assert_int_equal(strncmp(b.data, "--- contention:\ncycles/second=", 30),
                     0);
    cp_dynbuf_free(&b);
}

static void test_write(void **state)
{
    char path[64];
    struct cp_profile p;
    FILE *f;
    char *data;
    long len;

    snprintf(path, sizeof path, "/tmp/cprof-test-mutex-%d", (int)getpid());
    assert_int_equal(cprof_profile_write("mutex", path, 0), 0);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)len);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(
        cp_profile_decode(data, (size_t)len, (size_t)1 << 28, &p, NULL, 0), 0);
    assert_true(p.n_samples >= 1);
    cp_profile_free(&p);
    free(data);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctab),
        cmocka_unit_test(test_ctab_threads),
        cmocka_unit_test(test_off_records_nothing),
        cmocka_unit_test(test_rate_one),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
