/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_codec.c - profile.proto encode/decode, gzip, whole-file writes.
 *
 * Round trips a profile that uses every field of profile.proto; checks the
 * encoding against an independent reader (protobuf-c's unpack) and the
 * decoder against protobuf-c's pack with arbitrary ids; reads Go's own
 * profiles (tests/data, written by runtime/pprof); and feeds the decoder
 * truncated, bit-flipped, inconsistent and oversized input, asserting the
 * error and its sentence. The atomic writer must leave either the whole
 * file or nothing, never a temporary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "profile.pb-c.h"
#include "profile/codec.h"
#include "profile/profile.h"
#include "profile/profile_int.h"

#define MAXD ((size_t)64 << 20)

/* ---- helpers ------------------------------------------------------------ */

static const char *data_path(const char *name)
{
    static char buf[4096];
    const char *src = getenv("CPROF_SRC");
    snprintf(buf, sizeof(buf), "%s/tests/data/%s", src ? src : "../..", name);
    return buf;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct cp_dynbuf b;
    cp_dynbuf_init(&b, SIZE_MAX);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (cp_dynbuf_add(&b, tmp, n) < 0)
            break;
    fclose(f);
    return cp_dynbuf_take(&b, len);
}

static int64_t S(struct cp_profile *p, const char *s)
{
    int64_t i = cp_profile_str(p, s);
    assert_true(i >= 0);
    return i;
}

/* Every field of profile.proto set to something that is not its default. */
static void build_rich(struct cp_profile *p)
{
    assert_int_equal(cp_profile_init(p), 0);
    assert_int_equal(cp_profile_add_sample_type(p, "samples", "count"), 0);
    assert_int_equal(cp_profile_add_sample_type(p, "cpu", "nanoseconds"), 1);
    p->period_type.type = S(p, "cpu");
    p->period_type.unit = S(p, "nanoseconds");
    p->period = 10000000;
    p->time_nanos = 1764098765123456789LL;
    p->duration_nanos = 2500000000LL;
    p->drop_frames = S(p, "^runtime\\..*");
    p->keep_frames = S(p, "^main\\.keep$");
    p->default_sample_type = S(p, "cpu");
    assert_int_equal(cp_profile_add_comment(p, "source: perf_event task-clock"),
                     0);
    assert_int_equal(cp_profile_add_comment(p, "dropped 3 samples"), 0);

    struct cp_mapping *m = cp_profile_add_mapping(p);
    m->memory_start = 0x555555554000;
    m->memory_limit = 0x555555600000;
    m->file_offset = 0x1000;
    m->filename = S(p, "/usr/bin/prog");
    m->build_id = S(p, "0123456789abcdef0123456789abcdef01234567");
    m->has_functions = m->has_filenames = m->has_line_numbers =
        m->has_inline_frames = true;
    m = cp_profile_add_mapping(p);
    m->memory_start = 0x7ffff7d00000;
    m->memory_limit = 0x7ffff7e80000;
    m->filename = S(p, "/lib/x86_64-linux-gnu/libc.so.6");
    m->build_id = S(p, "deadbeef");
    m->has_functions = true;

    const char *names[] = {"main", "work", "inlined_helper", "memcpy"};
    for (int i = 0; i < 4; i++) {
        struct cp_function *f = cp_profile_add_function(p);
        f->name = S(p, names[i]);
        char sys[64];
        snprintf(sys, sizeof(sys), "_Z%d%s", (int)strlen(names[i]), names[i]);
        f->system_name = S(p, sys);
        f->filename = S(p, i == 3 ? "string/memcpy.S" : "src/prog.c");
        f->start_line = 10 * (i + 1);
    }
    struct cp_location *l = cp_profile_add_location(p, 1); /* 1: main */
    l->mapping_id = 1;
    l->address = 0x555555555123;
    l->lines[0] = (struct cp_line){.function_id = 1, .line = 12, .column = 0};
    l = cp_profile_add_location(p, 2); /* 2: work + inlined helper */
    l->mapping_id = 1;
    l->address = 0x555555555456;
    l->lines[0] = (struct cp_line){.function_id = 3, .line = 33, .column = 7};
    l->lines[1] = (struct cp_line){.function_id = 2, .line = 25, .column = 300};
    l = cp_profile_add_location(p, 1); /* 3: memcpy, folded */
    l->mapping_id = 2;
    l->address = 0x7ffff7d12345;
    l->is_folded = true;
    l->lines[0] = (struct cp_line){.function_id = 4, .line = -1};
    l = cp_profile_add_location(p, 0); /* 4: address only, no mapping */
    l->address = 0xffffffffff600000ULL;

    struct cp_sample *s = cp_profile_add_sample(p, 3, 3);
    s->location_ids[0] = 3;
    s->location_ids[1] = 2;
    s->location_ids[2] = 1;
    s->values[0] = 7;
    s->values[1] = 70000000;
    s->labels[0] =
        (struct cp_label){.key = S(p, "thread_name"), .str = S(p, "worker-1")};
    s->labels[1] = (struct cp_label){.key = S(p, "thread"), .num = 4242};
    s->labels[2] = (struct cp_label){
        .key = S(p, "bytes"), .num = -5, .num_unit = S(p, "bytes")};
    s = cp_profile_add_sample(p, 2, 0);
    s->location_ids[0] = 4;
    s->location_ids[1] = 1;
    s->values[0] = 1;
    s->values[1] = INT64_MIN; /* negative values survive (diff profiles) */
    s = cp_profile_add_sample(p, 0, 1); /* no stack at all */
    s->values[0] = 0;
    s->values[1] = INT64_MAX;
    s->labels[0] = (struct cp_label){.key = S(p, "cpu"), .num = 1};
    /* a string with a NUL byte, referenced by a comment */
    int64_t nul = cp_profile_strn(p, "a\0b", 3);
    assert_true(nul > 0);
}

static void assert_str_same(const struct cp_profile *a, int64_t ia,
                            const struct cp_profile *b, int64_t ib)
{
    size_t la, lb;
    const char *sa = cp_profile_stringn(a, ia, &la);
    const char *sb = cp_profile_stringn(b, ib, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
}

/* Field-by-field equality, strings by content. */
static void assert_profile_equal(const struct cp_profile *a,
                                 const struct cp_profile *b)
{
    assert_int_equal(a->n_sample_types, b->n_sample_types);
    for (size_t i = 0; i < a->n_sample_types; i++) {
        assert_str_same(a, a->sample_types[i].type, b, b->sample_types[i].type);
        assert_str_same(a, a->sample_types[i].unit, b, b->sample_types[i].unit);
    }
    assert_int_equal(a->n_samples, b->n_samples);
    for (size_t i = 0; i < a->n_samples; i++) {
        const struct cp_sample *x = &a->samples[i], *y = &b->samples[i];
        assert_int_equal(x->n_locations, y->n_locations);
        for (size_t j = 0; j < x->n_locations; j++)
            assert_int_equal(x->location_ids[j], y->location_ids[j]);
        for (size_t j = 0; j < a->n_sample_types; j++)
            assert_int_equal(x->values[j], y->values[j]);
        assert_int_equal(x->n_labels, y->n_labels);
        for (size_t j = 0; j < x->n_labels; j++) {
            assert_str_same(a, x->labels[j].key, b, y->labels[j].key);
            assert_str_same(a, x->labels[j].str, b, y->labels[j].str);
            assert_int_equal(x->labels[j].num, y->labels[j].num);
            assert_str_same(a, x->labels[j].num_unit, b, y->labels[j].num_unit);
        }
    }
    assert_int_equal(a->n_mappings, b->n_mappings);
    for (size_t i = 0; i < a->n_mappings; i++) {
        const struct cp_mapping *x = &a->mappings[i], *y = &b->mappings[i];
        assert_int_equal(x->id, y->id);
        assert_int_equal(x->id, i + 1);
        assert_int_equal(x->memory_start, y->memory_start);
        assert_int_equal(x->memory_limit, y->memory_limit);
        assert_int_equal(x->file_offset, y->file_offset);
        assert_str_same(a, x->filename, b, y->filename);
        assert_str_same(a, x->build_id, b, y->build_id);
        assert_int_equal(x->has_functions, y->has_functions);
        assert_int_equal(x->has_filenames, y->has_filenames);
        assert_int_equal(x->has_line_numbers, y->has_line_numbers);
        assert_int_equal(x->has_inline_frames, y->has_inline_frames);
    }
    assert_int_equal(a->n_locations, b->n_locations);
    for (size_t i = 0; i < a->n_locations; i++) {
        const struct cp_location *x = &a->locations[i], *y = &b->locations[i];
        assert_int_equal(y->id, i + 1);
        assert_int_equal(x->mapping_id, y->mapping_id);
        assert_int_equal(x->address, y->address);
        assert_int_equal(x->is_folded, y->is_folded);
        assert_int_equal(x->n_lines, y->n_lines);
        for (size_t j = 0; j < x->n_lines; j++) {
            assert_int_equal(x->lines[j].function_id, y->lines[j].function_id);
            assert_int_equal(x->lines[j].line, y->lines[j].line);
            assert_int_equal(x->lines[j].column, y->lines[j].column);
        }
    }
    assert_int_equal(a->n_functions, b->n_functions);
    for (size_t i = 0; i < a->n_functions; i++) {
        const struct cp_function *x = &a->functions[i], *y = &b->functions[i];
        assert_int_equal(y->id, i + 1);
        assert_str_same(a, x->name, b, y->name);
        assert_str_same(a, x->system_name, b, y->system_name);
        assert_str_same(a, x->filename, b, y->filename);
        assert_int_equal(x->start_line, y->start_line);
    }
    assert_str_same(a, a->drop_frames, b, b->drop_frames);
    assert_str_same(a, a->keep_frames, b, b->keep_frames);
    assert_int_equal(a->time_nanos, b->time_nanos);
    assert_int_equal(a->duration_nanos, b->duration_nanos);
    assert_str_same(a, a->period_type.type, b, b->period_type.type);
    assert_str_same(a, a->period_type.unit, b, b->period_type.unit);
    assert_int_equal(a->period, b->period);
    assert_int_equal(a->n_comments, b->n_comments);
    for (size_t i = 0; i < a->n_comments; i++)
        assert_str_same(a, a->comments[i], b, b->comments[i]);
    assert_str_same(a, a->default_sample_type, b, b->default_sample_type);
    /* the string tables themselves, entry by entry */
    assert_int_equal(cp_profile_n_strings(a), cp_profile_n_strings(b));
    for (size_t i = 0; i < cp_profile_n_strings(a); i++)
        assert_str_same(a, (int64_t)i, b, (int64_t)i);
}

/* Every reference in a decoded profile points inside it. */
static void assert_consistent(const struct cp_profile *p)
{
    size_t ns = cp_profile_n_strings(p);
    assert_true(ns >= 1);
    assert_string_equal(cp_profile_string(p, 0), "");
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct cp_sample *s = &p->samples[i];
        for (size_t j = 0; j < s->n_locations; j++)
            assert_non_null(cp_profile_location(p, s->location_ids[j]));
        for (size_t j = 0; j < s->n_labels; j++) {
            assert_true((uint64_t)s->labels[j].key < ns);
            assert_true((uint64_t)s->labels[j].str < ns);
            assert_true((uint64_t)s->labels[j].num_unit < ns);
        }
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        assert_int_equal(l->id, i + 1);
        assert_true(l->mapping_id <= p->n_mappings);
        for (size_t j = 0; j < l->n_lines; j++)
            assert_non_null(cp_profile_function(p, l->lines[j].function_id));
    }
    for (size_t i = 0; i < p->n_functions; i++) {
        assert_int_equal(p->functions[i].id, i + 1);
        assert_true((uint64_t)p->functions[i].name < ns);
        assert_true((uint64_t)p->functions[i].filename < ns);
    }
    for (size_t i = 0; i < p->n_mappings; i++)
        assert_int_equal(p->mappings[i].id, i + 1);
}

static int decode_buf(const void *d, size_t n, size_t max, struct cp_profile *p,
                      char *err, size_t errlen)
{
    return cp_profile_decode(d, n, max, p, err, errlen);
}

static void encode_rich(int gzip, struct cp_dynbuf *out)
{
    struct cp_profile p;
    build_rich(&p);
    cp_dynbuf_init(out, SIZE_MAX);
    assert_int_equal(cp_profile_encode(&p, gzip, out), 0);
    cp_profile_free(&p);
}

/* ---- round trips --------------------------------------------------------- */

static void test_roundtrip(void **state)
{
    (void)state;
    for (int gz = 0; gz <= 1; gz++) {
        struct cp_profile a, b;
        struct cp_dynbuf buf;
        char err[256];
        build_rich(&a);
        cp_dynbuf_init(&buf, SIZE_MAX);
        assert_int_equal(cp_profile_encode(&a, gz, &buf), 0);
        assert_int_equal(cp_is_gzip(buf.data, buf.len), gz);
        int rc = decode_buf(buf.data, buf.len, MAXD, &b, err, sizeof(err));
        if (rc)
            fail_msg("decode: %s", err);
        assert_profile_equal(&a, &b);
        assert_consistent(&b);
        /* encoding the decoded profile gives the same bytes */
        struct cp_dynbuf buf2;
        cp_dynbuf_init(&buf2, SIZE_MAX);
        assert_int_equal(cp_profile_encode(&b, gz, &buf2), 0);
        assert_int_equal(buf.len, buf2.len);
        assert_memory_equal(buf.data, buf2.data, buf.len);
        /* an interned lookup into the decoded table finds the old index */
        assert_int_equal(cp_profile_str(&b, "worker-1"),
                         cp_profile_str(&a, "worker-1"));
        cp_dynbuf_free(&buf2);
        cp_dynbuf_free(&buf);
        cp_profile_free(&a);
        cp_profile_free(&b);
    }
}

static void test_encode_appends_and_limit(void **state)
{
    (void)state;
    struct cp_profile p;
    struct cp_dynbuf b;
    build_rich(&p);
    cp_dynbuf_init(&b, SIZE_MAX);
    assert_int_equal(cp_dynbuf_addstr(&b, "HDR"), 0);
    assert_int_equal(cp_profile_encode(&p, 0, &b), 0);
    assert_memory_equal(b.data, "HDR", 3);
    size_t full = b.len - 3;
    cp_dynbuf_free(&b);
    /* too small a limit: -E2BIG and the buffer is as before */
    cp_dynbuf_init(&b, full / 2);
    assert_int_equal(cp_dynbuf_addstr(&b, "x"), 0);
    assert_int_equal(cp_profile_encode(&p, 0, &b), -E2BIG);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");
    /* the same through gzip */
    assert_int_equal(cp_profile_encode(&p, 1, &b), -E2BIG);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");
    cp_dynbuf_free(&b);
    /* a limit that fits exactly works */
    cp_dynbuf_init(&b, SIZE_MAX);
    assert_int_equal(cp_profile_encode(&p, 1, &b), 0);
    size_t gzlen = b.len;
    cp_dynbuf_free(&b);
    cp_dynbuf_init(&b, gzlen);
    assert_int_equal(cp_profile_encode(&p, 1, &b), 0);
    assert_int_equal(b.len, gzlen);
    cp_dynbuf_free(&b);
    cp_profile_free(&p);
}

/* The encoding read by an independent decoder: protobuf-c's unpack. */
static void test_encoding_read_by_protobuf_c(void **state)
{
    (void)state;
    struct cp_dynbuf buf;
    encode_rich(0, &buf);
    Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(
        NULL, buf.len, (const uint8_t *)buf.data);
    assert_non_null(m);
    assert_int_equal(m->n_sample_type, 2);
    assert_string_equal(m->string_table[m->sample_type[1]->type], "cpu");
    assert_int_equal(m->n_sample, 3);
    assert_int_equal(m->sample[0]->n_location_id, 3);
    assert_int_equal(m->sample[0]->location_id[0], 3);
    assert_int_equal(m->sample[0]->value[1], 70000000);
    assert_int_equal(m->sample[0]->n_label, 3);
    assert_int_equal(m->sample[0]->label[1]->num, 4242);
    assert_string_equal(m->string_table[m->sample[0]->label[2]->num_unit],
                        "bytes");
    assert_int_equal(m->sample[1]->value[1], INT64_MIN);
    assert_int_equal(m->n_mapping, 2);
    assert_string_equal(m->string_table[m->mapping[0]->build_id],
                        "0123456789abcdef0123456789abcdef01234567");
    assert_true(m->mapping[0]->has_inline_frames);
    assert_int_equal(m->n_location, 4);
    assert_int_equal(m->location[1]->n_line, 2);
    assert_int_equal(m->location[1]->line[0]->function_id, 3);
    assert_int_equal(m->location[1]->line[1]->line, 25);
    /* column travels as field 3 of Line, unknown to Debian's proto */
    assert_int_equal(m->location[1]->line[1]->base.n_unknown_fields, 1);
    assert_int_equal(m->location[1]->line[1]->base.unknown_fields[0].tag, 3);
    assert_int_equal(m->location[1]->line[1]->base.unknown_fields[0].len, 2);
    assert_true(m->location[2]->is_folded);
    assert_int_equal(m->location[3]->mapping_id, 0);
    assert_int_equal(m->n_function, 4);
    assert_string_equal(m->string_table[m->function[2]->name],
                        "inlined_helper");
    assert_int_equal(m->function[3]->start_line, 40);
    assert_int_equal(m->time_nanos, 1764098765123456789LL);
    assert_int_equal(m->duration_nanos, 2500000000LL);
    assert_int_equal(m->period, 10000000);
    assert_string_equal(m->string_table[m->period_type->unit], "nanoseconds");
    assert_int_equal(m->n_comment, 2);
    assert_string_equal(m->string_table[m->comment[1]], "dropped 3 samples");
    assert_string_equal(m->string_table[m->default_sample_type], "cpu");
    assert_string_equal(m->string_table[0], "");
    perftools__profiles__profile__free_unpacked(m, NULL);
    cp_dynbuf_free(&buf);
}

/* protobuf-c writes a profile with arbitrary, sparse ids (as Go and other
 * producers do); the decoder renumbers densely and keeps references. */
static void test_decode_sparse_ids_from_protobuf_c(void **state)
{
    (void)state;
    char *strings[] = {"", "samples", "count", "f_a", "f_b", "/bin/x"};
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    st.type = 1;
    st.unit = 2;
    Perftools__Profiles__ValueType *stp[] = {&st};
    Perftools__Profiles__Mapping mp = PERFTOOLS__PROFILES__MAPPING__INIT;
    mp.id = 0xdeadbeef00ULL; /* huge: exercises the hashed id map */
    mp.filename = 5;
    Perftools__Profiles__Mapping *mpp[] = {&mp};
    Perftools__Profiles__Function fa = PERFTOOLS__PROFILES__FUNCTION__INIT,
                                  fb = PERFTOOLS__PROFILES__FUNCTION__INIT;
    fa.id = 7;
    fa.name = 3;
    fb.id = 3;
    fb.name = 4;
    Perftools__Profiles__Function *fp[] = {&fa, &fb};
    Perftools__Profiles__Line la = PERFTOOLS__PROFILES__LINE__INIT,
                              lb = PERFTOOLS__PROFILES__LINE__INIT;
    la.function_id = 7;
    la.line = 1;
    lb.function_id = 3;
    lb.line = 2;
    Perftools__Profiles__Line *lap[] = {&la}, *lbp[] = {&lb};
    Perftools__Profiles__Location l1 = PERFTOOLS__PROFILES__LOCATION__INIT,
                                  l2 = PERFTOOLS__PROFILES__LOCATION__INIT;
    l1.id = 1000;
    l1.mapping_id = 0xdeadbeef00ULL;
    l1.n_line = 1;
    l1.line = lap;
    l2.id = 10;
    l2.mapping_id = 99; /* unknown mapping: dropped, as pprof does */
    l2.n_line = 1;
    l2.line = lbp;
    Perftools__Profiles__Location *lp[] = {&l1, &l2};
    uint64_t locs[] = {10, 1000, 10};
    int64_t vals[] = {42};
    Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
    s.n_location_id = 3;
    s.location_id = locs;
    s.n_value = 1;
    s.value = vals;
    Perftools__Profiles__Sample *sp[] = {&s};
    Perftools__Profiles__Profile m = PERFTOOLS__PROFILES__PROFILE__INIT;
    m.n_sample_type = 1;
    m.sample_type = stp;
    m.n_sample = 1;
    m.sample = sp;
    m.n_mapping = 1;
    m.mapping = mpp;
    m.n_location = 2;
    m.location = lp;
    m.n_function = 2;
    m.function = fp;
    m.n_string_table = 6;
    m.string_table = strings;
    size_t n = perftools__profiles__profile__get_packed_size(&m);
    uint8_t *bytes = malloc(n);
    assert_int_equal(perftools__profiles__profile__pack(&m, bytes), n);

    struct cp_profile p;
    char err[256];
    int rc = cp_profile_decode(bytes, n, MAXD, &p, err, sizeof(err));
    if (rc)
        fail_msg("decode: %s", err);
    assert_consistent(&p);
    assert_int_equal(p.n_locations, 2);
    assert_int_equal(p.locations[0].id, 1);
    assert_int_equal(p.locations[0].mapping_id, 1);
    assert_int_equal(p.locations[1].mapping_id, 0);
    assert_int_equal(p.mappings[0].id, 1);
    /* location 1000 (first) calls f_a, location 10 (second) calls f_b */
    assert_string_equal(
        cp_profile_string(
            &p,
            cp_profile_function(&p, p.locations[0].lines[0].function_id)->name),
        "f_a");
    assert_string_equal(
        cp_profile_string(
            &p,
            cp_profile_function(&p, p.locations[1].lines[0].function_id)->name),
        "f_b");
    assert_int_equal(p.samples[0].n_locations, 3);
    assert_int_equal(p.samples[0].location_ids[0], 2);
    assert_int_equal(p.samples[0].location_ids[1], 1);
    assert_int_equal(p.samples[0].location_ids[2], 2);
    assert_int_equal(p.samples[0].values[0], 42);
    cp_profile_free(&p);
    free(bytes);
}

/* Hand-written wire bytes: unpacked repeated fields, unknown fields of
 * every wire type, fields out of order, duplicate strings. */
static void put_varint(struct cp_dynbuf *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)v | 0x80;
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    assert_int_equal(cp_dynbuf_add(b, t, (size_t)n), 0);
}
static void put_key(struct cp_dynbuf *b, unsigned field, unsigned wt)
{
    put_varint(b, (uint64_t)field << 3 | wt);
}
static void put_bytes(struct cp_dynbuf *b, unsigned field, const void *d,
                      size_t n)
{
    put_key(b, field, 2);
    put_varint(b, n);
    assert_int_equal(cp_dynbuf_add(b, d, n), 0);
}
static void put_msg(struct cp_dynbuf *b, unsigned field, struct cp_dynbuf *m)
{
    put_bytes(b, field, m->data ? m->data : "", m->len);
    cp_dynbuf_reset(m);
}
static void put_uint(struct cp_dynbuf *b, unsigned field, uint64_t v)
{
    put_key(b, field, 0);
    put_varint(b, v);
}

