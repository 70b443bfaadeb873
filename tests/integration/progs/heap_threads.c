/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_threads.c - threads allocating in parallel and handing blocks to
 * other threads that free them (a producer/consumer queue), with every
 * allocation function in the mix.
 *
 *   heap_threads THREADS PER_THREAD
 */
#include <pthread.h>
#include <stdint.h>

#include "heap_common.h"

HEAP_SITE(site_thread)

#define QCAP 1024
static void *queue[QCAP];
static int q_head, q_tail, q_n;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_more = PTHREAD_COND_INITIALIZER,
                      q_room = PTHREAD_COND_INITIALIZER;
static int per_thread;

static void put(void *p)
{
    pthread_mutex_lock(&q_lock);
    while (q_n == QCAP)
        pthread_cond_wait(&q_room, &q_lock);
    queue[q_tail] = p;
    q_tail = (q_tail + 1) % QCAP;
    q_n++;
    pthread_cond_signal(&q_more);
    pthread_mutex_unlock(&q_lock);
}

static void *get(void)
{
    void *p;
    pthread_mutex_lock(&q_lock);
    while (q_n == 0)
        pthread_cond_wait(&q_more, &q_lock);
    p = queue[q_head];
    q_head = (q_head + 1) % QCAP;
    q_n--;
    pthread_cond_signal(&q_room);
    pthread_mutex_unlock(&q_lock);
    return p;
}

static void *producer(void *arg)
{
    unsigned long long s = (uintptr_t)arg;
    for (int i = 0; i < per_thread; i++) {
        unsigned long long r = heap_rand(&s);
        void *p = site_thread(64);
        void *q = NULL;
        HEAP_CHECK(p);
        switch (r % 4) { /* some churn of other kinds too */
        case 0: q = calloc(1, 16 + r % 5000); break;
        case 1: q = realloc(NULL, 16 + r % 5000); q = realloc(q, 9000); break;
        case 2: HEAP_CHECK(posix_memalign(&q, 64, 100) == 0); break;
        default: q = strdup("x"); break;
        }
        free(q);
        put(p);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        free(get());
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t p[64], c[64];

    per_thread = argc > 2 ? atoi(argv[2]) : 10000;
    HEAP_CHECK(threads > 0 && threads <= 64);
    for (int i = 0; i < threads; i++) {
        HEAP_CHECK(pthread_create(&p[i], NULL, producer,
                                  (void *)(uintptr_t)(i + 1)) == 0);
        HEAP_CHECK(pthread_create(&c[i], NULL, consumer,
                                  (void *)(intptr_t)per_thread) == 0);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    heap_truth_site("site_thread", 0, 0, (long long)threads * per_thread,
                    (long long)threads * per_thread * 64);
    return 0;
}
