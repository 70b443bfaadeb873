/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile_int.h - private helpers shared by profile.c, encode.c and
 * decode.c; not part of the model's contract (use profile.h).
 *
 * Never used in signal context. Thread-safe: no.
 */
#ifndef CP_PROFILE_INT_H
#define CP_PROFILE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "dynbuf.h"
#include "profile.h"

/*
 * Append s (len bytes, already in memory that lives as long as the profile,
 * e.g. its arena, and NUL-terminated at s[len]) as the next string-table
 * entry, without interning: duplicates keep their own indexes, as a decoded
 * table must. The intern index catches up lazily on the next
 * cp_profile_strn. Call cp_profile_strtab_reserve first; 0 or -ENOMEM.
 */
int cp_profile_strtab_reserve(struct cp_profile *p, size_t more);
void cp_profile_strtab_push(struct cp_profile *p, const char *s, size_t len);

/* Arena memory without the 16-byte alignment of cp_profile_alloc: 8 bytes,
 * enough for every model type. Zeroed. NULL on ENOMEM. */
void *cp_profile_alloc8(struct cp_profile *p, size_t size);

/* Bytes held by the arena (for benchmarks and tests). */
size_t cp_profile_arena_bytes(const struct cp_profile *p);

/*
 * Streaming gzip into a dynbuf (gz.c): encode.c compresses the message
 * piece by piece as it is produced, so the uncompressed protobuf of a big
 * profile never exists whole in memory. Caller storage; new then any
 * number of writes, then finish (or abort on an error path).
 */
struct cp_gzw {
    z_stream z;
    struct cp_dynbuf *out;
};
int cp_gzw_new(struct cp_gzw *w, struct cp_dynbuf *out, int level);
int cp_gzw_write(struct cp_gzw *w, const void *data, size_t len);
int cp_gzw_finish(struct cp_gzw *w); /* flushes, then releases zlib */
/* Change the compression level mid-stream (what was written so far is
 * compressed at the old one). 0 or a negative errno. */
int cp_gzw_set_level(struct cp_gzw *w, int level);
void cp_gzw_abort(struct cp_gzw *w);

#endif /* CP_PROFILE_INT_H */
