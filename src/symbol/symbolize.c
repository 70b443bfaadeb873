/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolize.c - addresses to frames (function, file, line, inlined
 * callers) for libcprof's profile writer and the cprof command.
 *
 * Three layers, each cached:
 *   files   - one per (path, expected build ID): opened once, its PT_LOAD
 *             segments and build ID read (elfinfo.c); a wrong build ID
 *             sends it to /usr/lib/debug/.build-id/ instead;
 *   modules - one per (file, load bias): a libdwfl session of its own, so
 *             that overlapping or repeated mappings (profiles merged from
 *             several processes) never collide inside libdwfl;
 *   ranges  - the [start, limit) address ranges the caller declared, each
 *             pointing at a module (or at nothing when the file could not
 *             be read), disjoint and sorted;
 * and a per-address cache of finished frames, so a profile's 100k
 * locations cost one lookup per distinct address.
 *
 * Names come from DWARF (linkage name demangled, else DW_AT_name) and,
 * where DWARF has nothing, from the ELF symbol tables (.symtab, .dynsym,
 * MiniDebugInfo) through dwfl_module_addrinfo.
 *
 * Nothing is global: everything hangs off the cp_symbolizer, and every
 * descriptor it opens (with O_CLOEXEC where cprof opens it) is closed by
 * cp_sym_destroy, so libcprof can symbolize inside the host as it exits.
 * Never used in signal context. Thread-safe: one symbolizer per thread.
 */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "profile/dynbuf.h"
#include "symbol/demangle.h"
#include "symbol/sym_int.h"
#include "symbol/symbolize.h"

struct sym_file {
    char *path;      /* as the caller named it */
    char *want_id;   /* build ID the caller expects, or NULL */
    char *open_path; /* what is read: path, or the build-ID debug file */
    int err;         /* 0, or why it cannot be used (negative errno) */
    struct sym_elfinfo info;
};

struct sym_mod {
    struct sym_file *file;
    uint64_t bias;   /* runtime address - ELF virtual address */
    uint64_t adjust; /* runtime address - libdwfl's address for it */
    Dwfl *dwfl;
    Dwfl_Module *mod;
    bool dw_tried;
    Dwarf_Addr dwbias; /* libdwfl address - DWARF address */
    struct sym_dwidx idx;
    struct sym_symtab syms;
    struct sym_map fninfo; /* DIE address -> struct sym_fninfo */
};

struct sym_range {
    uint64_t start, limit;
    struct sym_mod *mod; /* NULL: unreadable, lookups find nothing */
};

/* What a function DIE says, computed once per DIE. */
struct sym_fninfo {
    const struct sym_str *name, *system_name, *decl_file;
    int start_line;
};

#define ENTRY_DWARF 1u /* frames came from DWARF: lines and inlining known */

struct sym_entry {
    uint32_t n;
    uint32_t flags;
    struct cp_sym_frame frames[];
};

struct cp_symbolizer {
    struct sym_arena arena; /* interned strings, cache entries, fninfo */
    struct sym_strpool strs;
    struct sym_demangler dem;
    struct sym_file **files;
    size_t nfiles, capfiles;
    struct sym_mod **mods;
    size_t nmods, capmods;
    struct sym_range *ranges; /* sorted by start, disjoint */
    size_t nranges, capranges;
    struct sym_map cache;  /* address -> struct sym_entry */
    struct sym_entry none; /* cached "nothing here" */
};

static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = sym_find_no_elf,
    .find_debuginfo = sym_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = NULL,
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

struct cp_symbolizer *cp_sym_new(void)
{
    elf_version(EV_CURRENT);
    return calloc(1, sizeof(struct cp_symbolizer));
}

static void mod_free(struct sym_mod *m)
{
    sym_dwidx_free(&m->idx);
    sym_symtab_free(&m->syms);
    sym_map_free(&m->fninfo);
    if (m->dwfl)
        dwfl_end(m->dwfl); /* closes the module's files */
    free(m);
}

static void file_free(struct sym_file *f)
{
    free(f->path);
    free(f->want_id);
    free(f->open_path);
    sym_elfinfo_free(&f->info);
    free(f);
}

