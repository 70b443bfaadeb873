/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_heap.c - the heap profiler's pieces (src/heap*.c): size classes,
 * the sampling distance and the unbiasing maths, the region's blocks,
 * Go's tabwriter layout (vectors produced by Go's text/tabwriter), and, in
 * builds where cprof owns malloc (not under ASan), the interposers inside
 * this very process: exact counts at rate 1, glibc's documented
 * semantics, threads, the profile and its legacy text.
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cp_limits.h"
#include "cprof.h"
#include "heap.h"
#include "profile/dynbuf.h"
#include "profile/profile.h"

/* ---- maths ---- */

static void test_size_classes(void **state)
{
    size_t prev = 0;
    for (unsigned c = 0; c < 160; c++) {
        size_t s = cp_heap_class_size(c);
        assert_true(s > prev);
        assert_int_equal(s % 16, 0);
        assert_int_equal(cp_heap_size_class(s), c);
        assert_int_equal(cp_heap_size_class(prev + 1), c);
        prev = s;
    }
    for (size_t n = 1; n < 5000000; n = n * 5 / 4 + 1) {
        size_t s = cp_heap_class_size(cp_heap_size_class(n));
        assert_true(s >= n);
        if (n > 128)
            assert_true(s <= n + n / 4 + 16); /* at most 25% rounding */
    }
}

static void test_neg_log(void **state)
{
    double us[] = {1.0, 0.999999, 0.75, 0.5, 0.3678794411714423, 0.1,
                   1e-3, 1e-9, 0x1p-53, 0.7071067811865476};
    for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
        double want = -log(us[i]), got = cp_heap_neg_log(us[i]);
        assert_true(fabs(got - want) <= 1e-12 * (want > 1 ? want : 1));
    }
}

/* The distance is geometric: P(D <= s) = 1 - exp(-s/R), mean ~ R. */
static void test_distance_distribution(void **state)
{
    const int64_t R = 4096;
    const int N = 400000;
    uint64_t rng = 12345;
    double sum = 0;
    int le[3] = {0};
    const int64_t s[3] = {100, 4096, 20000};

    for (int i = 0; i < N; i++) {
        int64_t d = cp_heap_next_distance(&rng, R);
        assert_true(d >= 1);
        sum += (double)d;
        for (int k = 0; k < 3; k++)
            le[k] += d <= s[k];
    }
    /* mean of floor(Exp(R)) + 1 is R + 1/2; 5 standard errors */
    assert_true(fabs(sum / N - (R + 0.5)) < 5 * R / sqrt(N));
    for (int k = 0; k < 3; k++) {
        double p = 1 - exp(-(double)s[k] / R);
        double se = sqrt(p * (1 - p) / N);
        assert_true(fabs((double)le[k] / N - p) < 5 * se);
    }
}

/* Go's scaleHeapSample, written with libm as Go writes it. */
static void go_scale(int64_t c, int64_t b, int64_t rate, int64_t *co,
                     int64_t *bo)
{
    if (c == 0 || b == 0) {
        *co = *bo = 0;
        return;
    }
    if (rate <= 1) {
        *co = c;
        *bo = b;
        return;
    }
    double avg = (double)b / (double)c;
    double scale = 1 / (1 - exp(-avg / (double)rate));
    *co = (int64_t)((double)c * scale);
    *bo = (int64_t)((double)b * scale);
}

static void test_scale_matches_go(void **state)
{
    const int64_t rates[] = {1, 2, 4096, 524288, 1 << 30};
    const int64_t sizes[] = {1, 16, 1000, 4096, 65536, 1 << 20, 100 << 20};
    for (size_t r = 0; r < 5; r++) {
        for (size_t s = 0; s < 7; s++) {
            for (int64_t c = 0; c < 2000; c += 333) {
                int64_t a, b, x, y;
                cp_heap_scale(c, c * sizes[s], rates[r], &a, &b);
                go_scale(c, c * sizes[s], rates[r], &x, &y);
                /* same formula; the last unit may differ by rounding */
                assert_true(llabs(a - x) <= 1 + x / 1000000000);
                assert_true(llabs(b - y) <= 1 + y / 1000000000);
            }
        }
    }
    int64_t a, b;
    cp_heap_scale(0, 0, 524288, &a, &b);
    assert_int_equal(a, 0);
    cp_heap_scale(3, 0, 524288, &a, &b); /* Go zeroes zero-byte records */
    assert_int_equal(a, 0);
}

