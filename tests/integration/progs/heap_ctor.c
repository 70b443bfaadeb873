/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_ctor.c - a program allocating in its own constructors (which run
 * after libcprof's, so they are sampled) and linked with a library that
 * allocates in its constructor (heap_ctor_lib.c, perhaps before libcprof
 * is ready). Blocks from both are used and freed in main.
 */
#include "heap_common.h"

HEAP_SITE(ctor_site)

extern void *heap_ctor_lib_blocks[10];
static void *early[20];

__attribute__((constructor(101))) static void first_ctor(void)
{
    for (int i = 0; i < 10; i++)
        early[i] = ctor_site(1000);
}

__attribute__((constructor)) static void second_ctor(void)
{
    for (int i = 10; i < 20; i++)
        early[i] = ctor_site(1000);
}

int main(void)
{
    for (int i = 0; i < 20; i++)
        HEAP_CHECK(early[i]);
    for (int i = 1; i < 10; i++) {
        unsigned char *p = heap_ctor_lib_blocks[i];
        HEAP_CHECK(p[0] == i && p[99 + i] == i);
    }
    for (int i = 0; i < 10; i++)
        free(heap_ctor_lib_blocks[i]);
    for (int i = 0; i < 5; i++)
        free(early[i]);
    heap_truth_site("ctor_site", 15, 15000, 20, 20000);
    return 0;
}
