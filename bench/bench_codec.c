/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_codec.c - encode and decode speed of the profile codec on a large
 * synthetic profile (default: 1M samples of depth 32 drawn from 100k
 * distinct stacks over 100k locations and 20k functions, two labels per
 * sample).
 *
 *   bench_codec [-n SAMPLES] [-l LOCATIONS] [-d DEPTH] [-r RUNS]
 *               [-o FILE]   (write the gzip'd profile, e.g. for go tool pprof)
 *
 * Prints the median of RUNS for each step, in CPU seconds of this process
 * (the machine is shared: CPU time, not wall time), and peak RSS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "profile/codec.h"
#include "profile/profile.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return v[n / 2];
}

static void build(struct cp_profile *p, size_t ns, size_t nl, size_t depth)
{
    char name[96];
    size_t nf = nl / 5 ? nl / 5 : 1;
    if (cp_profile_init(p) < 0)
        exit(1);
    cp_profile_add_sample_type(p, "samples", "count");
    cp_profile_add_sample_type(p, "cpu", "nanoseconds");
    p->period_type = p->sample_types[1];
    p->period = 10000000;
    struct cp_mapping *m = cp_profile_add_mapping(p);
    m->memory_start = 0x400000;
    m->memory_limit = 0x400000 + nl * 64;
    m->filename = cp_profile_str(p, "/usr/bin/bench");
    m->build_id = cp_profile_str(p, "0123456789abcdef");
    for (size_t i = 0; i < nf; i++) {
        struct cp_function *f = cp_profile_add_function(p);
        snprintf(name, sizeof(name), "github.com/example/pkg%zu.(*T).Method%zu",
                 i % 97, i);
        f->name = cp_profile_str(p, name);
        f->system_name = f->name;
        snprintf(name, sizeof(name), "src/pkg%zu/file%zu.c", i % 97, i % 13);
        f->filename = cp_profile_str(p, name);
    }
    for (size_t i = 0; i < nl; i++) {
        struct cp_location *l = cp_profile_add_location(p, 1 + (i % 4 == 0));
        l->mapping_id = 1;
        l->address = 0x400000 + i * 64;
        for (size_t j = 0; j < l->n_lines; j++) {
            l->lines[j].function_id = (i + j * 7) % nf + 1;
            l->lines[j].line = (int64_t)(i % 1000) + 1;
        }
    }
    int64_t k_thread = cp_profile_str(p, "thread");
    int64_t k_name = cp_profile_str(p, "thread_name");
    int64_t names[8];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "worker-%d", i);
        names[i] = cp_profile_str(p, name);
    }
    /*
     * Stacks as real programs make them: paths down a call tree, so stacks
     * share their roots and differ near the leaf. Location of frame j of
     * stack k depends on frame j-1 and a small branch choice; ns samples
     * are drawn from nstacks distinct stacks with a skewed distribution
     * (a few hot stacks, a long tail), each with its thread labels.
     */
    size_t nstacks = ns / 10 ? ns / 10 : 1;
    uint64_t *stacks = malloc(nstacks * depth * sizeof(uint64_t));
    uint64_t x = 88172645463325252ULL;
#define XS() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    for (size_t k = 0; k < nstacks; k++) {
        uint64_t *st = stacks + k * depth;
        uint64_t prev = 0;
        for (size_t j = 0; j < depth; j++) {
            /* root frames come from few choices, leaves from many */
            uint64_t branch = j < depth / 2 ? XS() % 3 : XS() % 64;
            prev = (prev * 31 + branch * 7919 + j) % nl;
            st[depth - 1 - j] = prev + 1; /* leaf first */
        }
    }
    for (size_t i = 0; i < ns; i++) {
        struct cp_sample *s = cp_profile_add_sample(p, depth, 2);
        if (!s)
            exit(1);
        double u = (double)(XS() % 1000000) / 1e6;
        size_t k = (size_t)((double)nstacks * u * u * u); /* skewed */
        if (i < nstacks)
            k = i; /* every stack appears at least once */
        memcpy(s->location_ids, stacks + k * depth, depth * sizeof(uint64_t));
        s->values[0] = 1 + (int64_t)(XS() % 5);
        s->values[1] = s->values[0] * 10000000;
        s->labels[0].key = k_thread;
        s->labels[0].num = (int64_t)(i % 8) + 1000;
        s->labels[1].key = k_name;
        s->labels[1].str = names[i % 8];
    }
    free(stacks);
