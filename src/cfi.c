/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfi.c - compile a loaded module's .eh_frame into cp_cfi_table rows
 * (cfi.h). Runs when a module is registered (profile start, dlopen), never
 * in a signal handler; only cp_cfi_find runs there.
 *
 * The interpreter covers what GCC, Clang and hand-written glibc assembly
 * emit on x86-64: CFA as RSP/RBP plus offset, RBP saved at a CFA offset,
 * remember/restore state, the lazy-binding PLT expression, signal frames
 * ('S' augmentation) and undefined return addresses (outermost frames).
 * Anything else becomes CP_CFI_UNKNOWN, where the unwinder falls back to
 * frame pointers. References: DWARF 5 §6.4, LSB "Exception Frames".
 */
#include "cfi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cp_assert.h"

/* DWARF register numbers on x86-64 */
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };

/* Pointer encodings (LSB 10.5 DWARF Extensions) */
enum {
    PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03,
    PE_UDATA8 = 0x04, PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b,
    PE_SDATA8 = 0x0c, PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_INDIRECT = 0x80,
    PE_OMIT = 0xff
};

struct cursor {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
};

static uint8_t rd_u8(struct cursor *c)
{
    if (c->p + 1 > c->end) {
        c->bad = true;
        return 0;
    }
    return *c->p++;
}

#define RD_FIXED(name, type)                                                \
    static type name(struct cursor *c)                                      \
    {                                                                       \
        type v;                                                             \
        if (c->p + sizeof v > c->end) {                                     \
            c->bad = true;                                                  \
            return 0;                                                       \
        }                                                                   \
        memcpy(&v, c->p, sizeof v);                                         \
        c->p += sizeof v;                                                   \
        return v;                                                           \
    }
RD_FIXED(rd_u16, uint16_t)
RD_FIXED(rd_u32, uint32_t)
RD_FIXED(rd_u64, uint64_t)

static uint64_t rd_uleb(struct cursor *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = rd_u8(c);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !c->bad);
    return v;
}

static int64_t rd_sleb(struct cursor *c)
{
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = rd_u8(c);
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
    } while ((b & 0x80) && !c->bad);
    if (shift < 64 && (b & 0x40))
        v |= -((int64_t)1 << shift);
    return v;
}

/* Read an encoded pointer; datarel is the base for DW_EH_PE_datarel. */
static uintptr_t rd_encoded(struct cursor *c, uint8_t enc, uintptr_t datarel)
{
    uintptr_t field = (uintptr_t)c->p;
    uintptr_t v;

    if (enc == PE_OMIT)
        return 0;
    switch (enc & 0x0f) {
    case PE_ABSPTR: v = (uintptr_t)rd_u64(c); break;
    case PE_ULEB128: v = (uintptr_t)rd_uleb(c); break;
    case PE_UDATA2: v = rd_u16(c); break;
    case PE_UDATA4: v = rd_u32(c); break;
    case PE_UDATA8: v = (uintptr_t)rd_u64(c); break;
    case PE_SLEB128: v = (uintptr_t)rd_sleb(c); break;
    case PE_SDATA2: v = (uintptr_t)(intptr_t)(int16_t)rd_u16(c); break;
    case PE_SDATA4: v = (uintptr_t)(intptr_t)(int32_t)rd_u32(c); break;
    case PE_SDATA8: v = (uintptr_t)rd_u64(c); break;
    default: c->bad = true; return 0;
    }
    switch (enc & 0x70) {
    case 0: break;
    case PE_PCREL: v += field; break;
    case PE_DATAREL: v += datarel; break;
    default: c->bad = true; return 0; /* textrel/funcrel: unused on Linux */
    }
    if (enc & PE_INDIRECT)
        c->bad = true; /* only for personality pointers, which we skip */
    return v;
}

/* ---- interpreter state ---- */

enum { CFA_REG, CFA_PLT, CFA_EXPR };
enum { RULE_SAME, RULE_OFFSET, RULE_UNDEF, RULE_OTHER };

struct cfa_state {
    int cfa_kind;
    int cfa_reg;
    int64_t cfa_off;
    int plt_k;
    int rbp_rule;
    int64_t rbp_off;
    int ra_rule;
    int64_t ra_off;
};