void cp_sym_destroy(struct cp_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmods; i++)
        mod_free(s->mods[i]);
    for (size_t i = 0; i < s->nfiles; i++)
        file_free(s->files[i]);
    free(s->mods);
    free(s->files);
    free(s->ranges);
    sym_map_free(&s->cache);
    sym_strpool_free(&s->strs);
    sym_demangler_free(&s->dem);
    sym_arena_free(&s->arena);
    free(s);
}

/* ---- files and modules ---- */

/* Open path and read its ELF facts into f; 0 or a negative errno. */
static int file_read(struct sym_file *f, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = sym_elf_read(fd, &f->info);
    close(fd);
    return ret;
}

static int file_open(struct sym_file *f)
{
    int ret = file_read(f, f->path);
    if (ret == -ENOMEM)
        return ret;
    if (!f->want_id)
        return ret;
    if (ret == 0 && strcasecmp(f->info.build_id, f->want_id) == 0)
        return 0;
    /* Missing, or another build of it: the profile's own build may have
     * its debug file installed (it carries the symbols and program
     * headers, so it stands in for the whole file). */
    char want[sizeof(f->info.build_id)];
    char dbg[4096];
    size_t n = strlen(f->want_id);
    if (n >= sizeof(want))
        return ret < 0 ? ret : -ESTALE;
    for (size_t i = 0; i <= n; i++) {
        char ch = f->want_id[i];
        want[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    if (!sym_build_id_path(want, dbg, sizeof(dbg)))
        return ret < 0 ? ret : -ESTALE;
    int had = ret;
    sym_elfinfo_free(&f->info);
    ret = file_read(f, dbg);
    if (ret == 0 && strcmp(f->info.build_id, want) == 0) {
        f->open_path = strdup(dbg);
        return f->open_path ? 0 : -ENOMEM;
    }
    sym_elfinfo_free(&f->info);
    if (ret == -ENOMEM)
        return ret;
    return had < 0 ? had : -ESTALE;
}

static struct sym_file *get_file(struct cp_symbolizer *s, const char *path,
                                 const char *want_id)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        struct sym_file *f = s->files[i];
        if (strcmp(f->path, path) == 0 &&
            (want_id ? f->want_id && strcasecmp(f->want_id, want_id) == 0
                     : !f->want_id))
            return f;
    }
    if (grow((void **)&s->files, &s->capfiles, s->nfiles, sizeof(*s->files)))
        return NULL;
    struct sym_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->path = strdup(path);
    f->want_id = want_id ? strdup(want_id) : NULL;
    if (!f->path || (want_id && !f->want_id)) {
        file_free(f);
        return NULL;
    }
    f->err = file_open(f);
    if (f->err == -ENOMEM) {
        file_free(f);
        return NULL;
    }
    s->files[s->nfiles++] = f;
    return f;
}

static int get_mod(struct cp_symbolizer *s, struct sym_file *f, uint64_t bias,
                   struct sym_mod **out)
{
    for (size_t i = 0; i < s->nmods; i++) {
        if (s->mods[i]->file == f && s->mods[i]->bias == bias) {
            *out = s->mods[i];
            return 0;
        }
    }
    if (grow((void **)&s->mods, &s->capmods, s->nmods, sizeof(*s->mods)))
        return -ENOMEM;
    struct sym_mod *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->file = f;
    m->bias = bias;
    m->dwfl = dwfl_begin(&sym_callbacks);
    if (!m->dwfl) {
        free(m);
        return -ENOMEM;
    }
    const char *path = f->open_path ? f->open_path : f->path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        mod_free(m);
        return err;
    }
    dwfl_report_begin(m->dwfl);
    /* add_p_vaddr: the module's addresses are bias + p_vaddr. libdwfl
     * ignores the base of ET_EXEC files (their bias is 0); adjust keeps
     * made-up mappings of those working too. */
    m->mod = dwfl_report_elf(m->dwfl, f->path, path, fd, bias, true);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (!m->mod) {
        close(fd); /* not consumed on failure */
        mod_free(m);
        return -ENOEXEC;
    }
    bool fixed = f->info.e_type == ET_EXEC || f->info.e_type == ET_CORE;
    m->adjust = fixed ? bias : 0;
    s->mods[s->nmods++] = m;
    *out = m;
    return 0;
}

/* Make [start, limit) point at m, replacing whatever overlapped it (as a
 * new mmap replaces old mappings). Cached answers may change: drop them. */
