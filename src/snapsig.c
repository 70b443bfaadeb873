/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * snapsig.c - the snapshot signal and its handler (snapsig.h): a running
 * thread, interrupted in user mode, unwinds its own stack into the slot
 * the snapshot taker armed for it. Only the handler runs in signal
 * context; arming and disarming run on the taker's thread.
 */
#include "snapsig.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
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
#include "thread_reg.h"
#include "unwinder.h"

/* Tags our timers' signals (low 16 bits: the slot). */
#define SNAP_MAGIC 0x736e0000

static int snap_signal;
static _Atomic(struct cp_snapsig_slot *) slots;
_Atomic uint32_t cp_snapsig_answers; /* futex word */
static int perf_ok = -1;         /* unknown until the first arm */

static struct cp_snapsig_slot *slot_for(const siginfo_t *si, int tid)
{
    struct cp_snapsig_slot *s = atomic_load(&slots);

    if (!s)
        return NULL;
    if (si->si_code == SI_TIMER) {
        int v = si->si_value.sival_int;
        if ((v & 0xffff0000) != SNAP_MAGIC ||
            (v & 0xffff) >= CP_SNAP_MAX_SIGNALLED)
            return NULL;
        s += v & 0xffff;
        return atomic_load(&s->tid) == tid ? s : NULL;
    }
    if (si->si_code == POLL_IN || si->si_code == POLL_HUP) {
        for (int i = 0; i < CP_SNAP_MAX_SIGNALLED; i++) {
            if (atomic_load(&s[i].fd) == si->si_fd &&
                atomic_load(&s[i].tid) == tid)
                return &s[i];
        }
    }
    return NULL;
}

static void snap_handler(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    const ucontext_t *uc = ucv;
    struct cp_snapsig_slot *s;
    struct cp_regs regs;
    uintptr_t hi;
    int tid, armed = CP_SLOT_ARMED;

    if (!cp_tls.tid)
        cp_tls.tid = cp_gettid();
    tid = cp_tls.tid;
    s = slot_for(si, tid);
    /* A late signal for a slot already answered or freed is dropped. */
    if (!s || !uc ||
        !atomic_compare_exchange_strong(&s->state, &armed, CP_SLOT_BUSY))
        goto out;
    cp_regs_from_ucontext(&regs, uc);
    hi = cp_handler_stack_hi(regs.sp);
    s->n = cp_unwind(&regs, hi, s->pcs, CP_MAX_STACK_DEPTH, &s->truncated);
    atomic_store_explicit(&s->state, CP_SLOT_DONE, memory_order_release);
    atomic_fetch_add(&cp_snapsig_answers, 1);
    syscall(SYS_futex, &cp_snapsig_answers, FUTEX_WAKE_PRIVATE, 1, NULL,
            NULL, 0);
out:
    errno = saved_errno;
}

static bool signal_free(int s)
{
    return s != cp_sampler_signal() && cp_signal_is_default(s);
}

int cp_snapsig_init(void)
{
    struct cp_snapsig_slot *s;
    int r;

    if (snap_signal)
        return 0;
    /* Below the sampler's usual pick (it counts down from SIGRTMAX-3) and
     * above SIGRTMIN+2: libraries that take real-time signals usually
     * count up from SIGRTMIN. */
    cp_sampler_set_signal(0);
    for (int sig = SIGRTMAX - 4; sig >= SIGRTMIN + 2 && !snap_signal; sig--) {
        if (signal_free(sig))
            snap_signal = sig;
    }
    if (!snap_signal)
        return -EAGAIN;
    s = mmap(NULL, sizeof *s * CP_SNAP_MAX_SIGNALLED, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        snap_signal = 0;
        return -ENOMEM;
    }
    for (int i = 0; i < CP_SNAP_MAX_SIGNALLED; i++)
        atomic_store(&s[i].fd, -1);
    atomic_store(&slots, s);
    r = cp_signal_install(snap_signal, snap_handler, true);
    if (r < 0)
        snap_signal = 0;
    return r;
}

int cp_snapsig_signal(void)
{
    return snap_signal;
}

