/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_badframes.c - stack memory the unwinder must not trust: spin_bad_rbp
 * is assembly without CFI (so the unwinder falls back to frame pointers)
 * that spins with RBP set to what its caller passes:
 *   0  a wild address (0xdead0000beef)
 *   1  a frame record on the stack that points at itself
 *   2  the last word below the top of the stack (a record would straddle
 *      the stack's end)
 *   3  random words on the stack (pointers, into the stack and out of it)
 *   4  zero
 * The profile must come out (no crash, no hang), with the samples in
 * spin_bad_rbp. Writes the variants run to $CPT_OUT.
 *
 * usage: cpu_badframes MILLISECONDS_PER_VARIANT
 */
#include <pthread.h>

#include "cpu_common.h"

/* spin_bad_rbp(iterations, rbp): no .cfi directives, no frame record */
__asm__(".text\n"
        ".globl spin_bad_rbp\n"
        ".type spin_bad_rbp,@function\n"
        "spin_bad_rbp:\n"
        "  push %rbp\n"
        "  mov %rsi, %rbp\n"
        "1:\n"
        "  dec %rdi\n"
        "  jnz 1b\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size spin_bad_rbp, .-spin_bad_rbp\n"
        ".previous\n");
void spin_bad_rbp(uint64_t iterations, uintptr_t rbp);

static uintptr_t stack_top(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    return (uintptr_t)addr + size;
}

CPT_NOINLINE void run_variant(int v, int64_t ns, uint64_t per_ms)
{
    uintptr_t fake[64];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    uintptr_t rbp;

    for (int i = 0; i < 64; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        fake[i] = (i % 3 == 0) ? (uintptr_t)&fake[rng % 64]
                  : (i % 3 == 1) ? (uintptr_t)rng
                                 : (uintptr_t)spin_bad_rbp + rng % 64;
    }
    switch (v) {
    case 0: rbp = 0xdead0000beefull; break;
    case 1:
        fake[10] = (uintptr_t)&fake[10];
        fake[11] = (uintptr_t)spin_bad_rbp + 5;
        rbp = (uintptr_t)&fake[10];
        break;
    case 2: rbp = stack_top() - 8; break;
    case 3: rbp = (uintptr_t)&fake[7]; break;
    default: rbp = 0; break;
    }
    int64_t t0 = cpt_thread_cpu_ns();
    while (cpt_thread_cpu_ns() - t0 < ns)
        spin_bad_rbp(per_ms, rbp);
    __asm__ volatile("" ::"r"(fake) : "memory");
}

int main(int argc, char **argv)
{
    int64_t ns = (argc > 1 ? atoll(argv[1]) : 300) * 1000000LL;
    uint64_t per_ms = cpt_calibrate();
    for (int v = 0; v < 5; v++)
        run_variant(v, ns, per_ms);
    cpt_out("variants", "5");
    cpt_out_rusage();
    return 0;
}
