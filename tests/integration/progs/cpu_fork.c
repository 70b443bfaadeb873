/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_fork.c - fork while profiled, with another thread burning CPU at the
 * same time (so the fork happens while signals fly and cprof's locks may
 * be held by that thread):
 *   - child 0 burns child_work and returns from main (exit): it must write
 *     its own profile, FILE.PID (SPEC §2);
 *   - child 1 burns child_work and calls _exit: no profile;
 *   - then FORKS more children that _exit at once (a fork storm: no
 *     deadlock, no crash);
 * and the parent burns parent_work before and after. Child pids and exit
 * statuses go to $CPT_OUT.
 *
 * usage: cpu_fork FORKS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "cpu_common.h"

static uint64_t per_ms;
static atomic_int stop;

CPT_NOINLINE uint64_t parent_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

CPT_NOINLINE uint64_t child_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

CPT_NOINLINE uint64_t burner_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void *burner(void *arg)
{
    uint64_t x = 1;
    while (!atomic_load(&stop))
        x = burner_work(per_ms / 4, x);
    return (void *)(uintptr_t)(x & 1);
}

static void burn(uint64_t (*fn)(uint64_t, uint64_t), int ms)
{
    uint64_t x = 1;
    int64_t t0 = cpt_thread_cpu_ns();
    while (cpt_thread_cpu_ns() - t0 < (int64_t)ms * 1000000)
        x = fn(per_ms / 4, x);
    __asm__ volatile("" ::"r"(x));
}

static int wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return st;
}

int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 50;
    pthread_t bt;
    int bad = 0;

    per_ms = cpt_calibrate();
    if (pthread_create(&bt, NULL, burner, NULL))
        cpt_die("pthread_create");
    burn(parent_work, 200);

    for (int k = 0; k < 2; k++) {
        pid_t pid = fork();
        if (pid < 0)
            cpt_die("fork");
        if (pid == 0) {
            burn(child_work, 300);
            if (k == 0)
                exit(0); /* atexit handlers run: FILE.PID is written */
            _exit(0);
        }
        int st = wait_status(pid);
        cpt_out(k == 0 ? "child_exit_pid" : "child__exit_pid", "%d", pid);
        cpt_out(k == 0 ? "child_exit_status" : "child__exit_status", "%d",
                st);
        if (st != 0)
            bad++;
    }
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid < 0)
            cpt_die("fork");
        if (pid == 0)
            _exit(7);
        int st = wait_status(pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) {
            fprintf(stderr, "storm child %d: status %#x\n", i, st);
            bad++;
        }
    }
    burn(parent_work, 200);
    atomic_store(&stop, 1);
    pthread_join(bt, NULL);
    cpt_out("bad_children", "%d", bad);
    cpt_out_rusage();
    return bad ? 1 : 0;
}
