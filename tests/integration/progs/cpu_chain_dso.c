/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_chain_dso.c - main -> dso_caller -> lib_a (in libcpt_chain.so) ->
 * lib_b -> lib_leaf. See cpu_chain_lib.c.
 *
 * usage: cpu_chain_dso MILLISECONDS_OF_CPU
 */
#include "cpu_common.h"

uint64_t lib_a(uint64_t iters, uint64_t s);

CPT_NOINLINE uint64_t dso_caller(uint64_t s)
{
    uint64_t r = lib_a(200000, s);
    return r * 3 + s;
}

int main(int argc, char **argv)
{
    int64_t want = (argc > 1 ? atoll(argv[1]) : 1000) * 1000000LL;
    int64_t t0 = cpt_thread_cpu_ns();
    uint64_t s = 1;

    while (cpt_thread_cpu_ns() - t0 < want)
        s += dso_caller(s);
    cpt_out("sink", "%llu", (unsigned long long)(s & 1));
    cpt_out_rusage();
    return 0;
}
