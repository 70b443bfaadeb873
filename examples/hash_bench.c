/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash_bench.c - a multithreaded hashing benchmark (SPEC §7): how many
 * hashes per second do 1, 2, N threads compute, on one core, on distinct
 * cores, on the two SMT siblings of one core? `cprof topo` says which CPUs
 * are which; `taskset -c` pins the run:
 *
 *     taskset -c 1 ./hash_bench -n 100000000 -r 100000 -t 1
 *
 * Hash i is FNV-1a 64 over a 64-byte message made from i (make_message);
 * the checksum is the XOR of all N hashes, so it depends on
 * neither the thread count nor the order (examples/go/hash_bench computes
 * the same and must print the same checksum). This is the naive version on
 * purpose: one hash at a time, each a chain of 64 dependent multiplies, so
 * the core's multiplier latency bounds it and a Go twin runs at the same
 * speed. Interleaving independent hashes (ILP) or SIMD makes it 2-4x
 * faster: that is the hash_bench study's story (docs/hash-bench-study.md),
 * which starts from a profile of this file. fnv1a_64 and make_message are
 * kept out of line so the profile shows them.
 *
 * Profiling: `-cpuprofile FILE` calls cprof_cpu_start/stop around the work
 * (the code way); without it nothing of cprof runs, and
 * `CPROF_CPU=cpu.prof LD_PRELOAD=libcprof.so ./hash_bench ...` works too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"

#define MSG_LEN 64
#define MAX_THREADS 1024
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static const char usage[] =
    "usage: hash_bench [-n HASHES] [-r REPORT_EVERY] [-t THREADS] "
    "[-cpuprofile FILE]";

/* Hashes done by all threads; each adds every REPORT_EVERY hashes. */
static _Atomic uint64_t progress;

/* FNV-1a, 64-bit (Fowler, Noll, Vo): one xor and one multiply per byte. */
__attribute__((noinline)) uint64_t fnv1a_64(const unsigned char *p, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* The message of hash i: 8 little-endian words, word k being i XOR
 * (k+1) * 2^64/phi (the golden-ratio constant of Fibonacci hashing), so
 * every byte varies between words and between messages. Cheap on purpose:
 * the hash, not the message, is what the benchmark measures. */
__attribute__((noinline)) void make_message(uint64_t i,
                                            unsigned char msg[MSG_LEN])
{
    for (uint64_t k = 0; k < MSG_LEN / 8; k++) {
        uint64_t v = htole64(i ^ ((k + 1) * 0x9e3779b97f4a7c15ull));
        memcpy(msg + k * 8, &v, 8); /* one 8-byte store */
    }
}

/* XOR of hashes begin..end-1, reporting progress every `every` hashes. */
__attribute__((noinline)) uint64_t hash_range(uint64_t begin, uint64_t end,
                                              uint64_t every)
{
    unsigned char msg[MSG_LEN];
    uint64_t sum = 0, since = 0;
    for (uint64_t i = begin; i < end; i++) {
        make_message(i, msg);
        sum ^= fnv1a_64(msg, sizeof msg);
        if (++since == every) {
            atomic_fetch_add_explicit(&progress, since, memory_order_relaxed);
            since = 0;
        }
    }
    atomic_fetch_add_explicit(&progress, since, memory_order_relaxed);
    return sum;
}

struct worker {
    pthread_t tid;
    int index;
    uint64_t begin, end, every;
    uint64_t sum; /* written by the worker, read after join */
    char pad[64]; /* keep workers' results on separate cache lines */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "hash/%d", w->index);
    pthread_setname_np(pthread_self(), name);
    w->sum = hash_range(w->begin, w->end, w->every);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bad_flag(const char *fmt, const char *arg)
{
    fprintf(stderr, "hash_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s\n", usage);
    return 2;
}

/* A positive integer no larger than max, or 0 when s is not one. */
static uint64_t parse_count(const char *s, uint64_t max)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return 0;
    return v;
}

