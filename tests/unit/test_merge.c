/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_merge.c - whole-profile operations (src/profile/merge.c): merging
 * adds samples with the same stack and labels and keeps others apart,
 * drops samples that cancel out, shares locations and functions by
 * content, refuses incompatible profiles with a sentence, combines
 * headers as pprof does; scaling, unit reconciliation, labels, copies,
 * canonical strings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "profile/merge.h"
#include "testprof.h"

static int64_t total(const struct cp_profile *p, size_t vi)
{
    int64_t t = 0;
    for (size_t j = 0; j < p->n_samples; j++)
        t += p->samples[j].values[vi];
    return t;
}

static void test_merge_sums(void **state)
{
    (void)state;
    struct cp_profile a, b, m;
    tp_init(&a, "samples/count cpu/nanoseconds");
    TP_SAMPLE(&a, "leaf;main", 1, 10);
    TP_SAMPLE(&a, "other;main", 2, 20);
    tp_label(&a, "thread_name", "w1");
    tp_init(&b, "samples/count cpu/nanoseconds");
    TP_SAMPLE(&b, "leaf;main", 3, 30); /* same stack: adds up */
    TP_SAMPLE(&b, "other;main", 4, 40);
    tp_label(&b, "thread_name", "w2"); /* other label: stays apart */
    a.time_nanos = 200;
    b.time_nanos = 100;
    a.duration_nanos = 5;
    b.duration_nanos = 7;
    a.period = 10;
    b.period = 20;
    cp_profile_add_comment(&a, "first");
    cp_profile_add_comment(&b, "first");
    cp_profile_add_comment(&b, "second");
    struct cp_profile *srcs[] = {&a, &b};
    char err[256] = "";
    assert_int_equal(cp_profile_merge(srcs, 2, &m, err, sizeof err), 0);
    assert_int_equal(m.n_samples, 3);
    assert_int_equal(m.samples[0].values[1], 40);
    assert_int_equal(total(&m, 1), 100);
    assert_int_equal(m.n_functions, 3); /* leaf, main, other: shared */
    assert_int_equal(m.n_locations, 3);
    assert_int_equal(m.n_mappings, 1);
    assert_int_equal(m.time_nanos, 100);
    assert_int_equal(m.duration_nanos, 12);
    assert_int_equal(m.period, 20);
    assert_int_equal(m.n_comments, 2);
    assert_string_equal(cp_profile_string(&m, m.comments[1]), "second");
    assert_true(cp_sample_has_label(&m, &m.samples[1], "thread_name", "w1"));
    assert_true(cp_sample_has_label(&m, &m.samples[2], "thread_name", "w2"));
    cp_profile_free(&m);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

static void test_merge_cancels(void **state)
{
    (void)state;
    struct cp_profile a, b, m;
    tp_init(&a, "samples/count cpu/nanoseconds");
    TP_SAMPLE(&a, "gone;main", 1, 10);
    TP_SAMPLE(&a, "kept;main", 1, 10);
    tp_init(&b, "samples/count cpu/nanoseconds");
    TP_SAMPLE(&b, "gone;main", 1, 10);
    assert_int_equal(cp_profile_scale(&b, -1), 0);
    struct cp_profile *srcs[] = {&a, &b};
    assert_int_equal(cp_profile_merge(srcs, 2, &m, NULL, 0), 0);
    /* the cancelled sample, and the function only it used, are gone */
    assert_int_equal(m.n_samples, 1);
    assert_int_equal(m.n_functions, 2);
    assert_int_equal(m.n_locations, 1 + 1);
    cp_profile_free(&m);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

static void test_incompatible(void **state)
{
    (void)state;
    struct cp_profile a, b, m;
    tp_init(&a, "samples/count cpu/nanoseconds");
    tp_init(&b, "objects/count space/bytes");
    struct cp_profile *srcs[] = {&a, &b};
    char err[256] = "";
    assert_int_equal(cp_profile_merge(srcs, 2, &m, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "incompatible"));
    assert_int_equal(cp_profile_compatible(&a, &b, err, sizeof err),
                     -EINVAL);
    assert_int_equal(cp_profile_merge(srcs, 0, &m, err, sizeof err),
                     -EINVAL);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

static void test_scale_profiles(void **state)
{
    (void)state;
    struct cp_profile a, b;
    tp_init(&a, "cpu/nanoseconds");
    TP_SAMPLE(&a, "f", 5000);
    tp_init(&b, "cpu/microseconds");
    TP_SAMPLE(&b, "f", 7);
    b.period_type = b.sample_types[0];
    struct cp_profile *ps[] = {&a, &b};
    char err[256] = "";
    assert_int_equal(cp_profile_scale_profiles(ps, 2, err, sizeof err), 0);
    assert_int_equal(b.samples[0].values[0], 7000);
    assert_string_equal(cp_profile_string(&b, b.sample_types[0].unit),
                        "nanoseconds");
    struct cp_profile c;
    tp_init(&c, "space/bytes");
    struct cp_profile *bad[] = {&a, &c};
    assert_int_equal(cp_profile_scale_profiles(bad, 2, err, sizeof err),
                     -EINVAL);
    cp_profile_free(&a);
    cp_profile_free(&b);
    cp_profile_free(&c);
}

static void test_scale_round(void **state)
{
    (void)state;
    struct cp_profile a;
    tp_init(&a, "samples/count cpu/nanoseconds");
    TP_SAMPLE(&a, "f", 3, 5);
    TP_SAMPLE(&a, "g", 1, 1);
    const double r[] = {1, 0.5};
    assert_int_equal(cp_profile_scale_n(&a, r), 0);
    assert_int_equal(a.samples[0].values[1], 3); /* 2.5 rounds away */
    assert_int_equal(a.samples[0].values[0], 3); /* ratio 1: untouched */
    assert_int_equal(a.samples[1].values[1], 1);
    assert_int_equal(cp_profile_scale(&a, 0), 0); /* all zero: dropped */
    assert_int_equal(a.n_samples, 0);
    cp_profile_free(&a);
}

static void test_labels_and_copy(void **state)
{
    (void)state;
    struct cp_profile a, c;
    tp_init(&a, "samples/count");
    TP_SAMPLE(&a, "f;main", 1);
    tp_label(&a, "pprof::base", "false");
    tp_label_any(&a, "bytes", NULL, 64, "bytes");
    TP_SAMPLE(&a, "g;main", 2);
    assert_int_equal(cp_profile_set_label(&a, "pprof::base", "true"), 0);
    assert_true(cp_sample_has_label(&a, &a.samples[0], "pprof::base", "true"));
    assert_false(cp_sample_has_label(&a, &a.samples[0], "pprof::base",
                                     "false"));
    assert_int_equal(a.samples[0].n_labels, 2); /* the numeric one stays */
    assert_true(cp_sample_has_label(&a, &a.samples[1], "pprof::base", "true"));
    assert_int_equal(cp_profile_copy(&a, &c), 0);
    cp_profile_remove_label(&a, "pprof::base");
    assert_int_equal(a.samples[0].n_labels, 1);
    /* the copy is independent, and its labels sorted: strings first */
    assert_true(cp_sample_has_label(&c, &c.samples[0], "pprof::base", "true"));
    assert_int_equal(c.samples[0].labels[1].num, 64);
    cp_profile_free(&a);
    cp_profile_free(&c);
}

static void test_canon_and_normalize(void **state)
{
    (void)state;
    struct cp_profile a, b;
    tp_init(&a, "samples/count");
    TP_SAMPLE(&a, "f", 1);
    TP_SAMPLE(&a, "g", 3);
    assert_int_equal(cp_profile_canon_strings(&a), 0);
    assert_string_equal(cp_profile_string(&a, a.functions[0].name), "f");
    tp_init(&b, "samples/count");
    TP_SAMPLE(&b, "f", 8);
    assert_int_equal(cp_profile_normalize(&a, &b, NULL, 0), 0);
    assert_int_equal(total(&a, 0), 8);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_sums),
        cmocka_unit_test(test_merge_cancels),
        cmocka_unit_test(test_incompatible),
        cmocka_unit_test(test_scale_profiles),
        cmocka_unit_test(test_scale_round),
        cmocka_unit_test(test_labels_and_copy),
        cmocka_unit_test(test_canon_and_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