static int set_range(struct cp_symbolizer *s, uint64_t start, uint64_t limit,
                     struct sym_mod *m)
{
    size_t w = 0, at = s->nranges;
    for (size_t i = 0; i < s->nranges; i++) {
        struct sym_range *r = &s->ranges[i];
        if (r->start == start && r->limit == limit && r->mod == m)
            return 0; /* already so */
        if (r->start < limit && start < r->limit)
            continue; /* overlapped: dropped */
        if (at == s->nranges && r->start >= limit)
            at = w;
        s->ranges[w++] = *r;
    }
    s->nranges = w;
    if (at > w)
        at = w;
    if (grow((void **)&s->ranges, &s->capranges, s->nranges,
             sizeof(*s->ranges)))
        return -ENOMEM;
    memmove(&s->ranges[at + 1], &s->ranges[at],
            (s->nranges - at) * sizeof(*s->ranges));
    s->ranges[at] = (struct sym_range){start, limit, m};
    s->nranges++;
    sym_map_clear(&s->cache);
    return 0;
}

int cp_sym_add_module(struct cp_symbolizer *s, const char *path, uint64_t start,
                      uint64_t limit, uint64_t file_offset,
                      const char *build_id)
{
    if (!s || !path || !*path || limit <= start)
        return -EINVAL;
    if (build_id && !*build_id)
        build_id = NULL;
    struct sym_file *f = get_file(s, path, build_id);
    if (!f)
        return -ENOMEM;
    int err = f->err;
    struct sym_mod *m = NULL;
    if (!err) {
        uint64_t known[8];
        size_t nknown = 0;
        for (size_t i = 0; i < s->nmods && nknown < 8; i++)
            if (s->mods[i]->file == f)
                known[nknown++] = s->mods[i]->bias;
        uint64_t bias =
            sym_elf_bias(&f->info, start, file_offset, known, nknown);
        err = get_mod(s, f, bias, &m);
    }
    if (err == -ENOMEM)
        return err;
    int ret = set_range(s, start, limit, err ? NULL : m);
    return ret < 0 ? ret : err;
}

static struct sym_range *find_range(struct cp_symbolizer *s, uint64_t addr)
{
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && addr < s->ranges[lo - 1].limit)
        return &s->ranges[lo - 1];
    return NULL;
}

/* ---- names ---- */

static struct sym_str *intern(struct cp_symbolizer *s, const char *str)
{
    if (!str || !*str)
        return NULL;
    return sym_intern(&s->strs, &s->arena, str, strlen(str));
}

/*
 * The human name for a linker name, computed once and cached: demangled,
 * then simplified to the form go tool pprof shows by default
 * ("std::vector::operator[]", see demangle.h). go tool pprof keeps a name
 * that differs from system_name as already demangled, so this is what
 * every viewer shows; the mangled system_name keeps the full form within
 * reach (go tool pprof -symbolize=demangle=full, c++filt).
 */
static const struct sym_str *human_name(struct cp_symbolizer *s,
                                        struct sym_str *sys)
{
    if (!sys)
        return NULL;
    if (!sys->demangled) {
        char *d = sym_demangle(&s->dem, sys->s);
        char *simple = d ? cp_sym_simplify(d, CP_SYM_DEMANGLED) : NULL;
        const char *best = simple ? simple : d;
        const struct sym_str *h = best ? intern(s, best) : NULL;
        free(simple);
        free(d);
        sys->demangled = h ? h : sys;
    }
    return sys->demangled;
}

static bool is_cxx(Dwarf_Die *die)
{
    Dwarf_Die cu;
    if (!dwarf_diecu(die, &cu, NULL, NULL))
        return false;
    switch (dwarf_srclang(&cu)) {
    case DW_LANG_C_plus_plus:
    case DW_LANG_C_plus_plus_03:
    case DW_LANG_C_plus_plus_11:
    case DW_LANG_C_plus_plus_14:
        return true;
    default:
        return false;
    }
}

/*
 * A C++ function DWARF gives no linkage name (lambdas, some inlined
 * members): qualify its DW_AT_name with the scopes around its declaration,
 * "main::operator()" rather than a bare "operator()", in the simplified
 * form human_name gives linkage names: no template arguments, and an
 * enclosing function written "outer()" as pprof writes it (GCC mangles
 * main's local names without parameters, so "main" stays bare).
 * dwarf_getscopes_die walks the unit from the top, so this runs once per
 * function DIE (fninfo caches it), and only for such names.
 */