struct cie {
    uint64_t code_align;
    int64_t data_align;
    unsigned ra_reg;
    uint8_t fde_enc;
    bool has_z;
    bool signal_frame;
    const uint8_t *insns, *insns_end;
};

struct rowvec {
    const uint8_t *cie_at; /* last CIE parsed, and its result */
    struct cie cie;
    struct srow {
        uint32_t pc;
        uint32_t rule;
        uint32_t seq;
        uint32_t prio; /* 0: end-of-FDE filler, 1: real rule */
    } *v;
    size_t n, cap;
    bool oom;
    size_t fdes, fp_fdes; /* FDEs compiled, and those with a frame record */
};

static void push_row(struct rowvec *rv, uint32_t pc, uint32_t rule,
                     uint32_t prio)
{
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 4096;
        struct srow *v = realloc(rv->v, cap * sizeof *v);
        if (!v) {
            rv->oom = true;
            return;
        }
        rv->v = v;
        rv->cap = cap;
    }
    rv->v[rv->n] = (struct srow){pc, rule, (uint32_t)rv->n, prio};
    rv->n++;
}

static uint32_t special(unsigned s)
{
    return (uint32_t)CP_CFA_SPECIAL | (s << 2);
}

static uint32_t encode_rule(const struct cfa_state *s, bool signal_frame)
{
    uint32_t rule;

    if (signal_frame)
        return special(CP_CFI_SIGNAL);
    if (s->ra_rule == RULE_UNDEF)
        return special(CP_CFI_END);
    if (s->ra_rule != RULE_OFFSET || s->ra_off != -8)
        return special(CP_CFI_UNKNOWN);
    if (s->cfa_off < 0 || s->cfa_off >= (1 << 20))
        return special(CP_CFI_UNKNOWN);
    if (s->cfa_kind == CFA_PLT) {
        return (uint32_t)CP_CFA_PLT | ((uint32_t)(s->plt_k & 511) << 3) |
               ((uint32_t)s->cfa_off << 12);
    }
    if (s->cfa_kind != CFA_REG)
        return special(CP_CFI_UNKNOWN);
    if (s->cfa_reg == REG_RSP)
        rule = CP_CFA_RSP;
    else if (s->cfa_reg == REG_RBP)
        rule = CP_CFA_RBP;
    else
        return special(CP_CFI_UNKNOWN);
    rule |= (uint32_t)s->cfa_off << 12;
    if (s->rbp_rule == RULE_OFFSET && s->rbp_off < 0 && !(s->rbp_off & 7) &&
        -s->rbp_off / 8 < 512) {
        rule |= 4u | ((uint32_t)(-s->rbp_off / 8) << 3);
    }
    return rule;
}

/*
 * Recognise the PLT's CFA expression:
 *   DW_OP_breg7 (rsp) N; DW_OP_breg16 (rip) 0; DW_OP_lit15; DW_OP_and;
 *   DW_OP_litK; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus
 * i.e. CFA = rsp + N + ((rip & 15) >= K ? 8 : 0).
 */
static bool parse_plt_expr(const uint8_t *e, size_t len, struct cfa_state *s)
{
    struct cursor c = {e, e + len, false};
    int64_t n;
    uint8_t k;

    if (rd_u8(&c) != 0x77) /* DW_OP_breg7 */
        return false;
    n = rd_sleb(&c);
    if (rd_u8(&c) != 0x80 || rd_sleb(&c) != 0) /* DW_OP_breg16 0 */
        return false;
    if (rd_u8(&c) != 0x3f || rd_u8(&c) != 0x1a) /* lit15, and */
        return false;
    k = rd_u8(&c);
    if (k < 0x30 || k > 0x4f) /* DW_OP_litK */
        return false;
    if (rd_u8(&c) != 0x2a || rd_u8(&c) != 0x33 || rd_u8(&c) != 0x24 ||
        rd_u8(&c) != 0x22) /* ge, lit3, shl, plus */
        return false;
    if (c.bad || c.p != c.end)
        return false;
    s->cfa_kind = CFA_PLT;
    s->cfa_off = n;
    s->plt_k = k - 0x30;
    return true;
}

