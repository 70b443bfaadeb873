/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_webui.c - CPU time of the web UI's server side on one profile,
 * phase by phase, as a request pays it: copy the loaded profile, filter
 * and aggregate, build the flame tree (report-model frames included),
 * write the first answer's JSON (frames under 1/1600 of the width cut),
 * search the tree, and the top table's report model. Medians of RUNS, in
 * CPU time of this process (the machine is shared: wall time lies).
 *
 *     bench_webui PROFILE [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "filter.h"
#include "flame.h"
#include "graph.h"
#include "merge.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { COPY, FILTER, FLAME, JSON, SEARCH, TOP, NPH };
static const char *const names[NPH] = {"copy",   "filter+aggregate",
                                       "flame tree", "json",
                                       "search", "top (report model)"};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_webui PROFILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    struct cp_dynbuf raw;
    cp_dynbuf_init(&raw, 1u << 30);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cp_dynbuf_add(&raw, chunk, n);
    fclose(f);
    struct cp_profile p;
    char err[256];
    if (cp_profile_decode(raw.data, raw.len, CP_DEFAULT_MAX_DECOMPRESSED, &p,
                          err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_webui: %s\n", err);
        return 1;
    }
    cp_profile_canon_strings(&p);
    int si = cp_sample_index(&p, NULL, err, sizeof(err));
    double *t[NPH];
    for (int k = 0; k < NPH; k++)
        t[k] = calloc((size_t)runs, sizeof(double));
    size_t nodes = 0, json_len = 0;
    for (int r = 0; r < runs; r++) {
        struct cp_profile c;
        double t0 = cpu_ms();
        cp_profile_copy(&p, &c);
        double t1 = cpu_ms();
        struct cp_filter_opts fo = {0};
        struct cp_dynbuf warn;
        cp_dynbuf_init(&warn, 1 << 16);
        cp_filter_apply(&c, &fo, &warn, err, sizeof(err));
        cp_filter_aggregate(&c, CP_GRAN_FUNCTIONS, false);
        double t2 = cpu_ms();
        struct cp_flame fl;
        struct cp_flame_opts o = {.sample_index = si};
        if (cp_flame_build(&fl, &c, &o) < 0)
            return 1;
        double t3 = cpu_ms();
        struct cp_dynbuf out;
        cp_dynbuf_init(&out, 1u << 30);
        cp_flame_json(&fl, 0, 1.0 / 1600, &out);
        double t4 = cpu_ms();
        /* search: a scan of the preorder tree, as /api/search does */
        int64_t sum = 0;
        for (uint32_t i = 1; i < fl.n_nodes;) {
            const char *nm = fl.funcs[fl.nodes[i].func].name;
            if (strstr(nm, "_fn_2")) {
                sum += fl.nodes[i].total;
                i = fl.nodes[i].end;
            } else {
                i++;
            }
        }
        double t5 = cpu_ms();
        struct cp_graph g;
        struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
        go.sample_index = si;
        go.no_trim = true;
        cp_graph_new(&g, &c, &go);
        double t6 = cpu_ms();
        t[COPY][r] = t1 - t0;
        t[FILTER][r] = t2 - t1;
        t[FLAME][r] = t3 - t2;
        t[JSON][r] = t4 - t3;
        t[SEARCH][r] = t5 - t4;
        t[TOP][r] = t6 - t5;
        nodes = fl.n_nodes;
        json_len = out.len;
        (void)sum;
        cp_graph_free(&g);
        cp_dynbuf_free(&out);
        cp_dynbuf_free(&warn);
        cp_flame_free(&fl);
        cp_profile_free(&c);
    }
    printf("%s: %zu samples, flame tree %zu nodes, first answer %zu bytes "
           "of JSON\n",
           argv[1], p.n_samples, nodes, json_len);
    for (int k = 0; k < NPH; k++) {
        qsort(t[k], (size_t)runs, sizeof(double), cmp_d);
        printf("  %-20s %8.1f ms CPU (median of %d)\n", names[k],
               t[k][runs / 2], runs);
        free(t[k]);
    }
    cp_profile_free(&p);
    cp_dynbuf_free(&raw);
    return 0;
}
