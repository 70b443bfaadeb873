/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.c - interposers of blocking calls and the subscriber hooks they
 * feed (sync.h). The contract, the cost and what is never reported are in
 * sync.h; this file holds the mechanics:
 *
 *   - the real functions come from dlsym(RTLD_NEXT), resolved in the
 *     constructor and lazily if a call comes first; pthread_cond_* from
 *     dlvsym(..., "GLIBC_2.3.2"), because plain dlsym may hand back the
 *     pre-NPTL compat version of the condition-variable functions;
 *   - contention tracking for the mutex profile (only while someone asks
 *     for on_unlock): a fixed table of contended objects, each with its
 *     waiter count and the sum of their (effective) wait start times, so
 *     an unlock computes the waiting it ended without knowing who waits.
 *
 * Hooks may run in signal context (write() from a handler), so nothing
 * here locks or allocates on a call's path.
 */
#include "sync.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cp_lock.h"
#include "thread_reg.h"
#include "unwinder.h"

#define CP_EXPORT __attribute__((visibility("default")))

_Atomic unsigned cp_sync_active;

static const struct cp_sync_hooks *_Atomic subs[CP_SYNC_MAX_SUBSCRIBERS];
static pthread_mutex_t subs_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t min_syscall_ticks;
static _Atomic uint64_t st_tried, st_waited, st_unlocks;

/* ---- real functions ---- */

enum real_id {
    R_MUTEX_LOCK, R_MUTEX_TRYLOCK, R_MUTEX_TIMEDLOCK, R_MUTEX_CLOCKLOCK,
    R_MUTEX_UNLOCK,
    R_RW_RDLOCK, R_RW_WRLOCK, R_RW_TRYRDLOCK, R_RW_TRYWRLOCK,
    R_RW_TIMEDRDLOCK, R_RW_TIMEDWRLOCK, R_RW_CLOCKRDLOCK, R_RW_CLOCKWRLOCK,
    R_RW_UNLOCK,
    R_COND_WAIT, R_COND_TIMEDWAIT, R_COND_CLOCKWAIT,
    R_SEM_WAIT, R_SEM_TRYWAIT, R_SEM_TIMEDWAIT, R_SEM_CLOCKWAIT,
    R_JOIN, R_TRYJOIN, R_TIMEDJOIN, R_CLOCKJOIN,
    R_NANOSLEEP, R_CLOCK_NANOSLEEP, R_USLEEP, R_SLEEP,
    R_READ, R_WRITE, R_READV, R_WRITEV, R_PREAD, R_PWRITE, R_PREAD64,
    R_PWRITE64, R_RECV, R_RECVFROM, R_RECVMSG, R_SEND, R_SENDTO, R_SENDMSG,
    R_ACCEPT, R_ACCEPT4, R_CONNECT, R_POLL, R_PPOLL, R_SELECT, R_PSELECT,
    R_EPOLL_WAIT, R_EPOLL_PWAIT, R_WAITPID, R_WAIT4, R_FSYNC, R_FDATASYNC,
    R_READ_CHK, R_PREAD_CHK, R_PREAD64_CHK, R_RECV_CHK, R_RECVFROM_CHK,
    R_POLL_CHK, R_PPOLL_CHK,
    R__COUNT
};

static const char *const real_names[R__COUNT] = {
    "pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_timedlock",
    "pthread_mutex_clocklock", "pthread_mutex_unlock",
    "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
    "pthread_rwlock_tryrdlock", "pthread_rwlock_trywrlock",
    "pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock",
    "pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock",
    "pthread_rwlock_unlock",
    "pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
    "sem_wait", "sem_trywait", "sem_timedwait", "sem_clockwait",
    "pthread_join", "pthread_tryjoin_np", "pthread_timedjoin_np",
    "pthread_clockjoin_np",
    "nanosleep", "clock_nanosleep", "usleep", "sleep",
    "read", "write", "readv", "writev", "pread", "pwrite", "pread64",
    "pwrite64", "recv", "recvfrom", "recvmsg", "send", "sendto", "sendmsg",
    "accept", "accept4", "connect", "poll", "ppoll", "select", "pselect",
    "epoll_wait", "epoll_pwait", "waitpid", "wait4", "fsync", "fdatasync",
    "__read_chk", "__pread_chk", "__pread64_chk", "__recv_chk",
    "__recvfrom_chk", "__poll_chk", "__ppoll_chk",
};

static void *_Atomic reals[R__COUNT];

static void *resolve(enum real_id id)
{
    void *f = NULL;
    const char *name = real_names[id];
    if (id == R_COND_WAIT || id == R_COND_TIMEDWAIT)
        f = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
    if (!f)
        f = dlsym(RTLD_NEXT, name);
    if (f)
        atomic_store_explicit(&reals[id], f, memory_order_relaxed);
    return f;
}

static inline void *real(enum real_id id)
{
    void *f = atomic_load_explicit(&reals[id], memory_order_relaxed);
    return __builtin_expect(f != NULL, 1) ? f : resolve(id);
}

void cp_sync_init(void)
{
    for (int i = 0; i < R__COUNT; i++)
        real((enum real_id)i);
}

