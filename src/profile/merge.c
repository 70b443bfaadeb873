/* SPDX-License-Identifier: Apache-2.0 */
/*
 * merge.c - merge, copy, scale and relabel whole profiles, following
 * google/pprof profile/merge.go and profile.go (Go 1.19's copy) rule for
 * rule: the same keys decide what is "the same" sample, location,
 * function and mapping, and things are numbered in the same order, so a
 * merged profile prints the same -traces and -raw as go tool pprof's.
 *
 * Where pprof builds string keys (fmt.Sprintf of ids) and Go maps, this
 * hashes the integer fields into phash.h indexes over the output arrays:
 * the strings of the output are interned, so an index compares for a
 * string.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "merge.h"
#include "phash.h"

static void set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static const char *S(const struct cp_profile *p, int64_t i)
{
    return cp_profile_string(p, i);
}

/* ---- compatibility ---------------------------------------------------- */

static void types_str(const struct cp_profile *p, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (size_t i = 0; i < p->n_sample_types && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s/%s", i ? " " : "",
                                S(p, p->sample_types[i].type),
                                S(p, p->sample_types[i].unit));
    if (off < n)
        snprintf(buf + off, n - off, "]");
}

static bool vt_equal(const struct cp_profile *a, struct cp_value_type x,
                     const struct cp_profile *b, struct cp_value_type y)
{
    return !strcmp(S(a, x.type), S(b, y.type)) &&
           !strcmp(S(a, x.unit), S(b, y.unit));
}

int cp_profile_compatible(const struct cp_profile *a,
                          const struct cp_profile *b, char *err,
                          size_t errlen)
{
    if (!vt_equal(a, a->period_type, b, b->period_type)) {
        set_err(err, errlen, "incompatible period types %s/%s and %s/%s",
                S(a, a->period_type.type), S(a, a->period_type.unit),
                S(b, b->period_type.type), S(b, b->period_type.unit));
        return -EINVAL;
    }
    bool ok = a->n_sample_types == b->n_sample_types;
    for (size_t i = 0; ok && i < a->n_sample_types; i++)
        ok = vt_equal(a, a->sample_types[i], b, b->sample_types[i]);
    if (!ok) {
        char x[256], y[256];
        types_str(a, x, sizeof(x));
        types_str(b, y, sizeof(y));
        set_err(err, errlen, "incompatible sample types %s and %s", x, y);
        return -EINVAL;
    }
    return 0;
}

/* ---- the merger ------------------------------------------------------- */

struct mapinfo {
    uint64_t id; /* 0: not mapped yet */
    int64_t offset;
    bool done;
};

struct merger {
    struct cp_profile *out;
    const struct cp_profile *src;
    /* per source: src index/id -> out */
    int64_t *strmap;       /* n_strings, -1 unknown */
    uint64_t *locmap;      /* n_locations + 1 */
    uint64_t *fnmap;       /* n_functions + 1 */
    struct mapinfo *mapmap; /* n_mappings + 1 */
    /* indexes over out's arrays */
    struct cp_hindex samples, locations, functions, mappings;
    /* scratch for a candidate record */
    uint64_t *locs;
    size_t cap_locs;
    struct cp_label *labels;
    size_t cap_labels;
    struct cp_line *lines;
    size_t cap_lines;
    /* candidate under comparison */
    const void *cand;
    size_t cand_n, cand_nl;
};

static int64_t map_str(struct merger *m, int64_t idx)
{
    if (idx <= 0 || (size_t)idx >= cp_profile_n_strings(m->src))
        return 0;
    if (m->strmap[idx] >= 0)
        return m->strmap[idx];
    size_t len;
    const char *s = cp_profile_stringn(m->src, idx, &len);
    int64_t r = cp_profile_strn(m->out, s, len);
    if (r < 0)
        return r;
    m->strmap[idx] = r;
    return r;
}

