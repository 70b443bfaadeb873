/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * sampler.c - per-thread CPU timers and the sampling signal handler
 * (sampler.h). The handler is the only code here that runs in signal
 * context; everything that creates or deletes timers runs under
 * cp_reg_lock from the registry hooks or the CPU profile's start/stop.
 */
#include "sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cp_limits.h"
#include "cp_lock.h"
#include "sigsafe.h"
#include "stats.h"
#include "thread_reg.h"
#include "unwinder.h"

struct cp_sampbuf cp_cpu_ring;
void (*cp_sampler_wake)(void);

/* Tags our timers' signals so another timer on the same signal is told
 * apart (and ignored). */
#define CP_TIMER_MAGIC 0x63707266

static int sample_signal;       /* chosen before the first start */
static bool handler_installed;
static _Atomic int sampling_on; /* read by the handler */
static _Atomic int in_handler;  /* handlers running now */
static enum cp_sample_source source;
static int64_t period_ns;
static int cur_hz;
static int tick_hz;
static pid_t sampler_pid;
static char describe_buf[256];

/* Which fds are our perf events, so a late signal for a closed fd never
 * makes us ioctl someone else's descriptor. */
#define PERF_FD_BITS 65536
static _Atomic uint64_t perf_fds[PERF_FD_BITS / 64];
/* Our perf events still in their (random) first period: the handler
 * switches each to the regular period at its first overflow. Setting it
 * right after perf_event_open does not work: PERF_EVENT_IOC_PERIOD zeroes
 * the event's period_left, so the first period would be the regular one
 * (measured: asked 0.2 ms then 10 ms, the first signal came after
 * 10.07 ms of CPU), and threads shorter than a period would never be
 * sampled (1000 threads of 0.5 ms at 1000 Hz: 3% of their CPU time). */
static _Atomic uint64_t perf_first[PERF_FD_BITS / 64];

static void perf_fd_mark(int fd, bool on)
{
    if (fd < 0 || fd >= PERF_FD_BITS)
        return;
    if (on) {
        atomic_fetch_or(&perf_fds[fd / 64], 1ull << (fd % 64));
    } else {
        atomic_fetch_and(&perf_fds[fd / 64], ~(1ull << (fd % 64)));
        atomic_fetch_and(&perf_first[fd / 64], ~(1ull << (fd % 64)));
    }
}

/* True once per fd marked with perf_first: the caller sets the period. */
static bool perf_fd_take_first(int fd)
{
    uint64_t bit = 1ull << (fd % 64);
    return fd >= 0 && fd < PERF_FD_BITS &&
           (atomic_fetch_and(&perf_first[fd / 64], ~bit) & bit);
}

static bool perf_fd_ours(int fd)
{
    return fd >= 0 && fd < PERF_FD_BITS &&
           (atomic_load(&perf_fds[fd / 64]) >> (fd % 64) & 1);
}

/* ---- the signal handler ---- */

