/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - a small long-running program with cprof's live endpoint on
 * (SPEC §7), the C twin of a Go service that imports net/http/pprof.
 *
 *   server [-addr HOST:PORT] [-t WORKERS] [-d SECONDS]
 *
 * Workers take "requests" from a queue: each parses, hashes and caches
 * some data (CPU and heap), a cache thread evicts old entries, a ticker
 * sleeps, and an idle thread waits on a condition variable. While it runs:
 *
 *   curl localhost:6060/debug/pprof/
 *   curl 'localhost:6060/debug/pprof/goroutine?debug=2'
 *   curl 'localhost:6060/debug/pprof/heap?debug=1'
 *   go tool pprof -top 'http://localhost:6060/debug/pprof/profile?seconds=5'
 *   cprof -http=:8080 http://localhost:6060/debug/pprof/heap
 *
 * -addr 127.0.0.1:0 picks a free port (printed on stderr). With
 * CPROF_HTTP set the library has started the endpoint already.
 */
#include <cprof.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE 64
#define CACHE 4096

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int queue[QUEUE], q_head, q_len;
static volatile sig_atomic_t stop;
static char *cache[CACHE];
static uint64_t served;

static void on_signal(int sig)
{
    stop = 1;
}

/* ---- the work of one request ---- */

__attribute__((noinline)) static uint64_t hash_bytes(const char *p, size_t n,
                                                     uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

__attribute__((noinline)) static char *parse_request(int id)
{
    size_t n = 256 + (size_t)(id % 64) * 64;
    char *buf = malloc(n);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (id + i) % 26);
    return buf;
}

__attribute__((noinline)) static void handle_request(int id)
{
    char *req = parse_request(id);
    uint64_t h = 1469598103934665603ull;
    if (!req)
        return;
    for (int round = 0; round < 1000; round++)
        h = hash_bytes(req, 256, h);
    /* keep some results: a slowly changing live heap */
    pthread_mutex_lock(&mu);
    free(cache[h % CACHE]);
    cache[h % CACHE] = req;
    served++;
    pthread_mutex_unlock(&mu);
}

static void *worker(void *arg)
{
    for (;;) {
        int id;
        pthread_mutex_lock(&mu);
        while (!q_len && !stop)
            pthread_cond_wait(&nonempty, &mu);
        if (stop) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        id = queue[q_head];
        q_head = (q_head + 1) % QUEUE;
        q_len--;
        pthread_mutex_unlock(&mu);
        handle_request(id);
    }
}

/* Produces requests at a steady rate. */
static void *acceptor(void *arg)
{
    struct timespec ts = {0, 2000000};
    int id = 0;
    while (!stop) {
        pthread_mutex_lock(&mu);
        if (q_len < QUEUE) {
            queue[(q_head + q_len) % QUEUE] = id++;
            q_len++;
            pthread_cond_signal(&nonempty);
        }
        pthread_mutex_unlock(&mu);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Evicts a few cache entries now and then. */
static void *evictor(void *arg)
{
    unsigned k = 0;
    while (!stop) {
        sleep(1);
        pthread_mutex_lock(&mu);
        for (int i = 0; i < 64; i++, k++) {
            free(cache[k % CACHE]);
            cache[k % CACHE] = NULL;
        }
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

/* Waits for something that never comes (shows as a condvar wait). */
static void *idle(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!stop)
        pthread_cond_wait(&never, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: server [-addr HOST:PORT] [-t WORKERS] "
                    "[-d SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "localhost:6060";
    int workers = 2, seconds = 0;
    pthread_t t[64 + 3];
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-addr") && i + 1 < argc)
            addr = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else
            usage();
    }
    if (workers < 1 || workers > 64)
        usage();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    if (!getenv("CPROF_HTTP") && cprof_http_start(addr) != 0) {
        fprintf(stderr, "server: %s\n", cprof_strerror());
        return 1;
    }
    fprintf(stderr, "server: %d workers; try: curl "
                    "'http://%s/debug/pprof/goroutine?debug=2'\n",
            workers, getenv("CPROF_HTTP") ? getenv("CPROF_HTTP") : addr);

    for (int i = 0; i < workers; i++) {
        char name[16];
        pthread_create(&t[n], NULL, worker, NULL);
        snprintf(name, sizeof name, "worker-%d", i);
        pthread_setname_np(t[n++], name);
    }
    pthread_create(&t[n], NULL, acceptor, NULL);
    pthread_setname_np(t[n++], "acceptor");
    pthread_create(&t[n], NULL, evictor, NULL);
    pthread_setname_np(t[n++], "evictor");
    pthread_create(&t[n], NULL, idle, NULL);
    pthread_setname_np(t[n++], "idle");

    for (int s = 0; !stop && (!seconds || s < seconds * 10); s++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    stop = 1;
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&nonempty);
    pthread_cond_broadcast(&never);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "server: served %llu requests\n",
            (unsigned long long)served);
    if (!getenv("CPROF_HTTP"))
        cprof_http_stop();
    for (int i = 0; i < CACHE; i++)
        free(cache[i]);
    return 0;
}
