/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sigsafe.h - output and formatting that are safe in a signal handler, in
 * a malloc interposer and in a forked child: no stdio, no malloc, no locks
 * (redis serverLogRawFromHandler, gperftools RAW_LOG).
 */
#ifndef CP_SIGSAFE_H
#define CP_SIGSAFE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Write "cprof: " and the NULL-terminated list of strings to stderr in one
 * write(2) (truncated at 512 bytes), ending with a newline. errno is
 * preserved. Async-signal-safe: yes.
 */
void cp_raw_log(const char *s, ...) __attribute__((sentinel));

/* Decimal / hex digits of v into buf (no NUL), returning the count.
 * buf needs 20 / 16 bytes. Async-signal-safe: yes. */
size_t cp_fmt_u64(char *buf, uint64_t v);
size_t cp_fmt_hex(char *buf, uint64_t v);

/* A string of v in a static per-call-site buffer is not signal-safe; use
 * this caller-storage form instead: writes NUL-terminated decimal. */
char *cp_u64_str(char buf[21], uint64_t v);

/* Wall and CPU clocks in nanoseconds. Async-signal-safe: yes. */
int64_t cp_now_ns(void);      /* CLOCK_MONOTONIC */
int64_t cp_realtime_ns(void); /* CLOCK_REALTIME */

/* gettid(2) without glibc's caching concerns. Async-signal-safe: yes. */
int cp_gettid(void);

#endif /* CP_SIGSAFE_H */
