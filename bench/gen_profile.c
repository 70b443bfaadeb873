/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_profile.c - synthesized inputs for the cprof command's benchmark
 * (bench_cli.sh): large profiles with the shape of real ones, made
 * deterministically from a seed.
 *
 *   gen_profile cpu  -o FILE [-n SAMPLES] [-s STACKS] [-f FUNCTIONS]
 *       a CPU profile (gzip'd profile.proto, as Go's runtime writes):
 *       STACKS distinct call stacks grown as a tree (stacks share
 *       prefixes, depth 8-48, some inlined frames), SAMPLES samples over
 *       them (skewed, a few stacks hot), each with thread labels, so
 *       samples of one stack stay apart as in a real profile;
 *   gen_profile heaptext -o FILE [-m MEGABYTES]
 *       a heap profile in Go's legacy text (debug=1: "heap profile: ...
 *       @ heap/1048576", records with "#\t0x...\tfunc+0x..\tfile:line"
 *       symbol comments) of about MEGABYTES.
 *
 * Not part of any test; built with the tree, run by bench/bench_cli.sh.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/codec.h"
#include "profile/profile.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t below(size_t n)
{
    return (size_t)(next() % n);
}

/* A stack is a parent stack plus one location (tree growth). */
struct stk {
    int32_t parent;
    uint32_t loc; /* location id */
    uint16_t depth;
};

static int gen_cpu(const char *out, size_t nsamples, size_t nstacks,
                   size_t nfuncs)
{
    struct cp_profile p;
    if (cp_profile_init(&p) < 0)
        return 1;
    cp_profile_add_sample_type(&p, "samples", "count");
    cp_profile_add_sample_type(&p, "cpu", "nanoseconds");
    p.period_type.type = cp_profile_str(&p, "cpu");
    p.period_type.unit = cp_profile_str(&p, "nanoseconds");
    p.period = 10000000;
    p.time_nanos = 1700000000000000000ll;
    p.duration_nanos = (int64_t)nsamples * 10000000 / 8;
    struct cp_mapping *m = cp_profile_add_mapping(&p);
    m->memory_start = 0x400000;
    m->memory_limit = 0x4000000;
    m->filename = cp_profile_str(&p, "/usr/bin/bigserver");
    m->build_id = cp_profile_str(&p, "0123456789abcdef0123456789abcdef01234567");
    m->has_functions = m->has_filenames = m->has_line_numbers =
        m->has_inline_frames = true;
    char buf[256];
    for (size_t i = 0; i < nfuncs; i++) {
        struct cp_function *f = cp_profile_add_function(&p);
        snprintf(buf, sizeof(buf), "github.com/example/bigserver/pkg%zu.(*T%zu).Method%zu",
                 i % 97, i % 13, i);
        f->name = f->system_name = cp_profile_str(&p, buf);
        snprintf(buf, sizeof(buf), "/src/bigserver/pkg%zu/file%zu.go", i % 97,
                 i % 31);
        f->filename = cp_profile_str(&p, buf);
        f->start_line = (int64_t)(10 + i % 500);
    }
    size_t nlocs = nfuncs * 4;
    for (size_t i = 0; i < nlocs; i++) {
        size_t nl = below(10) == 0 ? 2 : 1;
        struct cp_location *l = cp_profile_add_location(&p, nl);
        l->mapping_id = 1;
        l->address = 0x400000 + i * 16;
        for (size_t k = 0; k < nl; k++) {
            l->lines[k].function_id = 1 + (i / 4 + k * 7) % nfuncs;
            l->lines[k].line = (int64_t)(20 + below(400));
        }
    }
    struct stk *st = malloc(nstacks * sizeof(*st));
    if (!st)
        return 1;
    /* roots: a few entry points; then each new stack extends an older one */
    size_t roots = 8;
    for (size_t i = 0; i < nstacks; i++) {
        if (i < roots) {
            st[i] = (struct stk){-1, (uint32_t)(1 + i), 1};
            continue;
        }
        size_t par;
        do {
            par = i / 2 + below(i - i / 2); /* bias to recent: deep trees */
        } while (st[par].depth >= 48);
        st[i] = (struct stk){(int32_t)par, (uint32_t)(1 + below(nlocs)),
                             (uint16_t)(st[par].depth + 1)};
    }
    int64_t th = cp_profile_str(&p, "thread");
    int64_t tn = cp_profile_str(&p, "thread_name");
    int64_t names[16];
    for (int i = 0; i < 16; i++) {
        snprintf(buf, sizeof(buf), "worker-%d", i);
        names[i] = cp_profile_str(&p, buf);
    }
    int64_t tids[16];
    for (int i = 0; i < 16; i++) {
        snprintf(buf, sizeof(buf), "%d", 4000 + i);
        tids[i] = cp_profile_str(&p, buf);
    }
    uint64_t locs[64];
    for (size_t j = 0; j < nsamples; j++) {
        /* every stack at least once, then skewed towards low indexes */
        size_t s = j < nstacks ? j : (size_t)(below(nstacks) * below(1000) /
                                              1000);
        size_t d = 0;
        for (int32_t x = (int32_t)s; x >= 0 && d < 64; x = st[x].parent)
            locs[d++] = st[x].loc;
        struct cp_sample *sm = cp_profile_add_sample(&p, d, 2);
        memcpy(sm->location_ids, locs, d * sizeof(uint64_t));
        int64_t c = 1 + (int64_t)below(3);
        sm->values[0] = c;
        sm->values[1] = c * 10000000;
        int t = (int)below(16);
        sm->labels[0] = (struct cp_label){.key = th, .str = tids[t]};
        sm->labels[1] = (struct cp_label){.key = tn, .str = names[t]};
    }
    free(st);
    int r = cp_profile_write_file(&p, out);
    cp_profile_free(&p);
    if (r < 0) {
        fprintf(stderr, "gen_profile: %s: %s\n", out, strerror(-r));
        return 1;
    }
    return 0;
}

