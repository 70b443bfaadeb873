/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_shares.c - one thread whose three functions take about 50, 30 and
 * 20% of its CPU time (share50, share30, share20). The program measures
 * the truth itself (thread CPU clock around every call) and writes it to
 * $CPT_OUT; check_cpu.py compares the profile's shares with it.
 *
 * The work comes in segments of random length (SEG_MS_LO..SEG_MS_HI ms),
 * so no segment pattern can line up with the sampling period (aliasing),
 * and each segment spans several periods, so the profile's error is that
 * of systematic sampling: each segment contributes its length/period
 * samples plus or minus one at its ends (variance <= 1/4 per segment), far
 * below the binomial error of random sampling. For 3 s at 1000 Hz in
 * 3-12 ms segments (~400 segments, ~200 of share50) the expected error of
 * share50 is sqrt(200/4)/3000 ~ 0.24 points; at 100 Hz, 6 s in 20-60 ms
 * segments (~150, ~75 of share50), sqrt(75/4)/600 ~ 0.7 points.
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
        /* Run the function furthest behind its share: the true shares stay
         * within one segment of 50/30/20 while the order stays irregular
         * (random lengths), so it never lines up with the period. */
        static const int pct[3] = {50, 30, 20};
        int64_t sum = acc[0] + acc[1] + acc[2];
        int k = 0;
        double worst = 1e300;
        for (int j = 0; j < 3; j++) {
            double ahead = (double)acc[j] - (double)sum * pct[j] / 100.0;
            if (ahead < worst) {
                worst = ahead;
                k = j;
            }
        }
        uint64_t ms100 = (uint64_t)lo * 100 +
                         next_rand() % ((uint64_t)(hi - lo) * 100 + 1);
        uint64_t iters = per_ms * ms100 / 100;
        int64_t t0 = cpt_thread_cpu_ns();
        if (k == 0)
            x = share50(iters, x);
        else if (k == 1)
            x = share30(iters, x);
        else
            x = share20(iters, x);
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