/* cprof's own locking (cp_lock.h): glibc's, never recorded */
int cp_mutex_lock(pthread_mutex_t *m)
{
    return ((int (*)(pthread_mutex_t *))real(R_MUTEX_LOCK))(m);
}

int cp_mutex_trylock(pthread_mutex_t *m)
{
    return ((int (*)(pthread_mutex_t *))real(R_MUTEX_TRYLOCK))(m);
}

int cp_mutex_unlock(pthread_mutex_t *m)
{
    return ((int (*)(pthread_mutex_t *))real(R_MUTEX_UNLOCK))(m);
}

/* ---- subscribers ---- */

static void recompute_locked(void)
{
    unsigned active = 0;
    int64_t min_ns = INT64_MAX;
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        const struct cp_sync_hooks *h = atomic_load(&subs[i]);
        if (!h)
            continue;
        active |= h->kinds;
        if ((h->kinds & CP_SYNC_BIT(CP_SYNC_SYSCALL)) && h->on_wait &&
            h->min_ns < min_ns)
            min_ns = h->min_ns;
    }
    if (min_ns < 0)
        min_ns = 0;
    /* INT64_MAX: nobody has on_wait for system calls (the wall-clock
     * profiler only wants on_enter/on_leave), so none is reported */
    atomic_store(&min_syscall_ticks,
                 min_ns == INT64_MAX ? UINT64_MAX
                 : cp_clock_tsc
                     ? (uint64_t)((double)min_ns * cp_clock_hz() / 1e9)
                     : (uint64_t)min_ns);
    atomic_store(&cp_sync_active, active);
}

int cp_sync_subscribe(const struct cp_sync_hooks *h)
{
    int r = -ENOSPC;
    if (!h)
        return -EINVAL;
    cp_clock_init();
    cp_sync_init();
    cp_mutex_lock(&subs_lock);
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        if (atomic_load(&subs[i]) == h) {
            r = 0;
            break;
        }
    }
    for (int i = 0; r < 0 && i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        if (!atomic_load(&subs[i])) {
            atomic_store(&subs[i], h);
            r = 0;
        }
    }
    recompute_locked();
    cp_mutex_unlock(&subs_lock);
    return r;
}

void cp_sync_unsubscribe(const struct cp_sync_hooks *h)
{
    cp_mutex_lock(&subs_lock);
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        if (atomic_load(&subs[i]) == h)
            atomic_store(&subs[i], NULL);
    }
    recompute_locked();
    cp_mutex_unlock(&subs_lock);
}

void cp_sync_atfork_child(void)
{
    pthread_mutex_init(&subs_lock, NULL);
}

void cp_sync_stats(struct cp_sync_stats *out)
{
    out->tried = atomic_load(&st_tried);
    out->waited = atomic_load(&st_waited);
    out->unlocks_reported = atomic_load(&st_unlocks);
}

/* ---- stacks ---- */

static int stack_from(uintptr_t caller, uintptr_t *out, int max)
{
    uintptr_t tmp[96];
    int n = cp_unwind_here(tmp, 96, 0), from = 0, k;

    /* Drop cprof's own frames: everything up to the caller's frame, which
     * the unwinder gives as the return address minus one. */
    for (int i = 0; i < n; i++) {
        if (tmp[i] == caller - 1 || tmp[i] == caller) {
            from = i;
            break;
        }
    }
    k = n - from < max ? n - from : max;
    for (int i = 0; i < k; i++)
        out[i] = tmp[from + i];
    return k > 0 ? k : 0;
}

int cp_sync_stack(struct cp_sync_wait *w, const uintptr_t **pcs)
{
    if (w->n_pcs < 0)
        w->n_pcs = stack_from(w->caller, w->pcs, 64);
    *pcs = w->pcs;
    return w->n_pcs;
}

int cp_sync_unlock_stack(struct cp_sync_unlock *u, const uintptr_t **pcs)
{
    if (u->n_pcs < 0)
        u->n_pcs = stack_from(u->caller, u->pcs, 64);
    *pcs = u->pcs;
    return u->n_pcs;
}

/* ---- contention table (mutex profile) ---- */

#define CT_SLOTS 4096 /* contended objects tracked at once */
#define CT_PROBE 16

struct ct_slot {
    _Atomic uintptr_t obj;
    _Atomic int64_t waiters;
    _Atomic int64_t sum;   /* sum of effective start times (ticks - base) */
    _Atomic int64_t epoch; /* last unlock that ended waits */
    _Atomic uintptr_t token; /* what that unlock's hooks left (on_handoff) */
};

static struct ct_slot ct[CT_SLOTS];
static uint64_t ct_base; /* ticks at the first use, keeps sums small */

static inline int64_t rel(uint64_t t)
{
    return (int64_t)(t - ct_base);
}

static struct ct_slot *ct_find(const void *obj, bool insert)
{
    uintptr_t o = (uintptr_t)obj;
    uint32_t h = (uint32_t)((o >> 4) * 0x9e3779b1u) % CT_SLOTS;
    struct ct_slot *free_slot = NULL;

