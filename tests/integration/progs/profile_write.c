/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile_write.c - writes profiles with cprof's encoder (src/profile) for
 * tests/integration/profile_pprof.py to read back with go tool pprof.
 *
 *   profile_write rich FILE   every profile.proto field: two sample types,
 *                             labels (string, numeric, numeric with unit),
 *                             inlined frames, a folded location, mappings
 *                             with build IDs, comments, drop/keep frames
 *   profile_write big N FILE  N samples over N/4 locations and N/8
 *                             functions, each with its own label (pprof
 *                             merges equal samples), so the encoder
 *                             writes many pieces (4096 records each)
 *   profile_write reencode IN OUT   decode IN (e.g. a Go profile), write OUT
 *
 * Exit 0 on success; a sentence on stderr and 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/codec.h"
#include "profile/profile.h"

static int64_t S(struct cp_profile *p, const char *s)
{
    int64_t i = cp_profile_str(p, s);
    if (i < 0) {
        fprintf(stderr, "profile_write: out of memory\n");
        exit(1);
    }
    return i;
}

static void rich(struct cp_profile *p)
{
    cp_profile_add_sample_type(p, "samples", "count");
    cp_profile_add_sample_type(p, "cpu", "nanoseconds");
    p->period_type.type = S(p, "cpu");
    p->period_type.unit = S(p, "nanoseconds");
    p->period = 10000000;
    p->time_nanos = 1764098765000000000LL;
    p->duration_nanos = 3000000000LL;
    p->drop_frames = S(p, "dropme.*");
    p->keep_frames = S(p, "keepme");
    p->default_sample_type = S(p, "cpu");
    cp_profile_add_comment(p, "cprof integration comment");

    struct cp_mapping *m = cp_profile_add_mapping(p);
    m->memory_start = 0x400000;
    m->memory_limit = 0x500000;
    m->file_offset = 0;
    m->filename = S(p, "/usr/bin/prog");
    m->build_id = S(p, "abcdef0123456789");
    m->has_functions = m->has_filenames = m->has_line_numbers =
        m->has_inline_frames = true;
    m = cp_profile_add_mapping(p);
    m->memory_start = 0x7f0000000000;
    m->memory_limit = 0x7f0000100000;
    m->file_offset = 0x2000;
    m->filename = S(p, "/lib/libc.so.6");
    m->build_id = S(p, "feedface");
    m->has_functions = true;

    static const char *const fn[] = {"main", "compute", "hot_inline", "memset"};
    static const char *const file[] = {"prog.c", "prog.c", "hot.h", "memset.S"};
    for (int i = 0; i < 4; i++) {
        struct cp_function *f = cp_profile_add_function(p);
        f->name = S(p, fn[i]);
        f->system_name = S(p, fn[i]);
        f->filename = S(p, file[i]);
        f->start_line = 100 * (i + 1);
    }
    struct cp_location *l = cp_profile_add_location(p, 1);
    l->mapping_id = 1;
    l->address = 0x401000;
    l->lines[0] = (struct cp_line){.function_id = 1, .line = 105};
    l = cp_profile_add_location(p, 2); /* hot_inline inlined into compute */
    l->mapping_id = 1;
    l->address = 0x402000;
    l->lines[0] = (struct cp_line){.function_id = 3, .line = 303, .column = 9};
    l->lines[1] = (struct cp_line){.function_id = 2, .line = 207};
    l = cp_profile_add_location(p, 1);
    l->mapping_id = 2;
    l->address = 0x7f0000001234;
    l->is_folded = true;
    l->lines[0] = (struct cp_line){.function_id = 4, .line = 44};

    struct cp_sample *s = cp_profile_add_sample(p, 2, 3);
    s->location_ids[0] = 2;
    s->location_ids[1] = 1;
    s->values[0] = 30;
    s->values[1] = 300000000;
    s->labels[0] =
        (struct cp_label){.key = S(p, "thread_name"), .str = S(p, "worker")};
    s->labels[1] = (struct cp_label){.key = S(p, "thread"), .num = 4242};
    s->labels[2] = (struct cp_label){
        .key = S(p, "alloc"), .num = 512, .num_unit = S(p, "bytes")};
    s = cp_profile_add_sample(p, 3, 0);
    s->location_ids[0] = 3;
    s->location_ids[1] = 2;
    s->location_ids[2] = 1;
    s->values[0] = 12;
    s->values[1] = 120000000;
}

static void big(struct cp_profile *p, size_t n)
{
    size_t nl = n / 4 ? n / 4 : 1, nf = n / 8 ? n / 8 : 1;
    char name[64];
    cp_profile_add_sample_type(p, "samples", "count");
    cp_profile_add_sample_type(p, "cpu", "nanoseconds");
    p->period_type = p->sample_types[1];
    p->period = 1000000;
    for (size_t i = 0; i < nf; i++) {
        struct cp_function *f = cp_profile_add_function(p);
        snprintf(name, sizeof(name), "fn%zu", i);
        f->name = S(p, name);
        f->filename = S(p, "big.c");
    }
    for (size_t i = 0; i < nl; i++) {
        struct cp_location *l = cp_profile_add_location(p, 1);
        l->address = 0x1000 + i * 16;
        l->lines[0].function_id = i % nf + 1;
        l->lines[0].line = (int64_t)i;
    }
    for (size_t i = 0; i < n; i++) {
        struct cp_sample *s = cp_profile_add_sample(p, 3, 1);
        s->location_ids[0] = i % nl + 1;
        s->location_ids[1] = (i * 7) % nl + 1;
        s->location_ids[2] = (i * 13) % nl + 1;
        s->values[0] = (int64_t)(i % 3) + 1;
        s->values[1] = s->values[0] * 1000000;
        s->labels[0] =
            (struct cp_label){.key = S(p, "thread"), .num = (int64_t)i};
    }
}

int main(int argc, char **argv)
{
    struct cp_profile p;
    int rc;
    if (argc == 4 && !strcmp(argv[1], "reencode")) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) {
            fprintf(stderr, "profile_write: %s: %s\n", argv[2],
                    strerror(errno));
            return 1;
        }
        struct cp_dynbuf b;
        char tmp[65536], err[256];
        size_t n;
        cp_dynbuf_init(&b, SIZE_MAX);
        while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
            cp_dynbuf_add(&b, tmp, n);
        fclose(f);
        rc = cp_profile_decode(b.data, b.len, CP_DEFAULT_MAX_DECOMPRESSED, &p,
                               err, sizeof(err));
        cp_dynbuf_free(&b);
        if (rc < 0) {
            fprintf(stderr, "profile_write: %s: %s\n", argv[2], err);
            return 1;
        }
        rc = cp_profile_write_file(&p, argv[3]);
    } else {
        if (cp_profile_init(&p) < 0)
            return 1;
        if (argc == 3 && !strcmp(argv[1], "rich")) {
            rich(&p);
        } else if (argc == 4 && !strcmp(argv[1], "big")) {
            big(&p, strtoull(argv[2], NULL, 10));
        } else {
            fprintf(stderr, "usage: profile_write rich FILE | big N FILE | "
                            "reencode IN OUT\n");
            return 2;
        }
        rc = cp_profile_write_file(&p, argv[argc - 1]);
    }
    if (rc < 0) {
        fprintf(stderr, "profile_write: %s: %s\n", argv[argc - 1],
                strerror(-rc));
        return 1;
    }
    cp_profile_free(&p);
    return 0;
}
