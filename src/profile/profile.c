/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.c - the in-memory profile model (profile.h): record arrays, an
 * arena for everything hanging off the records, and the string table.
 *
 * Sized for the cprof command's big inputs (millions of samples, hundreds
 * of thousands of locations): record arrays grow by doubling, every
 * per-record array (a sample's locations, values and labels, a location's
 * lines, the strings) is bump-allocated from big zeroed arena chunks, so
 * there is no malloc per sample and freeing is one pass over the chunks.
 * The string table interns through an open-addressing hash that is built
 * lazily: a decoded table (which may hold duplicates, and keeps the file's
 * indexes) is only hashed when someone first interns into it, so readers
 * that never add strings never pay for hashing.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include "profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"

/* ---- arena ------------------------------------------------------------ */

/* First chunk 64 KiB: a small runtime profile fits in one. Chunks double up
 * to 32 MiB so a 1 GiB model is ~40 chunks; anything larger than a quarter
 * of the current chunk size gets a chunk of its own so big arrays do not
 * waste the tail of the current chunk. */
#define ARENA_FIRST (64u << 10)
#define ARENA_MAX (32u << 20)

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* bytes after the header; also pads the header to 16 */
};

struct cp_arena {
    struct arena_chunk *chunks;
    char *cur, *end;
    size_t next_size;
    size_t bytes; /* total held, for cp_profile_arena_bytes */
};

static struct arena_chunk *chunk_new(size_t size)
{
    /* calloc: fresh pages from the kernel are already zero, so zeroing
     * big chunks is nearly free and every allocation comes out zeroed. */
    struct arena_chunk *c = calloc(1, sizeof(*c) + size);
    if (c)
        c->size = size;
    return c;
}

static void *arena_alloc(struct cp_arena *a, size_t size, size_t align)
{
    uintptr_t cur = (uintptr_t)a->cur;
    uintptr_t aligned = (cur + (align - 1)) & ~(uintptr_t)(align - 1);
    if (a->cur && aligned <= (uintptr_t)a->end &&
        size <= (uintptr_t)a->end - aligned) {
        a->cur = (char *)(aligned + size);
        return (void *)aligned;
    }
    if (size > SIZE_MAX - sizeof(struct arena_chunk) - 16)
        return NULL;
    if (size > a->next_size / 4) {
        /* Own chunk, linked behind the head so the current chunk's free
         * tail stays in use. */
        struct arena_chunk *c = chunk_new(size ? size : 1);
        if (!c)
            return NULL;
        if (a->chunks) {
            c->next = a->chunks->next;
            a->chunks->next = c;
        } else {
            c->next = NULL;
            a->chunks = c;
        }
        a->bytes += size;
        return c + 1; /* header is 16 bytes: data stays 16-aligned */
    }
    struct arena_chunk *c = chunk_new(a->next_size);
    if (!c)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    a->bytes += a->next_size;
    a->cur = (char *)(c + 1);
    a->end = a->cur + a->next_size;
    if (a->next_size < ARENA_MAX)
        a->next_size *= 2;
    void *r = a->cur; /* chunk data is 16-aligned */
    a->cur += size;
    return r;
}

