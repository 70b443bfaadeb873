/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - TSC or CLOCK_MONOTONIC ticks and their calibration (clock.h).
 *
 * The TSC is used only when all of these hold: an x86 CPU; /proc/cpuinfo
 * lists constant_tsc (fixed rate whatever the frequency scaling) and
 * nonstop_tsc (keeps counting in deep C-states); the kernel's current
 * clocksource is "tsc" or the CPU flags include tsc_known_freq (the
 * kernel checked it is synchronized across CPUs; in VMs the clocksource is
 * often kvm-clock while the TSC is still stable, which tsc_known_freq
 * says). Otherwise ticks are CLOCK_MONOTONIC nanoseconds.
 *
 * Calibration: the rate from a 5 ms measurement at init, refined by every
 * cp_clock_sync against the init point (after one second the error is a
 * few ppm). The conversion parameters are published under a sequence
 * counter; only cprof's writer thread (signals blocked) updates them, so
 * a reader in a signal handler can never spin on its own thread's update.
 * cp_clock_ticks, cp_clock_ticks_to_ns and cp_clock_ns are
 * async-signal-safe; init and sync are not.
 */
#include "clock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cp_lock.h"

int cp_clock_tsc;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char describe_buf[200];

/* guarded by the sequence counter */
static _Atomic uint32_t seq;
static _Atomic uint64_t base_ticks, base_ns_u, ns_per_tick_bits;
/* the first calibration point, the baseline every refinement uses */
static uint64_t init_ticks;
static int64_t init_ns;
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void publish(uint64_t t, int64_t ns, double npt)
{
    atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
    atomic_store_explicit(&base_ticks, t, memory_order_relaxed);
    atomic_store_explicit(&base_ns_u, (uint64_t)ns, memory_order_relaxed);
    atomic_store_explicit(&ns_per_tick_bits, dbits(npt),
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&seq, 1, memory_order_release);
}

static void read_params(uint64_t *t, int64_t *ns, double *npt)
{
    for (int i = 0; i < 1000; i++) {
        uint32_t s = atomic_load_explicit(&seq, memory_order_acquire);
        if (s & 1)
            continue;
        *t = atomic_load_explicit(&base_ticks, memory_order_relaxed);
        *ns = (int64_t)atomic_load_explicit(&base_ns_u, memory_order_relaxed);
        *npt = bitsd(
            atomic_load_explicit(&ns_per_tick_bits, memory_order_relaxed));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&seq, memory_order_relaxed) == s)
            return;
    }
    /* an updater preempted mid-update for that long: use what we read */
}

#if CP_CLOCK_HAVE_TSC
/* Whether /proc/cpuinfo's first "flags" line has every flag asked for,
 * and which of the optional ones. */
static bool cpu_flags(bool *known_freq)
{
    char buf[8192];
    int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    char *flags, *eol;

    *known_freq = false;
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    flags = strstr(buf, "\nflags");
    if (!flags)
        return false;
    eol = strchr(flags + 1, '\n');
    if (eol)
        *eol = '\0';
    *known_freq = strstr(flags, " tsc_known_freq") != NULL;
    return strstr(flags, " constant_tsc") && strstr(flags, " nonstop_tsc");
}

static bool clocksource_is_tsc(void)
{
    char buf[64];
    int fd = open("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return !strncmp(buf, "tsc", 3) && (buf[3] == '\n' || !buf[3]);
}
#endif

static void init_once(void)
{
    const char *why = "not an x86 CPU";
#if CP_CLOCK_HAVE_TSC
    bool known_freq, flags = cpu_flags(&known_freq);
    bool cs = clocksource_is_tsc();
    if (!flags)
        why = "/proc/cpuinfo lacks constant_tsc or nonstop_tsc";
    else if (!cs && !known_freq)
        why = "the kernel does not use the TSC as its clocksource";
    cp_clock_tsc = flags && (cs || known_freq);
#endif
    if (!cp_clock_tsc) {
        init_ticks = (uint64_t)cp_now_ns();
        init_ns = (int64_t)init_ticks;
        publish(init_ticks, init_ns, 1.0);
        snprintf(describe_buf, sizeof describe_buf,
                 "CLOCK_MONOTONIC (TSC not used: %s)", why);
        return;
    }
    /* 5 ms against CLOCK_MONOTONIC: good to ~1e-5 until refined. Each
     * point is read between two TSC reads so their midpoint matches. */
    uint64_t t0a = cp_clock_ticks();
    int64_t m0 = cp_now_ns();
    uint64_t t0b = cp_clock_ticks();
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    uint64_t t1a = cp_clock_ticks();
    int64_t m1 = cp_now_ns();
    uint64_t t1b = cp_clock_ticks();
    uint64_t t0 = t0a + (t0b - t0a) / 2, t1 = t1a + (t1b - t1a) / 2;
    double npt = t1 > t0 && m1 > m0 ? (double)(m1 - m0) / (double)(t1 - t0)
                                    : 1.0;
    init_ticks = t0;
    init_ns = m0;
    publish(t1, m1, npt);
    snprintf(describe_buf, sizeof describe_buf,
             "TSC at %.6f GHz (constant_tsc, nonstop_tsc), calibrated "
             "against CLOCK_MONOTONIC",
             1.0 / npt);
}

void cp_clock_init(void)
{
    pthread_once(&once, init_once);
}

double cp_clock_hz(void)
{
    uint64_t t;
    int64_t ns;
    double npt = 1.0;
    if (!cp_clock_tsc)
        return 1e9;
    read_params(&t, &ns, &npt);
    return 1e9 / npt;
}

int64_t cp_clock_ticks_to_ns(uint64_t ticks)
{
    uint64_t t;
    int64_t ns;
    double npt = 1.0;
    if (!cp_clock_tsc)
        return (int64_t)ticks;
    read_params(&t, &ns, &npt);
    return (int64_t)((double)ticks * npt);
}

int64_t cp_clock_ns(uint64_t ticks)
{
    uint64_t t;
    int64_t ns;
    double npt = 1.0;
    if (!cp_clock_tsc)
        return (int64_t)ticks;
    read_params(&t, &ns, &npt);
    return ns + (int64_t)((double)(int64_t)(ticks - t) * npt);
}

void cp_clock_sync(uint64_t *ticks, int64_t *mono_ns, int64_t *real_ns)
{
    uint64_t ta, tb;
    int64_t m;

    cp_clock_init();
    cp_mutex_lock(&sync_lock);
    ta = cp_clock_ticks();
    m = cp_now_ns();
    tb = cp_clock_ticks();
    *ticks = ta + (tb - ta) / 2;
    *mono_ns = m;
    *real_ns = cp_realtime_ns();
    if (cp_clock_tsc && *ticks > init_ticks + 1000000 && m > init_ns)
        publish(*ticks, m,
                (double)(m - init_ns) / (double)(*ticks - init_ticks));
    cp_mutex_unlock(&sync_lock);
}

const char *cp_clock_describe(void)
{
    cp_clock_init();
    return describe_buf;
}