static void sampler_handler(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    const ucontext_t *uc = ucv;
    uintptr_t pcs[CP_MAX_STACK_DEPTH];
    struct cp_sample_rec rec;
    struct cp_regs regs;
    uint32_t weight = 1;
    uintptr_t hi;
    int64_t t0;

    atomic_fetch_add_explicit(&in_handler, 1, memory_order_acquire);
    if (si->si_code == SI_TIMER) {
        if (si->si_value.sival_int != CP_TIMER_MAGIC) {
            cp_stat_add(CP_STAT_FOREIGN_SIGNALS, 1);
            goto out;
        }
        if (si->si_overrun > 0)
            weight += si->si_overrun < 1000000 ? (uint32_t)si->si_overrun
                                               : 1000000;
        if (cp_tls.self)
            cp_tls.self->cpu_delivered += weight;
    } else if (si->si_code == POLL_HUP || si->si_code == POLL_IN) {
        if (!perf_fd_ours(si->si_fd)) {
            cp_stat_add(CP_STAT_FOREIGN_SIGNALS, 1);
            goto out;
        }
        if (perf_fd_take_first(si->si_fd)) {
            /* the random first period is over: the regular one from now */
            uint64_t p = (uint64_t)period_ns;
            ioctl(si->si_fd, PERF_EVENT_IOC_PERIOD, &p);
        }
        /* Re-arm for exactly one more overflow (async-profiler's way:
         * the kernel disabled the event when its limit hit zero). */
        ioctl(si->si_fd, PERF_EVENT_IOC_REFRESH, 1);
    } else {
        cp_stat_add(CP_STAT_FOREIGN_SIGNALS, 1);
        goto out;
    }
    if (!atomic_load_explicit(&sampling_on, memory_order_relaxed) || !uc)
        goto out;
    t0 = cp_now_ns();
    cp_stat_add(CP_STAT_SIGNALS, 1);

    cp_regs_from_ucontext(&regs, uc);
    hi = cp_handler_stack_hi(regs.sp);
    rec.n = cp_unwind(&regs, hi, pcs, CP_MAX_STACK_DEPTH, &rec.truncated);
    rec.pcs = pcs;
    if (!cp_tls.tid)
        cp_tls.tid = cp_gettid();
    rec.tid = cp_tls.tid;
    rec.cpu = sched_getcpu();
    rec.labels = cp_tls.labels;
    rec.weight = weight;
    rec.time_ns = t0;
    rec.exit_credit = 0;
    rec.routine = cp_tls.self ? (uintptr_t)cp_tls.self->start_routine : 0;
    if (rec.truncated)
        cp_stat_add(CP_STAT_TRUNCATED, 1);
    if (cp_sampbuf_push(&cp_cpu_ring, &rec) == 0) {
        cp_stat_add(CP_STAT_SAMPLES, 1);
        cp_stat_add(CP_STAT_WEIGHT, weight);
    } else {
        cp_stat_add(CP_STAT_DROPPED_RING, weight);
    }
    if (cp_sampbuf_used(&cp_cpu_ring) > cp_cpu_ring.words / 2 &&
        cp_sampler_wake)
        cp_sampler_wake();
    cp_stat_add(CP_STAT_HANDLER_NS, (uint64_t)(cp_now_ns() - t0));
out:
    atomic_fetch_sub_explicit(&in_handler, 1, memory_order_release);
    errno = saved_errno;
}

/* ---- timers ---- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: the first expiry only needs to be spread out */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* First expiry uniform in (0, period]: a thread that runs for less than a
 * period is still sampled with the right probability, instead of never
 * (which is what a full first period does to short-lived threads). */
static int64_t first_expiry(int tid)
{
    uint64_t s = (uint64_t)cp_now_ns() ^ ((uint64_t)tid << 32) ^
                 0x9e3779b97f4a7c15ull;
    return 1 + (int64_t)(rng_next(&s) % (uint64_t)period_ns);
}

