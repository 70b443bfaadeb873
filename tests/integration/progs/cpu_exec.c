/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_exec.c - exec from a profiled process, while other threads are busy
 * (the test samples at 1000 Hz). A sampling signal still pending when the
 * image is replaced would kill the new image, which has no handler for it:
 *   chain N      burn a little on 3 threads, then execv itself with N-1,
 *                N times over (one process, N+1 images: what wrapper
 *                scripts and version-manager shims do). The last image
 *                writes "chain_done"; the process's exit status tells
 *                whether any image died.
 *   forkexec N   N times: fork; the child execs /bin/true, half of the
 *                time with an environment stripped of LD_PRELOAD and
 *                CPROF_* (an image with no cprof at all), half with it.
 *   spawn N      N times posix_spawn(/bin/true) (vfork-style clone).
 * Children that did not exit with status 0 are counted in $CPT_OUT.
 *
 * usage: cpu_exec MODE N
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "cpu_common.h"

extern char **environ;

static uint64_t per_ms;
static atomic_int stop;

CPT_NOINLINE uint64_t exec_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void *burner(void *arg)
{
    uint64_t x = 1;
    while (!atomic_load(&stop))
        x = exec_work(per_ms / 8, x);
    return (void *)(uintptr_t)(x & 1);
}

static void burn_ms(double ms)
{
    uint64_t x = exec_work((uint64_t)(ms * (double)per_ms), 1);
    __asm__ volatile("" ::"r"(x));
}

static char **clean_env(void)
{
    size_t n = 0, k = 0;
    char **env;
    while (environ[n])
        n++;
    env = calloc(n + 1, sizeof *env);
    if (!env)
        cpt_die("calloc");
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "LD_PRELOAD=", 11) ||
            !strncmp(environ[i], "CPROF_", 6))
            continue;
        env[k++] = environ[i];
    }
    return env;
}

static int status_ok(int st)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "chain";
    int n = argc > 2 ? atoi(argv[2]) : 100;
    char *tru[] = {"/bin/true", NULL};
    pthread_t bt[2];
    int bad = 0;

    /* Calibrating costs ~20 ms per image; a fixed figure keeps the chain
     * quick (only "a little CPU" matters here). */
    per_ms = 200000;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&bt[i], NULL, burner, NULL))
            cpt_die("pthread_create");

    if (!strcmp(mode, "chain")) {
        burn_ms(3);
        if (n > 0) {
            char num[16];
            snprintf(num, sizeof num, "%d", n - 1);
            char *args[] = {argv[0], "chain", num, NULL};
            execv("/proc/self/exe", args);
            cpt_die("execv: %s", strerror(errno));
        }
        cpt_out("chain_done", "1");
    } else if (!strcmp(mode, "forkexec")) {
        char **env = clean_env();
        for (int i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid < 0)
                cpt_die("fork");
            if (pid == 0) {
                execve(tru[0], tru, (i & 1) ? environ : env);
                _exit(127);
            }
            int st;
            while (waitpid(pid, &st, 0) < 0)
                ;
            if (!status_ok(st)) {
                fprintf(stderr, "child %d: status %#x\n", i, st);
                bad++;
            }
        }
    } else if (!strcmp(mode, "spawn")) {
        for (int i = 0; i < n; i++) {
            pid_t pid;
            int st, rc = posix_spawn(&pid, tru[0], NULL, NULL, tru, environ);
            if (rc)
                cpt_die("posix_spawn: %s", strerror(rc));
            while (waitpid(pid, &st, 0) < 0)
                ;
            if (!status_ok(st)) {
                fprintf(stderr, "spawned %d: status %#x\n", i, st);
                bad++;
            }
        }
    } else {
        cpt_die("unknown mode %s", mode);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(bt[i], NULL);
    cpt_out("bad_children", "%d", bad);
    return bad ? 1 : 0;
}
