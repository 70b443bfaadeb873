/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cprof.c - public entry points of the CPU profile, labels and errors
 * (include/cprof.h), and weak placeholders for features whose modules
 * define the real functions (heap.c, trace.c, http.c, ...): a module that
 * is linked in replaces its placeholder, one that is not answers ENOSYS
 * with a sentence saying so.
 */
#include "cprof.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "codec.h"
#include "cp_lock.h"
#include "cpu.h"
#include "init.h"
#include "labels.h"
#include "sampler.h"
#include "thread_reg.h"

#define CP_API __attribute__((visibility("default")))

/* General-dynamic TLS on purpose: never touched in signal context, and too
 * big for the loader's static TLS surplus when libcprof is dlopen'ed. */
static __thread char err_buf[512];

int cp_api_err(int ret, const char *fmt, ...)
{
    va_list ap;
    if (ret >= 0)
        return ret;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(err_buf, sizeof err_buf, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err_buf, sizeof err_buf, "%s", strerror(-ret));
    }
    errno = -ret;
    return -1;
}

void cp_api_ok(void)
{
    err_buf[0] = '\0';
}

CP_API const char *cprof_strerror(void)
{
    return err_buf;
}

int cp_check_writable(const char *path)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    int fd;

    if (strlen(path) >= sizeof dir)
        return -ENAMETOOLONG;
    strcpy(dir, path);
    snprintf(tmp, sizeof tmp, "%s/.cprof-check-XXXXXX", dirname(dir));
    fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    close(fd);
    unlink(tmp);
    return 0;
}

char *cp_env_output_path(const char *file)
{
    const char *owner = cp_getenv("CPROF_OWNER_PID");
    char *out;
    if (!owner || atol(owner) == (long)getpid())
        return strdup(file);
    if (asprintf(&out, "%s.%ld", file, (long)getpid()) < 0)
        return NULL;
    return out;
}

/* ---- CPU profile ---- */

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by api_lock */
static struct cp_cpu_session *cpu_primary;
static char *cpu_primary_path;
static const char *cpu_primary_origin; /* "cprof_cpu_start" or "CPROF_CPU" */

/* Start the one API/env CPU profile. origin names the starter. */
int cp_cpu_primary_start(const char *path, const char *origin)
{
    int r;

    cp_mutex_lock(&api_lock);
    if (cpu_primary) {
        r = cp_api_err(-EBUSY, "%s: a CPU profile started by %s is already "
                       "running", origin, cpu_primary_origin);
        goto out;
    }
    r = cp_check_writable(path);
    if (r < 0) {
        r = cp_api_err(r, "%s: cannot write %s: %s", origin, path,
                       strerror(-r));
        goto out;
    }
    cpu_primary_path = strdup(path);
    if (!cpu_primary_path) {
        r = cp_api_err(-ENOMEM, NULL);
        goto out;
    }
    r = cp_cpu_session_begin(0, &cpu_primary);
    if (r < 0) {
        free(cpu_primary_path);
        cpu_primary_path = NULL;
        cpu_primary = NULL;
        r = cp_api_err(r, "%s: cannot start sampling: %s", origin,
                       strerror(-r));
        goto out;
    }
    cpu_primary_origin = origin;
    cp_api_ok();
out:
    cp_mutex_unlock(&api_lock);
    return r;
}

int cp_cpu_primary_stop(const char *origin)
{
    struct cp_profile p;
    int r;

    cp_mutex_lock(&api_lock);
    if (!cpu_primary) {
        r = cp_api_err(-EINVAL, "%s: no CPU profile is running", origin);
        goto out;
    }
    r = cp_cpu_session_end(cpu_primary, &p);
    cpu_primary = NULL;
    if (r < 0) {
        r = cp_api_err(r, "%s: cannot build the profile: %s", origin,
                       strerror(-r));
        goto out;
    }
    r = cp_profile_write_file(&p, cpu_primary_path);
    cp_profile_free(&p);
    if (r < 0) {
        r = cp_api_err(r, "%s: cannot write %s: %s", origin,
                       cpu_primary_path, strerror(-r));
        goto out;
    }
    cp_api_ok();
out:
    free(cpu_primary_path);
    cpu_primary_path = NULL;
    if (r < 0 && cpu_primary == NULL)
        cpu_primary_path = NULL;
    cp_mutex_unlock(&api_lock);
    return r;
}

