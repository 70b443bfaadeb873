/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_unwind.c - the stack walk (src/unwinder.c), with glibc's
 * backtrace() (libgcc's DWARF unwinder) as the oracle:
 *   - a call chain mixing functions with and without frame pointers
 *     (the latter using RBP as an ordinary register), from the test's own
 *     code down through cmocka and glibc to _start, must come out exactly
 *     as backtrace() sees it: cp_unwind_here, cp_unwind from a
 *     getcontext(), and cp_unwind_copy of a copy of the stack;
 *   - through glibc's qsort (no frame pointers) from inside the comparator;
 *   - from inside a signal handler, through the signal frame;
 *   - on a thread of its own;
 *   - in CP_UNWIND_FP mode: whole through frame-pointer code, stopping
 *     (never crashing or inventing frames) at code without them;
 *   - recursion 200 deep: cut at the limit with the truncated flag, in
 *     both modes; 100 deep: whole;
 *   - garbage registers and unknown stack bounds: no crash, tiny walks.
 */
#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <cmocka.h>

#include "cp_limits.h"
#include "modules.h"
#include "unwinder.h"

#define NOIPA __attribute__((noipa))
/* Optimized even in -O0 (Debug, sanitizer) builds: only optimized code
 * keeps data in RBP, which is what the walk through these must survive. */
#define NOFP __attribute__((optimize("O2", "omit-frame-pointer")))
#define WITHFP __attribute__((optimize("no-omit-frame-pointer")))

#define MAXF 256

struct walk {
    uintptr_t pcs[MAXF];
    int n;
    void *bt[MAXF];
    int nbt;
    int truncated;
};

static volatile uint64_t sink;

/* From pcs[first] on, the walk must be backtrace's from the frame where
 * they meet (found, not assumed: under ASan backtrace() is intercepted
 * and reports a frame of its own), frame for frame: minus one (a return
 * address pointing into the call) or exact (the interrupted PC after a
 * signal frame), and end where it ends. */
static void expect_same(const struct walk *w, int first, const char *what)
{
    int k0 = -1, bad = -1, want = 0;
    for (int k = 0; k < 4 && k < w->nbt; k++) {
        uintptr_t b = (uintptr_t)w->bt[k];
        if (w->n > first && (w->pcs[first] == b - 1 || w->pcs[first] == b)) {
            k0 = k;
            break;
        }
    }
    if (k0 >= 0) {
        want = w->nbt - k0;
        for (int i = 0; i < want && first + i < w->n; i++) {
            uintptr_t b = (uintptr_t)w->bt[k0 + i];
            if (w->pcs[first + i] != b - 1 && w->pcs[first + i] != b) {
                bad = i;
                break;
            }
        }
    }
    if (k0 < 0 || w->n - first != want || bad >= 0) {
        print_message("%s: cprof %d frames from %d, backtrace %d from %d "
                      "(first difference at %d)\n", what, w->n, first,
                      w->nbt, k0, bad);
        for (int i = 0; i < MAXF && (i < w->n || i < w->nbt); i++)
            print_message("  %2d cprof %#lx  backtrace %#lx\n", i,
                          i < w->n ? (unsigned long)w->pcs[i] : 0ul,
                          i < w->nbt ? (unsigned long)w->bt[i] : 0ul);
        fail_msg("%s: the walk differs from backtrace()", what);
    }
}

/* Index of backtrace's frame that is the walk's frame `first`. */
static int align(const struct walk *w, int first)
{
    for (int k = 0; k < 4 && k < w->nbt; k++)
        if (w->n > first && w->pcs[first] == (uintptr_t)w->bt[k] - 1)
            return k;
    fail_msg("the walk's frame %d is nowhere in backtrace()", first);
    return -1;
}

/* ---- the chain: fp -> nofp -> fp -> nofp -> leaf ---- */

typedef void leaf_fn(struct walk *w);

/* cp_unwind_here from the leaf: pcs[0] is the leaf's caller. backtrace's
 * frame 0 is the leaf itself, so the comparison skips it. */
static NOIPA WITHFP void leaf_here(struct walk *w)
{
    w->nbt = backtrace(w->bt, MAXF);
    w->n = cp_unwind_here(w->pcs, MAXF, 0);
    sink++;
}

/* cp_unwind from registers captured by getcontext in the leaf. */
static NOIPA WITHFP void leaf_context(struct walk *w)
{
    ucontext_t uc;
    struct cp_regs r;
    uintptr_t lo = 0, hi;

    w->nbt = backtrace(w->bt, MAXF);
    getcontext(&uc);
    cp_regs_from_ucontext(&r, &uc);
    hi = cp_stack_region(r.sp, &lo);
    assert_true(hi > r.sp);
    w->n = cp_unwind(&r, hi, w->pcs, MAXF, &w->truncated);
    sink++;
}

/* Copy raw stack memory, redzones of sanitized frames included (what
 * process_vm_readv does for cprof's thread snapshots). */
__attribute__((no_sanitize_address)) static void
raw_copy(char *dst, const void *src, size_t n)
{
    const volatile char *s = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = s[i];
}

/* cp_unwind_copy of a copy of the live stack, from the same context. */
static NOIPA WITHFP void leaf_copy(struct walk *w)
{
    ucontext_t uc;
    struct cp_regs r;
    uintptr_t lo = 0, hi;
    static char copy[1 << 20];

    w->nbt = backtrace(w->bt, MAXF);
    getcontext(&uc);
    cp_regs_from_ucontext(&r, &uc);
    hi = cp_stack_region(r.sp, &lo);
    size_t len = hi - r.sp < sizeof copy ? hi - r.sp : sizeof copy;
    raw_copy(copy, (const void *)r.sp, len);
    w->n = cp_unwind_copy(&r, 1, copy, len, w->pcs, MAXF, &w->truncated);
    sink++;
}

/* Keeps more values live across the call than there are callee-saved
 * registers besides RBP, so RBP holds data here (checked by
 * test_chain_really_omits_fp). */
static volatile uint64_t vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
#define BUSY_FRAME(name, next_call)                                         \
    static NOIPA NOFP void name(struct walk *w, leaf_fn *leaf, uint64_t s)  \
    {                                                                       \
        /* volatile loads cannot be recomputed after the call: all seven \
         * stay in registers (or the stack) across it */                 \
        uint64_t a = vals[0] + s, b = vals[1], c = vals[2], d = vals[3],    \
                 e = vals[4], f = vals[5], g = vals[6];                     \
        next_call;                                                          \
        sink += a * b + c * d + e * f + g;                                  \
    }

static NOIPA WITHFP void chain_fp3(struct walk *w, leaf_fn *leaf, uint64_t s);
BUSY_FRAME(chain_nofp4, leaf(w))
static NOIPA WITHFP void chain_fp3(struct walk *w, leaf_fn *leaf, uint64_t s)
{
    chain_nofp4(w, leaf, s + 1);
    sink++;
}
BUSY_FRAME(chain_nofp2, chain_fp3(w, leaf, s + 1))
static NOIPA WITHFP void chain_fp1(struct walk *w, leaf_fn *leaf)
{
    chain_nofp2(w, leaf, 7);
    sink++;
}

static void walk_chain(struct walk *w, leaf_fn *leaf)
{
    memset(w, 0, sizeof *w);
    chain_fp1(w, leaf);
}

static int setup(void **state)
{
    cp_unwind_mode = CP_UNWIND_AUTO;
    return cp_modules_refresh(true) < 0 ? -1 : 0;
}

/* Does the function's prologue (first 64 bytes) set up a frame pointer
 * (push %rbp; mov %rsp,%rbp), and does it write RBP otherwise (a mov or
 * lea with RBP as destination: REX.W 8b/8d with ModRM reg = 5)? */
static int writes_rbp_as_data(const unsigned char *p)
{
    for (int i = 0; i < 64; i++) {
        if (p[i] == 0x55 && p[i + 1] == 0x48 && p[i + 2] == 0x89 &&
            p[i + 3] == 0xe5)
            return 0;
        if ((p[i] == 0x48 || p[i] == 0x4c) &&
            (p[i + 1] == 0x8b || p[i + 1] == 0x8d || p[i + 1] == 0x89) &&
            ((p[i + 2] >> 3) & 7) == 5 && p[i + 1] != 0x89)
            return 1;
        if ((p[i] == 0x48 || p[i] == 0x4c) && p[i + 1] == 0x89 &&
            (p[i + 2] & 7) == 5 && (p[i + 2] >> 6) == 3)
            return 1;
    }
    return 0;
}

static void test_chain_really_omits_fp(void **state)
{
    /* The chain's no-FP functions must hold data in RBP across their
     * call, or the walk through them proves nothing about CFI. */
    assert_true(writes_rbp_as_data((const unsigned char *)chain_nofp4));
    assert_true(writes_rbp_as_data((const unsigned char *)chain_nofp2));
    const unsigned char *p = (const unsigned char *)chain_fp3;
    assert_true(p[0] == 0x55 || (p[0] == 0xf3 && p[4] == 0x55));
}

static void test_here_matches_backtrace(void **state)
{
    struct walk w;
    walk_chain(&w, leaf_here);
    assert_true(w.n >= 6);
    expect_same(&w, 0, "cp_unwind_here");
}

static void test_context_matches_backtrace(void **state)
{
    struct walk w;
    walk_chain(&w, leaf_context);
    assert_false(w.truncated);
    /* pcs[0] is the leaf's own PC (getcontext's return address) */
    expect_same(&w, 1, "cp_unwind");
}

static void test_copy_matches_backtrace(void **state)
{
    struct walk w;
    walk_chain(&w, leaf_copy);
    assert_false(w.truncated);
    expect_same(&w, 1, "cp_unwind_copy");
}

/* ---- through glibc's qsort (built without frame pointers) ---- */

static struct walk *qs_walk;

static NOIPA int qs_cmp(const void *a, const void *b)
{
    if (qs_walk && !qs_walk->n) {
        qs_walk->nbt = backtrace(qs_walk->bt, MAXF);
        qs_walk->n = cp_unwind_here(qs_walk->pcs, MAXF, 0);
    }
    return *(const int *)a - *(const int *)b;
}

static NOIPA void qs_sorter(void)
{
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i * 37) % 64;
    qsort(v, 64, sizeof v[0], qs_cmp);
    sink += (uint64_t)v[0];
}