    for (int i = 0; i < CT_PROBE; i++) {
        struct ct_slot *s = &ct[(h + (uint32_t)i) % CT_SLOTS];
        uintptr_t cur = atomic_load_explicit(&s->obj, memory_order_acquire);
        if (cur == o)
            return s;
        if (!free_slot && (!cur || !atomic_load(&s->waiters)))
            free_slot = s;
        /* A slot's obj never goes back to 0, and an insert takes the first
         * free slot of its probe sequence: obj is not past a never-used
         * slot. This keeps an uncontended unlock at one probe. */
        if (!cur)
            break;
    }
    if (!insert || !free_slot)
        return NULL;
    uintptr_t old = atomic_load(&free_slot->obj);
    if (old == o)
        return free_slot;
    if (atomic_load(&free_slot->waiters))
        return NULL;
    if (!atomic_compare_exchange_strong(&free_slot->obj, &old, o))
        return old == o ? free_slot : NULL; /* another waiter of obj won */
    return free_slot;
}

/* A waiter begins / ends waiting on obj. */
static struct ct_slot *ct_wait_begin(const void *obj, uint64_t start)
{
    struct ct_slot *s;
    if (!ct_base)
        ct_base = start;
    s = ct_find(obj, true);
    if (!s)
        return NULL;
    atomic_fetch_add(&s->waiters, 1);
    if (atomic_load(&s->obj) != (uintptr_t)obj) { /* slot taken over */
        atomic_fetch_sub(&s->waiters, 1);
        return NULL;
    }
    atomic_fetch_add(&s->sum, rel(start));
    return s;
}

static void dispatch_handoff(uintptr_t token, uint64_t ticks);

/* took: the waiter now holds the lock. */
static void ct_wait_end(struct ct_slot *s, uint64_t start, bool took)
{
    int64_t st = rel(start), ep = atomic_load(&s->epoch), now;
    uintptr_t token = atomic_load(&s->token);
    /* after an unlock reset the sum, this waiter counts from that unlock */
    atomic_fetch_sub(&s->sum, st > ep ? st : ep);
    atomic_fetch_sub(&s->waiters, 1);
    /* The unlock that let this waiter in counted its waiting up to the
     * unlock; the hand-off that followed (the waiter's wake-up, long on a
     * loaded machine) is the holder's doing too: it goes to that unlock's
     * record. */
    if (took && token && ep > st) {
        now = rel(cp_clock_ticks());
        if (now > ep)
            dispatch_handoff(token, (uint64_t)(now - ep));
    }
}

/* Before a real unlock: the waiting the current waiters did since the
 * previous unlock (or since they started). Returns obj's slot when there
 * were waiters. */
static struct ct_slot *ct_unlock(const void *obj, struct cp_sync_unlock *u)
{
    struct ct_slot *s = ct_find(obj, false);
    int64_t n, now, old, delay;

    if (!s)
        return NULL;
    n = atomic_load(&s->waiters);
    if (n <= 0)
        return NULL;
    atomic_store(&s->token, 0); /* until this unlock's hooks say */
    u->now = cp_clock_ticks();
    now = rel(u->now);
    old = atomic_load(&s->sum);
    while (!atomic_compare_exchange_weak(&s->sum, &old, n * now))
        ;
    atomic_store(&s->epoch, now);
    delay = n * now - old;
    u->delay = delay > 0 ? (uint64_t)delay : 0;
    u->waiters = (int)n;
    u->token = 0;
    return s;
}

/* ---- dispatch ---- */

static inline bool want(unsigned bit)
{
    return __builtin_expect(
        (atomic_load_explicit(&cp_sync_active, memory_order_relaxed) & bit) !=
            0,
        0);
}

static inline bool skip_thread(void)
{
    return cp_tls.internal || cp_tls.in_cprof;
}

/* frame is the interposer's own frame address: libcprof is built with
 * frame pointers, so [frame] holds the caller's frame pointer, [frame + 8]
 * the return address, and the caller's stack pointer after the call
 * returns is frame + 16. */
static void wait_init(struct cp_sync_wait *w, enum cp_sync_kind kind,
                      const char *call, const void *obj, uintptr_t caller,
                      const uintptr_t *frame)
{
    w->kind = kind;
    w->call = call;
    w->obj = obj;
    w->start = cp_clock_ticks();
    w->end = 0;
    w->ret = 0;
    w->caller = caller;
    w->sp = (uintptr_t)(frame + 2);
    w->fp = frame[0];
    w->n_pcs = -1;
}

static void dispatch_enter(struct cp_sync_wait *w)
{
    if (!want(CP_SYNC_ENTER_BIT))
        return;
    cp_tls.in_cprof++;
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        const struct cp_sync_hooks *h = atomic_load(&subs[i]);
        if (h && h->on_enter && (h->kinds & CP_SYNC_BIT(w->kind)))
            h->on_enter(w, h->arg);
    }
    cp_tls.in_cprof--;
}

