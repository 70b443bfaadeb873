/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu.c - CPU profile sessions, the drain thread, and the conversion of
 * aggregated samples into a pprof profile (cpu.h). After Go's
 * runtime/pprof (proto.go, map.go): stacks are interned once, each session
 * counts (stack, thread, cpu, labels) records, and symbolization happens
 * when the profile is built, outside every lock.
 *
 * Lock order: cpu_lock, then cp_reg_lock (thread names), then
 * cp_modules_lock. Never taken in signal context.
 */
#include "cpu.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cp_hash.h"
#include "cp_limits.h"
#include "cp_lock.h"
#include "cprof.h"
#include "labels.h"
#include "modules.h"
#include "profile/profile.h"
#include "sampler.h"
#include "sigsafe.h"
#include "stats.h"
#include "symbol/symbolize.h"
#include "thread_reg.h"

/* ---- small open-addressing hash index (values are uint32 ids + 1) ---- */

struct index {
    uint32_t *slots; /* 0 = empty, else id + 1 */
    uint64_t *hashes;
    size_t cap;      /* power of two */
    size_t n;
};

static void index_free(struct index *ix)
{
    free(ix->slots);
    free(ix->hashes);
    memset(ix, 0, sizeof *ix);
}

static int index_grow(struct index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    uint64_t *hashes = calloc(cap, sizeof *hashes);

    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->slots[i])
            continue;
        size_t j = ix->hashes[i] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = ix->slots[i];
        hashes[j] = ix->hashes[i];
    }
    free(ix->slots);
    free(ix->hashes);
    ix->slots = slots;
    ix->hashes = hashes;
    ix->cap = cap;
    return 0;
}

/*
 * Find the id with hash h for which eq(id) holds; if none, insert new_id
 * (when new_id != UINT32_MAX). Returns the id, or UINT32_MAX (not found /
 * out of memory).
 */
static uint32_t index_find(struct index *ix, uint64_t h,
                           bool (*eq)(uint32_t id, const void *key),
                           const void *key, uint32_t new_id)
{
    size_t j;

    if (ix->n * 10 >= ix->cap * 7 && new_id != UINT32_MAX &&
        index_grow(ix) < 0)
        return UINT32_MAX;
    if (!ix->cap)
        return UINT32_MAX;
    j = h & (ix->cap - 1);
    while (ix->slots[j]) {
        if (ix->hashes[j] == h && eq(ix->slots[j] - 1, key))
            return ix->slots[j] - 1;
        j = (j + 1) & (ix->cap - 1);
    }
    if (new_id == UINT32_MAX)
        return UINT32_MAX;
    ix->slots[j] = new_id + 1;
    ix->hashes[j] = h;
    ix->n++;
    return new_id;
}

/* ---- interned stacks, shared by all sessions ---- */

struct stack {
    uint32_t off; /* into stack_words */
    uint16_t n;
    uint16_t truncated;
};

/* guarded by cpu_lock */
static uintptr_t *stack_words;
static size_t n_stack_words, cap_stack_words;
static struct stack *stacks;
static uint32_t n_stacks, cap_stacks;
static struct index stack_index;

struct stack_key {
    const uintptr_t *pcs;
    int n;
    int truncated;
};

static bool stack_eq(uint32_t id, const void *k)
{
    const struct stack_key *key = k;
    const struct stack *s = &stacks[id];
    return s->n == key->n && s->truncated == key->truncated &&
           !memcmp(stack_words + s->off, key->pcs,
                   (size_t)key->n * sizeof(uintptr_t));
}

