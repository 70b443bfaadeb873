/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * wallsig.c - the wall-clock profiler's side on the program's threads
 * (wallsig.h): slots, the publishing hooks, the answer handler, and the
 * triggers the sampler arms. The hooks and the handler run on the
 * program's threads, maybe in signal context: they take no lock, allocate
 * nothing, and find their slot through one initial-exec TLS pointer.
 */
#include "wallsig.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sampler.h"
#include "sigsafe.h"
#include "snapsig.h"
#include "sync.h"
#include "thread_reg.h"
#include "unwinder.h"

/* Tags our timers' signals (low 16 bits: the slot). */
#define WALL_MAGIC 0x77610000

static struct cp_wall_slot *_Atomic slots;
static _Atomic int hwm;         /* slots ever claimed: scans stop here */
static _Atomic uint32_t gen = 1; /* bumped by every claim */
static int wall_signal;
static _Atomic uint64_t st_answers, st_stray, st_published;
/* Taken around a claim (scan, then take a free slot) so one tid never gets
 * two slots. The sampler spins on it; a thread claiming its own slot in a
 * hook only tries it (the hook may have interrupted a claim on the same
 * thread), and publishes nothing this time if it is busy. */
static atomic_flag claim_lock = ATOMIC_FLAG_INIT;

/* The calling thread's slot, and the claim generation at which it last
 * failed to get one (every slot taken: it tries again after a release,
 * not on every call). */
static CP_TLS struct cp_wall_slot *my_slot;
static CP_TLS uint32_t my_miss_gen;

static int my_tid(void)
{
    if (!cp_tls.tid)
        cp_tls.tid = cp_gettid();
    return cp_tls.tid;
}

/* With claim_lock held: tid's slot, found or newly taken (its
 * publication reset), or -ENOSPC. */
static int claim_locked(int tid)
{
    struct cp_wall_slot *all = atomic_load(&slots);
    int n = atomic_load(&hwm);

    if (!all)
        return -ENOSPC;
    for (int i = 0; i < n; i++) {
        if (atomic_load_explicit(&all[i].tid, memory_order_acquire) == tid)
            return i;
    }
    for (int i = 0; i < CP_WALL_MAX_THREADS; i++) {
        struct cp_wall_slot *s = &all[i];
        if (i < n && atomic_load(&s->tid))
            continue;
        atomic_store(&s->seq, 0);
        atomic_store(&s->depth, 0);
        atomic_store(&s->state, CP_WSLOT_FREE);
        atomic_store(&s->perf_fd, -1);
        s->n = 0;
        atomic_store_explicit(&s->tid, tid, memory_order_release);
        if (i >= n)
            atomic_store(&hwm, i + 1);
        atomic_fetch_add_explicit(&gen, 1, memory_order_release);
        return i;
    }
    return -ENOSPC;
}

/* The calling thread's slot, claimed on first use: a thread that blocks
 * right after it starts is published before the sampler first sees it. */
static struct cp_wall_slot *self_slot(void)
{
    struct cp_wall_slot *s = my_slot, *all;
    int tid = my_tid(), i;
    uint32_t g;

    if (s && atomic_load_explicit(&s->tid, memory_order_acquire) == tid)
        return s;
    g = atomic_load_explicit(&gen, memory_order_acquire);
    if (my_miss_gen == g)
        return NULL;
    all = atomic_load_explicit(&slots, memory_order_acquire);
    if (!all || atomic_flag_test_and_set_explicit(&claim_lock,
                                                   memory_order_acquire))
        return NULL;
    i = claim_locked(tid);
    atomic_flag_clear_explicit(&claim_lock, memory_order_release);
    if (i < 0) {
        my_slot = NULL;
        my_miss_gen = g;
        return NULL;
    }
    my_slot = &all[i];
    return my_slot;
}

/* ---- publication (sync.h hooks) ---- */

