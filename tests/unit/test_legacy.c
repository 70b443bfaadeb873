/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_legacy.c - the legacy profile readers (src/profile/legacy.c) on
 * hand-made inputs whose results follow from google/pprof's rules:
 * gperftools' binary CPU profile in every word size and byte order (with
 * the signal-handler frame stripping and duplicate-leaf cleanup), heap
 * texts (Go's sampled "heap/N" with unsampling, gperftools' "heapprofile",
 * growth), memory maps (executable entries, adjacent pieces merged, main
 * binary first, fake mapping), contention and Go count profiles, Go's
 * symbol comments, and the errors for malformed and unknown input.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "profile/legacy.h"

static const char *S(const struct cp_profile *p, int64_t i)
{
    return cp_profile_string(p, i);
}

static uint64_t loc_addr(const struct cp_profile *p, const struct cp_sample *s,
                         size_t k)
{
    return cp_profile_location(p, s->location_ids[k])->address;
}

static size_t put(unsigned char *b, size_t off, uint64_t v, int size,
                  bool big)
{
    for (int i = 0; i < size; i++) {
        int shift = big ? 8 * (size - 1 - i) : 8 * i;
        b[off + (size_t)i] = (unsigned char)(v >> shift);
    }
    return off + (size_t)size;
}

static void test_gperftools_cpu(void **state)
{
    (void)state;
    static const char maps[] =
        "00400000-00401000 r--p 00000000 08:01 12345 /bin/prog\n"
        "00401000-00500000 r-xp 00001000 08:01 12345 /bin/prog\n"
        "7f0000000000-7f0000100000 r-xp 00000000 08:01 99 /lib/libc.so.6\n";
    for (int v = 0; v < 4; v++) {
        int size = v < 2 ? 4 : 8;
        bool big = v % 2;
        unsigned char b[512];
        size_t o = 0;
        const uint64_t words[] = {
            0, 3, 0, 10000, 0,                   /* header: 10 ms */
            5, 3, 0x401010, 0x402020, 0x403030,  /* 5 x leaf;handler;main */
            2, 3, 0x401111, 0x402020, 0x403030,  /* 2 x other;handler;main */
            1, 3, 0x401201, 0x402020, 0x401201,  /* leaf seen twice */
            0, 1, 0,                             /* end of data */
        };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            o = put(b, o, words[i], size, big);
        memcpy(b + o, maps, sizeof(maps) - 1);
        o += sizeof(maps) - 1;
        struct cp_profile p;
        char err[256] = "";
        assert_int_equal(cp_legacy_parse(b, o, 0, &p, err, sizeof err), 0);
        assert_int_equal(p.n_sample_types, 2);
        assert_string_equal(S(&p, p.sample_types[1].type), "cpu");
        assert_int_equal(p.period, 10000000);
        assert_int_equal(p.n_samples, 3);
        assert_int_equal(p.samples[0].values[0], 5);
        assert_int_equal(p.samples[0].values[1], 50000000);
        /* the frame every sample has above the leaf (0x402020 - 1) is the
         * signal handler's: stripped; callers are return address - 1 */
        assert_int_equal(p.samples[0].n_locations, 2);
        assert_int_equal(loc_addr(&p, &p.samples[0], 0), 0x401010);
        assert_int_equal(loc_addr(&p, &p.samples[0], 1), 0x40302f);
        /* leaf 0x401201 and "caller" 0x401201 - 1: the same frame */
        assert_int_equal(p.samples[2].n_locations, 1);
        /* mappings: the two pieces of prog merged, prog first */
        assert_string_equal(S(&p, p.mappings[0].filename), "/bin/prog");
        assert_int_equal(p.mappings[0].memory_start, 0x400000);
        assert_int_equal(p.mappings[0].memory_limit, 0x500000);
        assert_string_equal(S(&p, p.drop_frames),
                            "ProfileData::Add|ProfileData::prof_handler|"
                            "CpuProfiler::prof_handler|__pthread_sighandler|"
                            "__restore");
        cp_profile_free(&p);
    }
}

