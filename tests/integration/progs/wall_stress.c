/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall_stress.c - 32 threads on 4 mutexes and their condition variables,
 * with a result that does not depend on timing: 16 producers push known
 * values through 4 bounded queues (a mutex, "not empty" and "not full"
 * conditions each; some waits timed, some locks taken by trylock loops)
 * to 16 consumers, and every round ends at a barrier of all 32 threads.
 * Each round's sum and count are checked against their closed form, so a
 * run profiled at full rates must print exactly what an unprofiled run
 * prints; a deadlock shows as a run that never ends (the test's timeout).
 *
 *     wall_stress [-rounds N | -seconds S] [-items K]
 *
 * Prints {"rounds": N, "bad_rounds": 0, "sum": ..., "count": ...}; with
 * -seconds it runs rounds until S seconds have passed.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUES 4
#define PRODUCERS 16
#define CONSUMERS 16
#define THREADS (PRODUCERS + CONSUMERS)
#define SLOTS 8
#define SENTINEL UINT64_MAX

struct queue {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    uint64_t v[SLOTS];
    int head, n;
};

static struct queue q[QUEUES];
static int items = 2000;
static int rounds = 5;
static double seconds;
static volatile int stop;
static int64_t t_end;

/* the barrier at the end of a round: on queue 0's mutex */
static pthread_cond_t barrier_cv = PTHREAD_COND_INITIALIZER;
static int arrived, phase;
static int go_on = 1; /* decided by the last thread at each barrier */

/* per round, reset at the barrier */
static uint64_t round_sum[QUEUES], round_count[QUEUES];
static int producers_left;
static int rounds_done, bad_rounds;
static uint64_t total_sum, total_count;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lock(struct queue *x, int spin)
{
    if (spin) {
        /* a trylock loop, as some programs do */
        while (pthread_mutex_trylock(&x->m) == EBUSY)
            sched_yield();
    } else {
        pthread_mutex_lock(&x->m);
    }
}

static void push(struct queue *x, uint64_t v, int spin)
{
    lock(x, spin);
    while (x->n == SLOTS)
        pthread_cond_wait(&x->not_full, &x->m);
    x->v[(x->head + x->n) % SLOTS] = v;
    x->n++;
    pthread_cond_signal(&x->not_empty);
    pthread_mutex_unlock(&x->m);
}

static uint64_t pop(struct queue *x, int timed)
{
    uint64_t v;
    pthread_mutex_lock(&x->m);
    while (x->n == 0) {
        if (timed) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&x->not_empty, &x->m, &ts);
        } else {
            pthread_cond_wait(&x->not_empty, &x->m);
        }
    }
    v = x->v[x->head];
    x->head = (x->head + 1) % SLOTS;
    x->n--;
    pthread_cond_signal(&x->not_full);
    pthread_mutex_unlock(&x->m);
    return v;
}

/* All THREADS meet; the last one checks the round and decides whether
 * another follows. Returns go_on. */
static int barrier(void)
{
    int r;
    pthread_mutex_lock(&q[0].m);
    int my = phase;
    if (++arrived == THREADS) {
        uint64_t sum = 0, count = 0, want_sum = 0, want_count;
        for (int i = 0; i < QUEUES; i++) {
            sum += round_sum[i];
            count += round_count[i];
            round_sum[i] = round_count[i] = 0;
        }
        for (uint64_t p = 0; p < PRODUCERS; p++)
            for (uint64_t i = 0; i < (uint64_t)items; i++)
                want_sum += p * 1000003 + i;
        want_count = (uint64_t)PRODUCERS * (uint64_t)items;
        if (sum != want_sum || count != want_count)
            bad_rounds++;
        total_sum += sum;
        total_count += count;
        rounds_done++;
        producers_left = PRODUCERS;
        go_on = seconds > 0 ? now_ns() < t_end : rounds_done < rounds;
        arrived = 0;
        phase++;
        pthread_cond_broadcast(&barrier_cv);
    } else {
        while (phase == my)
            pthread_cond_wait(&barrier_cv, &q[0].m);
    }
    r = go_on;
    pthread_mutex_unlock(&q[0].m);
    return r;
}

static void *producer(void *arg)
{
    int p = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "prod-%d", p);
    pthread_setname_np(pthread_self(), name);
    do {
        for (int i = 0; i < items; i++)
            push(&q[(i + p) % QUEUES], (uint64_t)p * 1000003 + (uint64_t)i,
                 p % 4 == 3);
        /* the last producer of the round tells every consumer */
        pthread_mutex_lock(&q[0].m);
        int last = --producers_left == 0;
        pthread_mutex_unlock(&q[0].m);
        if (last) {
            for (int k = 0; k < QUEUES; k++)
                for (int c = 0; c < CONSUMERS / QUEUES; c++)
                    push(&q[k], SENTINEL, 0);
        }
    } while (barrier());
    return NULL;
}

static void *consumer(void *arg)
{
    int c = (int)(intptr_t)arg;
    struct queue *x = &q[c % QUEUES];
    char name[16];
    snprintf(name, sizeof name, "cons-%d", c);
    pthread_setname_np(pthread_self(), name);
    do {
        uint64_t sum = 0, count = 0, v;
        while ((v = pop(x, c % 2)) != SENTINEL) {
            sum += v;
            count++;
        }
        pthread_mutex_lock(&q[0].m);
        round_sum[c % QUEUES] += sum;
        round_count[c % QUEUES] += count;
        pthread_mutex_unlock(&q[0].m);
    } while (barrier());
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[THREADS];
    int64_t t0 = now_ns();

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-items"))
            items = atoi(argv[i + 1]);
    }
    if (rounds < 1)
        rounds = 1;
    t_end = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < QUEUES; i++) {
        pthread_mutex_init(&q[i].m, NULL);
        pthread_cond_init(&q[i].not_empty, NULL);
        pthread_cond_init(&q[i].not_full, NULL);
    }
    producers_left = PRODUCERS;
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&t[PRODUCERS + i], NULL, consumer,
                       (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("{\"rounds\": %d, \"bad_rounds\": %d, \"sum\": %" PRIu64
           ", \"count\": %" PRIu64 ", \"per_round_sum\": %" PRIu64
           ", \"seconds\": %.3f}\n",
           rounds_done, bad_rounds, total_sum, total_count,
           rounds_done ? total_sum / (uint64_t)rounds_done : 0,
           (now_ns() - t0) / 1e9);
    return 0;
}
