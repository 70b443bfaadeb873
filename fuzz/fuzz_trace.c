/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_trace.c - libFuzzer target for the execution trace reader
 * (src/trace/trace_read.c): any input opens with a sentence or reads as a
 * trace, and every event it yields refers only to strings, stacks and
 * symbols that resolve (or resolve to "" / nothing), its scheduling
 * intervals cover every thread's life, never a crash, leak or hang. Seeds: fuzz/corpus/trace/ (real traces, whole and cut, and
 * synthetic ones from mkcorpus_trace.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_read.h"
#include "trace/trace_sched.h"

static int visit(const struct cp_trace_event *e, void *arg)
{
    struct cp_trace *t = arg;
    const uint64_t *pcs;
    const struct cp_trace_frame *f;
    volatile size_t sink = strlen(cp_trace_str(t, e->str));
    int n = cp_trace_stack(t, e->stack, &pcs);
    for (int i = 0; i < n; i++) {
        int k = cp_trace_symbolize(t, pcs[i], &f);
        for (int j = 0; j < k; j++)
            sink += strlen(f[j].function) + strlen(f[j].file);
    }
    n = cp_trace_stack(t, e->stack2, &pcs);
    if (e->msg_len)
        sink += (size_t)(unsigned char)e->msg[e->msg_len - 1];
    (void)sink;
    if (e->type <= 0 || e->type >= CP_TEV__COUNT)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_trace *t;
    const struct cp_trace_mapping *m;
    char err[256];

    if (cp_trace_open(data, size, &t, err, sizeof err) < 0) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    cp_trace_scan(t, visit, t);
    cp_trace_scan(t, visit, t); /* twice: scans are independent */
    int n = cp_trace_mappings(t, &m);
    for (int i = 0; i < n; i++)
        if (!m[i].path || !m[i].build_id)
            abort();
    for (int i = 0; i < cp_trace_info_count(t); i++) {
        const char *k, *v;
        cp_trace_info_at(t, i, &k, &v);
        if (!k || !v)
            abort();
    }
    /* the scheduling intervals every export uses: each thread's life
     * covered exactly, whatever order and damage the records come in */
    struct cp_tsched *s;
    if (cp_tsched_build(t, &s) == 0) {
        for (size_t i = 0; i < cp_tsched_count(s); i++) {
            const struct cp_tsched_thread *th = cp_tsched_at(s, i);
            if (th->running + th->runnable + th->blocked !=
                th->end - th->begin)
                abort();
        }
        cp_tsched_free(s);
    }
    (void)cp_trace_end_ns(t);
    (void)cp_trace_truncated(t);
    cp_trace_close(t);
    return 0;
}