static int grow_scratch(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

/* mappings: key = (size rounded up to 4 KiB, offset, build id or file) */
struct mkey {
    uint64_t size, offset;
    int64_t id; /* interned build id or file, 0 for a fake mapping */
};

static struct mkey mapping_key(const struct cp_mapping *mp)
{
    uint64_t size = mp->memory_limit - mp->memory_start;
    size = size + 0xfff;
    size -= size % 0x1000;
    struct mkey k = {size, mp->file_offset,
                     mp->build_id ? mp->build_id : mp->filename};
    return k;
}

static int mapping_eq(void *ctx, size_t e)
{
    struct merger *m = ctx;
    const struct mkey *k = m->cand;
    struct mkey o = mapping_key(&m->out->mappings[e]);
    return o.size == k->size && o.offset == k->offset && o.id == k->id;
}

static int map_mapping(struct merger *m, uint64_t src_id, struct mapinfo *res)
{
    *res = (struct mapinfo){0};
    const struct cp_mapping *sm = cp_profile_mapping(m->src, src_id);
    if (!sm)
        return 0;
    if (m->mapmap[src_id].done) {
        *res = m->mapmap[src_id];
        return 0;
    }
    struct cp_mapping t = *sm;
    int64_t f = map_str(m, sm->filename), b = map_str(m, sm->build_id);
    if (f < 0 || b < 0)
        return -ENOMEM;
    t.filename = f;
    t.build_id = b;
    struct mkey k = mapping_key(&t);
    uint64_t h = cp_hfinal(cp_hmix(cp_hmix(cp_hmix(1, k.size), k.offset),
                                   (uint64_t)k.id));
    if (cp_hindex_grow(&m->mappings, m->mappings.n + 1) < 0)
        return -ENOMEM;
    m->cand = &k;
    size_t slot;
    long e = cp_hindex_find(&m->mappings, h, mapping_eq, m, &slot);
    if (e >= 0) {
        const struct cp_mapping *om = &m->out->mappings[e];
        res->id = om->id;
        res->offset = (int64_t)(om->memory_start - sm->memory_start);
    } else {
        struct cp_mapping *om = cp_profile_add_mapping(m->out);
        if (!om)
            return -ENOMEM;
        uint64_t id = om->id;
        *om = t;
        om->id = id;
        cp_hindex_put(&m->mappings, slot, h);
        res->id = id;
        res->offset = 0;
    }
    res->done = true;
    m->mapmap[src_id] = *res;
    return 0;
}

/* functions: key = (start line, name, system name, file) */
static int function_eq(void *ctx, size_t e)
{
    struct merger *m = ctx;
    const struct cp_function *k = m->cand, *o = &m->out->functions[e];
    return o->start_line == k->start_line && o->name == k->name &&
           o->system_name == k->system_name && o->filename == k->filename;
}

static int64_t map_function(struct merger *m, uint64_t src_id)
{
    const struct cp_function *sf = cp_profile_function(m->src, src_id);
    if (!sf)
        return 0;
    if (m->fnmap[src_id])
        return (int64_t)m->fnmap[src_id];
    struct cp_function t = *sf;
    t.name = map_str(m, sf->name);
    t.system_name = map_str(m, sf->system_name);
    t.filename = map_str(m, sf->filename);
    if (t.name < 0 || t.system_name < 0 || t.filename < 0)
        return -ENOMEM;
    uint64_t h = cp_hmix(2, (uint64_t)t.start_line);
    h = cp_hmix(h, (uint64_t)t.name);
    h = cp_hmix(h, (uint64_t)t.system_name);
    h = cp_hfinal(cp_hmix(h, (uint64_t)t.filename));
    if (cp_hindex_grow(&m->functions, m->functions.n + 1) < 0)
        return -ENOMEM;
    m->cand = &t;
    size_t slot;
    long e = cp_hindex_find(&m->functions, h, function_eq, m, &slot);
    uint64_t id;
    if (e >= 0) {
        id = m->out->functions[e].id;
    } else {
        struct cp_function *of = cp_profile_add_function(m->out);
        if (!of)
            return -ENOMEM;
        id = of->id;
        t.id = id;
        *of = t;
        cp_hindex_put(&m->functions, slot, h);
    }
    m->fnmap[src_id] = id;
    return (int64_t)id;
}

/* locations: key = (address - mapping start, mapping, folded, lines) */
struct lkey {
    uint64_t addr, mapping;
    bool folded;
};

static struct lkey loc_key(const struct cp_profile *out, uint64_t mapping,
                           uint64_t address, bool folded)
{
    struct lkey k = {address, mapping, folded};
    const struct cp_mapping *mp = cp_profile_mapping(out, mapping);
    if (mp)
        k.addr -= mp->memory_start;
    return k;
}

static int location_eq(void *ctx, size_t e)
{
    struct merger *m = ctx;
    const struct lkey *k = m->cand;
    const struct cp_location *o = &m->out->locations[e];
    struct lkey ok = loc_key(m->out, o->mapping_id, o->address, o->is_folded);
    if (ok.addr != k->addr || ok.mapping != k->mapping ||
        ok.folded != k->folded || o->n_lines != m->cand_nl)
        return 0;
    for (size_t i = 0; i < o->n_lines; i++)
        if (o->lines[i].function_id != m->lines[i].function_id ||
            o->lines[i].line != m->lines[i].line)
            return 0;
    return 1;
}

static int64_t map_location(struct merger *m, uint64_t src_id)
{
    if (m->locmap[src_id])
        return (int64_t)m->locmap[src_id];
    const struct cp_location *sl = cp_profile_location(m->src, src_id);
    if (!sl)
        return -EINVAL;
    struct mapinfo mi;
    if (map_mapping(m, sl->mapping_id, &mi) < 0)
        return -ENOMEM;
    uint64_t addr = (uint64_t)((int64_t)sl->address + mi.offset);
    if (grow_scratch((void **)&m->lines, &m->cap_lines, sl->n_lines,
                     sizeof(*m->lines)) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < sl->n_lines; i++) {
        int64_t f = map_function(m, sl->lines[i].function_id);
        if (f < 0)
            return f;
        m->lines[i] = sl->lines[i];
        m->lines[i].function_id = (uint64_t)f;
    }
    struct lkey k = loc_key(m->out, mi.id, addr, sl->is_folded);
    uint64_t h = cp_hmix(cp_hmix(cp_hmix(3, k.addr), k.mapping), k.folded);
    for (size_t i = 0; i < sl->n_lines; i++)
        h = cp_hmix(cp_hmix(h, m->lines[i].function_id),
                    (uint64_t)m->lines[i].line);
    h = cp_hfinal(h);
    if (cp_hindex_grow(&m->locations, m->locations.n + 1) < 0)
        return -ENOMEM;
    m->cand = &k;
    m->cand_nl = sl->n_lines;
    size_t slot;
    long e = cp_hindex_find(&m->locations, h, location_eq, m, &slot);
    uint64_t id;
    if (e >= 0) {
        id = m->out->locations[e].id;
    } else {
        struct cp_location *ol = cp_profile_add_location(m->out, sl->n_lines);
        if (!ol)
            return -ENOMEM;
        id = ol->id;
        ol->mapping_id = mi.id;
        ol->address = addr;
        ol->is_folded = sl->is_folded;
        if (sl->n_lines)
            memcpy(ol->lines, m->lines, sl->n_lines * sizeof(*ol->lines));
        cp_hindex_put(&m->locations, slot, h);
    }
    m->locmap[src_id] = id;
    return (int64_t)id;
}

/* Label order inside a merged sample: string labels, then numeric ones,
 * each group stable-sorted by key name (what Go's maps make of them). */
static int label_cmp(const struct cp_profile *p, const struct cp_label *a,
                     const struct cp_label *b)
{
    int an = a->str == 0, bn = b->str == 0;
    if (an != bn)
        return an - bn;
    if (a->key == b->key)
        return 0;
    return strcmp(S(p, a->key), S(p, b->key));
}

/* Insertion sort: stable, and label lists are short. */
static void sort_labels(const struct cp_profile *p, struct cp_label *l,
                        size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct cp_label x = l[i];
        size_t j = i;
        while (j > 0 && label_cmp(p, &l[j - 1], &x) > 0) {
            l[j] = l[j - 1];
            j--;
        }
        l[j] = x;
    }
}

