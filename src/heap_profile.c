/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_profile.c - the "heap" and "allocs" profiles from the sampler's
 * buckets (heap.h), as Go's runtime/pprof writes them:
 *   - proto (protomem.go writeHeapProto): one sample per (stack, size)
 *     bucket, values unbiased with scaleHeapSample, a `bytes` label;
 *   - legacy text, debug=1 (pprof.go writeHeapInternal): raw sampled
 *     counts, "heap/2*rate" in the header, records sorted by in-use
 *     bytes, `#` lines per frame, all through Go's text/tabwriter layout;
 *     then the "# cprof.MemStats" footer and, as gperftools' heap profiles
 *     end, "MAPPED_LIBRARIES:" with /proc/self/maps, without which go tool
 *     pprof cannot place the addresses of a PIE or a shared library;
 *   - the CPROF_HEAP_LEAKS report printed at exit.
 *
 * Everything here runs with cp_tls.in_cprof raised, so the writer's own
 * allocations are never sampled. Never in signal context.
 */
#include "heap.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_limits.h"
#include "cprof.h"
#include "pbuild.h"
#include "profiles.h"
#include "sigsafe.h"
#include "symbol/symbolize.h"
#include "thread_reg.h"

/* ---- ordering ---- */

static int64_t inuse_bytes(const struct cp_heap_snap_rec *r)
{
    return (int64_t)((r->allocs - r->frees) * r->size);
}

/* Go sorts by in-use bytes (sort.Slice, not stable); ties here go by
 * allocated bytes, then stack and size, so output is deterministic. */
static int cmp_inuse(const void *a, const void *b)
{
    const struct cp_heap_snap_rec *x = a, *y = b;
    int64_t ix = inuse_bytes(x), iy = inuse_bytes(y);
    uint64_t ax = x->allocs * x->size, ay = y->allocs * y->size;
    if (ix != iy)
        return ix > iy ? -1 : 1;
    if (ax != ay)
        return ax > ay ? -1 : 1;
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* ---- proto ---- */

static int build_locked_out(struct cp_heap_snap *s, struct cp_profile *p,
                            bool allocs)
{
    struct cp_pbuild b;
    char line[256];
    int r;

    r = cp_profile_init(p);
    if (r < 0)
        return r;
    if (cp_profile_add_sample_type(p, "alloc_objects", "count") < 0 ||
        cp_profile_add_sample_type(p, "alloc_space", "bytes") < 0 ||
        cp_profile_add_sample_type(p, "inuse_objects", "count") < 0 ||
        cp_profile_add_sample_type(p, "inuse_space", "bytes") < 0)
        return -ENOMEM;
    p->period_type.type = cp_profile_str(p, "space");
    p->period_type.unit = cp_profile_str(p, "bytes");
    p->period = s->rate;
    p->time_nanos = cp_realtime_ns();
    p->default_sample_type =
        cp_profile_str(p, allocs ? "alloc_space" : "inuse_space");

    r = cp_pbuild_init(&b, p);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < s->n_recs; i++) {
        const struct cp_heap_snap_rec *rc = &s->recs[i];
        const struct cp_heap_snap_stack *st = &s->stacks[rc->stack];
        size_t nloc = st->n + (st->truncated ? 1 : 0);
        int64_t ao = (int64_t)rc->allocs, ab = (int64_t)(rc->allocs * rc->size);
        int64_t io = (int64_t)(rc->allocs - rc->frees),
                ib = (int64_t)((rc->allocs - rc->frees) * rc->size);
        int64_t block = (int64_t)rc->size;
        struct cp_sample *sm = cp_profile_add_sample(p, nloc, block ? 1 : 0);

        if (!sm) {
            r = -ENOMEM;
            goto out;
        }
        for (int k = 0; k < st->n; k++) {
            sm->location_ids[k] = cp_pbuild_location(&b, st->pcs[k]);
            if (!sm->location_ids[k]) {
                r = -ENOMEM;
                goto out;
            }
        }
        if (st->truncated && !(sm->location_ids[st->n] =
                                   cp_pbuild_truncated(&b))) {
            r = -ENOMEM;
            goto out;
        }
        cp_heap_scale(ao, ab, s->rate, &sm->values[0], &sm->values[1]);
        cp_heap_scale(io, ib, s->rate, &sm->values[2], &sm->values[3]);
        if (block) {
            sm->labels[0].key = cp_profile_str(p, "bytes");
            sm->labels[0].num = block;
        }
    }
    snprintf(line, sizeof line, "cprof %s heap profile", CPROF_VERSION);
    cp_profile_add_comment(p, line);
    snprintf(line, sizeof line,
             "sampling: one allocation per %lld bytes on average "
             "(exponential distance, as Go's MemProfileRate); values "
             "unbiased as Go's scaleHeapSample",
             (long long)s->rate);
    cp_profile_add_comment(p, line);
    if (s->dropped || s->bad_frees) {
        snprintf(line, sizeof line,
                 "samples not recorded (tables or region full): %llu; "
                 "invalid frees of sampled blocks ignored: %llu",
                 (unsigned long long)s->dropped,
                 (unsigned long long)s->bad_frees);
        cp_profile_add_comment(p, line);
    }
out:
    cp_pbuild_free(&b);
    return r;
}

