/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dwarfidx.c - from a DWARF address to the chain of functions executing
 * there: the subprogram, and the inlined subroutines nested in it, each
 * with its file and line.
 *
 * Three lazily built indexes keep a lookup at O(log n) plus a scan of
 * one function's inlined ranges, however large the unit:
 *   - units by address, from every compile unit's DW_AT_ranges or
 *     low/high pc (not .debug_aranges: clang does not emit it, and libdw
 *     0.188 finds nothing without it);
 *   - per unit, built when the unit is first hit, its subprograms by
 *     address (walking namespaces and imported partial units too);
 *   - per function, built when it is first hit, its inlined subroutines
 *     at any depth, flattened (struct sym_inltab).
 * (dwarf_getscopes instead walks the unit's DIEs from the top for every
 * address, and its chain for inlined code follows the abstract origin,
 * not the caller.)
 *
 * Frames follow addr2line -i: the innermost frame gets the line table's
 * file and line; each DW_TAG_inlined_subroutine's DW_AT_call_file and
 * DW_AT_call_line give the position in the frame around it.
 *
 * Never used in signal context. Thread-safe: no (one index per module).
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/sym_int.h"

/* Inline nesting followed at most; deeper chains keep the innermost. */
#define SYM_MAX_NEST 64
/* Namespaces and imported units nested deeper than this are not indexed. */
#define SYM_MAX_SCOPE_DEPTH 24

/* The inlined subroutines of one function, flattened in preorder (an
 * inlined call comes before those inlined into it), one entry per address
 * range: a lookup scans plain numbers instead of walking DIEs, which
 * matters in large functions, whose children are mostly parameters,
 * variables and call sites. */
struct sym_inl {
    Dwarf_Addr lo, hi;
    uint32_t die; /* index into dies */
};
struct sym_inltab {
    struct sym_inl *v;
    size_t n, cap;
    Dwarf_Die *dies;
    size_t ndies, capdies;
};

struct sym_fnrange {
    Dwarf_Addr lo, hi;
    Dwarf_Die die;
    struct sym_inltab *inl; /* built on the first lookup in the function */
};

struct sym_cu {
    Dwarf_Die cudie;         /* line table and file names */
    Dwarf_Die top;           /* where the DIEs are: cudie, or a split unit */
    struct sym_fnrange *fns; /* sorted by lo */
    size_t nfns, capfns;
    bool built;
};

struct sym_curange {
    Dwarf_Addr lo, hi;
    size_t cu;
};