static int sample_eq(void *ctx, size_t e)
{
    struct merger *m = ctx;
    const struct cp_sample *o = &m->out->samples[e];
    if (o->n_locations != m->cand_n || o->n_labels != m->cand_nl)
        return 0;
    if (m->cand_n &&
        memcmp(o->location_ids, m->locs, m->cand_n * sizeof(uint64_t)))
        return 0;
    for (size_t i = 0; i < m->cand_nl; i++) {
        const struct cp_label *a = &o->labels[i], *b = &m->labels[i];
        if (a->key != b->key || a->str != b->str || a->num != b->num ||
            a->num_unit != b->num_unit)
            return 0;
    }
    return 1;
}

static bool is_zero(const struct cp_sample *s, size_t nv)
{
    for (size_t i = 0; i < nv; i++)
        if (s->values[i])
            return false;
    return true;
}

static int map_sample(struct merger *m, const struct cp_sample *ss)
{
    struct cp_profile *out = m->out;
    size_t nv = out->n_sample_types;
    if (grow_scratch((void **)&m->locs, &m->cap_locs, ss->n_locations + 1,
                     sizeof(*m->locs)) < 0 ||
        grow_scratch((void **)&m->labels, &m->cap_labels, ss->n_labels + 1,
                     sizeof(*m->labels)) < 0)
        return -ENOMEM;
    uint64_t h = cp_hmix(4, ss->n_locations);
    for (size_t i = 0; i < ss->n_locations; i++) {
        int64_t id = map_location(m, ss->location_ids[i]);
        if (id < 0)
            return (int)id;
        m->locs[i] = (uint64_t)id;
        h = cp_hmix(h, (uint64_t)id);
    }
    size_t nl = 0;
    for (size_t i = 0; i < ss->n_labels; i++) {
        const struct cp_label *l = &ss->labels[i];
        struct cp_label t = {0};
        t.key = map_str(m, l->key);
        if (t.key < 0)
            return -ENOMEM;
        if (l->str) {
            t.str = map_str(m, l->str);
            if (t.str < 0)
                return -ENOMEM;
            if (!t.str) /* "" is not representable: str 0 means numeric */
                continue;
        } else if (l->num || l->num_unit) {
            t.num = l->num;
            t.num_unit = map_str(m, l->num_unit);
            if (t.num_unit < 0)
                return -ENOMEM;
        } else {
            continue; /* Go drops a label with neither value */
        }
        m->labels[nl++] = t;
    }
    sort_labels(out, m->labels, nl);
    for (size_t i = 0; i < nl; i++) {
        const struct cp_label *l = &m->labels[i];
        h = cp_hmix(cp_hmix(h, (uint64_t)l->key), (uint64_t)l->str);
        h = cp_hmix(cp_hmix(h, (uint64_t)l->num), (uint64_t)l->num_unit);
    }
    h = cp_hfinal(h);
    if (cp_hindex_grow(&m->samples, m->samples.n + 1) < 0)
        return -ENOMEM;
    m->cand_n = ss->n_locations;
    m->cand_nl = nl;
    size_t slot;
    long e = cp_hindex_find(&m->samples, h, sample_eq, m, &slot);
    if (e >= 0) {
        struct cp_sample *o = &out->samples[e];
        for (size_t i = 0; i < nv; i++)
            o->values[i] = cp_add64(o->values[i], ss->values[i]);
        return 0;
    }
    struct cp_sample *o = cp_profile_add_sample(out, ss->n_locations, nl);
    if (!o)
        return -ENOMEM;
    if (ss->n_locations)
        memcpy(o->location_ids, m->locs,
               ss->n_locations * sizeof(*o->location_ids));
    if (nl)
        memcpy(o->labels, m->labels, nl * sizeof(*o->labels));
    if (nv)
        memcpy(o->values, ss->values, nv * sizeof(*o->values));
    cp_hindex_put(&m->samples, slot, h);
    return 0;
}