static void test_through_qsort(void **state)
{
    struct walk w;
    memset(&w, 0, sizeof w);
    qs_walk = &w;
    qs_sorter();
    qs_walk = NULL;
    assert_true(w.n > 4);
    expect_same(&w, 0, "through qsort");
}

/* ---- through a signal frame ---- */

static struct walk *sig_walk;

static void on_sig(int sig)
{
    sig_walk->nbt = backtrace(sig_walk->bt, MAXF);
    sig_walk->n = cp_unwind_here(sig_walk->pcs, MAXF, 0);
}

static NOIPA WITHFP void leaf_raise(struct walk *w)
{
    sig_walk = w;
    raise(SIGUSR1);
    sink++;
}

static void test_through_signal_frame(void **state)
{
    struct walk w;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    walk_chain(&w, leaf_raise);
    signal(SIGUSR1, SIG_DFL);
    /* frames: __restore_rt, raise's internals, raise, leaf_raise, chain */
    assert_true(w.n > 8);
    expect_same(&w, 0, "through a signal frame");
}

/* ---- on another thread ---- */

static void *thread_walk(void *arg)
{
    walk_chain(arg, leaf_here);
    return NULL;
}

static void test_on_thread(void **state)
{
    struct walk w;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_walk, &w), 0);
    pthread_join(t, NULL);
    assert_true(w.n >= 6);
    expect_same(&w, 0, "on a thread");
}