/* A minimal valid profile: one type, one function, one location, one
 * sample. Knobs break one thing at a time for the error tests. */
struct knobs {
    uint64_t sample_loc; /* location id the sample names */
    uint64_t line_func;  /* function id the line names */
    uint64_t loc_id2;    /* id of a second location (0: none) */
    int64_t func_name;   /* string index of the function name */
    int nvalues;         /* values in the sample */
    const char *str0;    /* string_table[0] */
    int time_twice;      /* time_nanos twice, both non-zero */
    int unpacked;        /* location ids and values as separate fields */
};

static void build_wire(struct cp_dynbuf *b, const struct knobs *k)
{
    struct cp_dynbuf m, n;
    cp_dynbuf_init(b, SIZE_MAX);
    cp_dynbuf_init(&m, SIZE_MAX);
    cp_dynbuf_init(&n, SIZE_MAX);
    /* unknown fields first, all four wire types */
    put_uint(b, 100, 5);
    put_key(b, 101, 1);
    cp_dynbuf_add(b, "12345678", 8);
    put_key(b, 102, 5);
    cp_dynbuf_add(b, "1234", 4);
    put_bytes(b, 103, "junk", 4);
    /* sample before the tables it refers to */
    if (k->unpacked) {
        put_uint(&m, 1, k->sample_loc);
        put_uint(&m, 1, k->sample_loc);
        for (int i = 0; i < k->nvalues; i++)
            put_uint(&m, 2, 5 + (uint64_t)i);
    } else {
        put_varint(&n, k->sample_loc);
        put_varint(&n, k->sample_loc);
        put_msg(&m, 1, &n);
        for (int i = 0; i < k->nvalues; i++)
            put_varint(&n, 5 + (uint64_t)i);
        put_msg(&m, 2, &n);
    }
    put_uint(&m, 99, 1); /* unknown inside a sample */
    put_msg(b, 2, &m);
    put_uint(&m, 1, 1);
    put_uint(&m, 2, 2);
    put_msg(b, 1, &m); /* sample_type after the sample */
    put_bytes(b, 6, k->str0, strlen(k->str0));
    put_bytes(b, 6, "samples", 7);
    put_bytes(b, 6, "count", 5);
    put_bytes(b, 6, "fn", 2);
    put_bytes(b, 6, "count", 5); /* duplicate string: index 4 */
    put_uint(&n, 1, k->line_func);
    put_uint(&n, 2, 17);
    put_uint(&m, 1, 555);
    put_msg(&m, 4, &n);
    put_msg(b, 4, &m);
    if (k->loc_id2) {
        put_uint(&m, 1, k->loc_id2);
        put_msg(b, 4, &m);
    }
    put_uint(&m, 1, 9);
    put_uint(&m, 2, (uint64_t)k->func_name);
    put_msg(b, 5, &m);
    put_uint(b, 9, 1000);
    if (k->time_twice)
        put_uint(b, 9, 2000);
    put_uint(b, 13, 4); /* comment, unpacked, the duplicate "count" */
    cp_dynbuf_free(&m);
    cp_dynbuf_free(&n);
}