/* After the call returned with ret. Saves and restores errno. */
static void dispatch_wait(struct cp_sync_wait *w, int ret)
{
    int saved = errno;

    w->end = cp_clock_ticks();
    w->ret = ret;
    cp_tls.in_cprof++;
    if (w->kind != CP_SYNC_SYSCALL ||
        w->end - w->start >= atomic_load_explicit(&min_syscall_ticks,
                                                  memory_order_relaxed)) {
        atomic_fetch_add_explicit(&st_waited, 1, memory_order_relaxed);
        for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
            const struct cp_sync_hooks *h = atomic_load(&subs[i]);
            if (h && h->on_wait && (h->kinds & CP_SYNC_BIT(w->kind)))
                h->on_wait(w, h->arg);
        }
    }
    if (want(CP_SYNC_ENTER_BIT)) {
        for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
            const struct cp_sync_hooks *h = atomic_load(&subs[i]);
            if (h && h->on_leave && (h->kinds & CP_SYNC_BIT(w->kind)))
                h->on_leave(w, h->arg);
        }
    }
    cp_tls.in_cprof--;
    errno = saved;
}

static void dispatch_handoff(uintptr_t token, uint64_t ticks)
{
    int saved = errno;
    cp_tls.in_cprof++;
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        const struct cp_sync_hooks *h = atomic_load(&subs[i]);
        if (h && h->on_handoff && (h->kinds & CP_SYNC_UNLOCK_BIT))
            h->on_handoff(token, ticks, h->arg);
    }
    cp_tls.in_cprof--;
    errno = saved;
}

static void dispatch_unlock(struct cp_sync_unlock *u)
{
    int saved = errno;
    cp_tls.in_cprof++;
    atomic_fetch_add_explicit(&st_unlocks, 1, memory_order_relaxed);
    for (int i = 0; i < CP_SYNC_MAX_SUBSCRIBERS; i++) {
        const struct cp_sync_hooks *h = atomic_load(&subs[i]);
        if (h && h->on_unlock && (h->kinds & CP_SYNC_UNLOCK_BIT))
            h->on_unlock(u, h->arg);
    }
    cp_tls.in_cprof--;
    errno = saved;
}

/* ---- locks: try first, time only what would block ---- */

typedef int lock_fn(void *);
typedef int lock_abs_fn(void *, const struct timespec *);
typedef int lock_clk_fn(void *, clockid_t, const struct timespec *);

#define RA() ((uintptr_t)__builtin_return_address(0))
#define FRAME() ((const uintptr_t *)__builtin_frame_address(0))

/* Shared slow path of every lock-like call: obj could not be taken at
 * once. call_real() performs the blocking call. */
#define BLOCKING_LOCK_AT(kind, name, obj, try_expr, call_real, ra, frame)  \
    do {                                                                    \
        int r_;                                                             \
        struct cp_sync_wait w_;                                             \
        struct ct_slot *ct_ = NULL;                                         \
        r_ = (try_expr);                                                    \
        if (r_ != EBUSY || skip_thread())                                   \
            return r_ == EBUSY ? (call_real) : r_;                          \
        /* counted only here: a shared counter on the uncontended path    \
         * would bounce its cache line between every locking thread */     \
        atomic_fetch_add_explicit(&st_tried, 1, memory_order_relaxed);      \
        wait_init(&w_, kind, name, obj, (ra), (frame));                     \
        if (want(CP_SYNC_UNLOCK_BIT))                                       \
            ct_ = ct_wait_begin(obj, w_.start);                             \
        dispatch_enter(&w_);                                                \
        r_ = (call_real);                                                   \
        if (ct_)                                                            \
            ct_wait_end(ct_, w_.start, r_ == 0 && kind != CP_SYNC_JOIN);    \
        if (r_ != EDEADLK && r_ != EINVAL)                                  \
            dispatch_wait(&w_, r_);                                         \
        return r_;                                                          \
    } while (0)
#define BLOCKING_LOCK(kind, name, obj, try_expr, call_real)                  \
    BLOCKING_LOCK_AT(kind, name, obj, try_expr, call_real, RA(), FRAME())

/* The hottest two interposers keep their slow path in a function of its
 * own: with the wait record (half a KiB) in the same frame, every call
 * paid for saving four registers and a large frame, ~23 instructions
 * each way, also with nothing subscribed. */
__attribute__((noinline)) static int mutex_lock_slow(pthread_mutex_t *m,
                                                     lock_fn *f, uintptr_t ra,
                                                     const uintptr_t *frame)
{
    BLOCKING_LOCK_AT(CP_SYNC_MUTEX, "pthread_mutex_lock", m,
                     ((lock_fn *)real(R_MUTEX_TRYLOCK))(m), f(m), ra, frame);
}

CP_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    lock_fn *f = (lock_fn *)real(R_MUTEX_LOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_MUTEX)))
        return f(m);
    return mutex_lock_slow(m, f, RA(), FRAME());
}

CP_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m,
                                      const struct timespec *abs)
{
    lock_abs_fn *f = (lock_abs_fn *)real(R_MUTEX_TIMEDLOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_MUTEX)))
        return f(m, abs);
    BLOCKING_LOCK(CP_SYNC_MUTEX, "pthread_mutex_timedlock", m,
                  ((lock_fn *)real(R_MUTEX_TRYLOCK))(m), f(m, abs));
}

