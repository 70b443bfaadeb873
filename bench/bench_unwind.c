/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_unwind.c - what one CPU sample costs, signal to stored sample
 * (after gperftools' benchmark/unwind_bench.cc), for the frame-pointer and
 * the DWARF paths at several stack depths:
 *
 *   handler   time inside cprof's signal handler, per sample, from its own
 *             counters (CP_STAT_HANDLER_NS), median and p99: the workload
 *             polls the counters between short spins and records each
 *             sample's increment (one thread, one signal at a time);
 *   e2e       the whole cost of a sample to the program: thread CPU time
 *             (user + system: signal delivery, handler, perf re-arm) of a
 *             fixed workload sampled at E2E_HZ minus the same unsampled,
 *             alternated RUNS times, medians, divided by the samples;
 *   warm      cp_unwind alone from the same spot, called in a loop (warm
 *             caches): the walk's own cost, without the cold caches a
 *             handler meets after a period of other work;
 *   backtrace glibc's backtrace() (libgcc's DWARF unwinder) at the same
 *             spot, outside any signal, for reference.
 *
 * Paths: "fp" = frame-pointer workload with CPROF_UNWIND=fp; "cfi-fp" =
 * the same workload unwound with compiled CFI (cprof's default);
 * "dwarf" = workload built without frame pointers (-O2, RBP holding data),
 * default mode: only CFI gets through.
 *
 * usage: bench_unwind [-d DEPTHS] [-n SAMPLES] [-hz HZ] [-e HZ] [-r RUNS]
 *   -d 8,32,128   stack depths (frames the unwinder walks)
 *   -n 2000       samples per configuration for the handler figures
 *   -hz 1000      sampling rate for the handler figures
 *   -e 10000      sampling rate for the end-to-end figures
 *   -r 7          alternated runs for the end-to-end medians
 */
#include <execinfo.h>
#include <ucontext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"
#include "stats.h"
#include "unwinder.h"

typedef int bw_probe_fn(void *arg);
uint64_t bw_recurse_fp(int depth, bw_probe_fn *probe, void *arg);
uint64_t bw_recurse_nofp(int depth, bw_probe_fn *probe, void *arg);

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, int n, double p)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* ---- probes: run at the bottom of the recursion ---- */

enum { P_HANDLER, P_COUNT, P_BACKTRACE, P_DEPTH, P_WARM };

struct probe {
    int kind;
    /* P_HANDLER */
    uint64_t sig0, ns0;
    int64_t *ns;
    int n, want;
    int64_t deadline;
    /* P_COUNT: stop after `want` probes */
    long calls;
    /* P_DEPTH: frames cprof walks from here */
    int frames;
};

static int probe(void *arg)
{
    struct probe *p = arg;
    switch (p->kind) {
    case P_HANDLER: {
        uint64_t sig = cp_stat_get(CP_STAT_SIGNALS);
        if (sig != p->sig0) {
            uint64_t ns = cp_stat_get(CP_STAT_HANDLER_NS);
            /* exactly one sample since the last look: its own time */
            if (sig == p->sig0 + 1 && p->n < p->want)
                p->ns[p->n++] = (int64_t)(ns - p->ns0);
            p->sig0 = sig;
            p->ns0 = ns;
        }
        return p->n >= p->want || mono_ns() > p->deadline;
    }
    case P_COUNT:
        return ++p->calls >= p->want;
    case P_BACKTRACE: {
        void *bt[300];
        int64_t t0 = mono_ns();
        backtrace(bt, 300);
        p->ns[p->n++] = mono_ns() - t0;
        return p->n >= p->want;
    }
    case P_WARM: {
        /* the same walk the handler does, from a getcontext here, with
         * warm caches: the unwinder's own cost */
        uintptr_t pcs[300];
        ucontext_t uc;
        struct cp_regs r;
        uintptr_t lo = 0, hi;
        int trunc;
        getcontext(&uc);
        cp_regs_from_ucontext(&r, &uc);
        hi = cp_stack_region(r.sp, &lo);
        for (int k = 0; k < p->want; k++) {
            int64_t t0 = mono_ns();
            cp_unwind(&r, hi, pcs, 128, &trunc);
            p->ns[p->n++] = mono_ns() - t0;
        }
        return 1;
    }
    default: { /* P_DEPTH */
        uintptr_t pcs[300];
        /* +1: the handler also records the interrupted function */
        p->frames = cp_unwind_here(pcs, 300, -1) + 1;
        return 1;
    }
    }
}

struct config {
    const char *name;
    uint64_t (*recurse)(int, bw_probe_fn *, void *);
    int mode;
};

static const struct config configs[] = {
    {"fp", bw_recurse_fp, CP_UNWIND_FP},
    {"cfi-fp", bw_recurse_fp, CP_UNWIND_AUTO},
    {"dwarf", bw_recurse_nofp, CP_UNWIND_AUTO},
};

static char prof_path[64];

static void start(int hz)
{
    if (cprof_cpu_set_hz(hz) || cprof_cpu_start(prof_path)) {
        fprintf(stderr, "bench_unwind: %s\n", cprof_strerror());
        exit(1);
    }
}

static void stop(void)
{
    if (cprof_cpu_stop()) {
        fprintf(stderr, "bench_unwind: %s\n", cprof_strerror());
        exit(1);
    }
    unlink(prof_path);
}

/* Recursion depth that makes the walk `frames` deep in this config. */
static int calibrate_depth(const struct config *c, int frames)
{
    struct probe p = {.kind = P_DEPTH};
    cp_unwind_mode = CP_UNWIND_AUTO;
    c->recurse(1, probe, &p);
    int base = p.frames - 1;
    return frames - base > 1 ? frames - base : 1;
}

