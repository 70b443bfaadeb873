/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the subcommands of the cprof command and helpers they share.
 * main.c dispatches on argv[1]; each subcommand lives in its own file.
 */
#ifndef CP_CLI_H
#define CP_CLI_H

/* Each returns the process exit status. */
int cp_cmd_pprof(int argc, char **argv); /* report.c: cprof [flags] SOURCE... */
int cp_cmd_topo(int argc, char **argv);  /* topo.c:   cprof topo */
int cp_cmd_run(int argc, char **argv);   /* run.c:    cprof run -- PROG */
int cp_cmd_trace(int argc, char **argv); /* trace_cmd.c: cprof trace */

/* Print "cprof: <message>\n" to stderr; returns 1 for `return cp_die(...)`
 * in a subcommand. */
int cp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CP_CLI_H */