/* ---- frame-pointer mode ---- */

static NOIPA WITHFP void fp_c(struct walk *w, leaf_fn *leaf)
{
    leaf(w);
    sink++;
}
static NOIPA WITHFP void fp_b(struct walk *w, leaf_fn *leaf)
{
    fp_c(w, leaf);
    sink++;
}
static NOIPA WITHFP void fp_a(struct walk *w, leaf_fn *leaf)
{
    fp_b(w, leaf);
    sink++;
}

static void test_fp_mode_fp_chain(void **state)
{
    struct walk w;
    memset(&w, 0, sizeof w);
    cp_unwind_mode = CP_UNWIND_FP;
    fp_a(&w, leaf_here);
    cp_unwind_mode = CP_UNWIND_AUTO;
    /* leaf_here's callers fp_c, fp_b, fp_a and the test function are all
     * built with frame pointers: at least those four match */
    assert_true(w.n >= 4);
    int k = align(&w, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w.pcs[i], (uintptr_t)w.bt[k + i] - 1);
}

static void test_fp_mode_stops_at_nofp(void **state)
{
    struct walk w;
    cp_unwind_mode = CP_UNWIND_FP;
    walk_chain(&w, leaf_here);
    cp_unwind_mode = CP_UNWIND_AUTO;
    /* leaf_here -> chain_nofp4: its RBP is data, so the walk may report
     * chain_nofp4 but must then stop, not wander */
    assert_true(w.n >= 1);
    align(&w, 0);
    for (int i = 1; i < w.n; i++) {
        int found = 0;
        for (int k = 1; k < w.nbt; k++)
            if (w.pcs[i] == (uintptr_t)w.bt[k] - 1)
                found = 1;
        if (!found)
            fail_msg("frame %d (%#lx) of the FP walk is not on the stack",
                     i, (unsigned long)w.pcs[i]);
    }
}

/* ---- depth ---- */

struct deep {
    int depth;
    struct walk w;
};

static NOIPA WITHFP void deep_leaf(struct walk *w)
{
    ucontext_t uc;
    struct cp_regs r;
    uintptr_t lo = 0, hi;
    w->nbt = backtrace(w->bt, MAXF);
    getcontext(&uc);
    cp_regs_from_ucontext(&r, &uc);
    hi = cp_stack_region(r.sp, &lo);
    w->n = cp_unwind(&r, hi, w->pcs, CP_MAX_STACK_DEPTH, &w->truncated);
}