static int combine_headers(struct cp_profile *const *srcs, size_t n,
                           struct cp_profile *out, char *err, size_t errlen)
{
    for (size_t i = 1; i < n; i++) {
        int r = cp_profile_compatible(srcs[0], srcs[i], err, errlen);
        if (r < 0)
            return r;
    }
    const struct cp_profile *s0 = srcs[0];
    for (size_t i = 0; i < s0->n_sample_types; i++)
        if (cp_profile_add_sample_type(out, S(s0, s0->sample_types[i].type),
                                       S(s0, s0->sample_types[i].unit)) < 0)
            return -ENOMEM;
    int64_t tn = 0, dn = 0, period = 0;
    const char *dst = "";
    for (size_t i = 0; i < n; i++) {
        const struct cp_profile *s = srcs[i];
        /* Go: a zero time after a non-zero one wins too (0 < t) */
        if (tn == 0 || s->time_nanos < tn)
            tn = s->time_nanos;
        dn += s->duration_nanos;
        if (period == 0 || period < s->period)
            period = s->period;
        for (size_t c = 0; c < s->n_comments; c++) {
            const char *text = S(s, s->comments[c]);
            bool seen = false;
            for (size_t k = 0; k < out->n_comments && !seen; k++)
                seen = !strcmp(S(out, out->comments[k]), text);
            if (!seen && cp_profile_add_comment(out, text) < 0)
                return -ENOMEM;
        }
        if (!*dst)
            dst = S(s, s->default_sample_type);
    }
    out->time_nanos = tn;
    out->duration_nanos = dn;
    out->period = period;
    int64_t a = cp_profile_str(out, S(s0, s0->drop_frames));
    int64_t b = cp_profile_str(out, S(s0, s0->keep_frames));
    int64_t c = cp_profile_str(out, S(s0, s0->period_type.type));
    int64_t d = cp_profile_str(out, S(s0, s0->period_type.unit));
    int64_t e = cp_profile_str(out, dst);
    if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0)
        return -ENOMEM;
    out->drop_frames = a;
    out->keep_frames = b;
    out->period_type.type = c;
    out->period_type.unit = d;
    out->default_sample_type = e;
    return 0;
}

