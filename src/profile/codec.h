/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec.h - profile.proto <-> struct cp_profile, gzip, and whole-file
 * writes. The rest of the tree never sees protobuf-c or zlib types.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#ifndef CP_CODEC_H
#define CP_CODEC_H

#include <stddef.h>

#include "dynbuf.h"
#include "profile.h"

/* Default cap on a profile's decompressed size (zip bombs); the cprof
 * command's -max_decompressed raises it. */
#define CP_DEFAULT_MAX_DECOMPRESSED ((size_t)2 << 30)

/*
 * Serialize p as profile.proto into out (appended), gzip-compressed when
 * gzip is non-zero. 0 or a negative errno (-E2BIG past out's limit).
 * Line.column (newer pprof) is written as field 3 of Line; strings keep
 * any NUL bytes. Large outputs are gzip'd at level 6 for the first 8 MiB
 * and level 1 after (a 100 MB profile in seconds, not tens of seconds).
 */
int cp_profile_encode(const struct cp_profile *p, int gzip,
                      struct cp_dynbuf *out);

/*
 * Write p gzip-compressed to path: a temporary file in the same directory,
 * fsync'd, then renamed over path, so the file appears whole or not at all.
 * 0 or a negative errno.
 */
int cp_profile_write_file(const struct cp_profile *p, const char *path);

/*
 * Write len bytes to path the same whole-or-nothing way.
 */
int cp_write_file_atomic(const char *path, const void *data, size_t len);

/*
 * Parse a profile.proto message, gzip'd or not (detected by magic), of at
 * most max_decompressed bytes once unpacked (the cap applies to what gzip
 * produces; uncompressed input is taken as given), into out (initialized
 * here).
 * Ids are renumbered dense; references are validated (a sample pointing at
 * a missing location is an error). On failure returns a negative errno and
 * writes one sentence to err (may be NULL), and out is left freed and
 * zeroed (a further cp_profile_free is harmless).
 *
 * Accepts what go tool pprof's parser accepts (unknown fields, packed or
 * unpacked repeated fields, fields in any order, duplicate strings; a
 * location whose mapping id is unknown gets mapping 0, as pprof drops it)
 * and rejects what it rejects. Errors:
 *   -ENODATA  empty input (or an empty gzip stream);
 *   -EBADMSG  not protobuf (bad wire format, no string table), or
 *             corrupt or truncated gzip;
 *   -EINVAL   well-formed protobuf that is not a valid profile (bad string
 *             index, unknown location id, duplicate id, wrong number of
 *             values, string_table[0] not "", concatenated profiles);
 *   -E2BIG    larger than max_decompressed once unpacked;
 *   -ENOMEM.
 * A reader of legacy formats too does as go tool pprof: gunzip first
 * (cp_gunzip_err; its errors are final), decode the plain bytes, and on
 * -EBADMSG or -EINVAL try the legacy parsers on them.
 */
int cp_profile_decode(const void *data, size_t len, size_t max_decompressed,
                      struct cp_profile *out, char *err, size_t errlen);

/*
 * gunzip data into out (appended), failing with -E2BIG past
 * max_decompressed. Concatenated gzip members are all read. 0 or -errno.
 */
int cp_gunzip(const void *data, size_t len, size_t max_decompressed,
              struct cp_dynbuf *out);
/* As cp_gunzip, and on failure one sentence in err (may be NULL), e.g.
 * "gzip data is truncated after 1234 bytes". Errors: -E2BIG (cap),
 * -EBADMSG (corrupt, truncated, or garbage after the last member; trailing
 * NUL padding is accepted, as gzip(1) does), -ENOMEM. */
int cp_gunzip_err(const void *data, size_t len, size_t max_decompressed,
                  struct cp_dynbuf *out, char *err, size_t errlen);
/* 1 if data starts with the gzip magic. */
int cp_is_gzip(const void *data, size_t len);

/*
 * gzip len bytes into out (appended) at zlib level (1-9, or -1 for zlib's
 * default, 6: what Go's runtime/pprof uses). 0 or a negative errno.
 */
int cp_gzip(const void *data, size_t len, int level, struct cp_dynbuf *out);

#endif /* CP_CODEC_H */
