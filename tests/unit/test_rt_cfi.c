/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_cfi.c - the .eh_frame compiler (src/cfi.c).
 *
 *   - Hand-written functions with known CFI (the assembly below): the rule
 *     at each labelled instruction is exactly what the directives say,
 *     including remember/restore_state around a mid-function epilogue, a
 *     multi-byte offset, a signal frame and an undefined return address.
 *   - binutils as the oracle: every row `readelf --debug-dump=frames-interp`
 *     prints for this test binary and for the C library must be what
 *     cp_cfi_find answers at that address (where the rule is one cprof
 *     represents: CFA = rsp/rbp + N, return address at CFA-8).
 *   - Real code: function entries in libc are CFA = rsp+8; __restore_rt
 *     (glibc's signal trampoline) is a signal frame; _start ends the walk.
 */
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfi.h"

/* ---- functions with known CFI ---- */

__asm__(".text\n"
        ".globl cfi_fp\n"
        ".type cfi_fp,@function\n"
        "cfi_fp:\n"
        "  .cfi_startproc\n"
        "  push %rbp\n"
        ".globl cfi_fp_after_push\n"
        "cfi_fp_after_push:\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbp, -16\n"
        "  mov %rsp, %rbp\n"
        ".globl cfi_fp_after_mov\n"
        "cfi_fp_after_mov:\n"
        "  .cfi_def_cfa_register %rbp\n"
        "  sub $32, %rsp\n"
        ".globl cfi_fp_body\n"
        "cfi_fp_body:\n"
        "  test %rdi, %rdi\n"
        "  jz 1f\n"
        "  .cfi_remember_state\n"
        "  leave\n"
        ".globl cfi_fp_after_leave\n"
        "cfi_fp_after_leave:\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        "1:\n"
        "  .cfi_restore_state\n"
        ".globl cfi_fp_after_restore\n"
        "cfi_fp_after_restore:\n"
        "  mov %rbp, %rsp\n"
        "  pop %rbp\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size cfi_fp, .-cfi_fp\n"

        ".globl cfi_nofp\n"
        ".type cfi_nofp,@function\n"
        "cfi_nofp:\n"
        "  .cfi_startproc\n"
        "  push %rbx\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbx, -16\n"
        "  sub $4096, %rsp\n"
        ".globl cfi_nofp_body\n"
        "cfi_nofp_body:\n"
        "  .cfi_def_cfa_offset 4112\n"
        "  nop\n"
        "  add $4096, %rsp\n"
        ".globl cfi_nofp_after_add\n"
        "cfi_nofp_after_add:\n"
        "  .cfi_def_cfa_offset 16\n"
        "  pop %rbx\n"
        "  .cfi_def_cfa_offset 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size cfi_nofp, .-cfi_nofp\n"

        /* rbp saved away from the top of the frame, as -O2 code without
         * frame pointers does when it uses rbp as a general register */
        ".globl cfi_rbp_deep\n"
        ".type cfi_rbp_deep,@function\n"
        "cfi_rbp_deep:\n"
        "  .cfi_startproc\n"
        "  push %r15\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %r15, -16\n"
        "  push %rbp\n"
        "  .cfi_def_cfa_offset 24\n"
        "  .cfi_offset %rbp, -24\n"
        "  push %rbx\n"
        "  .cfi_def_cfa_offset 32\n"
        "  .cfi_offset %rbx, -32\n"
        ".globl cfi_rbp_deep_body\n"
        "cfi_rbp_deep_body:\n"
        "  pop %rbx\n"
        "  .cfi_def_cfa_offset 24\n"
        "  pop %rbp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  pop %r15\n"
        "  .cfi_def_cfa_offset 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size cfi_rbp_deep, .-cfi_rbp_deep\n"

        ".globl cfi_outermost\n"
        ".type cfi_outermost,@function\n"
        "cfi_outermost:\n"
        "  .cfi_startproc\n"
        "  .cfi_undefined %rip\n"
        "  nop\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size cfi_outermost, .-cfi_outermost\n"

        ".globl cfi_sigframe\n"
        ".type cfi_sigframe,@function\n"
        "cfi_sigframe:\n"
        "  .cfi_startproc\n"
        "  .cfi_signal_frame\n"
        "  nop\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size cfi_sigframe, .-cfi_sigframe\n"
        ".previous\n");

extern char cfi_fp[], cfi_fp_after_push[], cfi_fp_after_mov[], cfi_fp_body[],
    cfi_fp_after_leave[], cfi_fp_after_restore[];
extern char cfi_nofp[], cfi_nofp_body[], cfi_nofp_after_add[];
extern char cfi_rbp_deep[], cfi_rbp_deep_body[];
extern char cfi_outermost[], cfi_sigframe[];
extern void _start(void);

/* ---- building tables for loaded modules ---- */

struct mod {
    char path[4096];
    uintptr_t bias, lo, hi;
    struct cp_cfi_table *t;
};

struct find_arg {
    uintptr_t addr;
    struct mod *m;
    int found;
};

/* Same walk as modules.c: the executable PT_LOAD segment containing addr
 * and the module's PT_GNU_EH_FRAME. */
static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_arg *fa = arg;
    uintptr_t eh = 0, lo = 0, hi = 0;
    size_t eh_len = 0;

    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            uintptr_t s = info->dlpi_addr + ph->p_vaddr;
            if (fa->addr >= s && fa->addr < s + ph->p_memsz) {
                lo = s & ~(uintptr_t)4095;
                hi = (s + ph->p_memsz + 4095) & ~(uintptr_t)4095;
            }
        }
        if (ph->p_type == PT_GNU_EH_FRAME) {
            eh = info->dlpi_addr + ph->p_vaddr;
            eh_len = ph->p_memsz;
        }
    }
    if (!lo)
        return 0;
    fa->m->bias = info->dlpi_addr;
    fa->m->lo = lo;
    fa->m->hi = hi;
    if (info->dlpi_name && info->dlpi_name[0]) {
        snprintf(fa->m->path, sizeof fa->m->path, "%s", info->dlpi_name);
    } else {
        /* the real path: readelf runs in another process */
        ssize_t n = readlink("/proc/self/exe", fa->m->path,
                             sizeof fa->m->path - 1);
        fa->m->path[n > 0 ? n : 0] = '\0';
    }
    fa->m->t = eh ? cp_cfi_build(eh, eh_len, lo, hi) : NULL;
    fa->found = 1;
    return 1;
}