static void set_reg_rule(struct cfa_state *s, uint64_t reg, int rule,
                         int64_t off)
{
    if (reg == REG_RBP) {
        s->rbp_rule = rule;
        s->rbp_off = off;
    } else if (reg == REG_RA) {
        s->ra_rule = rule;
        s->ra_off = off;
    }
}

#define MAX_REMEMBER 16

/*
 * Run a CFA program from pc `loc`, emitting a row at each location change
 * when rv is non-NULL. init is the CIE's state for DW_CFA_restore.
 */
static bool run_program(const uint8_t *p, const uint8_t *end,
                        const struct cie *cie, struct cfa_state *s,
                        const struct cfa_state *init, uintptr_t *loc,
                        uintptr_t base, uintptr_t lo, uintptr_t hi,
                        struct rowvec *rv)
{
    struct cursor c = {p, end, false};
    struct cfa_state stack[MAX_REMEMBER];
    int depth = 0;

    while (c.p < c.end && !c.bad) {
        uint8_t op = rd_u8(&c);
        uint64_t reg, delta = 0;
        bool advance = false;

        switch (op & 0xc0) {
        case 0x40:
            delta = (op & 0x3f) * cie->code_align;
            advance = true;
            break;
        case 0x80:
            set_reg_rule(s, op & 0x3f, RULE_OFFSET,
                         (int64_t)rd_uleb(&c) * cie->data_align);
            continue;
        case 0xc0:
            reg = op & 0x3f;
            if (reg == REG_RBP) {
                s->rbp_rule = init->rbp_rule;
                s->rbp_off = init->rbp_off;
            } else if (reg == REG_RA) {
                s->ra_rule = init->ra_rule;
                s->ra_off = init->ra_off;
            }
            continue;
        }
        if (!advance) {
            switch (op) {
            case 0x00: break; /* nop */
            case 0x01:        /* set_loc */
            {
                uintptr_t nl = rd_encoded(&c, cie->fde_enc, 0);
                if (nl > *loc) {
                    delta = nl - *loc;
                    advance = true;
                }
                break;
            }
            case 0x02: delta = rd_u8(&c) * cie->code_align; advance = true;
                break;
            case 0x03: delta = rd_u16(&c) * cie->code_align; advance = true;
                break;
            case 0x04: delta = rd_u32(&c) * cie->code_align; advance = true;
                break;
            case 0x05: /* offset_extended */
                reg = rd_uleb(&c);
                set_reg_rule(s, reg, RULE_OFFSET,
                             (int64_t)rd_uleb(&c) * cie->data_align);
                break;
            case 0x06: /* restore_extended */
                reg = rd_uleb(&c);
                if (reg == REG_RBP) {
                    s->rbp_rule = init->rbp_rule;
                    s->rbp_off = init->rbp_off;
                } else if (reg == REG_RA) {
                    s->ra_rule = init->ra_rule;
                    s->ra_off = init->ra_off;
                }
                break;
            case 0x07: set_reg_rule(s, rd_uleb(&c), RULE_UNDEF, 0); break;
            case 0x08: set_reg_rule(s, rd_uleb(&c), RULE_SAME, 0); break;
            case 0x09: /* register */
                reg = rd_uleb(&c);
                rd_uleb(&c);
                set_reg_rule(s, reg, RULE_OTHER, 0);
                break;
            case 0x0a: /* remember_state */
                if (depth < MAX_REMEMBER)
                    stack[depth] = *s;
                depth++;
                break;
            case 0x0b: /* restore_state: every rule, the CFA's included
                        * (DWARF 5 6.4.2.4; libgcc saves its whole
                        * frame_state_reg_info, CFA and all) */
                if (depth > 0) {
                    depth--;
                    if (depth < MAX_REMEMBER)
                        *s = stack[depth];
                }
                break;
            case 0x0c: /* def_cfa */
                s->cfa_kind = CFA_REG;
                s->cfa_reg = (int)rd_uleb(&c);
                s->cfa_off = (int64_t)rd_uleb(&c);
                break;
            case 0x0d: /* def_cfa_register */
                s->cfa_kind = CFA_REG;
                s->cfa_reg = (int)rd_uleb(&c);
                break;
            case 0x0e: s->cfa_off = (int64_t)rd_uleb(&c); break;
            case 0x0f: /* def_cfa_expression */
            {
                uint64_t len = rd_uleb(&c);
                if (len > (uint64_t)(c.end - c.p)) {
                    c.bad = true;
                    break;
                }
                if (!parse_plt_expr(c.p, len, s))
                    s->cfa_kind = CFA_EXPR;
                c.p += len;
                break;
            }
            case 0x10: /* expression */
            case 0x16: /* val_expression */
            {
                reg = rd_uleb(&c);
                uint64_t len = rd_uleb(&c);
                if (len > (uint64_t)(c.end - c.p)) {
                    c.bad = true;
                    break;
                }
                c.p += len;
                set_reg_rule(s, reg, RULE_OTHER, 0);
                break;
            }
            case 0x11: /* offset_extended_sf */
                reg = rd_uleb(&c);
                set_reg_rule(s, reg, RULE_OFFSET,
                             rd_sleb(&c) * cie->data_align);
                break;
            case 0x12: /* def_cfa_sf */
                s->cfa_kind = CFA_REG;
                s->cfa_reg = (int)rd_uleb(&c);
                s->cfa_off = rd_sleb(&c) * cie->data_align;
                break;
            case 0x13: s->cfa_off = rd_sleb(&c) * cie->data_align; break;
            case 0x14: /* val_offset */
                reg = rd_uleb(&c);
                rd_uleb(&c);
                set_reg_rule(s, reg, RULE_OTHER, 0);
                break;
            case 0x15: /* val_offset_sf */
                reg = rd_uleb(&c);
                rd_sleb(&c);
                set_reg_rule(s, reg, RULE_OTHER, 0);
                break;
            case 0x2e: rd_uleb(&c); break; /* GNU_args_size */
            case 0x2f:                     /* GNU_negative_offset_extended */
                reg = rd_uleb(&c);
                set_reg_rule(s, reg, RULE_OFFSET,
                             -(int64_t)rd_uleb(&c) * cie->data_align);
                break;
            default:
                return false; /* unknown opcode: stop trusting this FDE */
            }
        }
        if (advance) {
            /* The rules gathered so far hold from loc up to the new loc. */
            if (rv && *loc >= lo && *loc < hi)
                push_row(rv, (uint32_t)(*loc - base),
                         encode_rule(s, cie->signal_frame), 1);
            *loc += delta;
        }
    }
    /* The final rules hold from the last location to the FDE's end. */
    if (rv && !c.bad && *loc >= lo && *loc < hi)
        push_row(rv, (uint32_t)(*loc - base),
                 encode_rule(s, cie->signal_frame), 1);
    return !c.bad;
}

