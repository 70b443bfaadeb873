/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encode.c - struct cp_profile -> profile.proto bytes (optionally gzip'd),
 * and whole-or-nothing file writes.
 *
 * The message is produced through protobuf-c (profile.pb-c.h, generated at
 * build time from Debian's profile.proto) in pieces: protobuf's wire format
 * lets a message be written as several concatenated partial messages whose
 * repeated fields append, so we pack a Profile holding the sample types,
 * then Profiles holding CHUNK samples (or mappings, locations, functions)
 * at a time, then the scalars. The protobuf-c structs of one piece live in
 * arrays reused from piece to piece (no malloc per element), the model's
 * own id and value arrays are pointed at rather than copied, and each
 * piece goes straight into the gzip stream, so a profile of millions of
 * samples never exists twice in memory. Two fields protobuf-c cannot
 * express are written by hand: the string table (protobuf-c strings stop
 * at NUL; ours may hold NULs) and Line.column (field 3, newer than
 * Debian's profile.proto), which is attached as an "unknown" field that
 * protobuf-c packs verbatim.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "profile.pb-c.h"
#include "profile_int.h"

/* Records per packed piece: large enough that per-piece overhead vanishes,
 * small enough that one piece's structs (~100 B per sample) stay in cache
 * territory and bounded (~0.5 MiB). */
#define CHUNK 4096

/* Above this much uncompressed output, gzip switches from zlib level 6
 * (what Go writes) to level 1: on profile data level 1 is ~3x faster and
 * only ~15% larger, and a 100 MB re-encode should not take seconds. */
#define GZ_FAST_AFTER ((size_t)8 << 20)

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;
typedef Perftools__Profiles__ValueType PbValueType;

struct enc {
    const struct cp_profile *p;
    struct cp_dynbuf *out;
    struct cp_gzw gz;
    int gzip;
    int fast;     /* switched to gzip level 1 */
    size_t raw;   /* uncompressed bytes emitted so far */
    uint8_t *buf; /* one packed piece */
    size_t buf_cap;
    /* per-piece scratch, grown as needed and reused */
    void *msgs, *ptrs, *sub, *subptrs, *unk;
    size_t msgs_cap, ptrs_cap, sub_cap, subptrs_cap, unk_cap;
    uint8_t *unkbytes;
    size_t unkbytes_cap;
};

static int ensure(void **mem, size_t *cap, size_t n, size_t elem)
{
    if (n == 0)
        n = 1; /* never NULL: "NULL + 0" is undefined behaviour in C */
    if (n <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < n)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return -ENOMEM;
    void *m = realloc(*mem, ncap * elem);
    if (!m)
        return -ENOMEM;
    *mem = m;
    *cap = ncap;
    return 0;
}

static int emit(struct enc *e, const void *data, size_t len)
{
    e->raw += len;
    if (!e->gzip)
        return cp_dynbuf_add(e->out, data, len);
    if (!e->fast && e->raw > GZ_FAST_AFTER) {
        e->fast = 1;
        int rc = cp_gzw_set_level(&e->gz, 1);
        if (rc < 0)
            return rc;
    }
    return cp_gzw_write(&e->gz, data, len);
}

static int emit_profile(struct enc *e, const PbProfile *m)
{
    size_t n = perftools__profiles__profile__get_packed_size(m);
    if (n > e->buf_cap) {
        void *b = e->buf;
        if (ensure(&b, &e->buf_cap, n, 1) < 0)
            return -ENOMEM;
        e->buf = b;
    }
    size_t w = perftools__profiles__profile__pack(m, e->buf);
    if (w != n)
        return -EIO; /* protobuf-c disagreed with itself: never expected */
    return emit(e, e->buf, w);
}

static int put_varint(uint8_t *b, uint64_t v)
{
    int n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)v | 0x80;
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

static const PbProfile profile_init = PERFTOOLS__PROFILES__PROFILE__INIT;
static const PbSample sample_init = PERFTOOLS__PROFILES__SAMPLE__INIT;
static const PbLabel label_init = PERFTOOLS__PROFILES__LABEL__INIT;
static const PbMapping mapping_init = PERFTOOLS__PROFILES__MAPPING__INIT;
static const PbLocation location_init = PERFTOOLS__PROFILES__LOCATION__INIT;
static const PbLine line_init = PERFTOOLS__PROFILES__LINE__INIT;
static const PbFunction function_init = PERFTOOLS__PROFILES__FUNCTION__INIT;
static const PbValueType value_type_init =
    PERFTOOLS__PROFILES__VALUE_TYPE__INIT;

static int enc_sample_types(struct enc *e)
{
    const struct cp_profile *p = e->p;
    if (!p->n_sample_types)
        return 0;
    if (ensure(&e->msgs, &e->msgs_cap, p->n_sample_types,
               sizeof(PbValueType)) ||
        ensure(&e->ptrs, &e->ptrs_cap, p->n_sample_types, sizeof(void *)))
        return -ENOMEM;
    PbValueType *vt = e->msgs;
    PbValueType **vp = e->ptrs;
    for (size_t i = 0; i < p->n_sample_types; i++) {
        vt[i] = value_type_init;
        vt[i].type = p->sample_types[i].type;
        vt[i].unit = p->sample_types[i].unit;
        vp[i] = &vt[i];
    }
    PbProfile m = profile_init;
    m.n_sample_type = p->n_sample_types;
    m.sample_type = vp;
    return emit_profile(e, &m);
}

static int enc_samples(struct enc *e)
{
    const struct cp_profile *p = e->p;
    if (ensure(&e->msgs, &e->msgs_cap, CHUNK, sizeof(PbSample)) ||
        ensure(&e->ptrs, &e->ptrs_cap, CHUNK, sizeof(void *)))
        return -ENOMEM;
    for (size_t base = 0; base < p->n_samples; base += CHUNK) {
        size_t n = p->n_samples - base < CHUNK ? p->n_samples - base : CHUNK;
        size_t nlab = 0;
        for (size_t i = 0; i < n; i++) {
            const struct cp_sample *s = &p->samples[base + i];
            if ((!s->values && p->n_sample_types) ||
                (!s->location_ids && s->n_locations) ||
                (!s->labels && s->n_labels))
                return -EINVAL;
            nlab += s->n_labels;
        }
        if (ensure(&e->sub, &e->sub_cap, nlab, sizeof(PbLabel)) ||
            ensure(&e->subptrs, &e->subptrs_cap, nlab, sizeof(void *)))
            return -ENOMEM;
        PbSample *sm = e->msgs;
        PbSample **sp = e->ptrs;
        PbLabel *lm = e->sub;
        PbLabel **lp = e->subptrs;
        size_t li = 0;
        for (size_t i = 0; i < n; i++) {
            const struct cp_sample *s = &p->samples[base + i];
            sm[i] = sample_init;
            sm[i].n_location_id = s->n_locations;
            sm[i].location_id = s->location_ids;
            sm[i].n_value = p->n_sample_types;
            sm[i].value = s->values;
            sm[i].n_label = s->n_labels;
            sm[i].label = lp + li;
            for (size_t j = 0; j < s->n_labels; j++, li++) {
                lm[li] = label_init;
                lm[li].key = s->labels[j].key;
                lm[li].str = s->labels[j].str;
                lm[li].num = s->labels[j].num;
                lm[li].num_unit = s->labels[j].num_unit;
                lp[li] = &lm[li];
            }
            sp[i] = &sm[i];
        }
        PbProfile m = profile_init;
        m.n_sample = n;
        m.sample = sp;
        int rc = emit_profile(e, &m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int enc_mappings(struct enc *e)
{
    const struct cp_profile *p = e->p;
    if (ensure(&e->msgs, &e->msgs_cap, CHUNK, sizeof(PbMapping)) ||
        ensure(&e->ptrs, &e->ptrs_cap, CHUNK, sizeof(void *)))
        return -ENOMEM;
    for (size_t base = 0; base < p->n_mappings; base += CHUNK) {
        size_t n = p->n_mappings - base < CHUNK ? p->n_mappings - base : CHUNK;
        PbMapping *mm = e->msgs;
        PbMapping **mp = e->ptrs;
        for (size_t i = 0; i < n; i++) {
            const struct cp_mapping *src = &p->mappings[base + i];
            mm[i] = mapping_init;
            mm[i].id = src->id;
            mm[i].memory_start = src->memory_start;
            mm[i].memory_limit = src->memory_limit;
            mm[i].file_offset = src->file_offset;
            mm[i].filename = src->filename;
            mm[i].build_id = src->build_id;
            mm[i].has_functions = src->has_functions;
            mm[i].has_filenames = src->has_filenames;
            mm[i].has_line_numbers = src->has_line_numbers;
            mm[i].has_inline_frames = src->has_inline_frames;
            mp[i] = &mm[i];
        }
        PbProfile m = profile_init;
        m.n_mapping = n;
        m.mapping = mp;
        int rc = emit_profile(e, &m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int enc_locations(struct enc *e)
{
    const struct cp_profile *p = e->p;
    if (ensure(&e->msgs, &e->msgs_cap, CHUNK, sizeof(PbLocation)) ||
        ensure(&e->ptrs, &e->ptrs_cap, CHUNK, sizeof(void *)))
        return -ENOMEM;
    for (size_t base = 0; base < p->n_locations; base += CHUNK) {
        size_t n =
            p->n_locations - base < CHUNK ? p->n_locations - base : CHUNK;
        size_t nlines = 0, ncol = 0;
        for (size_t i = 0; i < n; i++) {
            const struct cp_location *l = &p->locations[base + i];
            if (!l->lines && l->n_lines)
                return -EINVAL;
            nlines += l->n_lines;
            for (size_t j = 0; j < l->n_lines; j++)
                ncol += l->lines[j].column != 0;
        }
        if (ensure(&e->sub, &e->sub_cap, nlines, sizeof(PbLine)) ||
            ensure(&e->subptrs, &e->subptrs_cap, nlines, sizeof(void *)) ||
            ensure(&e->unk, &e->unk_cap, ncol,
                   sizeof(ProtobufCMessageUnknownField)))
            return -ENOMEM;
        if (ncol) {
            void *ub = e->unkbytes;
            if (ensure(&ub, &e->unkbytes_cap, ncol * 10, 1))
                return -ENOMEM;
            e->unkbytes = ub;
        }
        PbLocation *lm = e->msgs;
        PbLocation **lp = e->ptrs;
        PbLine *nm = e->sub;
        PbLine **np = e->subptrs;
        ProtobufCMessageUnknownField *uf = e->unk;
        size_t ni = 0, ci = 0;
        for (size_t i = 0; i < n; i++) {
            const struct cp_location *src = &p->locations[base + i];
            lm[i] = location_init;
            lm[i].id = src->id;
            lm[i].mapping_id = src->mapping_id;
            lm[i].address = src->address;
            lm[i].is_folded = src->is_folded;
            lm[i].n_line = src->n_lines;
            lm[i].line = np + ni;
            for (size_t j = 0; j < src->n_lines; j++, ni++) {
                const struct cp_line *ln = &src->lines[j];
                nm[ni] = line_init;
                nm[ni].function_id = ln->function_id;
                nm[ni].line = ln->line;
                if (ln->column) {
                    uint8_t *d = e->unkbytes + ci * 10;
                    uf[ci].tag = 3;
                    uf[ci].wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
                    uf[ci].len = (size_t)put_varint(d, (uint64_t)ln->column);
                    uf[ci].data = d;
                    nm[ni].base.n_unknown_fields = 1;
                    nm[ni].base.unknown_fields = &uf[ci];
                    ci++;
                }
                np[ni] = &nm[ni];
            }
            lp[i] = &lm[i];
        }
        PbProfile m = profile_init;
        m.n_location = n;
        m.location = lp;
        int rc = emit_profile(e, &m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int enc_functions(struct enc *e)
{
    const struct cp_profile *p = e->p;
    if (ensure(&e->msgs, &e->msgs_cap, CHUNK, sizeof(PbFunction)) ||
        ensure(&e->ptrs, &e->ptrs_cap, CHUNK, sizeof(void *)))
        return -ENOMEM;
    for (size_t base = 0; base < p->n_functions; base += CHUNK) {
        size_t n =
            p->n_functions - base < CHUNK ? p->n_functions - base : CHUNK;
        PbFunction *fm = e->msgs;
        PbFunction **fp = e->ptrs;
        for (size_t i = 0; i < n; i++) {
            const struct cp_function *src = &p->functions[base + i];
            fm[i] = function_init;
            fm[i].id = src->id;
            fm[i].name = src->name;
            fm[i].system_name = src->system_name;
            fm[i].filename = src->filename;
            fm[i].start_line = src->start_line;
            fp[i] = &fm[i];
        }
        PbProfile m = profile_init;
        m.n_function = n;
        m.function = fp;
        int rc = emit_profile(e, &m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* string_table = 6, length-delimited, by hand (see the file comment) */
static int enc_strings(struct enc *e)
{
    const struct cp_profile *p = e->p;
    size_t n = cp_profile_n_strings(p);
    size_t fill = 0;
    if (e->buf_cap < (256u << 10)) {
        void *b = e->buf;
        if (ensure(&b, &e->buf_cap, 256u << 10, 1) < 0)
            return -ENOMEM;
        e->buf = b;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = cp_profile_stringn(p, (int64_t)i, &len);
        if (fill + 11 + len > e->buf_cap) {
            int rc = emit(e, e->buf, fill);
            if (rc < 0)
                return rc;
            fill = 0;
            if (11 + len > e->buf_cap) {
                /* a huge string: header from buf, body straight through */
                e->buf[0] = 6 << 3 | 2;
                int h = 1 + put_varint(e->buf + 1, len);
                if ((rc = emit(e, e->buf, (size_t)h)) < 0 ||
                    (rc = emit(e, s, len)) < 0)
                    return rc;
                continue;
            }
        }
        e->buf[fill++] = 6 << 3 | 2;
        fill += (size_t)put_varint(e->buf + fill, len);
        memcpy(e->buf + fill, s, len);
        fill += len;
    }
    return fill ? emit(e, e->buf, fill) : 0;
}

static int enc_tail(struct enc *e)
{
    const struct cp_profile *p = e->p;
    PbProfile m = profile_init;
    PbValueType pt = value_type_init;
    m.drop_frames = p->drop_frames;
    m.keep_frames = p->keep_frames;
    m.time_nanos = p->time_nanos;
    m.duration_nanos = p->duration_nanos;
    if (p->period_type.type || p->period_type.unit) {
        pt.type = p->period_type.type;
        pt.unit = p->period_type.unit;
        m.period_type = &pt;
    }
    m.period = p->period;
    if (p->n_comments && !p->comments)
        return -EINVAL;
    m.n_comment = p->n_comments;
    m.comment = p->comments;
    m.default_sample_type = p->default_sample_type;
    return emit_profile(e, &m);
}

static void enc_free(struct enc *e)
{
    free(e->buf);
    free(e->msgs);
    free(e->ptrs);
    free(e->sub);
    free(e->subptrs);
    free(e->unk);
    free(e->unkbytes);
}

int cp_profile_encode(const struct cp_profile *p, int gzip,
                      struct cp_dynbuf *out)
{
    struct enc e;
    memset(&e, 0, sizeof(e));
    e.p = p;
    e.out = out;
    e.gzip = gzip != 0;
    size_t start = out->len;
    int rc;
    if (!p->strtab)
        return -EINVAL;
    if (e.gzip && (rc = cp_gzw_new(&e.gz, out, Z_DEFAULT_COMPRESSION)) < 0)
        return rc;
    if ((rc = enc_sample_types(&e)) < 0 || (rc = enc_samples(&e)) < 0 ||
        (rc = enc_mappings(&e)) < 0 || (rc = enc_locations(&e)) < 0 ||
        (rc = enc_functions(&e)) < 0 || (rc = enc_strings(&e)) < 0 ||
        (rc = enc_tail(&e)) < 0) {
        if (e.gzip)
            cp_gzw_abort(&e.gz);
        goto out;
    }
    if (e.gzip)
        rc = cp_gzw_finish(&e.gz);
out:
    enc_free(&e);
    if (rc < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

/* ---- whole-or-nothing files ------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
    const char *d = data;
    while (len) {
        size_t piece = len > (1u << 30) ? (1u << 30) : len;
        ssize_t w = write(fd, d, piece);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        d += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Six characters that make the temporary name unique enough; O_EXCL makes
 * it safe, a retry makes it certain. */
static void temp_suffix(char *out6)
{
    static _Atomic uint64_t counter;
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
                 (uint64_t)getpid() << 40 ^
                 atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull ^
                 (uint64_t)(uintptr_t)out6;
    /* splitmix64 finalizer */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    for (int i = 0; i < 6; i++) {
        out6[i] = alnum[x % 62];
        x /= 62;
    }
}

/* Write into an existing non-regular file (a FIFO, a tty, /dev/stdout):
 * there is nothing to rename, so the bytes go straight in. */
static int write_direct(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, data, len);
    if (close(fd) < 0 && rc == 0 && errno != EINTR)
        rc = -errno;
    return rc;
}

static int write_atomic(const char *path, const void *data, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* keeps '/' */
    size_t baselen = strlen(base);
    if (baselen == 0)
        return -EISDIR;
    /* ".NAME.XXXXXX": keep it under NAME_MAX (255) for long names */
    if (baselen > 200)
        baselen = 200;
    char *tmp = malloc(dirlen + baselen + 10);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, dirlen);
    char *t = tmp + dirlen;
    *t++ = '.';
    memcpy(t, base, baselen);
    t += baselen;
    *t++ = '.';
    char *suffix = t;
    t[6] = '\0';

    int fd = -1, rc;
    for (int tries = 0; tries < 100; tries++) {
        temp_suffix(suffix);
        /* 0666 and the process umask: what fopen(path, "w") would give */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        return rc;
    }
    rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) < 0 && errno != EINVAL && errno != ENOTSUP)
        rc = -errno; /* EINVAL/ENOTSUP: a file system without fsync */
    if (close(fd) < 0 && rc == 0 && errno != EINTR)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
    } else {
        /* make the rename itself durable; best effort */
        char *dir = strndup(path, dirlen ? dirlen : 0);
        int dfd =
            dir ? open(dirlen ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                : -1;
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(tmp);
    return rc;
}

int cp_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || !*path)
        return -EINVAL;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return -EISDIR;
        if (S_ISLNK(st.st_mode)) {
            /* Write through the link as fopen would, keeping the link:
             * replace its target atomically when that is a regular file. */
            struct stat tst;
            if (stat(path, &tst) == 0 && S_ISREG(tst.st_mode)) {
                char *real = realpath(path, NULL);
                if (!real)
                    return -errno;
                int rc = write_atomic(real, data, len);
                free(real);
                return rc;
            }
            if (stat(path, &tst) == 0 && S_ISDIR(tst.st_mode))
                return -EISDIR;
            return write_direct(path, data, len);
        }
        if (!S_ISREG(st.st_mode))
            return write_direct(path, data, len);
    }
    return write_atomic(path, data, len);
}

int cp_profile_write_file(const struct cp_profile *p, const char *path)
{
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, SIZE_MAX);
    int rc = cp_profile_encode(p, 1, &b);
    if (rc == 0)
        rc = cp_write_file_atomic(path, b.data ? b.data : "", b.len);
    cp_dynbuf_free(&b);
    return rc;
}
