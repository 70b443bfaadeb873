/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - entry point of the cprof command: picks the subcommand
 * (topo, run, trace) or treats the arguments as go tool pprof's.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cprof.h"

__attribute__((weak)) int cp_cmd_pprof(int argc, char **argv)
{
    return cp_die("profile reports are not built into this cprof yet");
}

__attribute__((weak)) int cp_cmd_run(int argc, char **argv)
{
    return cp_die("'cprof run' is not built into this cprof yet");
}

__attribute__((weak)) int cp_cmd_trace(int argc, char **argv)
{
    return cp_die("'cprof trace' is not built into this cprof yet");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "topo"))
        return cp_cmd_topo(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cp_cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "trace"))
        return cp_cmd_trace(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-version") ||
                      !strcmp(argv[1], "--version"))) {
        printf("cprof %s\n", CPROF_VERSION);
        return 0;
    }
    return cp_cmd_pprof(argc, argv);
}
