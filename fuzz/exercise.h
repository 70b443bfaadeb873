/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exercise.h - what the cprof command does with a profile it has read,
 * for the fuzz targets of its readers (fuzz_legacy_text.c,
 * fuzz_gperftools.c, fuzz_report.c): copy (merge), prune, filters,
 * aggregation, the report model and every text report. A few bits of the
 * input pick the options, so one corpus covers them all. Nothing here may
 * crash, leak or hang on any profile a reader accepted.
 */
#ifndef CP_FUZZ_EXERCISE_H
#define CP_FUZZ_EXERCISE_H

#include <stdint.h>
#include <stdlib.h>

#include "profile/codec.h"
#include "profile/filter.h"
#include "profile/graph.h"
#include "profile/merge.h"
#include "profile/report.h"

static void cp_fuzz_exercise(struct cp_profile *p, unsigned seed)
{
    char err[256];
    if (p->n_sample_types == 0 || cp_profile_canon_strings(p) < 0)
        return;
    struct cp_profile c;
    if (cp_profile_copy(p, &c) == 0) {
        struct cp_dynbuf b;
        cp_dynbuf_init(&b, (size_t)64 << 20);
        (void)cp_profile_encode(&c, 0, &b);
        cp_dynbuf_free(&b);
        cp_profile_free(&c);
    }
    (void)cp_filter_remove_uninteresting(p);
    struct cp_report_opts o = CP_REPORT_OPTS_INIT;
    o.sample_index = (int)(seed % p->n_sample_types);
    o.mean = seed & 8;
    o.cum_sort = seed & 256;
    o.node_count = (seed & 512) ? 3 : -1;
    struct cp_report r;
    if (cp_report_init(&r, p, &o) < 0)
        return;
    struct cp_filter_opts f = {
        .focus = (seed & 16) ? "a|main" : NULL,
        .hide = (seed & 32) ? "^b" : NULL,
        .tagfocus = (seed & 64) ? "bytes=1kb:" : NULL,
        .ignore = (seed & 1024) ? "runtime" : NULL,
        .show_from = (seed & 2048) ? "m" : NULL,
    };
    (void)cp_filter_apply(p, &f, NULL, err, sizeof(err));
    cp_filter_aggregate(p, (enum cp_granularity)((seed >> 12) % 5),
                        seed & 128);
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, (size_t)64 << 20);
    (void)cp_report_text(&r, &out);
    cp_dynbuf_reset(&out);
    (void)cp_report_traces(&r, &out);
    cp_dynbuf_reset(&out);
    (void)cp_report_collapsed(&r, &out);
    cp_dynbuf_reset(&out);
    (void)cp_report_raw(&r, &out);
    cp_dynbuf_free(&out);
    cp_report_free(&r);
}

static unsigned cp_fuzz_seed(const uint8_t *data, size_t size)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        h = (h ^ data[i]) * 16777619u;
    return h ^ (unsigned)size;
}

#endif /* CP_FUZZ_EXERCISE_H */
