/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.c - record() and fixture_report() for the symbolizer's fixtures
 * (see fixture.h). Output, one item a line:
 *   exe PATH
 *   slot N 0xADDR      (a return address: look up ADDR - 1)
 *   maps
 *   ...the lines of /proc/self/maps...
 */
#include <stdio.h>
#include <unistd.h>

#include "fixture.h"

static void *slots[FIXTURE_SLOTS];

void record(int slot)
{
    if (slot >= 0 && slot < FIXTURE_SLOTS)
        slots[slot] = __builtin_return_address(0);
}

int fixture_report(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return 1;
    exe[n] = '\0';
    printf("exe %s\n", exe);
    for (int i = 0; i < FIXTURE_SLOTS; i++)
        if (slots[i])
            printf("slot %d %p\n", i, slots[i]);
    printf("maps\n");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 1;
    char line[8192];
    while (fgets(line, sizeof(line), f))
        fputs(line, stdout);
    fclose(f);
    return 0;
}