int cp_heap_build(struct cp_profile *out, bool allocs)
{
    struct cp_heap_snap s;
    int r;

    cp_tls.in_cprof++;
    cp_heap_want_stacks(); /* someone reads heap profiles: full stacks */
    memset(out, 0, sizeof *out);
    r = cp_heap_snapshot(&s);
    if (r < 0)
        goto done;
    qsort(s.recs, s.n_recs, sizeof *s.recs, cmp_inuse);
    r = build_locked_out(&s, out, allocs);
    cp_heap_snap_free(&s);
    if (r == 0)
        r = cp_pbuild_symbolize(out, NULL);
    if (r < 0)
        cp_profile_free(out);
done:
    cp_tls.in_cprof--;
    return r;
}

/* ---- Go's text/tabwriter ---- */

struct tw_cell {
    size_t off, len; /* bytes of text in the source */
    size_t width;    /* in runes */
};

static size_t runes(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

struct tw {
    const char *src;
    struct tw_cell *cells; /* all cells, line by line */
    size_t *line_start;    /* index of each line's first cell */
    size_t *line_n;        /* cells per line (the last one unterminated) */
    size_t n_lines;
    size_t widths[64];
    size_t n_widths;
    struct cp_dynbuf *out;
    int err;
};

static void tw_pad(struct tw *t, size_t textw, size_t cellw)
{
    /* padchar '\t': cell width rounded up to a multiple of tabwidth 8,
     * filled with as many tabs as it takes */
    static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    size_t n;
    cellw = (cellw + 7) / 8 * 8;
    n = (cellw - textw + 7) / 8;
    while (n && !t->err) {
        size_t k = n < 16 ? n : 16;
        t->err = cp_dynbuf_add(t->out, tabs, k);
        n -= k;
    }
}

static void tw_lines(struct tw *t, size_t l0, size_t l1)
{
    for (size_t i = l0; i < l1 && !t->err; i++) {
        for (size_t j = 0; j < t->line_n[i] && !t->err; j++) {
            const struct tw_cell *c = &t->cells[t->line_start[i] + j];
            if (c->len)
                t->err = cp_dynbuf_add(t->out, t->src + c->off, c->len);
            if (j < t->n_widths)
                tw_pad(t, c->width, t->widths[j]);
        }
        if (!t->err)
            t->err = cp_dynbuf_add(t->out, "\n", 1);
    }
}

/* Go's (*Writer).format: column blocks, recursively. */
static size_t tw_format(struct tw *t, size_t line0, size_t line1)
{
    size_t column = t->n_widths;

    for (size_t this = line0; this < line1; this++) {
        size_t width = 1; /* minwidth */
        if (column + 1 >= t->line_n[this])
            continue; /* no terminated cell in this column */
        tw_lines(t, line0, this);
        line0 = this;
        for (; this < line1; this++) {
            const struct tw_cell *c;
            if (column + 1 >= t->line_n[this])
                break;
            c = &t->cells[t->line_start[this] + column];
            if (c->width + 1 > width) /* padding 1 */
                width = c->width + 1;
        }
        if (t->n_widths < 64) {
            t->widths[t->n_widths++] = width;
            tw_format(t, line0, this);
            t->n_widths--;
        } else {
            tw_lines(t, line0, this);
        }
        line0 = this;
    }
    tw_lines(t, line0, line1);
    return line1;
}

int cp_heap_tabwrite(const char *text, size_t len, struct cp_dynbuf *out)
{
    struct tw t = {.src = text, .out = out};
    size_t n_cells = 1, n_lines = 1, ci = 0, li = 0, start = 0;

    for (size_t i = 0; i < len; i++) {
        n_cells += text[i] == '\t' || text[i] == '\n';
        n_lines += text[i] == '\n';
    }
    t.cells = malloc(n_cells * sizeof *t.cells);
    t.line_start = malloc(n_lines * sizeof *t.line_start);
    t.line_n = malloc(n_lines * sizeof *t.line_n);
    if (!t.cells || !t.line_start || !t.line_n) {
        t.err = -ENOMEM;
        goto out;
    }
    t.line_start[0] = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\t' && text[i] != '\n')
            continue;
        t.cells[ci].off = start;
        t.cells[ci].len = i - start;
        t.cells[ci].width = runes(text + start, i - start);
        ci++;
        start = i + 1;
        if (i == len || text[i] == '\n') {
            t.line_n[li] = ci - t.line_start[li];
            li++;
            if (i < len)
                t.line_start[li] = ci;
        }
    }
    /* text ending in '\n' leaves an empty last line: not a line */
    if (len && text[len - 1] == '\n')
        li--;
    t.n_lines = li;
    tw_format(&t, 0, t.n_lines);
out:
    free(t.cells);
    free(t.line_start);
    free(t.line_n);
    return t.err;
}

