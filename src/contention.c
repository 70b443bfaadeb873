/* SPDX-License-Identifier: Apache-2.0 */
/*
 * contention.c - the block and mutex profiles (contention.h): one
 * subscriber of the blocking-call hooks (sync.h) records into two
 * lock-free tables (ctab.h); the profile sources turn the tables into
 * profile.proto and runtime/pprof's debug=1 text.
 *
 * The hooks run on the program's threads right after a wait (block) or an
 * unlock that ended waits (mutex), maybe in signal context: they read the
 * rates, draw a random number from a lock-free generator, unwind only when
 * the event is sampled, and add to a table without locking. Everything
 * else (rates, building) runs in ordinary threads under cfg_lock, a leaf
 * taken before sync.c's subscriber lock.
 */
#include "contention.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cp_lock.h"
#include "cprof.h"
#include "ctab.h"
#include "heap.h"
#include "init.h"
#include "pbuild.h"
#include "profiles.h"
#include "sigsafe.h"
#include "symcache.h"
#include "sync.h"
#include "thread_reg.h"

#define CP_EXPORT __attribute__((visibility("default")))

/* Waits the block profile counts: Go's counts sync primitives and channel
 * operations, not sleeps nor I/O. */
#define BLOCK_KINDS                                                          \
    (CP_SYNC_BIT(CP_SYNC_MUTEX) | CP_SYNC_BIT(CP_SYNC_RWLOCK_RD) |          \
     CP_SYNC_BIT(CP_SYNC_RWLOCK_WR) | CP_SYNC_BIT(CP_SYNC_COND) |           \
     CP_SYNC_BIT(CP_SYNC_SEM) | CP_SYNC_BIT(CP_SYNC_JOIN))
/* The mutex profile needs the lock waits reported (sync.c counts waiters
 * in its contention table only on the slow path of a lock it reports),
 * and the unlocks. */
#define MUTEX_KINDS                                                          \
    (CP_SYNC_BIT(CP_SYNC_MUTEX) | CP_SYNC_BIT(CP_SYNC_RWLOCK_RD) |          \
     CP_SYNC_BIT(CP_SYNC_RWLOCK_WR) | CP_SYNC_UNLOCK_BIT)

/* Largest block rate kept (about 12 days): rate * CP_CTAB_ONE must not
 * overflow 64 bits. */
#define MAX_BLOCK_RATE ((int64_t)1 << 50)

static struct cp_ctab block_tab, mutex_tab;
/* read by the hooks */
static _Atomic int64_t block_rate; /* ns; 0 off */
static _Atomic int mutex_rate;     /* one in n; 0 off */
static _Atomic uint64_t rng_state = 0x2545f4914f6cdd1dull;
static _Atomic uint64_t st_block_seen, st_block_rec, st_mutex_seen,
    st_mutex_rec;

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- hooks (maybe signal context) ---- */

/* splitmix64 over an atomic counter: lock-free and signal-safe, and good
 * enough to pick one event in n. */