static const struct knobs good = {.sample_loc = 555,
                                  .line_func = 9,
                                  .func_name = 3,
                                  .nvalues = 1,
                                  .str0 = ""};

static void test_decode_handwritten(void **state)
{
    (void)state;
    for (int unpacked = 0; unpacked <= 1; unpacked++) {
        struct knobs k = good;
        k.unpacked = unpacked;
        struct cp_dynbuf b;
        struct cp_profile p;
        char err[256];
        build_wire(&b, &k);
        int rc = cp_profile_decode(b.data, b.len, MAXD, &p, err, sizeof(err));
        if (rc)
            fail_msg("decode: %s", err);
        assert_consistent(&p);
        assert_int_equal(p.n_samples, 1);
        assert_int_equal(p.samples[0].n_locations, 2);
        assert_int_equal(p.samples[0].location_ids[1], 1);
        assert_int_equal(p.samples[0].values[0], 5);
        assert_int_equal(p.time_nanos, 1000);
        assert_int_equal(p.n_comments, 1);
        assert_int_equal(p.comments[0], 4);
        assert_string_equal(cp_profile_string(&p, 4), "count");
        assert_int_equal(cp_profile_n_strings(&p), 5);
        assert_int_equal(p.locations[0].lines[0].line, 17);
        assert_string_equal(cp_profile_string(&p, p.functions[0].name), "fn");
        /* duplicates keep their indexes; interning finds the first */
        assert_int_equal(cp_profile_str(&p, "count"), 2);
        cp_profile_free(&p);
        cp_dynbuf_free(&b);
    }
}

