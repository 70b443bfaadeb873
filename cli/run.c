/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run.c - `cprof run [options] -- PROG ARGS...` (SPEC section 2, way 3):
 * run PROG with libcprof preloaded and the CPROF_* variables its options
 * stand for, pass signals on to it and its exit status (or the signal
 * that ended it) back, then say where each profile went.
 *
 * libcprof.so is found through CPROF_LIB, next to the installed command
 * (<prefix>/bin/cprof -> <prefix>/lib/libcprof.so), or in the build tree
 * (<build>/cli/cprof -> <build>/src/libcprof.so). Children the program
 * forks or execs inherit the variables; the library makes each of them
 * write FILE.PID, and so the listing below shows those files too.
 *
 * Never used in signal context (the forwarding handler only calls
 * kill(2)). Thread-safe: no.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

struct run_opt {
    const char *flag, *var, *what;
    bool file; /* a file the run writes */
};

static const struct run_opt run_opts[] = {
    {"cpu", "CPROF_CPU", "CPU profile", true},
    {"heap", "CPROF_HEAP", "heap profile", true},
    {"trace", "CPROF_TRACE", "execution trace", true},
    {"wall", "CPROF_WALL", "wall-clock profile", true},
    {"http", "CPROF_HTTP", "live endpoint", false},
    {"hz", "CPROF_CPU_HZ", "CPU sampling rate", false},
    {"wall_hz", "CPROF_WALL_HZ", "wall-clock sampling rate", false},
    {"heap_rate", "CPROF_HEAP_RATE", "heap sampling rate", false},
    {"block_rate", "CPROF_BLOCK_RATE", "block profile rate", false},
    {"mutex_fraction", "CPROF_MUTEX_FRACTION", "mutex profile fraction",
     false},
};
#define N_OPTS (sizeof(run_opts) / sizeof(run_opts[0]))