CP_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
                                      const struct timespec *abs)
{
    lock_clk_fn *f = (lock_clk_fn *)real(R_MUTEX_CLOCKLOCK);
    if (!f)
        return ENOSYS;
    if (!want(CP_SYNC_BIT(CP_SYNC_MUTEX)))
        return f(m, clk, abs);
    BLOCKING_LOCK(CP_SYNC_MUTEX, "pthread_mutex_clocklock", m,
                  ((lock_fn *)real(R_MUTEX_TRYLOCK))(m), f(m, clk, abs));
}

/* An unlock that ends waits is the mutex profile's event: the delay is
 * computed before the real unlock (the waiters are still waiting), the
 * hooks run after it, outside the critical section. may_wait: false when
 * the lock itself says nobody waits (the contention table is not looked
 * at: the uncontended unlock stays a load and a branch). */
#define UNLOCK_BODY_AT(kind_, name_, obj_, may_wait, call_real, ra)        \
    do {                                                                    \
        struct cp_sync_unlock u_;                                           \
        struct ct_slot *rep_;                                               \
        int r_;                                                             \
        if (!want(CP_SYNC_UNLOCK_BIT) || !(may_wait) || skip_thread())      \
            return (call_real);                                             \
        rep_ = ct_unlock(obj_, &u_);                                        \
        r_ = (call_real);                                                   \
        if (rep_ && r_ == 0) {                                              \
            u_.kind = kind_;                                                \
            u_.call = name_;                                                \
            u_.obj = obj_;                                                  \
            u_.caller = (ra);                                               \
            u_.n_pcs = -1;                                                  \
            dispatch_unlock(&u_);                                           \
            atomic_store(&rep_->token, u_.token);                           \
        }                                                                   \
        return r_;                                                          \
    } while (0)
#define UNLOCK_BODY(kind_, name_, obj_, may_wait, call_real)                \
    UNLOCK_BODY_AT(kind_, name_, obj_, may_wait, call_real, RA())

__attribute__((noinline)) static int mutex_unlock_slow(pthread_mutex_t *m,
                                                       lock_fn *f,
                                                       uintptr_t ra)
{
    UNLOCK_BODY_AT(CP_SYNC_MUTEX, "pthread_mutex_unlock", m, true, f(m), ra);
}

CP_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    lock_fn *f = (lock_fn *)real(R_MUTEX_UNLOCK);
    /* glibc's lock word of a normal, recursive, error-checking or
     * adaptive mutex is 1 while held with nobody waiting, 2 once a waiter
     * went to sleep on it (bits/struct_mutex.h's __lock, lll_lock); a
     * robust or priority-inheriting one holds the owner's tid. A waiter
     * that is about to sleep but has not yet set 2 is missed by this
     * unlock: its wait so far (microseconds) is charged to nobody. */
    if (!want(CP_SYNC_UNLOCK_BIT) ||
        __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 1)
        return f(m);
    return mutex_unlock_slow(m, f, RA());
}

CP_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    lock_fn *f = (lock_fn *)real(R_RW_RDLOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_RD)))
        return f(l);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_RD, "pthread_rwlock_rdlock", l,
                  ((lock_fn *)real(R_RW_TRYRDLOCK))(l), f(l));
}

CP_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    lock_fn *f = (lock_fn *)real(R_RW_WRLOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_WR)))
        return f(l);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_WR, "pthread_rwlock_wrlock", l,
                  ((lock_fn *)real(R_RW_TRYWRLOCK))(l), f(l));
}

CP_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
                                         const struct timespec *abs)
{
    lock_abs_fn *f = (lock_abs_fn *)real(R_RW_TIMEDRDLOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_RD)))
        return f(l, abs);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_RD, "pthread_rwlock_timedrdlock", l,
                  ((lock_fn *)real(R_RW_TRYRDLOCK))(l), f(l, abs));
}

CP_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
                                         const struct timespec *abs)
{
    lock_abs_fn *f = (lock_abs_fn *)real(R_RW_TIMEDWRLOCK);
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_WR)))
        return f(l, abs);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_WR, "pthread_rwlock_timedwrlock", l,
                  ((lock_fn *)real(R_RW_TRYWRLOCK))(l), f(l, abs));
}

CP_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *abs)
{
    lock_clk_fn *f = (lock_clk_fn *)real(R_RW_CLOCKRDLOCK);
    if (!f)
        return ENOSYS;
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_RD)))
        return f(l, clk, abs);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_RD, "pthread_rwlock_clockrdlock", l,
                  ((lock_fn *)real(R_RW_TRYRDLOCK))(l), f(l, clk, abs));
}

CP_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *abs)
{
    lock_clk_fn *f = (lock_clk_fn *)real(R_RW_CLOCKWRLOCK);
    if (!f)
        return ENOSYS;
    if (!want(CP_SYNC_BIT(CP_SYNC_RWLOCK_WR)))
        return f(l, clk, abs);
    BLOCKING_LOCK(CP_SYNC_RWLOCK_WR, "pthread_rwlock_clockwrlock", l,
                  ((lock_fn *)real(R_RW_TRYWRLOCK))(l), f(l, clk, abs));
}

