/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_qsort.c - CPU burnt in a comparator that glibc's qsort calls:
 * main -> sorter -> qsort (Debian's glibc, built without frame pointers)
 * -> ... -> slow_cmp. The stack is whole only if the unwinder follows
 * glibc's DWARF CFI through qsort's internals back into sorter.
 *
 * usage: cpu_qsort MILLISECONDS_OF_CPU
 */
#include "cpu_common.h"

static uint64_t cmp_work = 200;

CPT_NOINLINE int slow_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b, z = x;
    CPT_SPIN(z, cmp_work); /* CPT_CMP_LINE */
    __asm__ volatile("" ::"r"(z));
    return x < y ? -1 : x > y;
}

CPT_NOINLINE uint64_t sorter(uint64_t seed)
{
    enum { N = 4096 };
    static uint64_t v[N];
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = seed >> 16;
    }
    qsort(v, N, sizeof v[0], slow_cmp);
    return v[0] + v[N - 1];
}

int main(int argc, char **argv)
{
    int64_t want = (argc > 1 ? atoll(argv[1]) : 1000) * 1000000LL;
    int64_t t0 = cpt_thread_cpu_ns();
    uint64_t s = 1;

    while (cpt_thread_cpu_ns() - t0 < want)
        s += sorter(s);
    cpt_out("sink", "%llu", (unsigned long long)(s & 1));
    cpt_out_rusage();
    return 0;
}
