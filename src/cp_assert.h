/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp_assert.h - asserts that cannot hurt the host (jemalloc assert.h,
 * SQLite ALWAYS/NEVER). They print through write(2), never stdio, so an
 * assert in a signal handler or under a lock cannot deadlock.
 *
 *   CP_ASSERT(e)   debug builds only: report and abort.
 *   CP_ALWAYS(e)   defensive check kept in release builds; evaluates to e,
 *   CP_NEVER(e)    so `if (CP_NEVER(p == NULL)) return -EINVAL;` is both a
 *                  debug assert and a release-time guard.
 */
#ifndef CP_ASSERT_H
#define CP_ASSERT_H

#ifdef CP_DEBUG
#define CP_DEBUG_ON 1
#else
#define CP_DEBUG_ON 0
#endif

/* Report "cprof: file:line: failed: expr" and abort. Async-signal-safe. */
__attribute__((noreturn)) void cp_assert_fail(const char *file, int line,
                                              const char *expr);

#define CP_ASSERT(e)                                                        \
    do {                                                                    \
        if (CP_DEBUG_ON && !(e))                                            \
            cp_assert_fail(__FILE__, __LINE__, #e);                         \
    } while (0)

#define CP_ALWAYS(e)                                                        \
    ((e) ? 1 : (CP_DEBUG_ON ? (cp_assert_fail(__FILE__, __LINE__, #e), 0) : 0))
#define CP_NEVER(e)                                                         \
    ((e) ? (CP_DEBUG_ON ? (cp_assert_fail(__FILE__, __LINE__, #e), 1) : 1) : 0)

#define CP_UNREACHABLE() cp_assert_fail(__FILE__, __LINE__, "unreachable")

#define CP_MUST_CHECK __attribute__((warn_unused_result))
#define CP_HIDDEN __attribute__((visibility("hidden")))
#define CP_LIKELY(x) __builtin_expect(!!(x), 1)
#define CP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Thread-local storage the signal handler and malloc paths may touch:
 * initial-exec, so access is one %fs-relative load with no __tls_get_addr
 * (which may allocate) and no lock. */
#define CP_TLS __thread __attribute__((tls_model("initial-exec")))

#endif /* CP_ASSERT_H */
