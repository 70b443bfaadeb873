/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_dlopen.c - dlopen, call, dlclose a library in a loop while a second
 * thread burns CPU and both are sampled (the test runs it at 1000 Hz): no
 * crash (a handler walking a module being unmapped), no deadlock (a
 * handler interrupting the loader), and the library's samples keep their
 * names although it is closed by the time the profile is written.
 *
 * usage: cpu_dlopen LIBRARY ITERATIONS USEC_PER_CALL
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cpu_common.h"

static uint64_t per_ms;
static atomic_int stop;

CPT_NOINLINE uint64_t dl_burner(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void *burner(void *arg)
{
    uint64_t x = 1;
    while (!atomic_load(&stop))
        x = dl_burner(per_ms / 4, x);
    return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
    const char *lib = argc > 1 ? argv[1] : "libcpt_dl.so";
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    int usec = argc > 3 ? atoi(argv[3]) : 500;
    uint64_t x = 1;
    pthread_t bt;

    per_ms = cpt_calibrate();
    if (pthread_create(&bt, NULL, burner, NULL))
        cpt_die("pthread_create");
    for (int i = 0; i < n; i++) {
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            cpt_die("dlopen %s: %s", lib, dlerror());
        uint64_t (*fn)(uint64_t, uint64_t) =
            (uint64_t(*)(uint64_t, uint64_t))dlsym(h, "dl_busy");
        if (!fn)
            cpt_die("dlsym: %s", dlerror());
        x = fn(per_ms * (uint64_t)usec / 1000, x);
        if (dlclose(h))
            cpt_die("dlclose: %s", dlerror());
    }
    atomic_store(&stop, 1);
    pthread_join(bt, NULL);
    cpt_out("iterations", "%d", n);
    cpt_out("sink", "%llu", (unsigned long long)(x & 1));
    cpt_out_rusage();
    return 0;
}
