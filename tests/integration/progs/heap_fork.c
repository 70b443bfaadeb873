/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_fork.c - fork while another thread allocates and frees at full
 * speed (the atfork handlers must leave no lock held), then allocate in
 * the children, which exit normally and write their own CPROF_HEAP.PID.
 *
 *   heap_fork CHILDREN
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap_common.h"

HEAP_SITE(site_parent)
HEAP_SITE(site_child)
HEAP_SITE(site_busy)

static atomic_int stop;

static void *busy(void *arg)
{
    void *slot[64] = {0};
    unsigned long long s = 1;
    while (!atomic_load(&stop)) {
        unsigned long long r = heap_rand(&s);
        free(slot[r % 64]);
        slot[r % 64] = site_busy(16 + (r >> 40) % 20000);
    }
    for (int i = 0; i < 64; i++)
        free(slot[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int children = argc > 1 ? atoi(argv[1]) : 10;
    static void *keep[10];
    pthread_t t;

    for (int i = 0; i < 10; i++)
        keep[i] = site_parent(1000);
    HEAP_CHECK(pthread_create(&t, NULL, busy, NULL) == 0);
    for (int c = 0; c < children; c++) {
        pid_t pid = fork();
        HEAP_CHECK(pid >= 0);
        if (pid == 0) {
            static void *mine[20];
            for (int i = 0; i < 20; i++)
                HEAP_CHECK(mine[i] = site_child(2000));
            for (int i = 0; i < 10; i++)
                free(keep[i]); /* the parent's blocks, freed here */
            exit(0); /* writes CPROF_HEAP.PID */
        }
        int st;
        HEAP_CHECK(waitpid(pid, &st, 0) == pid);
        HEAP_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    heap_truth_site("site_parent", 10, 10000, 10, 10000);
    return 0;
}
