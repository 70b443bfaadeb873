/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_profiles.c - writes the profiles the web UI's browser tests and
 * benchmark open, with values chosen so that every proportion the page
 * shows is known in advance:
 *
 *   known.prof  CPU (samples/count, cpu/nanoseconds), 1000 samples of 10ms:
 *               main 100% > compute 60% > hot_loop 50% (lines 10: 40%,
 *               11: 10%), helper 10%; main > parse 30% > parse_line 25%
 *               (> memcpy in libc 5%); main self 10%. thread_name labels:
 *               worker-1 60%, worker-2 30%, main 10%. Sources point at
 *               fixture_src.c (compute, hot_loop, helper) and at a
 *               parse.c that does not exist.
 *   heap.prof   alloc_objects/alloc_space/inuse_objects/inuse_space
 *               (default inuse_space): alloc_small is 80% of alloc_space
 *               but 10% of inuse_space; alloc_big the rest.
 *   base.prof,  a diff pair: grow_me 100 -> 400, shrink_me 300 -> 100,
 *   new.prof    same_me 200 -> 200 (samples of 10ms).
 *   big.prof    (with a count) that many distinct stacks, for the
 *               benchmark: 3000 functions in 60 files, depth 8-40.
 *
 *   webui_gen OUTDIR FIXTURE_SRC [BIG_STACKS]
 *
 * Built and run by tests/browser only; links the shared profile code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "profile.h"

struct gen {
    struct cp_profile p;
    uint64_t map_main, map_libc;
    /* interned functions and locations: linear, the profiles are small
     * except big.prof, which has its own fast path */
    char **fnames;
    uint64_t *fids;
    size_t nf, capf;
    char **lkeys;
    uint64_t *lids;
    size_t nl, capl;
    uint64_t next_addr;
};

static void die(const char *what)
{
    fprintf(stderr, "webui_gen: %s\n", what);
    exit(1);
}

