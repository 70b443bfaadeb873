/* SPDX-License-Identifier: Apache-2.0 */
/*
 * legacy.h - readers for the profile formats that came before
 * profile.proto, as go tool pprof reads them (google/pprof
 * profile/legacy_profile.go):
 *   - gperftools' binary CPU profile (CPUPROFILE=), any word size and byte
 *     order, with the /proc/self/maps text that follows it;
 *   - heap and growth profiles in text ("heap profile: 1: 2 [3: 4] @
 *     heap/1048576"): Go's debug=1, gperftools' HEAPPROFILE, cprof's own
 *     .txt heap profiles, with their MAPPED_LIBRARIES: section;
 *   - contention profiles ("--- contentionz", Go's "--- mutex:" and
 *     "--- contention:");
 *   - Go's count profiles ("goroutine profile: total 3", threadcreate) and
 *     threadz dumps.
 * Stacks are addresses. Where the text carries Go's (and cprof's) symbol
 * comments, "#\t0x4b3ef0\tmain.alloc+0x50\t/src/main.go:15", the
 * locations get those functions and lines, so no binary is needed.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#ifndef CP_LEGACY_H
#define CP_LEGACY_H

#include <stddef.h>

#include "profile.h"

/* Leave symbol comments alone: addresses only, exactly what go tool
 * pprof makes of the text (cprof -symbolize=none). */
#define CP_LEGACY_NO_COMMENTS 1u

/*
 * Parse data (already gunzipped) as one of the legacy formats into out
 * (initialized here). flags: 0 or CP_LEGACY_NO_COMMENTS. Returns 0;
 * -ENOTSUP when the data is none of them; -EBADMSG when it is one but
 * malformed (one sentence in err, e.g. "malformed heap profile line 12:
 * ..."); -ENOMEM. out is freed on error.
 */
int cp_legacy_parse(const void *data, size_t len, unsigned flags,
                    struct cp_profile *out, char *err, size_t errlen);

#endif /* CP_LEGACY_H */
