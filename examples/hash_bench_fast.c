/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash_bench_fast.c - examples/hash_bench.c after one round of
 * profile-guided optimisation: the same hash of the same messages, the same
 * flags, result line and checksum, computed faster
 * (docs/hash-bench-study.md tells the story; bench/hash_study.sh measures it).
 *
 * What the profile of hash_bench said: 97% of the CPU time is in fnv1a_64,
 * and `cprof -list=fnv1a_64` puts it on one line, `h *= FNV_PRIME`. Each of
 * the 64 multiplies of a hash needs the result of the one before (FNV-1a is
 * a serial chain: h = (h ^ byte) * prime), so the core waits about 4 cycles
 * per byte (xor 1 + multiply 3) although it could start a multiply every
 * cycle: the loop is bound by latency, not by work. The cure is independent
 * work in flight, not a different hash:
 *
 *   -impl naive  one message at a time (hash_bench.c's code, for reference)
 *   -impl ilp    8 messages at a time, their chains interleaved in scalar
 *                registers: 8 multiplies in flight, one per cycle
 *                (instruction-level parallelism)
 *   -impl simd   16 messages at a time in AVX2 registers, 4 per register,
 *                4 registers in flight; AVX2 has no 64-bit multiply, so
 *                h * prime is built from 32x32->64 multiplies, using
 *                prime = 2^40 + 435 (see mul_prime_avx2)
 *
 * Default: simd where the CPU has AVX2 (checked at run time, so the binary
 * runs anywhere), else ilp. Every implementation gives the same hash of the
 * same message, so the XOR checksum equals hash_bench's (asserted by
 * tests/integration/study.cmake and bench/hash_study.sh).
 *
 * make_message stays out of line, as in hash_bench.c, so the profile after
 * the change still shows what it costs.
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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#else
#define HAVE_AVX2_KERNEL 0
#endif

#include "cprof.h"

#define MSG_LEN 64
#define MAX_THREADS 1024
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define FNV_PRIME_LOW 0x1b3u /* FNV_PRIME = 2^40 + 0x1b3 */
#define MAX_LANES 16         /* messages per batch, the widest kernel's */

static const char usage[] =
    "usage: hash_bench_fast [-n HASHES] [-r REPORT_EVERY] [-t THREADS] "
    "[-impl naive|ilp|simd] [-cpuprofile FILE]";

/* Hashes done by all threads; each adds about every REPORT_EVERY hashes. */
static _Atomic uint64_t progress;

/* FNV-1a, 64-bit, one message: hash_bench.c's function, unchanged. */
__attribute__((noinline)) uint64_t fnv1a_64(const unsigned char *p, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/*
 * FNV-1a 64 of 8 messages of n bytes each, p[0..7] -> out[0..7]. The 8
 * chains are independent, so the core overlaps their multiplies: one
 * starts each cycle instead of one every ~4. Written out lane by lane (not
 * as an array loop) so the compiler keeps the 8 states in registers and
 * does not vectorize: this is the scalar, instruction-level-parallel step.
 */
__attribute__((noinline)) void fnv1a_64_x8(const unsigned char *const p[8],
                                           size_t n, uint64_t out[8])
{
    uint64_t h0 = FNV_OFFSET, h1 = FNV_OFFSET, h2 = FNV_OFFSET,
             h3 = FNV_OFFSET, h4 = FNV_OFFSET, h5 = FNV_OFFSET,
             h6 = FNV_OFFSET, h7 = FNV_OFFSET;
    const unsigned char *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3],
                        *p4 = p[4], *p5 = p[5], *p6 = p[6], *p7 = p[7];
    for (size_t i = 0; i < n; i++) {
        h0 = (h0 ^ p0[i]) * FNV_PRIME;
        h1 = (h1 ^ p1[i]) * FNV_PRIME;
        h2 = (h2 ^ p2[i]) * FNV_PRIME;
        h3 = (h3 ^ p3[i]) * FNV_PRIME;
        h4 = (h4 ^ p4[i]) * FNV_PRIME;
        h5 = (h5 ^ p5[i]) * FNV_PRIME;
        h6 = (h6 ^ p6[i]) * FNV_PRIME;
        h7 = (h7 ^ p7[i]) * FNV_PRIME;
    }
    out[0] = h0, out[1] = h1, out[2] = h2, out[3] = h3;
    out[4] = h4, out[5] = h5, out[6] = h6, out[7] = h7;
}