static int gen_heaptext(const char *out, size_t megabytes)
{
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    size_t target = megabytes << 20, written = 0;
    size_t nfuncs = 20000;
    /* header totals are recomputed by nobody: pprof only reads the rate */
    written += (size_t)fprintf(f, "heap profile: 1000: 1000000 [20000: "
                                  "200000000] @ heap/1048576\n");
    uint64_t addrs[40];
    while (written < target) {
        size_t d = 6 + below(30);
        for (size_t k = 0; k < d; k++)
            addrs[k] = 0x401000 + 16 * below(nfuncs * 8) + 5;
        size_t inuse = below(20), alloc = inuse + 1 + below(50);
        size_t sz = 16 << below(12);
        written += (size_t)fprintf(f, "%zu: %zu [%zu: %zu] @", inuse,
                                   inuse * sz, alloc, alloc * sz);
        for (size_t k = 0; k < d; k++)
            written += (size_t)fprintf(f, " %#" PRIx64, addrs[k]);
        written += (size_t)fprintf(f, "\n");
        for (size_t k = 0; k < d; k++) {
            uint64_t pc = addrs[k] - 1;
            size_t fn = (size_t)((pc - 0x401000) / 128) % nfuncs;
            written += (size_t)fprintf(
                f, "#\t%#" PRIx64 "\tmain.func%zu+%#" PRIx64
                   "\t/src/app/file%zu.go:%zu\n",
                pc, fn, pc % 128, fn % 211, 10 + (size_t)(pc % 997));
        }
        written += (size_t)fprintf(f, "\n");
    }
    fprintf(f, "\n# runtime.MemStats\n# Alloc = 1000000\n");
    if (fclose(f) != 0) {
        perror(out);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_profile cpu|heaptext -o FILE [...]\n");
        return 2;
    }
    const char *out = NULL;
    size_t n = 1000000, s = 120000, f = 6000, mb = 100;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-o"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "-n"))
            n = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-s"))
            s = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-f"))
            f = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-m"))
            mb = strtoul(argv[i + 1], NULL, 10);
    }
    if (!out || !n || !s || !f) {
        fprintf(stderr, "gen_profile: -o FILE is required\n");
        return 2;
    }
    if (!strcmp(argv[1], "cpu"))
        return gen_cpu(out, n, s < n ? s : n, f);
    if (!strcmp(argv[1], "heaptext"))
        return gen_heaptext(out, mb);
    fprintf(stderr, "gen_profile: unknown kind %s\n", argv[1]);
    return 2;
}
