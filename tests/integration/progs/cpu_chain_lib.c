/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_chain_lib.c - the call chain of cpu_chain.c, inside a shared library
 * (libcpt_chain.so): lib_a -> lib_b -> lib_leaf, reached from
 * cpu_chain_dso.c's main. Checks that functions in a .so symbolize with
 * names and lines, and that the walk crosses from the library back into
 * the executable.
 */
#include "cpu_common.h"

volatile uint64_t lib_sink;

CPT_NOINLINE uint64_t lib_leaf(uint64_t iters)
{
    uint64_t x = iters;
    CPT_SPIN(x, iters); /* CPT_LIB_LEAF_LINE */
    return x;
}

CPT_NOINLINE uint64_t lib_b(uint64_t iters, uint64_t s)
{
    uint64_t v[12];
    for (int i = 0; i < 12; i++)
        v[i] = s * (uint64_t)(i + 3) ^ lib_sink;
    uint64_t r = lib_leaf(iters);
    for (int i = 0; i < 12; i++)
        r += v[i] * (uint64_t)(i + 1);
    return r ^ v[(r >> 60) % 12];
}

uint64_t lib_a(uint64_t iters, uint64_t s)
{
    uint64_t a = s + 1, b = s * 3, c = s ^ 0x55, d = s >> 2;
    uint64_t r = lib_b(iters, s + a + b);
    return r + a * b + c * d;
}