static void merger_free(struct merger *m)
{
    free(m->strmap);
    free(m->locmap);
    free(m->fnmap);
    free(m->mapmap);
    cp_hindex_free(&m->samples);
    cp_hindex_free(&m->locations);
    cp_hindex_free(&m->functions);
    cp_hindex_free(&m->mappings);
    free(m->locs);
    free(m->labels);
    free(m->lines);
}

static int merge_into(struct cp_profile *const *srcs, size_t n,
                      struct cp_profile *out, char *err, size_t errlen)
{
    struct merger m = {.out = out};
    int r = combine_headers(srcs, n, out, err, errlen);
    if (r < 0)
        goto out;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += srcs[i]->n_samples;
    r = -ENOMEM;
    (void)total;
    if (cp_profile_reserve(out, srcs[0]->n_samples, srcs[0]->n_mappings,
                           srcs[0]->n_locations, srcs[0]->n_functions) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct cp_profile *s = srcs[i];
        m.src = s;
        free(m.strmap);
        free(m.locmap);
        free(m.fnmap);
        free(m.mapmap);
        size_t ns = cp_profile_n_strings(s);
        m.strmap = malloc((ns ? ns : 1) * sizeof(*m.strmap));
        m.locmap = calloc(s->n_locations + 1, sizeof(*m.locmap));
        m.fnmap = calloc(s->n_functions + 1, sizeof(*m.fnmap));
        m.mapmap = calloc(s->n_mappings + 1, sizeof(*m.mapmap));
        if (!m.strmap || !m.locmap || !m.fnmap || !m.mapmap)
            goto out;
        memset(m.strmap, 0xff, (ns ? ns : 1) * sizeof(*m.strmap));
        if (out->n_mappings == 0 && s->n_mappings > 0) {
            /* the first mapping is the main binary: keep it first */
            struct mapinfo mi;
            if (map_mapping(&m, 1, &mi) < 0)
                goto out;
        }
        for (size_t j = 0; j < s->n_samples; j++) {
            if (is_zero(&s->samples[j], s->n_sample_types))
                continue;
            r = map_sample(&m, &s->samples[j]);
            if (r < 0) {
                if (r == -EINVAL)
                    set_err(err, errlen, "sample %zu refers to a missing "
                            "location", j);
                goto out;
            }
            r = -ENOMEM;
        }
    }
    r = 0;
out:
    merger_free(&m);
    return r;
}