static void expect_error(const struct knobs *k, int want, const char *needle)
{
    struct cp_dynbuf b;
    struct cp_profile p;
    char err[256];
    build_wire(&b, k);
    int rc = cp_profile_decode(b.data, b.len, MAXD, &p, err, sizeof(err));
    if (rc != want || !strstr(err, needle))
        fail_msg("want %d containing '%s', got %d: %s", want, needle, rc, err);
    assert_null(strchr(err, '\n'));
    /* out is left freed */
    assert_null(p.samples);
    assert_null(p.strtab);
    cp_dynbuf_free(&b);
}

static void test_decode_bad_references(void **state)
{
    (void)state;
    struct knobs k = good;
    k.sample_loc = 556;
    expect_error(&k, -EINVAL,
                 "sample refers to location id 556, which is "
                 "not in the profile (in sample 0)");
    k = good;
    k.line_func = 8;
    expect_error(&k, -EINVAL, "function id 8 is not in the profile");
    k = good;
    k.line_func = 0;
    expect_error(&k, -EINVAL, "function id 0 is not in the profile");
    k = good;
    k.loc_id2 = 555;
    expect_error(&k, -EINVAL, "two locations have id 555");
    k = good;
    k.func_name = 5;
    expect_error(&k, -EINVAL,
                 "refers to string 5, but the string table "
                 "has 5 entries (in function 0)");
    k = good;
    k.func_name = -1;
    expect_error(&k, -EINVAL, "refers to string -1");
    k = good;
    k.nvalues = 2;
    expect_error(&k, -EINVAL,
                 "sample has 2 values but the profile has 1 "
                 "sample types");
    k = good;
    k.str0 = "x";
    expect_error(&k, -EINVAL, "string_table[0] must be \"\"");
    k = good;
    k.time_twice = 1;
    expect_error(&k, -EINVAL, "concatenated profiles detected");
    k = good;
    k.loc_id2 = 77;
    k.sample_loc = 0;
    expect_error(&k, -EINVAL, "location id 0");
}