static uint64_t rnd(void)
{
    uint64_t z = atomic_fetch_add_explicit(&rng_state, 0x9e3779b97f4a7c15ull,
                                           memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void on_wait(struct cp_sync_wait *w, void *arg)
{
    int64_t rate = atomic_load_explicit(&block_rate, memory_order_relaxed);
    const uintptr_t *pcs;
    int64_t ns;
    int n;

    (void)arg;
    if (rate <= 0 || !(BLOCK_KINDS & CP_SYNC_BIT(w->kind)))
        return;
    atomic_fetch_add_explicit(&st_block_seen, 1, memory_order_relaxed);
    ns = cp_clock_ticks_to_ns(w->end - w->start);
    if (ns <= 0)
        ns = 1;
    /* Go's blocksampled: every wait of at least rate, a shorter one with
     * probability ns / rate */
    if (rate > ns && (int64_t)(rnd() % (uint64_t)rate) > ns)
        return;
    n = cp_sync_stack(w, &pcs);
    /* Go's saveblockevent: a sampled short wait stands for rate / ns
     * waits of ns each, i.e. rate ns in all */
    if (ns < rate)
        cp_ctab_add(&block_tab, pcs, n,
                    (uint64_t)rate * CP_CTAB_ONE / (uint64_t)ns,
                    (uint64_t)rate);
    else
        cp_ctab_add(&block_tab, pcs, n, CP_CTAB_ONE, (uint64_t)ns);
    atomic_fetch_add_explicit(&st_block_rec, 1, memory_order_relaxed);
}

static void on_unlock(struct cp_sync_unlock *u, void *arg)
{
    int rate = atomic_load_explicit(&mutex_rate, memory_order_relaxed);
    const uintptr_t *pcs;
    int64_t ns;
    int n;

    (void)arg;
    if (rate <= 0)
        return;
    atomic_fetch_add_explicit(&st_mutex_seen, 1, memory_order_relaxed);
    /* Go's mutexevent: one event in rate, scaled by rate */
    if (rate > 1 && rnd() % (uint64_t)rate != 0)
        return;
    ns = cp_clock_ticks_to_ns(u->delay);
    if (ns < 0)
        ns = 0;
    n = cp_sync_unlock_stack(u, &pcs);
    /* the bucket is the token: the waiter that takes the lock adds its
     * wake-up to it (on_handoff) */
    u->token = (uintptr_t)cp_ctab_add(&mutex_tab, pcs, n,
                                      (uint64_t)rate * CP_CTAB_ONE,
                                      (uint64_t)rate * (uint64_t)ns);
    atomic_fetch_add_explicit(&st_mutex_rec, 1, memory_order_relaxed);
}

/* The waiter a recorded unlock let in: its wake-up is delay that holder
 * caused too (Go's semrelease hands the lock over in the same call; a
 * futex wake-up takes the scheduler's time, milliseconds on a loaded
 * machine). Scaled like the unlock's event. */
static void on_handoff(uintptr_t token, uint64_t ticks, void *arg)
{
    struct cp_ctab_bucket *b = (struct cp_ctab_bucket *)token;
    int rate = atomic_load_explicit(&mutex_rate, memory_order_relaxed);
    int64_t ns = cp_clock_ticks_to_ns(ticks);

    (void)arg;
    if (rate <= 0 || !b || ns <= 0)
        return;
    atomic_fetch_add_explicit(&b->value, (uint64_t)rate * (uint64_t)ns,
                              memory_order_relaxed);
}

/* Not const: kinds follow the rates (cp_sync_subscribe again re-reads
 * them). */
static struct cp_sync_hooks hooks = {
    .kinds = 0,
    .min_ns = 0,
    .on_wait = on_wait,
    .on_unlock = on_unlock,
    .on_handoff = on_handoff,
};

/* ---- rates ---- */

/* With cfg_lock held: subscribe for what the rates need. */
static void resubscribe_locked(void)
{
    unsigned kinds = 0;
    if (atomic_load(&block_rate) > 0)
        kinds |= BLOCK_KINDS;
    if (atomic_load(&mutex_rate) > 0)
        kinds |= MUTEX_KINDS;
    if (!kinds) {
        cp_sync_unsubscribe(&hooks);
        hooks.kinds = 0;
        return;
    }
    hooks.kinds = kinds;
    if (cp_sync_subscribe(&hooks) < 0) {
        /* every subscriber slot taken: say so once, stay off */
        static bool said;
        if (!said)
            fprintf(stderr, "cprof: block/mutex profiles: too many "
                            "blocking-call subscribers; they stay off\n");
        said = true;
        atomic_store(&block_rate, 0);
        atomic_store(&mutex_rate, 0);
    }
}

int cp_contention_set_block_rate(int64_t ns)
{
    int r = 0;
    if (ns < 0)
        ns = 0;
    if (ns > MAX_BLOCK_RATE)
        ns = MAX_BLOCK_RATE;
    cp_mutex_lock(&cfg_lock);
    if (ns > 0)
        r = cp_ctab_init(&block_tab, CP_CTAB_BUCKETS);
    if (r == 0) {
        atomic_store(&block_rate, ns);
        resubscribe_locked();
    }
    cp_mutex_unlock(&cfg_lock);
    return r;
}

int cp_contention_set_mutex_fraction(int n)
{
    int r = 0;
    if (n < 0)
        return 0; /* Go: a negative rate only reads it */
    cp_mutex_lock(&cfg_lock);
    if (n > 0)
        r = cp_ctab_init(&mutex_tab, CP_CTAB_BUCKETS);
    if (r == 0) {
        atomic_store(&mutex_rate, n);
        resubscribe_locked();
    }
    cp_mutex_unlock(&cfg_lock);
    return r;
}

int64_t cp_contention_block_rate(void)
{
    return atomic_load(&block_rate);
}

int cp_contention_mutex_fraction(void)
{
    return atomic_load(&mutex_rate);
}

CP_EXPORT void cprof_block_set_rate(int64_t ns)
{
    cp_contention_set_block_rate(ns);
}

CP_EXPORT void cprof_mutex_set_fraction(int n)
{
    cp_contention_set_mutex_fraction(n);
}

void cp_contention_stats(struct cp_contention_stats *out)
{
    out->block_seen = atomic_load(&st_block_seen);
    out->block_recorded = atomic_load(&st_block_rec);
    out->mutex_seen = atomic_load(&st_mutex_seen);
    out->mutex_recorded = atomic_load(&st_mutex_rec);
    out->dropped = atomic_load(&block_tab.dropped_count) / CP_CTAB_ONE +
                   atomic_load(&mutex_tab.dropped_count) / CP_CTAB_ONE;
}

/* ---- snapshots of a table (ctab.h) ---- */

static int cmp_stack(const struct cp_ctab_rec *x, const struct cp_ctab_rec *y)
{
    int n = x->n < y->n ? x->n : y->n;
    for (int i = 0; i < n; i++) {
        if (x->pcs[i] != y->pcs[i])
            return x->pcs[i] < y->pcs[i] ? -1 : 1;
    }
    return (x->n > y->n) - (x->n < y->n);
}

static int by_stack(const void *a, const void *b)
{
    return cmp_stack(a, b);
}

/* Go sorts records by cycles, largest first; ties go by count, then
 * stack, so output is deterministic. */
static int by_value(const void *a, const void *b)
{
    const struct cp_ctab_rec *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return cmp_stack(x, y);
}

int cp_ctab_snapshot(struct cp_ctab *t, struct cp_ctab_rec **out)
{
    struct cp_ctab_bucket *b = atomic_load(&t->b);
    struct cp_ctab_rec *v;
    size_t n = 0, m = 0, cap;

    *out = NULL;
    if (!b)
        return 0;
    cap = (size_t)atomic_load(&t->used);
    v = malloc(cap * sizeof *v + sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < t->n && n < cap; i++) {
        if (!atomic_load_explicit(&b[i].ready, memory_order_acquire))
            continue;
        v[n].count = atomic_load_explicit(&b[i].count, memory_order_relaxed);
        v[n].value = atomic_load_explicit(&b[i].value, memory_order_relaxed);
        v[n].n = b[i].n;
        v[n].pcs = b[i].pcs;
        n++;
    }
    qsort(v, n, sizeof *v, by_stack);
    for (size_t i = 0; i < n; i++) {
        if (m && cmp_stack(&v[m - 1], &v[i]) == 0) {
            v[m - 1].count += v[i].count;
            v[m - 1].value += v[i].value;
        } else {
            v[m++] = v[i];
        }
    }
    qsort(v, m, sizeof *v, by_value);
    *out = v;
    return (int)m;
}

/* ---- profiles ---- */

enum which { BLOCK, MUTEX };

static struct cp_ctab *table(enum which w)
{
    return w == BLOCK ? &block_tab : &mutex_tab;
}

/*
 * The model of one profile, symbolized. Samples come in Go's order
 * (delay, largest first); a last sample on the marker frame
 * "cprof_contention_table_full" holds what found no bucket.
 */
static int build(enum which w, struct cp_profile *p)
{
    struct cp_ctab *t = table(w);
    struct cp_ctab_rec *recs = NULL;
    struct cp_pbuild b;
    uint64_t dcount, dvalue;
    char line[256];
    int n, r;

    r = cp_profile_init(p);
    if (r < 0)
        return r;
    if (cp_profile_add_sample_type(p, "contentions", "count") < 0 ||
        cp_profile_add_sample_type(p, "delay", "nanoseconds") < 0) {
        cp_profile_free(p);
        return -ENOMEM;
    }
    p->period_type.type = cp_profile_str(p, "contentions");
    p->period_type.unit = cp_profile_str(p, "count");
    p->period = 1;
    p->time_nanos = cp_realtime_ns();
    r = cp_pbuild_init(&b, p);
    n = r < 0 ? r : cp_ctab_snapshot(t, &recs);
    if (n < 0)
        r = n;
    for (int i = 0; r == 0 && i < n; i++) {
        struct cp_sample *sm = cp_profile_add_sample(p, (size_t)recs[i].n, 0);
        if (!sm) {
            r = -ENOMEM;
            break;
        }
        for (int k = 0; k < recs[i].n; k++) {
            sm->location_ids[k] = cp_pbuild_location(&b, recs[i].pcs[k]);
            if (!sm->location_ids[k])
                r = -ENOMEM;
        }
        /* Go: int64(bp.count), a truncation */
        sm->values[0] = (int64_t)(recs[i].count / CP_CTAB_ONE);
        sm->values[1] = (int64_t)recs[i].value;
    }
    dcount = atomic_load(&t->dropped_count);
    dvalue = atomic_load(&t->dropped_value);
    if (r == 0 && (dcount || dvalue)) {
        struct cp_sample *sm = cp_profile_add_sample(p, 1, 0);
        uint64_t loc = cp_pbuild_marker(&b, "cprof_contention_table_full");
        if (!sm || !loc) {
            r = -ENOMEM;
        } else {
            sm->location_ids[0] = loc;
            sm->values[0] = (int64_t)(dcount / CP_CTAB_ONE);
            sm->values[1] = (int64_t)dvalue;
        }
    }
    if (r == 0) {
        if (w == BLOCK)
            snprintf(line, sizeof line,
                     "cprof %s block profile: waits in pthread mutexes, "
                     "rwlocks, condition variables, semaphores and joins; "
                     "rate %lld ns (runtime.SetBlockProfileRate)",
                     CPROF_VERSION, (long long)atomic_load(&block_rate));
        else
            snprintf(line, sizeof line,
                     "cprof %s mutex profile: unlocks of pthread mutexes and "
                     "rwlocks that ended waits, with the waiting they "
                     "caused; fraction 1/%d (runtime.SetMutexProfileFraction)",
                     CPROF_VERSION, atomic_load(&mutex_rate));
        r = cp_profile_add_comment(p, line);
    }
    if (r == 0 && (dcount || dvalue)) {
        snprintf(line, sizeof line,
                 "%llu events found no bucket (more than %d distinct "
                 "stacks): counted under cprof_contention_table_full",
                 (unsigned long long)(dcount / CP_CTAB_ONE),
                 CP_CTAB_BUCKETS);
        r = cp_profile_add_comment(p, line);
    }
    free(recs);
    cp_pbuild_free(&b);
    if (r == 0)
        r = cp_symcache_profile(p);
    if (r < 0)
        cp_profile_free(p);
    return r;
}

static int block_build(struct cp_profile *out)
{
    return build(BLOCK, out);
}

static int mutex_build(struct cp_profile *out)
{
    return build(MUTEX, out);
}

static int64_t block_count(void)
{
    return (int64_t)atomic_load(&block_tab.used);
}

static int64_t mutex_count(void)
{
    return (int64_t)atomic_load(&mutex_tab.used);
}

/* ---- legacy text (runtime/pprof writeProfileInternal, debug=1) ---- */

/*
 * Values are printed as pprof's legacy parser expects them: delay in
 * "cycles" of cycles/second (nanoseconds here), and for the mutex profile
 * divided by the sampling period, which the parser multiplies back (Go
 * 1.19's runtime/pprof prints raw values beside the period the same way).
 */
static int write_text(enum which w, int debug, struct cp_dynbuf *out)
{
    struct cp_profile p;
    int64_t period = w == MUTEX ? atomic_load(&mutex_rate) : 0;
    struct cp_dynbuf t;
    int r;

    (void)debug;
    r = build(w, &p);
    if (r < 0)
        return r;
    cp_dynbuf_init(&t, out->limit);
    r = cp_dynbuf_printf(&t, "--- %s:\ncycles/second=1000000000\n",
                         w == MUTEX ? "mutex" : "contention");
    if (r == 0 && w == MUTEX)
        r = cp_dynbuf_printf(&t, "sampling period=%lld\n", (long long)period);
    for (size_t i = 0; r == 0 && i < p.n_samples; i++) {
        const struct cp_sample *s = &p.samples[i];
        int64_t delay = s->values[1], count = s->values[0];
        if (period > 1) {
            delay = (delay + period / 2) / period;
            count = (count + period / 2) / period;
        }
        r = cp_dynbuf_printf(&t, "%lld %lld @", (long long)delay,
                             (long long)count);
        for (size_t k = 0; r == 0 && k < s->n_locations; k++) {
            const struct cp_location *loc =
                cp_profile_location(&p, s->location_ids[k]);
            /* return addresses, as Go prints them: the parser takes one
             * off each */
            if (loc && loc->address)
                r = cp_dynbuf_printf(&t, " %#llx",
                                     (unsigned long long)loc->address + 1);
        }
        if (r == 0)
            r = cp_dynbuf_addstr(&t, "\n");
        for (size_t k = 0; r == 0 && k < s->n_locations; k++)
            r = cp_pbuild_print_loc(&p, s->location_ids[k], &t);
    }
    cp_profile_free(&p);
    if (r == 0)
        r = cp_heap_tabwrite(t.data ? t.data : "", t.len, out);
    cp_dynbuf_free(&t);
    /* the parser stops at "---" and reads /proc/self/maps after this
     * sentinel, so it can place the addresses of a PIE and of shared
     * libraries */
    if (r == 0)
        r = cp_dynbuf_addstr(out, "--- Memory map: ---\n");
    if (r == 0)
        r = cp_pbuild_append_file(out, "/proc/self/maps");
    return r;
}

static int block_text(int debug, struct cp_dynbuf *out)
{
    return write_text(BLOCK, debug, out);
}

static int mutex_text(int debug, struct cp_dynbuf *out)
{
    return write_text(MUTEX, debug, out);
}

static const struct cp_profile_source block_source = {
    .name = "block",
    .help = "Stack traces that led to blocking on synchronization "
            "primitives",
    .count = block_count,
    .build = block_build,
    .write_text = block_text,
};

static const struct cp_profile_source mutex_source = {
    .name = "mutex",
    .help = "Stack traces of holders of contended mutexes",
    .count = mutex_count,
    .build = mutex_build,
    .write_text = mutex_text,
};

/* ---- fork and environment ---- */

static void atfork_prepare(void)
{
    cp_mutex_lock(&cfg_lock);
}

static void atfork_parent(void)
{
    cp_mutex_unlock(&cfg_lock);
}

static void atfork_child(void)
{
    pthread_mutex_init(&cfg_lock, NULL);
    cp_sync_atfork_child(); /* before anything here subscribes again */
}

void cp_contention_init_from_env(void)
{
    int64_t v;

    cp_profiles_register(&block_source);
    cp_profiles_register(&mutex_source);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    if (cp_env_int("CPROF_BLOCK_RATE", 0, INT64_MAX, &v,
                   "the block profile") == 1 &&
        cp_contention_set_block_rate(v) < 0)
        fprintf(stderr, "cprof: CPROF_BLOCK_RATE: no memory for the block "
                        "profile; it stays off\n");
    if (cp_env_int("CPROF_MUTEX_FRACTION", 0, INT32_MAX, &v,
                   "the mutex profile") == 1 &&
        cp_contention_set_mutex_fraction((int)v) < 0)
        fprintf(stderr, "cprof: CPROF_MUTEX_FRACTION: no memory for the "
                        "mutex profile; it stays off\n");
}