static struct sym_str *qualified(struct cp_symbolizer *s, Dwarf_Die *die,
                                 const char *plain)
{
    Dwarf_Die cur = *die, next;
    Dwarf_Attribute a;
    /* the DIE that carries the name: through abstract origins and
     * specifications, as dwarf_attr_integrate does */
    for (int hop = 0; hop < 8 && !dwarf_hasattr(&cur, DW_AT_name); hop++) {
        if (dwarf_formref_die(dwarf_attr(&cur, DW_AT_abstract_origin, &a),
                              &next) ||
            dwarf_formref_die(dwarf_attr(&cur, DW_AT_specification, &a), &next))
            cur = next;
        else
            break;
    }
    if (!is_cxx(&cur))
        return NULL;
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes_die(&cur, &scopes);
    char buf[1024];
    size_t len = 0;
    for (int i = n - 1; i >= 1; i--) {
        const char *part;
        switch (dwarf_tag(&scopes[i])) {
        case DW_TAG_namespace:
            part = dwarf_diename(&scopes[i]);
            if (!part)
                part = "(anonymous namespace)";
            break;
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_subprogram:
            part = dwarf_diename(&scopes[i]);
            if (part && strncmp(part, "__GI_", 5) == 0)
                part += 5;
            break;
        default:
            part = NULL;
            break;
        }
        if (!part)
            continue;
        bool fn = dwarf_tag(&scopes[i]) == DW_TAG_subprogram &&
                  strcmp(part, "main") != 0;
        int w = snprintf(buf + len, sizeof(buf) - len, "%s%s::", part,
                         fn ? "()" : "");
        if (w < 0 || (size_t)w >= sizeof(buf) - len) {
            len = 0; /* absurdly deep: keep the plain name */
            break;
        }
        len += (size_t)w;
    }
    free(scopes);
    int w = snprintf(buf + len, sizeof(buf) - len, "%s", plain);
    if (w < 0 || (size_t)w >= sizeof(buf) - len)
        return NULL;
    /* DWARF names template instances with their arguments
     * ("Grid<double, 64>"); pprof's form has none */
    char *simple = cp_sym_simplify(buf, CP_SYM_SCOPED);
    if (!len && !simple)
        return NULL; /* nothing to add to the plain name */
    struct sym_str *q = intern(s, simple ? simple : buf);
    free(simple);
    return q;
}

static const struct sym_fninfo *fninfo(struct cp_symbolizer *s,
                                       struct sym_mod *m, Dwarf_Die *die)
{
    /* The DIE's address in the mapped debug data is unique across the
     * module's files (main, dwz supplement), unlike its offset. */
    uint64_t key = (uint64_t)(uintptr_t)die->addr;
    struct sym_fninfo *fi = sym_map_get(&m->fninfo, key);
    if (fi)
        return fi;
    fi = sym_arena_alloc(&s->arena, sizeof(*fi));
    if (!fi)
        return NULL;
    Dwarf_Attribute a;
    const char *link =
        dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (!link)
        link = dwarf_formstring(
            dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
    const char *plain = dwarf_diename(die);
    if (link) {
        struct sym_str *sys = intern(s, link);
        fi->system_name = sys;
        fi->name = human_name(s, sys);
    } else {
        /* glibc defines its functions under internal aliases (hidden_def:
         * __GI_qsort for qsort); the public name is the one users know */
        if (plain && strncmp(plain, "__GI_", 5) == 0 && plain[5])
            plain += 5;
        fi->name = fi->system_name = intern(s, plain);
        struct sym_str *q = plain ? qualified(s, die, plain) : NULL;
        if (q)
            fi->name = q;
    }
    int line;
    if (dwarf_decl_line(die, &line) == 0 && line > 0)
        fi->start_line = line;
    fi->decl_file = intern(s, dwarf_decl_file(die));
    if (sym_map_put(&m->fninfo, key, fi) < 0)
        return NULL;
    return fi;
}

static void symtab_name(struct cp_symbolizer *s, struct sym_mod *m,
                        uint64_t maddr, struct cp_sym_frame *f)
{
    size_t len = 0;
    const char *name = sym_symtab_lookup(&m->syms, m->mod, maddr, &len);
    struct sym_str *sys =
        name && len ? sym_intern(&s->strs, &s->arena, name, len) : NULL;
    const struct sym_str *human = human_name(s, sys);
    if (!sys || !human)
        return;
    f->system_name = sys->s;
    f->function = human->s;
}

static const char *str_of(const struct sym_str *x)
{
    return x ? x->s : NULL;
}

/* ---- lookup ---- */

static struct sym_entry *resolve(struct cp_symbolizer *s, uint64_t addr)
{
    struct sym_entry *e = sym_map_get(&s->cache, addr);
    if (e)
        return e;
    e = &s->none;
    struct sym_range *r = find_range(s, addr);
    if (!r || !r->mod)
        goto out;
    struct sym_mod *m = r->mod;
    uint64_t maddr = addr - m->adjust;