static const char run_usage[] =
    "usage: cprof run [options] [--] PROG ARGS...\n"
    "Runs PROG with libcprof preloaded; each option sets one variable:\n"
    "  -cpu FILE          CPROF_CPU: CPU profile      cprof run -cpu cpu.prof "
    "-- ./a.out\n"
    "  -heap FILE         CPROF_HEAP: heap profile (.txt: legacy text)\n"
    "  -trace FILE        CPROF_TRACE: execution trace\n"
    "  -wall FILE         CPROF_WALL: wall-clock profile\n"
    "  -http ADDR         CPROF_HTTP: live /debug/pprof/ endpoint, e.g. "
    "localhost:6060\n"
    "  -hz N              CPROF_CPU_HZ, CPROF_WALL_HZ: samples per second "
    "(100)\n"
    "  -wall_hz N         CPROF_WALL_HZ alone (wall-clock, at most 1000)\n"
    "  -heap_rate BYTES   CPROF_HEAP_RATE: mean bytes between heap samples\n"
    "  -block_rate NS     CPROF_BLOCK_RATE: block profile rate\n"
    "  -mutex_fraction N  CPROF_MUTEX_FRACTION: mutex profile fraction\n"
    "The exit status is PROG's. CPROF_LIB=PATH overrides the library.\n";

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_lib(char *out, size_t n)
{
    const char *env = getenv("CPROF_LIB");
    if (env && *env) {
        if (!is_file(env))
            return cp_die("CPROF_LIB=%s: no such file", env);
        snprintf(out, n, "%s", env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (l <= 0)
        return cp_die("cannot find libcprof.so (set CPROF_LIB=PATH)");
    exe[l] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return cp_die("cannot find libcprof.so (set CPROF_LIB=PATH)");
    *slash = 0; /* exe = directory of the binary */
    const char *cands[] = {"%s/../lib/libcprof.so", "%s/../src/libcprof.so",
                           "%s/../lib64/libcprof.so"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof(p), cands[i], exe);
        if (strlen(p) < n && is_file(p)) {
            char *r = realpath(p, NULL);
            snprintf(out, n, "%s", r ? r : p);
            free(r);
            return 0;
        }
    }
    /* a multiarch install: <prefix>/lib/<triplet>/libcprof.so */
    char libdir[PATH_MAX + 8];
    snprintf(libdir, sizeof(libdir), "%s/../lib", exe);
    DIR *d = opendir(libdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char p[2 * PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s/libcprof.so", libdir, e->d_name);
            if (e->d_name[0] != '.' && strlen(p) < n && is_file(p)) {
                char *r = realpath(p, NULL);
                snprintf(out, n, "%s", r ? r : p);
                free(r);
                closedir(d);
                return 0;
            }
        }
        closedir(d);
    }
    return cp_die("cannot find libcprof.so next to %s (set CPROF_LIB=PATH)",
                  exe);
}

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* FILE, and the FILE.PID that children wrote */
static void report_files(const char *what, const char *file)
{
    bool any = false;
    if (is_file(file)) {
        fprintf(stderr, "cprof: %s written to %s\n", what, file);
        any = true;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    const char *base = file;
    if (slash) {
        *slash = 0;
        base = slash + 1;
        if (!*dir)
            snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    DIR *d = opendir(dir);
    if (d) {
        size_t bl = strlen(base);
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *s = e->d_name;
            if (strncmp(s, base, bl) || s[bl] != '.' || !s[bl + 1])
                continue;
            bool digits = true;
            for (const char *c = s + bl + 1; *c; c++)
                digits = digits && *c >= '0' && *c <= '9';
            if (!digits)
                continue;
            fprintf(stderr, "cprof: %s of process %s written to %s%s%s\n",
                    what, s + bl + 1, slash ? dir : "", slash ? "/" : "", s);
            any = true;
        }
        closedir(d);
    }
    if (!any)
        fprintf(stderr, "cprof: no %s was written to %s\n", what, file);
}

int cp_cmd_run(int argc, char **argv)
{
    const char *vals[N_OPTS] = {0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break;
        const char *name = a + 1 + (a[1] == '-');
        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            fputs(run_usage, stdout);
            return 0;
        }
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        size_t k;
        for (k = 0; k < N_OPTS; k++)
            if (strlen(run_opts[k].flag) == nl &&
                !strncmp(run_opts[k].flag, name, nl))
                break;
        if (k == N_OPTS)
            return cp_die("unknown flag -%.*s for cprof run (cprof run -h "
                          "lists them)", (int)nl, name);
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc)
                return cp_die("flag needs an argument: -%s",
                              run_opts[k].flag);
            v = argv[++i];
        }
        if (!*v)
            return cp_die("-%s needs a non-empty value", run_opts[k].flag);
        if (!run_opts[k].file && strcmp(run_opts[k].flag, "http")) {
            char *end;
            errno = 0;
            long long x = strtoll(v, &end, 10);
            if (errno || *end || x < 0)
                return cp_die("invalid value \"%s\" for -%s: want a "
                              "non-negative integer", v, run_opts[k].flag);
        }
        vals[k] = v;
    }
    if (i >= argc)
        return cp_die("no program to run (cprof run [options] -- PROG "
                      "ARGS...)");
    char lib[PATH_MAX + 64];
    if (find_lib(lib, sizeof(lib)))
        return 1;
    /* LD_PRELOAD: the library first, then whatever was there */
    const char *old = getenv("LD_PRELOAD");
    char *pre = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (!pre)
        return cp_die("out of memory");
    sprintf(pre, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", pre, 1);
    free(pre);
    for (size_t k = 0; k < N_OPTS; k++)
        if (vals[k])
            setenv(run_opts[k].var, vals[k], 1);
    /* -hz is the sampling rate of both sampled profiles (SPEC: "-hz N"
     * for the run); -wall_hz sets the wall-clock rate alone. The
     * wall-clock sampler reads every thread each tick, so it stops at
     * 1000 Hz where the CPU sampler goes on. */
    const char *hz = NULL, *wall_hz = NULL;
    for (size_t k = 0; k < N_OPTS; k++) {
        if (!strcmp(run_opts[k].flag, "hz"))
            hz = vals[k];
        else if (!strcmp(run_opts[k].flag, "wall_hz"))
            wall_hz = vals[k];
    }
    if (hz && !wall_hz) {
        char w[24];
        long long x = strtoll(hz, NULL, 10);
        snprintf(w, sizeof(w), "%lld", x > 1000 ? 1000 : x);
        setenv("CPROF_WALL_HZ", w, 1);
    }

    struct sigaction sa, old_int, old_term, old_hup, old_quit, old_usr1,
        old_usr2;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    sigaction(SIGQUIT, &sa, &old_quit);
    sigaction(SIGUSR1, &sa, &old_usr1);
    sigaction(SIGUSR2, &sa, &old_usr2);

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return cp_die("cannot start %s: %s", argv[i], strerror(errno));
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGUSR1, &old_usr1, NULL);
        sigaction(SIGUSR2, &old_usr2, NULL);
        execvp(argv[i], argv + i);
        int e = errno;
        fprintf(stderr, "cprof: cannot run %s: %s\n", argv[i], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return cp_die("waiting for %s: %s", argv[i], strerror(errno));
    }
    child_pid = 0;
    for (size_t k = 0; k < N_OPTS; k++)
        if (vals[k] && run_opts[k].file)
            report_files(run_opts[k].what, vals[k]);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        fflush(NULL);
        /* die the same way, without leaving a core of our own */
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        raise(sig);
        return 128 + sig;
    }
    return 1;
}
