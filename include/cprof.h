/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cprof.h - the one public header of libcprof: Go's runtime/pprof,
 * runtime/trace and net/http/pprof for C and C++ programs.
 *
 * Link with `pkg-config --cflags --libs cprof` (or -lcprof), or load the
 * library with LD_PRELOAD=libcprof.so and set CPROF_* variables instead of
 * calling anything (see cprof(3) and SPEC.md §2).
 *
 * Conventions: functions returning int return 0 on success and -1 with
 * errno set on failure (EBUSY: that profile is already running; EINVAL: a
 * bad argument; ENOSYS: the feature is not built into this library; others
 * come from the OS). cprof_strerror() then gives a sentence for the last
 * failure of the calling thread.
 *
 * Every function here is thread-safe. None is async-signal-safe.
 */
#ifndef CPROF_H
#define CPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CPROF_VERSION "0.1.0"

/*
 * Start a CPU profile of the whole process (every thread, including those
 * started later) written to `path` by cprof_cpu_stop(), like
 * pprof.StartCPUProfile. The path is checked for writability now, so a bad
 * path fails here and not at stop. EBUSY if a CPU profile started by this
 * API or by CPROF_CPU is already running.
 */
int cprof_cpu_start(const char *path);

/*
 * Stop the CPU profile and write it (gzip'd profile.proto, symbolized) to
 * the path given to cprof_cpu_start(). The file appears whole or not at all.
 * EINVAL if no profile is running.
 */
int cprof_cpu_stop(void);

/*
 * Set the sampling rate, in samples per second of CPU time per thread, for
 * CPU profiles started after this call, like runtime.SetCPUProfileRate.
 * Default 100. Rates above the kernel tick use perf_event task-clock
 * sampling where the kernel allows it. EINVAL for hz outside 1..100000,
 * EBUSY while a profile runs.
 */
int cprof_cpu_set_hz(int hz);

/* Execution trace, like trace.Start / trace.Stop. */
int cprof_trace_start(const char *path);
int cprof_trace_stop(void);
/* User annotations, like trace.StartRegion, trace.NewTask and trace.Log.
 * Cheap no-ops when no trace is running. */
void cprof_region_begin(const char *name);
void cprof_region_end(void);
uint64_t cprof_task_begin(const char *name);
void cprof_task_end(uint64_t task);
void cprof_log(const char *category, const char *message);

/* Sampling rates, like runtime.MemProfileRate,
 * runtime.SetBlockProfileRate and runtime.SetMutexProfileFraction. */
void cprof_heap_set_rate(size_t bytes);
void cprof_block_set_rate(int64_t ns);
void cprof_mutex_set_fraction(int n);

/*
 * Write the named profile ("heap", "allocs", "threads" or its alias
 * "goroutine", "threadcreate", "mutex", "block", "wall") to `path`, like
 * pprof.Lookup(name).WriteTo: debug=0 writes gzip'd profile.proto, debug=1
 * legacy text, debug=2 (threads only) every thread in full.
 */
int cprof_profile_write(const char *name, const char *path, int debug);

/*
 * Set a label on the calling thread; every sample it takes from now on
 * carries key=value, like pprof.SetGoroutineLabels. A NULL or empty value
 * removes the key.
 */
void cprof_label_set(const char *key, const char *value);

/*
 * Serve /debug/pprof/ on addr ("localhost:6060", ":6060", "0.0.0.0:6060")
 * from threads of the library's own, like net/http/pprof. A non-loopback
 * address needs CPROF_HTTP_TOKEN.
 */
int cprof_http_start(const char *addr);
int cprof_http_stop(void);

/*
 * A sentence describing the last failure of a cprof call on this thread,
 * or "" if none. The string stays valid until the thread's next cprof call.
 */
const char *cprof_strerror(void);

#ifdef __cplusplus
}
#endif

#endif /* CPROF_H */