static void test_go_heap_text(void **state)
{
    (void)state;
    static const char txt[] =
        "heap profile: 1: 1024 [2: 2048] @ heap/1048576\n"
        "1: 1024 [2: 2048] @ 0x4b3ef1 0x4b3ffd 0x437452 0x461181\n"
        "#\t0x4b3ef0\tmain.alloc+0x50\t\t/src/main.go:15\n"
        "#\t0x4b3ffc\tmain.main+0x3c\t\t/src/main.go:22\n"
        "#\t0x437451\truntime.main+0x211\t/go/src/runtime/proc.go:250\n"
        "\n"
        "0: 0 [1: 64] @ 0x4b3ef1 0x4b3ffd 0x437452 0x461181\n"
        "#\t0x4b3ef0\tmain.alloc+0x50\t\t/src/main.go:15\n"
        "\n# runtime.MemStats\n# Alloc = 1234\n";
    struct cp_profile p;
    char err[256] = "";
    assert_int_equal(cp_legacy_parse(txt, sizeof(txt) - 1, 0, &p, err,
                                     sizeof err), 0);
    assert_int_equal(p.n_sample_types, 4);
    assert_string_equal(S(&p, p.sample_types[3].type), "inuse_space");
    assert_int_equal(p.period, 524288);
    /* unsampled: count / (1 - exp(-avg/rate)) */
    double scale = 1 / (1 - exp(-1024.0 / 524288));
    assert_int_equal(p.samples[0].values[2], (int64_t)(1 * scale));
    assert_int_equal(p.samples[0].values[3], (int64_t)(1024 * scale));
    assert_int_equal(p.samples[0].values[0], (int64_t)(2 * scale));
    assert_int_equal(p.samples[1].values[3], 0);
    /* blocksize label, and the frames named from the comments */
    assert_string_equal(S(&p, p.samples[0].labels[0].key), "bytes");
    assert_int_equal(p.samples[0].labels[0].num, 1024);
    const struct cp_location *l =
        cp_profile_location(&p, p.samples[0].location_ids[0]);
    assert_int_equal(l->address, 0x4b3ef0);
    assert_int_equal(l->n_lines, 1);
    const struct cp_function *f = cp_profile_function(&p,
                                                      l->lines[0].function_id);
    assert_string_equal(S(&p, f->name), "main.alloc");
    assert_string_equal(S(&p, f->filename), "/src/main.go");
    assert_int_equal(l->lines[0].line, 15);
    /* the uncommented root is Go's hidden runtime.goexit */
    l = cp_profile_location(&p, p.samples[0].location_ids[3]);
    f = cp_profile_function(&p, l->lines[0].function_id);
    assert_string_equal(S(&p, f->name), "runtime.goexit");
    /* no memory map: one fake mapping for everything */
    assert_int_equal(p.n_mappings, 1);
    assert_int_equal(p.mappings[0].memory_limit, UINT64_MAX);
    cp_profile_free(&p);

    /* CP_LEGACY_NO_COMMENTS: addresses only, as go tool pprof reads it */
    assert_int_equal(cp_legacy_parse(txt, sizeof(txt) - 1,
                                     CP_LEGACY_NO_COMMENTS, &p, err,
                                     sizeof err), 0);
    assert_int_equal(p.n_functions, 0);
    cp_profile_free(&p);
}

static void test_gperftools_heap(void **state)
{
    (void)state;
    static const char txt[] =
        "heap profile:    3:   300 [     5:   500] @ heapprofile\n"
        "     2:   200 [     3:   300] @ 0x401005 0x402005\n"
        "     1:   100 [     2:   200] @ 0x7f0000000105 0x402005\n"
        "\nMAPPED_LIBRARIES:\n"
        "00400000-00500000 r-xp 00000000 08:01 12345 /usr/bin/prog\n"
        "00500000-00600000 rw-p 00100000 08:01 12345 /usr/bin/prog\n"
        "7f0000000000-7f0000100000 r-xp 00000000 08:01 99 "
        "/usr/lib/libfoo.so.1\n";
    struct cp_profile p;
    char err[256] = "";
    assert_int_equal(cp_legacy_parse(txt, sizeof(txt) - 1, 0, &p, err,
                                     sizeof err), 0);
    assert_int_equal(p.period, 1);
    assert_int_equal(p.samples[0].values[0], 3); /* no unsampling */
    assert_int_equal(p.samples[0].values[3], 200);
    assert_int_equal(p.n_mappings, 2); /* the rw-p one is skipped */
    assert_string_equal(S(&p, p.mappings[0].filename), "/usr/bin/prog");
    const struct cp_location *l =
        cp_profile_location(&p, p.samples[1].location_ids[0]);
    assert_string_equal(S(&p, cp_profile_mapping(&p, l->mapping_id)->filename),
                        "/usr/lib/libfoo.so.1");
    assert_non_null(strstr(S(&p, p.drop_frames), "tcmalloc::.*"));
    cp_profile_free(&p);

    static const char growth[] = "heap profile: 1: 64 [1: 64] @ growthz\n"
                                 "1: 64 [1: 64] @ 0x1001\n";
    assert_int_equal(cp_legacy_parse(growth, sizeof(growth) - 1, 0, &p, err,
                                     sizeof err), 0);
    assert_int_equal(p.n_sample_types, 2);
    assert_string_equal(S(&p, p.sample_types[1].type), "space");
    cp_profile_free(&p);
}

