/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fork.c - fork handlers and exec interposers (fork.h).
 *
 * fork: every cprof lock is taken before the fork and released after it
 * in both processes (lock order: api_lock is not held across fork; then
 * cpu_lock, cp_reg_lock), so the child never inherits a lock held by a
 * thread that does not exist there. The child keeps profiling into
 * FILE.PID.
 *
 * exec: a sampling signal still queued for the exec'ing thread would hit
 * the new image, which has no handler for it, and kill it (shells and
 * version-manager shims exec all the time). So every exec function stops
 * this thread's timer and consumes its pending signals first; if exec
 * fails, sampling resumes. glibc's exec family calls execve internally
 * without going through the PLT, hence one interposer per function.
 */
#include "fork.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include "cpu.h"
#include "heap.h"
#include "init.h"
#include "modules.h"
#include "sampler.h"
#include "thread_reg.h"

void cp_cpu_primary_atfork_child(void);

static void prepare(void)
{
    cp_cpu_atfork_prepare();
    cp_reg_atfork_prepare();
    cp_heap_atfork_prepare(); /* leaves: cprof code holding the others allocates */
}

static void parent(void)
{
    cp_heap_atfork_parent();
    cp_reg_atfork_parent();
    cp_cpu_atfork_parent();
}

static void child(void)
{
    cp_heap_atfork_child();
    cp_sampler_atfork_child();
    cp_reg_atfork_child();
    cp_cpu_atfork_child();
    cp_modules_atfork_child();
    cp_cpu_primary_atfork_child();
    cp_exit_hooks_atfork_child();
}

void cp_fork_init(void)
{
    pthread_atfork(prepare, parent, child);
}

/* ---- exec ---- */

#define CP_EXPORT __attribute__((visibility("default")))

static void *real(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

#define EXEC_WRAP(call)                                                     \
    do {                                                                    \
        bool was = cp_sampler_before_exec();                                \
        int r_ = (call);                                                    \
        int e_ = errno;                                                     \
        if (was)                                                            \
            cp_sampler_after_exec_failed();                                 \
        errno = e_;                                                         \
        return r_;                                                          \
    } while (0)

typedef int execve_fn(const char *, char *const[], char *const[]);
typedef int execv_fn(const char *, char *const[]);
typedef int fexecve_fn(int, char *const[], char *const[]);
typedef int execveat_fn(int, const char *, char *const[], char *const[],
                        int);

CP_EXPORT int execve(const char *path, char *const argv[],
                     char *const envp[])
{
    execve_fn *f = (execve_fn *)real("execve");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(path, argv, envp));
}

CP_EXPORT int execv(const char *path, char *const argv[])
{
    execv_fn *f = (execv_fn *)real("execv");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(path, argv));
}

CP_EXPORT int execvp(const char *file, char *const argv[])
{
    execv_fn *f = (execv_fn *)real("execvp");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(file, argv));
}

CP_EXPORT int execvpe(const char *file, char *const argv[],
                      char *const envp[])
{
    execve_fn *f = (execve_fn *)real("execvpe");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(file, argv, envp));
}

CP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexecve_fn *f = (fexecve_fn *)real("fexecve");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(fd, argv, envp));
}

CP_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
                       char *const envp[], int flags)
{
    execveat_fn *f = (execveat_fn *)real("execveat");
    if (!f)
        return errno = ENOSYS, -1;
    EXEC_WRAP(f(dirfd, path, argv, envp, flags));
}

/* execl* take their arguments inline: collect them, then use the array
 * forms above (which stop sampling). */
#define COLLECT_ARGS(first, ap, argv)                                        \
    size_t n_ = 1;                                                          \
    va_list c_;                                                             \
    va_copy(c_, ap);                                                        \
    while (va_arg(c_, const char *))                                        \
        n_++;                                                               \
    va_end(c_);                                                             \
    char *argv[n_ + 1];                                                     \
    argv[0] = (char *)(first);                                              \
    for (size_t i_ = 1; i_ <= n_; i_++)                                     \
        argv[i_] = va_arg(ap, char *)

CP_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execv(path, argv);
}

CP_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execvp(file, argv);
}

CP_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char **envp = NULL;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    envp = va_arg(ap, char **); /* follows the terminating NULL */
    va_end(ap);
    return execve(path, argv, envp);
}
