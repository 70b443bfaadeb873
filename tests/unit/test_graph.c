/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_graph.c - the report model (src/profile/graph.c) and the text
 * reports on it (src/profile/report.c): flat and cum per node with
 * recursion counted once, edges and their weights, inline edges, the
 * order (flat, then name; cum with -cum), node cutoff and dropped counts,
 * node count, residual edges, granularity names, the location -> node map
 * a flame graph walks, and -top / -traces / -collapsed text exactly as
 * go tool pprof (or FlameGraph) prints it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "profile/filter.h"
#include "profile/graph.h"
#include "profile/merge.h"
#include "profile/report.h"
#include "testprof.h"

static void build(struct cp_profile *p)
{
    tp_init(p, "samples/count cpu/nanoseconds");
    TP_SAMPLE(p, "work;main", 6, 60000000);
    TP_SAMPLE(p, "work;rec;rec;main", 3, 30000000); /* recursion */
    TP_SAMPLE(p, "small+helper;main", 1, 10000000); /* small inlined */
    TP_SAMPLE(p, "main", 0, 0);                     /* no value: ignored */
    assert_int_equal(cp_profile_canon_strings(p), 0);
}

static const struct cp_graph_node *node(const struct cp_graph *g,
                                        const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return &g->nodes[i];
    return NULL;
}

static void test_values_and_edges(void **state)
{
    (void)state;
    struct cp_profile p;
    build(&p);
    cp_filter_aggregate(&p, CP_GRAN_FUNCTIONS, false);
    struct cp_graph g;
    struct cp_graph_opts o = CP_GRAPH_OPTS_INIT;
    o.sample_index = 1;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_int_equal(g.n_nodes, 5);
    assert_int_equal(g.total, 100000000);
    const struct cp_graph_node *work = node(&g, "work"), *rec = node(&g, "rec"),
                               *mainn = node(&g, "main"),
                               *small = node(&g, "small");
    assert_non_null(work);
    assert_int_equal(work->flat, 90000000);
    assert_int_equal(work->cum, 90000000);
    assert_int_equal(rec->cum, 30000000); /* twice on a stack, once here */
    assert_int_equal(rec->flat, 0);
    assert_int_equal(mainn->cum, 100000000);
    /* order: flat descending, then name */
    assert_string_equal(g.nodes[0].name, "work");
    assert_string_equal(g.nodes[1].name, "small");
    /* edges: main->work 60, rec->work 30, rec->rec 0 (self edge skipped) */
    bool main_work = false;
    for (uint32_t i = 0; i < work->n_in; i++) {
        const struct cp_graph_edge *e = &g.edges[work->in[i]];
        if (&g.nodes[e->src] == mainn) {
            assert_int_equal(e->weight, 60000000);
            main_work = true;
        }
    }
    assert_true(main_work);
    assert_int_equal(rec->n_out, 1);
    assert_string_equal(cp_graph_inline_label(&g, small), "(inline)");
    assert_string_equal(cp_graph_inline_label(&g, work), "");
    /* the location -> node map, innermost first */
    size_t n;
    const uint32_t *ids = cp_graph_location_nodes(&g, 3, &n);
    assert_int_equal(n, 1);
    struct cp_graph_node info;
    assert_int_equal(cp_graph_node_info(&g, ids[0], &info), 0);
    assert_string_equal(info.printable, "rec");
    cp_graph_free(&g);

    o.cum_sort = true;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_string_equal(g.nodes[0].name, "main");
    cp_graph_free(&g);
    cp_profile_free(&p);
}

static void test_trimming(void **state)
{
    (void)state;
    struct cp_profile p;
    tp_init(&p, "samples/count");
    TP_SAMPLE(&p, "big;main", 990);
    TP_SAMPLE(&p, "tiny;mid;main", 4); /* below 0.5% */
    TP_SAMPLE(&p, "other;main", 6);
    assert_int_equal(cp_profile_canon_strings(&p), 0);
    struct cp_graph g;
    struct cp_graph_opts o = CP_GRAPH_OPTS_INIT;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_int_equal(g.node_cutoff, 5);
    assert_int_equal(g.dropped_nodes, 2); /* tiny and mid */
    assert_null(node(&g, "tiny"));
    /* main->tiny's value is not given to mid or main: flat stays 0 */
    assert_int_equal(node(&g, "main")->flat, 0);
    assert_int_equal(node(&g, "main")->cum, 1000);
    cp_graph_free(&g);

    o.node_count = 2;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_int_equal(g.n_nodes, 2);
    assert_int_equal(g.orig_count, 3);
    cp_graph_free(&g);

    o.no_trim = true;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_int_equal(g.n_nodes, 5);
    assert_int_equal(g.dropped_nodes, 0);
    cp_graph_free(&g);
    cp_profile_free(&p);
}

