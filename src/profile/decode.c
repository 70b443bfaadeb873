/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode.c - profile.proto bytes (gzip'd or not) -> struct cp_profile.
 *
 * A hand-written reader for profile.proto's wire format rather than
 * protobuf-c's unpack: unpack allocates every message separately and would
 * then have to be copied into the model, while this reader writes straight
 * into the model's arrays and arena. It reads the message in passes over
 * the top-level fields (cheap: a tag and a length each):
 *   1. count everything, read the scalars;
 *   2. strings, sample types, mappings, functions, locations, comments,
 *      into arrays allocated once at their exact size;
 *   3. map the file's ids (arbitrary in Go's profiles) to dense ones, check
 *      every reference and string index;
 *   4. samples, each counted then filled in one arena block, with location
 *      ids translated as they are read.
 * Every read is bounds-checked and every reference validated, because the
 * input is untrusted (fuzz/fuzz_decode.c). Acceptance follows go tool
 * pprof's own decoder (github.com/google/pprof/profile/proto.go,
 * encode.go): unknown fields are skipped, repeated scalars may be packed
 * or not, wire-type mismatches and unknown wire types are errors, a
 * location with an unknown mapping id just loses its mapping, while a line
 * without a known function or a sample with an unknown location is an
 * error. Errors are one sentence naming the byte offset or the record.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "cp_assert.h"
#include "profile_int.h"