static void on_enter(struct cp_sync_wait *w, void *arg)
{
    struct cp_wall_slot *s = self_slot();
    uint32_t d, seq;

    (void)arg;
    if (!s)
        return;
    d = atomic_load_explicit(&s->depth, memory_order_relaxed);
    seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    /* Inside a published call already: a nested call (a signal handler
     * interrupting it) runs below that call's frame. One at or above it
     * means the published call was left without on_leave (a longjmp out
     * of a handler, a cancellation): forget it. */
    if (d && (seq & 1) &&
        w->sp >= atomic_load_explicit(&s->sp, memory_order_relaxed)) {
        atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
        seq++;
        d = 0;
    }
    atomic_store_explicit(&s->depth, d + 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (d)
        return; /* nested: the outer call stays published */
    if (seq & 1)
        seq++; /* left odd by a thread that died inside a call */
    atomic_store_explicit(&s->pc, w->caller, memory_order_relaxed);
    atomic_store_explicit(&s->sp, w->sp, memory_order_relaxed);
    atomic_store_explicit(&s->fp, w->fp, memory_order_relaxed);
    atomic_store_explicit(&s->call, w->call, memory_order_relaxed);
    atomic_store_explicit(&s->kind, (int)w->kind, memory_order_relaxed);
    atomic_store_explicit(&s->cpu, sched_getcpu(), memory_order_relaxed);
    atomic_store_explicit(&s->labels, cp_tls.labels, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
    atomic_fetch_add_explicit(&st_published, 1, memory_order_relaxed);
}

static void on_leave(struct cp_sync_wait *w, void *arg)
{
    struct cp_wall_slot *s = self_slot();
    uint32_t d, seq;

    (void)w;
    (void)arg;
    if (!s)
        return;
    d = atomic_load_explicit(&s->depth, memory_order_relaxed);
    if (!d)
        return;
    if (d == 1) {
        /* even first, then depth: a handler arriving in between sees a
         * call in progress and does not publish over it */
        seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
        if (seq & 1)
            atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
        atomic_signal_fence(memory_order_seq_cst);
    }
    atomic_store_explicit(&s->depth, d - 1, memory_order_relaxed);
}

const struct cp_sync_hooks cp_wallsig_hooks = {
    .kinds = CP_SYNC_ALL_WAITS | CP_SYNC_ENTER_BIT,
    .min_ns = INT64_MAX,
    .on_enter = on_enter,
    .on_leave = on_leave,
};

bool cp_wallsig_read(int i, struct cp_wall_pub *out)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    uint32_t a, b;

    if (!s)
        return false;
    a = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (!(a & 1))
        return false;
    out->pc = atomic_load_explicit(&s->pc, memory_order_relaxed);
    out->sp = atomic_load_explicit(&s->sp, memory_order_relaxed);
    out->fp = atomic_load_explicit(&s->fp, memory_order_relaxed);
    out->call = atomic_load_explicit(&s->call, memory_order_relaxed);
    out->kind = atomic_load_explicit(&s->kind, memory_order_relaxed);
    out->cpu = atomic_load_explicit(&s->cpu, memory_order_relaxed);
    out->labels = atomic_load_explicit(&s->labels, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    b = atomic_load_explicit(&s->seq, memory_order_relaxed);
    out->seq = a;
    return a == b;
}

bool cp_wallsig_same(int i, uint32_t seq)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    atomic_thread_fence(memory_order_acquire);
    return s && atomic_load_explicit(&s->seq, memory_order_relaxed) == seq;
}

/* ---- the answer handler ---- */

static void wall_handler(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    const ucontext_t *uc = ucv;
    struct cp_wall_slot *s = NULL, *all = atomic_load(&slots);
    struct cp_regs regs;
    uintptr_t hi;
    int tid = my_tid(), armed = CP_WSLOT_ARMED;

    (void)sig;
    if (!all || !uc)
        goto stray;
    if (si->si_code == SI_TIMER) {
        int v = si->si_value.sival_int;
        if ((v & 0xffff0000) != WALL_MAGIC ||
            (v & 0xffff) >= atomic_load(&hwm))
            goto stray;
        s = &all[v & 0xffff];
        if (atomic_load(&s->tid) != tid)
            goto stray;
    } else if (si->si_code == POLL_IN || si->si_code == POLL_HUP) {
        s = self_slot();
        if (!s || atomic_load(&s->perf_fd) != si->si_fd)
            goto stray;
    } else {
        goto stray;
    }
    /* a late signal for a slot already answered or disarmed is dropped */
    if (!atomic_compare_exchange_strong(&s->state, &armed, CP_WSLOT_BUSY))
        goto stray;
    cp_regs_from_ucontext(&regs, uc);
    hi = cp_handler_stack_hi(regs.sp);
    s->n = cp_unwind(&regs, hi, s->pcs, CP_MAX_STACK_DEPTH, &s->truncated);
    s->acpu = sched_getcpu();
    s->alabels = cp_tls.labels;
    s->aseq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    s->ans_ns = cp_now_ns();
    atomic_store_explicit(&s->state, CP_WSLOT_DONE, memory_order_release);
    atomic_fetch_add_explicit(&st_answers, 1, memory_order_relaxed);
    errno = saved_errno;
    return;
stray:
    atomic_fetch_add_explicit(&st_stray, 1, memory_order_relaxed);
    errno = saved_errno;
}

/* ---- setup (sampler thread) ---- */

static bool signal_free(int sig)
{
    return sig != cp_sampler_signal() && sig != cp_snapsig_signal() &&
           cp_signal_is_default(sig);
}

int cp_wallsig_init(void)
{
    struct cp_wall_slot *s;
    int r;

    if (wall_signal)
        return 0;
    /* fix the CPU sampler's choice first, so ours differs from it */
    cp_sampler_set_signal(0);
    if (!atomic_load(&slots)) {
        s = mmap(NULL, sizeof *s * CP_WALL_MAX_THREADS,
                 PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED)
            return -ENOMEM;
        atomic_store(&slots, s);
    }
    /* below the sampler's (SIGRTMAX-3 down) and the snapshot's
     * (SIGRTMAX-4 down) usual picks */
    for (int sig = SIGRTMAX - 6; sig >= SIGRTMIN + 2 && !wall_signal; sig--) {
        if (signal_free(sig))
            wall_signal = sig;
    }
    if (!wall_signal)
        return -EAGAIN;
    r = cp_signal_install(wall_signal, wall_handler, true);
    if (r < 0)
        wall_signal = 0;
    return r;
}

int cp_wallsig_signal(void)
{
    return wall_signal;
}

struct cp_wall_slot *cp_wallsig_slot(int i)
{
    struct cp_wall_slot *s = atomic_load_explicit(&slots,
                                                  memory_order_acquire);
    return s && i >= 0 && i < CP_WALL_MAX_THREADS ? &s[i] : NULL;
}

int cp_wallsig_claim(int tid)
{
    int i;
    while (atomic_flag_test_and_set_explicit(&claim_lock,
                                             memory_order_acquire))
        sched_yield();
    i = claim_locked(tid);
    atomic_flag_clear_explicit(&claim_lock, memory_order_release);
    return i;
}

int cp_wallsig_owner(int i)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    return s && i < atomic_load(&hwm) ? atomic_load(&s->tid) : 0;
}

