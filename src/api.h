/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the public boundary's helpers: internal results (0 or -errno)
 * become SPEC's -1 with errno set, plus a sentence for cprof_strerror()
 * kept per thread (after libbpf's libbpf_err).
 */
#ifndef CP_API_H
#define CP_API_H

/*
 * If ret < 0: set errno = -ret, record "what: strerror" (or the sentence
 * fmt gives) for cprof_strerror, return -1. Else return ret. fmt may be
 * NULL. Async-signal-safe: no.
 */
int cp_api_err(int ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear the calling thread's last error sentence. */
void cp_api_ok(void);

/*
 * Check now that path can be written (creates and removes a temporary
 * file beside it), so a bad path fails at start and not at stop. 0 or
 * -errno.
 */
int cp_check_writable(const char *path);

/* The path a file-writing CPROF_* variable means in this process: FILE in
 * the process that first read the variable (also after it execs), and
 * FILE.PID in any other that inherited it (SPEC §2). malloc'd. */
char *cp_env_output_path(const char *file);

#endif /* CP_API_H */
