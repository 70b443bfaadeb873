/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h - the web UI's source view: per-line flat and cum values of
 * the functions matching a regular expression, with the source text when
 * the file can be found (pprof's weblist, as JSON for the page).
 *
 * Never used in signal context. Thread-safe: no.
 */
#ifndef CP_SOURCE_H
#define CP_SOURCE_H

#include <jansson.h>
#include <regex.h>

#include "profile.h"

struct cp_source_opts {
    int sample_index;
    const char *source_path; /* ':'-separated directories; NULL: cwd */
    const char *trim_path;   /* prefix removed from profile paths */
    size_t max_funcs;        /* functions shown at most (0: 20) */
};

/*
 * Aggregate p (filtered, modified here) by lines and append to funcs one
 * object per function whose name matches re, heaviest first:
 *   {"name", "file", "path" (the file read, or null), "error" (why the
 *    text is missing, or null), "start" (first line of the function),
 *    "flat", "cum", "lines": [[lineno, flat, cum, text|null], ...]}
 * Lines shown: the function's lines with samples and what lies between
 * them, plus a little context. 0 or -ENOMEM.
 */
int cp_source_json(struct cp_profile *p, const regex_t *re,
                   const struct cp_source_opts *o, json_t *funcs);

/*
 * The file a profile names, as pprof's source view looks for it: the path
 * itself, then each suffix of it under every directory of source_path (or
 * the working directory), after removing trim_path. Returns a malloc'd
 * path of a readable regular file, or NULL.
 */
char *cp_source_find(const char *file, const char *source_path,
                     const char *trim_path);

/* jansson string of s, with bytes that are not UTF-8 replaced. */
json_t *cp_json_text(const char *s);

#endif /* CP_SOURCE_H */