/* ---- symbolizing single addresses (text and leak report) ---- */

static int no_debuginfo(Dwfl_Module *mod, void **ud, const char *modname,
                        Dwarf_Addr base, const char *file,
                        const char *debuglink, GElf_Word crc, char **out)
{
    return -1;
}

static const Dwfl_Callbacks entry_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

struct symctx {
    struct cp_symbolizer *sym;
    Dwfl *dwfl; /* symbol tables, for func+0xOFF (entry points) */
    struct cp_module_info *mods;
    int n_mods;
};

static bool special_name(const char *p)
{
    return !*p || *p == '[' || !strncmp(p, "/dev/", 5) ||
           !strncmp(p, "//anon", 6) || !strncmp(p, "/memfd:", 7);
}

static void symctx_init(struct symctx *c)
{
    memset(c, 0, sizeof *c);
    c->sym = cp_sym_new();
    c->n_mods = cp_modules_history(&c->mods);
    if (c->n_mods < 0) {
        c->n_mods = 0;
        c->mods = NULL;
    }
    c->dwfl = dwfl_begin(&entry_callbacks);
    if (c->dwfl)
        dwfl_report_begin(c->dwfl);
    for (int i = 0; i < c->n_mods; i++) {
        const struct cp_module_info *m = &c->mods[i];
        bool dup = false;
        if (special_name(m->path) || !m->loaded)
            continue;
        if (c->sym)
            cp_sym_add_module(c->sym, m->path, m->start, m->limit,
                              m->file_offset,
                              m->build_id[0] ? m->build_id : NULL);
        for (int k = 0; k < i; k++)
            dup |= c->mods[k].loaded && c->mods[k].bias == m->bias &&
                   !strcmp(c->mods[k].path, m->path);
        if (c->dwfl && !dup)
            dwfl_report_elf(c->dwfl, m->path, m->path, -1, m->bias, false);
    }
    if (c->dwfl)
        dwfl_report_end(c->dwfl, NULL, NULL);
}