#if HAVE_AVX2_KERNEL
/*
 * h * FNV_PRIME mod 2^64 in each 64-bit lane. AVX2 has no 64x64-bit
 * multiply; write h = H*2^32 + L and prime = 2^40 + 435:
 *
 *   h * prime = L*435  +  (H*435 mod 2^32) * 2^32  +  h * 2^40   (mod 2^64)
 *
 * L*435 < 2^41 is exact in one vpmuludq (low 32 x low 32 -> 64 bits); the
 * middle term is one vpmulld (32 x 32 -> low 32, per 32-bit half) by the
 * pair (0, 435), which leaves H*435 in the high half and 0 in the low;
 * h * 2^40 is a shift. Two multiplies, one shift, two adds per 4 lanes
 * (the obvious form, with H brought down by a shift, takes three shifts).
 */
__attribute__((target("avx2"))) static inline __m256i
mul_prime_avx2(__m256i h)
{
    const __m256i k = _mm256_set1_epi64x(FNV_PRIME_LOW);
    const __m256i k_high = _mm256_set1_epi64x((long long)FNV_PRIME_LOW << 32);
    __m256i lo = _mm256_mul_epu32(h, k);
    __m256i mid = _mm256_mullo_epi32(h, k_high);
    return _mm256_add_epi64(_mm256_add_epi64(lo, mid),
                            _mm256_slli_epi64(h, 40));
}

/* Little-endian 8 bytes at p, whatever its alignment. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

/*
 * FNV-1a 64 of 16 messages of n bytes each, p[0..15] -> out[0..15]: lane j
 * of register v hashes message 4v+j. Each 8-byte word of 4 messages is
 * loaded into one register; vpshufb then picks byte b of every lane
 * (zeroing the other 7), in message order, so each lane sees exactly the
 * byte sequence fnv1a_64 sees. Four registers keep 16 chains in flight:
 * one step's latency (shuffle, xor, the multiply above: ~8 cycles) is
 * covered by the other three's work. A tail of n % 8 bytes is finished in
 * scalar code, so any n works.
 */
