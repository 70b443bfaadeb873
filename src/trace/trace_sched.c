/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_sched.c - per-thread scheduling intervals from a trace's switch
 * records, thread lifetimes and blocking calls (trace_sched.h; the rules
 * are in docs/internals/trace.md, "Scheduling intervals").
 *
 * Two phases, because the reader gives events in file order: a thread's
 * switch records come in GLOBAL chunks and its THREAD_EXIT in a BATCH
 * chunk of the same writer pass or the one before, so a SCHED_IN that
 * happened after the exit can be read before it. cp_tsched_add keeps
 * each thread's records (switches, losses, waits, CPU hints); finish
 * sorts them by time and walks a small state machine per thread.
 */
#include "trace/trace_sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum rec_type {
    R_IN,    /* arg: -, cpu */
    R_OUT,   /* arg: preempted */
    R_LOST,  /* switch records lost: the state is unknown from here */
    R_BLOCK, /* ts..end: an interposed wait, arg: CP_TRK_* */
    R_CPU,   /* the thread was on cpu at ts (CPU event, sample) */
};

struct rec {
    int64_t ts, end;
    uint32_t seq; /* file order, for a stable sort */
    uint8_t type, arg;
    int32_t cpu;
};

#define NONE INT64_MAX

struct th {
    struct cp_tsched_thread pub;
    struct rec *r;
    size_t n, cap;
    struct cp_tsched_iv *iv;
    size_t n_iv, cap_iv;
    int64_t start_ts, exit_ts; /* NONE when absent */
    int64_t own_min;           /* earliest event the thread wrote itself */
    bool mode_precise, has_switches;
};

struct cp_tsched {
    int64_t trace_start;
    struct th *th;
    size_t n_th, cap_th;
    uint32_t *slots; /* open addressing: tid -> index + 1 */
    size_t n_slots;
    uint32_t seq;
    bool finished, any_precise;
};

struct cp_tsched *cp_tsched_new(int64_t trace_start)
{
    struct cp_tsched *s = calloc(1, sizeof *s);
    if (s)
        s->trace_start = trace_start;
    return s;
}

void cp_tsched_free(struct cp_tsched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_th; i++) {
        free(s->th[i].r);
        free(s->th[i].iv);
    }
    free(s->th);
    free(s->slots);
    free(s);
}

static size_t slot_of(const uint32_t *slots, size_t n, const struct th *th,
                      int tid)
{
    size_t i = ((uint32_t)tid * 2654435761u) & (n - 1);
    while (slots[i] && th[slots[i] - 1].pub.tid != tid)
        i = (i + 1) & (n - 1);
    return i;
}

static struct th *thread_of(struct cp_tsched *s, int tid)
{
    size_t i;
    if ((s->n_th + 1) * 2 > s->n_slots) {
        size_t n = s->n_slots ? s->n_slots * 2 : 64;
        uint32_t *v = calloc(n, sizeof *v);
        if (!v)
            return NULL;
        for (size_t k = 0; k < s->n_th; k++)
            v[slot_of(v, n, s->th, s->th[k].pub.tid)] = (uint32_t)k + 1;
        free(s->slots);
        s->slots = v;
        s->n_slots = n;
    }
    i = slot_of(s->slots, s->n_slots, s->th, tid);
    if (s->slots[i])
        return &s->th[s->slots[i] - 1];
    if (s->n_th == s->cap_th) {
        size_t cap = s->cap_th ? s->cap_th * 2 : 16;
        struct th *v = realloc(s->th, cap * sizeof *v);
        if (!v)
            return NULL;
        s->th = v;
        s->cap_th = cap;
    }
    struct th *t = &s->th[s->n_th];
    memset(t, 0, sizeof *t);
    t->pub.tid = tid;
    t->start_ts = t->exit_ts = t->own_min = NONE;
    s->slots[i] = (uint32_t)++s->n_th;
    return t;
}