    struct cp_sym_frame fr[CP_SYM_MAX_FRAMES] = {{0}};
    int n = 0;
    uint32_t flags = 0;
    if (!m->dw_tried) {
        m->dw_tried = true;
        m->idx.dw = dwfl_module_getdwarf(m->mod, &m->dwbias);
    }
    if (m->idx.dw) {
        struct sym_dwframe df[CP_SYM_MAX_FRAMES];
        n = sym_dw_frames(&m->idx, maddr - m->dwbias, df, CP_SYM_MAX_FRAMES);
        for (int i = 0; i < n; i++) {
            struct cp_sym_frame *f = &fr[i];
            memset(f, 0, sizeof(*f));
            f->line = df[i].line;
            f->file = str_of(intern(s, df[i].file));
            if (!df[i].has_fn)
                continue;
            const struct sym_fninfo *fi = fninfo(s, m, &df[i].fn);
            if (!fi)
                continue;
            f->function = str_of(fi->name);
            f->system_name = str_of(fi->system_name);
            f->start_line = fi->start_line;
            if (!f->file)
                f->file = str_of(fi->decl_file);
        }
        if (n)
            flags |= ENTRY_DWARF;
    }
    if (n == 0) {
        memset(&fr[0], 0, sizeof(fr[0]));
        n = 1;
    }
    /* the outermost frame is the real (not inlined) function: where DWARF
     * had no name for it, the symbol table may */
    if (!fr[n - 1].function)
        symtab_name(s, m, maddr, &fr[n - 1]);
    else if (fr[n - 1].system_name &&
             strncmp(fr[n - 1].system_name, "_Z", 2) != 0 &&
             strstr(fr[n - 1].function, "::")) {
        /* a C++ function DWARF gives no linkage name (GCC's clones of
         * lambdas): the symbol's mangled name says more than the scopes
         * ("main::{lambda(int)#1}::operator()", not "main::operator()") */
        struct cp_sym_frame sf = {0};
        symtab_name(s, m, maddr, &sf);
        if (sf.system_name && strncmp(sf.system_name, "_Z", 2) == 0) {
            fr[n - 1].function = sf.function;
            fr[n - 1].system_name = sf.system_name;
        }
    }
    if (n == 1 && !fr[0].function && !fr[0].file)
        goto out;