static bool parse_cie(const uint8_t *p, struct cie *cie)
{
    struct cursor c = {p, p + 16, false};
    uint64_t len = rd_u32(&c);
    const uint8_t *body_end;
    const char *aug;
    uint8_t version;

    if (len == 0xffffffff) {
        c.end = p + 12;
        len = rd_u64(&c);
    }
    if (c.bad || len < 4 || len > (1u << 24))
        return false;
    c.end = c.p + len;
    body_end = c.end;
    if (rd_u32(&c) != 0) /* CIE id in .eh_frame */
        return false;
    memset(cie, 0, sizeof *cie);
    version = rd_u8(&c);
    if (version != 1 && version != 3 && version != 4)
        return false;
    aug = (const char *)c.p;
    while (c.p < c.end && *c.p)
        c.p++;
    rd_u8(&c);
    if (aug[0] == 'e' && aug[1] == 'h')
        rd_u64(&c);
    if (version == 4) {
        rd_u8(&c); /* address_size */
        rd_u8(&c); /* segment_size */
    }
    cie->code_align = rd_uleb(&c);
    cie->data_align = rd_sleb(&c);
    cie->ra_reg = version == 1 ? rd_u8(&c) : (unsigned)rd_uleb(&c);
    cie->fde_enc = PE_ABSPTR;
    if (aug[0] == 'z') {
        uint64_t alen = rd_uleb(&c);
        const uint8_t *aend = c.p + alen;
        cie->has_z = true;
        for (const char *a = aug + 1; *a && !c.bad; a++) {
            if (*a == 'L') {
                rd_u8(&c);
            } else if (*a == 'R') {
                cie->fde_enc = rd_u8(&c);
            } else if (*a == 'S') {
                cie->signal_frame = true;
            } else if (*a == 'P') {
                uint8_t penc = rd_u8(&c);
                rd_encoded(&c, penc & 0x7f, 0);
            } else if (*a != 'B') {
                break; /* unknown: the 'z' length lets us skip the rest */
            }
        }
        if (aend > c.end)
            return false;
        c.p = aend;
    }
    if (c.bad || cie->ra_reg != REG_RA)
        return false;
    cie->insns = c.p;
    cie->insns_end = body_end;
    return true;
}