int cp_perf_signal_open(int tid, uint64_t period_ns, int signo)
{
    struct perf_event_attr a;
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    int fd;

    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.sample_period = period_ns;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.wakeup_events = 1;
    fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1,
                      PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fcntl(fd, F_SETFL, O_ASYNC) < 0 ||
        fcntl(fd, F_SETSIG, signo) < 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int perf_open(int tid, int64_t first)
{
    /* The handler sets the regular period at the first overflow (see
     * perf_first); the caller marks the fd ours (perf_fd_mark) first. */
    return cp_perf_signal_open(
        tid, (uint64_t)(first > 0 ? first : period_ns), sample_signal);
}

static int arm_thread(struct cp_thread *t)
{
    if (t->armed)
        return 0;
    if (source == CP_SOURCE_PERF) {
        int fd = perf_open(t->tid, first_expiry(t->tid));
        if (fd < 0) {
            cp_stat_add(CP_STAT_TIMER_FAILURES, 1);
            return fd;
        }
        perf_fd_mark(fd, true);
        if (fd < PERF_FD_BITS)
            atomic_fetch_or(&perf_first[fd / 64], 1ull << (fd % 64));
        t->perf_fd = fd;
        ioctl(fd, PERF_EVENT_IOC_RESET, 0);
        ioctl(fd, PERF_EVENT_IOC_REFRESH, 1);
    } else {
        struct sigevent sev;
        struct itimerspec its;
        /* The CPU clock of thread tid: glibc's MAKE_THREAD_CPUCLOCK(tid,
         * CPUCLOCK_SCHED), a stable kernel ABI (pthread_getcpuclockid
         * computes the same, but needs a pthread_t we may not have). */
        clockid_t clock = (clockid_t)((~(unsigned)t->tid << 3) | 6);
        int64_t first = first_expiry(t->tid);
        struct timespec now;

        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = sample_signal;
        sev.sigev_value.sival_int = CP_TIMER_MAGIC;
        sev._sigev_un._tid = t->tid;
        if (timer_create(clock, &sev, &t->timer) != 0) {
            cp_stat_add(CP_STAT_TIMER_FAILURES, 1);
            return -errno;
        }
        its.it_interval.tv_sec = period_ns / 1000000000;
        its.it_interval.tv_nsec = period_ns % 1000000000;
        its.it_value.tv_sec = first / 1000000000;
        its.it_value.tv_nsec = first % 1000000000;
        t->arm_cpu_ns = clock_gettime(clock, &now) == 0
                            ? now.tv_sec * 1000000000LL + now.tv_nsec
                            : -1;
        t->first_ns = first;
        t->cpu_delivered = 0;
        if (timer_settime(t->timer, 0, &its, NULL) != 0) {
            int e = errno;
            timer_delete(t->timer);
            cp_stat_add(CP_STAT_TIMER_FAILURES, 1);
            return -e;
        }
        t->has_timer = true;
    }
    t->armed = true;
    cp_stat_add(CP_STAT_THREADS_ARMED, 1);
    return 0;
}

static void disarm_thread(struct cp_thread *t)
{
    if (t->has_timer) {
        timer_delete(t->timer);
        t->has_timer = false;
    }
    if (t->perf_fd >= 0) {
        ioctl(t->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
        perf_fd_mark(t->perf_fd, false);
        close(t->perf_fd);
        t->perf_fd = -1;
    }
    t->armed = false;
}

static void on_register(struct cp_thread *t)
{
    if (atomic_load(&sampling_on))
        arm_thread(t);
}

/*
 * A POSIX CPU timer is checked on kernel ticks only, so the expiries a
 * thread passes after the last tick of its life never fire: about half a
 * tick of CPU per thread goes unsampled, which for a program of many
 * short threads is most of its time. When a thread we started exits, count
 * the expiries it passed (its CPU clock, the first expiry and the period
 * say how many) against those its signals delivered, and record the
 * difference as a sample of its start routine: the time was spent inside
 * it, and the totals stay right. The drain thread (cpu.c) gives the
 * credit the stack of the latest sample of a thread that ran the same
 * routine, when there is one: threads started from one routine usually do
 * the same work.
 */
static void exit_compensate(struct cp_thread *t)
{
    struct timespec now;
    int64_t cpu, passed, missing;
    uintptr_t pc;
    struct cp_sample_rec rec;

    if (!t->has_timer || t->arm_cpu_ns < 0 || !t->start_routine ||
        t->tid != cp_tls.tid || !atomic_load(&sampling_on))
        return;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
        return;
    cpu = now.tv_sec * 1000000000LL + now.tv_nsec - t->arm_cpu_ns;
    if (cpu < t->first_ns)
        return;
    passed = (cpu - t->first_ns) / period_ns + 1;
    missing = passed - (int64_t)t->cpu_delivered;
    if (missing <= 0)
        return;
    pc = (uintptr_t)t->start_routine;
    rec.tid = t->tid;
    rec.cpu = sched_getcpu();
    rec.labels = cp_tls.labels;
    rec.weight = missing > 1000000 ? 1000000 : (uint32_t)missing;
    rec.time_ns = cp_now_ns();
    rec.truncated = 0;
    rec.exit_credit = 1;
    rec.routine = pc;
    rec.n = 1;
    rec.pcs = &pc;
    if (cp_sampbuf_push(&cp_cpu_ring, &rec) == 0)
        cp_stat_add(CP_STAT_EXIT_COMPENSATED, rec.weight);
}

static void on_unregister(struct cp_thread *t)
{
    exit_compensate(t);
    disarm_thread(t);
}

/* ---- configuration ---- */

int cp_sampler_tick_hz(void)
{
    struct timespec res;
    if (!tick_hz) {
        /* The coarse clocks advance once per jiffy, so their resolution
         * is the tick period: 4 ms on a 250 Hz kernel. */
        if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 &&
            res.tv_sec == 0 && res.tv_nsec > 0)
            tick_hz = (int)(1000000000 / res.tv_nsec);
        else
            tick_hz = 100;
    }
    return tick_hz;
}

uintptr_t cp_handler_stack_hi(uintptr_t sp)
{
    uintptr_t hi = cp_tls.stack_hi;

    if (!hi || sp < cp_tls.stack_lo || sp >= hi) {
        /* A thread cprof did not create, or running on another stack (a
         * signal stack, a coroutine): find the region it is on. */
        uintptr_t lo = 0;
        hi = cp_stack_region(sp, &lo);
        if (!cp_tls.stack_hi && hi) {
            cp_tls.stack_lo = lo;
            cp_tls.stack_hi = hi;
        }
    }
    return hi;
}

bool cp_signal_is_default(int sig)
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0)
        return false;
    return !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
}

