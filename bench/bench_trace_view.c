/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_trace_view.c - what the trace viewer's server does with a big
 * trace (cli/trace_view.c, trace_stats.c): read it, build the tables and
 * the timeline model, then answer windows at a screen's resolution (the
 * whole trace at 1920 px, then 1% and 0.01% of it), with the answer sizes.
 *
 *     bench_trace_view TRACE
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trace_cli.h"

static double ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    struct cp_dynbuf buf, out;
    struct cp_trace *t;
    struct cp_tstats s;
    struct cp_tmodel m;
    char err[256];
    double t0;

    if (argc != 2)
        return 2;
    t0 = ms();
    if (cp_trace_load(argv[1], (size_t)8 << 30, &buf, &t, err, sizeof err)) {
        fprintf(stderr, "bench_trace_view: %s\n", err);
        return 1;
    }
    printf("read and index %zu bytes: %.1f ms\n", buf.len, ms() - t0);
    t0 = ms();
    cp_tstats_compute(t, &s);
    uint64_t events = 0;
    for (int i = 0; i < 32; i++)
        events += s.n_events[i];
    printf("tables (%llu events): %.1f ms\n", (unsigned long long)events,
           ms() - t0);
    t0 = ms();
    if (cp_tmodel_build(t, &m))
        return 1;
    printf("timeline model (%zu spans, %zu lanes): %.1f ms\n", m.n_spans,
           m.n_lanes, ms() - t0);
    cp_dynbuf_init(&out, (size_t)1 << 32);
    static const double frac[] = {1, 0.01, 0.0001};
    for (int i = 0; i < 3; i++) {
        int64_t w = (int64_t)(m.duration * frac[i]) + 1;
        int64_t from = (m.duration - w) / 2;
        cp_dynbuf_reset(&out);
        t0 = ms();
        cp_tmodel_window_json(&m, from, from + w, w / 1920 + 1, &out);
        printf("window %g of the trace at 1920 px: %.1f ms, %zu bytes of "
               "JSON\n",
               frac[i], ms() - t0, out.len);
    }
    cp_dynbuf_free(&out);
    cp_tmodel_free(&m);
    cp_tstats_free(&s);
    cp_trace_close(t);
    cp_dynbuf_free(&buf);
    return 0;
}