#undef XS
}

int main(int argc, char **argv)
{
    size_t ns = 1000000, nl = 100000, depth = 32;
    int runs = 5;
    const char *outpath = NULL;
    int c;
    while ((c = getopt(argc, argv, "n:l:d:r:o:")) != -1) {
        switch (c) {
        case 'n':
            ns = strtoull(optarg, NULL, 10);
            break;
        case 'l':
            nl = strtoull(optarg, NULL, 10);
            break;
        case 'd':
            depth = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        case 'o':
            outpath = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench_codec [-n samples] [-l locations] "
                            "[-d depth] [-r runs] [-o file]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 100 || !nl)
        return 2;
    struct cp_profile p;
    double t0 = cpu_now();
    build(&p, ns, nl, depth);
    double tb = cpu_now() - t0;
    double *enc_raw = calloc((size_t)runs, sizeof(double));
    double *enc_gz = calloc((size_t)runs, sizeof(double));
    double *dec_raw = calloc((size_t)runs, sizeof(double));
    double *dec_gz = calloc((size_t)runs, sizeof(double));
    size_t raw_len = 0, gz_len = 0;
    char err[256];
    for (int r = 0; r < runs; r++) {
        struct cp_dynbuf raw, gz;
        struct cp_profile q;
        cp_dynbuf_init(&raw, SIZE_MAX);
        cp_dynbuf_init(&gz, SIZE_MAX);
        t0 = cpu_now();
        if (cp_profile_encode(&p, 0, &raw) < 0)
            return 1;
        enc_raw[r] = cpu_now() - t0;
        t0 = cpu_now();
        if (cp_profile_encode(&p, 1, &gz) < 0)
            return 1;
        enc_gz[r] = cpu_now() - t0;
        raw_len = raw.len;
        gz_len = gz.len;
        t0 = cpu_now();
        if (cp_profile_decode(raw.data, raw.len, (size_t)8 << 30, &q, err,
                              sizeof(err)) < 0) {
            fprintf(stderr, "decode: %s\n", err);
            return 1;
        }
        dec_raw[r] = cpu_now() - t0;
        cp_profile_free(&q);
        t0 = cpu_now();
        if (cp_profile_decode(gz.data, gz.len, (size_t)8 << 30, &q, err,
                              sizeof(err)) < 0) {
            fprintf(stderr, "decode: %s\n", err);
            return 1;
        }
        dec_gz[r] = cpu_now() - t0;
        cp_profile_free(&q);
        if (outpath && r == 0 &&
            cp_write_file_atomic(outpath, gz.data, gz.len)) {
            fprintf(stderr, "cannot write %s\n", outpath);
            return 1;
        }
        cp_dynbuf_free(&raw);
        cp_dynbuf_free(&gz);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("profile: %zu samples x depth %zu, %zu locations; build %.3f s\n",
           ns, depth, nl, tb);
    printf("size: %zu bytes raw, %zu bytes gzip\n", raw_len, gz_len);
    printf("median of %d runs, CPU seconds:\n", runs);
    printf("  encode raw   %.3f s  (%.0f MB/s)\n", median(enc_raw, runs),
           raw_len / 1e6 / median(enc_raw, runs));
    printf("  encode gzip  %.3f s\n", median(enc_gz, runs));
    printf("  decode raw   %.3f s  (%.0f MB/s)\n", median(dec_raw, runs),
           raw_len / 1e6 / median(dec_raw, runs));
    printf("  decode gzip  %.3f s\n", median(dec_gz, runs));
    printf("peak RSS: %ld MiB\n", ru.ru_maxrss / 1024);
    cp_profile_free(&p);
    free(enc_raw);
    free(enc_gz);
    free(dec_raw);
    free(dec_gz);
    return 0;
}
