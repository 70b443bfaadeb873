/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symtab.c - function names from ELF symbol tables, for code that has no
 * DWARF (stripped binaries, libraries without debug packages, assembly).
 *
 * libdwfl merges .symtab, .dynsym and MiniDebugInfo for us, but its
 * dwfl_module_addrinfo walks every symbol on every call (elfutils 0.188),
 * which made it 58% of the time of symbolizing 20k libc addresses. So the
 * function symbols are copied once into an array sorted by address and
 * searched by bisection.
 *
 * Where several names share an address (glibc: malloc, __libc_malloc,
 * __malloc), the global one wins over weak and local ones, then the one
 * with fewer leading underscores: the name a user would have typed.
 *
 * Never used in signal context. Thread-safe: no (one table per module).
 */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/sym_int.h"

struct sym_elfsym {
    GElf_Addr addr, size;
    const char *name;
    size_t len; /* without a version suffix ("memcpy@GLIBC_2.2.5") */
    int rank;   /* lower is better */
};

static int rank_of(const GElf_Sym *sym, const char *name)
{
    int bind = GELF_ST_BIND(sym->st_info);
    int r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    int us = 0;
    while (name[us] == '_' && us < 9)
        us++;
    return r * 10 + us;
}

static int cmp_sym(const void *a, const void *b)
{
    const struct sym_elfsym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    /* sized before sizeless, then by name: a stable, deterministic pick */
    if ((x->size == 0) != (y->size == 0))
        return x->size == 0 ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void build(struct sym_symtab *t, Dwfl_Module *mod)
{
    t->built = true;
    int n = dwfl_module_getsymtab(mod);
    if (n <= 1)
        return;
    t->v = malloc((size_t)n * sizeof(*t->v));
    if (!t->v)
        return;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name =
            dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
        if (!name || !*name || shndx == SHN_UNDEF || shndx == (GElf_Word)-1)
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC &&
            !(type == STT_NOTYPE && sym.st_size > 0 && shndx != SHN_ABS))
            continue;
        /* .symtab spells symbol versions into names; '@' appears in no
         * C or C++ name */
        const char *at = strchr(name, '@');
        t->v[t->n++] =
            (struct sym_elfsym){.addr = addr,
                                .size = sym.st_size,
                                .name = name,
                                .len = at ? (size_t)(at - name) : strlen(name),
                                .rank = rank_of(&sym, name)};
    }
    if (!t->n)
        return;
    qsort(t->v, t->n, sizeof(*t->v), cmp_sym);
    /* keep the best name per address; a sizeless alias takes the size of
     * a sized one at the same address */
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (w && t->v[w - 1].addr == t->v[i].addr) {
            if (!t->v[w - 1].size)
                t->v[w - 1].size = t->v[i].size;
            continue;
        }
        t->v[w++] = t->v[i];
    }
    t->n = w;
}

const char *sym_symtab_lookup(struct sym_symtab *t, Dwfl_Module *mod,
                              GElf_Addr addr, size_t *len)
{
    if (!t->built)
        build(t, mod);
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* first symbol above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    const struct sym_elfsym *s = &t->v[lo - 1];
    /* sizeless (assembly without .size): up to the next symbol */
    if (!s->size || addr < s->addr + s->size) {
        *len = s->len;
        return s->name;
    }
    /* a function that encloses a smaller one (rare: nested labels) */
    for (size_t i = lo - 1, k = 0; i > 0 && k < 4; i--, k++) {
        s = &t->v[i - 1];
        if (s->size && addr < s->addr + s->size) {
            *len = s->len;
            return s->name;
        }
    }
    return NULL;
}

void sym_symtab_free(struct sym_symtab *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
    t->built = false;
}
