/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_dlopen_lib.c - libcpt_dl.so, loaded and unloaded in a loop by
 * cpu_dlopen.c while it is sampled: dl_busy -> dl_busy_inner burn CPU
 * inside the library, so samples land in code that is about to be
 * unmapped.
 */
#include "cpu_common.h"

CPT_NOINLINE uint64_t dl_busy_inner(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters); /* CPT_DL_LINE */
    return x;
}

uint64_t dl_busy(uint64_t iters, uint64_t x)
{
    uint64_t r = dl_busy_inner(iters, x);
    return r ^ (x >> 3);
}
