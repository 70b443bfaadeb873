/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall_half.c - a thread that spends half its wall time computing (in
 * compute()) and half waiting (in wait_some()), measured by the program
 * itself. A wall-clock profile must give about half of the thread's
 * samples to each, labelled state=running and state=blocked, and the
 * waits must never be cut short: every EINTR is counted and every sleep's
 * length checked against what it asked for.
 *
 *     wall_half [-seconds S] [-period MS] [-wait sleep|usleep|pipe|fread|
 *               poll|select|cond] [-threads N]
 *
 * Each of N threads (named "half-0".."half-N-1") alternates compute and
 * wait stretches of MS/2 milliseconds. "pipe" reads a pipe with read(2)
 * (through cprof's interposer), "fread" with stdio (glibc calls read
 * internally, so only /proc can see it); a helper thread ("feeder")
 * writes one line per stretch. "cond" waits on a condition variable with
 * a timeout. A thread "idle" sleeps the whole run in one call.
 * Prints one JSON line.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

enum mode { M_SLEEP, M_USLEEP, M_PIPE, M_FREAD, M_POLL, M_SELECT, M_COND };

static enum mode mode = M_SLEEP;
static double seconds = 4;
static int period_ms = 100, n_threads = 1;
static volatile int done;
static volatile double sink;

struct worker {
    pthread_t t;
    int id;
    int pipefd[2];
    FILE *in;
    int64_t compute_ns, wait_ns, waits, eintr, short_waits;
    int64_t worst_ratio_ppm; /* shortest sleep / asked, parts per million */
};

static struct worker workers[64];
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cc = PTHREAD_COND_INITIALIZER;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((noinline)) static void compute(int64_t ns)
{
    int64_t end = now_ns() + ns;
    double x = 1.0;
    while (now_ns() < end) {
        for (int i = 0; i < 500; i++)
            x = x * 1.0000001 + 1e-9;
    }
    sink = x;
}

static void check_sleep(struct worker *w, int64_t asked, int64_t got)
{
    int64_t ppm = asked ? got * 1000000 / asked : 1000000;
    if (got < asked)
        w->short_waits++;
    if (!w->worst_ratio_ppm || ppm < w->worst_ratio_ppm)
        w->worst_ratio_ppm = ppm;
}

/* One wait stretch of ns; a sleep cut short is not resumed: it is
 * counted, and the next stretch starts, so the harm shows. */
__attribute__((noinline)) static void wait_some(struct worker *w, int64_t ns)
{
    int64_t t0 = now_ns(), got;
    char buf[256];
    int r = 0;

    switch (mode) {
    case M_SLEEP: {
        struct timespec ts = {ns / 1000000000, ns % 1000000000};
        r = nanosleep(&ts, NULL);
        break;
    }
    case M_USLEEP:
        r = usleep((useconds_t)(ns / 1000));
        break;
    case M_POLL:
        r = poll(NULL, 0, (int)(ns / 1000000));
        r = r < 0 ? -1 : 0;
        break;
    case M_SELECT: {
        struct timeval tv = {ns / 1000000000, (ns % 1000000000) / 1000};
        r = select(0, NULL, NULL, NULL, &tv);
        break;
    }
    case M_COND: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += ns % 1000000000;
        ts.tv_sec += ns / 1000000000 + ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_mutex_lock(&cm);
        int e = 0;
        while (!done && e != ETIMEDOUT)
            e = pthread_cond_timedwait(&cc, &cm, &ts);
        pthread_mutex_unlock(&cm);
        break;
    }
    case M_PIPE: {
        ssize_t n = read(w->pipefd[0], buf, sizeof buf);
        r = n < 0 ? -1 : 0;
        break;
    }
    case M_FREAD:
        r = fgets(buf, sizeof buf, w->in) ? 0 : (ferror(w->in) ? -1 : 0);
        if (r && errno == EINTR)
            clearerr(w->in);
        break;
    }
    if (r != 0 && errno == EINTR)
        w->eintr++;
    got = now_ns() - t0;
    w->wait_ns += got;
    w->waits++;
    if (mode != M_PIPE && mode != M_FREAD)
        check_sleep(w, ns, got);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char name[16];
    int64_t half = (int64_t)period_ms * 500000, end;

    snprintf(name, sizeof name, "half-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    end = now_ns() + (int64_t)(seconds * 1e9);
    while (now_ns() < end) {
        int64_t t0 = now_ns();
        compute(half);
        w->compute_ns += now_ns() - t0;
        wait_some(w, half);
    }
    return NULL;
}