static void symctx_free(struct symctx *c)
{
    if (c->sym)
        cp_sym_destroy(c->sym);
    if (c->dwfl)
        dwfl_end(c->dwfl);
    if (c->mods)
        cp_modules_history_free(c->mods, c->n_mods);
}

/* Offset of pc from the start of the ELF symbol containing it. */
static bool entry_offset(struct symctx *c, uintptr_t pc, uint64_t *off)
{
    Dwfl_Module *m;
    GElf_Off o;
    GElf_Sym sym;

    if (!c->dwfl || !(m = dwfl_addrmodule(c->dwfl, pc)))
        return false;
    if (!dwfl_module_addrinfo(m, pc, &o, &sym, NULL, NULL, NULL))
        return false;
    *off = o;
    return true;
}

/* Go's printStackRecord for one call site pc (return address - 1). */
static int print_frames(struct symctx *c, uintptr_t pc, struct cp_dynbuf *t)
{
    struct cp_sym_frame fr[CP_SYM_MAX_FRAMES];
    int n = c->sym ? cp_sym_lookup(c->sym, pc, fr, CP_SYM_MAX_FRAMES) : 0;
    uint64_t off = 0;
    bool have_off = false, asked = false;
    int r = 0;

    if (n == 0)
        return cp_dynbuf_printf(t, "#\t%#lx\n", (unsigned long)pc);
    for (int i = 0; i < n && r == 0; i++) {
        const char *name = fr[i].function ? fr[i].function
                                          : fr[i].system_name;
        if (!name) {
            r = cp_dynbuf_printf(t, "#\t%#lx\n", (unsigned long)pc);
            continue;
        }
        if (!asked) {
            have_off = entry_offset(c, pc, &off);
            asked = true;
        }
        r = cp_dynbuf_printf(t, "#\t%#lx\t%s", (unsigned long)pc, name);
        if (r == 0 && have_off)
            r = cp_dynbuf_printf(t, "+%#llx", (unsigned long long)off);
        if (r == 0)
            r = cp_dynbuf_printf(t, "\t%s:%d\n",
                                 fr[i].file ? fr[i].file : "", fr[i].line);
    }
    return r;
}

/* ---- legacy text ---- */

static void estimates(const struct cp_heap_snap *s,
                      struct cp_heap_estimates *e)
{
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < s->n_recs; i++) {
        const struct cp_heap_snap_rec *rc = &s->recs[i];
        int64_t c, b;
        cp_heap_scale((int64_t)rc->allocs, (int64_t)(rc->allocs * rc->size),
                      s->rate, &c, &b);
        e->alloc_objects += c;
        e->alloc_bytes += b;
        cp_heap_scale((int64_t)(rc->allocs - rc->frees),
                      (int64_t)((rc->allocs - rc->frees) * rc->size), s->rate,
                      &c, &b);
        e->inuse_objects += c;
        e->inuse_bytes += b;
    }
}