static void test_decode_wire_errors(void **state)
{
    (void)state;
    struct cp_profile p;
    char err[256];
    /* empty */
    assert_int_equal(cp_profile_decode("", 0, MAXD, &p, err, sizeof(err)),
                     -ENODATA);
    assert_string_equal(err, "empty profile: the input has no data");
    /* group wire types are not in profile.proto: rejected, like pprof */
    static const uint8_t group[] = {0x0b, 0x0c};
    assert_int_equal(cp_profile_decode(group, 2, MAXD, &p, err, sizeof(err)),
                     -EBADMSG);
    assert_string_equal(err, "not a profile: unsupported protobuf wire type "
                             "3 at byte 0");
    /* a varint of 11 bytes */
    static const uint8_t longv[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(
        cp_profile_decode(longv, sizeof(longv), MAXD, &p, err, sizeof(err)),
        -EBADMSG);
    assert_string_equal(err, "not a profile: varint longer than 10 bytes at "
                             "byte 1");
    /* a sample (field 2) as a varint: type mismatch */
    static const uint8_t mism[] = {0x10, 0x01};
    assert_int_equal(cp_profile_decode(mism, 2, MAXD, &p, err, sizeof(err)),
                     -EBADMSG);
    assert_string_equal(err, "not a profile: sample at byte 0 has wire type "
                             "0, expected 2");
    /* text is not a profile (legacy formats are the caller's business) */
    const char *txt = "heap profile: 1: 2 [3: 4] @ heap/1048576\n";
    int rc = cp_profile_decode(txt, strlen(txt), MAXD, &p, err, sizeof(err));
    assert_true(rc == -EBADMSG || rc == -EINVAL);
    /* a protobuf without a string table */
    static const uint8_t nostr[] = {0x48, 0x01};
    assert_int_equal(cp_profile_decode(nostr, 2, MAXD, &p, err, sizeof(err)),
                     -EBADMSG);
    assert_non_null(strstr(err, "no string table"));
    /* err may be NULL */
    assert_int_equal(cp_profile_decode(nostr, 2, MAXD, &p, NULL, 0), -EBADMSG);
}

/* Every prefix of an encoding: an error or (cut at a field boundary) a
 * consistent profile; never a crash. Cuts inside a field say "truncated". */
static void test_decode_truncated(void **state)
{
    (void)state;
    struct cp_dynbuf buf;
    encode_rich(0, &buf);
    char err[256];
    int truncated = 0;
    for (size_t n = 0; n < buf.len; n++) {
        struct cp_profile p;
        /* copy so ASan sees reads past the cut */
        char *cut = malloc(n ? n : 1);
        memcpy(cut, buf.data, n);
        int rc = cp_profile_decode(cut, n, MAXD, &p, err, sizeof(err));
        if (rc == 0) {
            assert_consistent(&p);
            cp_profile_free(&p);
        } else {
            assert_true(rc == -EBADMSG || rc == -EINVAL || rc == -ENODATA);
            assert_true(strlen(err) > 10);
            truncated += strstr(err, "truncated protobuf at byte") != NULL;
        }
        free(cut);
    }
    assert_true(truncated > (int)buf.len / 2);
    /* the exact sentence for a cut in the middle of the first sample */
    struct cp_profile p;
    Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(
        NULL, buf.len, (const uint8_t *)buf.data);
    assert_non_null(m);
    perftools__profiles__profile__free_unpacked(m, NULL);
    size_t cut = 20;
    assert_int_equal(
        cp_profile_decode(buf.data, cut, MAXD, &p, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "not a profile: truncated protobuf at byte 20");
    cp_dynbuf_free(&buf);

    /* gzip'd and cut */
    encode_rich(1, &buf);
    assert_int_equal(
        cp_profile_decode(buf.data, buf.len - 5, MAXD, &p, err, sizeof(err)),
        -EBADMSG);
    assert_non_null(strstr(err, "gzip data is truncated"));
    cp_dynbuf_free(&buf);
}

static void test_decode_bitflips(void **state)
{
    (void)state;
    struct cp_dynbuf buf;
    encode_rich(0, &buf);
    int ok = 0, bad = 0;
    for (size_t i = 0; i < buf.len * 8; i++) {
        char *d = malloc(buf.len);
        memcpy(d, buf.data, buf.len);
        d[i / 8] ^= (char)(1 << (i % 8));
        struct cp_profile p;
        char err[256];
        if (cp_profile_decode(d, buf.len, MAXD, &p, err, sizeof(err)) == 0) {
            assert_consistent(&p);
            cp_profile_free(&p);
            ok++;
        } else {
            assert_null(p.strtab);
            bad++;
        }
        free(d);
    }
    /* many flips only change a value; many break structure */
    assert_true(ok > 0 && bad > 0);
    cp_dynbuf_free(&buf);
}

/* ---- gzip ---------------------------------------------------------------- */

static void gz(const void *d, size_t n, struct cp_dynbuf *out)
{
    cp_dynbuf_init(out, SIZE_MAX);
    assert_int_equal(cp_gzip(d, n, 9, out), 0);
}

static void test_gzip_bomb(void **state)
{
    (void)state;
    size_t big = (size_t)64 << 20;
    char *zeros = calloc(1, big);
    struct cp_dynbuf z;
    gz(zeros, big, &z);
    free(zeros);
    assert_true(z.len < 100000); /* ~1000:1 */
    struct cp_profile p;
    char err[256];
    assert_int_equal(
        cp_profile_decode(z.data, z.len, 1 << 20, &p, err, sizeof(err)),
        -E2BIG);
    assert_string_equal(err, "profile is larger than 1048576 bytes once "
                             "decompressed; raise -max_decompressed");
    /* cp_gunzip: the cap is inclusive */
    struct cp_dynbuf out;
    cp_dynbuf_init(&out, SIZE_MAX);
    assert_int_equal(cp_gunzip(z.data, z.len, big - 1, &out), -E2BIG);
    assert_int_equal(out.len, 0);
    assert_int_equal(cp_gunzip(z.data, z.len, big, &out), 0);
    assert_int_equal(out.len, big);
    cp_dynbuf_free(&out);
    /* the dynbuf's own limit caps too */
    cp_dynbuf_init(&out, 4096);
    assert_int_equal(cp_gunzip(z.data, z.len, big, &out), -E2BIG);
    cp_dynbuf_free(&out);
    cp_dynbuf_free(&z);
}

static void test_gzip_members_and_trailers(void **state)
{
    (void)state;
    struct cp_dynbuf a, b, cat, out;
    char err[256];
    gz("hello ", 6, &a);
    gz("world", 5, &b);
    cp_dynbuf_init(&cat, SIZE_MAX);
    cp_dynbuf_add(&cat, a.data, a.len);
    cp_dynbuf_add(&cat, b.data, b.len);
    cp_dynbuf_init(&out, SIZE_MAX);
    assert_int_equal(cp_gunzip(cat.data, cat.len, 100, &out), 0);
    assert_string_equal(out.data, "hello world");
    cp_dynbuf_reset(&out);
    /* NUL padding after the last member is accepted, as gzip(1) does */
    cp_dynbuf_add(&cat, "\0\0\0\0", 4);
    assert_int_equal(cp_gunzip(cat.data, cat.len, 100, &out), 0);
    assert_string_equal(out.data, "hello world");
    cp_dynbuf_reset(&out);
    /* anything else is garbage */
    cp_dynbuf_add(&cat, "x", 1);
    assert_int_equal(
        cp_gunzip_err(cat.data, cat.len, 100, &out, err, sizeof(err)),
        -EBADMSG);
    assert_non_null(strstr(err, "unexpected data after the gzip stream"));
    assert_int_equal(out.len, 0);
    /* corrupt deflate data */
    memcpy(cat.data, a.data, a.len);
    cat.data[12] ^= 0x55;
    int rc = cp_gunzip_err(cat.data, a.len, 100, &out, err, sizeof(err));
    assert_int_equal(rc, -EBADMSG);
    assert_true(strstr(err, "corrupt gzip data") || strstr(err, "truncated"));
    assert_int_equal(cp_is_gzip("\x1f\x8b", 2), 1);
    assert_int_equal(cp_is_gzip("\x1f", 1), 0);
    assert_int_equal(cp_is_gzip("PK", 2), 0);
    /* an empty gzip stream decodes to an empty profile: ENODATA */
    struct cp_dynbuf e;
    gz("", 0, &e);
    struct cp_profile p;
    assert_int_equal(
        cp_profile_decode(e.data, e.len, MAXD, &p, err, sizeof(err)), -ENODATA);
    cp_dynbuf_free(&e);
    cp_dynbuf_free(&a);
    cp_dynbuf_free(&b);
    cp_dynbuf_free(&cat);
    cp_dynbuf_free(&out);
}

/* ---- Go's own profiles ----------------------------------------------------
 */

static int has_function(const struct cp_profile *p, const char *name)
{
    for (size_t i = 0; i < p->n_functions; i++)
        if (strcmp(cp_profile_string(p, p->functions[i].name), name) == 0)
            return 1;
    return 0;
}

static int64_t total(const struct cp_profile *p, int idx)
{
    int64_t t = 0;
    for (size_t i = 0; i < p->n_samples; i++)
        t += p->samples[i].values[idx];
    return t;
}

static void check_against_protobuf_c(const void *gzdata, size_t gzlen,
                                     const struct cp_profile *p)
{
    struct cp_dynbuf raw;
    cp_dynbuf_init(&raw, SIZE_MAX);
    assert_int_equal(cp_gunzip(gzdata, gzlen, MAXD, &raw), 0);
    Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(
        NULL, raw.len, (const uint8_t *)raw.data);
    assert_non_null(m);
    assert_int_equal(m->n_sample, p->n_samples);
    assert_int_equal(m->n_location, p->n_locations);
    assert_int_equal(m->n_function, p->n_functions);
    assert_int_equal(m->n_mapping, p->n_mappings);
    assert_int_equal(m->n_string_table, cp_profile_n_strings(p));
    for (size_t i = 0; i < m->n_sample; i++) {
        assert_int_equal(m->sample[i]->n_location_id,
                         p->samples[i].n_locations);
        assert_int_equal(m->sample[i]->n_label, p->samples[i].n_labels);
        for (size_t j = 0; j < m->sample[i]->n_value; j++)
            assert_int_equal(m->sample[i]->value[j], p->samples[i].values[j]);
        /* the leaf's address survives renumbering */
        if (m->sample[i]->n_location_id) {
            uint64_t fid = m->sample[i]->location_id[0];
            uint64_t addr = 0;
            for (size_t k = 0; k < m->n_location; k++)
                if (m->location[k]->id == fid)
                    addr = m->location[k]->address;
            assert_int_equal(
                cp_profile_location(p, p->samples[i].location_ids[0])->address,
                addr);
        }
    }
    perftools__profiles__profile__free_unpacked(m, NULL);
    cp_dynbuf_free(&raw);
}

static void test_decode_go_cpu(void **state)
{
    (void)state;
    size_t len;
    char *d = read_file(data_path("go-cpu.prof"), &len);
    assert_non_null(d);
    struct cp_profile p;
    char err[256];
    int rc = cp_profile_decode(d, len, MAXD, &p, err, sizeof(err));
    if (rc)
        fail_msg("decode: %s", err);
    assert_consistent(&p);
    assert_int_equal(p.n_sample_types, 2);
    assert_int_equal(cp_profile_sample_type_index(&p, "samples"), 0);
    assert_int_equal(cp_profile_sample_type_index(&p, "cpu"), 1);
    assert_string_equal(cp_profile_string(&p, p.period_type.type), "cpu");
    assert_string_equal(cp_profile_string(&p, p.period_type.unit),
                        "nanoseconds");
    assert_int_equal(p.period, 10000000);
    assert_true(p.time_nanos > 1600000000LL * 1000000000LL);
    assert_true(p.duration_nanos > 500000000LL);
    assert_true(has_function(&p, "main.hashLoop"));
    assert_true(has_function(&p, "main.sortLoop"));
    assert_true(has_function(&p, "crypto/sha256.block"));
    assert_true(p.n_mappings >= 1);
    /* 1.5 s of work at 100 Hz, seen by the profile */
    assert_true(total(&p, 0) > 50);
    assert_int_equal(total(&p, 1), total(&p, 0) * 10000000);
    /* pprof.Do labels arrive as string labels */
    int phase = 0;
    for (size_t i = 0; i < p.n_samples; i++)
        for (size_t j = 0; j < p.samples[i].n_labels; j++)
            if (!strcmp(cp_profile_string(&p, p.samples[i].labels[j].key),
                        "phase")) {
                const char *v =
                    cp_profile_string(&p, p.samples[i].labels[j].str);
                assert_true(!strcmp(v, "hash") || !strcmp(v, "sort"));
                phase++;
            }
    assert_true(phase > 0);
    check_against_protobuf_c(d, len, &p);
    cp_profile_free(&p);
    free(d);
}

static void test_decode_go_heap(void **state)
{
    (void)state;
    size_t len;
    char *d = read_file(data_path("go-heap.prof"), &len);
    assert_non_null(d);
    struct cp_profile p;
    char err[256];
    int rc = cp_profile_decode(d, len, MAXD, &p, err, sizeof(err));
    if (rc)
        fail_msg("decode: %s", err);
    assert_consistent(&p);
    assert_int_equal(p.n_sample_types, 4);
    assert_int_equal(cp_profile_sample_type_index(&p, "alloc_objects"), 0);
    assert_int_equal(cp_profile_sample_type_index(&p, "inuse_space"), 3);
    assert_string_equal(cp_profile_string(&p, p.period_type.type), "space");
    assert_int_equal(p.period, 16384);
    assert_true(has_function(&p, "main.allocBig"));
    assert_true(has_function(&p, "main.allocSmall"));
    /* 40 x 256 KiB still held by allocBig */
    assert_true(total(&p, 3) >= 40 * (256 << 10));
    /* Go's heap samples carry a numeric "bytes" label */
    int bytes_labels = 0;
    for (size_t i = 0; i < p.n_samples; i++)
        for (size_t j = 0; j < p.samples[i].n_labels; j++)
            if (!strcmp(cp_profile_string(&p, p.samples[i].labels[j].key),
                        "bytes")) {
                assert_int_equal(p.samples[i].labels[j].str, 0);
                assert_true(p.samples[i].labels[j].num > 0);
                bytes_labels++;
            }
    assert_true(bytes_labels > 0);
    check_against_protobuf_c(d, len, &p);
    /* re-encode and re-decode: the same profile */
    struct cp_dynbuf out;
    struct cp_profile q;
    cp_dynbuf_init(&out, SIZE_MAX);
    assert_int_equal(cp_profile_encode(&p, 1, &out), 0);
    assert_int_equal(
        cp_profile_decode(out.data, out.len, MAXD, &q, err, sizeof(err)), 0);
    assert_profile_equal(&p, &q);
    cp_profile_free(&q);
    cp_dynbuf_free(&out);
    cp_profile_free(&p);
    free(d);
}

/* ---- files --------------------------------------------------------------- */

static char tmpdir[256];

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cp_test_codec.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_write_file(void **state)
{
    (void)state;
    char path[512];
    struct cp_profile a, b;
    char err[256];
    build_rich(&a);
    snprintf(path, sizeof(path), "%s/cpu.prof", tmpdir);
    mode_t old = umask(022);
    assert_int_equal(cp_profile_write_file(&a, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* umask is respected, as fopen would */
    umask(077);
    assert_int_equal(cp_profile_write_file(&a, path), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    umask(old);
    assert_int_equal(count_entries(tmpdir), 1); /* no temp left behind */
    size_t len;
    char *d = read_file(path, &len);
    assert_true(cp_is_gzip(d, len));
    assert_int_equal(cp_profile_decode(d, len, MAXD, &b, err, sizeof(err)), 0);
    assert_profile_equal(&a, &b);
    cp_profile_free(&b);
    free(d);
    /* a relative path (no directory part) */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(cp_write_file_atomic("rel.txt", "abc", 3), 0);
    assert_int_equal(chdir(cwd), 0);
    snprintf(path, sizeof(path), "%s/rel.txt", tmpdir);
    d = read_file(path, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "abc", 3);
    free(d);
    unlink(path);
    cp_profile_free(&a);
}

static void test_write_errors_leave_nothing(void **state)
{
    (void)state;
    char path[512];
    /* missing directory */
    snprintf(path, sizeof(path), "%s/no/such/dir/x.prof", tmpdir);
    assert_int_equal(cp_write_file_atomic(path, "x", 1), -ENOENT);
    /* a file where a directory should be */
    snprintf(path, sizeof(path), "%s/plain", tmpdir);
    assert_int_equal(cp_write_file_atomic(path, "x", 1), 0);
    snprintf(path, sizeof(path), "%s/plain/x.prof", tmpdir);
    assert_int_equal(cp_write_file_atomic(path, "x", 1), -ENOTDIR);
    /* a directory as the target */
    assert_int_equal(cp_write_file_atomic(tmpdir, "x", 1), -EISDIR);
    assert_int_equal(cp_write_file_atomic("", "x", 1), -EINVAL);
    /* /proc refuses new files: an unwritable directory even for root */
    int rc = cp_write_file_atomic("/proc/cprof-test.prof", "x", 1);
    assert_true(rc == -EACCES || rc == -ENOENT || rc == -EPERM);
    /* a read-only directory (permissions do not stop root: skip then) */
    if (geteuid() != 0) {
        char ro[512];
        snprintf(ro, sizeof(ro), "%s/ro", tmpdir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(path, sizeof(path), "%s/ro/x.prof", tmpdir);
        assert_int_equal(cp_write_file_atomic(path, "x", 1), -EACCES);
        assert_int_equal(count_entries(ro), 0);
        assert_int_equal(rmdir(ro), 0);
    }
    /* a failure after the temp exists (file size limit mid-write): error,
     * the old file untouched, no temp left */
    snprintf(path, sizeof(path), "%s/plain", tmpdir);
    struct rlimit old, lim = {.rlim_cur = 1000, .rlim_max = RLIM_INFINITY};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char *big = calloc(1, 5000);
    rc = cp_write_file_atomic(path, big, 5000);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    free(big);
    assert_int_equal(rc, -EFBIG);
    size_t len;
    char *d = read_file(path, &len);
    assert_int_equal(len, 1);
    assert_int_equal(d[0], 'x');
    free(d);
    assert_int_equal(count_entries(tmpdir), 1); /* just "plain" */
    unlink(path);
}

static void test_write_through_links_and_devices(void **state)
{
    (void)state;
    char path[512], link[512];
    snprintf(path, sizeof(path), "%s/target.prof", tmpdir);
    snprintf(link, sizeof(link), "%s/link.prof", tmpdir);
    assert_int_equal(cp_write_file_atomic(path, "old", 3), 0);
    assert_int_equal(symlink("target.prof", link), 0);
    assert_int_equal(cp_write_file_atomic(link, "new!", 4), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link survives */
    size_t len;
    char *d = read_file(path, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "new!", 4);
    free(d);
    /* a character device is written in place, never replaced */
    assert_int_equal(cp_write_file_atomic("/dev/null", "x", 1), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    unlink(link);
    unlink(path);
    assert_int_equal(count_entries(tmpdir), 0);
}

/* ---- scale --------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Producers that use addresses as ids (page-aligned, huge): the decoder's
 * hashed id map must stay correct and fast. The model is written with
 * such ids on purpose (the encoder writes ids as they are). */
static void test_decode_address_ids(void **state)
{
    (void)state;
    const size_t n = 50000;
    struct cp_profile a, b;
    assert_int_equal(cp_profile_init(&a), 0);
    cp_profile_add_sample_type(&a, "samples", "count");
    struct cp_function *f = cp_profile_add_function(&a);
    f->id = 0x7f0000000000ULL; /* a sparse function id too */
    f->name = S(&a, "fn");
    for (size_t i = 0; i < n; i++) {
        struct cp_location *l = cp_profile_add_location(&a, 1);
        l->address = 0x400000 + i;
        l->lines[0].function_id = 0x7f0000000000ULL;
        l->id = 0x7f0000000000ULL + (uint64_t)(n - i) * 4096; /* descending */
    }
    for (size_t i = 0; i < n; i++) {
        struct cp_sample *s = cp_profile_add_sample(&a, 2, 0);
        s->location_ids[0] = a.locations[i].id;
        s->location_ids[1] = a.locations[(i * 7) % n].id;
        s->values[0] = (int64_t)i;
    }
    struct cp_dynbuf buf;
    cp_dynbuf_init(&buf, SIZE_MAX);
    assert_int_equal(cp_profile_encode(&a, 0, &buf), 0);
    char err[256];
    double t0 = now_s();
    int rc = cp_profile_decode(buf.data, buf.len, MAXD, &b, err, sizeof(err));
    double dt = now_s() - t0;
    if (rc)
        fail_msg("decode: %s", err);
    assert_consistent(&b);
    assert_int_equal(b.n_locations, n);
    for (size_t i = 0; i < n; i += 97) {
        const struct cp_sample *s = &b.samples[i];
        assert_int_equal(s->location_ids[0], i + 1);
        assert_int_equal(s->location_ids[1], (i * 7) % n + 1);
        assert_int_equal(cp_profile_location(&b, s->location_ids[0])->address,
                         0x400000 + i);
        assert_int_equal(s->values[0], (int64_t)i);
    }
    assert_int_equal(b.locations[5].lines[0].function_id, 1);
    /* 100k hashed lookups: milliseconds, not the seconds of a bad hash */
    assert_true(dt < 2.0);
    print_message("50k address-id locations decoded in %.3f s\n", dt);
    cp_dynbuf_free(&buf);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

/* 200k samples over 20k locations with Go-like sparse ids round trip; the
 * timing is printed, the equality asserted. (bench/ has the 1M version.) */
static void test_large_roundtrip(void **state)
{
    (void)state;
    struct cp_profile a, b;
    assert_int_equal(cp_profile_init(&a), 0);
    cp_profile_add_sample_type(&a, "samples", "count");
    cp_profile_add_sample_type(&a, "cpu", "nanoseconds");
    char name[64];
    for (int i = 0; i < 5000; i++) {
        struct cp_function *f = cp_profile_add_function(&a);
        snprintf(name, sizeof(name), "pkg.func%d", i);
        f->name = S(&a, name);
        f->filename = S(&a, "pkg/file.c");
    }
    for (int i = 0; i < 20000; i++) {
        struct cp_location *l = cp_profile_add_location(&a, 1 + i % 2);
        l->address = 0x400000 + (uint64_t)i * 16;
        for (size_t j = 0; j < l->n_lines; j++) {
            l->lines[j].function_id = (uint64_t)(i + (int)j) % 5000 + 1;
            l->lines[j].line = i;
        }
    }
    uint64_t x = 1;
    for (int i = 0; i < 200000; i++) {
        struct cp_sample *s = cp_profile_add_sample(&a, 24, 1);
        for (int j = 0; j < 24; j++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            s->location_ids[j] = (x >> 33) % 20000 + 1;
        }
        s->values[0] = 1;
        s->values[1] = 10000000;
        s->labels[0].key = S(&a, "thread");
        s->labels[0].num = i % 64;
    }
    struct cp_dynbuf buf;
    cp_dynbuf_init(&buf, SIZE_MAX);
    double t0 = now_s();
    assert_int_equal(cp_profile_encode(&a, 0, &buf), 0);
    double t1 = now_s();
    char err[256];
    assert_int_equal(
        cp_profile_decode(buf.data, buf.len, MAXD, &b, err, sizeof(err)), 0);
    double t2 = now_s();
    assert_profile_equal(&a, &b);
    print_message("200k samples, %zu bytes: encode %.3f s, decode %.3f s\n",
                  buf.len, t1 - t0, t2 - t1);
    cp_dynbuf_free(&buf);
    cp_profile_free(&a);
    cp_profile_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encode_appends_and_limit),
        cmocka_unit_test(test_encoding_read_by_protobuf_c),
        cmocka_unit_test(test_decode_sparse_ids_from_protobuf_c),
        cmocka_unit_test(test_decode_handwritten),
        cmocka_unit_test(test_decode_bad_references),
        cmocka_unit_test(test_decode_wire_errors),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_bitflips),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_gzip_members_and_trailers),
        cmocka_unit_test(test_decode_go_cpu),
        cmocka_unit_test(test_decode_go_heap),
        cmocka_unit_test_setup_teardown(test_write_file, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_errors_leave_nothing,
                                        setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_through_links_and_devices,
                                        setup_tmp, teardown_tmp),
        cmocka_unit_test(test_decode_address_ids),
        cmocka_unit_test(test_large_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