/* ---- the region ---- */

static void test_region_blocks(void **state)
{
    const size_t sizes[] = {0, 1, 16, 100, 4000, 33000, 70000, 3 << 20};
    const size_t aligns[] = {0, 16, 64, 4096, 65536};
    void *p;
    uint32_t bucket;
    size_t usable;

    assert_int_equal(cp_heap_region_init(), 0);
    for (size_t i = 0; i < 8; i++) {
        for (size_t k = 0; k < 5; k++) {
            p = cp_heap_block_alloc(sizes[i], aligns[k], 1000 + (uint32_t)i,
                                    true);
            assert_non_null(p);
            assert_true(cp_heap_in_region(p));
            assert_false(cp_heap_is_boot(p));
            assert_int_equal((uintptr_t)p % (aligns[k] ? aligns[k] : 16), 0);
            assert_int_equal(cp_heap_block_info(p, &bucket, &usable), 0);
            assert_int_equal(bucket, 1000 + i);
            assert_true(usable >= sizes[i]);
            for (size_t j = 0; j < sizes[i]; j++)
                assert_int_equal(((unsigned char *)p)[j], 0);
            memset(p, 0xab, usable);
            cp_heap_block_free(p);
            /* freed: recognized as not live (double free) */
            assert_int_equal(cp_heap_block_info(p, NULL, NULL), -EINVAL);
        }
    }
    /* a reused block is zeroed again on request */
    p = cp_heap_block_alloc(100, 0, 7, true);
    for (size_t j = 0; j < 100; j++)
        assert_int_equal(((unsigned char *)p)[j], 0);
    /* interior pointers and stray addresses are refused */
    assert_int_equal(cp_heap_block_info((char *)p + 16, NULL, NULL), -EINVAL);
    assert_int_equal(cp_heap_block_info((char *)p + 3, NULL, NULL), -EINVAL);
    cp_heap_block_free(p);
    /* oversize and bad alignments are not served */
    assert_null(cp_heap_block_alloc(100, (size_t)2 << 20, 1, false));
    assert_null(cp_heap_block_alloc(100, 48, 1, false));
}

static void test_boot_blocks(void **state)
{
    void *a = cp_heap_boot_alloc(10, 16), *b = cp_heap_boot_alloc(100, 256);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(cp_heap_is_boot(a) && cp_heap_is_boot(b));
    assert_true(cp_heap_in_region(a));
    assert_int_equal((uintptr_t)b % 256, 0);
    assert_int_equal(cp_heap_boot_usable(a), 10);
    assert_int_equal(cp_heap_boot_usable(b), 100);
    assert_null(cp_heap_boot_alloc(CP_HEAP_BOOT_BYTES + 1, 16));
}

/* ---- Go's text/tabwriter, vectors from Go 1.19 ---- */