/* profile.proto field numbers (Profile message) */
enum {
    F_SAMPLE_TYPE = 1,  /* repeated ValueType, length-delimited */
    F_SAMPLE = 2,       /* repeated Sample */
    F_MAPPING = 3,      /* repeated Mapping */
    F_LOCATION = 4,     /* repeated Location */
    F_FUNCTION = 5,     /* repeated Function */
    F_STRING = 6,       /* repeated string */
    F_DROP_FRAMES = 7,  /* int64, varint */
    F_KEEP_FRAMES = 8,  /* int64 */
    F_TIME_NANOS = 9,   /* int64 */
    F_DURATION = 10,    /* int64 */
    F_PERIOD_TYPE = 11, /* ValueType */
    F_PERIOD = 12,      /* int64 */
    F_COMMENT = 13,     /* repeated int64, packed or not */
    F_DEFAULT_ST = 14,  /* int64 */
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static const char *const top_names[] = {
    "field 0",      "sample_type",    "sample",
    "mapping",      "location",       "function",
    "string_table", "drop_frames",    "keep_frames",
    "time_nanos",   "duration_nanos", "period_type",
    "period",       "comment",        "default_sample_type",
};

struct field {
    uint64_t num;
    unsigned wt;
    uint64_t v;          /* varint / fixed value */
    const uint8_t *data; /* WT_LEN payload */
    size_t len;
    const uint8_t *at; /* start of the field, for messages */
};

enum idkind { ID_IDENTITY, ID_DIRECT, ID_HASH };

/* File id -> dense id (index + 1); 0 when absent. */
struct idmap {
    enum idkind kind;
    size_t n;
    uint32_t *direct; /* ID_DIRECT: indexed by file id, size ndirect */
    size_t ndirect;
    uint64_t *keys; /* ID_HASH: open addressing, key 0 = empty */
    uint32_t *vals;
    size_t mask;
    unsigned shift; /* 64 - log2(slots): the product's top bits index */
};

struct dec {
    const uint8_t *base, *end;
    struct cp_profile *p;
    char *err;
    size_t errlen;
    int rc;
    /* what is being read, for error sentences */
    const char *ctx;
    size_t ctx_idx;
    /* pass 1 */
    size_t n_st, n_samples, n_mappings, n_locations, n_functions, n_strings,
        n_comments, str_bytes;
    struct idmap maps, locs, funcs;
};

/* ---- errors ------------------------------------------------------------ */

static int fail(struct dec *d, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct dec *d, int rc, const char *fmt, ...)
{
    if (d->rc)
        return d->rc; /* keep the first sentence */
    d->rc = rc;
    if (d->err && d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
        if (d->ctx && n >= 0 && (size_t)n < d->errlen)
            snprintf(d->err + n, d->errlen - (size_t)n, " (in %s %zu)", d->ctx,
                     d->ctx_idx);
    }
    return rc;
}

static size_t off(const struct dec *d, const uint8_t *at)
{
    return (size_t)(at - d->base);
}

/* ---- wire format --------------------------------------------------------- */

/* Read a varint at p (< end). NULL when it runs off the end or is longer
 * than 10 bytes. Bits past 64 are dropped, as Go's decoder drops them.
 * With 10 bytes in hand the bounds checks go away: the common case in a
 * profile (ids and values of 1-4 bytes) is a short straight line. */
static inline const uint8_t *rd_varint(const uint8_t *p, const uint8_t *end,
                                       uint64_t *v)
{
    if (CP_LIKELY(end - p >= 10)) {
        uint64_t b, r;
        b = p[0];
        if (b < 0x80) {
            *v = b;
            return p + 1;
        }
        r = b & 0x7f;
        b = p[1];
        r |= (b & 0x7f) << 7;
        if (b < 0x80)
            goto done2;
        b = p[2];
        r |= (b & 0x7f) << 14;
        if (b < 0x80)
            goto done3;
        b = p[3];
        r |= (b & 0x7f) << 21;
        if (b < 0x80)
            goto done4;
        for (unsigned i = 4; i < 10; i++) {
            b = p[i];
            r |= (b & 0x7f) << (7 * i);
            if (b < 0x80) {
                *v = r;
                return p + i + 1;
            }
        }
        return NULL;
    done2:
        *v = r;
        return p + 2;
    done3:
        *v = r;
        return p + 3;
    done4:
        *v = r;
        return p + 4;
    }
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (p >= end)
            return NULL;
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

static int varint_fail(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    size_t i = 0;
    while (p + i < end && i < 10 && (p[i] & 0x80))
        i++;
    if (p + i >= end)
        return fail(d, -EBADMSG,
                    "not a profile: truncated protobuf at byte %zu",
                    off(d, end));
    return fail(d, -EBADMSG,
                "not a profile: varint longer than 10 bytes at byte %zu",
                off(d, p));
}

/* One field (key + payload) at p; NULL on error (d->rc set). */
static inline const uint8_t *rd_field(struct dec *d, const uint8_t *p,
                                      const uint8_t *end, struct field *f)
{
    uint64_t key;
    const uint8_t *q = rd_varint(p, end, &key);
    f->at = p;
    f->v = 0;
    f->data = NULL;
    f->len = 0;
    if (!q) {
        varint_fail(d, p, end);
        return NULL;
    }
    f->num = key >> 3;
    f->wt = (unsigned)(key & 7);
    switch (f->wt) {
    case WT_VARINT: {
        const uint8_t *r = rd_varint(q, end, &f->v);
        if (!r) {
            varint_fail(d, q, end);
            return NULL;
        }
        return r;
    }
    case WT_I64:
        if ((size_t)(end - q) < 8)
            break;
        memcpy(&f->v, q, 8); /* little-endian hosts only (x86-64, arm64) */
        return q + 8;
    case WT_I32:
        if ((size_t)(end - q) < 4)
            break;
        {
            uint32_t v32;
            memcpy(&v32, q, 4);
            f->v = v32;
        }
        return q + 4;
    case WT_LEN: {
        uint64_t len;
        const uint8_t *r = rd_varint(q, end, &len);
        if (!r) {
            varint_fail(d, q, end);
            return NULL;
        }
        if (len > (uint64_t)(end - r))
            break;
        f->data = r;
        f->len = (size_t)len;
        return r + len;
    }
    default:
        fail(d, -EBADMSG,
             "not a profile: unsupported protobuf wire type %u at byte %zu",
             f->wt, off(d, p));
        return NULL;
    }
    fail(d, -EBADMSG, "not a profile: truncated protobuf at byte %zu",
         off(d, end));
    return NULL;
}

static int type_fail(struct dec *d, const struct field *f, const char *name,
                     unsigned want)
{
    return fail(d, -EBADMSG,
                "not a profile: %s at byte %zu has wire type %u, expected %u",
                name, off(d, f->at), f->wt, want);
}

/* Number of varints in a packed payload (bytes without the continuation
 * bit, counted 8 at a time), or -1 if the last one is cut. */
static inline int64_t packed_count(const uint8_t *p, size_t len)
{
    if (len && (p[len - 1] & 0x80))
        return -1;
    size_t n = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w = ~w & 0x8080808080808080ull; /* high bit set: a last byte */
        n += (size_t)(((w >> 7) * 0x0101010101010101ull) >> 56);
    }
    for (; i < len; i++)
        n += p[i] < 0x80;
    return (int64_t)n;
}

/* ---- id maps ------------------------------------------------------------- */

static void idmap_free(struct idmap *m)
{
    free(m->direct);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static inline uint64_t idmap_get(const struct idmap *m, uint64_t id)
{
    switch (m->kind) {
    case ID_IDENTITY:
        return id - 1 < m->n ? id : 0; /* id 0 wraps to huge: absent */
    case ID_DIRECT:
        return id < m->ndirect ? m->direct[id] : 0;
    case ID_HASH:
        if (!id)
            return 0;
        for (size_t j = (size_t)(id * 0x9e3779b97f4a7c15ull >> m->shift);;
             j = (j + 1) & m->mask) {
            if (m->keys[j] == id)
                return m->vals[j];
            if (!m->keys[j])
                return 0;
        }
    }
    return 0;
}

/*
 * Build the map for n records whose file id is the first uint64_t of each
 * record (true of cp_mapping, cp_location and cp_function), stride bytes
 * apart, and renumber the records dense. Ids must be non-zero and unique.
 */
static int idmap_build(struct dec *d, struct idmap *m, void *records, size_t n,
                       size_t stride, const char *what, const char *whats)
{
    char *r = records;
#define ID_AT(i) (*(uint64_t *)(r + (i)*stride))
    memset(m, 0, sizeof(*m));
    m->n = n;
    uint64_t max = 0;
    int identity = 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ID_AT(i);
        if (!id) {
            d->ctx = NULL;
            return fail(d, -EINVAL,
                        "malformed profile: %s %zu has the reserved id 0", what,
                        i);
        }
        if (id != i + 1)
            identity = 0;
        if (id > max)
            max = id;
    }
    if (identity) {
        m->kind = ID_IDENTITY;
        return 0;
    }
    if (max <= 2 * (uint64_t)n + 1024) {
        m->kind = ID_DIRECT;
        m->ndirect = (size_t)max + 1;
        m->direct = calloc(m->ndirect, sizeof(*m->direct));
        if (!m->direct)
            return fail(d, -ENOMEM, "out of memory reading the profile");
        for (size_t i = 0; i < n; i++) {
            uint64_t id = ID_AT(i);
            if (m->direct[id])
                return fail(d, -EINVAL,
                            "malformed profile: two %s have id %llu", whats,
                            (unsigned long long)id);
            m->direct[id] = (uint32_t)(i + 1);
            ID_AT(i) = i + 1;
        }
        return 0;
    }
    m->kind = ID_HASH;
    size_t slots = 16;
    while (slots < 2 * n)
        slots *= 2;
    m->mask = slots - 1;
    /* Fibonacci hashing on the top bits: ids that are addresses (multiples
     * of a page, say) still spread over every slot */
    m->shift = 64;
    for (size_t t = slots; t > 1; t >>= 1)
        m->shift--;
    m->keys = calloc(slots, sizeof(*m->keys));
    m->vals = calloc(slots, sizeof(*m->vals));
    if (!m->keys || !m->vals)
        return fail(d, -ENOMEM, "out of memory reading the profile");
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ID_AT(i);
        size_t j = (size_t)(id * 0x9e3779b97f4a7c15ull >> m->shift);
        while (m->keys[j] && m->keys[j] != id)
            j = (j + 1) & m->mask;
        if (m->keys[j] == id)
            return fail(d, -EINVAL, "malformed profile: two %s have id %llu",
                        whats, (unsigned long long)id);
        m->keys[j] = id;
        m->vals[j] = (uint32_t)(i + 1);
        ID_AT(i) = i + 1;
    }
    return 0;
#undef ID_AT
}