struct sym_dwidx_priv {
    struct sym_cu *cus;
    size_t ncus, capcus;
    struct sym_curange *ranges; /* sorted by lo */
    size_t nranges, capranges;
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int cmp_curange(const void *a, const void *b)
{
    const struct sym_curange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_fnrange(const void *a, const void *b)
{
    const struct sym_fnrange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Address 0 is where linkers leave discarded functions (gc'd sections,
 * COMDAT duplicates); no user-space code lives there. */
static bool live_range(Dwarf_Addr lo, Dwarf_Addr hi)
{
    return lo < hi && lo != 0;
}

static int build_units(struct sym_dwidx *x)
{
    x->built = true;
    struct sym_dwidx_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    x->priv = p;

    Dwarf_CU *cu = NULL, *next = NULL;
    for (;;) {
        Dwarf_Half version;
        uint8_t ut;
        Dwarf_Die cudie, subdie;
        memset(&subdie, 0, sizeof(subdie));
        if (dwarf_get_units(x->dw, cu, &next, &version, &ut, &cudie, &subdie) !=
            0)
            break;
        cu = next;
        int tag = dwarf_tag(&cudie);
        if (tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit)
            continue; /* type and partial units own no code */
        if (grow((void **)&p->cus, &p->capcus, p->ncus, sizeof(*p->cus)) < 0)
            goto nomem;
        struct sym_cu *c = &p->cus[p->ncus];
        memset(c, 0, sizeof(*c));
        c->cudie = cudie;
        c->top = (ut == DW_UT_skeleton && subdie.addr) ? subdie : cudie;
        bool any = false;
        Dwarf_Addr base, lo, hi;
        ptrdiff_t off = 0;
        while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
            if (!live_range(lo, hi))
                continue;
            if (grow((void **)&p->ranges, &p->capranges, p->nranges,
                     sizeof(*p->ranges)) < 0)
                goto nomem;
            p->ranges[p->nranges++] =
                (struct sym_curange){.lo = lo, .hi = hi, .cu = p->ncus};
            any = true;
        }
        if (any)
            p->ncus++;
    }
    if (p->nranges)
        qsort(p->ranges, p->nranges, sizeof(*p->ranges), cmp_curange);
    return 0;
nomem:
    sym_dwidx_free(x);
    x->built = true; /* do not retry on every address */
    return -ENOMEM;
}

static int add_fn(struct sym_cu *c, Dwarf_Die *die)
{
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
        if (!live_range(lo, hi))
            continue;
        if (grow((void **)&c->fns, &c->capfns, c->nfns, sizeof(*c->fns)) < 0)
            return -ENOMEM;
        c->fns[c->nfns++] =
            (struct sym_fnrange){.lo = lo, .hi = hi, .die = *die, .inl = NULL};
    }
    return 0;
}

static int collect_fns(struct sym_cu *c, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child;
    if (depth > SYM_MAX_SCOPE_DEPTH || dwarf_child(parent, &child) != 0)
        return 0;
    do {
        int ret = 0;
        switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram:
            ret = add_fn(c, &child);
            break;
        case DW_TAG_namespace:
        case DW_TAG_module:
            /* C++ and Fortran put definitions inside these; classes hold
             * only declarations (definitions sit at namespace level with
             * DW_AT_specification), so they are not walked. */
            ret = collect_fns(c, &child, depth + 1);
            break;
        case DW_TAG_imported_unit: {
            /* dwz moves shared DIEs into partial units */
            Dwarf_Attribute a;
            Dwarf_Die unit;
            if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &a), &unit))
                ret = collect_fns(c, &unit, depth + 1);
            break;
        }
        default:
            break;
        }
        if (ret < 0)
            return ret;
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

