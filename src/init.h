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

/* True once the constructor has finished. */
bool cp_initialized(void);

#endif /* CP_INIT_H */