CP_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    lock_fn *f = (lock_fn *)real(R_RW_UNLOCK);
    UNLOCK_BODY(CP_SYNC_RWLOCK_WR, "pthread_rwlock_unlock", l, true, f(l));
}

/* ---- waits that always block ---- */

#define ALWAYS_WAITS(kind, name, obj, ret_t, call_real, ret_as_int)          \
    do {                                                                    \
        struct cp_sync_wait w_;                                             \
        ret_t r_;                                                           \
        if (skip_thread())                                                  \
            return (call_real);                                             \
        atomic_fetch_add_explicit(&st_tried, 1, memory_order_relaxed);      \
        wait_init(&w_, kind, name, obj, RA(), FRAME());                     \
        dispatch_enter(&w_);                                                \
        r_ = (call_real);                                                   \
        dispatch_wait(&w_, (ret_as_int));                                   \
        return r_;                                                          \
    } while (0)

typedef int cond_fn(pthread_cond_t *, pthread_mutex_t *);
typedef int cond_abs_fn(pthread_cond_t *, pthread_mutex_t *,
                        const struct timespec *);
typedef int cond_clk_fn(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                        const struct timespec *);

CP_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    cond_fn *f = (cond_fn *)real(R_COND_WAIT);
    if (!want(CP_SYNC_BIT(CP_SYNC_COND)))
        return f(c, m);
    ALWAYS_WAITS(CP_SYNC_COND, "pthread_cond_wait", c, int, f(c, m), r_);
}

CP_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abs)
{
    cond_abs_fn *f = (cond_abs_fn *)real(R_COND_TIMEDWAIT);
    if (!want(CP_SYNC_BIT(CP_SYNC_COND)))
        return f(c, m, abs);
    ALWAYS_WAITS(CP_SYNC_COND, "pthread_cond_timedwait", c, int,
                 f(c, m, abs), r_);
}

CP_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     clockid_t clk, const struct timespec *abs)
{
    cond_clk_fn *f = (cond_clk_fn *)real(R_COND_CLOCKWAIT);
    if (!f)
        return ENOSYS;
    if (!want(CP_SYNC_BIT(CP_SYNC_COND)))
        return f(c, m, clk, abs);
    ALWAYS_WAITS(CP_SYNC_COND, "pthread_cond_clockwait", c, int,
                 f(c, m, clk, abs), r_);
}

typedef int sem_fn(sem_t *);
typedef int sem_abs_fn(sem_t *, const struct timespec *);
typedef int sem_clk_fn(sem_t *, clockid_t, const struct timespec *);

/* sem_trywait says "would block" with -1/EAGAIN; the macro wants EBUSY. */
static int sem_try(sem_t *s)
{
    int e = errno, r = ((sem_fn *)real(R_SEM_TRYWAIT))(s);
    if (r == 0)
        return 0;
    r = errno == EAGAIN ? EBUSY : -1;
    errno = e;
    return r;
}

CP_EXPORT int sem_wait(sem_t *s)
{
    sem_fn *f = (sem_fn *)real(R_SEM_WAIT);
    if (!want(CP_SYNC_BIT(CP_SYNC_SEM)) || skip_thread())
        return f(s);
    int t = sem_try(s);
    if (t == 0)
        return 0;
    if (t != EBUSY)
        return f(s); /* EINVAL and the like: let the real call say it */
    ALWAYS_WAITS(CP_SYNC_SEM, "sem_wait", s, int, f(s), r_ ? errno : 0);
}

CP_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    sem_abs_fn *f = (sem_abs_fn *)real(R_SEM_TIMEDWAIT);
    if (!want(CP_SYNC_BIT(CP_SYNC_SEM)) || skip_thread())
        return f(s, abs);
    int t = sem_try(s);
    if (t == 0)
        return 0;
    if (t != EBUSY)
        return f(s, abs);
    ALWAYS_WAITS(CP_SYNC_SEM, "sem_timedwait", s, int, f(s, abs),
                 r_ ? errno : 0);
}

CP_EXPORT int sem_clockwait(sem_t *s, clockid_t clk,
                            const struct timespec *abs)
{
    sem_clk_fn *f = (sem_clk_fn *)real(R_SEM_CLOCKWAIT);
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    if (!want(CP_SYNC_BIT(CP_SYNC_SEM)) || skip_thread())
        return f(s, clk, abs);
    int t = sem_try(s);
    if (t == 0)
        return 0;
    if (t != EBUSY)
        return f(s, clk, abs);
    ALWAYS_WAITS(CP_SYNC_SEM, "sem_clockwait", s, int, f(s, clk, abs),
                 r_ ? errno : 0);
}

typedef int join_fn(pthread_t, void **);
typedef int join_abs_fn(pthread_t, void **, const struct timespec *);
typedef int join_clk_fn(pthread_t, void **, clockid_t,
                        const struct timespec *);

