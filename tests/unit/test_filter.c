/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_filter.c - go tool pprof's filters over a profile
 * (src/profile/filter.c): focus/ignore on whole samples, hide/show on
 * frames (inlined ones too), show_from, prune_from, tag filters by regexp
 * and by numeric range with units, tag names, drop_frames pruning with
 * pprof's "first user frame" rule, granularity aggregation, sample index
 * lookup, simplifyFunc, and the warnings for filters that match nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "profile/filter.h"
#include "testprof.h"

static void sample_profile(struct cp_profile *p)
{
    tp_init(p, "samples/count cpu/nanoseconds");
    TP_SAMPLE(p, "sha;hash;main", 1, 100);
    tp_label(p, "phase", "hash");
    TP_SAMPLE(p, "less+partition;sort;main", 1, 50); /* less inlined */
    tp_label(p, "phase", "sort");
    tp_label(p, "worker", "1");
    TP_SAMPLE(p, "malloc;sort;main", 1, 25);
    tp_label(p, "phase", "sort");
    tp_label_any(p, "bytes", NULL, 4096, "bytes");
    TP_SAMPLE(p, "main", 1, 5);
}

static int64_t sum(const struct cp_profile *p)
{
    int64_t t = 0;
    for (size_t j = 0; j < p->n_samples; j++)
        t += p->samples[j].values[1];
    return t;
}

static int apply(struct cp_profile *p, struct cp_filter_opts o,
                 struct cp_dynbuf *w)
{
    char err[256] = "";
    return cp_filter_apply(p, &o, w, err, sizeof err);
}

static void test_focus_ignore(void **state)
{
    (void)state;
    struct cp_profile p;
    struct cp_dynbuf w;
    cp_dynbuf_init(&w, 4096);
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.focus = "sort"}, &w),
                     0);
    assert_int_equal(sum(&p), 75);
    assert_int_equal(w.len, 0);
    cp_profile_free(&p);

    sample_profile(&p);
    assert_int_equal(apply(&p,
                           (struct cp_filter_opts){.focus = "main",
                                                   .ignore = "^malloc$"},
                           &w),
                     0);
    assert_int_equal(sum(&p), 155);
    cp_profile_free(&p);

    /* a file name matches too */
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.focus = "/src/sha\\.c"},
                           &w), 0);
    assert_int_equal(sum(&p), 100);
    cp_profile_free(&p);

    /* matching nothing: empty, and a warning */
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.focus = "nothing"},
                           &w), 0);
    assert_int_equal(p.n_samples, 0);
    assert_non_null(strstr(w.data, "Focus expression matched no samples"));
    cp_profile_free(&p);
    cp_dynbuf_free(&w);
}

static void test_hide_show(void **state)
{
    (void)state;
    struct cp_profile p;
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.hide = "^less$"},
                           NULL), 0);
    /* the inlined frame goes, its location stays with partition */
    const struct cp_sample *s = &p.samples[1];
    const struct cp_location *l = cp_profile_location(&p, s->location_ids[0]);
    assert_int_equal(l->n_lines, 1);
    assert_int_equal(sum(&p), 180);
    cp_profile_free(&p);

    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.show = "^(sort|main)$"},
                           NULL), 0);
    assert_int_equal(p.samples[0].n_locations, 1); /* only main */
    assert_int_equal(p.samples[1].n_locations, 2); /* sort, main */
    cp_profile_free(&p);

    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.hide = "main"}, NULL),
                     0);
    /* the sample that had only main has no frame left: dropped */
    assert_int_equal(p.n_samples, 3);
    cp_profile_free(&p);
}

static void test_show_from_prune_from(void **state)
{
    (void)state;
    struct cp_profile p;
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.show_from = "^sort$"},
                           NULL), 0);
    assert_int_equal(p.n_samples, 2); /* samples without sort go */
    assert_int_equal(p.samples[0].n_locations, 2);
    cp_profile_free(&p);

    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.prune_from = "^sort$"},
                           NULL), 0);
    assert_int_equal(p.samples[1].n_locations, 2); /* sort;main */
    assert_int_equal(p.samples[0].n_locations, 3); /* no sort: as is */
    cp_profile_free(&p);
}

