/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * unwinder.c - async-signal-safe stack walk (unwinder.h).
 *
 * Every memory read is checked against the stack's bounds first, so a
 * corrupt frame pointer or a bad CFI rule ends the walk instead of
 * faulting. Only stack memory is read: code and unwind tables are never
 * touched here except cprof's own compiled tables (cfi.h), so a module
 * that is being unmapped by a concurrent dlclose cannot hurt us.
 */
#include "unwinder.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfi.h"
#include "modules.h"
#include "stats.h"
#include "thread_reg.h"

int cp_unwind_mode = CP_UNWIND_AUTO;

static inline bool in_bounds(uintptr_t a, size_t len, uintptr_t lo,
                             uintptr_t hi)
{
    return a >= lo && a <= hi && len <= hi - a && !(a & 7);
}

static inline uintptr_t load(uintptr_t a)
{
    return *(const volatile uintptr_t *)a;
}

/* A return address must point just after a call in some loaded module;
 * anything else means the walk went astray (a clobbered RBP, a wrong
 * rule), and stopping beats reporting garbage frames. Without a module
 * list (frame-pointer mode) only zero is refused. */
static inline bool plausible_ra(const struct cp_module_snapshot *snap,
                                uintptr_t ra)
{
    if (ra < 4096)
        return false;
    if (!snap || cp_modules_find(snap, ra - 1))
        return true;
    /* Perhaps a module being loaded right now (its constructors run
     * before dlopen returns and refreshes the list): ask the drain thread
     * to look again. */
    atomic_store_explicit(&cp_modules_stale, 1, memory_order_relaxed);
    return false;
}

void cp_regs_from_ucontext(struct cp_regs *r, const ucontext_t *uc)
{
    r->pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    r->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    r->fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
}

/*
 * RBP of a frame whose caller's registers are not known (a thread stopped
 * in a system call: /proc gives SP and PC only): the lowest frame record
 * above sp, i.e. a slot whose next word is a return address into a loaded
 * module and whose own word is 0 or a higher stack address. Returns 0
 * when none is found within the first CP_UNWIND_FP_SCAN bytes.
 */
#define CP_UNWIND_FP_SCAN 4096
static uintptr_t find_frame_record(const struct cp_module_snapshot *snap,
                                   uintptr_t sp, uintptr_t hi,
                                   intptr_t delta)
{
    uintptr_t a = (sp + 7) & ~(uintptr_t)7;

    if (!snap)
        return 0;
    for (; a + 16 <= hi && a - sp < CP_UNWIND_FP_SCAN; a += 8) {
        uintptr_t saved = load(a + delta), ra = load(a + 8 + delta);
        if (ra < 4096 || !cp_modules_find(snap, ra - 1))
            continue;
        if (saved == 0 || (saved > a && saved < hi && !(saved & 7)))
            return a;
    }
    return 0;
}

/*
 * The walk. Stack memory at address a is read at a + delta (0 for the
 * live stack; the offset of a copy otherwise), only within [regs->sp,
 * hi). fp_known is false when regs->fp is unknown.
 */
static inline int unwind_core(const struct cp_regs *regs, uintptr_t hi,
                              intptr_t delta, bool fp_known, uintptr_t *pcs,
                              int max, int *truncated)
{
    uintptr_t pc = regs->pc, sp = regs->sp, fp = regs->fp;
    const uintptr_t lo = regs->sp;
    bool exact = true;
    int n = 0;
    struct cp_module_snapshot *snap = NULL;

    *truncated = 0;
    if (cp_unwind_mode == CP_UNWIND_AUTO)
        snap = cp_modules_pin();
    while (pc) {
        uintptr_t at, cfa, ra;
        uint32_t rule;

        if (n == max) {
            *truncated = 1;
            break;
        }
        at = exact ? pc : pc - 1;
        pcs[n++] = at;
        if (!hi || sp < lo || sp >= hi)
            break;

        rule = CP_CFA_SPECIAL | (CP_CFI_UNKNOWN << 2);
        if (snap) {
            const struct cp_module *m = cp_modules_find(snap, at);
            if (m)
                rule = cp_cfi_find(m->cfi, at);
        }

        if (cp_cfi_kind(rule) == CP_CFA_SPECIAL) {
            unsigned s = cp_cfi_special(rule);
            if (s == CP_CFI_END)
                break;
            if (s == CP_CFI_SIGNAL) {
                /* __restore_rt: the kernel's rt_sigframe put the
                 * interrupted context's ucontext right at sp. */
                const ucontext_t *uc = (const ucontext_t *)(sp + delta);
                uintptr_t nsp;
                if (!in_bounds(sp, sizeof *uc, lo, hi))
                    break;
                nsp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
                if (nsp <= sp || nsp >= hi)
                    break;
                pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
                fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
                fp_known = true;
                sp = nsp;
                exact = true;
                continue;
            }
            /* No rule: assume a standard frame-pointer frame. At the leaf
             * of code without CFI this skips the caller when the function
             * has not pushed RBP yet, as every FP unwinder does. */
            if (!fp_known) {
                fp = find_frame_record(snap, sp, hi, delta);
                fp_known = true;
            }
            if (!in_bounds(fp, 16, sp, hi))
                break;
            if (snap)
                cp_stat_add(CP_STAT_UNWIND_NO_CFI, 1);
            ra = load(fp + 8 + delta);
            if (!plausible_ra(snap, ra))
                break;
            sp = fp + 16;
            fp = load(fp + delta);
            pc = ra;
            exact = false;
            continue;
        }

        if (cp_cfi_kind(rule) == CP_CFA_RBP && !fp_known) {
            uintptr_t rec = find_frame_record(snap, sp, hi, delta);
            if (!rec)
                break;
            /* the record is at CFA - 16 in a standard prologue */
            fp = rec + 16 - cp_cfi_off(rule);
            fp_known = true;
        }
        switch (cp_cfi_kind(rule)) {
        case CP_CFA_RSP: cfa = sp + cp_cfi_off(rule); break;
        case CP_CFA_RBP: cfa = fp + cp_cfi_off(rule); break;
        default: /* CP_CFA_PLT */
            cfa = sp + cp_cfi_off(rule) +
                  ((pc & 15) >= cp_cfi_slot(rule) ? 8 : 0);
            break;
        }
        if (cfa <= sp || !in_bounds(cfa - 8, 8, lo, hi))
            break;
        ra = load(cfa - 8 + delta);
        if (!plausible_ra(snap, ra))
            break;
        if (cp_cfi_kind(rule) != CP_CFA_PLT && cp_cfi_rbp_saved(rule)) {
            uintptr_t slot = cfa - 8 * (uintptr_t)cp_cfi_slot(rule);
            if (!in_bounds(slot, 8, lo, hi))
                break;
            fp = load(slot + delta);
            fp_known = true;
        }
        sp = cfa;
        pc = ra;
        exact = false;
    }
    cp_modules_unpin(snap);
    return n;
}

