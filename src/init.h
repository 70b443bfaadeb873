/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.h - what init.c offers the feature modules: reading CPROF_*
 * variables once at load, reporting a bad value once, and running work at
 * exit in a fixed order.
 */
#ifndef CP_INIT_H
#define CP_INIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The value of environment variable name, read from environ directly.
 * Use this, never getenv(3), in the runtime: programs may define their own
 * getenv (bash does: before its main() runs, bash's getenv finds nothing),
 * and the host's symbol wins over libc's. NULL when unset.
 */
const char *cp_getenv(const char *name);

/*
 * Parse variable `name` as an integer in [min, max]. Returns 1 and sets
 * *out when set and valid, 0 when unset or empty, -1 when invalid (after
 * printing one line on stderr naming the variable and saying that
 * `feature` stays off).
 */
int cp_env_int(const char *name, int64_t min, int64_t max, int64_t *out,
               const char *feature);

/* Print "cprof: NAME=VALUE: why; FEATURE stays off" once. */
void cp_env_bad(const char *name, const char *value, const char *why,
                const char *feature);

/*
 * Run fn when the process ends normally: at exit(3) (after the program's
 * own atexit handlers), and also at _exit(2)/_Exit(2) — which shells such
 * as dash use to end — unless _exit is called from a signal handler, where
 * writing a profile could deadlock on a lock the interrupted code holds.
 * Hooks run once, most recently registered first. 0 or -ENOSPC.
 * Use this instead of atexit(3) for writing profiles.
 */
int cp_on_exit(void (*fn)(void));

/* In a forked child (pthread_atfork): the exit hooks are now this
 * process's. A vfork child (no atfork handlers run) that leaves with
 * _exit shares the parent's memory: its hooks must not run, or they
 * would write the parent's profiles as FILE.PID and mark them done. */
void cp_exit_hooks_atfork_child(void);

/* True once the constructor has finished. */
bool cp_initialized(void);

#endif /* CP_INIT_H */
