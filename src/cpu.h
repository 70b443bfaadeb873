/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu.h - CPU profiles: sessions over one shared sampler.
 *
 * Several sessions may overlap (cprof_cpu_start or CPROF_CPU, plus any
 * number of /debug/pprof/profile requests): the sampler runs while at
 * least one is open, a drain thread moves samples from the ring into every
 * open session's own table, and each session ends with the samples of its
 * own window. The first session fixes the rate; later ones share it.
 */
#ifndef CP_CPU_H
#define CP_CPU_H

#include <stdint.h>

#include "profile/profile.h"

struct cp_cpu_session;

/*
 * Open a session sampling at hz (0: the rate set by cprof_cpu_set_hz or
 * CPROF_CPU_HZ, default 100). Starts the sampler if it is the first.
 * 0, -EINVAL, -ENOSPC (too many sessions), -ENOMEM or an OS error.
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_cpu_session_begin(int hz, struct cp_cpu_session **out);

/*
 * Close the session and build its profile into out (initialized here):
 * samples/count and cpu/nanoseconds, labels thread, thread_name, cpu and
 * the threads' own, symbolized, with mappings and build IDs. Stops the
 * sampler if it was the last. 0 or -errno (the session is freed anyway).
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_cpu_session_end(struct cp_cpu_session *s, struct cp_profile *out);

/* Close the session and discard its samples. */
void cp_cpu_session_abort(struct cp_cpu_session *s);

/*
 * Called by the drain thread with every sample it takes from the ring,
 * while any session is open, before the sessions count it (the
 * tracer's CPU samples: trace.c). Runs with cpu_lock and cp_reg_lock
 * held: it must take neither. NULL: none.
 */
struct cp_sample_rec;
extern void (*cp_cpu_sample_hook)(const struct cp_sample_rec *s);

/* Default rate for new sessions (cprof_cpu_set_hz). 0 or -EINVAL. */
int cp_cpu_set_default_hz(int hz);
int cp_cpu_default_hz(void);

/* Fork: hold the lock across fork; in the child, forget all sessions and
 * the drain thread. */
void cp_cpu_atfork_prepare(void);
void cp_cpu_atfork_parent(void);
void cp_cpu_atfork_child(void);

#endif /* CP_CPU_H */