/* Compile one FDE at p (length field). */
static void parse_fde(const uint8_t *p, uintptr_t base, uintptr_t lo,
                      uintptr_t hi, struct rowvec *rv)
{
    struct cursor c = {p, p + 12, false};
    uint64_t len = rd_u32(&c);
    const uint8_t *id_field, *end;
    uint32_t cie_off;
    struct cie cie;
    struct cfa_state s, init;
    uintptr_t pc_begin, pc_range, loc;

    if (len == 0xffffffff)
        len = rd_u64(&c);
    if (c.bad || len < 8 || len > (1u << 24))
        return;
    c.end = c.p + len;
    end = c.end;
    id_field = c.p;
    cie_off = rd_u32(&c);
    if (cie_off == 0) /* a CIE, not an FDE */
        return;
    /* Most FDEs of a module share a handful of CIEs: parse each once. */
    const uint8_t *cie_at = id_field - cie_off;
    if (cie_at == rv->cie_at) {
        cie = rv->cie;
    } else {
        if (!parse_cie(cie_at, &cie))
            return;
        rv->cie_at = cie_at;
        rv->cie = cie;
    }
    pc_begin = rd_encoded(&c, cie.fde_enc, 0);
    pc_range = rd_encoded(&c, cie.fde_enc & 0x0f, 0);
    if (cie.has_z)
        c.p += rd_uleb(&c);
    if (c.bad || c.p > end || pc_range == 0)
        return;
    if (pc_begin >= hi || pc_begin + pc_range <= lo)
        return;

    memset(&s, 0, sizeof s);
    s.cfa_kind = CFA_REG;
    s.cfa_reg = REG_RSP;
    s.rbp_rule = RULE_SAME;
    s.ra_rule = RULE_SAME;
    loc = pc_begin;
    if (!run_program(cie.insns, cie.insns_end, &cie, &s, &s, &loc, base, lo,
                     hi, NULL))
        return;
    init = s;
    loc = pc_begin;
    size_t first = rv->n;
    if (!run_program(c.p, end, &cie, &s, &init, &loc, base, lo, hi, rv)) {
        /* A program we cannot follow: keep no half-understood rows. */
        rv->n = first;
        if (pc_begin >= lo)
            push_row(rv, (uint32_t)(pc_begin - base),
                     special(CP_CFI_UNKNOWN), 1);
    }
    rv->fdes++;
    for (size_t i = first; i < rv->n; i++) {
        if (rv->v[i].rule == CP_CFI_RULE_FP) {
            rv->fp_fdes++;
            break;
        }
    }
    if (pc_begin + pc_range < hi)
        push_row(rv, (uint32_t)(pc_begin + pc_range - base),
                 special(CP_CFI_UNKNOWN), 0);
}

