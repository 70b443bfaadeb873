/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.c - the library's one constructor: registers the loading thread,
 * installs fork handlers, reads the CPROF_* variables once (SPEC §2) and
 * starts what they ask for; and the exit hook that writes the profiles
 * they named. A bad value is one line on stderr and that feature stays
 * off; the host program always runs on.
 */
#include "init.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "contention.h"
#include "cpu.h"
#include "cprof.h"
#include "fork.h"
#include "heap.h"
#include "sampler.h"
#include "sigsafe.h"
#include "stats.h"
#include "http.h"
#include "thread_reg.h"
#include "threads.h"
#include "trace.h"
#include "unwinder.h"
#include "wall.h"

int cp_cpu_primary_start(const char *path, const char *origin);
int cp_cpu_primary_stop(const char *origin);
bool cp_cpu_primary_running(void);

static bool initialized;
static bool cpu_from_env;

bool cp_initialized(void)
{
    return initialized;
}

extern char **environ;

const char *cp_getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++) {
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

/*
 * Add NAME=VALUE to environ without setenv(3), which the host may define
 * too (bash's would run before bash is initialized). The new array and
 * string are never freed: environ may point at them until exit.
 */
static void env_add(const char *name, const char *value)
{
    size_t n = 0;
    char **e, **ne, *kv;

    for (e = environ; e && *e; e++)
        n++;
    ne = malloc((n + 2) * sizeof *ne);
    kv = malloc(strlen(name) + strlen(value) + 2);
    if (!ne || !kv) {
        free(ne);
        free(kv);
        return;
    }
    sprintf(kv, "%s=%s", name, value);
    if (n)
        memcpy(ne, environ, n * sizeof *ne);
    ne[n] = kv;
    ne[n + 1] = NULL;
    environ = ne;
}

void cp_env_bad(const char *name, const char *value, const char *why,
                const char *feature)
{
    fprintf(stderr, "cprof: %s=%s: %s; %s stays off\n", name, value, why,
            feature);
}

int cp_env_int(const char *name, int64_t min, int64_t max, int64_t *out,
               const char *feature)
{
    const char *v = cp_getenv(name);
    char *end;
    long long x;
    char why[128];

    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(why, sizeof why, "not a whole number from %lld to %lld",
                 (long long)min, (long long)max);
        cp_env_bad(name, v, why, feature);
        return -1;
    }
    *out = x;
    return 1;
}

static void dump_stats(void)
{
    for (int i = 0; i < CP_STAT__COUNT; i++)
        fprintf(stderr, "cprof: stat %s %llu\n", cp_stat_name(i),
                (unsigned long long)cp_stat_get(i));
}

#define MAX_EXIT_HOOKS 16
static void (*exit_hooks[MAX_EXIT_HOOKS])(void);
static _Atomic int n_exit_hooks;
static _Atomic int exit_ran;
static _Atomic long hooks_pid; /* the process the hooks belong to */

void cp_exit_hooks_atfork_child(void)
{
    atomic_store(&hooks_pid, (long)syscall(SYS_getpid));
}

int cp_on_exit(void (*fn)(void))
{
    int i = atomic_fetch_add(&n_exit_hooks, 1);
    if (i >= MAX_EXIT_HOOKS) {
        atomic_fetch_sub(&n_exit_hooks, 1);
        return -ENOSPC;
    }
    exit_hooks[i] = fn;
    return 0;
}

static void run_exit_hooks(void)
{
    /* a vfork child (dash runs commands so) or a raw clone: the memory
     * and the profiles are its parent's */
    if ((long)syscall(SYS_getpid) != atomic_load(&hooks_pid))
        return;
    if (atomic_exchange(&exit_ran, 1))
        return;
    for (int i = atomic_load(&n_exit_hooks) - 1; i >= 0; i--)
        exit_hooks[i]();
    if (cp_getenv("CPROF_DEBUG_STATS"))
        dump_stats();
}

