/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_common.h - helpers shared by the CPU profiler's integration programs
 * (tests/integration/progs/cpu_*.c): CPU clocks, busy loops the compiler
 * cannot remove, and the "truth" file each program writes so that
 * tests/integration/check_cpu.py can compare the profile with what the
 * program measured itself.
 *
 * The truth file is named by the environment variable CPT_OUT; each line is
 * "key value". Programs never depend on libcprof here (they are profiled
 * through LD_PRELOAD, or linked only in sanitizer builds).
 */
#ifndef CPU_COMMON_H
#define CPU_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* noipa (GCC): not inlined, not cloned, and callers assume the full ABI
 * clobber set, so values live across a call sit in callee-saved registers
 * (RBP among them when enough are live), as in real code. */
#if defined(__has_attribute) && __has_attribute(noipa)
#define CPT_NOINLINE __attribute__((noipa))
#else
#define CPT_NOINLINE __attribute__((noinline))
#endif

static inline int64_t cpt_clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t cpt_thread_cpu_ns(void)
{
    return cpt_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static inline int64_t cpt_mono_ns(void)
{
    return cpt_clock_ns(CLOCK_MONOTONIC);
}

static inline int cpt_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

/* One step of a 64-bit LCG: a dependent chain, so iterations cost the same
 * whatever the optimizer does, and the empty asm keeps the loop alive. */
#define CPT_SPIN(x, iters)                                                  \
    do {                                                                    \
        for (uint64_t i_ = 0; i_ < (iters); i_++) {                         \
            (x) = (x) * 6364136223846793005ull + 1442695040888963407ull;    \
            __asm__ volatile("" : "+r"(x));                                 \
        }                                                                   \
    } while (0)

/* Append "key value" to $CPT_OUT (if set). */
static inline void cpt_out(const char *key, const char *fmt, ...)
{
    const char *path = getenv("CPT_OUT");
    va_list ap;
    FILE *f;

    if (!path || !*path)
        return;
    f = fopen(path, "a");
    if (!f) {
        perror(path);
        exit(3);
    }
    fprintf(f, "%s ", key);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

/* Process CPU time when the program's own constructors run, i.e. after
 * the loader and every library's initializer (libcprof's, and in a
 * sanitizer build the sanitizer's start-up, which no profiler can see). */
static struct rusage cpt_start_ru;
__attribute__((constructor)) static void cpt_start_rusage(void)
{
    getrusage(RUSAGE_SELF, &cpt_start_ru);
}

/* Process CPU time so far: rusage_user_ns, rusage_sys_ns in the truth
 * file, and start_user_ns, start_sys_ns (see cpt_start_rusage). */
static inline void cpt_out_rusage(void)
{
    struct rusage ru;
    cpt_out("start_user_ns", "%lld",
            (long long)cpt_start_ru.ru_utime.tv_sec * 1000000000LL +
                cpt_start_ru.ru_utime.tv_usec * 1000LL);
    cpt_out("start_sys_ns", "%lld",
            (long long)cpt_start_ru.ru_stime.tv_sec * 1000000000LL +
                cpt_start_ru.ru_stime.tv_usec * 1000LL);
    getrusage(RUSAGE_SELF, &ru);
    cpt_out("rusage_user_ns", "%lld",
            (long long)ru.ru_utime.tv_sec * 1000000000LL +
                ru.ru_utime.tv_usec * 1000LL);
    cpt_out("rusage_sys_ns", "%lld",
            (long long)ru.ru_stime.tv_sec * 1000000000LL +
                ru.ru_stime.tv_usec * 1000LL);
}

/* Iterations of CPT_SPIN per millisecond of CPU on this machine now
 * (best of a few tries: a preempted try only runs slower, and CPU time
 * does not count the preemption anyway). */
static inline uint64_t cpt_calibrate(void)
{
    uint64_t best = 0, x = 1;
    for (int k = 0; k < 5; k++) {
        const uint64_t n = 2000000;
        int64_t t0 = cpt_thread_cpu_ns();
        CPT_SPIN(x, n);
        int64_t dt = cpt_thread_cpu_ns() - t0;
        if (dt > 0 && n * 1000000 / (uint64_t)dt > best)
            best = n * 1000000 / (uint64_t)dt;
    }
    __asm__ volatile("" ::"r"(x));
    return best ? best : 1000000;
}

/* Fail the program with a message: exit status 1. */
static inline void cpt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

#endif /* CPU_COMMON_H */
