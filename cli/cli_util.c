/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_util.c - small helpers every subcommand shares (cli.h). Kept out of
 * main.c so that the cpcli object library, and the unit tests linking it,
 * have them.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int cp_die(const char *fmt, ...)
{
    va_list ap;
    fputs("cprof: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}
