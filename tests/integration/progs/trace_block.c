/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_block.c - one of each way a thread waits, each in a function of
 * its own, timed by the program itself: the tracer must record each as a
 * blocking event of the right kind, with the waiter's stack and duration,
 * and -pprof=block|sync|syscall must put each under the right function.
 * No cprof calls: it is traced through CPROF_TRACE (LD_PRELOAD in normal
 * builds). A forked child waits too, and writes its own trace FILE.PID.
 *
 *     CPROF_TRACE=FILE trace_block    prints {"wait_on_lock": ns, ...}
 */
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t sem;
static int pipefd[2];
static volatile int cond_ready;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ms_sleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int64_t t_lock, t_cond, t_sleep, t_read, t_join, t_rw, t_sem;

static volatile int holder_in;

__attribute__((noinline)) static void *hold_lock(void *a)
{
    pthread_mutex_lock(&m);
    holder_in = 1;
    ms_sleep(40);
    pthread_mutex_unlock(&m);
    return NULL;
}

__attribute__((noinline)) static void wait_on_lock(void)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&m);
    t_lock = now_ns() - t0;
    pthread_mutex_unlock(&m);
}

__attribute__((noinline)) static void *wait_on_cond(void *a)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&cm);
    while (!cond_ready)
        pthread_cond_wait(&c, &cm);
    pthread_mutex_unlock(&cm);
    t_cond = now_ns() - t0;
    return NULL;
}

__attribute__((noinline)) static void *sleeper(void *a)
{
    int64_t t0 = now_ns();
    usleep(30000);
    t_sleep = now_ns() - t0;
    return NULL;
}

__attribute__((noinline)) static void *read_pipe(void *a)
{
    char b;
    int64_t t0 = now_ns();
    if (read(pipefd[0], &b, 1) != 1)
        perror("read");
    t_read = now_ns() - t0;
    return NULL;
}

__attribute__((noinline)) static void *busy_then_exit(void *a)
{
    ms_sleep(30);
    return NULL;
}

__attribute__((noinline)) static void join_worker(pthread_t t)
{
    int64_t t0 = now_ns();
    pthread_join(t, NULL);
    t_join = now_ns() - t0;
}

static volatile int reader_in;

__attribute__((noinline)) static void *hold_read(void *a)
{
    pthread_rwlock_rdlock(&rw);
    reader_in = 1;
    ms_sleep(30);
    pthread_rwlock_unlock(&rw);
    return NULL;
}

__attribute__((noinline)) static void *wait_rwlock(void *a)
{
    /* the reader in first (however late a loaded machine starts it) */
    while (!reader_in)
        ms_sleep(1);
    ms_sleep(5);
    int64_t t0 = now_ns();
    pthread_rwlock_wrlock(&rw);
    t_rw = now_ns() - t0;
    pthread_rwlock_unlock(&rw);
    return NULL;
}

__attribute__((noinline)) static void *wait_sem(void *a)
{
    int64_t t0 = now_ns();
    sem_wait(&sem);
    t_sem = now_ns() - t0;
    return NULL;
}

static volatile int child_done;

__attribute__((noinline)) static void child_sleeps(void)
{
    usleep(20000);
    child_done = 1; /* not a tail call: keeps this frame on the stack */
}

static void *lock_waiter(void *a)
{
    while (!holder_in) /* the holder first, however late it starts */
        ms_sleep(1);
    ms_sleep(5);
    wait_on_lock();
    return NULL;
}

int main(void)
{
    pthread_t h, w, cw, s, r, j, rd, wr, sw;
    pid_t child;

    sem_init(&sem, 0, 0);
    if (pipe(pipefd))
        return 1;
    pthread_create(&h, NULL, hold_lock, NULL);
    pthread_create(&w, NULL, lock_waiter, NULL);
    pthread_create(&cw, NULL, wait_on_cond, NULL);
    pthread_create(&s, NULL, sleeper, NULL);
    pthread_create(&r, NULL, read_pipe, NULL);
    pthread_create(&rd, NULL, hold_read, NULL);
    pthread_create(&wr, NULL, wait_rwlock, NULL);
    pthread_create(&sw, NULL, wait_sem, NULL);
    pthread_create(&j, NULL, busy_then_exit, NULL);
    join_worker(j);
    ms_sleep(5);
    pthread_mutex_lock(&cm);
    cond_ready = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&cm);
    if (write(pipefd[1], "x", 1) != 1)
        return 1;
    sem_post(&sem);
    child = fork();
    if (child == 0) {
        child_sleeps();
        exit(0);
    }
    waitpid(child, NULL, 0);
    pthread_join(h, NULL);
    pthread_join(w, NULL);
    pthread_join(cw, NULL);
    pthread_join(s, NULL);
    pthread_join(r, NULL);
    pthread_join(rd, NULL);
    pthread_join(wr, NULL);
    pthread_join(sw, NULL);
    printf("{\"wait_on_lock\":%" PRId64 ",\"wait_on_cond\":%" PRId64
           ",\"sleeper\":%" PRId64 ",\"read_pipe\":%" PRId64
           ",\"join_worker\":%" PRId64 ",\"wait_rwlock\":%" PRId64
           ",\"wait_sem\":%" PRId64 ",\"child\":%d}\n",
           t_lock, t_cond, t_sleep, t_read, t_join, t_rw, t_sem, (int)child);
    return 0;
}
