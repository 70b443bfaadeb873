/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symutil.c - the symbolizer's containers: a bump arena for strings and
 * frames that live as long as the symbolizer, a string interner (equal
 * names share one pointer, so the per-function caches can key on
 * pointers), and an open-addressing uint64 map for the per-address cache.
 *
 * Never used in signal context. Thread-safe: no (one owner).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/sym_int.h"

/* ---- arena ---- */

struct sym_chunk {
    struct sym_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

#define SYM_CHUNK_SIZE (64u * 1024u)

void *sym_arena_alloc(struct sym_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct sym_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = size > SYM_CHUNK_SIZE / 4 ? size : SYM_CHUNK_SIZE;
        c = malloc(sizeof(*c) + want);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = want;
        if (want == size && a->head) {
            /* a big block: keep filling the current chunk afterwards */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

void sym_arena_free(struct sym_arena *a)
{
    struct sym_chunk *c = a->head;
    while (c) {
        struct sym_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- strings ---- */

uint64_t sym_hash_bytes(const void *s, size_t len)
{
    /* FNV-1a, then a finalizer so the low bits index well */
    const unsigned char *p = s;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return cp_splitmix64(h);
}

static int strpool_grow(struct sym_strpool *p)
{
    size_t cap = p->cap ? p->cap * 2 : 1024;
    struct sym_str **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < p->cap; i++) {
        struct sym_str *e = p->slots[i];
        if (!e)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = e;
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
    return 0;
}

struct sym_str *sym_intern(struct sym_strpool *p, struct sym_arena *a,
                           const char *s, size_t len)
{
    if ((p->n + 1) * 4 > p->cap * 3 && strpool_grow(p) < 0)
        return NULL;
    uint64_t h = sym_hash_bytes(s, len);
    size_t j = h & (p->cap - 1);
    for (;;) {
        struct sym_str *e = p->slots[j];
        if (!e)
            break;
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
            return e;
        j = (j + 1) & (p->cap - 1);
    }
    struct sym_str *e = sym_arena_alloc(a, sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    e->hash = h;
    e->len = len;
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    p->slots[j] = e;
    p->n++;
    return e;
}

void sym_strpool_free(struct sym_strpool *p)
{
    free(p->slots);
    p->slots = NULL;
    p->cap = p->n = 0;
}

/* ---- uint64 map ---- */

void *sym_map_get(const struct sym_map *m, uint64_t key)
{
    if (!m->cap || !key)
        return NULL;
    size_t j = cp_splitmix64(key) & (m->cap - 1);
    for (;;) {
        uint64_t k = m->keys[j];
        if (k == key)
            return m->vals[j];
        if (!k)
            return NULL;
        j = (j + 1) & (m->cap - 1);
    }
}

static int map_grow(struct sym_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    void **vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = cp_splitmix64(m->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int sym_map_put(struct sym_map *m, uint64_t key, void *val)
{
    if (!key)
        return -EINVAL;
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) < 0)
        return -ENOMEM;
    size_t j = cp_splitmix64(key) & (m->cap - 1);
    while (m->keys[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = key;
        m->n++;
    }
    m->vals[j] = val;
    return 0;
}

void sym_map_clear(struct sym_map *m)
{
    if (m->cap) {
        memset(m->keys, 0, m->cap * sizeof(*m->keys));
        memset(m->vals, 0, m->cap * sizeof(*m->vals));
    }
    m->n = 0;
}

void sym_map_free(struct sym_map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}