int cp_profile_merge(struct cp_profile *const *srcs, size_t n,
                     struct cp_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (n == 0) {
        set_err(err, errlen, "no profiles to merge");
        return -EINVAL;
    }
    int r = cp_profile_init(out);
    if (r < 0)
        return r;
    r = merge_into(srcs, n, out, err, errlen);
    if (r < 0) {
        if (r == -ENOMEM)
            set_err(err, errlen, "out of memory merging profiles");
        cp_profile_free(out);
        return r;
    }
    /* samples that cancelled out: merge once more to drop them and what
     * only they used (pprof re-merges the same way) */
    bool zero = false;
    for (size_t i = 0; i < out->n_samples && !zero; i++)
        zero = is_zero(&out->samples[i], out->n_sample_types);
    if (zero) {
        struct cp_profile again;
        struct cp_profile *one = out;
        r = cp_profile_merge(&one, 1, &again, err, errlen);
        cp_profile_free(out);
        if (r < 0)
            return r;
        *out = again;
    }
    return 0;
}

int cp_profile_copy(const struct cp_profile *src, struct cp_profile *out)
{
    struct cp_profile *s = (struct cp_profile *)src;
    return cp_profile_merge(&s, 1, out, NULL, 0);
}

/* ---- scaling ---------------------------------------------------------- */

static int64_t round_scale(int64_t v, double ratio)
{
    double x = round((double)v * ratio);
    if (!(x >= -9223372036854775808.0)) /* also NaN */
        return INT64_MIN;
    if (x >= 9223372036854775808.0)
        return INT64_MIN; /* what Go's conversion yields on amd64 */
    return (int64_t)x;
}

int cp_profile_scale_n(struct cp_profile *p, const double *ratios)
{
    bool ones = true;
    for (size_t i = 0; i < p->n_sample_types; i++)
        if (ratios[i] != 1)
            ones = false;
    if (ones)
        return 0;
    size_t fill = 0;
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        bool keep = false;
        for (size_t i = 0; i < p->n_sample_types; i++) {
            if (ratios[i] != 1) {
                int64_t v = round_scale(s->values[i], ratios[i]);
                s->values[i] = v;
                keep = keep || v != 0;
            }
        }
        if (keep)
            p->samples[fill++] = *s;
    }
    p->n_samples = fill;
    return 0;
}

int cp_profile_scale(struct cp_profile *p, double ratio)
{
    if (ratio == 1)
        return 0;
    double *r = malloc((p->n_sample_types + 1) * sizeof(*r));
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_sample_types; i++)
        r[i] = ratio;
    int ret = cp_profile_scale_n(p, r);
    free(r);
    return ret;
}

/* pprof's CommonValueType over value types given as (profile, vt) pairs:
 * the finest of compatible types, *found = false for fewer than two. */
static int common_type(struct cp_profile *const *ps, size_t n,
                       const struct cp_value_type *vts, const char **type,
                       const char **unit, bool *found, char *err,
                       size_t errlen)
{
    *found = false;
    size_t have = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (vts[i].type >= 0) {
            if (!have)
                first = i;
            have++;
        }
    if (have <= 1)
        return 0;
    const char *mt = S(ps[first], vts[first].type);
    const char *mu = S(ps[first], vts[first].unit);
    for (size_t i = first + 1; i < n; i++) {
        if (vts[i].type < 0)
            continue;
        const char *t = S(ps[i], vts[i].type), *u = S(ps[i], vts[i].unit);
        if (!cp_unit_compatible(mt, mu, t, u)) {
            set_err(err, errlen, "incompatible types: %s/%s and %s/%s", mt,
                    mu, t, u);
            return -EINVAL;
        }
        double ratio;
        cp_unit_scale(1, u, mu, &ratio);
        if (ratio < 1) {
            mt = t;
            mu = u;
        }
    }
    *type = mt;
    *unit = mu;
    *found = true;
    return 0;
}

