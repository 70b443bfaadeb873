/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_dlopen.c - allocates through a library it dlopens, then dlcloses
 * it and exits with half of those blocks still live (CPROF_HEAP is
 * written at exit, after the library is gone).
 *
 *   heap_dlopen LIBRARY
 */
#include "heap_common.h"

int main(int argc, char **argv)
{
    void *(*site)(size_t);
    void *keep[100];
    void *h;

    HEAP_CHECK(argc == 2);
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h)
        HEAP_DIE("dlopen %s: %s", argv[1], dlerror());
    site = (void *(*)(size_t))dlsym(h, "dl_site");
    HEAP_CHECK(site);
    for (int i = 0; i < 100; i++) {
        keep[i] = site(1000);
        HEAP_CHECK(keep[i]);
    }
    for (int i = 0; i < 50; i++)
        free(keep[i]);
    HEAP_CHECK(dlclose(h) == 0);
    heap_truth_site("dl_site", 50, 50000, 100, 100000);
    /* keep[50..99] stay live until exit */
    return 0;
}