static const char *const tw_cases[][2] = {
    {"heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n#\t0x400000\tmain+0x1\t/a.c:1\n#\t0x7f0000001234\tsome_long_function_name+0x1f\t/src/b.c:22\n\n",
     "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n#\t0x400000\tmain+0x1\t\t\t/a.c:1\n#\t0x7f0000001234\tsome_long_function_name+0x1f\t/src/b.c:22\n\n"},
    {"#\t0x1\tf+0x1\tx:1\n#\t0x2\n#\t0x3\tg+0x2\ty:2\n\n",
     "#\t0x1\tf+0x1\tx:1\n#\t0x2\n#\t0x3\tg+0x2\ty:2\n\n"},
    {"a\tb\tc\nxx\tyyyyyyyyyyyyyyyyyy\tz\nq\n\tr\ts\n",
     "a\tb\t\t\tc\nxx\tyyyyyyyyyyyyyyyyyy\tz\nq\n\tr\ts\n"},
    {"h\xc3\xa9llo\tw\xc3\xb6rld\tx\nab\tc\td\n",
     "h\xc3\xa9llo\tw\xc3\xb6rld\tx\nab\tc\td\n"},
    {"no tabs at all\nsecond line\n", "no tabs at all\nsecond line\n"},
    {"#\t0x55d0700631c7\tsite_b+0x10\t/tmp/h/t1.c:6\n#\t0x7f7ca2340304\t__libc_start_main_impl+0x84\t../csu/libc-start.c:360\n#\t0x55d0700630e0\t_start+0x20\t:0\n\n",
     "#\t0x55d0700631c7\tsite_b+0x10\t\t\t/tmp/h/t1.c:6\n#\t0x7f7ca2340304\t__libc_start_main_impl+0x84\t../csu/libc-start.c:360\n#\t0x55d0700630e0\t_start+0x20\t\t\t:0\n\n"},
    {"a\tb\n\nc\td\te\n", "a\tb\n\nc\td\te\n"},
};

static void test_tabwriter_go(void **state)
{
    for (size_t i = 0; i < sizeof tw_cases / sizeof tw_cases[0]; i++) {
        struct cp_dynbuf b;
        cp_dynbuf_init(&b, 1 << 20);
        assert_int_equal(
            cp_heap_tabwrite(tw_cases[i][0], strlen(tw_cases[i][0]), &b), 0);
        assert_non_null(b.data);
        assert_string_equal(b.data, tw_cases[i][1]);
        cp_dynbuf_free(&b);
    }
}

/* ---- the interposers, in this process ---- */

#ifdef CP_SANITIZE
#define NEED_INTERPOSITION()                                                \
    do {                                                                    \
        print_message("skipped: ASan owns malloc in this build\n");         \
        skip();                                                             \
    } while (0)
#else
#define NEED_INTERPOSITION() ((void)0)
#endif