int cp_profile_scale_profiles(struct cp_profile *const *ps, size_t n,
                              char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    struct cp_value_type *vts = calloc(n, sizeof(*vts));
    if (!vts)
        return -ENOMEM;
    int r = 0;
    char e2[200];
    /* period types: only the profiles that have one take part */
    for (size_t i = 0; i < n; i++) {
        vts[i] = ps[i]->period_type;
        if (!vts[i].type && !vts[i].unit)
            vts[i].type = -1;
    }
    const char *pt = NULL, *pu = NULL;
    bool pfound;
    r = common_type(ps, n, vts, &pt, &pu, &pfound, e2, sizeof(e2));
    if (r < 0) {
        set_err(err, errlen, "period type: %s", e2);
        goto out;
    }
    size_t nst = ps[0]->n_sample_types;
    for (size_t i = 1; i < n; i++)
        if (ps[i]->n_sample_types != nst) {
            set_err(err, errlen, "inconsistent samples type count: %zu != "
                    "%zu", nst, ps[i]->n_sample_types);
            r = -EINVAL;
            goto out;
        }
    const char **st = calloc(nst + 1, sizeof(*st));
    const char **su = calloc(nst + 1, sizeof(*su));
    bool *sf = calloc(nst + 1, sizeof(*sf));
    double *ratios = calloc(nst + 1, sizeof(*ratios));
    if (!st || !su || !sf || !ratios) {
        r = -ENOMEM;
        goto out2;
    }
    for (size_t t = 0; t < nst; t++) {
        for (size_t i = 0; i < n; i++)
            vts[i] = ps[i]->sample_types[t];
        r = common_type(ps, n, vts, &st[t], &su[t], &sf[t], e2, sizeof(e2));
        if (r < 0) {
            set_err(err, errlen, "sample types: %s", e2);
            goto out2;
        }
    }
    /* The common units point into the profiles' own tables: copy them
     * before any profile's unit changes. */
    char (*units)[64] = calloc(nst + 1, sizeof(*units));
    char punit[64] = "";
    if (!units) {
        r = -ENOMEM;
        goto out2;
    }
    for (size_t t = 0; t < nst; t++)
        if (sf[t])
            snprintf(units[t], sizeof(units[t]), "%s", su[t]);
    if (pfound)
        snprintf(punit, sizeof(punit), "%s", pu);
    for (size_t i = 0; i < n && r == 0; i++) {
        struct cp_profile *p = ps[i];
        if (pfound && (p->period_type.type || p->period_type.unit)) {
            double v;
            cp_unit_scale(p->period, S(p, p->period_type.unit), punit, &v);
            p->period = (int64_t)v;
            int64_t u = cp_profile_str(p, punit);
            if (u < 0) {
                r = -ENOMEM;
                break;
            }
            p->period_type.unit = u;
        }
        for (size_t t = 0; t < nst; t++) {
            if (!sf[t]) {
                ratios[t] = 1;
                continue;
            }
            cp_unit_scale(1, S(p, p->sample_types[t].unit), units[t],
                          &ratios[t]);
            int64_t u = cp_profile_str(p, units[t]);
            if (u < 0) {
                r = -ENOMEM;
                break;
            }
            p->sample_types[t].unit = u;
        }
        if (r == 0)
            r = cp_profile_scale_n(p, ratios);
    }
    free(units);
out2:
    free(st);
    free(su);
    free(sf);
    free(ratios);
out:
    free(vts);
    return r;
}

/* ---- labels ----------------------------------------------------------- */

int cp_profile_set_label(struct cp_profile *p, const char *key,
                         const char *value)
{
    int64_t k = cp_profile_str(p, key), v = cp_profile_str(p, value);
    if (k < 0 || v < 0)
        return -ENOMEM;
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        struct cp_label *nl =
            cp_profile_alloc(p, (s->n_labels + 1) * sizeof(*nl));
        if (!nl)
            return -ENOMEM;
        size_t n = 0;
        bool placed = false;
        for (size_t i = 0; i < s->n_labels; i++) {
            const struct cp_label *l = &s->labels[i];
            if (l->str && !strcmp(S(p, l->key), key)) {
                if (!placed) {
                    nl[n++] = (struct cp_label){.key = k, .str = v};
                    placed = true;
                }
                continue;
            }
            nl[n++] = *l;
        }
        if (!placed)
            nl[n++] = (struct cp_label){.key = k, .str = v};
        s->labels = nl;
        s->n_labels = n;
    }
    return 0;
}