__attribute__((target("avx2"), noinline)) void
fnv1a_64_x16_avx2(const unsigned char *const p[16], size_t n,
                  uint64_t out[16])
{
    /* Four named registers, not an array: at -O2 GCC keeps an array of
     * vectors in memory and the chains then wait on store forwarding. */
    const __m256i offset = _mm256_set1_epi64x((long long)FNV_OFFSET);
    __m256i h0 = offset, h1 = offset, h2 = offset, h3 = offset;
    size_t words = n / 8;
    for (size_t w = 0; w < words; w++) {
        size_t o = 8 * w;
        __m256i x0 = _mm256_set_epi64x(
            (long long)load_le64(p[3] + o), (long long)load_le64(p[2] + o),
            (long long)load_le64(p[1] + o), (long long)load_le64(p[0] + o));
        __m256i x1 = _mm256_set_epi64x(
            (long long)load_le64(p[7] + o), (long long)load_le64(p[6] + o),
            (long long)load_le64(p[5] + o), (long long)load_le64(p[4] + o));
        __m256i x2 = _mm256_set_epi64x(
            (long long)load_le64(p[11] + o), (long long)load_le64(p[10] + o),
            (long long)load_le64(p[9] + o), (long long)load_le64(p[8] + o));
        __m256i x3 = _mm256_set_epi64x(
            (long long)load_le64(p[15] + o), (long long)load_le64(p[14] + o),
            (long long)load_le64(p[13] + o), (long long)load_le64(p[12] + o));
        /* sel: byte b of each 64-bit lane to that lane's byte 0, zero
         * above (vpshufb indexes within each 128-bit half; -1 = zero). */
#pragma GCC unroll 8
        for (int b = 0; b < 8; b++) {
            const __m256i sel = _mm256_setr_epi8(
                b, -1, -1, -1, -1, -1, -1, -1, 8 + b, -1, -1, -1, -1, -1, -1,
                -1, b, -1, -1, -1, -1, -1, -1, -1, 8 + b, -1, -1, -1, -1, -1,
                -1, -1);
            h0 = mul_prime_avx2(
                _mm256_xor_si256(h0, _mm256_shuffle_epi8(x0, sel)));
            h1 = mul_prime_avx2(
                _mm256_xor_si256(h1, _mm256_shuffle_epi8(x1, sel)));
            h2 = mul_prime_avx2(
                _mm256_xor_si256(h2, _mm256_shuffle_epi8(x2, sel)));
            h3 = mul_prime_avx2(
                _mm256_xor_si256(h3, _mm256_shuffle_epi8(x3, sel)));
        }
    }
    _mm256_storeu_si256((__m256i *)(out + 0), h0);
    _mm256_storeu_si256((__m256i *)(out + 4), h1);
    _mm256_storeu_si256((__m256i *)(out + 8), h2);
    _mm256_storeu_si256((__m256i *)(out + 12), h3);
    for (size_t i = words * 8; i < n; i++)
        for (int l = 0; l < 16; l++)
            out[l] = (out[l] ^ p[l][i]) * FNV_PRIME;
}
#endif

/* The message of hash i: hash_bench.c's function, unchanged (8
 * little-endian words, word k being i XOR (k+1) * 2^64/phi). */
__attribute__((noinline)) void make_message(uint64_t i,
                                            unsigned char msg[MSG_LEN])
{
    for (uint64_t k = 0; k < MSG_LEN / 8; k++) {
        uint64_t v = htole64(i ^ ((k + 1) * 0x9e3779b97f4a7c15ull));
        memcpy(msg + k * 8, &v, 8);
    }
}

enum impl { IMPL_NAIVE, IMPL_ILP, IMPL_SIMD };
static const char *const impl_names[] = {"naive", "ilp", "simd"};

/* XOR of hashes begin..end-1, one message at a time (hash_bench.c's). */
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

/*
 * XOR of hashes begin..end-1 in batches of `lanes` messages hashed together
 * by the batch kernel of `impl`; the last partial batch goes one by one.
 * Progress is added once `every` hashes have accumulated (a batch may
 * overshoot it by lanes-1).
 */
__attribute__((noinline)) uint64_t hash_range_batch(uint64_t begin,
                                                    uint64_t end,
                                                    uint64_t every,
                                                    enum impl impl)
{
    _Alignas(64) unsigned char msg[MAX_LANES][MSG_LEN];
    const unsigned char *p[MAX_LANES];
    uint64_t h[MAX_LANES];
    uint64_t sum = 0, since = 0, i = begin;
    unsigned lanes = impl == IMPL_SIMD ? 16 : 8;
    for (unsigned l = 0; l < MAX_LANES; l++)
        p[l] = msg[l];
    for (; end - i >= lanes; i += lanes) {
        for (unsigned l = 0; l < lanes; l++)
            make_message(i + l, msg[l]);
#if HAVE_AVX2_KERNEL
        if (impl == IMPL_SIMD)
            fnv1a_64_x16_avx2(p, MSG_LEN, h);
        else
#endif
            fnv1a_64_x8(p, MSG_LEN, h);
        for (unsigned l = 0; l < lanes; l++)
            sum ^= h[l];
        since += lanes;
        if (since >= every) {
            atomic_fetch_add_explicit(&progress, since, memory_order_relaxed);
            since = 0;
        }
    }
    for (; i < end; i++) {
        make_message(i, msg[0]);
        sum ^= fnv1a_64(msg[0], MSG_LEN);
        since++;
    }
    atomic_fetch_add_explicit(&progress, since, memory_order_relaxed);
    return sum;
}