    e = sym_arena_alloc(&s->arena, sizeof(*e) + n * sizeof(e->frames[0]));
    if (!e)
        return NULL;
    e->n = (uint32_t)n;
    e->flags = flags;
    memcpy(e->frames, fr, n * sizeof(fr[0]));
out:
    if (sym_map_put(&s->cache, addr, e) < 0)
        return NULL;
    return e;
}

int cp_sym_lookup(struct cp_symbolizer *s, uint64_t addr,
                  struct cp_sym_frame *out, int max)
{
    if (!s || !addr || max <= 0)
        return 0;
    struct sym_entry *e = resolve(s, addr);
    if (!e)
        return 0;
    int n = (int)e->n < max ? (int)e->n : max;
    memcpy(out, e->frames, n * sizeof(out[0]));
    return n;
}

/* ---- whole profiles ---- */

/* Mapping names that are not files: nothing to read, nothing to say. */
static bool special_mapping(const char *name)
{
    static const char *const prefixes[] = {
        "[",           /* [vdso], [vsyscall], [heap], [kernel.kallsyms] */
        "//anon",      /* anonymous, as perf names them */
        "/memfd:",     /* JITs */
        "/dev/",       /* device memory */
        "/SYSV",       /* shared memory */
        "anon_inode:", /* io_uring, perf, bpf */
    };
    if (!*name)
        return true;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Function interning for one cp_sym_profile call: by the symbolizer's
 * string pointers first (cheap), then by the profile's string indices,
 * so functions already in the profile are reused. */
struct fnkey {
    uint64_t a, b, c, d;
    uint64_t id;
    struct fnkey *next;
};

struct fntab {
    struct sym_map by_ptr, by_idx;
    struct sym_arena arena;
};

static uint64_t fnkey_hash(const struct fnkey *k)
{
    uint64_t h =
        cp_splitmix64(k->a ^ cp_splitmix64(k->b ^ cp_splitmix64(k->c ^ cp_splitmix64(k->d))));
    return h ? h : 1;
}

static struct fnkey *fn_find(struct sym_map *m, const struct fnkey *k)
{
    for (struct fnkey *e = sym_map_get(m, fnkey_hash(k)); e; e = e->next)
        if (e->a == k->a && e->b == k->b && e->c == k->c && e->d == k->d)
            return e;
    return NULL;
}

static int fn_add(struct sym_map *m, struct sym_arena *a, const struct fnkey *k,
                  uint64_t id)
{
    struct fnkey *e = sym_arena_alloc(a, sizeof(*e));
    if (!e)
        return -ENOMEM;
    *e = *k;
    e->id = id;
    uint64_t h = fnkey_hash(k);
    e->next = sym_map_get(m, h);
    return sym_map_put(m, h, e);
}

static int64_t pstr(struct cp_profile *p, const char *s)
{
    return cp_profile_str(p, s ? s : "");
}

/* Function id for f, or 0 (the frame is skipped), or -ENOMEM. */
static int64_t intern_function(struct cp_profile *p, struct fntab *t,
                               const struct cp_sym_frame *f)
{
    if (!f->function)
        return 0;
    struct fnkey k = {(uintptr_t)f->function, (uintptr_t)f->system_name,
                      (uintptr_t)f->file, (uint64_t)(int64_t)f->start_line};
    struct fnkey *e = fn_find(&t->by_ptr, &k);
    if (e)
        return (int64_t)e->id;
    int64_t name = pstr(p, f->function);
    int64_t sys = pstr(p, f->system_name ? f->system_name : f->function);
    int64_t file = pstr(p, f->file);
    if (name < 0 || sys < 0 || file < 0)
        return -ENOMEM;
    struct fnkey ki = {(uint64_t)name, (uint64_t)sys, (uint64_t)file,
                       (uint64_t)(int64_t)f->start_line};
    e = fn_find(&t->by_idx, &ki);
    uint64_t id;
    if (e) {
        id = e->id;
    } else {
        struct cp_function *fn = cp_profile_add_function(p);
        if (!fn)
            return -ENOMEM;
        fn->name = name;
        fn->system_name = sys;
        fn->filename = file;
        fn->start_line = f->start_line;
        id = fn->id;
        if (fn_add(&t->by_idx, &t->arena, &ki, id) < 0)
            return -ENOMEM;
    }
    if (fn_add(&t->by_ptr, &t->arena, &k, id) < 0)
        return -ENOMEM;
    return (int64_t)id;
}

static void fntab_free(struct fntab *t)
{
    sym_map_free(&t->by_ptr);
    sym_map_free(&t->by_idx);
    sym_arena_free(&t->arena);
}

static int warn_mapping(struct cp_dynbuf *warn, const char *name, int err,
                        const char *want_id)
{
    if (!warn)
        return 0;
    if (err == -ESTALE)
        return cp_dynbuf_printf(
            warn,
            "cprof: %s is not the build the profile was taken from "
            "(build ID %s): its addresses stay unsymbolized\n",
            name, want_id ? want_id : "?");
    if (err == -ENOEXEC)
        return cp_dynbuf_printf(warn,
                                "cprof: cannot read %s (not an ELF file): its "
                                "addresses stay unsymbolized\n",
                                name);
    return cp_dynbuf_printf(
        warn, "cprof: cannot read %s (%s): its addresses stay unsymbolized\n",
        name, strerror(-err));
}

static struct cp_mapping *mapping_at(struct cp_profile *p, uint64_t addr)
{
    for (size_t i = 0; i < p->n_mappings; i++) {
        struct cp_mapping *m = &p->mappings[i];
        if (m->memory_start <= addr && addr < m->memory_limit)
            return m;
    }
    return NULL;
}

int cp_sym_profile(struct cp_symbolizer *s, struct cp_profile *p,
                   struct cp_dynbuf *warn)
{
    if (!s || !p)
        return -EINVAL;
    int ret = 0;
    struct fntab t;
    struct sym_map warned; /* filename string index + 1 */
    memset(&t, 0, sizeof(t));
    memset(&warned, 0, sizeof(warned));

    for (size_t i = 0; i < p->n_mappings; i++) {
        struct cp_mapping *m = &p->mappings[i];
        const char *name = cp_profile_string(p, m->filename);
        const char *bid = cp_profile_string(p, m->build_id);
        if (special_mapping(name) || m->memory_limit <= m->memory_start)
            continue;
        char *stripped = NULL;
        size_t len = strlen(name);
        static const char deleted[] = " (deleted)";
        if (len > sizeof(deleted) - 1 &&
            strcmp(name + len - (sizeof(deleted) - 1), deleted) == 0 && *bid) {
            /* replaced since: the build ID check tells whether the file
             * there now (or its debug file) is still the one that ran */
            stripped = strndup(name, len - (sizeof(deleted) - 1));
            if (!stripped) {
                ret = -ENOMEM;
                goto out;
            }
        }
        int err = cp_sym_add_module(s, stripped ? stripped : name,
                                    m->memory_start, m->memory_limit,
                                    m->file_offset, *bid ? bid : NULL);
        free(stripped);
        if (err == -ENOMEM) {
            ret = err;
            goto out;
        }
        if (err < 0 && !sym_map_get(&warned, (uint64_t)m->filename + 1)) {
            if (sym_map_put(&warned, (uint64_t)m->filename + 1, &warned) < 0) {
                ret = -ENOMEM;
                goto out;
            }
            if (warn_mapping(warn, name, err, *bid ? bid : NULL) == -ENOMEM) {
                ret = -ENOMEM;
                goto out;
            }
        }
    }

    /* functions already in the profile are reused, not duplicated */
    for (size_t i = 0; i < p->n_functions; i++) {
        struct cp_function *fn = &p->functions[i];
        struct fnkey k = {(uint64_t)fn->name, (uint64_t)fn->system_name,
                          (uint64_t)fn->filename, (uint64_t)fn->start_line};
        if (!fn_find(&t.by_idx, &k) &&
            fn_add(&t.by_idx, &t.arena, &k, fn->id) < 0) {
            ret = -ENOMEM;
            goto out;
        }
    }

    struct cp_mapping *last_map = NULL;
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *loc = &p->locations[i];
        if (loc->n_lines || !loc->address)
            continue;
        struct sym_entry *e = resolve(s, loc->address);
        if (!e) {
            ret = -ENOMEM;
            goto out;
        }
        int64_t ids[CP_SYM_MAX_FRAMES];
        size_t n = 0;
        bool any_file = false, any_line = false;
        for (uint32_t j = 0; j < e->n; j++) {
            int64_t id = intern_function(p, &t, &e->frames[j]);
            if (id < 0) {
                ret = -ENOMEM;
                goto out;
            }
            if (!id)
                continue;
            ids[n] = id;
            any_file |= e->frames[j].file != NULL;
            any_line |= e->frames[j].line > 0;
            n++;
        }
        if (!n)
            continue;
        if (cp_profile_set_lines(p, loc, n) < 0) {
            ret = -ENOMEM;
            goto out;
        }
        for (size_t j = 0, k = 0; j < e->n; j++) {
            if (!e->frames[j].function)
                continue;
            loc->lines[k].function_id = (uint64_t)ids[k];
            loc->lines[k].line = e->frames[j].line;
            k++;
        }
        struct cp_mapping *m = cp_profile_mapping(p, loc->mapping_id);
        if (!m) {
            if (!last_map || loc->address < last_map->memory_start ||
                loc->address >= last_map->memory_limit)
                last_map = mapping_at(p, loc->address);
            m = last_map;
        }
        if (m) {
            m->has_functions = true;
            m->has_filenames |= any_file;
            m->has_line_numbers |= any_line;
            m->has_inline_frames |= (e->flags & ENTRY_DWARF) != 0;
        }
    }
out:
    sym_map_free(&warned);
    fntab_free(&t);
    return ret;
}
