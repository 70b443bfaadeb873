/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_stubs.c - what fuzz_http_request needs of the runtime, without the
 * runtime itself (its malloc and pthread_create interposers would fight
 * the sanitizers): CPU sessions that cannot start, a symbolizer that knows
 * no names, clocks, the error helpers and cp_tls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include "api.h"
#include "cp_lock.h"
#include "cpu.h"
#include "sigsafe.h"
#include "symcache.h"
#include "thread_reg.h"

CP_TLS struct cp_tls cp_tls;

int cp_cpu_session_begin(int hz, struct cp_cpu_session **out)
{
    return -ENOSYS;
}

int cp_cpu_session_end(struct cp_cpu_session *s, struct cp_profile *out)
{
    return -ENOSYS;
}

void cp_cpu_session_abort(struct cp_cpu_session *s)
{
}

int cp_symcache_names(const uint64_t *addrs, size_t n, struct cp_dynbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (addrs[i] == 0x401000)
            cp_dynbuf_printf(out, "%#llx fuzz_fn\n",
                             (unsigned long long)addrs[i]);
    }
    return 0;
}

int cp_api_err(int ret, const char *fmt, ...)
{
    if (ret < 0)
        errno = -ret;
    return ret < 0 ? -1 : ret;
}

void cp_api_ok(void)
{
}

int64_t cp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t cp_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* cprof's own locking (cp_lock.h): sync.c's, which resolves glibc's
 * through its interposers, is not linked here */
int cp_mutex_lock(pthread_mutex_t *m)
{
    return pthread_mutex_lock(m);
}

int cp_mutex_trylock(pthread_mutex_t *m)
{
    return pthread_mutex_trylock(m);
}

int cp_mutex_unlock(pthread_mutex_t *m)
{
    return pthread_mutex_unlock(m);
}
