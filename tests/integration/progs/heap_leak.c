/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_leak.c - leaks from two sites (5 MiB in 1 MiB blocks; 400 KB in
 * 100-byte blocks) and frees everything else, for CPROF_HEAP_LEAKS=1.
 */
#include "heap_common.h"

HEAP_SITE(leak_big)
HEAP_SITE(leak_small)
HEAP_SITE(not_leaked)

int main(void)
{
    for (int i = 0; i < 5; i++)
        leak_big(1 << 20);
    for (int i = 0; i < 4000; i++)
        leak_small(100);
    for (int i = 0; i < 10000; i++)
        free(not_leaked(1000));
    heap_truth_site("leak_big", 5, 5 << 20, 5, 5 << 20);
    heap_truth_site("leak_small", 4000, 400000, 4000, 400000);
    return 0;
}
