/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.h - the in-memory profile model shared by libcprof and the cprof
 * command: profile.proto's messages as plain C structs, with an interning
 * string table.
 *
 * The model mirrors perftools.profiles.Profile field for field (see Debian's
 * /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto), so
 * encode.c and decode.c are mechanical and nothing is lost in a round trip.
 * Two invariants make it cheap to walk:
 *   - mapping, location and function ids are dense: id == index + 1
 *     (decode renumbers; id 0 means "none");
 *   - every string field is an index into the profile's own string table,
 *     whose entry 0 is "".
 * All sub-arrays (a sample's locations, values and labels, a location's
 * lines) live in the profile's arena and die with it.
 *
 * Never used in signal context. Thread-safe: no (one owner at a time).
 */
#ifndef CP_PROFILE_H
#define CP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_value_type {
    int64_t type; /* string index, e.g. "cpu" */
    int64_t unit; /* string index, e.g. "nanoseconds" */
};

struct cp_label {
    int64_t key;      /* string index */
    int64_t str;      /* string index, 0 for a numeric label */
    int64_t num;      /* value of a numeric label */
    int64_t num_unit; /* string index, 0 if none */
};

struct cp_sample {
    uint64_t *location_ids; /* leaf first, as in profile.proto */
    size_t n_locations;
    int64_t *values; /* profile->n_sample_types entries */
    struct cp_label *labels;
    size_t n_labels;
};

struct cp_mapping {
    uint64_t id;
    uint64_t memory_start;
    uint64_t memory_limit;
    uint64_t file_offset;
    int64_t filename; /* string index */
    int64_t build_id; /* string index, lowercase hex for ELF */
    bool has_functions;
    bool has_filenames;
    bool has_line_numbers;
    bool has_inline_frames;
};

struct cp_line {
    uint64_t function_id;
    int64_t line;
    int64_t column;
};

struct cp_location {
    uint64_t id;
    uint64_t mapping_id; /* 0 if unknown */
    uint64_t address;
    struct cp_line *lines; /* innermost (inlined callee) first */
    size_t n_lines;
    bool is_folded;
};

struct cp_function {
    uint64_t id;
    int64_t name;        /* string index: human-readable name */
    int64_t system_name; /* string index: mangled/linker name */
    int64_t filename;    /* string index */
    int64_t start_line;
};

struct cp_arena;  /* profile.c */
struct cp_strtab; /* profile.c */

struct cp_profile {
    struct cp_value_type *sample_types;
    size_t n_sample_types;
    struct cp_sample *samples;
    size_t n_samples;
    struct cp_mapping *mappings;
    size_t n_mappings;
    struct cp_location *locations;
    size_t n_locations;
    struct cp_function *functions;
    size_t n_functions;
    int64_t drop_frames; /* string index */
    int64_t keep_frames; /* string index */
    int64_t time_nanos;
    int64_t duration_nanos;
    struct cp_value_type period_type;
    int64_t period;
    int64_t *comments; /* string indices */
    size_t n_comments;
    int64_t default_sample_type; /* string index */

    /* private: use the functions below */
    size_t cap_sample_types, cap_samples, cap_mappings, cap_locations,
        cap_functions, cap_comments;
    struct cp_strtab *strtab;
    struct cp_arena *arena;
};

/* Empty profile (string table holds ""). Returns 0 or -ENOMEM. */
int cp_profile_init(struct cp_profile *p);
/* Release everything the profile owns. Safe on a zeroed struct. */
void cp_profile_free(struct cp_profile *p);

/* Intern s (len bytes, need not be NUL-terminated): its index, or -ENOMEM. */
int64_t cp_profile_strn(struct cp_profile *p, const char *s, size_t len);
int64_t cp_profile_str(struct cp_profile *p, const char *s);
/* The string at idx, or "" when idx is out of range. Never NULL. */
const char *cp_profile_string(const struct cp_profile *p, int64_t idx);
size_t cp_profile_n_strings(const struct cp_profile *p);
/* As cp_profile_string, and its length in *len (strings read from a file
 * may hold NUL bytes). */
const char *cp_profile_stringn(const struct cp_profile *p, int64_t idx,
                               size_t *len);

/* Append a sample type; returns its index, -ENOMEM, or -EINVAL once the
 * profile has samples (their value arrays have a fixed length). */
int cp_profile_add_sample_type(struct cp_profile *p, const char *type,
                               const char *unit);
/* Index of the sample type named `type`, or -1. */
int cp_profile_sample_type_index(const struct cp_profile *p, const char *type);

/* Append records; the returned pointer (ids filled in, arrays allocated and
 * zeroed) is valid until the next append of the same kind. NULL on ENOMEM. */
struct cp_sample *cp_profile_add_sample(struct cp_profile *p,
                                        size_t n_locations, size_t n_labels);
struct cp_mapping *cp_profile_add_mapping(struct cp_profile *p);
struct cp_location *cp_profile_add_location(struct cp_profile *p,
                                            size_t n_lines);
struct cp_function *cp_profile_add_function(struct cp_profile *p);
/* Replace a location's lines with n fresh zeroed ones; 0 or -ENOMEM. */
int cp_profile_set_lines(struct cp_profile *p, struct cp_location *loc,
                         size_t n_lines);
int cp_profile_add_comment(struct cp_profile *p, const char *text);

/* Lookup by id; NULL when id is 0 or out of range. */
struct cp_mapping *cp_profile_mapping(const struct cp_profile *p, uint64_t id);
struct cp_location *cp_profile_location(const struct cp_profile *p,
                                        uint64_t id);
struct cp_function *cp_profile_function(const struct cp_profile *p,
                                        uint64_t id);

/* Make room for this many more records of each kind, so the appends that
 * follow do not reallocate (decoders and mergers know their counts). 0 or
 * -ENOMEM. */
int cp_profile_reserve(struct cp_profile *p, size_t samples, size_t mappings,
                       size_t locations, size_t functions);

/* Zeroed memory from the profile's arena, freed with the profile. */
void *cp_profile_alloc(struct cp_profile *p, size_t size);

#endif /* CP_PROFILE_H */
