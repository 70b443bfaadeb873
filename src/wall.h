/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wall.h - the wall-clock profile: every thread of the program sampled on
 * wall time, whether it runs or waits, CPROF_WALL_HZ times a second
 * (default 100), by a sampler thread of cprof's own.
 *
 * Each tick gives each thread one sample (samples/count 1, wall/nanoseconds
 * one period; ticks a starved sampler misses are counted in a comment),
 * labelled like CPU samples (thread,
 * thread_name, cpu, the thread's own labels) plus state=running|blocked
 * and, for a blocked thread, call=<the interposed call or system call>.
 * A waiting thread is never signalled: its stack comes from the frame it
 * published when it entered an interposed blocking call (sync.h), or from
 * /proc/self/task/TID/syscall and a copy of its stack; a running thread is
 * made to unwind itself in user mode only (wallsig.h). How, and what it
 * costs: docs/internals/wall.md.
 *
 * Sessions work like CPU sessions (cpu.h): CPROF_WALL=FILE (the whole
 * run, written at exit) and /debug/pprof/wall?seconds=N windows may
 * overlap; the sampler runs while one is open, and each gets the samples
 * of its own window. The profile named "wall" (cprof_profile_write) is
 * the CPROF_WALL session's samples so far.
 */
#ifndef CP_WALL_H
#define CP_WALL_H

#include <stdint.h>

#include "profile/profile.h"

struct cp_wall_session;

/*
 * Open a session sampling at hz (0: CPROF_WALL_HZ or 100); the first open
 * session fixes the rate, later ones share it. Starts the sampler if it is
 * the first. 0, -EINVAL, -ENOSPC (too many sessions), -ENOMEM, or an OS
 * error. Async-signal-safe: no. Thread-safe: yes.
 */
int cp_wall_session_begin(int hz, struct cp_wall_session **out);

/*
 * Close the session and build its profile into out (initialized here;
 * symbolized, mappings with build IDs). Stops the sampler if it was the
 * last. 0 or -errno (the session is freed anyway).
 */
int cp_wall_session_end(struct cp_wall_session *s, struct cp_profile *out);
void cp_wall_session_abort(struct cp_wall_session *s);

/* Default rate of new sessions. 0 or -EINVAL. */
int cp_wall_set_default_hz(int hz);
int cp_wall_default_hz(void);

/* Register the "wall" profile and endpoint window, read CPROF_WALL_HZ and
 * CPROF_WALL. Called once from init.c. */
void cp_wall_init_from_env(void);

/* Counters for tests and the benchmark (since the process started). */
struct cp_wall_stats {
    uint64_t ticks, late_ticks;      /* ticks taken; ticks missed (late) */
    uint64_t running, in_call, proc; /* samples by how they were taken */
    uint64_t proc_reads, stack_copies, cached; /* work done, work saved */
    uint64_t armed, answered, unanswered, no_trigger;
    uint64_t threads; /* threads followed now */
    int64_t sampler_cpu_ns; /* CPU time of the sampler thread */
};
void cp_wall_stats(struct cp_wall_stats *out);

#endif /* CP_WALL_H */