int main(int argc, char **argv)
{
    uint64_t n = 100000000, every = 100000, nthreads = 1;
    const char *cpuprofile = NULL;

    /* Go's flag syntax: -name=value, -name value, and --name. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if (a[0] != '-' || !a[1])
            return bad_flag("unexpected argument '%s'", a);
        const char *name = a + 1 + (a[1] == '-');
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if ((len == 1 && name[0] == 'h') ||
            (len == 4 && !strncmp(name, "help", 4))) {
            printf("%s\n", usage);
            return 0;
        }
        if (!((len == 1 && strchr("nrt", name[0])) ||
              (len == 10 && !strncmp(name, "cpuprofile", 10))))
            return bad_flag("flag provided but not defined: %s", a);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return bad_flag("flag needs an argument: %s", a);
        if (len == 10) {
            if (!*val)
                return bad_flag("%s needs a file name", a);
            cpuprofile = val;
            continue;
        }
        uint64_t max = name[0] == 't' ? MAX_THREADS : UINT64_MAX / 2;
        uint64_t v = parse_count(val, max);
        if (!v)
            return bad_flag(name[0] == 't'
                                ? "invalid value \"%s\" for -t: want 1 to "
                                  "1024 threads"
                                : "invalid value \"%s\": want a positive "
                                  "integer",
                            val);
        if (name[0] == 'n')
            n = v;
        else if (name[0] == 'r')
            every = v;
        else
            nthreads = v;
    }
    if (nthreads > n)
        nthreads = n; /* every thread gets at least one hash */

    struct worker *w = calloc(nthreads, sizeof *w);
    if (!w) {
        fprintf(stderr, "hash_bench: out of memory\n");
        return 1;
    }
    if (cpuprofile && cprof_cpu_start(cpuprofile)) {
        fprintf(stderr, "hash_bench: cannot start the CPU profile: %s\n",
                cprof_strerror());
        free(w);
        return 1;
    }

    double t0 = now();
    for (uint64_t k = 0; k < nthreads; k++) {
        w[k].index = (int)k;
        /* An even split: thread k gets [k*n/T, (k+1)*n/T). */
        w[k].begin = (uint64_t)((unsigned __int128)n * k / nthreads);
        w[k].end = (uint64_t)((unsigned __int128)n * (k + 1) / nthreads);
        w[k].every = every;
        int rc = pthread_create(&w[k].tid, NULL, worker_main, &w[k]);
        if (rc) {
            fprintf(stderr, "hash_bench: cannot start thread %d: %s\n", (int)k,
                    strerror(rc));
            return 1;
        }
    }

    /* Progress on stderr once a second; the result alone on stdout. */
    double last = t0;
    for (;;) {
        uint64_t done = atomic_load(&progress);
        if (done >= n)
            break;
        struct timespec tick = {0, 20 * 1000 * 1000};
        nanosleep(&tick, NULL);
        double t = now();
        if (t - last >= 1.0) {
            done = atomic_load(&progress);
            fprintf(stderr,
                    "hash_bench: %" PRIu64 " of %" PRIu64
                    " hashes (%.0f%%) in %.1f s: %.0f hashes/s\n",
                    done, n, 100.0 * done / n, t - t0, done / (t - t0));
            last = t;
        }
    }
    uint64_t sum = 0;
    for (uint64_t k = 0; k < nthreads; k++) {
        pthread_join(w[k].tid, NULL);
        sum ^= w[k].sum;
    }
    double secs = now() - t0;

    if (cpuprofile && cprof_cpu_stop()) {
        fprintf(stderr, "hash_bench: cannot write the CPU profile: %s\n",
                cprof_strerror());
        free(w);
        return 1;
    }
    printf("hash_bench: %" PRIu64 " hashes in %.3f s: %.0f hashes/s "
           "(%d threads) checksum 0x%016" PRIx64 "\n",
           n, secs, n / secs, (int)nthreads, sum);
    free(w);
    return 0;
}