static void test_granularity_names(void **state)
{
    (void)state;
    struct cp_profile p;
    build(&p);
    cp_filter_aggregate(&p, CP_GRAN_LINES, false);
    struct cp_graph g;
    struct cp_graph_opts o = CP_GRAPH_OPTS_INIT;
    o.sample_index = 1;
    assert_int_equal(cp_graph_new(&g, &p, &o), 0);
    assert_string_equal(g.nodes[0].printable, "work /src/work.c:10");
    cp_graph_free(&g);
    cp_profile_free(&p);

    char b[128];
    assert_string_equal(cp_graph_printable(b, sizeof b, "", "", "/usr/lib/libx.so",
                                           0x1234, 0),
                        "0000000000001234 [libx.so]");
    assert_string_equal(cp_graph_printable(b, sizeof b, "", "", "", 0, 0),
                        "<unknown>");
    assert_string_equal(cp_path_clean(b, sizeof b, "./a//b/../c.go"),
                        "a/c.go");
    assert_string_equal(cp_path_clean(b, sizeof b, "/../x"), "/x");
    assert_string_equal(cp_path_clean(b, sizeof b, "../../y"), "../../y");
}

static void report_text(struct cp_profile *p, struct cp_report_opts *o,
                        int which, char **out)
{
    struct cp_report r;
    assert_int_equal(cp_report_init(&r, p, o), 0);
    cp_filter_aggregate(p, CP_GRAN_FUNCTIONS, false);
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, 1 << 20);
    int e = which == 0   ? cp_report_text(&r, &b)
            : which == 1 ? cp_report_traces(&r, &b)
                         : cp_report_collapsed(&r, &b);
    assert_int_equal(e, 0);
    *out = cp_dynbuf_take(&b, NULL);
    cp_report_free(&r);
}

static void test_reports(void **state)
{
    (void)state;
    struct cp_profile p;
    build(&p);
    tp_label(&p, "thread_name", "w1");
    struct cp_report_opts o = CP_REPORT_OPTS_INIT;
    o.sample_index = 1;
    o.node_count = 0;
    char *t;
    report_text(&p, &o, 0, &t);
    assert_string_equal(
        t, "File: prog\n"
           "Type: cpu\n"
           "Showing nodes accounting for 100ms, 100% of 100ms total\n"
           "      flat  flat%   sum%        cum   cum%\n"
           "      90ms 90.00% 90.00%       90ms 90.00%  work\n"
           "      10ms 10.00%   100%       10ms 10.00%  small (inline)\n"
           /* equal flat: by name, not by cum (pprof's FlatNameOrder) */
           "         0     0%   100%       10ms 10.00%  helper\n"
           "         0     0%   100%      100ms   100%  main\n"
           "         0     0%   100%       30ms 30.00%  rec\n");
    free(t);
    report_text(&p, &o, 1, &t);
    assert_non_null(strstr(t, "-----------+-------------------------------"
                              "------------------------\n"
                              "      60ms   work\n"
                              "             main\n"));
    assert_non_null(strstr(t, "      10ms   small (inline)\n"
                              "             helper\n"));
    /* the last sample: no value, still listed, with its label */
    assert_non_null(strstr(t, "thread_name:  w1\n         0   main\n"));
    free(t);
    report_text(&p, &o, 2, &t);
    assert_string_equal(t, "main;helper;small 10000000\n"
                           "main;rec;rec;work 30000000\n"
                           "main;work 60000000\n");
    free(t);
    cp_profile_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_edges),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_granularity_names),
        cmocka_unit_test(test_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