static void gen_init(struct gen *g, const char *const *types,
                     const char *const *units, size_t nt)
{
    memset(g, 0, sizeof(*g));
    if (cp_profile_init(&g->p) < 0)
        die("out of memory");
    for (size_t i = 0; i < nt; i++)
        if (cp_profile_add_sample_type(&g->p, types[i], units[i]) < 0)
            die("sample type");
    struct cp_mapping *m = cp_profile_add_mapping(&g->p);
    m->memory_start = 0x400000;
    m->memory_limit = 0x800000;
    m->filename = cp_profile_str(&g->p, "/usr/local/bin/known_app");
    m->build_id = cp_profile_str(&g->p, "0123456789abcdef");
    m->has_functions = m->has_filenames = m->has_line_numbers = true;
    g->map_main = m->id;
    m = cp_profile_add_mapping(&g->p);
    m->memory_start = 0x7f0000000000;
    m->memory_limit = 0x7f0000200000;
    m->filename = cp_profile_str(&g->p, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    m->has_functions = true;
    g->map_libc = m->id;
    g->next_addr = 0x401000;
}

static uint64_t func(struct gen *g, const char *name, const char *file,
                     int64_t start)
{
    for (size_t i = 0; i < g->nf; i++)
        if (!strcmp(g->fnames[i], name))
            return g->fids[i];
    if (g->nf == g->capf) {
        g->capf = g->capf * 2 + 16;
        g->fnames = realloc(g->fnames, g->capf * sizeof(*g->fnames));
        g->fids = realloc(g->fids, g->capf * sizeof(*g->fids));
        if (!g->fnames || !g->fids)
            die("out of memory");
    }
    struct cp_function *f = cp_profile_add_function(&g->p);
    if (!f)
        die("out of memory");
    f->name = f->system_name = cp_profile_str(&g->p, name);
    f->filename = cp_profile_str(&g->p, file ? file : "");
    f->start_line = start;
    g->fnames[g->nf] = strdup(name);
    g->fids[g->nf++] = f->id;
    return f->id;
}

/* The location of frame "name" at line (in the libc mapping when lib). */
static uint64_t loc(struct gen *g, const char *name, const char *file,
                    int64_t start, int64_t line, int lib)
{
    char key[512];
    snprintf(key, sizeof(key), "%s:%lld", name, (long long)line);
    for (size_t i = 0; i < g->nl; i++)
        if (!strcmp(g->lkeys[i], key))
            return g->lids[i];
    if (g->nl == g->capl) {
        g->capl = g->capl * 2 + 16;
        g->lkeys = realloc(g->lkeys, g->capl * sizeof(*g->lkeys));
        g->lids = realloc(g->lids, g->capl * sizeof(*g->lids));
        if (!g->lkeys || !g->lids)
            die("out of memory");
    }
    uint64_t fid = func(g, name, file, start);
    struct cp_location *l = cp_profile_add_location(&g->p, 1);
    if (!l)
        die("out of memory");
    l->mapping_id = lib ? g->map_libc : g->map_main;
    l->address = lib ? 0x7f0000001000 + g->nl * 16 : g->next_addr;
    g->next_addr += 16;
    l->lines[0].function_id = fid;
    l->lines[0].line = line;
    g->lkeys[g->nl] = strdup(key);
    g->lids[g->nl++] = l->id;
    return l->id;
}

struct frame {
    const char *name, *file;
    int64_t start, line;
    int lib;
};

/* One sample: frames leaf first, values, an optional thread_name. */
static void sample(struct gen *g, const struct frame *fr, size_t n,
                   const int64_t *values, const char *thread)
{
    uint64_t ids[64];
    for (size_t i = 0; i < n; i++)
        ids[i] =
            loc(g, fr[i].name, fr[i].file, fr[i].start, fr[i].line, fr[i].lib);
    struct cp_sample *s = cp_profile_add_sample(&g->p, n, thread ? 1 : 0);
    if (!s)
        die("out of memory");
    memcpy(s->location_ids, ids, n * sizeof(*ids));
    memcpy(s->values, values, g->p.n_sample_types * sizeof(*values));
    if (thread) {
        s->labels[0].key = cp_profile_str(&g->p, "thread_name");
        s->labels[0].str = cp_profile_str(&g->p, thread);
    }
}

static void finish(struct gen *g, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (cp_profile_write_file(&g->p, path) < 0)
        die(path);
    for (size_t i = 0; i < g->nf; i++)
        free(g->fnames[i]);
    for (size_t i = 0; i < g->nl; i++)
        free(g->lkeys[i]);
    free(g->fnames);
    free(g->fids);
    free(g->lkeys);
    free(g->lids);
    cp_profile_free(&g->p);
}

#define MS 10000000LL /* one sample of 10ms */

static void cpu_sample(struct gen *g, const struct frame *fr, size_t n,
                       int64_t count, const char *thread)
{
    int64_t v[2] = {count, count * MS};
    sample(g, fr, n, v, thread);
}

static void known(const char *dir, const char *src)
{
    static const char *const t[] = {"samples", "cpu"};
    static const char *const u[] = {"count", "nanoseconds"};
    struct gen g;
    gen_init(&g, t, u, 2);
    g.p.period_type.type = cp_profile_str(&g.p, "cpu");
    g.p.period_type.unit = cp_profile_str(&g.p, "nanoseconds");
    g.p.period = MS;
    g.p.duration_nanos = 10000000000LL;
    g.p.time_nanos = 1767225600000000000LL; /* 2026-01-01 */
    const struct frame main_ = {"main", "/src/known/main.c", 3, 8, 0};
    const struct frame compute = {"compute", src, 19, 21, 0};
    const struct frame compute2 = {"compute", src, 19, 22, 0};
    const struct frame hot10 = {"hot_loop", src, 7, 10, 0};
    const struct frame hot11 = {"hot_loop", src, 7, 11, 0};
    const struct frame helper = {"helper", src, 14, 16, 0};
    const struct frame main2 = {"main", "/src/known/main.c", 3, 9, 0};
    const struct frame parse = {"parse", "/src/known/parse.c", 20, 25, 0};
    const struct frame parse_line = {"parse_line", "/src/known/parse.c", 40, 44,
                                     0};
    const struct frame memcpy_ = {"memcpy", "", 0, 0, 1};
    const struct frame main3 = {"main", "/src/known/main.c", 3, 5, 0};
    cpu_sample(&g, (struct frame[]){hot10, compute, main_}, 3, 400, "worker-1");
    cpu_sample(&g, (struct frame[]){hot11, compute, main_}, 3, 100, "worker-1");
    cpu_sample(&g, (struct frame[]){helper, compute2, main_}, 3, 100,
               "worker-1");
    cpu_sample(&g, (struct frame[]){parse_line, parse, main2}, 3, 200,
               "worker-2");
    cpu_sample(&g, (struct frame[]){memcpy_, parse_line, parse, main2}, 4, 50,
               "worker-2");
    cpu_sample(&g, (struct frame[]){parse, main2}, 2, 50, "worker-2");
    cpu_sample(&g, (struct frame[]){main3}, 1, 100, "main");
    finish(&g, dir, "known.prof");
}

static void heap(const char *dir)
{
    static const char *const t[] = {"alloc_objects", "alloc_space",
                                    "inuse_objects", "inuse_space"};
    static const char *const u[] = {"count", "bytes", "count", "bytes"};
    struct gen g;
    gen_init(&g, t, u, 4);
    g.p.period_type.type = cp_profile_str(&g.p, "space");
    g.p.period_type.unit = cp_profile_str(&g.p, "bytes");
    g.p.period = 524288;
    g.p.default_sample_type = cp_profile_str(&g.p, "inuse_space");
    const struct frame m = {"main", "/src/heap/main.c", 1, 10, 0};
    const struct frame s = {"alloc_small", "/src/heap/alloc.c", 5, 7, 0};
    const struct frame b = {"alloc_big", "/src/heap/alloc.c", 20, 22, 0};
    /* alloc_space 800 MB vs 200 MB; inuse_space 10 MB vs 90 MB */
    int64_t vs[4] = {800000, 800LL << 20, 10000, 10LL << 20};
    int64_t vb[4] = {200, 200LL << 20, 90, 90LL << 20};
    sample(&g, (struct frame[]){s, m}, 2, vs, NULL);
    sample(&g, (struct frame[]){b, m}, 2, vb, NULL);
    finish(&g, dir, "heap.prof");
}

static void diff_pair(const char *dir)
{
    static const char *const t[] = {"samples", "cpu"};
    static const char *const u[] = {"count", "nanoseconds"};
    const struct frame m = {"main", "/src/diff/main.c", 1, 5, 0};
    const struct frame gr = {"grow_me", "/src/diff/work.c", 10, 12, 0};
    const struct frame sh = {"shrink_me", "/src/diff/work.c", 20, 22, 0};
    const struct frame sa = {"same_me", "/src/diff/work.c", 30, 32, 0};
    for (int pass = 0; pass < 2; pass++) {
        struct gen g;
        gen_init(&g, t, u, 2);
        g.p.period_type.type = cp_profile_str(&g.p, "cpu");
        g.p.period_type.unit = cp_profile_str(&g.p, "nanoseconds");
        g.p.period = MS;
        cpu_sample(&g, (struct frame[]){gr, m}, 2, pass ? 400 : 100, NULL);
        cpu_sample(&g, (struct frame[]){sh, m}, 2, pass ? 100 : 300, NULL);
        cpu_sample(&g, (struct frame[]){sa, m}, 2, 200, NULL);
        finish(&g, dir, pass ? "new.prof" : "base.prof");
    }
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* big.prof: stacks made of 3000 functions, one location each, so the
 * generic interning above (linear) is bypassed. */
static void big(const char *dir, long n)
{
    static const char *const t[] = {"samples", "cpu"};
    static const char *const u[] = {"count", "nanoseconds"};
    struct gen g;
    gen_init(&g, t, u, 2);
    g.p.period_type.type = cp_profile_str(&g.p, "cpu");
    g.p.period_type.unit = cp_profile_str(&g.p, "nanoseconds");
    g.p.period = MS;
    enum { NF = 3000, NFILE = 60 };
    uint64_t locs[NF];
    for (int i = 0; i < NF; i++) {
        char name[64], file[64];
        snprintf(name, sizeof(name), "mod%02d_fn_%04d", i % NFILE, i);
        snprintf(file, sizeof(file), "/src/big/mod_%02d.c", i % NFILE);
        struct cp_function *f = cp_profile_add_function(&g.p);
        f->name = f->system_name = cp_profile_str(&g.p, name);
        f->filename = cp_profile_str(&g.p, file);
        f->start_line = 10 + i;
        uint64_t fid = f->id;
        struct cp_location *l = cp_profile_add_location(&g.p, 1);
        l->mapping_id = g.map_main;
        l->address = 0x401000 + (uint64_t)i * 64;
        l->lines[0].function_id = fid;
        l->lines[0].line = 12 + i;
        locs[i] = l->id;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint64_t stack[48];
    /* a shared trunk (main > run > one of 8 workers), then random frames
     * drawn from a per-worker subset so prefixes are shared as in real
     * programs; every stack distinct by construction (its last two frames
     * encode its index) */
    for (long s = 0; s < n; s++) {
        int depth = 8 + (int)(rnd(&seed) % 33);
        int w = (int)(rnd(&seed) % 8);
        stack[0] = locs[0];
        stack[1] = locs[1];
        stack[2] = locs[2 + w];
        for (int k = 3; k < depth - 2; k++) {
            /* narrow choices near the root, wide near the leaves */
            uint64_t span = k < 6 ? 4 : (k < 12 ? 40 : NF - 20);
            stack[k] = locs[20 + (w * 131 + rnd(&seed) % span) % (NF - 20)];
        }
        stack[depth - 2] = locs[20 + (s / (NF - 20)) % (NF - 20)];
        stack[depth - 1] = locs[20 + s % (NF - 20)];
        struct cp_sample *sm = cp_profile_add_sample(&g.p, (size_t)depth, 0);
        for (int k = 0; k < depth; k++)
            sm->location_ids[k] = stack[depth - 1 - k]; /* leaf first */
        int64_t c = 1 + (int64_t)(rnd(&seed) % 20);
        sm->values[0] = c;
        sm->values[1] = c * MS;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/big.prof", dir);
    if (cp_profile_write_file(&g.p, path) < 0)
        die(path);
    cp_profile_free(&g.p);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: webui_gen OUTDIR FIXTURE_SRC [BIG_STACKS]\n");
        return 2;
    }
    known(argv[1], argv[2]);
    heap(argv[1]);
    diff_pair(argv[1]);
    if (argc > 3 && atol(argv[3]) > 0)
        big(argv[1], atol(argv[3]));
    return 0;
}