static void module_of(const void *addr, struct mod *m)
{
    struct find_arg fa = {(uintptr_t)addr, m, 0};
    memset(m, 0, sizeof *m);
    dl_iterate_phdr(find_cb, &fa);
    assert_true(fa.found);
    assert_non_null(m->t);
}

static struct mod self_mod, libc_mod;

static int setup(void **state)
{
    module_of((void *)cfi_fp, &self_mod);
    module_of((void *)qsort, &libc_mod);
    return 0;
}

static int teardown(void **state)
{
    cp_cfi_free(self_mod.t);
    cp_cfi_free(libc_mod.t);
    return 0;
}

static void expect_rule(const void *pc, unsigned kind, uint32_t off,
                        int rbp_slot)
{
    uint32_t r = cp_cfi_find(self_mod.t, (uintptr_t)pc);
    assert_int_equal(cp_cfi_kind(r), kind);
    assert_int_equal(cp_cfi_off(r), off);
    if (rbp_slot) {
        assert_true(cp_cfi_rbp_saved(r));
        assert_int_equal(cp_cfi_slot(r), rbp_slot);
    } else {
        assert_false(cp_cfi_rbp_saved(r));
    }
}

/* ---- tests ---- */

static void test_table_sorted(void **state)
{
    for (int k = 0; k < 2; k++) {
        const struct cp_cfi_table *t = k ? libc_mod.t : self_mod.t;
        assert_true(t->n > (k ? 1000u : 10u));
        assert_int_equal(t->base, k ? libc_mod.lo : self_mod.lo);
        for (size_t i = 1; i < t->n; i++) {
            assert_true(t->rows[i - 1].pc < t->rows[i].pc);
            /* merged: no two neighbours with the same rule */
            assert_true(t->rows[i - 1].rule != t->rows[i].rule);
        }
    }
}

static void test_prologue_with_frame_pointer(void **state)
{
    expect_rule(cfi_fp, CP_CFA_RSP, 8, 0);
    expect_rule(cfi_fp_after_push, CP_CFA_RSP, 16, 2);
    expect_rule(cfi_fp_after_mov, CP_CFA_RBP, 16, 2);
    expect_rule(cfi_fp_body, CP_CFA_RBP, 16, 2);
    expect_rule(cfi_fp_body + 3, CP_CFA_RBP, 16, 2);
}

/* GCC's mid-function epilogues: remember_state, epilogue, restore_state.
 * After the restore the whole row comes back, the CFA rule included. */
static void test_remember_restore_state(void **state)
{
    uint32_t r = cp_cfi_find(self_mod.t, (uintptr_t)cfi_fp_after_leave);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_RSP);
    assert_int_equal(cp_cfi_off(r), 8);
    expect_rule(cfi_fp_after_restore, CP_CFA_RBP, 16, 2);
    /* mov %rbp, %rsp (3 bytes) changes no rule: still rbp + 16 */
    expect_rule(cfi_fp_after_restore + 3, CP_CFA_RBP, 16, 2);
}