static struct sym_cu *find_cu(struct sym_dwidx_priv *p, Dwarf_Addr pc)
{
    size_t lo = 0, hi = p->nranges;
    while (lo < hi) { /* first range with lo > pc */
        size_t mid = lo + (hi - lo) / 2;
        if (p->ranges[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* ranges should not overlap; look back a little in case they do */
    for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
        if (pc < p->ranges[i - 1].hi)
            return &p->cus[p->ranges[i - 1].cu];
    return NULL;
}

static struct sym_fnrange *find_fn(struct sym_cu *c, Dwarf_Addr pc)
{
    size_t lo = 0, hi = c->nfns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->fns[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
        if (pc < c->fns[i - 1].hi)
            return &c->fns[i - 1];
    return NULL;
}

static int collect_inl(struct sym_inltab *t, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child;
    if (depth > SYM_MAX_NEST || dwarf_child(parent, &child) != 0)
        return 0;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_inlined_subroutine: {
            if (grow((void **)&t->dies, &t->capdies, t->ndies,
                     sizeof(*t->dies)) < 0)
                return -ENOMEM;
            uint32_t idx = (uint32_t)t->ndies++;
            t->dies[idx] = child;
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = 0;
            while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
                if (!live_range(lo, hi))
                    continue;
                if (grow((void **)&t->v, &t->cap, t->n, sizeof(*t->v)) < 0)
                    return -ENOMEM;
                t->v[t->n++] = (struct sym_inl){lo, hi, idx};
            }
            /* inlined code nests: walk this one's children too */
        }
            __attribute__((fallthrough));
        case DW_TAG_lexical_block:
        case DW_TAG_try_block:
        case DW_TAG_catch_block:
        case DW_TAG_with_stmt:
        case DW_TAG_common_block:
            if (collect_inl(t, &child, depth + 1) < 0)
                return -ENOMEM;
            break;
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

static void inltab_free(struct sym_inltab *t)
{
    if (!t)
        return;
    free(t->v);
    free(t->dies);
    free(t);
}

/* The function's inline table; NULL when it has no inlined code (or on
 * ENOMEM, which then just loses the inlined frames). */
static struct sym_inltab *inltab(struct sym_fnrange *fr)
{
    static const struct sym_inltab none; /* "built, empty": read-only */
    if (!fr->inl) {
        struct sym_inltab *t = calloc(1, sizeof(*t));
        if (t && collect_inl(t, &fr->die, 0) == 0 && t->n) {
            fr->inl = t;
        } else {
            inltab_free(t);
            fr->inl = (struct sym_inltab *)&none;
        }
    }
    return fr->inl->n ? fr->inl : NULL;
}

int sym_dw_frames(struct sym_dwidx *x, Dwarf_Addr pc, struct sym_dwframe *out,
                  int max)
{
    if (max <= 0 || !x->dw)
        return 0;
    if (!x->built && build_units(x) < 0)
        return 0;
    struct sym_dwidx_priv *p = x->priv;
    if (!p)
        return 0;
    struct sym_cu *c = find_cu(p, pc);
    if (!c)
        return 0;
    if (!c->built) {
        c->built = true;
        if (collect_fns(c, &c->top, 0) < 0) {
            free(c->fns);
            c->fns = NULL;
            c->nfns = c->capfns = 0;
        } else if (c->nfns) {
            qsort(c->fns, c->nfns, sizeof(*c->fns), cmp_fnrange);
        }
    }

    const char *file = NULL;
    int line = 0;
    Dwarf_Line *ln = dwarf_getsrc_die(&c->cudie, pc);
    if (ln) {
        file = dwarf_linesrc(ln, NULL, NULL);
        if (dwarf_lineno(ln, &line) != 0)
            line = 0;
    }

    struct sym_fnrange *fr = find_fn(c, pc);
    if (!fr) {
        /* code with line info but no subprogram DIE (assembly units) */
        if (!file)
            return 0;
        memset(&out[0], 0, sizeof(out[0]));
        out[0].file = file;
        out[0].line = line;
        return 1;
    }

    Dwarf_Die chain[SYM_MAX_NEST];
    int n = 0;
    chain[n++] = fr->die;
    struct sym_inltab *t = inltab(fr);
    for (size_t i = 0; t && i < t->n; i++) {
        if (pc < t->v[i].lo || pc >= t->v[i].hi)
            continue;
        Dwarf_Die *d = &t->dies[t->v[i].die];
        if (n > 1 && chain[n - 1].addr == d->addr)
            continue;            /* two ranges of one inlined call */
        if (n == SYM_MAX_NEST) { /* keep the innermost */
            memmove(chain + 1, chain + 2, (n - 2) * sizeof(chain[0]));
            n--;
        }
        chain[n++] = *d;
    }

    int nout = 0;
    for (int k = n - 1; k >= 0 && nout < max; k--) {
        struct sym_dwframe *f = &out[nout++];
        f->fn = chain[k];
        f->has_fn = true;
        f->file = file;
        f->line = line;
        if (k == 0)
            break;
        /* where chain[k] was inlined: a position in chain[k-1] */
        Dwarf_Attribute a;
        Dwarf_Word v;
        file = NULL;
        line = 0;
        Dwarf_Die unit;
        Dwarf_Files *files;
        size_t nfiles;
        if (dwarf_formudata(dwarf_attr(&chain[k], DW_AT_call_file, &a), &v) ==
                0 &&
            dwarf_diecu(&chain[k], &unit, NULL, NULL) &&
            dwarf_getsrcfiles(&unit, &files, &nfiles) == 0 && v < nfiles)
            file = dwarf_filesrc(files, v, NULL, NULL);
        if (dwarf_formudata(dwarf_attr(&chain[k], DW_AT_call_line, &a), &v) ==
            0)
            line = (int)v;
    }
    return nout;
}

void sym_dwidx_free(struct sym_dwidx *x)
{
    struct sym_dwidx_priv *p = x->priv;
    if (p) {
        for (size_t i = 0; i < p->ncus; i++) {
            struct sym_cu *c = &p->cus[i];
            for (size_t j = 0; j < c->nfns; j++)
                if (c->fns[j].inl && c->fns[j].inl->n)
                    inltab_free(c->fns[j].inl);
            free(c->fns);
        }
        free(p->cus);
        free(p->ranges);
        free(p);
    }
    x->priv = NULL;
    x->built = false;
}