/* ---- string references --------------------------------------------------- */

static inline int str_ok(const struct dec *d, int64_t idx)
{
    return idx >= 0 && (uint64_t)idx < d->n_strings;
}

static int str_fail(struct dec *d, int64_t idx, const char *what)
{
    return fail(d, -EINVAL,
                "malformed profile: %s refers to string %lld, but the string "
                "table has %zu entries",
                what, (long long)idx, d->n_strings);
}

#define CHECK_STR(d, idx, what)                                                \
    do {                                                                       \
        if (!str_ok((d), (idx)))                                               \
            return str_fail((d), (idx), (what));                               \
    } while (0)

/* ---- pass 1: count ------------------------------------------------------- */

static int dec_value_type(struct dec *d, const struct field *f,
                          struct cp_value_type *vt)
{
    const uint8_t *q = f->data, *qe = f->data + f->len;
    vt->type = vt->unit = 0;
    while (q < qe) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num == 1 || g.num == 2) {
            if (g.wt != WT_VARINT)
                return type_fail(
                    d, &g, g.num == 1 ? "ValueType.type" : "ValueType.unit",
                    WT_VARINT);
            if (g.num == 1)
                vt->type = (int64_t)g.v;
            else
                vt->unit = (int64_t)g.v;
        }
    }
    return 0;
}