/* Fork child: the parent's profile goes on in the child as PATH.PID (only
 * written if the child stops it, or exits with CPROF_CPU set). */
void cp_cpu_primary_atfork_child(void)
{
    char *child_path = NULL;
    const char *origin = cpu_primary_origin;

    pthread_mutex_init(&api_lock, NULL);
    if (!cpu_primary)
        return;
    cpu_primary = NULL;
    if (asprintf(&child_path, "%s.%ld", cpu_primary_path,
                 (long)getpid()) < 0)
        child_path = NULL;
    free(cpu_primary_path);
    cpu_primary_path = NULL;
    if (child_path) {
        cp_cpu_primary_start(child_path, origin);
        free(child_path);
    }
}

bool cp_cpu_primary_running(void)
{
    bool r;
    cp_mutex_lock(&api_lock);
    r = cpu_primary != NULL;
    cp_mutex_unlock(&api_lock);
    return r;
}

CP_API int cprof_cpu_start(const char *path)
{
    if (!path || !*path)
        return cp_api_err(-EINVAL, "cprof_cpu_start: empty path");
    return cp_cpu_primary_start(path, "cprof_cpu_start");
}

CP_API int cprof_cpu_stop(void)
{
    return cp_cpu_primary_stop("cprof_cpu_stop");
}

CP_API int cprof_cpu_set_hz(int hz)
{
    if (cp_cpu_primary_running())
        return cp_api_err(-EBUSY, "cprof_cpu_set_hz: cannot change the rate "
                          "while a CPU profile is running");
    if (cp_cpu_set_default_hz(hz) < 0)
        return cp_api_err(-EINVAL, "cprof_cpu_set_hz: %d is not a rate "
                          "between 1 and 100000", hz);
    cp_api_ok();
    return 0;
}

CP_API void cprof_label_set(const char *key, const char *value)
{
    int r = cp_labels_set(key, value);
    if (r < 0)
        cp_api_err(r, "cprof_label_set: %s", r == -ENOSPC
                   ? "too many distinct label sets or labels"
                   : strerror(-r));
}

/* ---- placeholders for features built in other modules ---- */

#define CP_NOT_BUILT(fn, what)                                              \
    cp_api_err(-ENOSYS, fn ": " what " is not built into this libcprof yet")

CP_API __attribute__((weak)) int cprof_trace_start(const char *path)
{
    return CP_NOT_BUILT("cprof_trace_start", "the execution tracer");
}
CP_API __attribute__((weak)) int cprof_trace_stop(void)
{
    return CP_NOT_BUILT("cprof_trace_stop", "the execution tracer");
}
CP_API __attribute__((weak)) void cprof_region_begin(const char *name) {}
CP_API __attribute__((weak)) void cprof_region_end(void) {}
CP_API __attribute__((weak)) uint64_t cprof_task_begin(const char *name)
{
    return 0;
}
CP_API __attribute__((weak)) void cprof_task_end(uint64_t task) {}
CP_API __attribute__((weak)) void cprof_log(const char *category,
                                            const char *message)
{
}
CP_API __attribute__((weak)) void cprof_heap_set_rate(size_t bytes) {}
CP_API __attribute__((weak)) void cprof_block_set_rate(int64_t ns) {}
CP_API __attribute__((weak)) void cprof_mutex_set_fraction(int n) {}
CP_API __attribute__((weak)) int cprof_http_start(const char *addr)
{
    return CP_NOT_BUILT("cprof_http_start", "the live endpoint");
}
CP_API __attribute__((weak)) int cprof_http_stop(void)
{
    return CP_NOT_BUILT("cprof_http_stop", "the live endpoint");
}
