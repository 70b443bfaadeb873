/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym_inline.c - symbolizer fixture built -O2 -fomit-frame-pointer -g:
 * inl_leaf is inlined into inl_mid, which is inlined into inl_outer, so
 * the return address in slot 0 lies in three functions at once.
 */
#include "fixture.h"

volatile int g = 3;

static inline __attribute__((always_inline)) int inl_leaf(int x) /* @leaf_decl */
{
    record(0); /* @leaf_call */
    return x * 3 + g;
}

static inline __attribute__((always_inline)) int inl_mid(int x)
{
    int y = x + g;
    y = inl_leaf(y); /* @mid_call */
    return y * g;
}

__attribute__((noinline)) int inl_outer(int x) /* @outer_decl */
{
    int z = x ^ g;
    z = inl_mid(z) + 1; /* @outer_call */
    return z + g;
}

int main(void)
{
    int r = inl_outer(g);
    return fixture_report() + (r == 12345);
}
