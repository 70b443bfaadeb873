/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_unwind_work.c - the workload bench_unwind.c samples: a recursion
 * DEPTH frames deep that spins at the bottom. Compiled twice by
 * bench/cpu.cmake: with frame pointers (BW_NAME = fp: the frame-pointer
 * path) and without them at -O2 (BW_NAME = nofp: the DWARF path), where
 * every frame keeps data in RBP across its call, as optimized code does,
 * so no frame-pointer walk could get through.
 */
#include <stdint.h>

#define BW_CAT2(a, b) a##_##b
#define BW_CAT(a, b) BW_CAT2(a, b)
#define BW(x) BW_CAT(x, BW_NAME)

typedef int bw_probe_fn(void *arg);

volatile uint64_t BW(bw_vals)[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Spin until probe says stop; probe runs every few hundred ns. */
__attribute__((noipa)) static uint64_t BW(bw_bottom)(bw_probe_fn *probe,
                                                     void *arg)
{
    uint64_t x = 1;
    while (!probe(arg)) {
        for (int i = 0; i < 64; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            __asm__ volatile("" : "+r"(x));
        }
    }
    return x;
}

__attribute__((noipa)) uint64_t BW(bw_recurse)(int depth, bw_probe_fn *probe,
                                               void *arg)
{
    /* volatile loads: seven values live across the call, RBP among their
     * registers when frame pointers are off */
    uint64_t a = BW(bw_vals)[0] + (uint64_t)depth, b = BW(bw_vals)[1],
             c = BW(bw_vals)[2], d = BW(bw_vals)[3], e = BW(bw_vals)[4],
             f = BW(bw_vals)[5], g = BW(bw_vals)[6], r;
    if (depth <= 1)
        r = BW(bw_bottom)(probe, arg);
    else
        r = BW(bw_recurse)(depth - 1, probe, arg);
    return r + a * b + c * d + e * f + g;
}