static void test_tags(void **state)
{
    (void)state;
    struct cp_profile p;
    struct cp_dynbuf w;
    cp_dynbuf_init(&w, 4096);
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.tagfocus = "phase=sort"},
                           &w), 0);
    assert_int_equal(sum(&p), 75);
    cp_profile_free(&p);

    /* no key: every regexp matches some key:value */
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.tagfocus = "sort,worker"},
                           &w), 0);
    assert_int_equal(sum(&p), 50);
    cp_profile_free(&p);

    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.tagignore = "worker=1"},
                           &w), 0);
    /* "1" is a number: a range on numeric label worker, which none has */
    assert_int_equal(sum(&p), 180);
    assert_non_null(strstr(w.data, "Interpreted '1' as range"));
    cp_profile_free(&p);

    /* numeric ranges with units */
    const char *ranges[] = {"bytes=4kb", "bytes=1kb:", "bytes=:8kb",
                            "bytes=1kb:1mb", "4096b"};
    for (size_t i = 0; i < 5; i++) {
        sample_profile(&p);
        assert_int_equal(apply(&p, (struct cp_filter_opts){.tagfocus =
                                                               ranges[i]},
                               &w), 0);
        assert_int_equal(sum(&p), 25);
        cp_profile_free(&p);
    }
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.tagfocus = "bytes=8kb:"},
                           &w), 0);
    assert_int_equal(p.n_samples, 0);
    cp_profile_free(&p);
    /* a bare number has no unit, so it never equals 4096 bytes (as in
     * go tool pprof) */
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.tagfocus = "4096"},
                           &w), 0);
    assert_int_equal(p.n_samples, 0);
    cp_profile_free(&p);

    /* tag names */
    sample_profile(&p);
    assert_int_equal(apply(&p, (struct cp_filter_opts){.taghide = "phase"},
                           &w), 0);
    assert_int_equal(p.samples[0].n_labels, 0);
    assert_int_equal(p.samples[1].n_labels, 1);
    cp_profile_free(&p);
    cp_dynbuf_free(&w);
}

static void test_bad_regexp(void **state)
{
    (void)state;
    struct cp_profile p;
    sample_profile(&p);
    char err[256] = "";
    struct cp_filter_opts o = {.ignore = "(unclosed"};
    assert_int_equal(cp_filter_apply(&p, &o, NULL, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "parsing ignore regexp"));
    assert_int_equal(p.n_samples, 4); /* untouched */
    cp_profile_free(&p);
}

static void test_prune(void **state)
{
    (void)state;
    struct cp_profile p;
    tp_init(&p, "samples/count");
    TP_SAMPLE(&p, "malloc;make_node;main;runtime.goexit", 1);
    TP_SAMPLE(&p, "malloc;runtime.main", 2); /* no user frame: kept */
    p.drop_frames = cp_profile_str(&p, "malloc|runtime\\..*");
    assert_int_equal(cp_filter_remove_uninteresting(&p), 0);
    assert_int_equal(p.samples[0].n_locations, 3); /* malloc pruned */
    assert_int_equal(p.samples[1].n_locations, 2);
    cp_profile_free(&p);

    char b[64];
    assert_string_equal(cp_simplify_func(b, sizeof b, "ns::f(int, char)"),
                        "ns::f");
    assert_string_equal(cp_simplify_func(b, sizeof b,
                                         "(anonymous namespace)::g(int)"),
                        "(anonymous namespace)::g");
    assert_string_equal(cp_simplify_func(b, sizeof b, "T::operator()(int)"),
                        "T::operator()");
    assert_string_equal(cp_simplify_func(b, sizeof b, ".main"), "main");
}

static void test_aggregate_and_index(void **state)
{
    (void)state;
    struct cp_profile p;
    sample_profile(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    assert_int_equal(p.locations[0].address, 0);
    assert_int_equal(p.locations[0].lines[0].line, 0);
    assert_int_equal(p.functions[0].filename, 0);
    cp_profile_free(&p);

    sample_profile(&p);
    cp_filter_aggregate(&p, CP_GRAN_LINES, true);
    /* noinlines: the outermost frame of the inlined chain stays */
    const struct cp_location *l = cp_profile_location(&p,
                                                      p.samples[1].location_ids[0]);
    assert_int_equal(l->n_lines, 1);
    assert_string_equal(cp_profile_string(&p, cp_profile_function(
                                                   &p, l->lines[0].function_id)
                                                   ->name),
                        "partition");
    assert_int_not_equal(l->lines[0].line, 0);
    char err[256];
    assert_int_equal(cp_sample_index(&p, "", err, sizeof err), 1);
    assert_int_equal(cp_sample_index(&p, "samples", err, sizeof err), 0);
    assert_int_equal(cp_sample_index(&p, "1", err, sizeof err), 1);
    assert_int_equal(cp_sample_index(&p, "2", err, sizeof err), -EINVAL);
    assert_int_equal(cp_sample_index(&p, "nope", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "[samples cpu]"));
    p.default_sample_type = cp_profile_str(&p, "samples");
    assert_int_equal(cp_sample_index(&p, "", err, sizeof err), 0);
    assert_int_equal(cp_granularity_parse("lines"), CP_GRAN_LINES);
    assert_int_equal(cp_granularity_parse("bytes"), -1);
    cp_profile_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_focus_ignore),
        cmocka_unit_test(test_hide_show),
        cmocka_unit_test(test_show_from_prune_from),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_bad_regexp),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_aggregate_and_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