static void test_no_frame_pointer_large_offset(void **state)
{
    expect_rule(cfi_nofp, CP_CFA_RSP, 8, 0);
    expect_rule(cfi_nofp_body, CP_CFA_RSP, 4112, 0);
    expect_rule(cfi_nofp_body + 1, CP_CFA_RSP, 4112, 0);
    expect_rule(cfi_nofp_after_add, CP_CFA_RSP, 16, 0);
}

static void test_rbp_saved_deep(void **state)
{
    expect_rule(cfi_rbp_deep_body, CP_CFA_RSP, 32, 3);
}

static void test_special_rules(void **state)
{
    uint32_t r = cp_cfi_find(self_mod.t, (uintptr_t)cfi_outermost + 1);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_SPECIAL);
    assert_int_equal(cp_cfi_special(r), CP_CFI_END);
    r = cp_cfi_find(self_mod.t, (uintptr_t)cfi_sigframe + 1);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_SPECIAL);
    assert_int_equal(cp_cfi_special(r), CP_CFI_SIGNAL);
    /* glibc's _start marks its return address undefined */
    r = cp_cfi_find(self_mod.t, (uintptr_t)_start + 4);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_SPECIAL);
    assert_int_equal(cp_cfi_special(r), CP_CFI_END);
}

static void test_find_outside(void **state)
{
    uint32_t r;
    r = cp_cfi_find(NULL, (uintptr_t)cfi_fp);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_SPECIAL);
    assert_int_equal(cp_cfi_special(r), CP_CFI_UNKNOWN);
    r = cp_cfi_find(self_mod.t, self_mod.t->base - 1);
    assert_int_equal(cp_cfi_special(r), CP_CFI_UNKNOWN);
    r = cp_cfi_find(self_mod.t, 16);
    assert_int_equal(cp_cfi_special(r), CP_CFI_UNKNOWN);
}

static void test_build_rejects_bad_input(void **state)
{
    static const uint8_t bad_version[8] = {2, 0x1b, 0x03, 0x3b, 0, 0, 0, 0};
    assert_null(cp_cfi_build(0, 0, 0x1000, 0x2000));
    assert_null(cp_cfi_build((uintptr_t)bad_version, sizeof bad_version,
                             0x2000, 0x1000));
    assert_null(cp_cfi_build((uintptr_t)bad_version, sizeof bad_version,
                             0x1000, 0x2000));
}

static void *libc_sym(const char *name)
{
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *p = h ? dlsym(h, name) : NULL;
    return p;
}

/* Every function's first instruction: CFA = rsp + 8, nothing saved. */
static void test_libc_entries(void **state)
{
    static const char *const fns[] = {
        "qsort", "printf", "malloc", "free", "pthread_create", "write",
        "nanosleep", "getpid", "strtol", "fopen", "qsort_r", "bsearch"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        uintptr_t pc = (uintptr_t)libc_sym(fns[i]);
        uint32_t r;
        assert_true(pc != 0);
        if (pc < libc_mod.lo || pc >= libc_mod.hi)
            continue; /* an IFUNC resolved elsewhere */
        r = cp_cfi_find(libc_mod.t, pc);
        if (cp_cfi_kind(r) != CP_CFA_RSP || cp_cfi_off(r) != 8)
            fail_msg("%s: entry rule kind %u off %u", fns[i],
                     cp_cfi_kind(r), cp_cfi_off(r));
    }
}

/* glibc's signal trampoline: the kernel's rt_sigframe is at rsp. */
static void test_libc_signal_trampoline(void **state)
{
    struct sigaction sa, old;
    uint32_t r;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
    assert_int_equal(sigaction(SIGUSR2, NULL, &old), 0);
    /* under ASan, sigaction is ASan's and so is the restorer it reports */
    if (!old.sa_restorer || (uintptr_t)old.sa_restorer < libc_mod.lo ||
        (uintptr_t)old.sa_restorer >= libc_mod.hi)
        skip();
    r = cp_cfi_find(libc_mod.t, (uintptr_t)old.sa_restorer);
    assert_int_equal(cp_cfi_kind(r), CP_CFA_SPECIAL);
    assert_int_equal(cp_cfi_special(r), CP_CFI_SIGNAL);
    signal(SIGUSR2, SIG_DFL);
}

