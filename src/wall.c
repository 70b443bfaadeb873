/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall.c - the wall-clock profiler (wall.h): sessions, the sampler thread,
 * and building the profile. The program-side half (slots, publishing
 * hooks, the answer handler, triggers) is wallsig.c.
 *
 * Each tick the sampler walks the registry's threads and gives each one
 * sample, taken the cheapest way that never signals a waiting thread:
 *
 *   1. The answer to last tick's trigger, if the thread was armed: a
 *      running sample with the stack its handler unwound in user mode.
 *   2. Inside an interposed blocking call (its slot's seqlock is odd):
 *      blocked, with the stack unwound from a copy of the caller's frames
 *      (from the frame the hook published), cached while the call lasts.
 *   3. Blocked outside our interposers the last time and its CPU clock has
 *      not moved since: it has not run, so nothing changed: the same
 *      sample again, without a /proc read.
 *   4. Otherwise, if it was last seen blocked outside our interposers,
 *      /proc/self/task/TID/syscall says whether it still is (stack from a
 *      copy, cached by the file's text), and a thread not blocked is armed:
 *      its trigger fires the next time it runs user code, and the answer
 *      is next tick's step 1. An armed thread that has not answered by the
 *      next tick is looked up in /proc: blocked, its pending weight goes to
 *      that sample; running (waiting for a CPU), it stays pending.
 *
 * Locks: wall_lock (sessions, the stack and name tables) is taken before
 * cp_reg_lock is never held with it: the sampler lists the threads under
 * cp_reg_lock alone, then adds a tick's samples under wall_lock alone. The
 * sampler's per-thread state is its own (no lock). Never in signal context.
 */
#include "wall.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "codec.h"
#include "cp_hash.h"
#include "cp_lock.h"
#include "cprof.h"
#include "http.h"
#include "init.h"
#include "labels.h"
#include "modules.h"
#include "pbuild.h"
#include "profiles.h"
#include "sigsafe.h"
#include "snapshot.h"
#include "symcache.h"
#include "sync.h"
#include "thread_reg.h"
#include "unwinder.h"
#include "wallsig.h"

/* ---- the sampler's view of one thread (sampler thread only) ---- */

enum wkind { W_NEW, W_RUN, W_CALL, W_PROC };

struct wthread {
    int tid;
    int64_t start_ns; /* registry's: a reused tid is a new thread */
    char name[CP_THREAD_NAME_LEN];
    uintptr_t stack_lo, stack_hi;
    int slot; /* wallsig slot, -1 if none */
    bool seen;

    enum wkind kind;
    /* the cached stack of a W_CALL / W_PROC sample */
    uint32_t call_seq;
    const char *call;
    int cpu;
    uint32_t labels;
    int n, truncated;
    uintptr_t pcs[CP_MAX_STACK_DEPTH];
    char proc_text[192];
    int64_t cpu_ns; /* thread CPU clock when last classified W_PROC */

    /* trigger */
    int perf_fd;
    bool has_timer, trig_failed, armed;
    uint32_t arm_seq; /* the slot's seq when armed */
    int64_t arm_ns;   /* CLOCK_MONOTONIC when armed */
    timer_t timer;
    int64_t pend_count, pend_ns;
    int64_t sig_check_ns;
    bool sig_blocked;
    /* the last labels seen (for /proc samples, which have none), and the
     * last running stack (for a pending weight whose answer never came) */
    uint32_t run_labels;
    int run_n, run_truncated, run_cpu;
    uintptr_t run_pcs[CP_MAX_STACK_DEPTH];
};

/* One sample of a tick, before it is added to the sessions; its stack is
 * copied into the tick's own words (the thread's buffers change). */
struct tsample {
    size_t off;
    int n, truncated;
    int tid, cpu;
    const char *name;
    const char *state, *call;
    uint32_t labels;
    int64_t count, ns;
};

/* ---- interned stacks and names (wall_lock) ---- */

struct stack {
    size_t off;
    int n, truncated;
    uint64_t hash;
};

struct rec {
    uint32_t stack, name;
    int tid, cpu;
    uint32_t labels;
    const char *state, *call; /* static strings */
    int64_t count, ns;
};

struct cp_wall_session {
    bool open;
    struct rec *recs;
    uint32_t n_recs, cap_recs;
    uint32_t *index; /* rec id + 1, open addressing */
    uint32_t index_cap;
    int64_t start_ns, start_real_ns;
    uint64_t dropped;
    uint64_t ticks, missed; /* ticks taken, and missed (sampler late) */
};

static pthread_mutex_t wall_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by wall_lock */
static struct cp_wall_session sessions[CP_MAX_WALL_SESSIONS];
static int n_open;
static int default_hz = CP_WALL_DEFAULT_HZ;
static int run_hz;
static uintptr_t *words;
static size_t n_words, cap_words;
static struct stack *stacks;
static uint32_t n_stacks, cap_stacks;
static uint32_t *stack_index, stack_index_cap;
static char (*names)[CP_THREAD_NAME_LEN];
static uint32_t n_names, cap_names;
static pthread_t sampler;
static bool sampler_running;
static _Atomic int sampler_stop;
static _Atomic uint32_t sampler_futex;

/* the CPROF_WALL session */
static struct cp_wall_session *env_session;
static char *env_path;

/* counters */
static _Atomic uint64_t st_ticks, st_late, st_running, st_in_call, st_proc,
    st_proc_reads, st_copies, st_cached, st_armed, st_answered,
    st_unanswered, st_no_trigger, st_threads;
static _Atomic int64_t st_sampler_cpu;

static uint64_t hash_pcs(const uintptr_t *pcs, int n, int truncated)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n ^
                 ((uint64_t)truncated << 40);
    for (int i = 0; i < n; i++)
        h = cp_fmix64(h ^ pcs[i]);
    return h;
}

/* Interned stack id, or UINT32_MAX on ENOMEM. */
static uint32_t stack_intern(const uintptr_t *pcs, int n, int truncated)
{
    static const uintptr_t none[1];
    uint64_t h;
    uint32_t j;

    if (!pcs || n <= 0) {
        pcs = none; /* no NULL to memcpy/memcmp, even for 0 bytes */
        n = 0;
    }
    h = hash_pcs(pcs, n, truncated);

    if ((n_stacks + 1) * 10 >= stack_index_cap * 7) {
        uint32_t cap = stack_index_cap ? stack_index_cap * 2 : 1024;
        uint32_t *ix = calloc(cap, sizeof *ix);
        if (!ix)
            return UINT32_MAX;
        for (uint32_t i = 0; i < n_stacks; i++) {
            uint32_t k = (uint32_t)stacks[i].hash & (cap - 1);
            while (ix[k])
                k = (k + 1) & (cap - 1);
            ix[k] = i + 1;
        }
        free(stack_index);
        stack_index = ix;
        stack_index_cap = cap;
    }
    j = (uint32_t)h & (stack_index_cap - 1);
    while (stack_index[j]) {
        const struct stack *s = &stacks[stack_index[j] - 1];
        if (s->hash == h && s->n == n && s->truncated == truncated &&
            (!n || !memcmp(words + s->off, pcs, (size_t)n * sizeof *pcs)))
            return stack_index[j] - 1;
        j = (j + 1) & (stack_index_cap - 1);
    }
    if (n_stacks == cap_stacks) {
        uint32_t cap = cap_stacks ? cap_stacks * 2 : 1024;
        struct stack *v = realloc(stacks, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        stacks = v;
        cap_stacks = cap;
    }
    if (n_words + (size_t)n > cap_words) {
        size_t cap = cap_words ? cap_words * 2 : 16384;
        uintptr_t *v;
        while (cap < n_words + (size_t)n)
            cap *= 2;
        v = realloc(words, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        words = v;
        cap_words = cap;
    }
    if (n)
        memcpy(words + n_words, pcs, (size_t)n * sizeof *pcs);
    stacks[n_stacks] = (struct stack){n_words, n, truncated, h};
    n_words += (size_t)n;
    stack_index[j] = n_stacks + 1;
    return n_stacks++;
}

static uint32_t name_intern(const char *name)
{
    for (uint32_t i = n_names; i-- > 0;) {
        if (!strncmp(names[i], name, CP_THREAD_NAME_LEN))
            return i;
    }
    if (n_names == cap_names) {
        uint32_t cap = cap_names ? cap_names * 2 : 64;
        void *v = realloc(names, cap * sizeof *names);
        if (!v)
            return UINT32_MAX;
        names = v;
        cap_names = cap;
    }
    strncpy(names[n_names], name, CP_THREAD_NAME_LEN - 1);
    names[n_names][CP_THREAD_NAME_LEN - 1] = '\0';
    return n_names++;
}

static void tables_reset(void)
{
    free(words);
    free(stacks);
    free(stack_index);
    free(names);
    words = NULL;
    stacks = NULL;
    stack_index = NULL;
    names = NULL;
    n_words = cap_words = 0;
    n_stacks = cap_stacks = stack_index_cap = 0;
    n_names = cap_names = 0;
}

static uint64_t rec_hash(const struct rec *r)
{
    uint64_t h = cp_fmix64(((uint64_t)r->stack << 32) ^ (uint32_t)r->tid);
    h = cp_fmix64(h ^ ((uint64_t)(uint32_t)r->cpu << 32) ^ r->labels);
    h = cp_fmix64(h ^ (uintptr_t)r->state ^ ((uint64_t)(uintptr_t)r->call << 7) ^
            ((uint64_t)r->name << 48));
    return h;
}

static bool rec_same(const struct rec *a, const struct rec *b)
{
    return a->stack == b->stack && a->tid == b->tid && a->cpu == b->cpu &&
           a->labels == b->labels && a->state == b->state &&
           a->call == b->call && a->name == b->name;
}

static void session_add(struct cp_wall_session *s, const struct rec *r)
{
    uint32_t j;

    if ((s->n_recs + 1) * 10 >= s->index_cap * 7) {
        uint32_t cap = s->index_cap ? s->index_cap * 2 : 256;
        uint32_t *ix = calloc(cap, sizeof *ix);
        if (!ix) {
            s->dropped += (uint64_t)r->count;
            return;
        }
        for (uint32_t i = 0; i < s->n_recs; i++) {
            uint32_t k = (uint32_t)rec_hash(&s->recs[i]) & (cap - 1);
            while (ix[k])
                k = (k + 1) & (cap - 1);
            ix[k] = i + 1;
        }
        free(s->index);
        s->index = ix;
        s->index_cap = cap;
    }
    j = (uint32_t)rec_hash(r) & (s->index_cap - 1);
    while (s->index[j]) {
        struct rec *e = &s->recs[s->index[j] - 1];
        if (rec_same(e, r)) {
            e->count += r->count;
            e->ns += r->ns;
            return;
        }
        j = (j + 1) & (s->index_cap - 1);
    }
    if (s->n_recs >= CP_WALL_MAX_RECORDS) {
        s->dropped += (uint64_t)r->count;
        return;
    }
    if (s->n_recs == s->cap_recs) {
        uint32_t cap = s->cap_recs ? s->cap_recs * 2 : 256;
        struct rec *v = realloc(s->recs, cap * sizeof *v);
        if (!v) {
            s->dropped += (uint64_t)r->count;
            return;
        }
        s->recs = v;
        s->cap_recs = cap;
    }
    s->recs[s->n_recs] = *r;
    s->index[j] = ++s->n_recs;
}

static void session_clear(struct cp_wall_session *s)
{
    free(s->recs);
    free(s->index);
    memset(s, 0, sizeof *s);
}

/* ---- the sampler's thread list (sampler thread only) ---- */

static struct wthread **threads;
static int n_threads, cap_threads;
static struct tsample *tick_samples;
static int n_tick, cap_tick;
static uintptr_t *tick_words;
static size_t n_tick_words, cap_tick_words;
static char *copy_buf; /* CP_WALL_STACK_BYTES + 16 */
static int n_perf_fds;
static bool perf_refused;
static int64_t last_adopt_ns, last_sweep_ns;
/* ticks the sampler missed since the last flush (added to the sessions'
 * counts under wall_lock) */
static int64_t missed_ticks;

static int64_t thread_cpu_ns(int tid);

static const char ST_RUNNING[] = "running";
static const char ST_BLOCKED[] = "blocked";

/* Markers: stacks of one fake frame, stored in a static array so the
 * sample can point at them. */
static const char M_NO_STACK[] = "cprof_no_stack";
static const char M_SIG_BLOCKED[] = "cprof_running_signal_blocked";
static const char M_NO_ANSWER[] = "cprof_running_no_answer";

static bool is_marker(const char *call)
{
    return call == M_NO_STACK || call == M_SIG_BLOCKED || call == M_NO_ANSWER;
}

static int cmp_wthread(const void *a, const void *b)
{
    const struct wthread *x = *(struct wthread *const *)a,
                         *y = *(struct wthread *const *)b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

/* t in threads[0, n) (sorted by tid), or NULL. */
static struct wthread *find_thread(int tid, int n)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (threads[mid]->tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && threads[lo]->tid == tid ? threads[lo] : NULL;
}

static void thread_free(struct wthread *t)
{
    if (t->armed && t->slot >= 0)
        cp_wallsig_disarm(t->slot, t->perf_fd, t->timer);
    if (t->perf_fd >= 0) {
        close(t->perf_fd);
        n_perf_fds--;
    }
    if (t->has_timer)
        timer_delete(t->timer);
    if (t->slot >= 0)
        cp_wallsig_release(t->slot);
    free(t);
}

static struct wthread *thread_new(int tid)
{
    struct wthread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tid = tid;
    t->perf_fd = -1;
    t->cpu = -1;
    t->slot = -1; /* claimed after cp_reg_lock is released */
    return t;
}

/* Bring the list up to date with the registry (and, once a second, with
 * /proc/self/task for threads cprof did not see created). */
static void refresh_threads(int64_t now)
{
    struct cp_thread *r;
    int sorted = n_threads; /* new threads are appended past these */

    for (int i = 0; i < n_threads; i++)
        threads[i]->seen = false;
    cp_mutex_lock(&cp_reg_lock);
    if (now - last_adopt_ns >= 1000000000) {
        cp_reg_adopt_all_locked();
        last_adopt_ns = now;
    }
    for (r = cp_reg_head; r; r = r->next) {
        struct wthread *t;
        if (cp_reg_is_internal(r->tid))
            continue;
        t = find_thread(r->tid, sorted);
        if (t && t->start_ns && r->start_ns && t->start_ns != r->start_ns) {
            /* the tid was reused: a new thread; the old one, not seen,
             * is dropped below (a thread adopted from /proc, start 0,
             * that then registers itself is the same thread) */
            t->seen = false;
            t = NULL;
        }
        if (!t) {
            if (n_threads == cap_threads) {
                int cap = cap_threads ? cap_threads * 2 : 64;
                struct wthread **v = realloc(threads, (size_t)cap *
                                                          sizeof *v);
                if (!v)
                    continue;
                threads = v;
                cap_threads = cap;
            }
            t = thread_new(r->tid);
            if (!t)
                continue;
            t->start_ns = r->start_ns;
            threads[n_threads++] = t;
        }
        t->seen = true;
        t->start_ns = r->start_ns;
        memcpy(t->name, r->name, CP_THREAD_NAME_LEN);
        t->name[CP_THREAD_NAME_LEN - 1] = '\0';
        t->stack_lo = r->stack_lo;
        t->stack_hi = r->stack_hi;
    }
    cp_mutex_unlock(&cp_reg_lock);
    /* drop threads gone (and the old selves of reused tids), releasing
     * their slots first, so a new thread of the same tid gets its own */
    int j = 0;
    for (int i = 0; i < n_threads; i++) {
        if (threads[i]->seen)
            threads[j++] = threads[i];
        else
            thread_free(threads[i]);
    }
    n_threads = j;
    /* slots for the new ones (a claim may wait for a thread claiming its
     * own: not under the registry's lock) */
    for (int i = 0; i < n_threads; i++) {
        if (threads[i]->slot < 0) {
            int k = cp_wallsig_claim(threads[i]->tid);
            threads[i]->slot = k < 0 ? -1 : k;
        }
    }
    qsort(threads, (size_t)n_threads, sizeof *threads, cmp_wthread);
    atomic_store(&st_threads, (uint64_t)n_threads);
    if (now - last_sweep_ns >= 1000000000) {
        /* slots threads claimed for themselves and left behind (threads
         * cprof never listed: exited before their adoption) */
        last_sweep_ns = now;
        for (int i = 0, n = cp_wallsig_count(); i < n; i++) {
            int tid = cp_wallsig_owner(i);
            if (tid && !find_thread(tid, n_threads) && thread_cpu_ns(tid) < 0)
                cp_wallsig_release(i);
        }
    }
}

/* ---- reading a thread ---- */

static int64_t thread_cpu_ns(int tid)
{
    struct timespec ts;
    clockid_t c = (clockid_t)((~(unsigned)tid << 3) | 6);
    if (clock_gettime(c, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Copy [sp, hi) (at most CP_WALL_STACK_BYTES) of our own memory without a
 * chance of a fault. Bytes copied into copy_buf + (sp & 15). */
static size_t copy_stack(const struct wthread *t, uintptr_t sp, char **at)
{
    uintptr_t hi = t->stack_hi;
    size_t len;
    ssize_t got;
    struct iovec local, remote;

    if (!hi || sp < t->stack_lo || sp >= hi)
        hi = sp + CP_WALL_STACK_BYTES; /* a partial read stops at the end */
    len = hi - sp;
    if (len > CP_WALL_STACK_BYTES)
        len = CP_WALL_STACK_BYTES;
    *at = copy_buf + (sp & 15); /* same alignment as the stack */
    local = (struct iovec){*at, len};
    remote = (struct iovec){(void *)sp, len};
    got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    atomic_fetch_add_explicit(&st_copies, 1, memory_order_relaxed);
    return got > 0 ? (size_t)got : 0;
}

/* The real function an interposed call ends in, for the leaf frame
 * ("nanosleep" on top of its caller). Sampler thread only. */
static uintptr_t call_address(const char *call)
{
    static struct {
        const char *call;
        uintptr_t addr;
    } cache[96];
    static int n_cache;

    for (int i = 0; i < n_cache; i++) {
        if (cache[i].call == call)
            return cache[i].addr;
    }
    uintptr_t a = (uintptr_t)dlsym(RTLD_NEXT, call);
    if (n_cache < (int)(sizeof cache / sizeof cache[0]))
        cache[n_cache++] = (typeof(cache[0])){call, a};
    return a;
}

/*
 * cprof's own code in a stack: a running thread interrupted inside an
 * interposer (before it publishes its call or after it leaves it: the
 * hooks, their clock reads, the errno they save and restore) or blocked in
 * a real call reached through an interposer that did not publish. Left
 * as it is, such a sample showed cprof's internals, or libc functions they
 * call, as the leaf: `__GI___errno_location` (dispatch_wait saving errno),
 * `__rdtsc`, `on_enter`, on top of the interposer's frame, and once such
 * a stack became a thread's last running stack it stood in for every tick
 * the thread did not answer (23% of one program's samples). The program
 * is in the call it made: the stack is folded to read as that call
 * (`write` in libc) on top of its caller, and what the real function
 * itself was running (its own frames, e.g. __lll_lock_wait under
 * pthread_mutex_lock) is kept.
 *
 * Only when libcprof is a shared object of its own: linked into the
 * executable, its range would be the program's. Sampler thread only.
 */
static uintptr_t own_lo, own_hi;
static bool own_known;

static int own_range_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || me < lo ||
            me >= lo + ph->p_memsz)
            continue;
        /* the first object listed is the executable */
        if (info->dlpi_name && info->dlpi_name[0]) {
            own_lo = lo;
            own_hi = lo + ph->p_memsz;
        }
        return 1;
    }
    return 0;
}

static bool is_own(uintptr_t pc)
{
    if (!own_known) {
        own_known = true;
        dl_iterate_phdr(own_range_cb, (void *)(uintptr_t)&is_own);
    }
    return pc >= own_lo && pc < own_hi;
}

static uintptr_t call_address(const char *call);

/* The exported function containing pc (a return address unless leaf),
 * with its start, or NULL. */
static const char *symbol_at(uintptr_t pc, bool leaf, uintptr_t *start)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    uintptr_t a = leaf ? pc : pc - 1;

    if (!dladdr1((void *)a, &info, (void **)&sym, RTLD_DL_SYMENT) ||
        !info.dli_sname || !info.dli_saddr || !sym)
        return NULL;
    /* dladdr names the nearest symbol below: a static function after it
     * would take its name */
    if (a < (uintptr_t)info.dli_saddr ||
        a >= (uintptr_t)info.dli_saddr + sym->st_size)
        return NULL;
    *start = (uintptr_t)info.dli_saddr;
    return info.dli_sname;
}

static int fold_own(uintptr_t *pcs, int n)
{
    int j = -1, k = -1;
    uintptr_t real = 0, start;
    const char *name;

    for (int i = 0; i < n && j < 0; i++) {
        if (!is_own(pcs[i]))
            continue;
        name = symbol_at(pcs[i], i == 0, &start);
        /* an interposer: libc (or the next object) has the real one */
        if (name && (real = call_address(name)) != 0)
            j = i;
    }
    if (j < 0)
        return n;
    /* the real function among the frames it called, outermost first */
    for (int i = j - 1; i >= 0 && k < 0; i--) {
        if (!is_own(pcs[i]) && symbol_at(pcs[i], i == 0, &start) &&
            start == real)
            k = i;
    }
    if (k < 0) {
        /* in cprof's hooks (or what they called): the call itself */
        pcs[0] = real;
        k = 0;
    }
    memmove(pcs + k + 1, pcs + j + 1, (size_t)(n - j - 1) * sizeof *pcs);
    return n - (j - k);
}

/* Whether all of a non-empty stack is cprof's own code. */
static bool only_own(const uintptr_t *pcs, int n)
{
    for (int i = 0; i < n; i++) {
        if (!is_own(pcs[i]))
            return false;
    }
    return n > 0 && own_hi;
}

/* Unwind a thread inside an interposed call from its published frame. */
static void unwind_call(struct wthread *t, const struct cp_wall_pub *pub)
{
    struct cp_regs regs = {pub->pc - 1, pub->sp, pub->fp};
    uintptr_t fn = call_address(pub->call);
    int k = 0;
    char *at;
    size_t got = copy_stack(t, pub->sp, &at);

    if (fn)
        t->pcs[k++] = fn;
    t->n = k + cp_unwind_copy(&regs, 1, at, got, t->pcs + k,
                              CP_MAX_STACK_DEPTH - k, &t->truncated);
}

/* ---- taking a tick's samples ---- */

static void emit(const struct wthread *t, const uintptr_t *pcs, int n,
                 int truncated, int cpu, uint32_t labels, const char *state,
                 const char *call, int64_t count, int64_t ns)
{
    struct tsample *s;

    if (count <= 0 && ns <= 0)
        return;
    if (n_tick == cap_tick) {
        int cap = cap_tick ? cap_tick * 2 : 256;
        struct tsample *v = realloc(tick_samples, (size_t)cap * sizeof *v);
        if (!v)
            return;
        tick_samples = v;
        cap_tick = cap;
    }
    if (!pcs)
        n = 0;
    if (n_tick_words + (size_t)n > cap_tick_words) {
        size_t cap = cap_tick_words ? cap_tick_words * 2 : 4096;
        uintptr_t *v;
        while (cap < n_tick_words + (size_t)n)
            cap *= 2;
        v = realloc(tick_words, cap * sizeof *v);
        if (!v)
            return;
        tick_words = v;
        cap_tick_words = cap;
    }
    if (n)
        memcpy(tick_words + n_tick_words, pcs, (size_t)n * sizeof *pcs);
    s = &tick_samples[n_tick++];
    *s = (struct tsample){n_tick_words, n, truncated, t->tid, cpu, t->name,
                          state, call, labels, count, ns};
    n_tick_words += (size_t)n;
}

/* A marker sample: pcs NULL, call holds the marker's name. */
static void emit_marker(const struct wthread *t, const char *marker,
                        int64_t count, int64_t ns)
{
    emit(t, NULL, 0, 0, -1, t->run_labels, ST_RUNNING, marker, count, ns);
}

/* Emit the answer in t's slot for the pending weight, keep its stack as
 * t's last running stack, and free the slot for the next arm. */
static void emit_unanswered(struct wthread *t);

static void take_answer(struct wthread *t, struct cp_wall_slot *s)
{
    int n = s->n < 0 ? 0 : s->n > CP_MAX_STACK_DEPTH ? CP_MAX_STACK_DEPTH
                                                      : s->n;
    /*
     * A thread on a CPU answers within 10 us of user time (a perf
     * trigger) or at its next kernel tick (a timer). A later answer comes
     * from a thread that waited for a CPU, or slept in a call, and
     * answered where it resumed, which is not where it was at the tick (a
     * loop bounded by the clock may be past its end by then): its last
     * running stack stands in, and this one is not kept.
     *
     * An answer in time after interposed calls (its seq moved: a thread
     * making many short calls, whose user time is mostly between them)
     * is kept: it is where the thread runs between those calls. Refusing
     * it left such a thread on the one stack it answered first, which
     * then stood in for all its running ticks however long ago it was
     * taken (2.7 s of a 3 s ping-pong thread on one stale stack).
     */
    if (t->run_n && s->ans_ns - t->arm_ns > (t->perf_fd >= 0
                                                 ? CP_WALL_LATE_PERF_NS
                                                 : CP_WALL_LATE_TIMER_NS)) {
        atomic_store(&s->state, CP_WSLOT_FREE);
        emit_unanswered(t);
        return;
    }
    if (only_own(s->pcs, n)) {
        /* a walk that stopped inside cprof (seen at the `ret` of a hook):
         * every real stack ends in the program's or libc's frames */
        atomic_store(&s->state, CP_WSLOT_FREE);
        emit_unanswered(t);
        return;
    }
    memcpy(t->run_pcs, s->pcs, (size_t)n * sizeof *t->run_pcs);
    n = fold_own(t->run_pcs, n);
    t->run_n = n;
    t->run_truncated = s->truncated;
    t->run_cpu = s->acpu;
    t->run_labels = s->alabels;
    atomic_store(&s->state, CP_WSLOT_FREE);
    emit(t, t->run_pcs, t->run_n, t->run_truncated, t->run_cpu,
         t->run_labels, ST_RUNNING, NULL, t->pend_count, t->pend_ns);
    t->pend_count = t->pend_ns = 0;
    atomic_fetch_add_explicit(&st_answered, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st_running, 1, memory_order_relaxed);
}

/*
 * A pending weight whose answer never came, while the thread was last seen
 * outside any interposed call: it was running, or waiting for a CPU (a
 * thread that gets the CPU back for less than the trigger's 10 us of user
 * time before it blocks never answers; on a machine with more runnable
 * threads than CPUs that is common). It counts as running, with the
 * thread's last running stack.
 */
static void emit_unanswered(struct wthread *t)
{
    if (!t->pend_count && !t->pend_ns)
        return;
    atomic_fetch_add_explicit(&st_unanswered, 1, memory_order_relaxed);
    if (t->run_n)
        emit(t, t->run_pcs, t->run_n, t->run_truncated, t->run_cpu,
             t->run_labels, ST_RUNNING, NULL, t->pend_count, t->pend_ns);
    else
        emit_marker(t, M_NO_ANSWER, t->pend_count, t->pend_ns);
    t->pend_count = t->pend_ns = 0;
}

/* Take pending weight (from an unanswered trigger) into this sample. */
static void take_pending(struct wthread *t, int64_t *count, int64_t *ns)
{
    *count += t->pend_count;
    *ns += t->pend_ns;
    t->pend_count = t->pend_ns = 0;
}

/* Stop t's trigger; if an answer raced in, emit it. */
static void disarm(struct wthread *t)
{
    struct cp_wall_slot *s = cp_wallsig_slot(t->slot);
    if (!t->armed)
        return;
    t->armed = false;
    if (cp_wallsig_disarm(t->slot, t->perf_fd, t->timer) && s)
        take_answer(t, s);
}

/* Arm t so it answers the next time it runs user code. false when it
 * cannot be (no slot, signal blocked, no trigger). */
static bool arm(struct wthread *t, int64_t now)
{
    int r;

    if (t->slot < 0 || t->trig_failed)
        return false;
    if (t->sig_blocked || now - t->sig_check_ns >= 1000000000) {
        /* A thread that blocks the signal would only collect it pending
         * (and might take it in sigwait, or in a pselect that unblocks
         * it): such a thread is never armed. Checked once a second, and
         * every tick while blocked (a new thread starts with every signal
         * blocked, a thread in a signal handler has it blocked for a
         * while). */
        t->sig_blocked = cp_snap_sig_blocked_now(t->tid, cp_wallsig_signal());
        t->sig_check_ns = now;
    }
    if (t->sig_blocked)
        return false;
    if (t->perf_fd < 0 && !t->has_timer) {
        if (!perf_refused && n_perf_fds < CP_WALL_MAX_PERF_FDS) {
            r = cp_wallsig_perf_open(t->tid);
            if (r >= 0) {
                t->perf_fd = r;
                n_perf_fds++;
            } else if (r == -EACCES || r == -EPERM || r == -ENOSYS ||
                       r == -ENOENT || r == -EOPNOTSUPP) {
                perf_refused = true;
            }
        }
        if (t->perf_fd < 0) {
            if (cp_wallsig_timer_open(t->slot, t->tid, &t->timer) == 0)
                t->has_timer = true;
            else
                t->trig_failed = true;
        }
        if (t->trig_failed)
            return false;
    }
    t->arm_seq = atomic_load(&cp_wallsig_slot(t->slot)->seq);
    t->arm_ns = cp_now_ns();
    if (cp_wallsig_arm(t->slot, t->perf_fd, t->timer) < 0)
        return false;
    t->armed = true;
    atomic_fetch_add_explicit(&st_armed, 1, memory_order_relaxed);
    return true;
}

/* Read thread t from /proc. Returns CP_SNAP_SC_BLOCKED with t's cached W_PROC
 * stack and call up to date, CP_SNAP_SC_RUNNING, or CP_SNAP_SC_GONE. */
static enum cp_snap_sc read_proc(struct wthread *t)
{
    char text[sizeof t->proc_text];
    int nr = -1;
    uintptr_t sp = 0, pc = 0;
    enum cp_snap_sc k;
    int64_t cpu0, cpu1;

    cpu0 = thread_cpu_ns(t->tid);
    if (cpu0 < 0 || cp_snap_read_task(t->tid, "syscall", text, sizeof text) < 0)
        return CP_SNAP_SC_GONE;
    atomic_fetch_add_explicit(&st_proc_reads, 1, memory_order_relaxed);
    k = cp_snap_parse_syscall(text, &nr, &sp, &pc);
    if (k != CP_SNAP_SC_BLOCKED)
        return k;
    if (t->kind == W_PROC && !strcmp(text, t->proc_text)) {
        /* same call, same place, same arguments: the same stack */
        atomic_fetch_add_explicit(&st_cached, 1, memory_order_relaxed);
        t->cpu_ns = cpu0;
        return CP_SNAP_SC_BLOCKED;
    }
    for (int tries = 0; tries < 3; tries++) {
        struct cp_regs regs = {pc, sp, 0};
        char *at;
        size_t got = copy_stack(t, sp, &at);
        t->n = cp_unwind_copy(&regs, 0, at, got, t->pcs, CP_MAX_STACK_DEPTH,
                              &t->truncated);
        t->n = fold_own(t->pcs, t->n);
        /* the thread did not run while we copied: the copy is whole */
        cpu1 = thread_cpu_ns(t->tid);
        if (cpu1 == cpu0)
            break;
        if (cp_snap_read_task(t->tid, "syscall", text, sizeof text) < 0)
            return CP_SNAP_SC_GONE;
        k = cp_snap_parse_syscall(text, &nr, &sp, &pc);
        if (k != CP_SNAP_SC_BLOCKED)
            return k;
        cpu0 = cpu1;
    }
    snprintf(t->proc_text, sizeof t->proc_text, "%s", text);
    t->call = nr >= 0 ? cp_syscall_name(nr) : NULL;
    t->cpu = -1;
    t->cpu_ns = cpu0;
    t->kind = W_PROC;
    return CP_SNAP_SC_BLOCKED;
}

static void emit_proc(struct wthread *t, int64_t count, int64_t ns)
{
    emit(t, t->pcs, t->n, t->truncated, -1, t->run_labels, ST_BLOCKED,
         t->call, count, ns);
    atomic_fetch_add_explicit(&st_proc, 1, memory_order_relaxed);
}

static void sample_thread(struct wthread *t, int64_t dt, int64_t now)
{
    struct cp_wall_slot *s = cp_wallsig_slot(t->slot);
    struct cp_wall_pub pub;
    int64_t count = 1, ns = dt;

    /* 1. last tick's answer */
    if (t->armed && s &&
        atomic_load_explicit(&s->state, memory_order_acquire) ==
            CP_WSLOT_DONE) {
        t->armed = false;
        take_answer(t, s);
    }

    /* 2. inside an interposed call */
    if (t->slot >= 0 && cp_wallsig_read(t->slot, &pub)) {
        if (t->armed) {
            disarm(t);
            emit_unanswered(t);
        }
        if (t->kind == W_CALL && t->call_seq == pub.seq) {
            atomic_fetch_add_explicit(&st_cached, 1, memory_order_relaxed);
        } else {
            unwind_call(t, &pub);
            /* It left the call while we copied (a thread making many
             * short calls). It was in the call at the tick: the sample
             * is that call's. The copy is a few microseconds late, but
             * the caller's frames above its stack pointer change only
             * when the caller returns, and the unwinder checks every
             * return address. Not cached: next tick unwinds again.
             * (Deferring the weight to the thread's next answer lost it
             * when no answer came, and called it running when one did:
             * a ping-pong thread lost a third of its samples.) */
            t->kind = cp_wallsig_same(t->slot, pub.seq) ? W_CALL : W_NEW;
            t->call_seq = pub.seq;
            t->call = pub.call;
            t->cpu = pub.cpu;
            t->labels = pub.labels;
        }
        t->run_labels = t->labels;
        emit(t, t->pcs, t->n, t->truncated, t->cpu, t->labels, ST_BLOCKED,
             t->call, count, ns);
        atomic_fetch_add_explicit(&st_in_call, 1, memory_order_relaxed);
        return;
    }

    /* 3. blocked outside our interposers, and it has not run since */
    if (!t->armed && t->kind == W_PROC &&
        thread_cpu_ns(t->tid) == t->cpu_ns) {
        atomic_fetch_add_explicit(&st_cached, 1, memory_order_relaxed);
        emit_proc(t, count, ns);
        return;
    }

    /* 4. armed but silent for a while, or last seen blocked: /proc. A
     * silent thread is mostly one waiting for a CPU (it answers within
     * 10 us of running user code); one blocked outside our interposers
     * is found here too, and the ticks it stayed pending go to that wait,
     * so waiting a little before the /proc read costs no accuracy. */
    if (t->armed && t->pend_ns + ns < CP_WALL_SILENT_NS) {
        t->pend_count += count;
        t->pend_ns += ns;
        return;
    }
    if (t->armed || t->kind == W_PROC) {
        enum cp_snap_sc k = read_proc(t);
        if (k == CP_SNAP_SC_BLOCKED) {
            if (t->armed) {
                disarm(t);
                atomic_fetch_add_explicit(&st_unanswered, 1,
                                          memory_order_relaxed);
                take_pending(t, &count, &ns);
            }
            emit_proc(t, count, ns);
            return;
        }
        if (k == CP_SNAP_SC_GONE)
            return;
        if (t->armed) {
            /* running or waiting for a CPU, and not yet back in user
             * code long enough to answer: it stays pending, a second
             * at most */
            t->pend_count += count;
            t->pend_ns += ns;
            if (t->pend_ns >= 1000000000) {
                disarm(t);
                emit_unanswered(t);
            }
            return;
        }
    }

    /* 5. not known to wait: arm it; its answer is next tick's sample */
    t->kind = W_RUN;
    if (arm(t, now)) {
        t->pend_count += count;
        t->pend_ns += ns;
        return;
    }
    /* cannot be armed: /proc tells whether it waits */
    atomic_fetch_add_explicit(&st_no_trigger, 1, memory_order_relaxed);
    if (read_proc(t) == CP_SNAP_SC_BLOCKED) {
        emit_proc(t, count, ns);
        return;
    }
    emit_marker(t, t->sig_blocked ? M_SIG_BLOCKED : M_NO_STACK, count, ns);
}

/* Add the tick's samples to every open session. */
static void flush_tick(void)
{
    cp_mutex_lock(&wall_lock);
    for (int i = 0; i < n_tick; i++) {
        const struct tsample *ts = &tick_samples[i];
        struct rec r;
        r.stack = stack_intern(tick_words + ts->off, ts->n, ts->truncated);
        r.name = name_intern(ts->name);
        if (r.stack == UINT32_MAX || r.name == UINT32_MAX)
            continue;
        r.tid = ts->tid;
        r.cpu = ts->cpu;
        r.labels = ts->labels;
        r.state = ts->state;
        r.call = ts->call;
        r.count = ts->count;
        r.ns = ts->ns;
        for (int k = 0; k < CP_MAX_WALL_SESSIONS; k++) {
            if (sessions[k].open)
                session_add(&sessions[k], &r);
        }
    }
    for (int k = 0; k < CP_MAX_WALL_SESSIONS; k++) {
        if (sessions[k].open) {
            sessions[k].ticks++;
            sessions[k].missed += (uint64_t)missed_ticks;
        }
    }
    missed_ticks = 0;
    cp_mutex_unlock(&wall_lock);
    n_tick = 0;
    n_tick_words = 0;
}

static void tick(int64_t dt, int64_t now)
{
    refresh_threads(now);
    for (int i = 0; i < n_threads; i++)
        sample_thread(threads[i], dt, now);
    flush_tick();
    atomic_fetch_add_explicit(&st_ticks, 1, memory_order_relaxed);
}

static void sampler_cleanup(void)
{
    for (int i = 0; i < n_threads; i++)
        thread_free(threads[i]);
    free(threads);
    threads = NULL;
    n_threads = cap_threads = 0;
    free(tick_samples);
    tick_samples = NULL;
    n_tick = cap_tick = 0;
    free(tick_words);
    tick_words = NULL;
    n_tick_words = cap_tick_words = 0;
    free(copy_buf);
    copy_buf = NULL;
    atomic_store(&st_threads, 0);
}

/*
 * Ask the scheduler for a short time slice (Linux 6.12's EEVDF takes
 * sched_runtime of a SCHED_OTHER thread as its slice, 0.1-100 ms, no
 * privilege needed): a thread with a short slice gets an early deadline
 * and runs soon after it wakes, so ticks stay on time on a busy machine.
 * Older kernels refuse or ignore it; nothing else changes.
 */
struct sched_attr_ {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

static void short_slice(void)
{
#ifdef SYS_sched_setattr
    struct sched_attr_ a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = 0; /* SCHED_OTHER */
    a.sched_runtime = 100000;
    syscall(SYS_sched_setattr, 0, &a, 0);
#endif
}

/* xorshift64*: only the ticks' jitter depends on it */
static uint64_t jitter_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void *sampler_main(void *arg)
{
    int64_t period = 1000000000 / (int64_t)(intptr_t)arg;
    int64_t base = cp_now_ns(), slot = 0;
    uint64_t rng = (uint64_t)base ^ 0x9e3779b97f4a7c15ull;
    struct timespec cpu;

    cp_tls.in_cprof++; /* its own calls are never reported (sync.h) */
    short_slice();
    copy_buf = malloc(CP_WALL_STACK_BYTES + 16);
    while (copy_buf && !atomic_load(&sampler_stop)) {
        int64_t now, wake, now_slot, k;
        /*
         * Ticks sit on a grid of periods, each moved by up to a quarter
         * period either way: on the grid itself they would alias with a
         * program's own period (a loop that computes 50 ms and sleeps
         * 50 ms, seen at 100 Hz, always at the same ten phases).
         *
         * Every sample weighs one period, however late its tick: on a
         * loaded machine the sampler runs late precisely when the CPUs are
         * busy, so weighing a late tick by the time that passed favours
         * what runs (on this 2-core machine at load 10: +2..+6 points of
         * "running" for threads computing half the time, against -1..+1
         * with equal weights). The periods a starved sampler misses are
         * not sampled at all (counted, and said in the profile).
         */
        wake = base + (slot + 1) * period +
               (int64_t)(jitter_rng(&rng) % (uint64_t)(period / 2 + 1)) -
               period / 4;
        for (;;) {
            struct timespec ts;
            now = cp_now_ns();
            if (now >= wake || atomic_load(&sampler_stop))
                break;
            ts.tv_sec = (wake - now) / 1000000000;
            ts.tv_nsec = (wake - now) % 1000000000;
            syscall(SYS_futex, &sampler_futex, FUTEX_WAIT_PRIVATE, 0, &ts,
                    NULL, 0);
        }
        if (atomic_load(&sampler_stop))
            break;
        now_slot = (now - base + period / 2) / period;
        k = now_slot - slot;
        if (k < 1)
            k = 1;
        if (k > 1)
            atomic_fetch_add_explicit(&st_late, (uint64_t)(k - 1),
                                      memory_order_relaxed);
        slot += k;
        if (atomic_load(&cp_modules_stale)) {
            atomic_store(&cp_modules_stale, 0);
            cp_modules_refresh(true);
        }
        missed_ticks += k - 1;
        tick(period, now);
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
            atomic_store(&st_sampler_cpu,
                         (int64_t)cpu.tv_sec * 1000000000 + cpu.tv_nsec);
    }
    sampler_cleanup();
    cp_tls.in_cprof--;
    return NULL;
}

/* ---- sessions ---- */

int cp_wall_set_default_hz(int hz)
{
    if (hz < CP_WALL_MIN_HZ || hz > CP_WALL_MAX_HZ)
        return -EINVAL;
    cp_mutex_lock(&wall_lock);
    default_hz = hz;
    cp_mutex_unlock(&wall_lock);
    return 0;
}

int cp_wall_default_hz(void)
{
    int hz;
    cp_mutex_lock(&wall_lock);
    hz = default_hz;
    cp_mutex_unlock(&wall_lock);
    return hz;
}

/* With wall_lock held: start the sampler at hz. */
static int start_locked(int hz)
{
    int r;

    r = cp_wallsig_init();
    if (r < 0)
        return r;
    /* unwind tables of every module, compiled once */
    cp_modules_refresh(true);
    r = cp_sync_subscribe(&cp_wallsig_hooks);
    if (r < 0)
        return r;
    atomic_store(&sampler_stop, 0);
    run_hz = hz;
    if (cp_internal_thread_create(&sampler, sampler_main,
                                  (void *)(intptr_t)hz)) {
        cp_sync_unsubscribe(&cp_wallsig_hooks);
        return -EAGAIN;
    }
    sampler_running = true;
    return 0;
}

int cp_wall_session_begin(int hz, struct cp_wall_session **out)
{
    struct cp_wall_session *s = NULL;
    int r = 0;

    if (hz < 0 || hz > CP_WALL_MAX_HZ)
        return -EINVAL;
    cp_thread_self();
    cp_mutex_lock(&wall_lock);
    for (int i = 0; i < CP_MAX_WALL_SESSIONS; i++) {
        if (!sessions[i].open) {
            s = &sessions[i];
            break;
        }
    }
    if (!s) {
        r = -ENOSPC;
        goto out;
    }
    if (!n_open) {
        r = start_locked(hz ? hz : default_hz);
        if (r < 0)
            goto out;
    }
    memset(s, 0, sizeof *s);
    s->open = true;
    s->start_ns = cp_now_ns();
    s->start_real_ns = cp_realtime_ns();
    n_open++;
    *out = s;
out:
    cp_mutex_unlock(&wall_lock);
    return r;
}

/* With wall_lock held: close s; true when the sampler must be joined. */
static bool close_locked(struct cp_wall_session *s)
{
    s->open = false;
    if (--n_open > 0 || !sampler_running)
        return false;
    atomic_store(&sampler_stop, 1);
    atomic_store(&sampler_futex, 1);
    syscall(SYS_futex, &sampler_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    sampler_running = false;
    cp_sync_unsubscribe(&cp_wallsig_hooks);
    return true;
}

static int add_label_str(struct cp_profile *p, struct cp_label *l,
                         const char *key, const char *value)
{
    l->key = cp_profile_str(p, key);
    l->str = cp_profile_str(p, value ? value : "");
    return l->key < 0 || l->str < 0 ? -ENOMEM : 0;
}

/* Build s's profile (unsymbolized) from a copy of its records. */
static int build(const struct rec *recs, uint32_t n, uint64_t dropped,
                 uint64_t ticks, uint64_t missed, int hz, int64_t start_real,
                 int64_t duration, struct cp_profile *p)
{
    struct cp_pbuild b;
    int64_t period = 1000000000 / (hz > 0 ? hz : CP_WALL_DEFAULT_HZ);
    uint64_t markers[8] = {0};
    const char *marker_names[8] = {M_NO_STACK, M_SIG_BLOCKED, M_NO_ANSWER,
                                   "cprof_wall_table_full"};
    char line[320];
    int r;

    r = cp_profile_init(p);
    if (r < 0)
        return r;
    if (cp_profile_add_sample_type(p, "samples", "count") < 0 ||
        cp_profile_add_sample_type(p, "wall", "nanoseconds") < 0) {
        cp_profile_free(p);
        return -ENOMEM;
    }
    p->period_type.type = cp_profile_str(p, "wall");
    p->period_type.unit = cp_profile_str(p, "nanoseconds");
    p->period = period;
    p->time_nanos = start_real;
    p->duration_nanos = duration;
    p->default_sample_type = cp_profile_str(p, "wall");
    r = cp_pbuild_init(&b, p);
    for (uint32_t i = 0; r == 0 && i < n; i++) {
        const struct rec *rc = &recs[i];
        const struct stack *st = &stacks[rc->stack];
        const struct cp_label_pair *pairs = NULL;
        int n_user = cp_labels_get(rc->labels, &pairs);
        size_t nloc = (size_t)st->n + (st->truncated ? 1 : 0);
        bool marker = !st->n && is_marker(rc->call);
        size_t nl = 3 + (rc->cpu >= 0) + (rc->call && !marker) +
                    (size_t)n_user;
        struct cp_sample *sm;
        size_t l = 0;

        if (!nloc)
            nloc = 1;
        sm = cp_profile_add_sample(p, nloc, nl);
        if (!sm) {
            r = -ENOMEM;
            break;
        }
        for (int k = 0; k < st->n; k++)
            sm->location_ids[k] = cp_pbuild_location(&b,
                                                     words[st->off + k]);
        if (st->truncated)
            sm->location_ids[st->n] = cp_pbuild_truncated(&b);
        if (!st->n && !st->truncated) {
            const char *m = marker ? rc->call : M_NO_STACK;
            int mi = 0;
            while (mi < 7 && marker_names[mi] && marker_names[mi] != m)
                mi++;
            if (!marker_names[mi])
                marker_names[mi] = m;
            if (!markers[mi])
                markers[mi] = cp_pbuild_marker(&b, m);
            sm->location_ids[0] = markers[mi];
        }
        for (size_t k = 0; k < nloc; k++) {
            if (!sm->location_ids[k])
                r = -ENOMEM;
        }
        sm->values[0] = rc->count;
        sm->values[1] = rc->ns;
        sm->labels[l].key = cp_profile_str(p, "thread");
        sm->labels[l++].num = rc->tid;
        r |= add_label_str(p, &sm->labels[l++], "thread_name",
                           rc->name < n_names ? names[rc->name] : "");
        if (rc->cpu >= 0) {
            sm->labels[l].key = cp_profile_str(p, "cpu");
            sm->labels[l++].num = rc->cpu;
        }
        r |= add_label_str(p, &sm->labels[l++], "state", rc->state);
        if (rc->call && !marker)
            r |= add_label_str(p, &sm->labels[l++], "call", rc->call);
        for (int k = 0; k < n_user; k++)
            r |= add_label_str(p, &sm->labels[l++], pairs[k].key,
                               pairs[k].value);
        sm->n_labels = l;
        if (r)
            r = -ENOMEM;
    }
    if (r == 0 && dropped) {
        struct cp_sample *sm = cp_profile_add_sample(p, 1, 0);
        uint64_t loc = cp_pbuild_marker(&b, "cprof_wall_table_full");
        if (!sm || !loc) {
            r = -ENOMEM;
        } else {
            sm->location_ids[0] = loc;
            sm->values[0] = (int64_t)dropped;
            sm->values[1] = (int64_t)dropped * period;
        }
    }
    if (r == 0) {
        snprintf(line, sizeof line,
                 "cprof %s wall-clock profile: every thread, running or "
                 "waiting, %d times a second; a waiting thread is never "
                 "signalled",
                 CPROF_VERSION, hz);
        r = cp_profile_add_comment(p, line);
    }
    if (r == 0) {
        snprintf(line, sizeof line,
                 "%llu ticks, one sample of every thread each; %llu ticks "
                 "missed (the sampler ran a period or more late: a busy "
                 "machine)",
                 (unsigned long long)ticks, (unsigned long long)missed);
        r = cp_profile_add_comment(p, line);
    }
    if (r == 0) {
        snprintf(line, sizeof line,
                 "running threads answer %s; labels: thread, thread_name, "
                 "cpu, state (running|blocked), call",
                 perf_refused ? "a one-shot timer on their CPU clock (at "
                                "their next kernel tick)"
                              : "a perf_event counting their user time "
                                "only (within 10 us of it)");
        r = cp_profile_add_comment(p, line);
    }
    cp_pbuild_free(&b);
    if (r < 0)
        cp_profile_free(p);
    return r;
}

/*
 * Build from s under wall_lock (the stack/name tables are shared), then
 * symbolize outside it. close: close the session first.
 */
static int finish(struct cp_wall_session *s, bool close, bool keep,
                  struct cp_profile *out)
{
    bool join = false;
    int r;
    int64_t now = cp_now_ns();

    cp_mutex_lock(&wall_lock);
    if (close)
        join = close_locked(s);
    r = build(s->recs, s->n_recs, s->dropped, s->ticks, s->missed, run_hz,
              s->start_real_ns, now - s->start_ns, out);
    if (!keep)
        session_clear(s);
    if (!n_open)
        tables_reset();
    cp_mutex_unlock(&wall_lock);
    if (join)
        cp_join_internal(sampler);
    if (r == 0)
        r = cp_symcache_profile(out);
    if (r < 0)
        cp_profile_free(out);
    return r;
}

int cp_wall_session_end(struct cp_wall_session *s, struct cp_profile *out)
{
    return finish(s, true, false, out);
}

void cp_wall_session_abort(struct cp_wall_session *s)
{
    bool join;
    cp_mutex_lock(&wall_lock);
    join = close_locked(s);
    session_clear(s);
    if (!n_open)
        tables_reset();
    cp_mutex_unlock(&wall_lock);
    if (join)
        cp_join_internal(sampler);
}

void cp_wall_stats(struct cp_wall_stats *out)
{
    out->ticks = atomic_load(&st_ticks);
    out->late_ticks = atomic_load(&st_late);
    out->running = atomic_load(&st_running);
    out->in_call = atomic_load(&st_in_call);
    out->proc = atomic_load(&st_proc);
    out->proc_reads = atomic_load(&st_proc_reads);
    out->stack_copies = atomic_load(&st_copies);
    out->cached = atomic_load(&st_cached);
    out->armed = atomic_load(&st_armed);
    out->answered = atomic_load(&st_answered);
    out->unanswered = atomic_load(&st_unanswered);
    out->no_trigger = atomic_load(&st_no_trigger);
    out->threads = atomic_load(&st_threads);
    out->sampler_cpu_ns = atomic_load(&st_sampler_cpu);
}

/* ---- the "wall" profile, the endpoint window, CPROF_WALL ---- */

/* cprof_profile_write("wall"): the CPROF_WALL session's samples so far. */
static int wall_build(struct cp_profile *out)
{
    bool running;
    cp_mutex_lock(&wall_lock);
    running = env_session && env_session->open;
    cp_mutex_unlock(&wall_lock);
    if (!running)
        return -ENODATA; /* no whole-run wall profile (CPROF_WALL) runs */
    return finish(env_session, false, true, out);
}

static const struct cp_profile_source wall_source = {
    .name = "wall",
    .help = "Wall-clock profile of every thread, running or waiting. You "
            "can specify the duration in the seconds GET parameter.",
    .build = wall_build,
};

static int win_begin(void **state)
{
    struct cp_wall_session *s;
    int r = cp_wall_session_begin(0, &s);
    if (r == 0)
        *state = s;
    return r;
}

static int win_end(void *state, struct cp_dynbuf *out)
{
    struct cp_profile p;
    int r = cp_wall_session_end(state, &p);
    if (r < 0)
        return r;
    r = cp_profile_encode(&p, 1, out);
    cp_profile_free(&p);
    return r;
}

static void win_abort(void *state)
{
    cp_wall_session_abort(state);
}

static const struct cp_http_window wall_window = {
    .name = "wall",
    .help = "Wall-clock profile of every thread, running or waiting. You "
            "can specify the duration in the seconds GET parameter.",
    .content_type = "application/octet-stream",
    .default_seconds = 30,
    .begin = win_begin,
    .end = win_end,
    .abort = win_abort,
};

static void print_stats(void)
{
    struct cp_wall_stats st;
    cp_wall_stats(&st);
    fprintf(stderr,
            "cprof: wall ticks %llu late %llu running %llu in_call %llu "
            "proc %llu proc_reads %llu stack_copies %llu cached %llu armed "
            "%llu answered %llu unanswered %llu no_trigger %llu "
            "sampler_cpu_ns %lld\n",
            (unsigned long long)st.ticks, (unsigned long long)st.late_ticks,
            (unsigned long long)st.running, (unsigned long long)st.in_call,
            (unsigned long long)st.proc, (unsigned long long)st.proc_reads,
            (unsigned long long)st.stack_copies,
            (unsigned long long)st.cached, (unsigned long long)st.armed,
            (unsigned long long)st.answered,
            (unsigned long long)st.unanswered,
            (unsigned long long)st.no_trigger, (long long)st.sampler_cpu_ns);
}

static void env_stop(void)
{
    struct cp_wall_session *s;
    struct cp_profile p;
    struct cp_dynbuf b;
    char *path;
    int r;

    cp_mutex_lock(&wall_lock);
    s = env_session;
    path = env_path;
    env_session = NULL;
    env_path = NULL;
    cp_mutex_unlock(&wall_lock);
    if (!s || !path)
        return;
    cp_tls.in_cprof++;
    r = cp_wall_session_end(s, &p);
    if (r == 0) {
        cp_dynbuf_init(&b, (size_t)1 << 31);
        r = cp_profile_encode(&p, 1, &b);
        if (r == 0)
            r = cp_write_file_atomic(path, b.data ? b.data : "", b.len);
        cp_dynbuf_free(&b);
        cp_profile_free(&p);
    }
    if (r < 0)
        fprintf(stderr, "cprof: CPROF_WALL: writing %s: %s\n", path,
                strerror(-r));
    if (cp_getenv("CPROF_DEBUG_STATS"))
        print_stats();
    cp_tls.in_cprof--;
    free(path);
}

static int env_start(char *path)
{
    struct cp_wall_session *s;
    int r = cp_check_writable(path);

    if (r == 0)
        r = cp_wall_session_begin(0, &s);
    if (r < 0) {
        fprintf(stderr, "cprof: CPROF_WALL=%s: %s; wall-clock profiling "
                        "stays off\n",
                path, strerror(-r));
        free(path);
        return r;
    }
    cp_mutex_lock(&wall_lock);
    env_session = s;
    env_path = path;
    cp_mutex_unlock(&wall_lock);
    return 0;
}

/* ---- fork ---- */

static void atfork_prepare(void)
{
    cp_mutex_lock(&wall_lock);
}

static void atfork_parent(void)
{
    cp_mutex_unlock(&wall_lock);
}

/* The child has no sampler thread and none of the parent's threads but
 * the caller: every session ends there unwritten, and a CPROF_WALL
 * session starts again into FILE.PID (SPEC §2), as CPU profiles do. */
static void atfork_child(void)
{
    char *child_path = NULL;
    bool had_env = env_session != NULL && env_path;

    pthread_mutex_init(&wall_lock, NULL);
    for (int i = 0; i < CP_MAX_WALL_SESSIONS; i++) {
        if (sessions[i].open)
            session_clear(&sessions[i]);
    }
    n_open = 0;
    sampler_running = false;
    tables_reset();
    /* the sampler's list: the descriptors and timers are the parent's */
    for (int i = 0; i < n_threads; i++) {
        if (threads[i]->perf_fd >= 0)
            close(threads[i]->perf_fd);
        free(threads[i]);
    }
    free(threads);
    threads = NULL;
    n_threads = cap_threads = 0;
    n_perf_fds = 0;
    free(tick_samples);
    tick_samples = NULL;
    n_tick = cap_tick = 0;
    free(tick_words);
    tick_words = NULL;
    n_tick_words = cap_tick_words = 0;
    free(copy_buf);
    copy_buf = NULL;
    cp_wallsig_atfork_child();
    cp_sync_atfork_child();
    cp_sync_unsubscribe(&cp_wallsig_hooks);
    if (had_env &&
        asprintf(&child_path, "%s.%ld", env_path, (long)getpid()) < 0)
        child_path = NULL;
    free(env_path);
    env_path = NULL;
    env_session = NULL;
    if (child_path)
        env_start(child_path);
}

void cp_wall_init_from_env(void)
{
    const char *file = cp_getenv("CPROF_WALL");
    int64_t hz;
    char *path;

    cp_profiles_register(&wall_source);
    cp_http_register_window(&wall_window);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    /* A diagnostic knob (tests, and machines where perf_event_open is
     * allowed but misbehaves): "timer" uses the CPU-clock timers that
     * perf_event_paranoid 3 leaves (Debian's default). */
    if (cp_getenv("CPROF_WALL_TRIGGER") &&
        !strcmp(cp_getenv("CPROF_WALL_TRIGGER"), "timer"))
        perf_refused = true;
    switch (cp_env_int("CPROF_WALL_HZ", CP_WALL_MIN_HZ, CP_WALL_MAX_HZ, &hz,
                       "wall-clock profiling")) {
    case -1: return;
    case 1: cp_wall_set_default_hz((int)hz); break;
    default: break;
    }
    if (!file)
        return;
    if (!*file) {
        cp_env_bad("CPROF_WALL", "", "empty file name",
                   "wall-clock profiling");
        return;
    }
    path = cp_env_output_path(file);
    if (!path)
        return;
    if (env_start(path) == 0)
        cp_on_exit(env_stop);
}
