/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simple.c - the Go notes' first snippet, in C: start a CPU profile and
 * an execution trace, do some work, stop. The Go original:
 *
 *     f, _ := os.Create("cpu.prof")
 *     pprof.StartCPUProfile(f)
 *     defer pprof.StopCPUProfile()
 *     t, _ := os.Create("trace.out")
 *     trace.Start(t)
 *     defer trace.Stop()
 *
 * Build against cprof (`cc simple.c $(pkg-config --cflags --libs cprof)`),
 * run, then look at the profile:
 *
 *     ./simple && cprof -http=:8080 cpu.prof     (or go tool pprof -top)
 *
 * The work is three functions with recognizable names, measured here
 * (perf) at about 50% (count_primes), 30% (fib, deeply recursive) and 20%
 * (sort_floats, most of it under libc's qsort) of 1.2 s of CPU time.
 * An optional argument names the profile file instead of cpu.prof; the
 * trace goes to trace.out beside it, each piece of work in a region
 * (`cprof trace trace.out` opens the viewer, -summary prints the tables,
 * -json=OUT is for Perfetto).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

/* Primes below n by trial division: plain integer work. */
__attribute__((noinline)) long count_primes(long n)
{
    long count = 0;
    for (long i = 2; i < n; i++) {
        int prime = 1;
        for (long d = 2; d * d <= i; d++)
            if (i % d == 0) {
                prime = 0;
                break;
            }
        count += prime;
    }
    return count;
}

/* Naive Fibonacci: deep, branching stacks in the profile. */
__attribute__((noinline)) long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sort rounds of pseudo-random floats: time spent in libc's qsort. */
__attribute__((noinline)) double sort_floats(int rounds, int n)
{
    float *v = malloc(sizeof *v * (size_t)n);
    double sum = 0;
    uint32_t x = 2463534242u;
    if (!v)
        return 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) {
            x ^= x << 13; /* xorshift32 */
            x ^= x >> 17;
            x ^= x << 5;
            v[i] = (float)x / 4294967296.0f;
        }
        qsort(v, (size_t)n, sizeof *v, cmp_float);
        sum += v[n / 2];
    }
    free(v);
    return sum;
}

/* The work's inputs and results go through volatile variables: count_primes
 * and fib touch no memory, so without them the compiler may legally move
 * those calls across cprof_cpu_start/stop (GCC -O2 does), out of the
 * profile. */
static volatile long prime_limit = 2500000, fib_n = 39, results[3];

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "cpu.prof";
    char trace[4096];
    const char *slash = strrchr(path, '/');

    /* trace.out in the profile's directory */
    snprintf(trace, sizeof trace, "%.*strace.out",
             slash ? (int)(slash - path + 1) : 0, path);

    if (cprof_cpu_start(path)) {
        fprintf(stderr, "simple: cannot start the CPU profile: %s\n",
                cprof_strerror());
        return 1;
    }
    if (cprof_trace_start(trace)) {
        fprintf(stderr, "simple: cannot start the trace: %s\n",
                cprof_strerror());
        return 1;
    }

    cprof_region_begin("count_primes");
    results[0] = count_primes(prime_limit);
    cprof_region_end();
    cprof_region_begin("fib");
    results[1] = fib((int)fib_n);
    cprof_region_end();
    cprof_region_begin("sort_floats");
    double median = sort_floats(16, 100000);
    cprof_region_end();

    if (cprof_trace_stop()) {
        fprintf(stderr, "simple: cannot write the trace: %s\n",
                cprof_strerror());
        return 1;
    }
    if (cprof_cpu_stop()) {
        fprintf(stderr, "simple: cannot write the CPU profile: %s\n",
                cprof_strerror());
        return 1;
    }
    printf("simple: %ld primes, fib(%ld) = %ld, median %.3f; CPU profile in "
           "%s, trace in %s\n",
           results[0], fib_n, results[1], median / 16, path, trace);
    return 0;
}
