/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_ctor_lib.c - a shared library that allocates in its constructor,
 * which may run before libcprof's own (no order between unrelated
 * libraries): the blocks must stay usable and freeable afterwards.
 */
#include <stdlib.h>
#include <string.h>

void *heap_ctor_lib_blocks[10];

__attribute__((constructor)) static void lib_early(void)
{
    for (int i = 0; i < 10; i++) {
        heap_ctor_lib_blocks[i] = malloc(100 + i);
        memset(heap_ctor_lib_blocks[i], i, 100 + i);
    }
    heap_ctor_lib_blocks[0] = realloc(heap_ctor_lib_blocks[0], 5000);
}
