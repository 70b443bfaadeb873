/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_measure.c - units and number formats (src/profile/measure.c)
 * against strings go tool pprof prints for the same numbers (taken from
 * google/pprof's measurement package and from real reports): scaling
 * between time and memory units, automatic units, labels, percentages,
 * unit compatibility, Go's time.Duration strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "profile/measure.h"

static void test_scale(void **state)
{
    (void)state;
    double v;
    assert_string_equal(cp_unit_scale(1490000000, "nanoseconds", "minimum",
                                      &v), "s");
    assert_true(v > 1.489 && v < 1.491);
    assert_string_equal(cp_unit_scale(1, "milliseconds", "nanoseconds", &v),
                        "ns");
    assert_true(v == 1e6);
    assert_string_equal(cp_unit_scale(2048, "bytes", "kb", &v), "kB");
    assert_true(v == 2.0);
    assert_string_equal(cp_unit_scale(3 << 20, "B", "auto", &v), "MB");
    assert_true(v == 3.0);
    /* counts and unknown units */
    assert_string_equal(cp_unit_scale(42, "count", "minimum", &v), "");
    assert_true(v == 42);
    assert_string_equal(cp_unit_scale(42, "widgets", "widgets", &v),
                        "widgets");
    /* negative values keep their unit */
    assert_string_equal(cp_unit_scale(-630000000, "nanoseconds", "minimum",
                                      &v), "ms");
    assert_true(v == -630);
    /* a unit pprof does not know as target: the kind's default */
    assert_string_equal(cp_unit_scale(5000000000, "ns", "parsecs", &v), "s");
    assert_true(v == 5);
    /* zero: no unit fits, the default one */
    assert_string_equal(cp_unit_scale(0, "nanoseconds", "minimum", &v), "s");
}

static void test_labels(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(cp_unit_label(b, sizeof b, 1490000000, "nanoseconds",
                                      "s"), "1.49s");
    assert_string_equal(cp_unit_label(b, sizeof b, 10000000, "nanoseconds",
                                      "ms"), "10ms");
    assert_string_equal(cp_unit_label(b, sizeof b, 0, "nanoseconds", "ms"),
                        "0");
    assert_string_equal(cp_unit_label(b, sizeof b, 10485760, "bytes", "MB"),
                        "10MB");
    assert_string_equal(cp_unit_label(b, sizeof b, 17677064, "bytes", "kB"),
                        "17262.76kB");
    assert_string_equal(cp_unit_label(b, sizeof b, 3, "count", "minimum"),
                        "3");
    assert_string_equal(cp_unit_label(b, sizeof b, -10000000, "nanoseconds",
                                      "s"), "-0.01s");
    /* rounds to zero: "0", never "-0" */
    assert_string_equal(cp_unit_label(b, sizeof b, -1, "nanoseconds", "s"),
                        "0");
    assert_string_equal(cp_unit_label(b, sizeof b, 1610000000, "nanoseconds",
                                      "auto"), "1.61s");
}

static void test_percentage(void **state)
{
    (void)state;
    char b[16];
    assert_string_equal(cp_unit_percentage(b, sizeof b, 750, 1490), "50.34%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 1490, 1490),
                        "  100%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 0, 1490), "    0%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 10, 1490), " 0.67%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 4, 17262), "0.023%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 1, 0), "    0%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, -630, 1490),
                        "42.28%");
    assert_string_equal(cp_unit_percentage(b, sizeof b, 23838, 1490),
                        "1599.87%");
}

static void test_compatible(void **state)
{
    (void)state;
    assert_true(cp_unit_compatible("cpu", "nanoseconds", "cpu",
                                   "microseconds"));
    assert_true(cp_unit_compatible("sample", "count", "samples", "count"));
    assert_false(cp_unit_compatible("cpu", "nanoseconds", "space", "bytes"));
    assert_false(cp_unit_compatible("cpu", "nanoseconds", "cpu", "bytes"));
    assert_string_equal(cp_unit_canonical("Milliseconds"), "ms");
    assert_null(cp_unit_canonical("furlongs"));
}

static void test_duration(void **state)
{
    (void)state;
    char b[40];
    assert_string_equal(cp_go_duration(b, sizeof b, 0), "0s");
    assert_string_equal(cp_go_duration(b, sizeof b, 1614123456),
                        "1.614123456s");
    assert_string_equal(cp_go_duration(b, sizeof b, 90000000000ll), "1m30s");
    assert_string_equal(cp_go_duration(b, sizeof b, 3723500000000ll),
                        "1h2m3.5s");
    assert_string_equal(cp_go_duration(b, sizeof b, 1500), "1.5\xc2\xb5s");
    assert_string_equal(cp_go_duration(b, sizeof b, 999), "999ns");
    assert_string_equal(cp_go_duration(b, sizeof b, 2500000), "2.5ms");
    assert_string_equal(cp_go_duration(b, sizeof b, -1500000000), "-1.5s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale),      cmocka_unit_test(test_labels),
        cmocka_unit_test(test_percentage), cmocka_unit_test(test_compatible),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
