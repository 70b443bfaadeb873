/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_dynbuf.c - the capped growable buffer: appends, the hard limit at
 * its exact boundary, printf growth, take/reset, reserve/setlen, and that
 * a failed append leaves the buffer as it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile/dynbuf.h"

static void test_add_and_terminate(void **state)
{
    (void)state;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1000);
    assert_null(b.data);
    assert_int_equal(cp_dynbuf_add(&b, "abc", 3), 0);
    assert_int_equal(cp_dynbuf_addstr(&b, "def"), 0);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    /* embedded NULs are data, not terminators */
    assert_int_equal(cp_dynbuf_add(&b, "x\0y", 3), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data + 6, "x\0y", 3);
    assert_int_equal(b.data[9], '\0');
    /* a zero-length add succeeds and keeps data non-NULL */
    assert_int_equal(cp_dynbuf_add(&b, NULL, 0), 0);
    assert_int_equal(b.len, 9);
    cp_dynbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_limit_exact(void **state)
{
    (void)state;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 10);
    assert_int_equal(cp_dynbuf_add(&b, "0123456789", 10), 0); /* == limit */
    assert_int_equal(cp_dynbuf_add(&b, "x", 1), -E2BIG);
    /* the failed add left the buffer intact */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_true(b.cap <= 11); /* never allocates past limit + NUL */
    cp_dynbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(cp_dynbuf_add(&b, "01234567890", 11), -E2BIG);
    assert_int_equal(b.len, 0);
    cp_dynbuf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cp_dynbuf_printf(&b, "%d,", i), 0);
    /* 10*2 + 90*3 + 900*4 bytes */
    assert_int_equal(b.len, 20 + 270 + 3600);
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_string_equal(b.data + b.len - 4, "999,");
    /* one long line that needs growth in the middle */
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    size_t before = b.len;
    assert_int_equal(cp_dynbuf_printf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, before + 5001);
    assert_int_equal(b.data[before], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    cp_dynbuf_free(&b);

    /* past the limit: E2BIG, contents unchanged and terminated */
    cp_dynbuf_init(&b, 8);
    assert_int_equal(cp_dynbuf_printf(&b, "%s", "abcd"), 0);
    assert_int_equal(cp_dynbuf_printf(&b, "%s", "efghi"), -E2BIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "abcd");
    assert_int_equal(cp_dynbuf_printf(&b, "%s", "efgh"), 0);
    assert_string_equal(b.data, "abcdefgh");
    cp_dynbuf_free(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct cp_dynbuf b;
    size_t len = 99;
    cp_dynbuf_init(&b, 100);
    assert_null(cp_dynbuf_take(&b, &len));
    assert_int_equal(len, 0);
    assert_int_equal(cp_dynbuf_addstr(&b, "hello"), 0);
    char *s = cp_dynbuf_take(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_string_equal(s, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    /* reusable after take */
    assert_int_equal(cp_dynbuf_addstr(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    cp_dynbuf_free(&b);
}

static void test_reserve_setlen(void **state)
{
    (void)state;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 4096);
    assert_int_equal(cp_dynbuf_addstr(&b, "ab"), 0);
    assert_int_equal(cp_dynbuf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 2 + 1000 + 1);
    assert_int_equal(b.len, 2);
    memset(b.data + b.len, 'q', 1000);
    cp_dynbuf_setlen(&b, 1002);
    assert_int_equal(b.len, 1002);
    assert_int_equal(b.data[1002], '\0');
    assert_int_equal(b.data[1001], 'q');
    assert_int_equal(cp_dynbuf_reserve(&b, 4096), -E2BIG);
    assert_int_equal(cp_dynbuf_reserve(&b, 4096 - 1002), 0);
    /* setlen past the allocation is ignored rather than corrupting */
    cp_dynbuf_setlen(&b, b.cap + 10);
    assert_int_equal(b.len, 1002);
    cp_dynbuf_free(&b);
}

static void test_growth_is_amortized(void **state)
{
    (void)state;
    /* 1 MiB in 1-byte appends: doubling means ~14 reallocations; check
     * the capacity stays within 2x of the length. */
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, SIZE_MAX);
    for (int i = 0; i < (1 << 20); i++)
        assert_int_equal(cp_dynbuf_add(&b, "k", 1), 0);
    assert_int_equal(b.len, 1 << 20);
    assert_true(b.cap <= 2 * (size_t)(1 << 20) + 64);
    cp_dynbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_terminate),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_reserve_setlen),
        cmocka_unit_test(test_growth_is_amortized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