int cp_signal_install(int sig, void (*handler)(int, siginfo_t *, void *),
                      bool block_all)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (block_all)
        sigfillset(&sa.sa_mask);
    else
        sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0)
        return -errno;
    return 0;
}

int cp_sampler_set_signal(int signo)
{
    if (signo) {
        if (signo <= 0 || signo >= NSIG || signo == SIGKILL ||
            signo == SIGSTOP || signo == SIGPROF)
            return -EINVAL;
        sample_signal = signo;
        return 0;
    }
    if (sample_signal)
        return 0;
    /* The highest free real-time signal below SIGRTMAX-2: libraries that
     * take real-time signals usually count up from SIGRTMIN. */
    for (int s = SIGRTMAX - 3; s >= SIGRTMIN + 2; s--) {
        if (cp_signal_is_default(s)) {
            sample_signal = s;
            return 0;
        }
    }
    sample_signal = SIGRTMAX - 3;
    return 0;
}

int cp_sampler_signal(void)
{
    return sample_signal;
}

static int install_handler(void)
{
    int r;

    if (handler_installed)
        return 0;
    r = cp_signal_install(sample_signal, sampler_handler, false);
    if (r < 0)
        return r;
    /* Stays installed for the life of the process: a signal still queued
     * after the profile stops must find a handler, not the default action
     * (which kills). */
    handler_installed = true;
    return 0;
}