static int pass_count(struct dec *d)
{
    struct cp_profile *p = d->p;
    int time_seen = 0;
    for (const uint8_t *q = d->base; q < d->end;) {
        struct field f;
        if (!(q = rd_field(d, q, d->end, &f)))
            return d->rc;
        if (f.num == 0 || f.num > F_DEFAULT_ST)
            continue; /* unknown: skipped, as pprof does */
        const char *name = top_names[f.num];
        switch (f.num) {
        case F_SAMPLE_TYPE:
        case F_SAMPLE:
        case F_MAPPING:
        case F_LOCATION:
        case F_FUNCTION:
        case F_STRING:
        case F_PERIOD_TYPE:
            if (f.wt != WT_LEN)
                return type_fail(d, &f, name, WT_LEN);
            break;
        case F_COMMENT:
            if (f.wt != WT_LEN && f.wt != WT_VARINT)
                return type_fail(d, &f, name, WT_VARINT);
            break;
        default:
            if (f.wt != WT_VARINT)
                return type_fail(d, &f, name, WT_VARINT);
        }
        switch (f.num) {
        case F_SAMPLE_TYPE:
            d->n_st++;
            break;
        case F_SAMPLE:
            d->n_samples++;
            break;
        case F_MAPPING:
            d->n_mappings++;
            break;
        case F_LOCATION:
            d->n_locations++;
            break;
        case F_FUNCTION:
            d->n_functions++;
            break;
        case F_STRING:
            if (d->n_strings == 0 && f.len != 0)
                return fail(d, -EINVAL,
                            "malformed profile: string_table[0] must be \"\"");
            d->n_strings++;
            d->str_bytes += f.len + 1;
            break;
        case F_DROP_FRAMES:
            p->drop_frames = (int64_t)f.v;
            break;
        case F_KEEP_FRAMES:
            p->keep_frames = (int64_t)f.v;
            break;
        case F_TIME_NANOS:
            /* pprof: a second time_nanos means two profiles were
             * concatenated, whose string tables would be mixed up */
            if (time_seen && p->time_nanos)
                return fail(d, -EINVAL,
                            "malformed profile: concatenated profiles "
                            "detected (time_nanos at byte %zu repeats)",
                            off(d, f.at));
            time_seen = 1;
            p->time_nanos = (int64_t)f.v;
            break;
        case F_DURATION:
            p->duration_nanos = (int64_t)f.v;
            break;
        case F_PERIOD_TYPE:
            d->ctx = "period_type";
            d->ctx_idx = 0;
            if (dec_value_type(d, &f, &p->period_type) < 0)
                return d->rc;
            d->ctx = NULL;
            break;
        case F_PERIOD:
            p->period = (int64_t)f.v;
            break;
        case F_COMMENT:
            if (f.wt == WT_VARINT) {
                d->n_comments++;
            } else {
                int64_t c = packed_count(f.data, f.len);
                if (c < 0)
                    return fail(d, -EBADMSG,
                                "not a profile: truncated protobuf at byte "
                                "%zu",
                                off(d, f.data + f.len));
                d->n_comments += (size_t)c;
            }
            break;
        case F_DEFAULT_ST:
            p->default_sample_type = (int64_t)f.v;
            break;
        }
    }
    if (d->n_strings == 0)
        return fail(d, -EBADMSG,
                    "not a profile: no string table (string_table[0] must "
                    "be \"\")");
    if (d->n_strings > (size_t)UINT32_MAX - 2)
        return fail(d, -E2BIG, "profile has too many strings (%zu)",
                    d->n_strings);
    if (d->n_samples && !d->n_st)
        return fail(d, -EINVAL,
                    "malformed profile: %zu samples but no sample types",
                    d->n_samples);
    return 0;
}

/* ---- pass 2: everything but samples -------------------------------------- */

