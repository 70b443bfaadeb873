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
#include <sys/uio.h>
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
                                uintptr_t ra, const struct cp_module **m)
{
    *m = NULL;
    if (ra < 4096)
        return false;
    if (!snap)
        return true;
    *m = cp_modules_find(snap, ra - 1);
    if (*m)
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

/* Read code bytes without any chance of a fault (the module may be
 * unmapped by a concurrent dlclose): process_vm_readv on ourselves. */
static bool read_code(uintptr_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)addr, len};
    return syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &local,
                   1UL, &remote, 1UL, 0UL) == (long)len;
}

/*
 * Whether ra is a return address of a call that can have entered the
 * function containing pc: a direct call (E8) to a target at most 1 MiB
 * below pc in pc's module, or to a PLT stub whose GOT slot points there;
 * or an indirect call (FF /2), whose target cannot be checked. Stale
 * frame records left in uninitialized locals by earlier, deeper calls
 * fail this test (their calls went elsewhere).
 */
static bool call_reaches(const struct cp_module_snapshot *snap, uintptr_t ra,
                         uintptr_t pc)
{
    uint8_t c[8];
    const struct cp_module *mf = cp_modules_find(snap, pc);

    if (!read_code(ra - 7, c, 7))
        return false;
    if (c[2] == 0xe8) { /* call rel32 */
        int32_t rel;
        uint8_t stub[16];
        uintptr_t target, got_at, got;
        size_t k = 0;

        memcpy(&rel, c + 3, 4);
        target = ra + (uintptr_t)(intptr_t)rel;
        if (cp_modules_find(snap, target) == mf)
            return target <= pc && pc - target < (1u << 20);
        /* a PLT stub: [endbr64] [bnd] jmp *GOT(%rip) */
        if (!read_code(target, stub, sizeof stub))
            return false;
        if (stub[0] == 0xf3 && stub[1] == 0x0f && stub[2] == 0x1e &&
            stub[3] == 0xfa)
            k = 4;
        if (stub[k] == 0xf2)
            k++;
        if (stub[k] != 0xff || stub[k + 1] != 0x25)
            return false;
        memcpy(&rel, stub + k + 2, 4);
        got_at = target + k + 6 + (uintptr_t)(intptr_t)rel;
        if (!read_code(got_at, &got, sizeof got))
            return false;
        return cp_modules_find(snap, got) == mf && got <= pc &&
               pc - got < (1u << 20);
    }
    /* call *%reg (FF D0+r), call *(%reg) (FF 10+r), call *d8(%reg)
     * (FF 50+r d8, with SIB one more), call *d32(%rip) (FF 15) */
    if (c[5] == 0xff && (c[6] & 0xf8) == 0xd0)
        return true;
    if (c[5] == 0xff && (c[6] & 0xf8) == 0x10 && c[6] != 0x14 &&
        c[6] != 0x15)
        return true;
    if ((c[4] == 0xff && (c[5] & 0xf8) == 0x50 && c[5] != 0x54) ||
        (c[3] == 0xff && c[4] == 0x54))
        return true;
    if (c[1] == 0xff && (c[2] == 0x15 || (c[2] & 0xf8) == 0x90))
        return true;
    if ((c[0] == 0xff && c[1] == 0x94) || (c[4] == 0xff && c[5] == 0x14))
        return true;
    /* with a REX prefix (call *%r8..%r15) */
    if (c[4] == 0x41 && c[5] == 0xff && (c[6] & 0xf8) == 0xd0)
        return true;
    return false;
}

/*
 * RBP of the frame running pc, whose registers are not known (a thread
 * stopped in a system call: /proc gives SP and PC only): the lowest frame
 * record above sp whose return address follows a call that can have
 * entered pc's function (call_reaches). Returns 0 when none is found
 * within CP_UNWIND_FP_SCAN bytes.
 */