static uint32_t stack_intern(const uintptr_t *pcs, int n, int truncated)
{
    struct stack_key key = {pcs, n, truncated};
    uint64_t h = (uint64_t)n * 31 + (uint64_t)truncated;
    uint32_t id;

    for (int i = 0; i < n; i++)
        h = cp_fmix64(h ^ pcs[i]);
    id = index_find(&stack_index, h, stack_eq, &key, UINT32_MAX);
    if (id != UINT32_MAX)
        return id;
    if (n_stacks >= CP_MAX_CPU_RECORDS)
        return UINT32_MAX;
    if (n_stacks == cap_stacks) {
        uint32_t cap = cap_stacks ? cap_stacks * 2 : 1024;
        struct stack *v = realloc(stacks, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        stacks = v;
        cap_stacks = cap;
    }
    if (n_stack_words + (size_t)n > cap_stack_words) {
        size_t cap = cap_stack_words ? cap_stack_words * 2 : 16384;
        while (cap < n_stack_words + (size_t)n)
            cap *= 2;
        uintptr_t *v = realloc(stack_words, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        stack_words = v;
        cap_stack_words = cap;
    }
    if (n_stack_words + (size_t)n > UINT32_MAX)
        return UINT32_MAX;
    memcpy(stack_words + n_stack_words, pcs, (size_t)n * sizeof *pcs);
    stacks[n_stacks] = (struct stack){(uint32_t)n_stack_words, (uint16_t)n,
                                      (uint16_t)truncated};
    n_stack_words += (size_t)n;
    id = index_find(&stack_index, h, stack_eq, &key, n_stacks);
    if (id == UINT32_MAX)
        return UINT32_MAX;
    n_stacks++;
    return id;
}

/* Latest sampled stack per thread start routine, for exit credits;
 * guarded by cpu_lock. */
static struct routine_stack {
    uintptr_t routine;
    uint32_t stack;
} routine_stacks[256];

static struct routine_stack *routine_slot(uintptr_t routine)
{
    return &routine_stacks[cp_fmix64(routine) % 256];
}

static void stacks_reset(void)
{
    memset(routine_stacks, 0, sizeof routine_stacks);
    free(stack_words);
    free(stacks);
    index_free(&stack_index);
    stack_words = NULL;
    stacks = NULL;
    n_stack_words = cap_stack_words = 0;
    n_stacks = cap_stacks = 0;
}

/* Thread names, interned; guarded by cpu_lock. */
static char (*names)[CP_THREAD_NAME_LEN];
static uint32_t n_names, cap_names;

static uint32_t name_intern(const char *name)
{
    for (uint32_t i = 0; i < n_names; i++) {
        if (!strcmp(names[i], name))
            return i;
    }
    if (n_names == cap_names) {
        uint32_t cap = cap_names ? cap_names * 2 : 64;
        char(*v)[CP_THREAD_NAME_LEN] = realloc(names, cap * sizeof *v);
        if (!v)
            return 0;
        names = v;
        cap_names = cap;
        if (n_names == 0) {
            names[0][0] = '\0';
            n_names = 1;
            if (!*name)
                return 0;
        }
    }
    snprintf(names[n_names], CP_THREAD_NAME_LEN, "%s", name);
    return n_names++;
}

/* ---- sessions ---- */

struct rec {
    uint32_t stack;
    int32_t tid;
    int32_t cpu;
    uint32_t labels;
    uint32_t name;
    int64_t count;  /* signals */
    int64_t weight; /* periods they stand for */
};

struct cp_cpu_session {
    bool open;
    int64_t start_ns, start_real_ns;
    uint64_t ring_dropped_at_start;
    int64_t dropped; /* table full */
    int64_t truncated;
    int64_t exit_credit;
    struct rec *recs;
    uint32_t n_recs, cap_recs;
    struct index rec_index;
};

static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by cpu_lock */
static struct cp_cpu_session sessions[CP_MAX_CPU_SESSIONS];
static int n_open;
static int default_hz = CP_DEFAULT_HZ;
static pthread_t drain_thread;
static bool drain_running;
static _Atomic int drain_stop;
static _Atomic uint32_t drain_futex;

static bool rec_eq(uint32_t id, const void *k);
static struct cp_cpu_session *rec_eq_session;

static bool rec_eq(uint32_t id, const void *k)
{
    const struct rec *a = &rec_eq_session->recs[id], *b = k;
    return a->stack == b->stack && a->tid == b->tid && a->cpu == b->cpu &&
           a->labels == b->labels && a->name == b->name;
}

static void session_add(struct cp_cpu_session *s, const struct rec *r)
{
    uint64_t h = cp_fmix64(((uint64_t)r->stack << 32) ^ (uint32_t)r->tid);
    h = cp_fmix64(h ^ ((uint64_t)(uint32_t)r->cpu << 32) ^ r->labels ^
            ((uint64_t)r->name << 48));
    rec_eq_session = s;
    uint32_t id = index_find(&s->rec_index, h, rec_eq, r, UINT32_MAX);
    if (id != UINT32_MAX) {
        s->recs[id].count += r->count;
        s->recs[id].weight += r->weight;
        return;
    }
    if (s->n_recs >= CP_MAX_CPU_RECORDS)
        goto drop;
    if (s->n_recs == s->cap_recs) {
        uint32_t cap = s->cap_recs ? s->cap_recs * 2 : 1024;
        struct rec *v = realloc(s->recs, cap * sizeof *v);
        if (!v)
            goto drop;
        s->recs = v;
        s->cap_recs = cap;
    }
    s->recs[s->n_recs] = *r;
    if (index_find(&s->rec_index, h, rec_eq, r, s->n_recs) == UINT32_MAX)
        goto drop;
    s->n_recs++;
    return;
drop:
    s->dropped += r->weight;
    cp_stat_add(CP_STAT_DROPPED_TABLE, (uint64_t)r->weight);
}

/* Per-drain cache of tid -> name id (names can change, so it is rebuilt
 * for every batch). */
struct name_cache {
    int tid[64];
    uint32_t name[64];
    int n;
};

static uint32_t thread_name_id(struct name_cache *nc, int tid)
{
    char name[CP_THREAD_NAME_LEN];
    int slot = (int)((unsigned)tid % 64);
    if (nc->tid[slot] == tid)
        return nc->name[slot];
    if (cp_reg_thread_name_locked(tid, name) < 0)
        name[0] = '\0';
    nc->tid[slot] = tid;
    nc->name[slot] = name_intern(name);
    return nc->name[slot];
}

void (*cp_cpu_sample_hook)(const struct cp_sample_rec *s);

static void drain_one(const struct cp_sample_rec *s, void *arg)
{
    struct name_cache *nc = arg;
    struct rec r;

    if (cp_cpu_sample_hook)
        cp_cpu_sample_hook(s);
    r.stack = UINT32_MAX;
    if (s->exit_credit) {
        struct routine_stack *rs = routine_slot(s->routine);
        if (rs->routine == s->routine && s->routine)
            r.stack = rs->stack;
    }
    if (r.stack == UINT32_MAX)
        r.stack = stack_intern(s->pcs, s->n, s->truncated);
    if (!s->exit_credit && s->routine && r.stack != UINT32_MAX)
        *routine_slot(s->routine) = (struct routine_stack){s->routine,
                                                           r.stack};
    r.tid = s->tid;
    r.cpu = s->cpu;
    r.labels = s->labels;
    r.name = thread_name_id(nc, s->tid);
    r.count = 1;
    r.weight = s->weight;
    for (int i = 0; i < CP_MAX_CPU_SESSIONS; i++) {
        struct cp_cpu_session *ss = &sessions[i];
        if (!ss->open || s->time_ns < ss->start_ns)
            continue;
        if (r.stack == UINT32_MAX) {
            ss->dropped += r.weight;
            continue;
        }
        if (s->truncated)
            ss->truncated += r.weight;
        if (s->exit_credit)
            ss->exit_credit += r.weight;
        session_add(ss, &r);
    }
}

/* Move everything in the ring into the open sessions. cpu_lock held. */
static void drain_locked(void)
{
    struct name_cache nc;
    memset(nc.tid, 0xff, sizeof nc.tid);
    nc.n = 0;
    cp_mutex_lock(&cp_reg_lock);
    cp_sampbuf_drain(&cp_cpu_ring, drain_one, &nc);
    cp_mutex_unlock(&cp_reg_lock);
}

static void drain_wake(void)
{
    /* async-signal-safe: an atomic store and a futex syscall */
    atomic_store(&drain_futex, 1);
    syscall(SYS_futex, &drain_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *drain_main(void *arg)
{
    struct timespec ts = {0, CP_DRAIN_INTERVAL_MS * 1000000L};
    int64_t last_refresh = 0;

    while (!atomic_load(&drain_stop)) {
        syscall(SYS_futex, &drain_futex, FUTEX_WAIT_PRIVATE, 0, &ts, NULL,
                0);
        atomic_store(&drain_futex, 0);
        cp_mutex_lock(&cpu_lock);
        drain_locked();
        cp_mutex_unlock(&cpu_lock);
        if (atomic_load(&cp_modules_stale) &&
            cp_now_ns() - last_refresh > 100000000) {
            atomic_store(&cp_modules_stale, 0);
            last_refresh = cp_now_ns();
            cp_modules_refresh(false);
        }
    }
    return NULL;
}

static void session_clear(struct cp_cpu_session *s)
{
    free(s->recs);
    index_free(&s->rec_index);
    memset(s, 0, sizeof *s);
}

int cp_cpu_set_default_hz(int hz)
{
    if (hz < CP_MIN_HZ || hz > CP_MAX_HZ)
        return -EINVAL;
    cp_mutex_lock(&cpu_lock);
    default_hz = hz;
    cp_mutex_unlock(&cpu_lock);
    return 0;
}

int cp_cpu_default_hz(void)
{
    return default_hz;
}

int cp_cpu_session_begin(int hz, struct cp_cpu_session **out)
{
    struct cp_cpu_session *s = NULL;
    int r = 0;

    if (hz < 0 || hz > CP_MAX_HZ)
        return -EINVAL;
    cp_thread_self();
    cp_mutex_lock(&cpu_lock);
    for (int i = 0; i < CP_MAX_CPU_SESSIONS; i++) {
        if (!sessions[i].open) {
            s = &sessions[i];
            break;
        }
    }
    if (!s) {
        r = -ENOSPC;
        goto out;
    }
    if (n_open == 0) {
        r = cp_modules_refresh(true);
        if (r < 0)
            goto out;
        r = cp_sampler_start(hz ? hz : default_hz);
        if (r < 0)
            goto out;
        if (!drain_running) {
            atomic_store(&drain_stop, 0);
            cp_sampler_wake = drain_wake;
            if (cp_internal_thread_create(&drain_thread, drain_main, NULL)) {
                cp_sampler_stop();
                r = -EAGAIN;
                goto out;
            }
            drain_running = true;
        }
    }
    memset(s, 0, sizeof *s);
    s->open = true;
    s->start_ns = cp_now_ns();
    s->start_real_ns = cp_realtime_ns();
    s->ring_dropped_at_start = atomic_load(&cp_cpu_ring.dropped);
    n_open++;
    *out = s;
out:
    cp_mutex_unlock(&cpu_lock);
    return r;
}

/* Close s with cpu_lock held; returns true if the drain thread must be
 * joined (after unlocking). */
static bool close_locked(struct cp_cpu_session *s)
{
    if (n_open == 1)
        cp_sampler_stop();
    drain_locked();
    s->open = false;
    n_open--;
    if (n_open == 0 && drain_running) {
        atomic_store(&drain_stop, 1);
        drain_wake();
        drain_running = false;
        return true;
    }
    return false;
}

/* ---- building the profile ---- */

struct builder {
    struct cp_profile *p;
    struct cp_module_info *mods;
    int n_mods;
    struct index loc_index;
    uint64_t trunc_loc, lost_loc;
};

static struct builder *eq_builder;

static bool loc_eq(uint32_t id, const void *k)
{
    return eq_builder->p->locations[id].address == *(const uintptr_t *)k &&
           !eq_builder->p->locations[id].n_lines;
}

/* Mapping for pc: the most recently loaded module covering it. */
static uint64_t mapping_for(struct builder *b, uintptr_t pc)
{
    for (int i = b->n_mods - 1; i >= 0; i--) {
        if (pc >= b->mods[i].start && pc < b->mods[i].limit)
            return (uint64_t)i + 1;
    }
    return 0;
}

static uint64_t location_for(struct builder *b, uintptr_t pc)
{
    uint64_t h = cp_fmix64(pc);
    struct cp_location *loc;
    eq_builder = b;
    uint32_t id = index_find(&b->loc_index, h, loc_eq, &pc, UINT32_MAX);
    if (id != UINT32_MAX)
        return (uint64_t)id + 1;
    loc = cp_profile_add_location(b->p, 0);
    if (!loc)
        return 0;
    loc->address = pc;
    loc->mapping_id = mapping_for(b, pc);
    if (index_find(&b->loc_index, h, loc_eq, &pc,
                   (uint32_t)(loc->id - 1)) == UINT32_MAX)
        return 0;
    return loc->id;
}

/* A location standing for a marker function (no address). */
static uint64_t marker_location(struct cp_profile *p, const char *name)
{
    struct cp_function *f = cp_profile_add_function(p);
    struct cp_location *loc;
    if (!f)
        return 0;
    f->name = cp_profile_str(p, name);
    f->system_name = f->name;
    loc = cp_profile_add_location(p, 1);
    if (!loc)
        return 0;
    loc->lines[0].function_id = f->id;
    return loc->id;
}

static int add_label_str(struct cp_profile *p, struct cp_label *l,
                         const char *key, const char *val)
{
    l->key = cp_profile_str(p, key);
    l->str = cp_profile_str(p, val);
    return l->key < 0 || l->str < 0 ? -ENOMEM : 0;
}

/* Fill p from s (cpu_lock held: reads the shared stacks). */
static int build_locked(struct cp_cpu_session *s, struct cp_profile *p,
                        int64_t end_ns)
{
    struct builder b = {.p = p};
    int64_t period = cp_sampler_period_ns();
    uint64_t lost;
    int r;

    r = cp_profile_init(p);
    if (r < 0)
        return r;
    if (cp_profile_add_sample_type(p, "samples", "count") < 0 ||
        cp_profile_add_sample_type(p, "cpu", "nanoseconds") < 0)
        return -ENOMEM;
    p->period_type.type = cp_profile_str(p, "cpu");
    p->period_type.unit = cp_profile_str(p, "nanoseconds");
    p->period = period;
    p->time_nanos = s->start_real_ns;
    p->duration_nanos = end_ns - s->start_ns;
    p->default_sample_type = cp_profile_str(p, "cpu");

    b.n_mods = cp_modules_history(&b.mods);
    if (b.n_mods < 0)
        return b.n_mods;
    for (int i = 0; i < b.n_mods; i++) {
        struct cp_mapping *m = cp_profile_add_mapping(p);
        if (!m) {
            r = -ENOMEM;
            goto out;
        }
        m->memory_start = b.mods[i].start;
        m->memory_limit = b.mods[i].limit;
        m->file_offset = b.mods[i].file_offset;
        m->filename = cp_profile_str(p, b.mods[i].path);
        m->build_id = cp_profile_str(p, b.mods[i].build_id);
    }

    for (uint32_t i = 0; i < s->n_recs; i++) {
        const struct rec *rc = &s->recs[i];
        const struct stack *st = &stacks[rc->stack];
        const struct cp_label_pair *pairs = NULL;
        int n_user = cp_labels_get(rc->labels, &pairs);
        size_t nloc = st->n + (st->truncated ? 1 : 0);
        struct cp_sample *sm = cp_profile_add_sample(p, nloc, 3 + n_user);
        if (!sm) {
            r = -ENOMEM;
            goto out;
        }
        for (int k = 0; k < st->n; k++) {
            sm->location_ids[k] = location_for(&b, stack_words[st->off + k]);
            if (!sm->location_ids[k]) {
                r = -ENOMEM;
                goto out;
            }
        }
        if (st->truncated) {
            if (!b.trunc_loc)
                b.trunc_loc = marker_location(p, "cprof_truncated_stack");
            sm->location_ids[st->n] = b.trunc_loc;
        }
        sm->values[0] = rc->weight;
        sm->values[1] = rc->weight * period;
        sm->labels[0].key = cp_profile_str(p, "thread");
        sm->labels[0].num = rc->tid;
        add_label_str(p, &sm->labels[1], "thread_name",
                      rc->name < n_names ? names[rc->name] : "");
        /* A string: pprof drops a numeric label whose value and unit
         * are both 0, and CPU 0 would lose its label. */
        char cpu[16];
        snprintf(cpu, sizeof cpu, "%d", rc->cpu);
        add_label_str(p, &sm->labels[2], "cpu", cpu);
        for (int k = 0; k < n_user; k++)
            add_label_str(p, &sm->labels[3 + k], pairs[k].key,
                          pairs[k].value);
    }

    lost = atomic_load(&cp_cpu_ring.dropped) - s->ring_dropped_at_start +
           (uint64_t)s->dropped;
    if (lost) {
        struct cp_sample *sm = cp_profile_add_sample(p, 1, 0);
        b.lost_loc = marker_location(p, "cprof_lost_samples");
        if (!sm || !b.lost_loc) {
            r = -ENOMEM;
            goto out;
        }
        sm->location_ids[0] = b.lost_loc;
        sm->values[0] = (int64_t)lost;
        sm->values[1] = (int64_t)lost * period;
    }

    char line[320];
    snprintf(line, sizeof line, "cprof %s CPU profile", CPROF_VERSION);
    cp_profile_add_comment(p, line);
    cp_profile_add_comment(p, cp_sampler_describe());
    snprintf(line, sizeof line,
             "dropped samples: %llu (ring full or table full); stacks "
             "truncated at %d frames: %lld",
             (unsigned long long)lost, CP_MAX_STACK_DEPTH,
             (long long)s->truncated);
    cp_profile_add_comment(p, line);
    if (s->exit_credit) {
        snprintf(line, sizeof line,
                 "%lld periods credited at thread exit (expiries passed "
                 "after a thread's last kernel tick), with the stack of a "
                 "thread that ran the same start routine",
                 (long long)s->exit_credit);
        cp_profile_add_comment(p, line);
    }
out:
    index_free(&b.loc_index);
    cp_modules_history_free(b.mods, b.n_mods);
    return r;
}

int cp_cpu_session_end(struct cp_cpu_session *s, struct cp_profile *out)
{
    struct cp_symbolizer *sym;
    bool join;
    int r;
    int64_t end = cp_now_ns();

    cp_mutex_lock(&cpu_lock);
    join = close_locked(s);
    r = build_locked(s, out, end);
    session_clear(s);
    if (n_open == 0) {
        stacks_reset();
        n_names = 0;
    }
    cp_mutex_unlock(&cpu_lock);
    if (join)
        cp_join_internal(drain_thread);
    if (r < 0) {
        cp_profile_free(out);
        return r;
    }
    sym = cp_sym_new();
    if (sym) {
        r = cp_sym_profile(sym, out, NULL);
        cp_sym_destroy(sym);
        if (r < 0) {
            cp_profile_free(out);
            return r;
        }
    }
    return 0;
}

void cp_cpu_session_abort(struct cp_cpu_session *s)
{
    bool join;
    cp_mutex_lock(&cpu_lock);
    join = close_locked(s);
    session_clear(s);
    if (n_open == 0) {
        stacks_reset();
        n_names = 0;
    }
    cp_mutex_unlock(&cpu_lock);
    if (join)
        cp_join_internal(drain_thread);
}

void cp_cpu_atfork_prepare(void)
{
    cp_mutex_lock(&cpu_lock);
}

void cp_cpu_atfork_parent(void)
{
    cp_mutex_unlock(&cpu_lock);
}

void cp_cpu_atfork_child(void)
{
    pthread_mutex_init(&cpu_lock, NULL);
    for (int i = 0; i < CP_MAX_CPU_SESSIONS; i++) {
        if (sessions[i].open)
            session_clear(&sessions[i]);
    }
    n_open = 0;
    drain_running = false; /* the thread does not exist in the child */
    stacks_reset();
    n_names = 0;
}