static int dec_mapping(struct dec *d, const struct field *f,
                       struct cp_mapping *m)
{
    const uint8_t *q = f->data, *qe = f->data + f->len;
    while (q < qe) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num < 1 || g.num > 10)
            continue;
        if (g.wt != WT_VARINT)
            return type_fail(d, &g, "a mapping field", WT_VARINT);
        switch (g.num) {
        case 1:
            m->id = g.v;
            break;
        case 2:
            m->memory_start = g.v;
            break;
        case 3:
            m->memory_limit = g.v;
            break;
        case 4:
            m->file_offset = g.v;
            break;
        case 5:
            m->filename = (int64_t)g.v;
            break;
        case 6:
            m->build_id = (int64_t)g.v;
            break;
        case 7:
            m->has_functions = g.v != 0;
            break;
        case 8:
            m->has_filenames = g.v != 0;
            break;
        case 9:
            m->has_line_numbers = g.v != 0;
            break;
        case 10:
            m->has_inline_frames = g.v != 0;
            break;
        }
    }
    return 0;
}

static int dec_function(struct dec *d, const struct field *f,
                        struct cp_function *fn)
{
    const uint8_t *q = f->data, *qe = f->data + f->len;
    while (q < qe) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num < 1 || g.num > 5)
            continue;
        if (g.wt != WT_VARINT)
            return type_fail(d, &g, "a function field", WT_VARINT);
        switch (g.num) {
        case 1:
            fn->id = g.v;
            break;
        case 2:
            fn->name = (int64_t)g.v;
            break;
        case 3:
            fn->system_name = (int64_t)g.v;
            break;
        case 4:
            fn->filename = (int64_t)g.v;
            break;
        case 5:
            fn->start_line = (int64_t)g.v;
            break;
        }
    }
    return 0;
}

static int dec_line(struct dec *d, const struct field *f, struct cp_line *ln)
{
    const uint8_t *q = f->data, *qe = f->data + f->len;
    while (q < qe) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num < 1 || g.num > 3)
            continue;
        if (g.wt != WT_VARINT)
            return type_fail(d, &g, "a line field", WT_VARINT);
        switch (g.num) {
        case 1:
            ln->function_id = g.v;
            break;
        case 2:
            ln->line = (int64_t)g.v;
            break;
        case 3:
            ln->column = (int64_t)g.v;
            break;
        }
    }
    return 0;
}

static int dec_location(struct dec *d, const struct field *f,
                        struct cp_location *l)
{
    const uint8_t *q, *qe = f->data + f->len;
    size_t nlines = 0;
    for (q = f->data; q < qe;) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num == 4) {
            if (g.wt != WT_LEN)
                return type_fail(d, &g, "Location.line", WT_LEN);
            nlines++;
        } else if (g.num >= 1 && g.num <= 5 && g.wt != WT_VARINT) {
            return type_fail(d, &g, "a location field", WT_VARINT);
        }
    }
    if (nlines) {
        l->lines = cp_profile_alloc8(d->p, nlines * sizeof(*l->lines));
        if (!l->lines)
            return fail(d, -ENOMEM, "out of memory reading the profile");
    }
    l->n_lines = nlines;
    size_t li = 0;
    for (q = f->data; q < qe;) {
        struct field g;
        if (CP_UNLIKELY(!(q = rd_field(d, q, qe, &g))))
            return d->rc; /* cannot happen: validated before */
        switch (g.num) {
        case 1:
            l->id = g.v;
            break;
        case 2:
            l->mapping_id = g.v;
            break;
        case 3:
            l->address = g.v;
            break;
        case 4:
            if (dec_line(d, &g, &l->lines[li++]) < 0)
                return d->rc;
            break;
        case 5:
            l->is_folded = g.v != 0;
            break;
        }
    }
    return 0;
}

