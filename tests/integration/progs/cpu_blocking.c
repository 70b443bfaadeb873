/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_blocking.c - no sampling signal may reach a thread blocked in a
 * system call: threads that nanosleep, clock_nanosleep, poll, select,
 * epoll_wait, sem_timedwait and read a pipe in loops (1 ms timeouts), while
 * two other threads burn CPU and the process is sampled. Each blocking
 * call that fails with EINTR, or returns before its timeout, is counted;
 * the counts go to $CPT_OUT (all must be 0).
 *
 * usage: cpu_blocking MILLISECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "cpu_common.h"

enum { K_NANOSLEEP, K_CLOCK_NANOSLEEP, K_POLL, K_SELECT, K_EPOLL, K_SEM,
       K_PIPE, K_COUNT };
static const char *const kind_name[K_COUNT] = {
    "nanosleep", "clock_nanosleep", "poll", "select", "epoll_wait",
    "sem_timedwait", "pipe_read"};

struct blocker {
    int kind;
    long calls, eintr, early, other;
};

static atomic_int stop;
static int pipe_fds[2];
static int epfd;
static sem_t sem;

CPT_NOINLINE uint64_t block_burner(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void *burner(void *arg)
{
    uint64_t x = 1;
    while (!atomic_load(&stop))
        x = block_burner(100000, x);
    return (void *)(uintptr_t)(x & 1);
}

/* One blocking call with a 1 ms timeout; returns its result and errno in
 * *err. Sets *timed when the call is one whose normal end is the timeout. */
static int block_once(int kind, int *err, int *timed)
{
    struct timespec req = {0, 1000000}, rem, abs;
    struct epoll_event ev;
    struct timeval tv = {0, 1000};
    char c;
    int r;

    *timed = 1;
    errno = 0;
    switch (kind) {
    case K_NANOSLEEP: r = nanosleep(&req, &rem); break;
    case K_CLOCK_NANOSLEEP:
        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
        if (r) {
            errno = r;
            r = -1;
        }
        break;
    case K_POLL: r = poll(NULL, 0, 1); break;
    case K_SELECT: r = select(0, NULL, NULL, NULL, &tv); break;
    case K_EPOLL: r = epoll_wait(epfd, &ev, 1, 1); break;
    case K_SEM:
        clock_gettime(CLOCK_REALTIME, &abs);
        abs.tv_nsec += 1000000;
        if (abs.tv_nsec >= 1000000000) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000;
        }
        r = sem_timedwait(&sem, &abs);
        if (r < 0 && errno == ETIMEDOUT)
            r = 0;
        break;
    default: /* K_PIPE: the writer thread sends a byte every 1 ms */
        *timed = 0;
        r = (int)read(pipe_fds[0], &c, 1);
        if (r == 1)
            r = 0;
        break;
    }
    *err = errno;
    return r;
}

static void *blocker_main(void *arg)
{
    struct blocker *b = arg;
    while (!atomic_load(&stop)) {
        int err, timed;
        int64_t t0 = cpt_mono_ns();
        int r = block_once(b->kind, &err, &timed);
        int64_t dt = cpt_mono_ns() - t0;
        b->calls++;
        if (r < 0 && err == EINTR)
            b->eintr++;
        else if (r < 0)
            b->other++;
        else if (timed && dt < 1000000)
            b->early++;
    }
    return NULL;
}

static void *writer(void *arg)
{
    struct timespec req = {0, 1000000};
    while (!atomic_load(&stop)) {
        if (write(pipe_fds[1], "x", 1) != 1)
            break;
        nanosleep(&req, NULL);
    }
    /* wake the reader for good */
    for (int i = 0; i < 4; i++)
        if (write(pipe_fds[1], "x", 1) != 1)
            break;
    return NULL;
}

int main(int argc, char **argv)
{
    int ms = argc > 1 ? atoi(argv[1]) : 2000;
    struct blocker b[K_COUNT];
    pthread_t bt[K_COUNT], burners[2], wt;
    struct timespec run = {ms / 1000, (long)(ms % 1000) * 1000000};
    long eintr = 0, early = 0, other = 0;

    if (pipe(pipe_fds) || (epfd = epoll_create1(0)) < 0 ||
        sem_init(&sem, 0, 0))
        cpt_die("setup: %s", strerror(errno));
    for (int i = 0; i < 2; i++)
        if (pthread_create(&burners[i], NULL, burner, NULL))
            cpt_die("pthread_create");
    if (pthread_create(&wt, NULL, writer, NULL))
        cpt_die("pthread_create");
    for (int k = 0; k < K_COUNT; k++) {
        memset(&b[k], 0, sizeof b[k]);
        b[k].kind = k;
        if (pthread_create(&bt[k], NULL, blocker_main, &b[k]))
            cpt_die("pthread_create");
    }
    while (nanosleep(&run, &run) < 0 && errno == EINTR)
        ;
    atomic_store(&stop, 1);
    pthread_join(wt, NULL);
    for (int k = 0; k < K_COUNT; k++) {
        char key[64];
        pthread_join(bt[k], NULL);
        snprintf(key, sizeof key, "%s_calls", kind_name[k]);
        cpt_out(key, "%ld", b[k].calls);
        snprintf(key, sizeof key, "%s_eintr", kind_name[k]);
        cpt_out(key, "%ld", b[k].eintr);
        snprintf(key, sizeof key, "%s_early", kind_name[k]);
        cpt_out(key, "%ld", b[k].early);
        eintr += b[k].eintr;
        early += b[k].early;
        other += b[k].other;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(burners[i], NULL);
    cpt_out("eintr_total", "%ld", eintr);
    cpt_out("early_total", "%ld", early);
    cpt_out("other_errors", "%ld", other);
    cpt_out_rusage();
    return 0;
}