/*
 * Compare with binutils: `readelf --debug-dump=frames-interp FILE` prints
 * each FDE's table, e.g.
 *      LOC           CFA      rbx   rbp   ra
 *   0000000000088ef0 rsp+8    u     u     c-8
 * For every row whose CFA is rsp+N or rbp+N and whose return address is
 * at c-8, cp_cfi_find at bias+LOC must give the same CFA and, when rbp is
 * c-K, the same slot. Returns the number of rows compared.
 */
static long compare_with_readelf(const struct mod *m, long *mismatches)
{
    char cmd[4300], line[1024];
    char cols[32][16];
    int ncols = 0, cfa_col = -1, rbp_col = -1, ra_col = -1;
    long compared = 0;
    FILE *f;

    *mismatches = 0;
    snprintf(cmd, sizeof cmd,
             "readelf --debug-dump=frames-interp '%s' 2>/dev/null", m->path);
    f = popen(cmd, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *tok[32];
        int nt = 0;
        for (char *p = strtok(line, " \t\n"); p && nt < 32;
             p = strtok(NULL, " \t\n"))
            tok[nt++] = p;
        if (nt == 0)
            continue;
        if (!strcmp(tok[0], "LOC")) {
            ncols = nt;
            cfa_col = rbp_col = ra_col = -1;
            for (int i = 0; i < nt; i++) {
                snprintf(cols[i], sizeof cols[i], "%s", tok[i]);
                if (!strcmp(tok[i], "CFA"))
                    cfa_col = i;
                else if (!strcmp(tok[i], "rbp"))
                    rbp_col = i;
                else if (!strcmp(tok[i], "ra"))
                    ra_col = i;
            }
            continue;
        }
        if (nt != ncols || cfa_col < 0 || ra_col < 0 ||
            strlen(tok[0]) != 16)
            continue;
        uintptr_t loc = (uintptr_t)strtoull(tok[0], NULL, 16) + m->bias;
        if (loc < m->lo || loc >= m->hi || strcmp(tok[ra_col], "c-8"))
            continue;
        unsigned kind;
        if (!strncmp(tok[cfa_col], "rsp+", 4))
            kind = CP_CFA_RSP;
        else if (!strncmp(tok[cfa_col], "rbp+", 4))
            kind = CP_CFA_RBP;
        else
            continue;
        uint32_t off = (uint32_t)strtoul(tok[cfa_col] + 4, NULL, 10);
        int slot = 0;
        if (rbp_col >= 0 && tok[rbp_col][0] == 'c' && tok[rbp_col][1] == '-')
            slot = atoi(tok[rbp_col] + 2) / 8;
        uint32_t r = cp_cfi_find(m->t, loc);
        int ok = cp_cfi_kind(r) == kind && cp_cfi_off(r) == off &&
                 (slot ? cp_cfi_rbp_saved(r) && (int)cp_cfi_slot(r) == slot
                       : !cp_cfi_rbp_saved(r));
        compared++;
        if (!ok) {
            if (*mismatches < 5)
                print_message("  %s+%#lx: readelf %s rbp %s; cprof kind %u "
                              "off %u rbp %s slot %u\n",
                              m->path, (unsigned long)(loc - m->bias),
                              tok[cfa_col],
                              rbp_col >= 0 ? tok[rbp_col] : "-",
                              cp_cfi_kind(r), cp_cfi_off(r),
                              cp_cfi_rbp_saved(r) ? "saved" : "-",
                              cp_cfi_slot(r));
            (*mismatches)++;
        }
    }
    pclose(f);
    return compared;
}

static void oracle(const struct mod *m, long min_rows)
{
    long bad, n = compare_with_readelf(m, &bad);
    if (n <= 0)
        skip(); /* no readelf (binutils) */
    print_message("  %s: %ld rows compared with readelf, %ld differ\n",
                  m->path, n, bad);
    assert_true(n >= min_rows);
    assert_int_equal(bad, 0);
}

static void test_oracle_self(void **state)
{
    oracle(&self_mod, 20);
}

static void test_oracle_libc(void **state)
{
    oracle(&libc_mod, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted),
        cmocka_unit_test(test_prologue_with_frame_pointer),
        cmocka_unit_test(test_remember_restore_state),
        cmocka_unit_test(test_no_frame_pointer_large_offset),
        cmocka_unit_test(test_rbp_saved_deep),
        cmocka_unit_test(test_special_rules),
        cmocka_unit_test(test_find_outside),
        cmocka_unit_test(test_build_rejects_bad_input),
        cmocka_unit_test(test_libc_entries),
        cmocka_unit_test(test_libc_signal_trampoline),
        cmocka_unit_test(test_oracle_self),
        cmocka_unit_test(test_oracle_libc),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