struct cp_snapsig_slot *cp_snapsig_slot(int i)
{
    struct cp_snapsig_slot *s = atomic_load(&slots);
    return s && i >= 0 && i < CP_SNAP_MAX_SIGNALLED ? &s[i] : NULL;
}

static int arm_perf(struct cp_snapsig_slot *s, int tid)
{
    /* The kernel's floor for software hrtimer events is 10 us: the thread
     * answers after at most that much more CPU time, in user mode. */
    int fd = cp_perf_signal_open(tid, 10000, snap_signal);

    if (fd < 0)
        return fd;
    atomic_store(&s->fd, fd);
    /* enabled for exactly one overflow, then the kernel disables it */
    if (ioctl(fd, PERF_EVENT_IOC_REFRESH, 1) < 0) {
        int e = errno;
        atomic_store(&s->fd, -1);
        close(fd);
        return -e;
    }
    return 1;
}

static int arm_timer(struct cp_snapsig_slot *s, int i, int tid)
{
    struct sigevent sev;
    struct itimerspec its;
    /* the thread's CPU clock, as sampler.c computes it */
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6);

    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = snap_signal;
    sev.sigev_value.sival_int = SNAP_MAGIC | i;
    sev._sigev_un._tid = tid;
    if (timer_create(clock, &sev, &s->timer) != 0)
        return -errno;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 1;
    if (timer_settime(s->timer, 0, &its, NULL) != 0) {
        int e = errno;
        timer_delete(s->timer);
        return -e;
    }
    s->has_timer = true;
    return 2;
}

int cp_snapsig_arm(int i, int tid)
{
    struct cp_snapsig_slot *s = cp_snapsig_slot(i);
    int r;

    if (!s || !snap_signal)
        return -EINVAL;
    s->n = 0;
    s->truncated = 0;
    s->has_timer = false;
    atomic_store(&s->fd, -1);
    atomic_store(&s->tid, tid);
    atomic_store(&s->state, CP_SLOT_ARMED);
    if (perf_ok != 0) {
        r = arm_perf(s, tid);
        if (r > 0) {
            perf_ok = 1;
            return r;
        }
        if (r == -EACCES || r == -EPERM || r == -ENOSYS || r == -ENOENT ||
            r == -EOPNOTSUPP)
            perf_ok = 0; /* not allowed here: use timers from now on */
    }
    r = arm_timer(s, i, tid);
    if (r < 0) {
        atomic_store(&s->state, CP_SLOT_FREE);
        atomic_store(&s->tid, 0);
    }
    return r;
}

void cp_snapsig_disarm(int i)
{
    struct cp_snapsig_slot *s = cp_snapsig_slot(i);
    int fd, armed = CP_SLOT_ARMED;

    if (!s)
        return;
    fd = atomic_load(&s->fd);
    if (fd >= 0) {
        ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
        close(fd);
    }
    if (s->has_timer) {
        timer_delete(s->timer);
        s->has_timer = false;
    }
    /* From here no handler can start on this slot; one already writing
     * it finishes first (it takes microseconds and cannot block). */
    if (!atomic_compare_exchange_strong(&s->state, &armed, CP_SLOT_FREE)) {
        while (atomic_load(&s->state) == CP_SLOT_BUSY)
            sched_yield();
    }
    atomic_store(&s->tid, 0);
    atomic_store(&s->fd, -1);
}

void cp_snapsig_release(int i)
{
    struct cp_snapsig_slot *s = cp_snapsig_slot(i);
    if (s)
        atomic_store(&s->state, CP_SLOT_FREE);
}

void cp_snapsig_reset_answers(void)
{
    atomic_store(&cp_snapsig_answers, 0);
}

int cp_snapsig_wait(int want, int64_t deadline_ns)
{
    for (;;) {
        uint32_t got = atomic_load(&cp_snapsig_answers);
        int64_t left = deadline_ns - cp_now_ns();
        struct timespec ts;

        if ((int)got >= want || left <= 0)
            return (int)got;
        ts.tv_sec = left / 1000000000;
        ts.tv_nsec = left % 1000000000;
        syscall(SYS_futex, &cp_snapsig_answers, FUTEX_WAIT_PRIVATE, got,
                &ts, NULL, 0);
    }
}
