/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_flags.c - the flags of `cprof [flags] SOURCE...` (cli/flags.c):
 * go tool pprof's spellings (-f=v, -f v, --f, booleans), flags after the
 * sources, "--", the choice flags (-lines, -cum...), the sample-type
 * shorthands, the defaults, and one sentence for each mistake.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pprof.h"

static int parse(struct cp_pprof_cfg *c, char *err, const char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    cp_pprof_cfg_init(c);
    return cp_pprof_parse_flags(c, argc, (char **)argv, err, 256);
}

static void test_values(void **state)
{
    (void)state;
    struct cp_pprof_cfg c;
    char err[256] = "";
    const char *a[] = {"cprof", "-top", "--focus=sort", "-nodecount", "7",
                       "cpu.prof", "-unit=ms", "-lines", "-cum",
                       "-diff_base", "old.prof", "-trim=false",
                       "-nodefraction=0.1", "-max_decompressed=1G",
                       "-inuse_objects", "--", "-weird-name.prof", NULL};
    assert_int_equal(parse(&c, err, a), 0);
    assert_int_equal(c.format, CP_FMT_TEXT);
    assert_string_equal(c.filter.focus, "sort");
    assert_int_equal(c.nodecount, 7);
    assert_string_equal(c.unit, "ms");
    assert_int_equal(c.granularity, CP_GRAN_LINES);
    assert_true(c.cum);
    assert_true(c.diff_base);
    assert_int_equal(c.n_base, 1);
    assert_false(c.trim);
    assert_true(c.nodefraction == 0.1);
    assert_int_equal(c.max_decompressed, (size_t)1 << 30);
    assert_string_equal(c.sample_index, "inuse_objects");
    assert_int_equal(c.n_sources, 2);
    assert_string_equal(c.sources[0], "cpu.prof");
    assert_string_equal(c.sources[1], "-weird-name.prof");
    cp_pprof_cfg_free(&c);

    /* defaults: -top when no format is given, pprof's fractions */
    const char *b[] = {"cprof", "x.prof", NULL};
    assert_int_equal(parse(&c, err, b), 0);
    assert_int_equal(c.format, CP_FMT_TEXT);
    assert_int_equal(c.nodecount, -1);
    assert_true(c.nodefraction == 0.005 && c.edgefraction == 0.001);
    assert_true(c.trim);
    assert_int_equal(c.granularity, CP_GRAN_FUNCTIONS);
    cp_pprof_cfg_free(&c);

    const char *d[] = {"cprof", "-list", "main", "-granularity=addresses",
                       "-mean_delay", "x.prof", NULL};
    assert_int_equal(parse(&c, err, d), 0);
    assert_int_equal(c.format, CP_FMT_LIST);
    assert_string_equal(c.list, "main");
    assert_int_equal(c.granularity, CP_GRAN_ADDRESSES);
    assert_true(c.mean);
    assert_string_equal(c.sample_index, "delay");
    cp_pprof_cfg_free(&c);
}

static void expect(const char **argv, const char *want)
{
    struct cp_pprof_cfg c;
    char err[256] = "";
    assert_int_equal(parse(&c, err, argv), -EINVAL);
    if (!strstr(err, want)) {
        fprintf(stderr, "error %s does not say %s\n", err, want);
        fail();
    }
    cp_pprof_cfg_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    expect((const char *[]){"cprof", "-nosuch", "x", NULL}, "unknown flag");
    expect((const char *[]){"cprof", "x", "-focus", NULL}, "needs an argument");
    expect((const char *[]){"cprof", "-top", "-raw", "x", NULL},
           "one output format");
    expect((const char *[]){"cprof", "-top", NULL}, "no profile source");
    expect((const char *[]){"cprof", "-nodecount=x", "p", NULL}, "integer");
    expect((const char *[]){"cprof", "-trim=maybe", "p", NULL}, "boolean");
    expect((const char *[]){"cprof", "-lines", "-files", "p", NULL},
           "conflicting");
    expect((const char *[]){"cprof", "-granularity=bytes", "p", NULL},
           "granularity");
    expect((const char *[]){"cprof", "-base=a", "-diff_base=b", "p", NULL},
           "cannot both");
    expect((const char *[]){"cprof", "-normalize", "p", NULL}, "base profile");
    expect((const char *[]){"cprof", "-no_browser", "p", NULL}, "-http");
    expect((const char *[]){"cprof", "-http=:8080", "-top", "p", NULL},
           "not compatible");
    expect((const char *[]){"cprof", "-divide_by=0", "p", NULL}, "zero");
    expect((const char *[]){"cprof", "-max_decompressed=lots", "p", NULL},
           "bytes");
    expect((const char *[]){"cprof", "-symbolize=maybe", "p", NULL},
           "symbolize");
}

static void test_help(void **state)
{
    (void)state;
    struct cp_pprof_cfg c;
    char err[256] = "";
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int r = parse(&c, err, (const char *[]){"cprof", "-h", NULL});
    fclose(stdout);
    stdout = saved;
    assert_int_equal(r, 1);
    cp_pprof_cfg_free(&c);
    const char *u = cp_pprof_usage();
    assert_non_null(strstr(u, "-tagfocus"));
    assert_non_null(strstr(u, "-max_decompressed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