int cp_heap_write_text(struct cp_dynbuf *out)
{
    struct cp_heap_memstats_raw ms;
    struct cp_heap_estimates est;
    struct cp_heap_snap s;
    struct cp_dynbuf t;
    struct symctx c;
    int64_t in_o = 0, in_b = 0, al_o = 0, al_b = 0;
    int r;

    cp_tls.in_cprof++;
    cp_heap_want_stacks();
    /* allocator numbers first, as Go reads MemStats first, so that the
     * writer's own allocations do not show in them */
    cp_heap_memstats_read(&ms);
    r = cp_heap_snapshot(&s);
    if (r < 0)
        goto done;
    qsort(s.recs, s.n_recs, sizeof *s.recs, cmp_inuse);
    cp_dynbuf_init(&t, out->limit);
    symctx_init(&c);
    for (size_t i = 0; i < s.n_recs; i++) {
        const struct cp_heap_snap_rec *rc = &s.recs[i];
        in_o += (int64_t)(rc->allocs - rc->frees);
        in_b += inuse_bytes(rc);
        al_o += (int64_t)rc->allocs;
        al_b += (int64_t)(rc->allocs * rc->size);
    }
    /* pprof reads alloc == inuse as a 2-column profile that cannot be
     * merged with 4-column ones; newer Go bumps allocBytes, and so do we */
    r = cp_dynbuf_printf(&t, "heap profile: %lld: %lld [%lld: %lld] @ heap/%lld\n",
                         (long long)in_o, (long long)in_b, (long long)al_o,
                         (long long)(al_b == in_b ? al_b + 1 : al_b),
                         (long long)(2 * s.rate));
    for (size_t i = 0; i < s.n_recs && r == 0; i++) {
        const struct cp_heap_snap_rec *rc = &s.recs[i];
        const struct cp_heap_snap_stack *st = &s.stacks[rc->stack];
        r = cp_dynbuf_printf(&t, "%lld: %lld [%lld: %lld] @",
                             (long long)(rc->allocs - rc->frees),
                             (long long)inuse_bytes(rc),
                             (long long)rc->allocs,
                             (long long)(rc->allocs * rc->size));
        /* Go prints return addresses here (readers subtract 1); we keep
         * call sites, so add the 1 back */
        for (int k = 0; k < st->n && r == 0; k++)
            r = cp_dynbuf_printf(&t, " %#lx", (unsigned long)st->pcs[k] + 1);
        if (r == 0)
            r = cp_dynbuf_addstr(&t, "\n");
        for (int k = 0; k < st->n && r == 0; k++)
            r = print_frames(&c, st->pcs[k], &t);
        if (r == 0)
            r = cp_dynbuf_addstr(&t, "\n");
    }
    estimates(&s, &est);
    if (r == 0)
        r = cp_heap_memstats_format(&t, &ms, &est);
    if (r == 0)
        r = cp_heap_tabwrite(t.data ? t.data : "", t.len, out);
    if (r == 0)
        r = cp_dynbuf_addstr(out, "\nMAPPED_LIBRARIES:\n");
    if (r == 0)
        r = cp_pbuild_append_file(out, "/proc/self/maps");
    symctx_free(&c);
    cp_dynbuf_free(&t);
    cp_heap_snap_free(&s);
done:
    cp_tls.in_cprof--;
    return r;
}

/* ---- leaks at exit ---- */

struct leak {
    uint32_t stack;
    int64_t objects, bytes; /* estimated */
    int64_t sampled;        /* blocks actually seen */
};

static int cmp_leak(const void *a, const void *b)
{
    const struct leak *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->stack < y->stack ? -1 : x->stack > y->stack;
}