static void test_contention_and_counts(void **state)
{
    (void)state;
    static const char cz[] = "--- contentionz 1 ---\n"
                             "cycles/second = 2000000000\n"
                             "sampling period = 10\n"
                             "ms since reset = 1500\n"
                             "100 2 @ 0x1001 0x2001\n"
                             "--- Memory map: ---\n"
                             "00001000-00003000: /bin/prog\n";
    struct cp_profile p;
    char err[256] = "";
    assert_int_equal(cp_legacy_parse(cz, sizeof(cz) - 1, 0, &p, err,
                                     sizeof err), 0);
    assert_string_equal(S(&p, p.sample_types[1].type), "delay");
    assert_int_equal(p.samples[0].values[0], 20);  /* 2 x period */
    assert_int_equal(p.samples[0].values[1], 500); /* 100 cycles at 2 GHz x 10 */
    assert_int_equal(p.duration_nanos, 1500000000);
    assert_int_equal(p.n_mappings, 1);
    cp_profile_free(&p);

    static const char gc[] = "goroutine profile: total 3\n"
                             "2 @ 0x1001 0x2001\n"
                             "#\t0x1000\tmain.f+0x0\t/x.go:3\n"
                             "#\t0x2000\tmain.main+0x0\t/x.go:9\n"
                             "\n1 @ 0x2001\n";
    assert_int_equal(cp_legacy_parse(gc, sizeof(gc) - 1, 0, &p, err,
                                     sizeof err), 0);
    assert_string_equal(S(&p, p.sample_types[0].type), "goroutine");
    assert_int_equal(p.samples[0].values[0], 2);
    assert_int_equal(p.n_functions, 2);
    cp_profile_free(&p);
}

static void test_errors(void **state)
{
    (void)state;
    struct cp_profile p;
    char err[256] = "";
    static const char bad[] = "heap profile: 1: 2 [3: 4] @ heap/1024\n"
                              "1: 2 [3: 4] @ 0x1234\nnot a record\n";
    assert_int_equal(cp_legacy_parse(bad, sizeof(bad) - 1, 0, &p, err,
                                     sizeof err), -EBADMSG);
    assert_non_null(strstr(err, "line 3"));
    static const char zero[] = "heap profile: 1: 2 [3: 4] @ heap/1024\n"
                               "0: 5 [0: 0] @ 0x1234\n";
    assert_int_equal(cp_legacy_parse(zero, sizeof(zero) - 1, 0, &p, err,
                                     sizeof err), -EBADMSG);
    assert_non_null(strstr(err, "count was 0"));
    static const char big[] = "heap profile: 1: 2 [3: 4] @ heap/1024\n"
                              "1: 2 [3: 4] @ 0x12345678901234567890\n";
    assert_int_equal(cp_legacy_parse(big, sizeof(big) - 1, 0, &p, err,
                                     sizeof err), -EBADMSG);
    static const char count[] = "threadcreate profile: total 4\n4 @\n";
    assert_int_equal(cp_legacy_parse(count, sizeof(count) - 1, 0, &p, err,
                                     sizeof err), -EBADMSG);
    static const char text[] = "hello, world\n";
    assert_int_equal(cp_legacy_parse(text, sizeof(text) - 1, 0, &p, err,
                                     sizeof err), -ENOTSUP);
    assert_int_equal(cp_legacy_parse("", 0, 0, &p, err, sizeof err),
                     -ENOTSUP);
    /* a CPU header whose stack count runs past the end */
    unsigned char b[64];
    size_t o = 0;
    const uint64_t w[] = {0, 3, 0, 100, 0, 1, 1000};
    for (size_t i = 0; i < 7; i++)
        o = put(b, o, w[i], 8, false);
    assert_int_equal(cp_legacy_parse(b, o, 0, &p, err, sizeof err),
                     -ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gperftools_cpu),
        cmocka_unit_test(test_go_heap_text),
        cmocka_unit_test(test_gperftools_heap),
        cmocka_unit_test(test_contention_and_counts),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
