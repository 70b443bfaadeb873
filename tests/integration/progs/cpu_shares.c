/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_shares.c - one thread whose three functions take about 50, 30 and
 * 20% of its CPU time (share50, share30, share20). The program measures
 * the truth itself (thread CPU clock around every call) and writes it to
 * $CPT_OUT; check_cpu.py compares the profile's shares with it.
 *
 * The work comes in segments of random length (SEG_MS_LO..SEG_MS_HI ms),
 * in random order, so no segment pattern can line up with the sampling
 * period (aliasing), and each segment spans several periods, so the
 * profile's error is that of systematic sampling, about one sample per
 * segment boundary, far below the binomial error of random sampling.
 *
 * usage: cpu_shares SECONDS_OF_CPU SEG_MS_LO SEG_MS_HI
 */
#include "cpu_common.h"

#define SHARE_FN(name)                                                      \
    CPT_NOINLINE uint64_t name(uint64_t iters, uint64_t x)                  \
    {                                                                       \
        CPT_SPIN(x, iters);                                                 \
        return x;                                                           \
    }
SHARE_FN(share50)
SHARE_FN(share30)
SHARE_FN(share20)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    int lo = argc > 2 ? atoi(argv[2]) : 3, hi = argc > 3 ? atoi(argv[3]) : 12;
    uint64_t per_ms = cpt_calibrate(), x = 1;
    int64_t acc[3] = {0, 0, 0}, start = cpt_thread_cpu_ns();
    int64_t want = (int64_t)(secs * 1e9);

    rng ^= (uint64_t)cpt_mono_ns();
    while (cpt_thread_cpu_ns() - start < want) {
        uint64_t r = next_rand() % 100;
        uint64_t ms100 = (uint64_t)lo * 100 +
                         next_rand() % ((uint64_t)(hi - lo) * 100 + 1);
        uint64_t iters = per_ms * ms100 / 100;
        int64_t t0 = cpt_thread_cpu_ns();
        int k;
        if (r < 50) {
            x = share50(iters, x);
            k = 0;
        } else if (r < 80) {
            x = share30(iters, x);
            k = 1;
        } else {
            x = share20(iters, x);
            k = 2;
        }
        acc[k] += cpt_thread_cpu_ns() - t0;
    }
    cpt_out("tid", "%d", cpt_gettid());
    cpt_out("share50_ns", "%lld", (long long)acc[0]);
    cpt_out("share30_ns", "%lld", (long long)acc[1]);
    cpt_out("share20_ns", "%lld", (long long)acc[2]);
    cpt_out("thread_cpu_ns", "%lld", (long long)cpt_thread_cpu_ns());
    cpt_out("sink", "%llu", (unsigned long long)(x & 1));
    cpt_out_rusage();
    return 0;
}