CP_EXPORT int pthread_join(pthread_t t, void **ret)
{
    join_fn *f = (join_fn *)real(R_JOIN);
    if (!want(CP_SYNC_BIT(CP_SYNC_JOIN)))
        return f(t, ret);
    BLOCKING_LOCK(CP_SYNC_JOIN, "pthread_join", (const void *)t,
                  ((join_fn *)real(R_TRYJOIN))(t, ret), f(t, ret));
}

CP_EXPORT int pthread_timedjoin_np(pthread_t t, void **ret,
                                   const struct timespec *abs)
{
    join_abs_fn *f = (join_abs_fn *)real(R_TIMEDJOIN);
    if (!want(CP_SYNC_BIT(CP_SYNC_JOIN)))
        return f(t, ret, abs);
    BLOCKING_LOCK(CP_SYNC_JOIN, "pthread_timedjoin_np", (const void *)t,
                  ((join_fn *)real(R_TRYJOIN))(t, ret), f(t, ret, abs));
}

CP_EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
                                   const struct timespec *abs)
{
    join_clk_fn *f = (join_clk_fn *)real(R_CLOCKJOIN);
    if (!f)
        return ENOSYS;
    if (!want(CP_SYNC_BIT(CP_SYNC_JOIN)))
        return f(t, ret, clk, abs);
    BLOCKING_LOCK(CP_SYNC_JOIN, "pthread_clockjoin_np", (const void *)t,
                  ((join_fn *)real(R_TRYJOIN))(t, ret),
                  f(t, ret, clk, abs));
}

/* ---- sleeps ---- */

typedef int nanosleep_fn(const struct timespec *, struct timespec *);
typedef int clock_nanosleep_fn(clockid_t, int, const struct timespec *,
                               struct timespec *);
typedef int usleep_fn(useconds_t);
typedef unsigned sleep_fn(unsigned);

#define SLEEP_BIT CP_SYNC_BIT(CP_SYNC_SLEEP)

CP_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    nanosleep_fn *f = (nanosleep_fn *)real(R_NANOSLEEP);
    if (!want(SLEEP_BIT))
        return f(req, rem);
    ALWAYS_WAITS(CP_SYNC_SLEEP, "nanosleep", NULL, int, f(req, rem), r_);
}

CP_EXPORT int clock_nanosleep(clockid_t clk, int flags,
                              const struct timespec *req,
                              struct timespec *rem)
{
    clock_nanosleep_fn *f = (clock_nanosleep_fn *)real(R_CLOCK_NANOSLEEP);
    if (!want(SLEEP_BIT))
        return f(clk, flags, req, rem);
    ALWAYS_WAITS(CP_SYNC_SLEEP, "clock_nanosleep", NULL, int,
                 f(clk, flags, req, rem), r_);
}

CP_EXPORT int usleep(useconds_t us)
{
    usleep_fn *f = (usleep_fn *)real(R_USLEEP);
    if (!want(SLEEP_BIT))
        return f(us);
    ALWAYS_WAITS(CP_SYNC_SLEEP, "usleep", NULL, int, f(us), r_);
}

CP_EXPORT unsigned sleep(unsigned s)
{
    sleep_fn *f = (sleep_fn *)real(R_SLEEP);
    if (!want(SLEEP_BIT))
        return f(s);
    ALWAYS_WAITS(CP_SYNC_SLEEP, "sleep", NULL, unsigned, f(s), (int)r_);
}

/* ---- blocking system calls ---- */

#define SYSCALL_BIT CP_SYNC_BIT(CP_SYNC_SYSCALL)

/* Define an interposer for name(params) returning ret_t; obj is the fd. */
#define SYSCALL_WRAP(ret_t, name, id, params, args, fd)                      \
    CP_EXPORT ret_t name params                                             \
    {                                                                       \
        typedef ret_t fn_t params;                                          \
        fn_t *f = (fn_t *)real(id);                                         \
        if (!f) {                                                           \
            errno = ENOSYS;                                                 \
            return (ret_t)-1;                                               \
        }                                                                   \
        if (!want(SYSCALL_BIT))                                             \
            return f args;                                                  \
        ALWAYS_WAITS(CP_SYNC_SYSCALL, #name,                                \
                     (const void *)(intptr_t)(fd), ret_t, f args,            \
                     r_ < 0 ? -1 : 0);                                      \
    }

SYSCALL_WRAP(ssize_t, read, R_READ, (int fd, void *b, size_t n), (fd, b, n),
             fd)
SYSCALL_WRAP(ssize_t, write, R_WRITE, (int fd, const void *b, size_t n),
             (fd, b, n), fd)
SYSCALL_WRAP(ssize_t, readv, R_READV,
             (int fd, const struct iovec *v, int n), (fd, v, n), fd)
SYSCALL_WRAP(ssize_t, writev, R_WRITEV,
             (int fd, const struct iovec *v, int n), (fd, v, n), fd)
SYSCALL_WRAP(ssize_t, pread, R_PREAD,
             (int fd, void *b, size_t n, off_t o), (fd, b, n, o), fd)
