/* SPDX-License-Identifier: Apache-2.0 */
/*
 * merge.h - whole-profile operations of google/pprof's profile package:
 * merge (and compact/copy), scale, labels on every sample, and the unit
 * reconciliation go tool pprof applies before merging. The cprof command
 * merges its sources and subtracts -base/-diff_base profiles with these;
 * the web UI copies a loaded profile before filtering it.
 *
 * Never used in signal context. Thread-safe: no (one owner per profile).
 */
#ifndef CP_MERGE_H
#define CP_MERGE_H

#include <stddef.h>

#include "profile.h"

/*
 * Merge srcs[0..n) into out (initialized here), as pprof's profile.Merge:
 * every profile must have the same period type and sample types (else
 * -EINVAL and a sentence in err); samples with the same stack and labels
 * are added up, samples whose values are all zero disappear, and
 * mappings, locations and functions are shared by content and renumbered
 * in order of first use (the first profile's first mapping first). The
 * header: the earliest time, durations added, the largest period, the
 * comments of all, drop/keep frames of the first. In out every string is
 * interned: equal strings have equal indexes. Labels of a sample come out
 * sorted by key (strings first, then numbers). 0, -EINVAL or -ENOMEM; out
 * is freed on failure.
 */
int cp_profile_merge(struct cp_profile *const *srcs, size_t n,
                     struct cp_profile *out, char *err, size_t errlen);

/* A compacted, independent copy (pprof's Compact/Copy). */
int cp_profile_copy(const struct cp_profile *src, struct cp_profile *out);

/* 0 when a and b may be merged, else -EINVAL and a sentence in err. */
int cp_profile_compatible(const struct cp_profile *a,
                          const struct cp_profile *b, char *err,
                          size_t errlen);

/* Multiply every value of sample type i by ratios[i] (rounded half away
 * from zero, as Go's math.Round) and drop samples left all zero; pprof's
 * ScaleN. A ratio of 1 leaves its values alone. 0 or -EINVAL. */
int cp_profile_scale_n(struct cp_profile *p, const double *ratios);
/* The same ratio for every sample type (pprof's Scale). */
int cp_profile_scale(struct cp_profile *p, double ratio);

/*
 * Bring profiles whose units differ (e.g. one in microseconds, one in
 * nanoseconds) to the finest common unit before a merge; pprof's
 * measurement.ScaleProfiles. -EINVAL with a sentence when the types
 * cannot be reconciled (e.g. a CPU profile and a heap profile).
 */
int cp_profile_scale_profiles(struct cp_profile *const *ps, size_t n,
                              char *err, size_t errlen);

/* Give every sample the string label key=value, replacing the sample's
 * other values of key (pprof's SetLabel). 0 or -ENOMEM. */
int cp_profile_set_label(struct cp_profile *p, const char *key,
                         const char *value);
/* Remove every label (string or numeric) named key. */
void cp_profile_remove_label(struct cp_profile *p, const char *key);
/* True when the sample carries the string label key=value. */
bool cp_sample_has_label(const struct cp_profile *p,
                         const struct cp_sample *s, const char *key,
                         const char *value);

/*
 * Scale p so that each sample type sums to what it sums to in base
 * (pprof's Normalize, -normalize). 0 or -EINVAL (incompatible).
 */
int cp_profile_normalize(struct cp_profile *p, const struct cp_profile *base,
                         char *err, size_t errlen);

/*
 * Replace every string index in p by the index of the first equal string
 * (a decoded table may hold duplicates), so that equal strings compare
 * equal by index. 0 or -ENOMEM.
 */
int cp_profile_canon_strings(struct cp_profile *p);

#endif /* CP_MERGE_H */