struct worker {
    pthread_t tid;
    int index;
    enum impl impl;
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
    if (w->impl == IMPL_NAIVE)
        w->sum = hash_range(w->begin, w->end, w->every);
    else
        w->sum = hash_range_batch(w->begin, w->end, w->every, w->impl);
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
    fprintf(stderr, "hash_bench_fast: ");
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

static int cpu_has_avx2(void)
{
#if HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

int main(int argc, char **argv)
{
    uint64_t n = 100000000, every = 100000, nthreads = 1;
    const char *cpuprofile = NULL;
    int impl = cpu_has_avx2() ? IMPL_SIMD : IMPL_ILP;

    /* Go's flag syntax, as hash_bench: -name=value, -name value, --name. */
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
        int is_impl = len == 4 && !strncmp(name, "impl", 4);
        int is_prof = len == 10 && !strncmp(name, "cpuprofile", 10);
        if (!((len == 1 && strchr("nrt", name[0])) || is_impl || is_prof))
            return bad_flag("flag provided but not defined: %s", a);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return bad_flag("flag needs an argument: %s", a);
        if (is_prof) {
            if (!*val)
                return bad_flag("%s needs a file name", a);
            cpuprofile = val;
            continue;
        }
        if (is_impl) {
            impl = -1;
            for (int k = 0; k < 3; k++)
                if (!strcmp(val, impl_names[k]))
                    impl = k;
            if (impl < 0)
                return bad_flag("invalid value \"%s\" for -impl: want naive, "
                                "ilp or simd",
                                val);
            if (impl == IMPL_SIMD && !cpu_has_avx2()) {
                fprintf(stderr, "hash_bench_fast: -impl simd needs AVX2, "
                                "which this CPU lacks (try -impl ilp)\n");
                return 1;
            }
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
    fprintf(stderr, "hash_bench_fast: -impl %s\n", impl_names[impl]);

    struct worker *w = calloc(nthreads, sizeof *w);
    if (!w) {
        fprintf(stderr, "hash_bench_fast: out of memory\n");
        return 1;
    }
    if (cpuprofile && cprof_cpu_start(cpuprofile)) {
        fprintf(stderr, "hash_bench_fast: cannot start the CPU profile: %s\n",
                cprof_strerror());
        free(w);
        return 1;
    }

    double t0 = now();
    for (uint64_t k = 0; k < nthreads; k++) {
        w[k].index = (int)k;
        w[k].impl = (enum impl)impl;
        /* An even split: thread k gets [k*n/T, (k+1)*n/T). */
        w[k].begin = (uint64_t)((unsigned __int128)n * k / nthreads);
        w[k].end = (uint64_t)((unsigned __int128)n * (k + 1) / nthreads);
        w[k].every = every;
        int rc = pthread_create(&w[k].tid, NULL, worker_main, &w[k]);
        if (rc) {
            fprintf(stderr, "hash_bench_fast: cannot start thread %d: %s\n",
                    (int)k, strerror(rc));
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
                    "hash_bench_fast: %" PRIu64 " of %" PRIu64
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
        fprintf(stderr, "hash_bench_fast: cannot write the CPU profile: %s\n",
                cprof_strerror());
        free(w);
        return 1;
    }
    /* The same result line as hash_bench, so scripts read both alike. */
    printf("hash_bench: %" PRIu64 " hashes in %.3f s: %.0f hashes/s "
           "(%d threads) checksum 0x%016" PRIx64 "\n",
           n, secs, n / secs, (int)nthreads, sum);
    free(w);
    return 0;
}