int cp_wallsig_count(void)
{
    return atomic_load(&hwm);
}

void cp_wallsig_release(int i)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    if (!s)
        return;
    atomic_store(&s->perf_fd, -1);
    atomic_store(&s->state, CP_WSLOT_FREE);
    atomic_store_explicit(&s->tid, 0, memory_order_release);
    atomic_fetch_add_explicit(&gen, 1, memory_order_release); /* a free
                                                                 slot */
}

/* ---- triggers (sampler thread) ---- */

int cp_wallsig_perf_open(int tid)
{
    /* The kernel's floor for software hrtimer events is 10 us: an armed
     * thread answers after at most that much more user CPU time. */
    return cp_perf_signal_open(tid, 10000, wall_signal);
}

int cp_wallsig_timer_open(int i, int tid, timer_t *out)
{
    struct sigevent sev;
    /* the thread's CPU clock: make_thread_cpuclock(tid, CPUCLOCK_SCHED) */
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6);

    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = wall_signal;
    sev.sigev_value.sival_int = WALL_MAGIC | i;
    sev._sigev_un._tid = tid;
    if (timer_create(clock, &sev, out) != 0)
        return -errno;
    return 0;
}

int cp_wallsig_arm(int i, int perf_fd, timer_t timer)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    int r = 0;

    if (!s)
        return -EINVAL;
    atomic_store(&s->perf_fd, perf_fd);
    atomic_store_explicit(&s->state, CP_WSLOT_ARMED, memory_order_release);
    if (perf_fd >= 0) {
        /* enabled for exactly one overflow, then the kernel disables it */
        if (ioctl(perf_fd, PERF_EVENT_IOC_REFRESH, 1) < 0)
            r = -errno;
    } else {
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        its.it_value.tv_nsec = 1; /* the next tick the thread runs on */
        if (timer_settime(timer, 0, &its, NULL) != 0)
            r = -errno;
    }
    if (r < 0)
        atomic_store(&s->state, CP_WSLOT_FREE);
    return r;
}

bool cp_wallsig_disarm(int i, int perf_fd, timer_t timer)
{
    struct cp_wall_slot *s = cp_wallsig_slot(i);
    int armed = CP_WSLOT_ARMED;

    if (!s)
        return false;
    if (perf_fd >= 0) {
        ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
    } else {
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        timer_settime(timer, 0, &its, NULL);
    }
    /* From here no handler can start on this slot; one already writing it
     * finishes first (an unwind: microseconds, and it cannot block). */
    if (atomic_compare_exchange_strong(&s->state, &armed, CP_WSLOT_FREE))
        return false;
    while (atomic_load(&s->state) == CP_WSLOT_BUSY)
        sched_yield();
    return atomic_load(&s->state) == CP_WSLOT_DONE;
}

void cp_wallsig_stats(struct cp_wallsig_stats *out)
{
    out->answers = atomic_load(&st_answers);
    out->stray = atomic_load(&st_stray);
    out->published = atomic_load(&st_published);
}

void cp_wallsig_atfork_child(void)
{
    struct cp_wall_slot *all = atomic_load(&slots);
    int n = atomic_load(&hwm);
    for (int i = 0; all && i < n; i++)
        cp_wallsig_release(i);
    my_slot = NULL;
    my_miss_gen = 0;
    atomic_fetch_add(&gen, 1);
}