static int pass_tables(struct dec *d)
{
    struct cp_profile *p = d->p;
    if (cp_profile_reserve(p, d->n_samples, d->n_mappings, d->n_locations,
                           d->n_functions) < 0 ||
        cp_profile_strtab_reserve(p, d->n_strings) < 0)
        return fail(d, -ENOMEM, "out of memory reading the profile");
    if (d->n_st) {
        p->sample_types = calloc(d->n_st, sizeof(*p->sample_types));
        if (!p->sample_types)
            return fail(d, -ENOMEM, "out of memory reading the profile");
        p->cap_sample_types = d->n_st;
    }
    if (d->n_comments) {
        p->comments = calloc(d->n_comments, sizeof(*p->comments));
        if (!p->comments)
            return fail(d, -ENOMEM, "out of memory reading the profile");
        p->cap_comments = d->n_comments;
    }
    char *strmem = cp_profile_alloc8(p, d->str_bytes);
    if (!strmem)
        return fail(d, -ENOMEM, "out of memory reading the profile");
    size_t nstr = 0;
    for (const uint8_t *q = d->base; q < d->end;) {
        struct field f;
        if (CP_UNLIKELY(!(q = rd_field(d, q, d->end, &f))))
            return d->rc; /* cannot happen: validated before */
        switch (f.num) {
        case F_SAMPLE_TYPE:
            d->ctx = "sample_type";
            d->ctx_idx = p->n_sample_types;
            if (dec_value_type(d, &f, &p->sample_types[p->n_sample_types]) < 0)
                return d->rc;
            p->n_sample_types++;
            break;
        case F_MAPPING:
            d->ctx = "mapping";
            d->ctx_idx = p->n_mappings;
            memset(&p->mappings[p->n_mappings], 0, sizeof(*p->mappings));
            if (dec_mapping(d, &f, &p->mappings[p->n_mappings]) < 0)
                return d->rc;
            p->n_mappings++;
            break;
        case F_LOCATION:
            d->ctx = "location";
            d->ctx_idx = p->n_locations;
            memset(&p->locations[p->n_locations], 0, sizeof(*p->locations));
            if (dec_location(d, &f, &p->locations[p->n_locations]) < 0)
                return d->rc;
            p->n_locations++;
            break;
        case F_FUNCTION:
            d->ctx = "function";
            d->ctx_idx = p->n_functions;
            memset(&p->functions[p->n_functions], 0, sizeof(*p->functions));
            if (dec_function(d, &f, &p->functions[p->n_functions]) < 0)
                return d->rc;
            p->n_functions++;
            break;
        case F_STRING:
            /* entry 0 is "" (checked in pass 1) and already in the table */
            if (nstr++ == 0)
                break;
            memcpy(strmem, f.data, f.len);
            strmem[f.len] = '\0';
            cp_profile_strtab_push(p, strmem, f.len);
            strmem += f.len + 1;
            break;
        case F_COMMENT:
            if (f.wt == WT_VARINT) {
                p->comments[p->n_comments++] = (int64_t)f.v;
            } else {
                const uint8_t *r = f.data, *re = f.data + f.len;
                while (r < re) {
                    uint64_t v;
                    const uint8_t *r2 = rd_varint(r, re, &v);
                    if (!r2)
                        return varint_fail(d, r, re);
                    r = r2;
                    p->comments[p->n_comments++] = (int64_t)v;
                }
            }
            break;
        }
        d->ctx = NULL;
    }
    return 0;
}

/* ---- pass 3: ids and references ------------------------------------------ */

static int pass_refs(struct dec *d)
{
    struct cp_profile *p = d->p;
    if (idmap_build(d, &d->maps, p->mappings, p->n_mappings,
                    sizeof(*p->mappings), "mapping", "mappings") < 0 ||
        idmap_build(d, &d->funcs, p->functions, p->n_functions,
                    sizeof(*p->functions), "function", "functions") < 0 ||
        idmap_build(d, &d->locs, p->locations, p->n_locations,
                    sizeof(*p->locations), "location", "locations") < 0)
        return d->rc;

    for (size_t i = 0; i < p->n_sample_types; i++) {
        d->ctx = "sample_type";
        d->ctx_idx = i;
        CHECK_STR(d, p->sample_types[i].type, "its type");
        CHECK_STR(d, p->sample_types[i].unit, "its unit");
    }
    for (size_t i = 0; i < p->n_mappings; i++) {
        d->ctx = "mapping";
        d->ctx_idx = i;
        CHECK_STR(d, p->mappings[i].filename, "its filename");
        CHECK_STR(d, p->mappings[i].build_id, "its build_id");
    }
    for (size_t i = 0; i < p->n_functions; i++) {
        d->ctx = "function";
        d->ctx_idx = i;
        CHECK_STR(d, p->functions[i].name, "its name");
        CHECK_STR(d, p->functions[i].system_name, "its system_name");
        CHECK_STR(d, p->functions[i].filename, "its filename");
    }
    d->ctx = NULL;
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *l = &p->locations[i];
        /* pprof keeps a location whose mapping is unknown, without it */
        l->mapping_id = l->mapping_id ? idmap_get(&d->maps, l->mapping_id) : 0;
        for (size_t j = 0; j < l->n_lines; j++) {
            uint64_t fid = l->lines[j].function_id;
            uint64_t dense = idmap_get(&d->funcs, fid);
            if (!dense)
                return fail(d, -EINVAL,
                            "malformed profile: location %zu has a line "
                            "whose function id %llu is not in the profile",
                            i, (unsigned long long)fid);
            l->lines[j].function_id = dense;
        }
    }
    CHECK_STR(d, p->drop_frames, "drop_frames");
    CHECK_STR(d, p->keep_frames, "keep_frames");
    CHECK_STR(d, p->period_type.type, "period_type.type");
    CHECK_STR(d, p->period_type.unit, "period_type.unit");
    CHECK_STR(d, p->default_sample_type, "default_sample_type");
    for (size_t i = 0; i < p->n_comments; i++)
        CHECK_STR(d, p->comments[i], "a comment");
    return 0;
}