static void cpu_at_exit(void)
{
    if (cpu_from_env && cp_cpu_primary_running()) {
        if (cp_cpu_primary_stop("CPROF_CPU") < 0)
            fprintf(stderr, "cprof: %s\n", cprof_strerror());
    }
}

typedef void exit_fn(int);

/* glibc's, found in the constructor: a vfork child calling _exit must
 * not run dlsym (its locks and error state are the parent's memory) */
static exit_fn *real_exit_fns[2];

__attribute__((noreturn)) static void exit_via(const char *name, int status)
{
    exit_fn *real = real_exit_fns[name[1] == 'E'];
    if (!real)
        real = (exit_fn *)dlsym(RTLD_NEXT, name);
    /* Inside a signal handler (a SIGTERM handler that calls _exit, say)
     * the interrupted code may hold malloc's or stdio's locks: writing
     * profiles there could hang the exit, so they are skipped. */
    if (initialized && cp_unwind_signal_frames() == 0)
        run_exit_hooks();
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
    exit_via("_exit", status);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status)
{
    exit_via("_Exit", status);
}

static void init_cpu_from_env(void)
{
    const char *file = cp_getenv("CPROF_CPU");
    const char *unwind = cp_getenv("CPROF_UNWIND");
    int64_t v;
    char *path;

    if (unwind && *unwind) {
        if (!strcmp(unwind, "fp"))
            cp_unwind_mode = CP_UNWIND_FP;
        else if (!strcmp(unwind, "dwarf") || !strcmp(unwind, "auto"))
            cp_unwind_mode = CP_UNWIND_AUTO;
        else
            cp_env_bad("CPROF_UNWIND", unwind, "not fp, dwarf or auto",
                       "the override");
    }
    if (cp_env_int("CPROF_SIGNAL", 1, SIGRTMAX, &v, "CPU profiling") < 0)
        return;
    if (cp_getenv("CPROF_SIGNAL") && *cp_getenv("CPROF_SIGNAL") &&
        cp_sampler_set_signal((int)v) < 0) {
        cp_env_bad("CPROF_SIGNAL", cp_getenv("CPROF_SIGNAL"),
                   "not a signal cprof can use (SIGPROF, SIGKILL and "
                   "SIGSTOP are not)",
                   "CPU profiling");
        return;
    }
    switch (cp_env_int("CPROF_CPU_HZ", 1, 100000, &v, "CPU profiling")) {
    case -1: return;
    case 1: cp_cpu_set_default_hz((int)v); break;
    default: break;
    }
    if (!file)
        return;
    if (!*file) {
        cp_env_bad("CPROF_CPU", "", "empty file name", "CPU profiling");
        return;
    }
    path = cp_env_output_path(file);
    if (!path)
        return;
    if (cp_cpu_primary_start(path, "CPROF_CPU") < 0)
        fprintf(stderr, "cprof: %s; CPU profiling stays off\n",
                cprof_strerror());
    else
        cpu_from_env = true;
    free(path);
}

__attribute__((constructor)) static void cp_init(void)
{
    char pid[24];

    atomic_store(&hooks_pid, (long)syscall(SYS_getpid));
    real_exit_fns[0] = (exit_fn *)dlsym(RTLD_NEXT, "_exit");
    real_exit_fns[1] = (exit_fn *)dlsym(RTLD_NEXT, "_Exit");
    cp_reg_init();
    cp_fork_init();
    /* The process that first reads the variables owns FILE; any process
     * that inherits them writes FILE.PID (SPEC §2). Recorded in the
     * environment so it survives exec. */
    if (!cp_getenv("CPROF_OWNER_PID")) {
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        env_add("CPROF_OWNER_PID", pid);
    }
    init_cpu_from_env();
    cp_heap_init_from_env();
    cp_threads_init();
    cp_on_exit(cpu_at_exit);
    atexit(run_exit_hooks);
    cp_trace_init_from_env();
    cp_contention_init_from_env();
    cp_wall_init_from_env();
    cp_http_init_from_env();
    initialized = true;
}
