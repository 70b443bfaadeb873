/* SPDX-License-Identifier: Apache-2.0 */
/* cprof: signal context */
/*
 * tracebuf.c - per-thread trace rings and lock-free intern tables
 * (tracebuf.h). Everything here that a producer calls is
 * async-signal-safe: memory comes from mmap, lists and tables change with
 * single atomic operations, nothing locks or allocates with malloc.
 */
#include "tracebuf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

_Atomic(struct cp_tbuf *) cp_tbuf_head;

/* ---- intern tables ---- */

static void *map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int cp_tintern_init(struct cp_tintern *t, uint32_t cap, size_t arena)
{
    uint32_t slots = 1;

    memset(t, 0, sizeof *t);
    while (slots < cap * 2u)
        slots <<= 1;
    t->ent = map((size_t)cap * sizeof *t->ent);
    t->slots = map((size_t)slots * sizeof *t->slots);
    t->arena = map(arena);
    if (!t->ent || !t->slots || !t->arena) {
        cp_tintern_destroy(t);
        return -ENOMEM;
    }
    t->cap = cap;
    t->slot_mask = slots - 1;
    t->arena_cap = arena;
    atomic_init(&t->next, 1);
    /* id 0: the empty string / unknown, always defined */
    atomic_init(&t->ent[0].ready, 1);
    return 0;
}

void cp_tintern_destroy(struct cp_tintern *t)
{
    if (t->ent)
        munmap(t->ent, (size_t)t->cap * sizeof *t->ent);
    if (t->slots)
        munmap(t->slots, ((size_t)t->slot_mask + 1) * sizeof *t->slots);
    if (t->arena)
        munmap(t->arena, t->arena_cap);
    memset(t, 0, sizeof *t);
}

/* FNV-1a, 64-bit, then a finalizer so the low bits index well. */
static uint64_t hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1; /* never 0 */
}

static bool ent_equal(const struct cp_tintern *t, uint32_t id, uint64_t h,
                      const void *data, size_t len)
{
    const struct cp_tintern_ent *e = &t->ent[id];
    return e->hash == h && e->len == len &&
           !memcmp(t->arena + e->off, data, len);
}

uint32_t cp_tintern_get(struct cp_tintern *t, const void *data, size_t len)
{
    uint64_t h, off;
    uint32_t i, id, s;

    if (!t->ent || len == 0)
        return 0;
    if (len > UINT32_MAX / 2)
        return 0;
    h = hash_bytes(data, len);
    i = (uint32_t)h & t->slot_mask;
    for (;;) {
        s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (!s)
            break;
        if (ent_equal(t, s, h, data, len))
            return s;
        i = (i + 1) & t->slot_mask;
    }
    /* new: reserve an id and room, define it, then publish */
    id = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
    if (id >= t->cap) {
        atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
        return 0;
    }
    off = atomic_fetch_add_explicit(&t->used, len, memory_order_relaxed);
    if (off + len > t->arena_cap) {
        t->ent[id].len = 0;
        t->ent[id].off = 0;
        t->ent[id].hash = 0;
        atomic_store_explicit(&t->ent[id].ready, 2, memory_order_release);
        atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
        return 0;
    }
    memcpy(t->arena + off, data, len);
    t->ent[id].len = (uint32_t)len;
    t->ent[id].off = off;
    t->ent[id].hash = h;
    atomic_store_explicit(&t->ent[id].ready, 1, memory_order_release);
    for (;;) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong_explicit(
                &t->slots[i], &zero, id, memory_order_release,
                memory_order_acquire))
            return id;
        /* someone took this slot: perhaps with the same bytes */
        if (ent_equal(t, zero, h, data, len))
            return zero;
        i = (i + 1) & t->slot_mask;
    }
}

const uint8_t *cp_tintern_bytes(const struct cp_tintern *t, uint32_t id,
                                uint32_t *len)
{
    uint32_t r;
    if (!t->ent || id >= t->cap)
        return NULL;
    r = atomic_load_explicit(&t->ent[id].ready, memory_order_acquire);
    if (!r)
        return NULL;
    *len = r == 1 ? t->ent[id].len : 0;
    return t->arena + t->ent[id].off;
}

/* ---- buffers ---- */

static size_t header_bytes(void)
{
    /* the descriptor, rounded to whole pages so the ring is aligned */
    return (sizeof(struct cp_tbuf) + 4095) & ~(size_t)4095;
}

static void init_fields(struct cp_tbuf *b, uint32_t gen)
{
    b->w = 0;
    b->cached_r = 0;
    b->last_units = 0;
    atomic_store_explicit(&b->busy, 0, memory_order_relaxed);
    b->cpu = -1;
    atomic_store_explicit(&b->pub_w, 0, memory_order_relaxed);
    atomic_store_explicit(&b->lost, 0, memory_order_relaxed);
    atomic_store_explicit(&b->lost_total, 0, memory_order_relaxed);
    atomic_store_explicit(&b->events, 0, memory_order_relaxed);
    atomic_store_explicit(&b->woke, 0, memory_order_relaxed);
    atomic_store_explicit(&b->r, 0, memory_order_relaxed);
    b->batch_new = true;
    memset(b->cache, 0, sizeof b->cache);
    /* publish last: the writer looks at a buffer only once its gen is
     * the running trace's */
    atomic_store_explicit(&b->gen, gen, memory_order_release);
}

struct cp_tbuf *cp_tbuf_new(int tid, uint32_t gen)
{
    size_t hdr = header_bytes();
    size_t len = hdr + CP_TRACE_BUF_BYTES + CP_TRACE_MAX_EVENT;
    struct cp_tbuf *b = map(len);
    struct cp_tbuf *head;

    if (!b)
        return NULL;
    b->data = (uint8_t *)b + hdr;
    b->size = CP_TRACE_BUF_BYTES;
    b->map_len = len;
    b->tid = tid;
    atomic_init(&b->dead, 0);
    init_fields(b, gen);
    head = atomic_load_explicit(&cp_tbuf_head, memory_order_relaxed);
    do {
        b->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &cp_tbuf_head, &head, b, memory_order_release, memory_order_relaxed));
    return b;
}

void cp_tbuf_reset(struct cp_tbuf *b, uint32_t gen)
{
    init_fields(b, gen);
}

void cp_tbuf_free(struct cp_tbuf *b)
{
    munmap(b, b->map_len);
}

void cp_tbuf_unlink(struct cp_tbuf *b)
{
    struct cp_tbuf *head = atomic_load_explicit(&cp_tbuf_head,
                                                memory_order_acquire);
    if (head == b &&
        atomic_compare_exchange_strong(&cp_tbuf_head, &head, b->next))
        return;
    /* not the head (any more): pushes only ever change the head, so the
     * predecessor's link is ours to change */
    for (struct cp_tbuf *p = atomic_load(&cp_tbuf_head); p; p = p->next) {
        if (p->next == b) {
            p->next = b->next;
            return;
        }
    }
}
