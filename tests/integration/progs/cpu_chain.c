/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_chain.c - a known call chain, main -> chain_a -> chain_b ->
 * chain_leaf, that burns CPU in chain_leaf. Built several ways by
 * tests/integration/cpu.cmake (PIE, non-PIE, -O2 without frame pointers)
 * to check that profiles symbolize (function, file, line) and that stacks
 * come out whole, through glibc's __libc_start_call_main down to _start.
 *
 * chain_a and chain_b keep many values live across their calls, so that at
 * -O2 -fomit-frame-pointer GCC uses RBP as an ordinary register: a
 * frame-pointer walk breaks there and only DWARF CFI gets through. They
 * also use the callee's result after the call, so no call becomes a tail
 * call (which would rightly drop a frame).
 *
 * usage: cpu_chain MILLISECONDS_OF_CPU
 */
#include "cpu_common.h"

volatile uint64_t cpt_sink;

CPT_NOINLINE uint64_t chain_leaf(uint64_t iters)
{
    uint64_t x = iters;
    CPT_SPIN(x, iters); /* CPT_LEAF_LINE */
    return x;
}

CPT_NOINLINE uint64_t chain_b(uint64_t iters, uint64_t s)
{
    uint64_t v[12];
    for (int i = 0; i < 12; i++)
        v[i] = s * (uint64_t)(i + 3) ^ cpt_sink;
    uint64_t r = chain_leaf(iters);
    for (int i = 0; i < 12; i++)
        r += v[i] * (uint64_t)(i + 1);
    return r ^ v[(r >> 60) % 12];
}

CPT_NOINLINE uint64_t chain_a(uint64_t iters, uint64_t s)
{
    uint64_t a = s + 1, b = s * 3, c = s ^ 0x55, d = s >> 2, e = s << 3,
             f = s * s, g = s - 7, h = ~s;
    uint64_t r = chain_b(iters, s + a + b);
    return r + a * b + c * d + e * f + g * h;
}

int main(int argc, char **argv)
{
    int64_t want = (argc > 1 ? atoll(argv[1]) : 1000) * 1000000LL;
    int64_t t0 = cpt_thread_cpu_ns();
    uint64_t s = 1;

    while (cpt_thread_cpu_ns() - t0 < want)
        s += chain_a(200000, s);
    cpt_sink = s;
    cpt_out_rusage();
    return 0;
}
