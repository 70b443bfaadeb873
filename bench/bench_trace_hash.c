/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_trace_hash.c - examples/hash_bench's work (FNV-1a 64 over a
 * 64-byte message per index, XOR checksum; one thread) with a region
 * around every K hashes, traced or not: what tracing costs a program
 * making ~100k regions per second. Its Go twin is bench/go/trace_hash,
 * with runtime/trace regions at the same rate; bench/trace.sh runs both.
 *
 *     bench_trace_hash -n HASHES -k HASHES_PER_REGION [-trace FILE]
 *
 * Prints "hashes H regions R seconds S checksum C".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#define MSG_LEN 64

static __attribute__((noinline)) uint64_t fnv1a_64(const unsigned char *p,
                                                   size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void make_message(uint64_t i, unsigned char *msg)
{
    for (int k = 0; k < 8; k++) {
        uint64_t w = i ^ ((uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull);
        memcpy(msg + 8 * k, &w, 8);
    }
}

int main(int argc, char **argv)
{
    uint64_t n = 100000000, k = 100, sum = 0, regions = 0;
    const char *trace = NULL;
    unsigned char msg[MSG_LEN];
    struct timespec t0, t1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            n = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-k"))
            k = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-trace"))
            trace = argv[i + 1];
        else
            return 2;
    }
    if (!k)
        return 2;
    if (trace && cprof_trace_start(trace) != 0) {
        fprintf(stderr, "bench_trace_hash: %s\n", cprof_strerror());
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < n; i += k) {
        uint64_t end = i + k < n ? i + k : n;
        cprof_region_begin("hash-block");
        for (uint64_t j = i; j < end; j++) {
            make_message(j, msg);
            sum ^= fnv1a_64(msg, sizeof msg);
        }
        cprof_region_end();
        regions++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (trace && cprof_trace_stop() != 0) {
        fprintf(stderr, "bench_trace_hash: %s\n", cprof_strerror());
        return 1;
    }
    printf("hashes %" PRIu64 " regions %" PRIu64 " seconds %.4f checksum "
           "%016" PRIx64 "\n",
           n, regions,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           sum);
    return 0;
}
