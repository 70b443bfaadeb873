/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_quiet.c - threads that sleep, poll, select, wait on epoll, on
 * condition variables and semaphores, read a pipe, and compute with short
 * sleeps in between, each counting any EINTR and any sleep that ended
 * early. check_http.py fetches goroutine?debug=2 many times meanwhile:
 * a thread dump must change nothing, so every count must stay 0.
 *
 *   http_quiet SECONDS       (the endpoint: CPROF_HTTP=127.0.0.1:0)
 *
 * Prints "eintr N short M loops L" at the end.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static atomic_int eintr_count, short_count, loops;
static volatile int stop;
static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A call that should block for ms: count EINTR and early returns. */
static void check(int r, int err, int64_t t0, int ms)
{
    atomic_fetch_add(&loops, 1);
    if (r < 0 && err == EINTR)
        atomic_fetch_add(&eintr_count, 1);
    /* 1 ms of slack for clock granularity */
    else if (now_ns() - t0 < (int64_t)(ms - 1) * 1000000)
        atomic_fetch_add(&short_count, 1);
}

static void *sleeper(void *a)
{
    while (!stop) {
        struct timespec ts = {0, 30000000};
        int64_t t0 = now_ns();
        int r = nanosleep(&ts, NULL);
        check(r, errno, t0, 30);
    }
    return NULL;
}

static void *poller(void *a)
{
    while (!stop) {
        int64_t t0 = now_ns();
        int r = poll(NULL, 0, 30);
        check(r, errno, t0, 30);
    }
    return NULL;
}

static void *selecter(void *a)
{
    while (!stop) {
        struct timeval tv = {0, 30000};
        int64_t t0 = now_ns();
        int r = select(0, NULL, NULL, NULL, &tv);
        check(r, errno, t0, 30);
    }
    return NULL;
}

static void *epoller(void *a)
{
    int ep = epoll_create1(0);
    struct epoll_event ev;
    while (!stop) {
        int64_t t0 = now_ns();
        int r = epoll_wait(ep, &ev, 1, 30);
        check(r, errno, t0, 30);
    }
    close(ep);
    return NULL;
}

static void *condwaiter(void *a)
{
    pthread_mutex_lock(&mu);
    while (!stop) {
        struct timespec ts;
        int64_t t0 = now_ns();
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 30000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        int r = pthread_cond_timedwait(&cv, &mu, &ts);
        /* returns ETIMEDOUT, never EINTR; early wakeups are allowed by
         * POSIX but none should come from cprof */
        check(r == ETIMEDOUT ? 0 : -1, r == ETIMEDOUT ? 0 : r, t0, 30);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *semwaiter(void *a)
{
    while (!stop) {
        struct timespec ts;
        int64_t t0 = now_ns();
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 30000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        int r = sem_timedwait(&sem, &ts);
        check(r < 0 && errno == ETIMEDOUT ? 0 : r, errno, t0, 30);
    }
    return NULL;
}

static void *reader(void *a)
{
    char c;
    /* blocks until the end (main writes one byte) */
    ssize_t n = read(pipefd[0], &c, 1);
    if (n < 0 && errno == EINTR)
        atomic_fetch_add(&eintr_count, 1);
    return NULL;
}

__attribute__((noinline)) static double spin(int us)
{
    int64_t end = now_ns() + us * 1000LL;
    double x = 1;
    while (now_ns() < end)
        x = x * 1.0000001 + 1e-9;
    return x;
}

/* Computes, then sleeps briefly: often seen running, then blocked. */
static void *busy_sleeper(void *a)
{
    volatile double sink = 0;
    while (!stop) {
        struct timespec ts = {0, 2000000};
        sink += spin(1000);
        int64_t t0 = now_ns();
        int r = nanosleep(&ts, NULL);
        check(r, errno, t0, 2);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    void *(*fns[])(void *) = {sleeper,   poller, selecter,    epoller,
                               condwaiter, semwaiter, reader, busy_sleeper};
    const char *names[] = {"q-sleep", "q-poll", "q-select", "q-epoll",
                           "q-cond",  "q-sem",  "q-read",   "q-busy"};
    enum { N = sizeof fns / sizeof fns[0] };
    pthread_t t[N];

    if (pipe(pipefd) != 0 || sem_init(&sem, 0, 0) != 0)
        return 1;
    for (int i = 0; i < N; i++) {
        pthread_create(&t[i], NULL, fns[i], NULL);
        pthread_setname_np(t[i], names[i]);
    }
    fprintf(stderr, "http_quiet: ready\n");
    for (int i = 0; i < seconds * 10; i++) {
        struct timespec ts = {0, 100000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            atomic_fetch_add(&eintr_count, 1);
    }
    stop = 1;
    if (write(pipefd[1], "x", 1) != 1)
        return 1;
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    printf("eintr %d short %d loops %d\n", atomic_load(&eintr_count),
           atomic_load(&short_count), atomic_load(&loops));
    return 0;
}
