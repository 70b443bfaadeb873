/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfi.h - a module's DWARF call-frame information (.eh_frame), compiled
 * ahead of time into a sorted table of compact unwind rules, so that the
 * signal handler unwinds code built without frame pointers with one binary
 * search per frame and no parsing, allocation or lock (async-profiler's
 * DwarfParser does the same). Design: docs/internals/unwind.md.
 *
 * x86-64 only: a rule says where the canonical frame address (CFA) is, and
 * where the caller's RBP was saved; the return address is always at
 * CFA - 8 on this ABI.
 */
#ifndef CP_CFI_H
#define CP_CFI_H

#include <stddef.h>
#include <stdint.h>

/* Rule kinds (low 2 bits of cp_cfi_row.rule). */
enum {
    CP_CFA_RSP = 0, /* CFA = RSP + off */
    CP_CFA_RBP = 1, /* CFA = RBP + off */
    CP_CFA_PLT = 2, /* lazy-binding PLT stub: RSP + off, +8 past byte k */
    CP_CFA_SPECIAL = 3
};
/* Special rules (rule >> 2 when the kind is CP_CFA_SPECIAL). */
enum {
    CP_CFI_UNKNOWN = 0, /* no usable rule: fall back to frame pointers */
    CP_CFI_END = 1,     /* return address undefined: outermost frame */
    CP_CFI_SIGNAL = 2   /* signal trampoline: registers in a ucontext */
};

/*
 * One row: from `pc` (offset from the table's base) up to the next row's
 * pc, the rule applies. rule layout:
 *   bits 0-1   CFA kind
 *   bit  2     RBP saved at CFA - 8 * rbp_slot
 *   bits 3-11  rbp_slot (1..511), or for CP_CFA_PLT the threshold k
 *   bits 12-31 CFA offset (0..1 MiB)
 */
struct cp_cfi_row {
    uint32_t pc;
    uint32_t rule;
};

struct cp_cfi_table {
    uintptr_t base; /* runtime address that row pc 0 stands for */
    size_t n;
    /* Every function of the module keeps a standard frame record
     * (push rbp; mov rbp,rsp: CFA = RBP + 16, RBP saved at CFA - 16) once
     * past its prologue: a return address into it can be unwound by frame
     * pointer, without looking its rule up. */
    int fp_frames;
    /* pages[p] = how many rows start before byte p * 4096 of the range:
     * a lookup searches only the rows of one page (few, one cache line or
     * two) instead of the whole table (tens of thousands, cold) */
    uint32_t n_pages;
    const uint32_t *pages;
    size_t bytes; /* of the whole mapping */
    struct cp_cfi_row rows[]; /* sorted by pc */
};

/* The rule of a function with a standard frame record, past its prologue. */
#define CP_CFI_RULE_FP                                                      \
    ((uint32_t)CP_CFA_RBP | 4u | (2u << 3) | (16u << 12))

static inline unsigned cp_cfi_kind(uint32_t rule)
{
    return rule & 3;
}
static inline unsigned cp_cfi_special(uint32_t rule)
{
    return rule >> 2;
}
static inline int cp_cfi_rbp_saved(uint32_t rule)
{
    return (rule >> 2) & 1;
}
static inline unsigned cp_cfi_slot(uint32_t rule)
{
    return (rule >> 3) & 511;
}
static inline uint32_t cp_cfi_off(uint32_t rule)
{
    return rule >> 12;
}

/*
 * Compile the .eh_frame of a loaded module. eh_frame_hdr is the runtime
 * address of its PT_GNU_EH_FRAME segment (hdr_len its size), [lo, hi) its
 * executable range (rows outside are dropped). Reads only the module's own
 * mapped memory. Returns a table from mmap (free with cp_cfi_free), or NULL
 * when the module has no usable CFI or memory is short.
 * Async-signal-safe: no. Thread-safe: yes.
 */
struct cp_cfi_table *cp_cfi_build(uintptr_t eh_frame_hdr, size_t hdr_len,
                                  uintptr_t lo, uintptr_t hi);
void cp_cfi_free(struct cp_cfi_table *t);

/*
 * The rule covering runtime address pc, or a CP_CFI_UNKNOWN rule.
 * Async-signal-safe: yes (reads the immutable table only).
 */
uint32_t cp_cfi_find(const struct cp_cfi_table *t, uintptr_t pc);

#endif /* CP_CFI_H */