/* Writes one line to every pipe per stretch, on the wait's schedule. */
static void *feeder(void *arg)
{
    int64_t half = (int64_t)period_ms * 500000, next = now_ns();
    (void)arg;
    pthread_setname_np(pthread_self(), "feeder");
    while (!done) {
        /* the first line when the readers start waiting, then one per
         * period */
        next += half;
        for (int64_t now = now_ns(); now < next && !done; now = now_ns()) {
            struct timespec ts = {0, (long)(next - now)};
            nanosleep(&ts, NULL);
        }
        for (int i = 0; i < n_threads; i++) {
            if (write(workers[i].pipefd[1], "line\n", 5) < 0)
                return NULL;
        }
        next += half;
        for (int64_t now = now_ns(); now < next && !done; now = now_ns()) {
            struct timespec ts = {0, (long)(next - now)};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < n_threads; i++)
        close(workers[i].pipefd[1]);
    return NULL;
}

static void *idle(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "idle");
    struct timespec ts = {(time_t)seconds + 1, 0};
    nanosleep(&ts, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t fd_thread, idle_thread;
    int64_t t0, compute = 0, wait = 0, waits = 0, eintr = 0, shorts = 0;
    int64_t worst = 1000000;
    bool pipes;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *v = argv[i + 1];
        if (!strcmp(argv[i], "-seconds"))
            seconds = atof(v);
        else if (!strcmp(argv[i], "-period"))
            period_ms = atoi(v);
        else if (!strcmp(argv[i], "-threads"))
            n_threads = atoi(v);
        else if (!strcmp(argv[i], "-wait"))
            mode = !strcmp(v, "usleep")   ? M_USLEEP
                   : !strcmp(v, "pipe")   ? M_PIPE
                   : !strcmp(v, "fread")  ? M_FREAD
                   : !strcmp(v, "poll")   ? M_POLL
                   : !strcmp(v, "select") ? M_SELECT
                   : !strcmp(v, "cond")   ? M_COND
                                          : M_SLEEP;
    }
    if (n_threads < 1 || n_threads > 64)
        n_threads = 1;
    if (period_ms < 2)
        period_ms = 2;
    pipes = mode == M_PIPE || mode == M_FREAD;
    for (int i = 0; i < n_threads; i++) {
        workers[i].id = i;
        if (pipes) {
            if (pipe(workers[i].pipefd) != 0)
                return 1;
            workers[i].in = fdopen(workers[i].pipefd[0], "r");
            setvbuf(workers[i].in, NULL, _IOLBF, 0);
        }
    }
    t0 = now_ns();
    pthread_create(&idle_thread, NULL, idle, NULL);
    if (pipes)
        pthread_create(&fd_thread, NULL, feeder, NULL);
    for (int i = 0; i < n_threads; i++)
        pthread_create(&workers[i].t, NULL, work, &workers[i]);
    for (int i = 0; i < n_threads; i++)
        pthread_join(workers[i].t, NULL);
    done = 1;
    pthread_mutex_lock(&cm);
    pthread_cond_broadcast(&cc);
    pthread_mutex_unlock(&cm);
    if (pipes)
        pthread_join(fd_thread, NULL);
    pthread_join(idle_thread, NULL);
    for (int i = 0; i < n_threads; i++) {
        compute += workers[i].compute_ns;
        wait += workers[i].wait_ns;
        waits += workers[i].waits;
        eintr += workers[i].eintr;
        shorts += workers[i].short_waits;
        if (workers[i].worst_ratio_ppm && workers[i].worst_ratio_ppm < worst)
            worst = workers[i].worst_ratio_ppm;
    }
    printf("{\"compute_ns\": %" PRId64 ", \"wait_ns\": %" PRId64
           ", \"waits\": %" PRId64 ", \"eintr\": %" PRId64
           ", \"short_waits\": %" PRId64 ", \"worst_ratio\": %.6f"
           ", \"elapsed_ns\": %" PRId64 ", \"threads\": %d"
           ", \"per_thread\": [",
           compute, wait, waits, eintr, shorts, worst / 1e6, now_ns() - t0,
           n_threads);
    for (int i = 0; i < n_threads; i++)
        printf("%s[%" PRId64 ", %" PRId64 "]", i ? ", " : "",
               workers[i].compute_ns, workers[i].wait_ns);
    printf("]}\n");
    return 0;
}