/* ---- pass 4: samples ----------------------------------------------------- */

static int dec_label(struct dec *d, const struct field *f, struct cp_label *l)
{
    const uint8_t *q = f->data, *qe = f->data + f->len;
    while (q < qe) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num < 1 || g.num > 4)
            continue;
        if (g.wt != WT_VARINT)
            return type_fail(d, &g, "a label field", WT_VARINT);
        switch (g.num) {
        case 1:
            l->key = (int64_t)g.v;
            break;
        case 2:
            l->str = (int64_t)g.v;
            break;
        case 3:
            l->num = (int64_t)g.v;
            break;
        case 4:
            l->num_unit = (int64_t)g.v;
            break;
        }
    }
    CHECK_STR(d, l->key, "a label key");
    CHECK_STR(d, l->str, "a label value");
    CHECK_STR(d, l->num_unit, "a label unit");
    return 0;
}

static int dec_sample(struct dec *d, const struct field *f, struct cp_sample *s)
{
    const uint8_t *q, *qe = f->data + f->len;
    size_t nloc = 0, nval = 0, nlab = 0;
    for (q = f->data; q < qe;) {
        struct field g;
        if (!(q = rd_field(d, q, qe, &g)))
            return d->rc;
        if (g.num == 1 || g.num == 2) {
            size_t *cnt = g.num == 1 ? &nloc : &nval;
            if (g.wt == WT_VARINT) {
                (*cnt)++;
            } else if (g.wt == WT_LEN) {
                int64_t c = packed_count(g.data, g.len);
                if (c < 0)
                    return fail(d, -EBADMSG,
                                "not a profile: truncated protobuf at byte "
                                "%zu",
                                off(d, g.data + g.len));
                *cnt += (size_t)c;
            } else {
                return type_fail(
                    d, &g, g.num == 1 ? "Sample.location_id" : "Sample.value",
                    WT_VARINT);
            }
        } else if (g.num == 3) {
            if (g.wt != WT_LEN)
                return type_fail(d, &g, "Sample.label", WT_LEN);
            nlab++;
        }
    }
    if (nval != d->n_st)
        return fail(d, -EINVAL,
                    "malformed profile: sample has %zu values but the "
                    "profile has %zu sample types",
                    nval, d->n_st);
    /* each counted item took at least one input byte: no overflow */
    size_t bytes = nloc * sizeof(uint64_t) + nval * sizeof(int64_t) +
                   nlab * sizeof(struct cp_label);
    char *mem = bytes ? cp_profile_alloc8(d->p, bytes) : NULL;
    if (bytes && !mem)
        return fail(d, -ENOMEM, "out of memory reading the profile");
    s->location_ids = nloc ? (uint64_t *)mem : NULL;
    s->n_locations = nloc;
    s->values = nval ? (int64_t *)(mem + nloc * sizeof(uint64_t)) : NULL;
    s->labels = nlab ? (struct cp_label *)(mem + nloc * sizeof(uint64_t) +
                                           nval * sizeof(int64_t))
                     : NULL;
    s->n_labels = nlab;
    size_t li = 0, vi = 0, bi = 0;
    uint64_t bad;
    const struct idmap *lm = &d->locs;
    for (q = f->data; q < qe;) {
        struct field g;
        if (CP_UNLIKELY(!(q = rd_field(d, q, qe, &g))))
            return d->rc; /* cannot happen: validated before */
        if (g.num == 1) {
            if (g.wt == WT_VARINT) {
                uint64_t dense = idmap_get(lm, g.v);
                if (!dense) {
                    bad = g.v;
                    goto bad_loc;
                }
                s->location_ids[li++] = dense;
            } else if (lm->kind == ID_IDENTITY) {
                /* the common case (ids already dense): no lookup at all */
                const uint8_t *r = g.data, *re = g.data + g.len;
                uint64_t n = lm->n;
                while (r < re) {
                    uint64_t v;
                    const uint8_t *r2 = rd_varint(r, re, &v);
                    if (!r2)
                        return varint_fail(d, r, re);
                    r = r2;
                    if (v - 1 >= n) {
                        bad = v;
                        goto bad_loc;
                    }
                    s->location_ids[li++] = v;
                }
            } else {
                const uint8_t *r = g.data, *re = g.data + g.len;
                while (r < re) {
                    uint64_t v;
                    const uint8_t *r2 = rd_varint(r, re, &v);
                    if (!r2)
                        return varint_fail(d, r, re);
                    r = r2;
                    uint64_t dense = idmap_get(lm, v);
                    if (!dense) {
                        bad = v;
                        goto bad_loc;
                    }
                    s->location_ids[li++] = dense;
                }
            }
        } else if (g.num == 2) {
            if (g.wt == WT_VARINT) {
                s->values[vi++] = (int64_t)g.v;
            } else {
                const uint8_t *r = g.data, *re = g.data + g.len;
                while (r < re) {
                    uint64_t v;
                    const uint8_t *r2 = rd_varint(r, re, &v);
                    if (!r2)
                        return varint_fail(d, r, re);
                    r = r2;
                    s->values[vi++] = (int64_t)v;
                }
            }
        } else if (g.num == 3) {
            if (dec_label(d, &g, &s->labels[bi++]) < 0)
                return d->rc;
        }
    }
    return 0;
bad_loc:
    return fail(d, -EINVAL,
                "malformed profile: sample refers to location id %llu, "
                "which is not in the profile",
                (unsigned long long)bad);
}