/* Allocation sites: tiny, not inlined (site_end only bounds the last). */
__attribute__((noinline)) static void *site_malloc(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *site_calloc(size_t a, size_t b)
{
    void *p = calloc(a, b);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *site_thread(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *site_stat(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) static void *site_end(size_t n)
{
    return (void *)n;
}

static const uintptr_t sites[] = {
    (uintptr_t)site_malloc, (uintptr_t)site_calloc, (uintptr_t)site_thread,
    (uintptr_t)site_stat, (uintptr_t)site_end};

/* The site whose code holds pc: from its entry up to the next site's
 * (whatever order the compiler laid them out in), 256 bytes at most (a pc
 * in libc or ld.so above every site is no site's: rate 1 also records
 * ld.so's allocations for new threads). */
static int site_of(uintptr_t pc)
{
    for (int i = 0; i < 4; i++) {
        uintptr_t f = sites[i], end = f + 256;
        for (int j = 0; j < 5; j++) {
            if (sites[j] > f && sites[j] < end)
                end = sites[j];
        }
        if (pc >= f && pc < end)
            return i;
    }
    return -1;
}

struct site_tot {
    uint64_t allocs, frees, bytes, recs;
    uint64_t size; /* of the last record */
};

static void totals(int site, struct site_tot *t)
{
    struct cp_heap_snap s;
    memset(t, 0, sizeof *t);
    assert_int_equal(cp_heap_snapshot(&s), 0);
    for (size_t i = 0; i < s.n_recs; i++) {
        const struct cp_heap_snap_stack *st = &s.stacks[s.recs[i].stack];
        if (!st->n || site_of(st->pcs[0]) != site)
            continue;
        t->allocs += s.recs[i].allocs;
        t->frees += s.recs[i].frees;
        t->bytes += s.recs[i].allocs * s.recs[i].size;
        t->size = s.recs[i].size;
        t->recs++;
    }
    cp_heap_snap_free(&s);
}

static void test_rate1_exact(void **state)
{
    static void *keep[300];
    struct site_tot t;

    NEED_INTERPOSITION();
    cprof_heap_set_rate(1);
    for (int i = 0; i < 300; i++) {
        keep[i] = i < 200 ? site_malloc(48) : site_calloc(10, 20);
        assert_non_null(keep[i]);
        assert_true(cp_heap_in_region(keep[i]));
    }
    for (int i = 0; i < 100; i++)
        free(keep[i]);
    totals(0, &t);
    assert_int_equal(t.allocs, 200);
    assert_int_equal(t.frees, 100);
    assert_int_equal(t.size, 48);
    assert_int_equal(t.recs, 1);
    totals(1, &t);
    assert_int_equal(t.allocs, 100);
    assert_int_equal(t.frees, 0);
    assert_int_equal(t.size, 200);
    for (int i = 100; i < 300; i++)
        free(keep[i]);
    totals(1, &t);
    assert_int_equal(t.frees, 100);
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

static void check_semantics(void)
{
    unsigned char *p, *q;
    void *v = NULL;
    volatile size_t half = SIZE_MAX / 2;
    int e;

    p = malloc(0);
    assert_non_null(p);
    free(p);
    free(NULL);

    p = malloc(1000);
    memset(p, 0x5a, 1000);
    free(p);
    p = calloc(1000, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(p[i], 0);
    free(p);

    p = realloc(NULL, 10);
    assert_non_null(p);
    memcpy(p, "0123456789", 10);
    p = realloc(p, 100000);
    assert_non_null(p);
    assert_memory_equal(p, "0123456789", 10);
    p = realloc(p, 5);
    assert_memory_equal(p, "01234", 5);
    assert_true(malloc_usable_size(p) >= 5);
    errno = 0;
    q = realloc(p, 0); /* glibc: frees p, returns NULL */
    assert_null(q);

    errno = 0;
    assert_null(reallocarray(NULL, half, 3));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(calloc(half, 3));
    assert_int_equal(errno, ENOMEM);
    p = reallocarray(NULL, 10, 10);
    assert_non_null(p);
    free(p);

    assert_int_equal(posix_memalign(&v, 3, 10), EINVAL);
    assert_int_equal(posix_memalign(&v, 24, 10), EINVAL);
    assert_int_equal(posix_memalign(&v, 64, 100), 0);
    assert_int_equal((uintptr_t)v % 64, 0);
    assert_true(malloc_usable_size(v) >= 100);
    free(v);
    v = aligned_alloc(4096, 10000);
    assert_non_null(v);
    assert_int_equal((uintptr_t)v % 4096, 0);
    free(v);
    v = memalign(48, 100); /* glibc rounds the alignment up to 64 */
    assert_non_null(v);
    assert_int_equal((uintptr_t)v % 64, 0);
    free(v);
    v = valloc(10);
    assert_int_equal((uintptr_t)v % 4096, 0);
    free(v);
    v = pvalloc(1);
    assert_int_equal((uintptr_t)v % 4096, 0);
    assert_true(malloc_usable_size(v) >= 4096);
    free(v);
    assert_int_equal(malloc_usable_size(NULL), 0);
    e = errno;
    (void)e;
}

static void test_semantics_every_path(void **state)
{
    NEED_INTERPOSITION();
    cprof_heap_set_rate(1); /* every block from cprof's region */
    check_semantics();
    cprof_heap_set_rate(0); /* pure pass-through */
    check_semantics();
    cprof_heap_set_rate(4096); /* a mix */
    for (int i = 0; i < 50; i++)
        check_semantics();
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

static void test_cross_rate_moves(void **state)
{
    char *a, *b;
    uint64_t bad = atomic_load(&cp_heap_ctr.bad_frees);

    NEED_INTERPOSITION();
    cprof_heap_set_rate(0);
    a = malloc(100); /* unsampled */
    strcpy(a, "unsampled");
    cprof_heap_set_rate(1);
    b = malloc(100); /* sampled */
    strcpy(b, "sampled");
    assert_false(cp_heap_in_region(a));
    assert_true(cp_heap_in_region(b));
    a = realloc(a, 200); /* moves into the region */
    assert_true(cp_heap_in_region(a));
    assert_string_equal(a, "unsampled");
    cprof_heap_set_rate(0);
    b = realloc(b, 300); /* moves out */
    assert_false(cp_heap_in_region(b));
    assert_string_equal(b, "sampled");
    free(a);
    free(b);
    assert_int_equal(atomic_load(&cp_heap_ctr.bad_frees), bad);
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

static void test_double_free_ignored(void **state)
{
    uint64_t bad = atomic_load(&cp_heap_ctr.bad_frees);
    void *p;

    NEED_INTERPOSITION();
    cprof_heap_set_rate(1);
    p = malloc(64);
    assert_true(cp_heap_in_region(p));
    /* a copy taken before the first free: gcc's -Wuse-after-free flags
     * any read of p after it, which this test means to do */
    void *volatile again = p;
    free(p);
    free(again); /* glibc would abort; cprof counts it and goes on */
    assert_int_equal(atomic_load(&cp_heap_ctr.bad_frees), bad + 1);
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

#define THREADS 4
#define PER_THREAD 5000
static void *thread_blocks[THREADS][PER_THREAD];

static void *thread_main(void *arg)
{
    void **out = arg;
    for (int i = 0; i < PER_THREAD; i++)
        out[i] = site_thread(24 + (size_t)(i % 2) * 8);
    return NULL;
}

static void test_threads_exact(void **state)
{
    pthread_t t[THREADS];
    struct site_tot tot;

    NEED_INTERPOSITION();
    cprof_heap_set_rate(1);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, thread_main, thread_blocks[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* freed by another thread than the one that allocated */
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < PER_THREAD; k++)
            free(thread_blocks[i][k]);
    totals(2, &tot);
    assert_int_equal(tot.allocs, THREADS * PER_THREAD);
    assert_int_equal(tot.frees, THREADS * PER_THREAD);
    assert_int_equal(tot.bytes, THREADS * PER_THREAD / 2 * (24 + 32));
    assert_int_equal(tot.recs, 2); /* two sizes, one stack */
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

/* 20 MB live in 1000-byte blocks at a 4 KiB rate: about 4300 samples, so
 * the estimate's standard error is 1.3%; allow 5 of them. */
static void test_unbiased_estimate(void **state)
{
    enum { N = 20000, SZ = 1000, RATE = 4096 };
    static void *keep[N];
    struct site_tot t;
    int64_t c, b;

    NEED_INTERPOSITION();
    cprof_heap_set_rate(RATE);
    for (int i = 0; i < N; i++)
        keep[i] = site_stat(SZ);
    totals(3, &t);
    cp_heap_scale((int64_t)(t.allocs - t.frees),
                  (int64_t)((t.allocs - t.frees) * SZ), RATE, &c, &b);
    print_message("sampled %llu of %d; estimate %lld bytes of %d\n",
                  (unsigned long long)t.allocs, N, (long long)b, N * SZ);
    assert_true(llabs(b - (int64_t)N * SZ) < (int64_t)N * SZ / 15);
    for (int i = 0; i < N; i++)
        free(keep[i]);
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

static void test_profile_and_text(void **state)
{
    struct cp_profile p;
    struct cp_dynbuf d;
    void *keep[10];
    int64_t in_s = 0, in_o = 0, al_o = 0;
    bool labelled = false;

    NEED_INTERPOSITION();
    cprof_heap_set_rate(1);
    for (int i = 0; i < 10; i++)
        keep[i] = site_malloc(4000);
    for (int i = 0; i < 4; i++)
        free(keep[i]);
    assert_int_equal(cp_heap_build(&p, false), 0);
    assert_int_equal(p.n_sample_types, 4);
    assert_string_equal(cp_profile_string(&p, p.sample_types[0].type),
                        "alloc_objects");
    assert_string_equal(cp_profile_string(&p, p.sample_types[3].type),
                        "inuse_space");
    assert_string_equal(cp_profile_string(&p, p.sample_types[3].unit),
                        "bytes");
    assert_string_equal(cp_profile_string(&p, p.default_sample_type),
                        "inuse_space");
    assert_string_equal(cp_profile_string(&p, p.period_type.type), "space");
    assert_int_equal(p.period, 1);
    for (size_t i = 0; i < p.n_samples; i++) {
        const struct cp_sample *s = &p.samples[i];
        const struct cp_location *l = cp_profile_location(&p, s->location_ids[0]);
        if (!l || site_of(l->address) != 0 || s->n_labels != 1 ||
            s->labels[0].num != 4000)
            continue;
        labelled = !strcmp(cp_profile_string(&p, s->labels[0].key), "bytes");
        al_o += s->values[0];
        in_o += s->values[2];
        in_s += s->values[3];
    }
    assert_true(labelled);
    assert_int_equal(al_o, 10);
    assert_int_equal(in_o, 6);
    assert_int_equal(in_s, 24000);
    cp_profile_free(&p);
    assert_int_equal(cp_heap_build(&p, true), 0);
    assert_string_equal(cp_profile_string(&p, p.default_sample_type),
                        "alloc_space");
    cp_profile_free(&p);

    cp_dynbuf_init(&d, (size_t)64 << 20);
    assert_int_equal(cp_heap_write_text(&d), 0);
    assert_non_null(strstr(d.data, "heap profile: "));
    assert_true(!strncmp(d.data, "heap profile: ", 14));
    assert_non_null(strstr(d.data, "] @ heap/2\n"));
    assert_non_null(strstr(d.data, "\n6: 24000 [10: 40000] @ 0x"));
    assert_non_null(strstr(d.data, "\tsite_malloc+0x"));
    assert_non_null(strstr(d.data, "\n# cprof.MemStats\n"));
    /* the names SPEC §4 promises, each with a value and its meaning */
    {
        static const char *const names[] = {
            "HeapInuse", "HeapIdle", "HeapReleased", "HeapSys", "Mmap",
            "RSS",       "MaxRSS",   "Alloc",        "TotalAlloc"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            char want[64];
            const char *at;
            snprintf(want, sizeof want, "\n# %s = ", names[i]);
            at = strstr(d.data, want);
            assert_non_null(at);
            at += strlen(want);
            assert_true(*at >= '0' && *at <= '9');
            assert_non_null(strchr(at, '('));
            assert_true(strchr(at, '(') < strchr(at, '\n'));
        }
    }
    assert_non_null(strstr(d.data, "\n\nMAPPED_LIBRARIES:\n"));
    assert_true(strstr(d.data, "# cprof.MemStats") <
                strstr(d.data, "MAPPED_LIBRARIES:"));
    cp_dynbuf_free(&d);
    for (int i = 4; i < 10; i++)
        free(keep[i]);
    cprof_heap_set_rate(CP_HEAP_DEFAULT_RATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_classes),
        cmocka_unit_test(test_neg_log),
        cmocka_unit_test(test_distance_distribution),
        cmocka_unit_test(test_scale_matches_go),
        cmocka_unit_test(test_region_blocks),
        cmocka_unit_test(test_boot_blocks),
        cmocka_unit_test(test_tabwriter_go),
        cmocka_unit_test(test_rate1_exact),
        cmocka_unit_test(test_semantics_every_path),
        cmocka_unit_test(test_cross_rate_moves),
        cmocka_unit_test(test_double_free_ignored),
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_unbiased_estimate),
        cmocka_unit_test(test_profile_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