SYSCALL_WRAP(ssize_t, pwrite, R_PWRITE,
             (int fd, const void *b, size_t n, off_t o), (fd, b, n, o), fd)
SYSCALL_WRAP(ssize_t, pread64, R_PREAD64,
             (int fd, void *b, size_t n, off64_t o), (fd, b, n, o), fd)
SYSCALL_WRAP(ssize_t, pwrite64, R_PWRITE64,
             (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o), fd)
SYSCALL_WRAP(ssize_t, recv, R_RECV, (int fd, void *b, size_t n, int fl),
             (fd, b, n, fl), fd)
SYSCALL_WRAP(ssize_t, recvfrom, R_RECVFROM,
             (int fd, void *b, size_t n, int fl, struct sockaddr *a,
              socklen_t *al),
             (fd, b, n, fl, a, al), fd)
SYSCALL_WRAP(ssize_t, recvmsg, R_RECVMSG,
             (int fd, struct msghdr *m, int fl), (fd, m, fl), fd)
SYSCALL_WRAP(ssize_t, send, R_SEND,
             (int fd, const void *b, size_t n, int fl), (fd, b, n, fl), fd)
SYSCALL_WRAP(ssize_t, sendto, R_SENDTO,
             (int fd, const void *b, size_t n, int fl,
              const struct sockaddr *a, socklen_t al),
             (fd, b, n, fl, a, al), fd)
SYSCALL_WRAP(ssize_t, sendmsg, R_SENDMSG,
             (int fd, const struct msghdr *m, int fl), (fd, m, fl), fd)
SYSCALL_WRAP(int, accept, R_ACCEPT,
             (int fd, struct sockaddr *a, socklen_t *al), (fd, a, al), fd)
SYSCALL_WRAP(int, accept4, R_ACCEPT4,
             (int fd, struct sockaddr *a, socklen_t *al, int fl),
             (fd, a, al, fl), fd)
SYSCALL_WRAP(int, connect, R_CONNECT,
             (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al),
             fd)
SYSCALL_WRAP(int, poll, R_POLL, (struct pollfd *p, nfds_t n, int ms),
             (p, n, ms), -1)
SYSCALL_WRAP(int, ppoll, R_PPOLL,
             (struct pollfd *p, nfds_t n, const struct timespec *t,
              const sigset_t *s),
             (p, n, t, s), -1)
SYSCALL_WRAP(int, select, R_SELECT,
             (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),
             (n, r, w, e, t), -1)
SYSCALL_WRAP(int, pselect, R_PSELECT,
             (int n, fd_set *r, fd_set *w, fd_set *e,
              const struct timespec *t, const sigset_t *s),
             (n, r, w, e, t, s), -1)
SYSCALL_WRAP(int, epoll_wait, R_EPOLL_WAIT,
             (int fd, struct epoll_event *e, int n, int ms), (fd, e, n, ms),
             fd)
SYSCALL_WRAP(int, epoll_pwait, R_EPOLL_PWAIT,
             (int fd, struct epoll_event *e, int n, int ms,
              const sigset_t *s),
             (fd, e, n, ms, s), fd)
SYSCALL_WRAP(pid_t, waitpid, R_WAITPID, (pid_t p, int *st, int o),
             (p, st, o), -1)
SYSCALL_WRAP(pid_t, wait4, R_WAIT4,
             (pid_t p, int *st, int o, struct rusage *ru), (p, st, o, ru), -1)
SYSCALL_WRAP(int, fsync, R_FSYNC, (int fd), (fd), fd)
SYSCALL_WRAP(int, fdatasync, R_FDATASYNC, (int fd), (fd), fd)
/* _FORTIFY_SOURCE builds call these instead of read, recv, poll... */
SYSCALL_WRAP(ssize_t, __read_chk, R_READ_CHK,
             (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl), fd)
SYSCALL_WRAP(ssize_t, __pread_chk, R_PREAD_CHK,
             (int fd, void *b, size_t n, off_t o, size_t bl),
             (fd, b, n, o, bl), fd)
SYSCALL_WRAP(ssize_t, __pread64_chk, R_PREAD64_CHK,
             (int fd, void *b, size_t n, off64_t o, size_t bl),
             (fd, b, n, o, bl), fd)
SYSCALL_WRAP(ssize_t, __recv_chk, R_RECV_CHK,
             (int fd, void *b, size_t n, size_t bl, int fl),
             (fd, b, n, bl, fl), fd)
SYSCALL_WRAP(ssize_t, __recvfrom_chk, R_RECVFROM_CHK,
             (int fd, void *b, size_t n, size_t bl, int fl,
              struct sockaddr *a, socklen_t *al),
             (fd, b, n, bl, fl, a, al), fd)
SYSCALL_WRAP(int, __poll_chk, R_POLL_CHK,
             (struct pollfd *p, nfds_t n, int ms, size_t pl), (p, n, ms, pl),
             -1)
SYSCALL_WRAP(int, __ppoll_chk, R_PPOLL_CHK,
             (struct pollfd *p, nfds_t n, const struct timespec *t,
              const sigset_t *s, size_t pl),
             (p, n, t, s, pl), -1)
