/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profiles.h - the named profiles of SPEC §3 ("heap", "allocs", "threads",
 * "threadcreate", "mutex", "block", "wall"), like Go's pprof.Lookup
 * registry. Each feature module registers its source once from init;
 * cprof_profile_write and the live endpoint find them here by name, so
 * neither knows how any profile is made.
 */
#ifndef CP_PROFILES_H
#define CP_PROFILES_H

#include <stdint.h>

#include "profile/dynbuf.h"
#include "profile/profile.h"

struct cp_profile_source {
    const char *name; /* "heap" */
    const char *help; /* one line for the endpoint's index page */
    /* The count the index page shows (live objects, threads...), or -1. */
    int64_t (*count)(void);
    /* The profile as a model (debug=0). 0 or -errno; out is initialized
     * by the callee and freed by the caller. */
    int (*build)(struct cp_profile *out);
    /* Legacy text (debug >= 1) appended to out; NULL if the profile has
     * only the proto form. 0 or -errno. */
    int (*write_text)(int debug, struct cp_dynbuf *out);
};

/*
 * Register src (kept by pointer: pass static storage). A second source of
 * the same name replaces the first. 0 or -ENOSPC.
 * Thread-safe: yes. Async-signal-safe: no.
 */
int cp_profiles_register(const struct cp_profile_source *src);

/* The source named name ("goroutine" finds "threads"), or NULL. */
const struct cp_profile_source *cp_profiles_find(const char *name);

/* All registered sources, in registration order; returns the count. */
int cp_profiles_list(const struct cp_profile_source **out, int max);

/*
 * Render name: debug=0 gzip'd profile.proto, debug>=1 its legacy text (or
 * the proto when it has none). 0, -ENOENT (no such profile), or -errno.
 */
int cp_profiles_render(const char *name, int debug, struct cp_dynbuf *out);

#endif /* CP_PROFILES_H */