void cp_profile_remove_label(struct cp_profile *p, const char *key)
{
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        size_t n = 0;
        for (size_t i = 0; i < s->n_labels; i++)
            if (strcmp(S(p, s->labels[i].key), key))
                s->labels[n++] = s->labels[i];
        s->n_labels = n;
    }
}

bool cp_sample_has_label(const struct cp_profile *p,
                         const struct cp_sample *s, const char *key,
                         const char *value)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (s->labels[i].str && !strcmp(S(p, s->labels[i].key), key) &&
            !strcmp(S(p, s->labels[i].str), value))
            return true;
    return false;
}

int cp_profile_normalize(struct cp_profile *p, const struct cp_profile *base,
                         char *err, size_t errlen)
{
    int r = cp_profile_compatible(p, base, err, errlen);
    if (r < 0)
        return r;
    size_t n = p->n_sample_types;
    double *scale = calloc(n + 1, sizeof(*scale));
    int64_t *bv = calloc(n + 1, sizeof(*bv)), *sv = calloc(n + 1, sizeof(*sv));
    if (!scale || !bv || !sv) {
        free(scale);
        free(bv);
        free(sv);
        return -ENOMEM;
    }
    for (size_t j = 0; j < base->n_samples; j++)
        for (size_t i = 0; i < n; i++)
            bv[i] = cp_add64(bv[i], base->samples[j].values[i]);
    for (size_t j = 0; j < p->n_samples; j++)
        for (size_t i = 0; i < n; i++)
            sv[i] = cp_add64(sv[i], p->samples[j].values[i]);
    for (size_t i = 0; i < n; i++)
        scale[i] = sv[i] == 0 ? 0.0 : (double)bv[i] / (double)sv[i];
    r = cp_profile_scale_n(p, scale);
    free(scale);
    free(bv);
    free(sv);
    return r;
}

/* ---- canonical strings ------------------------------------------------ */

static int canon(struct cp_profile *p, int64_t *map, size_t ns, int64_t *idx)
{
    if (*idx <= 0 || (size_t)*idx >= ns) {
        *idx = 0;
        return 0;
    }
    if (map[*idx] < 0) {
        size_t len;
        const char *s = cp_profile_stringn(p, *idx, &len);
        int64_t c = cp_profile_strn(p, s, len);
        if (c < 0)
            return (int)c;
        map[*idx] = c;
    }
    *idx = map[*idx];
    return 0;
}

int cp_profile_canon_strings(struct cp_profile *p)
{
    size_t ns = cp_profile_n_strings(p);
    int64_t *map = malloc((ns ? ns : 1) * sizeof(*map));
    if (!map)
        return -ENOMEM;
    memset(map, 0xff, (ns ? ns : 1) * sizeof(*map));
    int r = 0;
#define C(x)                                                                 \
    do {                                                                     \
        if (r == 0)                                                          \
            r = canon(p, map, ns, &(x));                                     \
    } while (0)
    for (size_t i = 0; i < p->n_sample_types; i++) {
        C(p->sample_types[i].type);
        C(p->sample_types[i].unit);
    }
    for (size_t i = 0; i < p->n_mappings; i++) {
        C(p->mappings[i].filename);
        C(p->mappings[i].build_id);
    }
    for (size_t i = 0; i < p->n_functions; i++) {
        C(p->functions[i].name);
        C(p->functions[i].system_name);
        C(p->functions[i].filename);
    }
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        for (size_t i = 0; i < s->n_labels; i++) {
            C(s->labels[i].key);
            C(s->labels[i].str);
            C(s->labels[i].num_unit);
        }
    }
    C(p->drop_frames);
    C(p->keep_frames);
    C(p->period_type.type);
    C(p->period_type.unit);
    C(p->default_sample_type);
    for (size_t i = 0; i < p->n_comments; i++)
        C(p->comments[i]);
#undef C
    free(map);
    return r;
}
