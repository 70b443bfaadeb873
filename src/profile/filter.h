/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filter.h - the sample and frame filters of go tool pprof (-focus,
 * -ignore, -hide, -show, -show_from, -prune_from, -tagfocus, -tagignore,
 * -tagshow, -taghide), its pruning of uninteresting frames (a profile's
 * drop_frames/keep_frames), its granularity aggregation (-functions,
 * -lines, ...) and its choice of sample index, applied to a struct
 * cp_profile in place.
 *
 * Regular expressions are POSIX extended (regcomp REG_EXTENDED), searched
 * unanchored like Go's MatchString, and matched against what pprof matches
 * them against: a frame's function name and file name, and its mapping's
 * file name; a string label as "key:value" (or the value, with KEY=).
 *
 * Never used in signal context. Thread-safe: no.
 */
#ifndef CP_FILTER_H
#define CP_FILTER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "dynbuf.h"
#include "profile.h"

/* Compile pattern as POSIX ERE, no sub-matches. 0, or -EINVAL with
 * "parsing <what> regexp <pattern>: <reason>" in err. */
int cp_regex_compile(regex_t *re, const char *what, const char *pattern,
                     char *err, size_t errlen);
bool cp_regex_match(const regex_t *re, const char *s);

/* What -focus and friends were set to; NULL or "" for unset. */
struct cp_filter_opts {
    const char *focus, *ignore, *hide, *show, *show_from, *prune_from;
    const char *tagfocus, *tagignore, *tagshow, *taghide;
};

/*
 * Apply every filter set in o, in pprof's order (applyFocus): names, then
 * show_from, tags, tag names, prune_from. Every filter that matched no
 * sample adds a line to warn (when given), e.g. "Focus expression matched
 * no samples"; a numeric tag filter adds "tagfocus:Interpreted '1kb:' as
 * range, not regexp". Samples left without frames are dropped. 0,
 * -EINVAL (bad regexp or range; the sentence in err) or -ENOMEM.
 */
int cp_filter_apply(struct cp_profile *p, const struct cp_filter_opts *o,
                    struct cp_dynbuf *warn, char *err, size_t errlen);

/*
 * Prune frames matching the profile's drop_frames (anchored, and not
 * keep_frames) and everything beneath them, leaving at least the frames
 * above the first user frame (pprof's RemoveUninteresting). A pattern that
 * does not compile is ignored, as pprof ignores the error.
 */
int cp_filter_remove_uninteresting(struct cp_profile *p);

/* Drop every frame beneath (towards the leaf) the first frame matching re
 * from the leaf, keeping that frame (pprof's PruneFrom). */
void cp_filter_prune_from(struct cp_profile *p, const regex_t *re);

enum cp_granularity {
    CP_GRAN_FUNCTIONS = 0, /* default */
    CP_GRAN_FILEFUNCTIONS,
    CP_GRAN_FILES,
    CP_GRAN_LINES,
    CP_GRAN_ADDRESSES,
};
/* "functions"... -> enum, or -1. */
int cp_granularity_parse(const char *name);
const char *cp_granularity_name(enum cp_granularity g);

/*
 * Forget what the granularity does not show (pprof's Aggregate): function
 * names, file names, line numbers, addresses, and inlined frames (keep the
 * outermost) when noinlines. Addresses with inlines changes nothing.
 */
void cp_filter_aggregate(struct cp_profile *p, enum cp_granularity g,
                         bool noinlines);

/*
 * The sample type -sample_index=name selects (pprof's SampleIndexByName):
 * "" is the profile's default_sample_type or the last type; a number is an
 * index; "inuse_x" also finds "x". Returns the index, or -EINVAL with a
 * sentence listing the types in err.
 */
int cp_sample_index(const struct cp_profile *p, const char *name, char *err,
                    size_t errlen);

/*
 * Units of numeric labels (pprof's NumLabelUnits): for each key, the first
 * unit a sample gives it, else "bytes" for keys "alignment" and "request",
 * else the key itself. Computed once over the samples; strings are p's.
 */
struct cp_num_units {
    size_t n;
    const char **keys;
    const char **units; /* "" until inferred */
};
int cp_num_units_init(struct cp_num_units *u, const struct cp_profile *p);
/* The unit of key (inferred as above for keys no sample has). */
const char *cp_num_units_get(const struct cp_num_units *u, const char *key);
void cp_num_units_free(struct cp_num_units *u);

/* pprof's simplifyFunc: a C++ name without its argument list. Writes into
 * buf (n bytes) and returns it. */
char *cp_simplify_func(char *buf, size_t n, const char *name);

#endif /* CP_FILTER_H */