static void arena_free(struct cp_arena *a)
{
    struct arena_chunk *c = a->chunks;
    while (c) {
        struct arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

_Static_assert(sizeof(struct arena_chunk) == 16, "chunk header keeps 16B");

/* ---- string table ----------------------------------------------------- */

/*
 * Slots hold (hash >> 32) << 32 | (index + 1); 0 is empty. Keeping 32 bits
 * of the hash in the slot means a probe compares strings only when the
 * hashes agree. Load factor stays at or below 1/2.
 */
struct cp_strtab {
    const char **str;
    size_t *len;
    size_t n, cap;
    uint64_t *slots;
    size_t mask;   /* slots - 1, power of two; 0 when no table yet */
    size_t hashed; /* strings [0, hashed) have been offered to the table */
    size_t used;   /* occupied slots */
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    /* A small multiply-xorshift hash over 8-byte words: fast on the short
     * names profiles are made of, well mixed in the high 32 bits we keep. */
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static int strtab_rehash(struct cp_strtab *t, size_t nslots)
{
    uint64_t *ns = calloc(nslots, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    size_t mask = nslots - 1;
    if (t->slots) {
        for (size_t i = 0; i <= t->mask; i++) {
            uint64_t e = t->slots[i];
            if (!e)
                continue;
            size_t j = (size_t)(e >> 32) & mask;
            while (ns[j])
                j = (j + 1) & mask;
            ns[j] = e;
        }
    }
    free(t->slots);
    t->slots = ns;
    t->mask = mask;
    return 0;
}

/* Find s; when absent and `insert_idx` >= 0, insert it under that index.
 * Returns the index found, or -1 when absent (and inserted if asked). */
static int64_t strtab_probe(struct cp_strtab *t, const char *s, size_t len,
                            int64_t insert_idx)
{
    uint64_t h = hash_bytes(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t j = (size_t)tag & t->mask;
    for (;;) {
        uint64_t e = t->slots[j];
        if (!e)
            break;
        if ((uint32_t)(e >> 32) == tag) {
            size_t idx = (size_t)(uint32_t)e - 1;
            if (t->len[idx] == len && memcmp(t->str[idx], s, len) == 0)
                return (int64_t)idx;
        }
        j = (j + 1) & t->mask;
    }
    if (insert_idx >= 0) {
        t->slots[j] = (uint64_t)tag << 32 | (uint64_t)(insert_idx + 1);
        t->used++;
    }
    return -1;
}

/* Make sure the table has room for `more` further insertions at load 1/2
 * and that every string already in the table has been offered to it. */
static int strtab_index(struct cp_strtab *t, size_t more)
{
    size_t want = t->used + (t->n - t->hashed) + more;
    if (!t->slots || want * 2 > t->mask + 1) {
        size_t ns = 64;
        while (ns < want * 2)
            ns *= 2;
        if (strtab_rehash(t, ns) < 0)
            return -ENOMEM;
    }
    for (; t->hashed < t->n; t->hashed++)
        strtab_probe(t, t->str[t->hashed], t->len[t->hashed],
                     (int64_t)t->hashed);
    return 0;
}

int cp_profile_strtab_reserve(struct cp_profile *p, size_t more)
{
    struct cp_strtab *t = p->strtab;
    if (more <= t->cap - t->n)
        return 0;
    if (more > (size_t)UINT32_MAX - 1 - t->n)
        return -ENOMEM; /* indexes are kept in 32 bits in the hash */
    size_t ncap = t->cap ? t->cap : 64;
    while (ncap < t->n + more)
        ncap *= 2;
    const char **ns = realloc(t->str, ncap * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    t->str = ns;
    size_t *nl = realloc(t->len, ncap * sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    t->len = nl;
    t->cap = ncap;
    return 0;
}

void cp_profile_strtab_push(struct cp_profile *p, const char *s, size_t len)
{
    struct cp_strtab *t = p->strtab;
    t->str[t->n] = s;
    t->len[t->n] = len;
    t->n++;
}

int64_t cp_profile_strn(struct cp_profile *p, const char *s, size_t len)
{
    struct cp_strtab *t = p->strtab;
    if (!t || (!s && len))
        return -EINVAL;
    if (strtab_index(t, 1) < 0)
        return -ENOMEM;
    int64_t idx = strtab_probe(t, s ? s : "", len, -1);
    if (idx >= 0)
        return idx;
    if (cp_profile_strtab_reserve(p, 1) < 0)
        return -ENOMEM;
    char *copy = arena_alloc(p->arena, len + 1, 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    idx = (int64_t)t->n;
    cp_profile_strtab_push(p, copy, len);
    strtab_probe(t, copy, len, idx);
    t->hashed = t->n;
    return idx;
}

int64_t cp_profile_str(struct cp_profile *p, const char *s)
{
    return cp_profile_strn(p, s ? s : "", s ? strlen(s) : 0);
}

const char *cp_profile_stringn(const struct cp_profile *p, int64_t idx,
                               size_t *len)
{
    const struct cp_strtab *t = p->strtab;
    if (!t || idx < 0 || (uint64_t)idx >= t->n) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = t->len[idx];
    return t->str[idx];
}

const char *cp_profile_string(const struct cp_profile *p, int64_t idx)
{
    return cp_profile_stringn(p, idx, NULL);
}

size_t cp_profile_n_strings(const struct cp_profile *p)
{
    return p->strtab ? p->strtab->n : 0;
}

/* ---- profile ---------------------------------------------------------- */

int cp_profile_init(struct cp_profile *p)
{
    memset(p, 0, sizeof(*p));
    p->arena = calloc(1, sizeof(*p->arena));
    p->strtab = calloc(1, sizeof(*p->strtab));
    if (!p->arena || !p->strtab)
        goto fail;
    p->arena->next_size = ARENA_FIRST;
    if (cp_profile_strtab_reserve(p, 1) < 0)
        goto fail;
    cp_profile_strtab_push(p, "", 0);
    return 0;
fail:
    cp_profile_free(p);
    return -ENOMEM;
}

void cp_profile_free(struct cp_profile *p)
{
    free(p->sample_types);
    free(p->samples);
    free(p->mappings);
    free(p->locations);
    free(p->functions);
    free(p->comments);
    if (p->strtab) {
        free(p->strtab->str);
        free(p->strtab->len);
        free(p->strtab->slots);
        free(p->strtab);
    }
    if (p->arena)
        arena_free(p->arena);
    memset(p, 0, sizeof(*p));
}

void *cp_profile_alloc(struct cp_profile *p, size_t size)
{
    return arena_alloc(p->arena, size, 16);
}

void *cp_profile_alloc8(struct cp_profile *p, size_t size)
{
    return arena_alloc(p->arena, size, 8);
}

size_t cp_profile_arena_bytes(const struct cp_profile *p)
{
    return p->arena ? p->arena->bytes : 0;
}

/* Grow *arr (of *cap elements of elem bytes) to hold at least need. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return -ENOMEM;
        ncap *= 2;
    }
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return -ENOMEM;
    *arr = n;
    *cap = ncap;
    return 0;
}

#define GROW(p, field, capf, more)                                             \
    grow((void **)&(p)->field, &(p)->capf, (p)->n_##field + (more),            \
         sizeof(*(p)->field))

int cp_profile_reserve(struct cp_profile *p, size_t samples, size_t mappings,
                       size_t locations, size_t functions)
{
    if (samples > SIZE_MAX / 2 || mappings > SIZE_MAX / 2 ||
        locations > SIZE_MAX / 2 || functions > SIZE_MAX / 2)
        return -ENOMEM;
    if (GROW(p, samples, cap_samples, samples) < 0 ||
        GROW(p, mappings, cap_mappings, mappings) < 0 ||
        GROW(p, locations, cap_locations, locations) < 0 ||
        GROW(p, functions, cap_functions, functions) < 0)
        return -ENOMEM;
    return 0;
}

int cp_profile_add_sample_type(struct cp_profile *p, const char *type,
                               const char *unit)
{
    if (p->n_samples)
        return -EINVAL;
    int64_t t = cp_profile_str(p, type);
    int64_t u = cp_profile_str(p, unit);
    if (t < 0 || u < 0)
        return -ENOMEM;
    if (GROW(p, sample_types, cap_sample_types, 1) < 0)
        return -ENOMEM;
    p->sample_types[p->n_sample_types].type = t;
    p->sample_types[p->n_sample_types].unit = u;
    return (int)p->n_sample_types++;
}

int cp_profile_sample_type_index(const struct cp_profile *p, const char *type)
{
    size_t tl = strlen(type);
    for (size_t i = 0; i < p->n_sample_types; i++) {
        size_t len;
        const char *s = cp_profile_stringn(p, p->sample_types[i].type, &len);
        if (len == tl && memcmp(s, type, tl) == 0)
            return (int)i;
    }
    return -1;
}

struct cp_sample *cp_profile_add_sample(struct cp_profile *p,
                                        size_t n_locations, size_t n_labels)
{
    size_t nv = p->n_sample_types;
    if (n_locations > SIZE_MAX / 64 || n_labels > SIZE_MAX / 64)
        return NULL;
    size_t bytes = n_locations * sizeof(uint64_t) + nv * sizeof(int64_t) +
                   n_labels * sizeof(struct cp_label);
    if (GROW(p, samples, cap_samples, 1) < 0)
        return NULL;
    char *mem = NULL;
    if (bytes) {
        mem = arena_alloc(p->arena, bytes, 8);
        if (!mem)
            return NULL;
    }
    size_t voff = n_locations * sizeof(uint64_t);
    size_t loff = voff + nv * sizeof(int64_t);
    struct cp_sample *s = &p->samples[p->n_samples++];
    s->location_ids = n_locations ? (uint64_t *)mem : NULL;
    s->n_locations = n_locations;
    s->values = nv ? (int64_t *)(mem + voff) : NULL;
    s->labels = n_labels ? (struct cp_label *)(mem + loff) : NULL;
    s->n_labels = n_labels;
    return s;
}

struct cp_mapping *cp_profile_add_mapping(struct cp_profile *p)
{
    if (GROW(p, mappings, cap_mappings, 1) < 0)
        return NULL;
    struct cp_mapping *m = &p->mappings[p->n_mappings++];
    memset(m, 0, sizeof(*m));
    m->id = p->n_mappings;
    return m;
}

int cp_profile_set_lines(struct cp_profile *p, struct cp_location *loc,
                         size_t n_lines)
{
    struct cp_line *lines = NULL;
    if (n_lines) {
        if (n_lines > SIZE_MAX / sizeof(*lines))
            return -ENOMEM;
        lines = arena_alloc(p->arena, n_lines * sizeof(*lines), 8);
        if (!lines)
            return -ENOMEM;
    }
    loc->lines = lines;
    loc->n_lines = n_lines;
    return 0;
}

struct cp_location *cp_profile_add_location(struct cp_profile *p,
                                            size_t n_lines)
{
    if (GROW(p, locations, cap_locations, 1) < 0)
        return NULL;
    struct cp_location *l = &p->locations[p->n_locations];
    memset(l, 0, sizeof(*l));
    if (cp_profile_set_lines(p, l, n_lines) < 0)
        return NULL;
    l->id = ++p->n_locations;
    return l;
}

struct cp_function *cp_profile_add_function(struct cp_profile *p)
{
    if (GROW(p, functions, cap_functions, 1) < 0)
        return NULL;
    struct cp_function *f = &p->functions[p->n_functions++];
    memset(f, 0, sizeof(*f));
    f->id = p->n_functions;
    return f;
}

int cp_profile_add_comment(struct cp_profile *p, const char *text)
{
    int64_t s = cp_profile_str(p, text);
    if (s < 0)
        return -ENOMEM;
    if (GROW(p, comments, cap_comments, 1) < 0)
        return -ENOMEM;
    p->comments[p->n_comments++] = s;
    return 0;
}

struct cp_mapping *cp_profile_mapping(const struct cp_profile *p, uint64_t id)
{
    return id && id <= p->n_mappings ? &p->mappings[id - 1] : NULL;
}

struct cp_location *cp_profile_location(const struct cp_profile *p, uint64_t id)
{
    return id && id <= p->n_locations ? &p->locations[id - 1] : NULL;
}

struct cp_function *cp_profile_function(const struct cp_profile *p, uint64_t id)
{
    return id && id <= p->n_functions ? &p->functions[id - 1] : NULL;
}