static bool perf_usable(void)
{
    int fd = perf_open(cp_gettid(), 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

int cp_sampler_start(int hz)
{
    int r;

    if (atomic_load(&sampling_on))
        return -EBUSY;
    if (hz < CP_MIN_HZ || hz > CP_MAX_HZ)
        return -EINVAL;
    cp_sampler_set_signal(0);
    if (!cp_cpu_ring.data) {
        r = cp_sampbuf_init(&cp_cpu_ring, CP_SAMPBUF_WORDS);
        if (r < 0)
            return r;
    }
    r = install_handler();
    if (r < 0)
        return r;
    cur_hz = hz;
    period_ns = 1000000000 / hz;
    source = CP_SOURCE_TIMER;
    if (hz > cp_sampler_tick_hz() && perf_usable())
        source = CP_SOURCE_PERF;
    if (source == CP_SOURCE_PERF)
        snprintf(describe_buf, sizeof describe_buf,
                 "sampling: perf_event task-clock per thread at %d Hz, "
                 "user CPU time only (kernel tick %d Hz is below the rate)",
                 hz, cp_sampler_tick_hz());
    else
        snprintf(describe_buf, sizeof describe_buf,
                 "sampling: POSIX CPU-time timer per thread at %d Hz, user "
                 "and system time%s (kernel tick %d Hz)",
                 hz,
                 hz > cp_sampler_tick_hz()
                     ? "; above the tick each signal is weighted by its "
                       "timer overruns (perf_event unavailable)"
                     : "",
                 cp_sampler_tick_hz());
    sampler_pid = getpid();

    cp_mutex_lock(&cp_reg_lock);
    cp_reg_on_register = on_register;
    cp_reg_on_unregister = on_unregister;
    atomic_store(&sampling_on, 1);
    cp_reg_adopt_all_locked();
    for (struct cp_thread *t = cp_reg_head; t; t = t->next)
        arm_thread(t);
    cp_mutex_unlock(&cp_reg_lock);
    return 0;
}

void cp_sampler_stop(void)
{
    if (!atomic_load(&sampling_on))
        return;
    cp_mutex_lock(&cp_reg_lock);
    atomic_store(&sampling_on, 0);
    for (struct cp_thread *t = cp_reg_head; t; t = t->next)
        disarm_thread(t);
    cp_mutex_unlock(&cp_reg_lock);
    /* A handler that saw sampling_on may still be unwinding. */
    while (atomic_load(&in_handler) != 0)
        sched_yield();
}

bool cp_sampler_running(void)
{
    return atomic_load(&sampling_on) != 0;
}

enum cp_sample_source cp_sampler_source(void)
{
    return source;
}

int64_t cp_sampler_period_ns(void)
{
    return period_ns;
}

const char *cp_sampler_describe(void)
{
    return describe_buf;
}

/* ---- exec and fork ---- */

bool cp_sampler_before_exec(void)
{
    struct cp_thread *self = cp_tls.self;
    sigset_t set, old;
    siginfo_t si;
    struct timespec zero = {0, 0};

    if (!atomic_load(&sampling_on) || !sample_signal)
        return false;
    /* A vfork child shares our memory but not our timers: touch nothing. */
    if ((pid_t)syscall(SYS_getpid) != sampler_pid)
        return false;
    sigemptyset(&set);
    sigaddset(&set, sample_signal);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (self)
        disarm_thread(self);
    /* Signals already queued for this thread would survive exec and hit
     * the new image with the default action (terminate): take them. */
    while (sigtimedwait(&set, &si, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return true;
}

void cp_sampler_after_exec_failed(void)
{
    struct cp_thread *self = cp_tls.self;
    if (!self)
        return;
    cp_mutex_lock(&cp_reg_lock);
    if (atomic_load(&sampling_on))
        arm_thread(self);
    cp_mutex_unlock(&cp_reg_lock);
}

void cp_sampler_atfork_child(void)
{
    /* cp_reg_lock is held (taken in prepare); the registry still lists
     * the parent's threads. */
    for (struct cp_thread *t = cp_reg_head; t; t = t->next) {
        if (t->perf_fd >= 0) {
            perf_fd_mark(t->perf_fd, false);
            close(t->perf_fd);
            t->perf_fd = -1;
        }
        t->has_timer = false; /* POSIX timers are not inherited */
        t->armed = false;
    }
    atomic_store(&sampling_on, 0);
    atomic_store(&in_handler, 0);
    cp_sampbuf_reset(&cp_cpu_ring);
}
