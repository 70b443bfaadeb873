/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall_api.c - cprof_profile_write("wall", PATH, 0) from the program while
 * a thread "api-sleeper" sleeps: with CPROF_WALL set, the whole-run
 * profile's samples so far are written; without, the call fails with a
 * sentence. The API is found with dlsym, so the program runs the same
 * with libcprof preloaded or linked.
 *
 *     wall_api PATH     prints "write: ok" or "write: failed: SENTENCE"
 */

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

typedef int write_fn(const char *, const char *, int);
typedef const char *strerror_fn(void);

static void *sleeper(void *arg)
{
    struct timespec ts = {0, 600000000};
    (void)arg;
    pthread_setname_np(pthread_self(), "api-sleeper");
    nanosleep(&ts, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    write_fn *wr = (write_fn *)dlsym(RTLD_DEFAULT, "cprof_profile_write");
    strerror_fn *se = (strerror_fn *)dlsym(RTLD_DEFAULT, "cprof_strerror");
    struct timespec ts = {0, 400000000};
    pthread_t t;

    if (argc < 2 || !wr || !se) {
        fprintf(stderr, "usage: wall_api PATH (with libcprof loaded)\n");
        return 2;
    }
    pthread_create(&t, NULL, sleeper, NULL);
    nanosleep(&ts, NULL);
    if (wr("wall", argv[1], 0) == 0)
        printf("write: ok\n");
    else
        printf("write: failed: %s\n", se());
    pthread_join(t, NULL);
    return 0;
}