static int cmp_srow(const void *a, const void *b)
{
    const struct srow *x = a, *y = b;
    if (x->pc != y->pc)
        return x->pc < y->pc ? -1 : 1;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct cp_cfi_table *cp_cfi_build(uintptr_t hdr_addr, size_t hdr_len,
                                  uintptr_t lo, uintptr_t hi)
{
    const uint8_t *hdr = (const uint8_t *)hdr_addr;
    struct cursor c = {hdr, hdr + (hdr_len ? hdr_len : 4096), false};
    struct rowvec rv = {0};
    struct cp_cfi_table *t = NULL;
    uint8_t version, ptr_enc, cnt_enc, tab_enc;
    uintptr_t eh_frame;
    uint64_t count;

    if (!hdr || hi <= lo || hi - lo > UINT32_MAX)
        return NULL;
    version = rd_u8(&c);
    ptr_enc = rd_u8(&c);
    cnt_enc = rd_u8(&c);
    tab_enc = rd_u8(&c);
    if (c.bad || version != 1)
        return NULL;
    eh_frame = rd_encoded(&c, ptr_enc, hdr_addr);
    if (cnt_enc != PE_OMIT && tab_enc == (PE_DATAREL | PE_SDATA4)) {
        count = rd_encoded(&c, cnt_enc, hdr_addr);
        c.end = c.p + count * 8;
        for (uint64_t i = 0; i < count && !c.bad; i++) {
            rd_encoded(&c, tab_enc, hdr_addr); /* initial location */
            uintptr_t fde = rd_encoded(&c, tab_enc, hdr_addr);
            if (!c.bad)
                parse_fde((const uint8_t *)fde, lo, lo, hi, &rv);
        }
    } else if (eh_frame) {
        /* No search table: walk .eh_frame to its zero terminator. */
        const uint8_t *p = (const uint8_t *)eh_frame;
        for (int guard = 0; guard < (1 << 22); guard++) {
            uint32_t len;
            memcpy(&len, p, 4);
            if (len == 0 || len == 0xffffffff)
                break;
            parse_fde(p, lo, lo, hi, &rv);
            p += 4 + len;
        }
    }
    if (rv.oom || rv.n == 0)
        goto out;

    /* FDEs come in address order from the search table, so the rows
     * usually are sorted already: check before paying for a sort. */
    for (size_t i = 1; i < rv.n; i++) {
        if (cmp_srow(&rv.v[i - 1], &rv.v[i]) > 0) {
            qsort(rv.v, rv.n, sizeof *rv.v, cmp_srow);
            break;
        }
    }
    /* Keep the last row for each pc (real rules beat end-of-FDE fillers,
     * later rows of one FDE beat earlier ones), then merge repeats. */
    size_t m = 0;
    for (size_t i = 0; i < rv.n; i++) {
        if (i + 1 < rv.n && rv.v[i + 1].pc == rv.v[i].pc)
            continue;
        if (m > 0 && rv.v[m - 1].rule == rv.v[i].rule)
            continue;
        rv.v[m++] = rv.v[i];
    }
    size_t n_pages = ((hi - lo) >> 12) + 1;
    size_t bytes = sizeof *t + m * sizeof(struct cp_cfi_row) +
                   (n_pages + 1) * sizeof(uint32_t);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        goto out;
    t = mem;
    t->base = lo;
    t->n = m;
    t->bytes = bytes;
    t->fp_frames = rv.fdes > 0 && rv.fp_fdes == rv.fdes;
    for (size_t i = 0; i < m; i++) {
        t->rows[i].pc = rv.v[i].pc;
        t->rows[i].rule = rv.v[i].rule;
    }
    uint32_t *pages = (uint32_t *)&t->rows[m];
    size_t r = 0;
    for (size_t pg = 0; pg <= n_pages; pg++) {
        while (r < m && (t->rows[r].pc >> 12) < pg)
            r++;
        pages[pg] = (uint32_t)r;
    }
    t->n_pages = (uint32_t)n_pages;
    t->pages = pages;
out:
    free(rv.v);
    return t;
}

void cp_cfi_free(struct cp_cfi_table *t)
{
    if (t)
        munmap(t, t->bytes);
}

/* cprof: signal context (this function only) */
uint32_t cp_cfi_find(const struct cp_cfi_table *t, uintptr_t pc)
{
    size_t lo = 0, hi;
    uintptr_t off;

    if (!t || pc < t->base || pc - t->base > UINT32_MAX)
        return special(CP_CFI_UNKNOWN);
    off = pc - t->base;
    hi = t->n;
    if ((off >> 12) < t->n_pages) {
        /* rows starting in off's page; if none is <= off, the answer is
         * the row before them */
        lo = t->pages[off >> 12];
        hi = t->pages[(off >> 12) + 1];
    }
    /* last row with rows[i].pc <= off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->rows[mid].pc <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return special(CP_CFI_UNKNOWN);
    return t->rows[lo - 1].rule;
}