#define CP_UNWIND_FP_SCAN 16384
static uintptr_t find_frame_record(const struct cp_module_snapshot *snap,
                                   uintptr_t sp, uintptr_t hi,
                                   intptr_t delta, uintptr_t pc)
{
    uintptr_t a = (sp + 7) & ~(uintptr_t)7;

    if (!snap)
        return 0;
    for (; a + 16 <= hi && a - sp < CP_UNWIND_FP_SCAN; a += 8) {
        /* the saved RBP itself proves nothing: a caller built without
         * frame pointers leaves any value there */
        uintptr_t ra = load(a + 8 + delta);
        if (ra < 4096 || !cp_modules_find(snap, ra - 1))
            continue;
        if (call_reaches(snap, ra, pc))
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
                              int max, int *truncated, int *signal_frames)
{
    uintptr_t pc = regs->pc, sp = regs->sp, fp = regs->fp;
    const uintptr_t lo = regs->sp;
    bool exact = true;
    int n = 0;
    struct cp_module_snapshot *snap = NULL;
    /* the module of the next frame, found when its return address was
     * checked (so each frame costs one module search, not two) */
    const struct cp_module *next_m = NULL;
    bool have_next = false;

    *truncated = 0;
    if (cp_unwind_mode == CP_UNWIND_AUTO)
        snap = cp_modules_pin();
    while (pc) {
        uintptr_t at, cfa, ra;
        uint32_t rule;
        const struct cp_module *m;

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
            m = have_next ? next_m : cp_modules_find(snap, at);
            have_next = false;
            if (m && m->cfi) {
                /* A return address into a module whose functions all keep
                 * frame records: its rule is the frame-pointer one. */
                if (!exact && fp_known && m->cfi->fp_frames)
                    rule = CP_CFI_RULE_FP;
                else
                    rule = cp_cfi_find(m->cfi, at);
            }
        }

        if (cp_cfi_kind(rule) == CP_CFA_SPECIAL) {
            unsigned s = cp_cfi_special(rule);
            if (s == CP_CFI_END)
                break;
            if (s == CP_CFI_SIGNAL) {
                /* __restore_rt: the kernel's rt_sigframe put the
                 * interrupted context's ucontext right at sp. */
                if (signal_frames)
                    (*signal_frames)++;
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
                fp = find_frame_record(snap, sp, hi, delta, at);
                fp_known = true;
            }
            if (!in_bounds(fp, 16, sp, hi))
                break;
            if (snap)
                cp_stat_add(CP_STAT_UNWIND_NO_CFI, 1);
            ra = load(fp + 8 + delta);
            if (!plausible_ra(snap, ra, &next_m))
                break;
            have_next = snap != NULL;
            sp = fp + 16;
            fp = load(fp + delta);
            pc = ra;
            exact = false;
            continue;
        }

        if (cp_cfi_kind(rule) == CP_CFA_RBP && !fp_known) {
            uintptr_t rec = find_frame_record(snap, sp, hi, delta, at);
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
        if (!plausible_ra(snap, ra, &next_m))
            break;
        have_next = snap != NULL;
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
    return unwind_core(regs, stack_hi, 0, true, pcs, max, truncated, NULL);
}

int cp_unwind_copy(const struct cp_regs *regs, int fp_known, const void *copy,
                   size_t len, uintptr_t *pcs, int max, int *truncated)
{
    intptr_t delta = (intptr_t)((uintptr_t)copy - regs->sp);
    uintptr_t hi = regs->sp + (len & ~(size_t)7);

    if (hi < regs->sp) /* wrapped */
        hi = regs->sp;
    return unwind_core(regs, hi, delta, fp_known != 0, pcs, max, truncated,
                       NULL);
}

__attribute__((noinline)) int cp_unwind_signal_frames(void)
{
    struct cp_regs r;
    uintptr_t pcs[CP_MAX_STACK_DEPTH];
    uintptr_t hi = cp_tls.stack_hi, lo = 0;
    int trunc, frames = 0;

    r.pc = (uintptr_t)__builtin_return_address(0);
    r.sp = (uintptr_t)__builtin_frame_address(0) + 16;
    r.fp = load((uintptr_t)__builtin_frame_address(0));
    if (!hi || r.sp < cp_tls.stack_lo || r.sp >= hi)
        hi = cp_stack_region(r.sp, &lo);
    unwind_core(&r, hi, 0, true, pcs, CP_MAX_STACK_DEPTH, &trunc, &frames);
    return frames;
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