static int push(struct cp_tsched *s, struct th *t, struct rec r)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct rec *v = realloc(t->r, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->r = v;
        t->cap = cap;
    }
    r.seq = s->seq++;
    t->r[t->n++] = r;
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int cp_tsched_add(struct cp_tsched *s, const struct cp_trace_event *e)
{
    struct th *t;

    if (s->finished)
        return -EINVAL;
    if (e->tid == 0 || e->type == CP_TEV_COUNTER)
        return 0;
    t = thread_of(s, e->tid);
    if (!t)
        return -ENOMEM;
    if (!e->from_global)
        t->own_min = min64(t->own_min, e->ts);
    switch (e->type) {
    case CP_TEV_THREAD_START: t->start_ts = min64(t->start_ts, e->ts); break;
    case CP_TEV_THREAD_EXIT:
    case CP_TEV_THREAD_GONE: t->exit_ts = min64(t->exit_ts, e->ts); break;
    case CP_TEV_SCHED_MODE:
        if (e->kind == CP_TRM_PRECISE)
            t->mode_precise = true;
        break;
    case CP_TEV_SCHED_IN:
    case CP_TEV_SCHED_OUT:
        t->has_switches = true;
        s->any_precise = true;
        return push(s, t,
                    (struct rec){.ts = e->ts,
                                 .type = e->type == CP_TEV_SCHED_IN ? R_IN
                                                                    : R_OUT,
                                 .arg = (e->kind & CP_TRS_PREEMPTED) != 0,
                                 .cpu = e->type == CP_TEV_SCHED_IN &&
                                                e->value >= 0 &&
                                                e->value < INT32_MAX
                                            ? (int32_t)e->value
                                            : -1});
    case CP_TEV_SCHED_LOST:
        return push(s, t, (struct rec){.ts = e->ts, .type = R_LOST});
    case CP_TEV_BLOCK: {
        int64_t dur = e->dur > 0 ? e->dur : 0;
        /* no overflow: the reader keeps times within +-2^62 */
        return push(s, t,
                    (struct rec){.ts = e->ts - dur, .end = e->ts,
                                 .type = R_BLOCK,
                                 .arg = e->kind > 0 && e->kind < CP_TRK__COUNT
                                            ? (uint8_t)e->kind
                                            : 0});
    }
    case CP_TEV_CPU:
    case CP_TEV_SAMPLE:
        if (e->value < 0 || e->value >= INT32_MAX)
            break;
        return push(s, t, (struct rec){.ts = e->ts, .type = R_CPU,
                                       .cpu = (int32_t)e->value});
    default: break;
    }
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Append [start, end) in state; zero-length intervals are left out. */
static int emit(struct th *t, int state, int flags, int cpu, int64_t start,
                int64_t end)
{
    if (end <= start)
        return 0;
    if (t->n_iv == t->cap_iv) {
        size_t cap = t->cap_iv ? t->cap_iv * 2 : 16;
        struct cp_tsched_iv *v = realloc(t->iv, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->iv = v;
        t->cap_iv = cap;
    }
    t->iv[t->n_iv++] = (struct cp_tsched_iv){
        start, end, (uint8_t)state, 0, (uint8_t)flags,
        state == CP_TSCHED_RUNNING ? cpu : -1};
    return 0;
}

/* No switch records in its life: running except inside its waits. */
static int walk_estimated(struct th *t, int flags)
{
    int64_t cur = t->pub.begin, end = t->pub.end;
    int r = 0;
    for (size_t i = 0; i < t->n && !r; i++) {
        const struct rec *x = &t->r[i];
        int64_t a, b;
        if (x->type != R_BLOCK)
            continue;
        a = x->ts > cur ? x->ts : cur;
        b = x->end < end ? x->end : end;
        if (b <= a)
            continue;
        r = emit(t, CP_TSCHED_RUNNING, flags, -1, cur, a);
        if (!r)
            r = emit(t, CP_TSCHED_BLOCKED, flags, -1, a, b);
        if (!r)
            t->iv[t->n_iv - 1].reason = x->arg;
        cur = b;
    }
    return r ? r : emit(t, CP_TSCHED_RUNNING, flags, -1, cur, end);
}

/*
 * The switch records in order. The state before the first one is told by
 * it (SCHED_OUT: it was running; SCHED_IN: it was off the CPU), and so is
 * the state after lost records. Two records of one direction in a row
 * mean one between was lost: the state holds until the second.
 */
static int walk_precise(struct th *t)
{
    enum { UNKNOWN = 0 };
    int cur = UNKNOWN, cur_flags = CP_TSCHED_INFERRED, cpu = -1;
    int64_t t0 = t->pub.begin, end = t->pub.end;
    int r = 0;

    for (size_t i = 0; i < t->n && !r; i++) {
        const struct rec *x = &t->r[i];
        if (x->ts > end) {
            if (x->type == R_IN || x->type == R_OUT)
                t->pub.ignored++;
            continue;
        }
        switch (x->type) {
        case R_IN:
            r = emit(t, cur == UNKNOWN ? CP_TSCHED_BLOCKED : cur, cur_flags,
                     cpu, t0, x->ts);
            cur = CP_TSCHED_RUNNING;
            cur_flags = 0;
            cpu = x->cpu;
            t0 = x->ts;
            t->pub.switches++;
            break;
        case R_OUT:
            r = emit(t, cur == UNKNOWN ? CP_TSCHED_RUNNING : cur, cur_flags,
                     cpu, t0, x->ts);
            cur = x->arg ? CP_TSCHED_RUNNABLE : CP_TSCHED_BLOCKED;
            cur_flags = 0;
            cpu = -1;
            t0 = x->ts;
            break;
        case R_LOST:
            if (cur != UNKNOWN)
                r = emit(t, cur, cur_flags, cpu, t0, x->ts);
            if (cur != UNKNOWN)
                t0 = x->ts;
            cur = UNKNOWN;
            cur_flags = CP_TSCHED_INFERRED;
            cpu = -1;
            break;
        case R_CPU:
            /* where an inferred first stretch ran */
            if (cur == UNKNOWN && cpu < 0 && x->ts >= t0)
                cpu = x->cpu;
            break;
        default: break;
        }
    }
    if (r)
        return r;
    /* alive at the end: the last state holds (off the CPU when lost) */
    return emit(t, cur == UNKNOWN ? CP_TSCHED_BLOCKED : cur, cur_flags, cpu,
                t0, end);
}

/*
 * The call a BLOCKED interval's thread was waiting in: the wait that
 * overlaps it and began last before it ended (a thread off the CPU
 * starts no new wait, so that is the one it switched out in, or, for an
 * inferred first stretch, the one it woke from), else the overlapping
 * wait that ends last. Blocks are sorted by start; one pass.
 */
static void reasons(struct th *t)
{
    size_t j = 0;
    const struct rec *last = NULL, *far = NULL;
    for (size_t i = 0; i < t->n_iv; i++) {
        struct cp_tsched_iv *v = &t->iv[i];
        if (v->state != CP_TSCHED_BLOCKED || v->reason)
            continue;
        for (; j < t->n && t->r[j].ts < v->end; j++) {
            if (t->r[j].type != R_BLOCK)
                continue;
            last = &t->r[j];
            if (!far || last->end > far->end)
                far = last;
        }
        if (last && last->end > v->start)
            v->reason = last->arg;
        else if (far && far->end > v->start)
            v->reason = far->arg;
    }
}

static int finish_thread(struct cp_tsched *s, struct th *t, int64_t trace_end)
{
    struct cp_tsched_thread *p = &t->pub;
    bool in_life = false, ran = false;
    int r;

    if (t->n)
        qsort(t->r, t->n, sizeof *t->r, cmp_rec);
    p->started = t->start_ts != NONE;
    p->begin = p->started ? t->start_ts : s->trace_start;
    /* a new thread opens its switch records just before it writes its
     * start: those first records are part of its life */
    for (size_t i = 0; i < t->n; i++) {
        if (t->r[i].type == R_IN || t->r[i].type == R_OUT) {
            p->begin = min64(p->begin, t->r[i].ts);
            break;
        }
    }
    p->exited = t->exit_ts != NONE;
    p->end = p->exited ? t->exit_ts : trace_end;
    if (p->end < p->begin)
        p->end = p->begin;
    p->precise = t->mode_precise || t->has_switches;
    for (size_t i = 0; i < t->n; i++) {
        const struct rec *x = &t->r[i];
        if (x->ts > p->end)
            break;
        if (x->type == R_IN || x->type == R_OUT)
            in_life = true;
        if (x->type == R_CPU)
            ran = true;
    }
    if (t->own_min <= p->end)
        ran = true;
    if (in_life) {
        r = walk_precise(t);
    } else if (!p->precise) {
        r = walk_estimated(t, CP_TSCHED_ESTIMATED);
    } else {
        /* switch records promised, none came: it never left the CPU if it
         * did anything, else it never got one; waits it reported
         * contradict that (records lost), so they are estimated */
        bool waits = false;
        for (size_t i = 0; i < t->n; i++)
            waits |= t->r[i].type == R_BLOCK && t->r[i].ts < p->end &&
                     t->r[i].end > p->begin;
        if (ran && waits)
            r = walk_estimated(t, CP_TSCHED_ESTIMATED);
        else
            r = emit(t, ran ? CP_TSCHED_RUNNING : CP_TSCHED_BLOCKED,
                     CP_TSCHED_INFERRED, -1, p->begin, p->end);
        for (size_t i = 0; i < t->n; i++)
            if ((t->r[i].type == R_IN || t->r[i].type == R_OUT) &&
                t->r[i].ts > p->end)
                p->ignored++;
    }
    if (r)
        return r;
    reasons(t);
    for (size_t i = 0; i < t->n_iv; i++) {
        const struct cp_tsched_iv *v = &t->iv[i];
        int64_t d = v->end - v->start;
        switch (v->state) {
        case CP_TSCHED_RUNNING: p->running += d; break;
        case CP_TSCHED_RUNNABLE: p->runnable += d; break;
        default:
            p->blocked += d;
            p->blocked_by[v->reason < CP_TRK__COUNT ? v->reason : 0] += d;
            break;
        }
    }
    p->iv = t->iv;
    p->n_iv = t->n_iv;
    /* the records are not needed any more */
    free(t->r);
    t->r = NULL;
    t->n = t->cap = 0;
    return 0;
}

static int cmp_th(const void *a, const void *b)
{
    const struct th *x = a, *y = b;
    return (x->pub.tid > y->pub.tid) - (x->pub.tid < y->pub.tid);
}

int cp_tsched_finish(struct cp_tsched *s, int64_t trace_end)
{
    if (s->finished)
        return -EINVAL;
    s->finished = true;
    free(s->slots);
    s->slots = NULL;
    s->n_slots = 0;
    if (s->n_th)
        qsort(s->th, s->n_th, sizeof *s->th, cmp_th);
    for (size_t i = 0; i < s->n_th; i++) {
        int r = finish_thread(s, &s->th[i], trace_end);
        if (r)
            return r;
    }
    return 0;
}

size_t cp_tsched_count(const struct cp_tsched *s)
{
    return s->finished ? s->n_th : 0;
}

const struct cp_tsched_thread *cp_tsched_at(const struct cp_tsched *s,
                                            size_t i)
{
    return s->finished && i < s->n_th ? &s->th[i].pub : NULL;
}

const struct cp_tsched_thread *cp_tsched_find(const struct cp_tsched *s,
                                              int tid)
{
    size_t lo = 0, hi = s->finished ? s->n_th : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->th[mid].pub.tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_th && s->finished && s->th[lo].pub.tid == tid
               ? &s->th[lo].pub
               : NULL;
}

bool cp_tsched_any_precise(const struct cp_tsched *s)
{
    return s->any_precise;
}

static int add_cb(const struct cp_trace_event *e, void *arg)
{
    return cp_tsched_add(arg, e);
}

int cp_tsched_build(struct cp_trace *t, struct cp_tsched **out)
{
    struct cp_tsched *s = cp_tsched_new(cp_trace_start_ns(t));
    int r;

    *out = NULL;
    if (!s)
        return -ENOMEM;
    r = cp_trace_scan(t, add_cb, s);
    if (r == 0)
        r = cp_tsched_finish(s, cp_trace_end_ns(t));
    if (r) {
        cp_tsched_free(s);
        return r < 0 ? r : -EINVAL;
    }
    *out = s;
    return 0;
}

const char *cp_tsched_state_name(int state)
{
    switch (state) {
    case CP_TSCHED_RUNNING: return "running";
    case CP_TSCHED_RUNNABLE: return "runnable";
    case CP_TSCHED_BLOCKED: return "blocked";
    default: return "?";
    }
}
