/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * sigsafe.c - raw logging, integer formatting and clocks for code that runs
 * in signal handlers, malloc interposers and forked children. Everything
 * here is async-signal-safe: only write(2), clock_gettime(2) and syscall(2).
 */
#include "sigsafe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cp_assert.h"

void cp_raw_log(const char *s, ...)
{
    char buf[512];
    size_t n = 0;
    int saved = errno;
    va_list ap;
    static const char pfx[] = "cprof: ";

    memcpy(buf, pfx, sizeof pfx - 1);
    n = sizeof pfx - 1;
    va_start(ap, s);
    for (const char *p = s; p; p = va_arg(ap, const char *)) {
        size_t l = strlen(p);
        if (l > sizeof buf - 1 - n)
            l = sizeof buf - 1 - n;
        memcpy(buf + n, p, l);
        n += l;
    }
    va_end(ap);
    buf[n++] = '\n';
    /* One write so lines from several threads do not interleave; a short
     * write to a broken stderr is ignored on purpose. */
    ssize_t r = write(2, buf, n);
    (void)r;
    errno = saved;
}

size_t cp_fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t cp_fmt_hex(char *buf, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

char *cp_u64_str(char buf[21], uint64_t v)
{
    buf[cp_fmt_u64(buf, v)] = '\0';
    return buf;
}

int64_t cp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cp_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cp_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

void cp_assert_fail(const char *file, int line, const char *expr)
{
    char num[21];
    cp_raw_log(file, ":", cp_u64_str(num, (uint64_t)line), ": failed: ",
               expr, (char *)NULL);
    abort();
}
