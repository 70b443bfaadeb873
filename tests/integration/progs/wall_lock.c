/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall_lock.c - one thread holds a mutex for known stretches in
 * hold_stretch() while others wait for it in wait_turn(); every wait is
 * timed by the program itself. The mutex profile must put the delay on
 * hold_stretch (the holder's unlock) and the block profile on wait_turn
 * (the waiters), each totalling what the program measured.
 *
 *     wall_lock [-waiters N] [-rounds N] [-hold MS] [-out DIR]
 *               [-rate NS] [-fraction N]
 *
 * With -out, the profiles are switched on (block rate -rate, default 1;
 * mutex fraction -fraction, default 1) and written
 * by the program through the cprof API, found with dlsym so the program
 * runs the same when libcprof is preloaded or linked: DIR/mutex.prof,
 * DIR/block.prof, DIR/mutex.txt, DIR/block.txt. Prints one JSON line:
 * {"waits": N, "wait_ns": total the waiters waited, ...}.
 */

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int rounds = 20, hold_ms = 20, n_waiters = 3;
static volatile int stretches;
static volatile int done;
static int64_t wait_ns[64];
static int64_t waits[64];

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

/* Holds the lock for hold_ms, sleeping (not spinning: the waiters' time
 * is what is measured, and the machine may have one free core). */
__attribute__((noinline)) static void hold_stretch(void)
{
    pthread_mutex_lock(&m);
    ms_sleep(hold_ms);
    pthread_mutex_unlock(&m);
    stretches++; /* not a tail call: the unlock returns here */
}

static void *holder(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        hold_stretch();
        ms_sleep(hold_ms / 4 + 1); /* let the waiters through */
    }
    done = 1;
    return NULL;
}

__attribute__((noinline)) static void wait_turn(int id)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&m);
    wait_ns[id] += now_ns() - t0;
    waits[id]++;
    pthread_mutex_unlock(&m);
    stretches += 0;
}

static void *waiter(void *arg)
{
    int id = (int)(intptr_t)arg;
    while (!done) {
        wait_turn(id);
        ms_sleep(1);
    }
    return NULL;
}

typedef void set_rate_fn(int64_t);
typedef void set_frac_fn(int);
typedef int write_fn(const char *, const char *, int);

int main(int argc, char **argv)
{
    const char *out = NULL;
    long long rate = 1;
    int fraction = 1;
    pthread_t h, w[64];
    int64_t total = 0, n = 0, t0;
    write_fn *wr = NULL;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-waiters"))
            n_waiters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-hold"))
            hold_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "-rate"))
            rate = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "-fraction"))
            fraction = atoi(argv[i + 1]);
    }
    if (n_waiters < 1 || n_waiters > 64)
        n_waiters = 3;
    if (out) {
        set_rate_fn *br = (set_rate_fn *)dlsym(RTLD_DEFAULT,
                                               "cprof_block_set_rate");
        set_frac_fn *mf = (set_frac_fn *)dlsym(RTLD_DEFAULT,
                                               "cprof_mutex_set_fraction");
        wr = (write_fn *)dlsym(RTLD_DEFAULT, "cprof_profile_write");
        if (!br || !mf || !wr) {
            fprintf(stderr, "wall_lock: libcprof is not loaded\n");
            return 2;
        }
        br(rate);
        mf(fraction);
    }
    t0 = now_ns();
    pthread_create(&h, NULL, holder, NULL);
    for (int i = 0; i < n_waiters; i++)
        pthread_create(&w[i], NULL, waiter, (void *)(intptr_t)i);
    pthread_join(h, NULL);
    for (int i = 0; i < n_waiters; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < n_waiters; i++) {
        total += wait_ns[i];
        n += waits[i];
    }
    if (out) {
        static const char *const what[] = {"mutex", "block"};
        char path[4096];
        for (int k = 0; k < 2; k++) {
            for (int debug = 0; debug < 2; debug++) {
                snprintf(path, sizeof path, "%s/%s.%s", out, what[k],
                         debug ? "txt" : "prof");
                if (wr(what[k], path, debug) != 0) {
                    perror(path);
                    return 1;
                }
            }
        }
    }
    printf("{\"waits\": %" PRId64 ", \"wait_ns\": %" PRId64
           ", \"elapsed_ns\": %" PRId64 ", \"rounds\": %d, \"hold_ms\": %d}\n",
           n, total, now_ns() - t0, rounds, hold_ms);
    return 0;
}
