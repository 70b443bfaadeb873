/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_deep.c - CPU burnt at the bottom of a recursion DEPTH frames deep:
 * below cprof's frame limit the stack must be whole (main reached, DEPTH
 * recursive frames); above it, cut at the limit and ended by the marker
 * frame cprof_truncated_stack.
 *
 * usage: cpu_deep DEPTH MILLISECONDS_OF_CPU
 */
#include "cpu_common.h"

static int64_t want;

CPT_NOINLINE uint64_t deep_leaf(uint64_t x)
{
    int64_t t0 = cpt_thread_cpu_ns();
    while (cpt_thread_cpu_ns() - t0 < want)
        CPT_SPIN(x, 100000);
    return x;
}

CPT_NOINLINE uint64_t recurse(int depth, uint64_t x)
{
    volatile uint64_t keep = (uint64_t)depth;
    uint64_t r;
    if (depth <= 1)
        r = deep_leaf(x);
    else
        r = recurse(depth - 1, x + 1);
    /* A volatile read after the call: GCC may turn neither the call into
     * a jump nor the recursion into a loop. */
    return r + keep;
}

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 100;
    want = (argc > 2 ? atoll(argv[2]) : 500) * 1000000LL;
    cpt_out("sink", "%llu", (unsigned long long)(recurse(depth, 1) & 1));
    cpt_out_rusage();
    return 0;
}
