/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile.c - the profile model: string interning (entry 0 is "",
 * same string same index, NUL bytes, many strings), dense ids, zeroed
 * per-record arrays, lookups, sample types, and scale (a million samples
 * through the append API without per-sample malloc).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "profile/codec.h"
#include "profile/profile.h"
#include "profile/profile_int.h"

static void test_init_free(void **state)
{
    (void)state;
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    assert_int_equal(cp_profile_n_strings(&p), 1);
    assert_string_equal(cp_profile_string(&p, 0), "");
    assert_int_equal(cp_profile_str(&p, ""), 0);
    assert_int_equal(p.n_samples, 0);
    cp_profile_free(&p);
    /* freeing twice, or a zeroed struct, is safe */
    cp_profile_free(&p);
    struct cp_profile z;
    memset(&z, 0, sizeof(z));
    cp_profile_free(&z);
}

static void test_strings(void **state)
{
    (void)state;
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    int64_t a = cp_profile_str(&p, "alpha");
    int64_t b = cp_profile_str(&p, "beta");
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(cp_profile_str(&p, "alpha"), a);
    assert_int_equal(cp_profile_strn(&p, "alphabet", 5), a);
    assert_int_equal(cp_profile_strn(&p, "betamax", 4), b);
    assert_string_equal(cp_profile_string(&p, a), "alpha");
    /* out of range: "" and never NULL */
    assert_string_equal(cp_profile_string(&p, -1), "");
    assert_string_equal(cp_profile_string(&p, 3), "");
    assert_string_equal(cp_profile_string(&p, INT64_MAX), "");
    /* NUL bytes are part of a string */
    int64_t n1 = cp_profile_strn(&p, "a\0b", 3);
    int64_t n2 = cp_profile_strn(&p, "a\0c", 3);
    assert_true(n1 > b && n2 > n1);
    size_t len = 0;
    const char *s = cp_profile_stringn(&p, n1, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    assert_int_equal(cp_profile_strn(&p, "a", 1), cp_profile_str(&p, "a"));
    assert_int_not_equal(cp_profile_str(&p, "a"), n1);
    cp_profile_free(&p);
}

static void test_many_strings(void **state)
{
    (void)state;
    struct cp_profile p;
    char buf[64];
    assert_int_equal(cp_profile_init(&p), 0);
    for (int i = 0; i < 200000; i++) {
        snprintf(buf, sizeof(buf), "github.com/x/pkg.func%d", i);
        assert_int_equal(cp_profile_str(&p, buf), i + 1);
    }
    for (int i = 0; i < 200000; i += 997) {
        snprintf(buf, sizeof(buf), "github.com/x/pkg.func%d", i);
        assert_int_equal(cp_profile_str(&p, buf), i + 1);
        assert_string_equal(cp_profile_string(&p, i + 1), buf);
    }
    assert_int_equal(cp_profile_n_strings(&p), 200001);
    cp_profile_free(&p);
}

/* A table built without interning (as decode builds it, duplicates kept)
 * is indexed lazily on the first intern: the first copy wins. */
static void test_lazy_index_duplicates(void **state)
{
    (void)state;
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    static const char *const strs[] = {"x", "dup", "y", "dup", "z"};
    assert_int_equal(cp_profile_strtab_reserve(&p, 5), 0);
    for (int i = 0; i < 5; i++)
        cp_profile_strtab_push(&p, strs[i], strlen(strs[i]));
    assert_int_equal(cp_profile_n_strings(&p), 6);
    assert_int_equal(cp_profile_str(&p, "dup"), 2);
    assert_int_equal(cp_profile_str(&p, "z"), 5);
    assert_int_equal(cp_profile_str(&p, "new"), 6);
    assert_string_equal(cp_profile_string(&p, 4), "dup"); /* kept */
    cp_profile_free(&p);
}

static void test_records(void **state)
{
    (void)state;
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    assert_int_equal(cp_profile_add_sample_type(&p, "samples", "count"), 0);
    assert_int_equal(cp_profile_add_sample_type(&p, "cpu", "nanoseconds"), 1);
    assert_int_equal(cp_profile_sample_type_index(&p, "cpu"), 1);
    assert_int_equal(cp_profile_sample_type_index(&p, "samples"), 0);
    assert_int_equal(cp_profile_sample_type_index(&p, "wall"), -1);

    struct cp_mapping *m = cp_profile_add_mapping(&p);
    assert_non_null(m);
    assert_int_equal(m->id, 1);
    assert_int_equal(m->memory_start, 0);
    struct cp_function *f1 = cp_profile_add_function(&p);
    struct cp_function *f2 = cp_profile_add_function(&p);
    assert_int_equal(f1->id, 1);
    assert_int_equal(f2->id, 2);
    struct cp_location *l = cp_profile_add_location(&p, 3);
    assert_non_null(l);
    assert_int_equal(l->id, 1);
    assert_int_equal(l->n_lines, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(l->lines[i].function_id, 0);
        assert_int_equal(l->lines[i].line, 0);
        assert_int_equal(l->lines[i].column, 0);
    }
    assert_int_equal(cp_profile_set_lines(&p, l, 1), 0);
    assert_int_equal(l->n_lines, 1);
    assert_int_equal(l->lines[0].function_id, 0);
    assert_int_equal(cp_profile_set_lines(&p, l, 0), 0);
    assert_null(l->lines);
    struct cp_location *l2 = cp_profile_add_location(&p, 0);
    assert_int_equal(l2->id, 2);

    struct cp_sample *s = cp_profile_add_sample(&p, 4, 2);
    assert_non_null(s);
    assert_int_equal(s->n_locations, 4);
    assert_int_equal(s->n_labels, 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s->location_ids[i], 0);
    assert_int_equal(s->values[0], 0);
    assert_int_equal(s->values[1], 0);
    assert_int_equal(s->labels[1].key, 0);
    assert_int_equal(s->labels[1].num_unit, 0);
    /* the arrays do not overlap */
    s->location_ids[3] = 77;
    s->values[0] = 5;
    s->labels[0].key = 9;
    assert_int_equal(s->location_ids[3], 77);
    assert_int_equal(s->values[0], 5);
    assert_int_equal(s->values[1], 0);

    /* sample types are fixed once samples exist */
    assert_int_equal(cp_profile_add_sample_type(&p, "late", "count"), -EINVAL);
    assert_int_equal(p.n_sample_types, 2);

    assert_ptr_equal(cp_profile_mapping(&p, 1), &p.mappings[0]);
    assert_null(cp_profile_mapping(&p, 0));
    assert_null(cp_profile_mapping(&p, 2));
    assert_ptr_equal(cp_profile_function(&p, 2), &p.functions[1]);
    assert_null(cp_profile_function(&p, 3));
    assert_ptr_equal(cp_profile_location(&p, 2), &p.locations[1]);
    assert_null(cp_profile_location(&p, UINT64_MAX));

    assert_int_equal(cp_profile_add_comment(&p, "hello"), 0);
    assert_int_equal(p.n_comments, 1);
    assert_string_equal(cp_profile_string(&p, p.comments[0]), "hello");

    /* arena: small and big allocations, zeroed and 16-aligned */
    for (int i = 0; i < 100; i++) {
        unsigned char *a = cp_profile_alloc(&p, (size_t)i * 4099 + 1);
        assert_non_null(a);
        assert_int_equal((uintptr_t)a % 16, 0);
        assert_int_equal(a[0], 0);
        assert_int_equal(a[(size_t)i * 4099], 0);
        memset(a, 0xab, (size_t)i * 4099 + 1);
    }
    unsigned char *huge = cp_profile_alloc(&p, 40u << 20);
    assert_non_null(huge);
    assert_int_equal(huge[(40u << 20) - 1], 0);
    cp_profile_free(&p);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A million samples through the append API: linear time, memory close to
 * the payload (no per-sample malloc headers). */
static void test_million_samples(void **state)
{
    (void)state;
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    assert_int_equal(cp_profile_add_sample_type(&p, "samples", "count"), 0);
    for (int i = 0; i < 1000; i++)
        assert_non_null(cp_profile_add_location(&p, 1));
    double t0 = now_s();
    const size_t n = 1000000;
    for (size_t i = 0; i < n; i++) {
        struct cp_sample *s = cp_profile_add_sample(&p, 8, 1);
        assert_non_null(s);
        for (int j = 0; j < 8; j++)
            s->location_ids[j] = (i + (size_t)j) % 1000 + 1;
        s->values[0] = 1;
    }
    double dt = now_s() - t0;
    assert_int_equal(p.n_samples, n);
    assert_int_equal(p.samples[n - 1].location_ids[7], (n - 1 + 7) % 1000 + 1);
    /* payload: 8*8 + 8 + 32 = 104 B per sample; allow chunk slack */
    size_t arena = cp_profile_arena_bytes(&p);
    assert_true(arena >= n * 104);
    assert_true(arena < n * 104 * 13 / 10 + (64u << 20));
    print_message("1M samples appended in %.3f s, arena %zu MiB\n", dt,
                  arena >> 20);
    cp_profile_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_free),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_many_strings),
        cmocka_unit_test(test_lazy_index_duplicates),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_million_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