static int pass_samples(struct dec *d)
{
    struct cp_profile *p = d->p;
    for (const uint8_t *q = d->base; q < d->end;) {
        struct field f;
        if (CP_UNLIKELY(!(q = rd_field(d, q, d->end, &f))))
            return d->rc; /* cannot happen: validated before */
        if (f.num != F_SAMPLE)
            continue;
        d->ctx = "sample";
        d->ctx_idx = p->n_samples;
        if (dec_sample(d, &f, &p->samples[p->n_samples]) < 0)
            return d->rc;
        p->n_samples++;
    }
    d->ctx = NULL;
    return 0;
}

static int decode_raw(struct dec *d)
{
    if (pass_count(d) < 0 || pass_tables(d) < 0 || pass_refs(d) < 0 ||
        pass_samples(d) < 0)
        return d->rc;
    return 0;
}

int cp_profile_decode(const void *data, size_t len, size_t max_decompressed,
                      struct cp_profile *out, char *err, size_t errlen)
{
    struct dec d;
    struct cp_dynbuf raw;
    memset(&d, 0, sizeof(d));
    cp_dynbuf_init(&raw, SIZE_MAX);
    d.err = err;
    d.errlen = errlen;
    d.p = out;
    if (err && errlen)
        err[0] = '\0';
    int rc = cp_profile_init(out);
    if (rc < 0) {
        fail(&d, rc, "out of memory reading the profile");
        goto out;
    }
    if (cp_is_gzip(data, len)) {
        rc = cp_gunzip_err(data, len, max_decompressed, &raw, err, errlen);
        if (rc < 0) {
            d.rc = rc;
            goto out;
        }
        data = raw.data;
        len = raw.len;
    }
    if (len == 0) {
        fail(&d, -ENODATA, "empty profile: the input has no data");
        goto out;
    }
    d.base = data;
    d.end = d.base + len;
    decode_raw(&d);
out:
    idmap_free(&d.maps);
    idmap_free(&d.locs);
    idmap_free(&d.funcs);
    cp_dynbuf_free(&raw);
    if (d.rc < 0)
        cp_profile_free(out);
    return d.rc;
}
