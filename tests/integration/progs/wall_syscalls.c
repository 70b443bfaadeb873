/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall_syscalls.c - threads blocked in system calls, and threads making
 * many short ones, for the leaf check of the wall-clock profile
 * (wall_leaf.py): a blocked thread's stack must read as the call it is
 * blocked in (read / poll / nanosleep / syscall...) on top of the
 * program's function that made it, never cprof's interposer frames, a
 * libc helper they call (__errno_location) or a stale stack.
 *
 *     wall_syscalls [-seconds S]
 *
 * Threads, each named after its call and blocked in it for the whole
 * run, each from a function of its own:
 *   "b-read"   read(2) of a pipe            (interposed)   in block_read()
 *   "b-poll"   poll(2) of a pipe            (interposed)   in block_poll()
 *   "b-sleep"  nanosleep                    (interposed)   in block_sleep()
 *   "b-futex"  syscall(SYS_futex, WAIT)     (only /proc)   in block_futex()
 *   "b-fgets"  fgets of a pipe: glibc reads (only /proc)   in block_fgets()
 * and threads making short calls back to back:
 *   "ping", "pong"  one byte back and forth through two pipes
 *                   (in ping_loop() / pong_loop())
 *   "spin"          write+read of /dev/null, never blocking (spin_loop())
 * Prints one JSON line with the run's length.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static double seconds = 3;
static volatile int stop;
static int p_read[2], p_poll[2], p_fgets[2], p_ping[2], p_pong[2];
static uint32_t futex_word;

#define NOINLINE __attribute__((noinline, noclone))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* each blocks once, for the whole run (the main thread wakes it) */
NOINLINE static void block_read(void)
{
    char c;
    if (read(p_read[0], &c, 1) < 0)
        perror("read");
}

NOINLINE static void block_poll(void)
{
    struct pollfd p = {p_poll[0], POLLIN, 0};
    poll(&p, 1, (int)(seconds * 1000) + 5000);
}

NOINLINE static void block_sleep(void)
{
    struct timespec t = {(time_t)seconds, (long)((seconds - (time_t)seconds) *
                                                 1e9)};
    nanosleep(&t, NULL);
}

NOINLINE static void block_futex(void)
{
    while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

NOINLINE static void block_fgets(void)
{
    char buf[16];
    FILE *f = fdopen(p_fgets[0], "r");
    if (f && !fgets(buf, sizeof buf, f))
        perror("fgets");
}

NOINLINE static void ping_loop(void)
{
    char c = 'x';
    while (!stop) {
        if (write(p_ping[1], &c, 1) != 1 || read(p_pong[0], &c, 1) != 1)
            break;
    }
    close(p_ping[1]);
}

NOINLINE static void pong_loop(void)
{
    char c;
    while (read(p_ping[0], &c, 1) == 1) {
        if (write(p_pong[1], &c, 1) != 1)
            break;
    }
}

NOINLINE static void spin_loop(void)
{
    char b[64];
    int fd = open("/dev/null", O_RDWR);
    while (!stop) {
        if (write(fd, b, sizeof b) < 0 || read(fd, b, sizeof b) < 0)
            break;
    }
    close(fd);
}

struct job {
    const char *name;
    void (*fn)(void);
    pthread_t t;
};

static void *run_job(void *p)
{
    struct job *j = p;
    pthread_setname_np(pthread_self(), j->name);
    j->fn();
    return NULL;
}

int main(int argc, char **argv)
{
    struct job jobs[] = {
        {"b-read", block_read, 0},   {"b-poll", block_poll, 0},
        {"b-sleep", block_sleep, 0}, {"b-futex", block_futex, 0},
        {"b-fgets", block_fgets, 0}, {"ping", ping_loop, 0},
        {"pong", pong_loop, 0},      {"spin", spin_loop, 0},
    };
    int n = (int)(sizeof jobs / sizeof jobs[0]);
    struct timespec t;
    double t0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-seconds"))
            seconds = atof(argv[i + 1]);
    }
    if (pipe(p_read) || pipe(p_poll) || pipe(p_fgets) || pipe(p_ping) ||
        pipe(p_pong)) {
        perror("pipe");
        return 1;
    }
    t0 = now();
    for (int i = 0; i < n; i++)
        pthread_create(&jobs[i].t, NULL, run_job, &jobs[i]);
    t.tv_sec = (time_t)seconds;
    t.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9);
    /* the main thread sleeps too, in the program's main() */
    nanosleep(&t, NULL);
    stop = 1;
    if (write(p_read[1], "x", 1) != 1 || write(p_poll[1], "x", 1) != 1 ||
        write(p_fgets[1], "x\n", 2) != 2)
        perror("write");
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    for (int i = 0; i < n; i++)
        pthread_join(jobs[i].t, NULL);
    printf("{\"seconds\": %.3f}\n", now() - t0);
    return 0;
}