static NOIPA WITHFP void recurse(struct deep *d, int left)
{
    volatile int keep = left;
    if (left <= 1)
        deep_leaf(&d->w);
    else
        recurse(d, left - 1);
    sink += (uint64_t)keep;
}

static void check_depth(int mode, int depth)
{
    struct deep *d = calloc(1, sizeof *d);
    assert_non_null(d);
    cp_unwind_mode = mode;
    recurse(d, depth);
    cp_unwind_mode = CP_UNWIND_AUTO;
    if (depth + 10 > CP_MAX_STACK_DEPTH) {
        assert_int_equal(d->w.n, CP_MAX_STACK_DEPTH);
        assert_true(d->w.truncated);
    } else {
        assert_false(d->w.truncated);
        if (mode == CP_UNWIND_AUTO) {
            expect_same(&d->w, 1, "depth 100");
        } else {
            assert_true(d->w.n >= depth + 1);
        }
    }
    /* the first frames are the recursion in both modes */
    int k = align(&d->w, 1);
    for (int i = 1; i < 50; i++)
        assert_int_equal(d->w.pcs[i], (uintptr_t)d->w.bt[k + i - 1] - 1);
    free(d);
}

static void test_depth_200_truncated(void **state)
{
    check_depth(CP_UNWIND_AUTO, 200);
}
static void test_depth_200_truncated_fp(void **state)
{
    check_depth(CP_UNWIND_FP, 200);
}
static void test_depth_100_whole(void **state)
{
    check_depth(CP_UNWIND_AUTO, 100);
}
static void test_depth_100_whole_fp(void **state)
{
    check_depth(CP_UNWIND_FP, 100);
}

/* ---- hostile registers ---- */

static void test_garbage_registers(void **state)
{
    uintptr_t pcs[CP_MAX_STACK_DEPTH], lo = 0, hi;
    uintptr_t fake[64];
    struct cp_regs r;
    int trunc, n;
    ucontext_t uc;

    getcontext(&uc);
    cp_regs_from_ucontext(&r, &uc);
    hi = cp_stack_region(r.sp, &lo);

    /* unknown stack bounds: the leaf only */
    n = cp_unwind(&r, 0, pcs, CP_MAX_STACK_DEPTH, &trunc);
    assert_int_equal(n, 1);
    assert_int_equal(pcs[0], r.pc);

    for (int mode = 0; mode < 2; mode++) {
        cp_unwind_mode = mode ? CP_UNWIND_FP : CP_UNWIND_AUTO;
        /* a PC nowhere, RBP far outside the stack */
        struct cp_regs g = {0x1234, r.sp, 0xdead0000beef};
        n = cp_unwind(&g, hi, pcs, CP_MAX_STACK_DEPTH, &trunc);
        assert_true(n >= 1 && n <= 2);
        /* RBP pointing at a frame record that points at itself */
        fake[0] = (uintptr_t)&fake[0];
        fake[1] = (uintptr_t)test_garbage_registers + 4;
        struct cp_regs loop = {0x1234, (uintptr_t)fake - 64,
                               (uintptr_t)&fake[0]};
        n = cp_unwind(&loop, hi, pcs, CP_MAX_STACK_DEPTH, &trunc);
        assert_true(n >= 1 && n < CP_MAX_STACK_DEPTH);
        /* RBP into the stack's random words */
        for (int i = 0; i < 64; i++)
            fake[i] = (uintptr_t)i * 0x9e3779b97f4a7c15ull;
        struct cp_regs junk = {(uintptr_t)test_garbage_registers,
                               (uintptr_t)fake - 64, (uintptr_t)&fake[8]};
        n = cp_unwind(&junk, hi, pcs, CP_MAX_STACK_DEPTH, &trunc);
        assert_true(n >= 1 && n < CP_MAX_STACK_DEPTH);
        /* SP above the stack's end */
        struct cp_regs past = {r.pc, hi + 64, r.fp};
        n = cp_unwind(&past, hi, pcs, CP_MAX_STACK_DEPTH, &trunc);
        assert_int_equal(n, 1);
    }
    cp_unwind_mode = CP_UNWIND_AUTO;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_really_omits_fp),
        cmocka_unit_test(test_here_matches_backtrace),
        cmocka_unit_test(test_context_matches_backtrace),
        cmocka_unit_test(test_copy_matches_backtrace),
        cmocka_unit_test(test_through_qsort),
        cmocka_unit_test(test_through_signal_frame),
        cmocka_unit_test(test_on_thread),
        cmocka_unit_test(test_fp_mode_fp_chain),
        cmocka_unit_test(test_fp_mode_stops_at_nofp),
        cmocka_unit_test(test_depth_200_truncated),
        cmocka_unit_test(test_depth_200_truncated_fp),
        cmocka_unit_test(test_depth_100_whole),
        cmocka_unit_test(test_depth_100_whole_fp),
        cmocka_unit_test(test_garbage_registers),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