static int walked_frames(const struct config *c, int rdepth)
{
    struct probe p = {.kind = P_DEPTH};
    cp_unwind_mode = c->mode;
    c->recurse(rdepth, probe, &p);
    cp_unwind_mode = CP_UNWIND_AUTO;
    return p.frames;
}

int main(int argc, char **argv)
{
    int depths[16] = {8, 32, 128}, nd = 3, want = 2000, hz = 1000;
    int e2e_hz = 10000, runs = 7;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-d") && i + 1 < argc) {
            nd = 0;
            for (char *s = strtok(argv[++i], ","); s && nd < 16;
                 s = strtok(NULL, ","))
                depths[nd++] = atoi(s);
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            want = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-hz") && i + 1 < argc) {
            hz = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-e") && i + 1 < argc) {
            e2e_hz = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_unwind [-d 8,32,128] [-n SAMPLES] "
                            "[-hz HZ] [-e E2E_HZ] [-r RUNS]\n");
            return 2;
        }
    }
    snprintf(prof_path, sizeof prof_path, "/tmp/bench_unwind.%d.prof",
             (int)getpid());

    int64_t *ns = calloc((size_t)want + 1, sizeof *ns);
    int64_t *on = calloc((size_t)runs, sizeof *on);
    int64_t *off = calloc((size_t)runs, sizeof *off);
    int64_t *sig = calloc((size_t)runs, sizeof *sig);
    if (!ns || !on || !off || !sig)
        return 1;

    printf("# handler: ns inside cprof's handler per sample at %d Hz; e2e: "
           "extra thread CPU ns per sample at %d Hz (median of %d "
           "alternated runs); backtrace: glibc backtrace() ns\n",
           hz, e2e_hz, runs);
    printf("%-7s %6s %7s %8s %8s %8s %9s %8s %10s\n", "path", "frames",
           "samples", "median", "p99", "e2e", "e2e_ovh%", "warm",
           "backtrace");
    for (int di = 0; di < nd; di++) {
        for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
            const struct config *c = &configs[ci];
            int rdepth = calibrate_depth(c, depths[di]);
            int frames = walked_frames(c, rdepth);
            struct probe p;

            /* in-handler time per sample */
            cp_unwind_mode = c->mode;
            memset(&p, 0, sizeof p);
            p.kind = P_HANDLER;
            p.ns = ns;
            p.want = want;
            start(hz);
            p.sig0 = cp_stat_get(CP_STAT_SIGNALS);
            p.ns0 = cp_stat_get(CP_STAT_HANDLER_NS);
            p.deadline = mono_ns() + (int64_t)want * 4000000000LL / hz + 
                         2000000000LL;
            c->recurse(rdepth, probe, &p);
            stop();
            int got = p.n;
            int64_t med = pct(ns, got, 0.5), p99 = pct(ns, got, 0.99);

            /* end to end: the same work with and without sampling */
            long work = 0;
            {
                /* size the work to ~0.3 s of CPU */
                memset(&p, 0, sizeof p);
                p.kind = P_COUNT;
                p.want = 20000;
                int64_t t0 = cpu_ns();
                c->recurse(rdepth, probe, &p);
                int64_t dt = cpu_ns() - t0;
                work = (long)(20000.0 * 3e8 / (double)(dt > 0 ? dt : 1));
            }
            for (int r = 0; r < runs; r++) {
                for (int with = 0; with < 2; with++) {
                    memset(&p, 0, sizeof p);
                    p.kind = P_COUNT;
                    p.want = work;
                    if (with)
                        start(e2e_hz);
                    uint64_t s0 = cp_stat_get(CP_STAT_SIGNALS);
                    int64_t t0 = cpu_ns();
                    c->recurse(rdepth, probe, &p);
                    int64_t dt = cpu_ns() - t0;
                    uint64_t s1 = cp_stat_get(CP_STAT_SIGNALS);
                    if (with) {
                        stop();
                        on[r] = dt;
                        sig[r] = (int64_t)(s1 - s0);
                    } else {
                        off[r] = dt;
                    }
                }
            }
            int64_t mon = pct(on, runs, 0.5), moff = pct(off, runs, 0.5);
            int64_t msig = pct(sig, runs, 0.5);
            int64_t e2e = msig ? (mon - moff) / msig : 0;
            cp_unwind_mode = CP_UNWIND_AUTO;

            /* the walk alone, warm */
            cp_unwind_mode = c->mode;
            memset(&p, 0, sizeof p);
            p.kind = P_WARM;
            p.ns = ns;
            p.want = want < 2000 ? want : 2000;
            c->recurse(rdepth, probe, &p);
            cp_unwind_mode = CP_UNWIND_AUTO;
            int64_t warm = pct(ns, p.n, 0.5);

            /* reference: glibc backtrace() from the same spot */
            memset(&p, 0, sizeof p);
            p.kind = P_BACKTRACE;
            p.ns = ns;
            p.want = want < 2000 ? want : 2000;
            c->recurse(rdepth, probe, &p);
            int64_t bt = pct(ns, p.n, 0.5);

            printf("%-7s %6d %7d %8lld %8lld %8lld %8.2f%% %8lld %10lld\n",
                   c->name, frames, got, (long long)med, (long long)p99,
                   (long long)e2e,
                   moff ? 100.0 * (double)(mon - moff) / (double)moff : 0.0,
                   (long long)warm, (long long)bt);
            fflush(stdout);
        }
    }
    free(ns);
    free(on);
    free(off);
    free(sig);
    return 0;
}