int cp_heap_leak_report(int fd)
{
    struct cp_heap_snap s;
    struct leak *lk = NULL;
    size_t n = 0;
    struct cp_dynbuf o;
    struct symctx c;
    int64_t tot_b = 0, tot_o = 0, tot_s = 0;
    int r;

    cp_tls.in_cprof++;
    r = cp_heap_snapshot(&s);
    if (r < 0)
        goto done;
    lk = calloc(s.n_stacks ? s.n_stacks : 1, sizeof *lk);
    if (!lk) {
        cp_heap_snap_free(&s);
        r = -ENOMEM;
        goto done;
    }
    /* per stack, every size together */
    for (size_t i = 0; i < s.n_stacks; i++)
        lk[i].stack = (uint32_t)i;
    for (size_t i = 0; i < s.n_recs; i++) {
        const struct cp_heap_snap_rec *rc = &s.recs[i];
        int64_t live = (int64_t)(rc->allocs - rc->frees), co, by;
        if (!live)
            continue;
        cp_heap_scale(live, live * (int64_t)rc->size, s.rate, &co, &by);
        lk[rc->stack].objects += co;
        lk[rc->stack].bytes += by;
        lk[rc->stack].sampled += live;
    }
    for (size_t i = 0; i < s.n_stacks; i++) {
        if (lk[i].sampled)
            lk[n++] = lk[i];
    }
    qsort(lk, n, sizeof *lk, cmp_leak);
    for (size_t i = 0; i < n; i++) {
        tot_b += lk[i].bytes;
        tot_o += lk[i].objects;
        tot_s += lk[i].sampled;
    }
    cp_dynbuf_init(&o, (size_t)64 << 20);
    if (!n) {
        r = cp_dynbuf_printf(&o, "cprof: leak check: no sampled memory is "
                                 "still in use at exit\n");
    } else {
        r = cp_dynbuf_printf(
            &o,
            "cprof: leak check: %zu stacks still hold ~%lld bytes in ~%lld "
            "objects at exit (estimated from %lld sampled blocks, one per "
            "%lld bytes allocated on average)\n",
            n, (long long)tot_b, (long long)tot_o, (long long)tot_s,
            (long long)s.rate);
    }
    symctx_init(&c);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct cp_heap_snap_stack *st = &s.stacks[lk[i].stack];
        r = cp_dynbuf_printf(&o,
                             "cprof: leak of ~%lld bytes in ~%lld objects "
                             "(%lld sampled) allocated from:\n",
                             (long long)lk[i].bytes, (long long)lk[i].objects,
                             (long long)lk[i].sampled);
        for (int k = 0; k < st->n && r == 0; k++) {
            struct cp_sym_frame fr[CP_SYM_MAX_FRAMES];
            int nf = c.sym ? cp_sym_lookup(c.sym, st->pcs[k], fr,
                                           CP_SYM_MAX_FRAMES)
                           : 0;
            if (nf == 0)
                r = cp_dynbuf_printf(&o, "\t@ %#lx\n",
                                     (unsigned long)st->pcs[k]);
            for (int f = 0; f < nf && r == 0; f++) {
                const char *name = fr[f].function ? fr[f].function
                                   : fr[f].system_name ? fr[f].system_name
                                                        : "?";
                r = cp_dynbuf_printf(&o, "\t@ %#lx %s", (unsigned long)st->pcs[k],
                                     name);
                if (r == 0 && fr[f].file)
                    r = cp_dynbuf_printf(&o, " %s:%d", fr[f].file, fr[f].line);
                if (r == 0)
                    r = cp_dynbuf_addstr(&o, "\n");
            }
        }
        if (r == 0 && st->truncated)
            r = cp_dynbuf_addstr(&o, "\t@ cprof_truncated_stack\n");
    }
    symctx_free(&c);
    if (o.len) {
        size_t done_b = 0;
        while (done_b < o.len) {
            ssize_t w = write(fd, o.data + done_b, o.len - done_b);
            if (w <= 0)
                break;
            done_b += (size_t)w;
        }
    }
    cp_dynbuf_free(&o);
    cp_heap_snap_free(&s);
    free(lk);
    if (r == 0)
        r = (int)n;
done:
    cp_tls.in_cprof--;
    return r;
}

/* ---- registration ---- */

static int64_t heap_count(void)
{
    return (int64_t)cp_heap_n_buckets();
}

static int heap_build(struct cp_profile *out)
{
    return cp_heap_build(out, false);
}

static int allocs_build(struct cp_profile *out)
{
    return cp_heap_build(out, true);
}

static int heap_text(int debug, struct cp_dynbuf *out)
{
    return cp_heap_write_text(out);
}

static const struct cp_profile_source heap_source = {
    .name = "heap",
    .help = "A sampling of memory allocations of live objects.",
    .count = heap_count,
    .build = heap_build,
    .write_text = heap_text,
};

static const struct cp_profile_source allocs_source = {
    .name = "allocs",
    .help = "A sampling of all past memory allocations.",
    .count = heap_count,
    .build = allocs_build,
    .write_text = heap_text,
};

void cp_heap_profiles_register(void)
{
    cp_profiles_register(&heap_source);
    cp_profiles_register(&allocs_source);
}
