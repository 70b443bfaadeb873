/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_pprof.c - cprof trace -pprof=TYPE, as go tool trace -pprof: the
 * trace's waiting intervals as a pprof profile with sample types
 * contentions/count and delay/nanoseconds, one sample per distinct stack.
 *
 *   block    every interposed blocking call but system calls: mutexes,
 *            rwlocks, condition variables, semaphores, joins, sleeps
 *   sync     synchronization only: mutexes, rwlocks, condition
 *            variables, semaphores (Go's "sync")
 *   syscall  blocking system calls (read, write, poll, accept... that
 *            took at least the trace's syscall_min_ns)
 *   sched    runnable but not running: from a switch-out while runnable
 *            (preempted) to the next switch-in (or the thread's exit, or
 *            the trace's end), the runnable intervals of the shared
 *            tracker (src/trace/trace_sched.h); the stack is the last CPU
 *            sample before it was preempted (the switch records carry
 *            none), else the thread's start routine
 *
 * Stacks are the waiter's, symbolized from the trace's symbol table, or
 * from its mappings and the binaries on this machine when the trace was
 * cut short before its end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/symbolize.h"
#include "trace/trace_format.h"
#include "trace/trace_sched.h"
#include "trace_cli.h"

struct agg {
    uint64_t stack; /* trace stack id; 0 = none */
    int64_t count, delay;
};

struct psamp {
    int64_t ts;
    uint64_t stack;
};

struct pthr {
    int tid;
    struct psamp *s;
    size_t n, cap;
    uint64_t start_stack; /* start routine */
};

struct pp {
    struct cp_trace *t;
    int type; /* 0 block, 1 sync, 2 syscall, 3 sched */
    struct agg *a;
    size_t n, cap;
    uint64_t *keys; /* open addressing: stack+1 -> index+1 */
    uint32_t *vals;
    size_t hcap;
    struct pthr *th;
    size_t n_th, cap_th;
    struct cp_tsched *sched;
    int err;
};

static void add(struct pp *c, uint64_t stack, int64_t delay)
{
    size_t i;
    if (c->err)
        return;
    if (c->n * 2 >= c->hcap) {
        size_t cap = c->hcap ? c->hcap * 2 : 256;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            c->err = -ENOMEM;
            return;
        }
        for (size_t j = 0; j < c->hcap; j++) {
            if (!c->vals[j])
                continue;
            i = (size_t)(c->keys[j] * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
            while (v[i])
                i = (i + 1) & (cap - 1);
            k[i] = c->keys[j];
            v[i] = c->vals[j];
        }
        free(c->keys);
        free(c->vals);
        c->keys = k;
        c->vals = v;
        c->hcap = cap;
    }
    i = (size_t)((stack + 1) * 0x9e3779b97f4a7c15ull >> 17) & (c->hcap - 1);
    while (c->vals[i] && c->keys[i] != stack + 1)
        i = (i + 1) & (c->hcap - 1);
    if (!c->vals[i]) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            struct agg *v = realloc(c->a, cap * sizeof *v);
            if (!v) {
                c->err = -ENOMEM;
                return;
            }
            c->a = v;
            c->cap = cap;
        }
        c->a[c->n] = (struct agg){stack, 0, 0};
        c->keys[i] = stack + 1;
        c->vals[i] = (uint32_t)++c->n;
    }
    c->a[c->vals[i] - 1].count++;
    c->a[c->vals[i] - 1].delay += delay > 0 ? delay : 0;
}

static bool wanted(int type, int kind)
{
    switch (type) {
    case 0: return kind != CP_TRK_SYSCALL;
    case 1:
        return kind == CP_TRK_MUTEX || kind == CP_TRK_RWLOCK_RD ||
               kind == CP_TRK_RWLOCK_WR || kind == CP_TRK_COND ||
               kind == CP_TRK_SEM;
    case 2: return kind == CP_TRK_SYSCALL;
    default: return false;
    }
}

static struct pthr *pthread_of(struct pp *c, int tid)
{
    for (size_t i = 0; i < c->n_th; i++) {
        if (c->th[i].tid == tid)
            return &c->th[i];
    }
    if (c->n_th == c->cap_th) {
        size_t cap = c->cap_th ? c->cap_th * 2 : 16;
        struct pthr *v = realloc(c->th, cap * sizeof *v);
        if (!v) {
            c->err = -ENOMEM;
            return NULL;
        }
        c->th = v;
        c->cap_th = cap;
    }
    memset(&c->th[c->n_th], 0, sizeof c->th[0]);
    c->th[c->n_th].tid = tid;
    return &c->th[c->n_th++];
}

/* The one pass of sched: every thread's CPU samples and start routine,
 * and the scheduling intervals. */
static int collect(const struct cp_trace_event *e, void *arg)
{
    struct pp *c = arg;
    struct pthr *th;
    if (cp_tsched_add(c->sched, e) < 0)
        return c->err = -ENOMEM;
    if (e->type != CP_TEV_SAMPLE && e->type != CP_TEV_THREAD &&
        e->type != CP_TEV_THREAD_START)
        return 0;
    th = pthread_of(c, e->tid);
    if (!th)
        return c->err;
    if (e->type != CP_TEV_SAMPLE) {
        if (e->stack)
            th->start_stack = e->stack;
        return 0;
    }
    if (th->n == th->cap) {
        size_t cap = th->cap ? th->cap * 2 : 64;
        struct psamp *v = realloc(th->s, cap * sizeof *v);
        if (!v)
            return c->err = -ENOMEM;
        th->s = v;
        th->cap = cap;
    }
    th->s[th->n++] = (struct psamp){e->ts, e->stack};
    return 0;
}

static int cmp_ps(const void *a, const void *b)
{
    const struct psamp *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* The stack of the last sample of th at or before ts. */
static uint64_t stack_before(const struct pthr *th, int64_t ts)
{
    size_t lo = 0, hi = th->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (th->s[mid].ts <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? th->s[lo - 1].stack : th->start_stack;
}

static int on_ev(const struct cp_trace_event *e, void *arg)
{
    struct pp *c = arg;
    if (e->type == CP_TEV_BLOCK && wanted(c->type, e->kind))
        add(c, e->stack, e->dur);
    return c->err;
}

/* sched: one contention per runnable interval. */
static void add_runnable(struct pp *c)
{
    for (size_t i = 0; i < cp_tsched_count(c->sched) && !c->err; i++) {
        const struct cp_tsched_thread *ts = cp_tsched_at(c->sched, i);
        const struct pthr *th = pthread_of(c, ts->tid);
        if (!th)
            return;
        for (size_t k = 0; k < ts->n_iv; k++) {
            const struct cp_tsched_iv *v = &ts->iv[k];
            if (v->state == CP_TSCHED_RUNNABLE)
                add(c, stack_before(th, v->start), v->end - v->start);
        }
    }
}

/* ---- building the profile ---- */

struct locmap {
    uint64_t *pcs;
    uint64_t *ids;
    size_t cap, n;
};

static uint64_t *loc_slot(struct locmap *m, uint64_t pc, bool *fresh)
{
    size_t i;
    *fresh = false;
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        uint64_t *p = calloc(cap, sizeof *p), *v = calloc(cap, sizeof *v);
        if (!p || !v) {
            free(p);
            free(v);
            return NULL;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->ids[j])
                continue;
            i = (size_t)(m->pcs[j] * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
            while (v[i])
                i = (i + 1) & (cap - 1);
            p[i] = m->pcs[j];
            v[i] = m->ids[j];
        }
        free(m->pcs);
        free(m->ids);
        m->pcs = p;
        m->ids = v;
        m->cap = cap;
    }
    i = (size_t)(pc * 0x9e3779b97f4a7c15ull >> 17) & (m->cap - 1);
    while (m->ids[i] && m->pcs[i] != pc)
        i = (i + 1) & (m->cap - 1);
    if (!m->ids[i]) {
        m->pcs[i] = pc;
        m->n++;
        *fresh = true;
    }
    return &m->ids[i];
}

static uint64_t function_for(struct cp_profile *p, const char *name,
                             const char *file)
{
    /* functions are few; the string table makes equal names equal ids */
    int64_t n = cp_profile_str(p, name), f = cp_profile_str(p, file);
    for (size_t i = p->n_functions; i > 0; i--) {
        if (p->functions[i - 1].name == n && p->functions[i - 1].filename == f)
            return p->functions[i - 1].id;
    }
    struct cp_function *fn = cp_profile_add_function(p);
    if (!fn)
        return 0;
    fn->name = n;
    fn->system_name = n;
    fn->filename = f;
    return fn->id;
}

static uint64_t marker(struct cp_profile *p, const char *name)
{
    uint64_t fid = function_for(p, name, "");
    struct cp_location *l = cp_profile_add_location(p, 1);
    if (!l || !fid)
        return 0;
    l->lines[0].function_id = fid;
    return l->id;
}

static uint64_t location(struct cp_trace *t, struct cp_profile *p,
                         struct locmap *lm, uint64_t pc)
{
    bool fresh;
    uint64_t *slot = loc_slot(lm, pc, &fresh);
    const struct cp_trace_frame *fr;
    struct cp_location *l;
    int nf;

    if (!slot)
        return 0;
    if (!fresh)
        return *slot;
    nf = cp_trace_symbolize(t, pc, &fr);
    l = cp_profile_add_location(p, nf > 0 ? (size_t)nf : 0);
    if (!l)
        return 0;
    l->address = pc;
    for (size_t i = 0; i < p->n_mappings; i++) {
        if (pc >= p->mappings[i].memory_start &&
            pc < p->mappings[i].memory_limit) {
            l->mapping_id = p->mappings[i].id;
            break;
        }
    }
    for (int k = 0; k < nf; k++) {
        l->lines[k].function_id = function_for(p, fr[k].function, fr[k].file);
        l->lines[k].line = fr[k].line;
    }
    if (nf > 0 && l->mapping_id) {
        struct cp_mapping *m = cp_profile_mapping(p, l->mapping_id);
        m->has_functions = m->has_filenames = m->has_line_numbers = true;
        m->has_inline_frames = true;
    }
    *slot = l->id;
    return l->id;
}

int cp_trace_pprof(struct cp_trace *t, const char *type, struct cp_profile *p,
                   char *warn, size_t warnlen)
{
    static const char *const types[] = {"block", "sync", "syscall", "sched"};
    struct pp c;
    struct locmap lm = {0};
    const struct cp_trace_mapping *maps;
    int nm, r;
    char line[256];

    memset(&c, 0, sizeof c);
    c.t = t;
    c.type = -1;
    for (int i = 0; i < 4; i++) {
        if (!strcmp(type, types[i]))
            c.type = i;
    }
    if (c.type < 0)
        return -EINVAL;
    if (warn && warnlen)
        warn[0] = '\0';
    if (c.type == 3) {
        c.sched = cp_tsched_new(cp_trace_start_ns(t));
        r = c.sched ? cp_trace_scan(t, collect, &c) : -ENOMEM;
        if (r == 0)
            r = c.err;
        if (r == 0)
            r = cp_tsched_finish(c.sched, cp_trace_end_ns(t));
        if (r < 0)
            goto fail_scan;
        for (size_t i = 0; i < c.n_th; i++)
            if (c.th[i].n)
                qsort(c.th[i].s, c.th[i].n, sizeof *c.th[i].s, cmp_ps);
        add_runnable(&c);
    } else {
        r = cp_trace_scan(t, on_ev, &c);
    }
    if (r < 0 || c.err < 0)
        goto fail_scan;
    if (c.type == 3 && !cp_tsched_any_precise(c.sched) && warn)
        snprintf(warn, warnlen,
                 "this trace has no context-switch records (%s): the sched "
                 "profile is empty",
                 cp_trace_info(t, "sched") ? cp_trace_info(t, "sched")
                                           : "perf_event unavailable");

    r = cp_profile_init(p);
    if (r < 0)
        goto fail_scan;
    r = -ENOMEM;
    if (cp_profile_add_sample_type(p, "contentions", "count") < 0 ||
        cp_profile_add_sample_type(p, "delay", "nanoseconds") < 0)
        goto fail;
    p->period_type.type = cp_profile_str(p, "contentions");
    p->period_type.unit = cp_profile_str(p, "count");
    p->period = 1;
    p->default_sample_type = cp_profile_str(p, "delay");
    const char *rt = cp_trace_info(t, "start_realtime_ns");
    p->time_nanos = rt ? strtoll(rt, NULL, 10) : 0;
    p->duration_nanos = cp_trace_end_ns(t) - cp_trace_start_ns(t);
    nm = cp_trace_mappings(t, &maps);
    for (int i = 0; i < nm; i++) {
        struct cp_mapping *m = cp_profile_add_mapping(p);
        if (!m)
            goto fail;
        m->memory_start = maps[i].start;
        m->memory_limit = maps[i].limit;
        m->file_offset = maps[i].offset;
        m->filename = cp_profile_str(p, maps[i].path);
        m->build_id = cp_profile_str(p, maps[i].build_id);
    }
    uint64_t nostack = 0;
    for (size_t i = 0; i < c.n; i++) {
        const uint64_t *pcs;
        int n = cp_trace_stack(t, c.a[i].stack, &pcs);
        struct cp_sample *s = cp_profile_add_sample(p, n > 0 ? (size_t)n : 1,
                                                    0);
        if (!s)
            goto fail;
        for (int k = 0; k < n; k++) {
            s->location_ids[k] = location(t, p, &lm, pcs[k]);
            if (!s->location_ids[k])
                goto fail;
        }
        if (n <= 0) {
            if (!nostack)
                nostack = marker(p, "[no stack]");
            s->location_ids[0] = nostack;
        }
        s->values[0] = c.a[i].count;
        s->values[1] = c.a[i].delay;
    }
    snprintf(line, sizeof line, "cprof trace -pprof=%s of %s", type,
             cp_trace_info(t, "cmdline") ? cp_trace_info(t, "cmdline") : "?");
    cp_profile_add_comment(p, line);
    if (!cp_trace_complete(t))
        cp_profile_add_comment(p, "the trace has no end record: it was cut "
                                  "short, this covers what it holds");
    /* addresses the trace has no symbols for (a trace cut short before
     * its end): from the mappings and the binaries here, if present */
    struct cp_symbolizer *sym = cp_sym_new();
    if (sym) {
        cp_sym_profile(sym, p, NULL);
        cp_sym_destroy(sym);
    }
    r = 0;
    goto out;
fail:
    cp_profile_free(p);
    goto out;
fail_scan:
    if (r >= 0)
        r = c.err < 0 ? c.err : -ENOMEM;
out:
    free(lm.pcs);
    free(lm.ids);
    free(c.a);
    free(c.keys);
    free(c.vals);
    for (size_t i = 0; i < c.n_th; i++)
        free(c.th[i].s);
    free(c.th);
    cp_tsched_free(c.sched);
    return r;
}