int cp_unwind(const struct cp_regs *regs, uintptr_t stack_hi, uintptr_t *pcs,
              int max, int *truncated)
{
    return unwind_core(regs, stack_hi, 0, true, pcs, max, truncated);
}

int cp_unwind_copy(const struct cp_regs *regs, int fp_known, const void *copy,
                   size_t len, uintptr_t *pcs, int max, int *truncated)
{
    intptr_t delta = (intptr_t)((uintptr_t)copy - regs->sp);
    uintptr_t hi = regs->sp + (len & ~(size_t)7);

    if (hi < regs->sp) /* wrapped */
        hi = regs->sp;
    return unwind_core(regs, hi, delta, fp_known != 0, pcs, max, truncated);
}

/* Parse hex digits at *p, advancing it. */
static uintptr_t parse_hex(const char **p, const char *end)
{
    uintptr_t v = 0;
    while (*p < end) {
        char c = **p;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            break;
        v = v * 16 + d;
        (*p)++;
    }
    return v;
}

uintptr_t cp_stack_region(uintptr_t sp, uintptr_t *lo)
{
    char buf[4096];
    size_t have = 0;
    uintptr_t found = 0;
    int fd = (int)syscall(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    for (;;) {
        ssize_t r = syscall(SYS_read, fd, buf + have, sizeof buf - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        /* consume whole lines */
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i] != '\n')
                continue;
            const char *p = buf + start, *e = buf + i;
            uintptr_t a = parse_hex(&p, e), b;
            if (p < e && *p == '-') {
                p++;
                b = parse_hex(&p, e);
                if (sp >= a && sp < b) {
                    found = b;
                    *lo = a;
                    goto done;
                }
            }
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf) /* absurd line: skip it */
            have = 0;
    }
done:
    syscall(SYS_close, fd);
    return found;
}

__attribute__((noinline)) int cp_unwind_here(uintptr_t *pcs, int max,
                                             int skip)
{
    struct cp_regs r;
    uintptr_t tmp[CP_MAX_STACK_DEPTH + 8];
    int trunc, n, want = max + skip + 1;
    uintptr_t hi = cp_tls.stack_hi;

    if (want > (int)(sizeof tmp / sizeof tmp[0]))
        want = (int)(sizeof tmp / sizeof tmp[0]);
    r.pc = (uintptr_t)__builtin_return_address(0);
    r.sp = (uintptr_t)__builtin_frame_address(0) + 16;
    r.fp = (uintptr_t)__builtin_frame_address(0);
    r.fp = load(r.fp); /* caller's RBP */
    if (!hi || r.sp < cp_tls.stack_lo || r.sp >= hi) {
        uintptr_t lo = 0;
        hi = cp_stack_region(r.sp, &lo);
        if (!cp_tls.stack_hi && hi) {
            cp_tls.stack_lo = lo;
            cp_tls.stack_hi = hi;
        }
    }
    /* tmp[0] is our caller's own frame (an exact-looking return address),
     * dropped below with `skip` more. */
    n = cp_unwind(&r, hi, tmp, want, &trunc);
    n -= 1 + skip; /* drop our caller's own frame and `skip` more */
    if (n <= 0)
        return 0;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        pcs[i] = tmp[i + 1 + skip];
    return n;
}
