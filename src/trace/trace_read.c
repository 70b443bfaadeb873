/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_read.c - reader of cprof execution traces (trace_read.h).
 *
 * cp_trace_open walks the chunks once: metadata (INFO, SYNC, STRINGS,
 * STACKS, MAPPINGS, SYMBOLS, END) is decoded into tables, event chunks
 * (BATCH, GLOBAL) are only indexed. cp_trace_scan then decodes the event
 * chunks in file order, with all clock syncs already known, so per-thread
 * clock units become nanoseconds by interpolating between the two sync
 * points around them (exact to the ppm), and extrapolating from the
 * outermost ones (or the nominal rate) beyond them.
 *
 * Every count, length and id in the input is bounded by what is left of
 * the input before anything is allocated for it.
 */
#include "trace/trace_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_format.h"

struct str_ent {
    const char *s; /* NUL-terminated copy, or NULL when undefined */
};

struct stack_ent {
    uint64_t *pcs;
    uint32_t n;
};

struct sym_ent {
    uint64_t pc;
    uint32_t first, n; /* into frames */
};

struct sync_pt {
    uint64_t units;
    int64_t mono, real;
};

struct chunk_ref {
    uint8_t kind;
    size_t off, len;
};

struct tstate {
    int tid;        /* 0: free slot (tid 0 never has a BATCH) */
    uint64_t last;  /* units of the previous event */
    bool broken;    /* damaged batch: skip until the next buffer start */
    bool used;
};

struct kv {
    char *key, *value;
};

struct lost_ent {
    int tid;
    uint64_t n;
};

struct cp_trace {
    const uint8_t *data;
    size_t len;

    struct kv *info;
    int n_info;

    struct str_ent *strs;
    size_t n_strs;
    struct stack_ent *stacks;
    size_t n_stacks;
    struct sym_ent *syms;
    size_t n_syms, cap_syms;
    struct cp_trace_frame *frames;
    size_t n_frames, cap_frames;
    bool syms_sorted;
    struct cp_trace_mapping *maps;
    size_t n_maps, cap_maps;
    struct sync_pt *syncs;
    size_t n_syncs, cap_syncs;
    double nominal_rate; /* units per ns from INFO, 0 if unknown */
    struct chunk_ref *chunks;
    size_t n_chunks, cap_chunks;

    bool complete;
    char truncated[160];
    uint64_t end_events, end_dropped;
    struct lost_ent *unrep;
    size_t n_unrep;
    uint64_t damaged;
    int64_t max_ts;

    struct tstate *ts;
    size_t ts_cap; /* power of two */
    size_t ts_n;
};

/* Timestamps from a damaged or hostile file can be anything: keep them
 * within +-2^61 ns (73 years) so that differences never overflow. */
#define TS_LIMIT ((int64_t)1 << 61)

/* ---- small helpers ---- */

struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t uv(struct rd *r)
{
    uint64_t v = 0;
    if (r->bad || cp_get_uvarint(&r->p, r->end, &v) < 0) {
        r->bad = true;
        return 0;
    }
    return v;
}

static int64_t sv(struct rd *r)
{
    return cp_unzigzag(uv(r));
}

static uint8_t u8(struct rd *r)
{
    if (r->bad || r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

/* A length-prefixed byte string; NULL (and r->bad) past the end. */
static const uint8_t *bytes(struct rd *r, uint64_t *n)
{
    *n = uv(r);
    if (r->bad || *n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    const uint8_t *b = r->p;
    r->p += *n;
    return b;
}

static char *dupn(const uint8_t *b, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t c;
    void *nv;
    if (need <= *cap)
        return 0;
    c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / size)
        return -ENOMEM;
    nv = realloc(*v, c * size);
    if (!nv)
        return -ENOMEM;
    memset((char *)nv + *cap * size, 0, (c - *cap) * size);
    *v = nv;
    *cap = c;
    return 0;
}

/* ---- metadata chunks ---- */

static int read_info(struct cp_trace *t, struct rd *r)
{
    uint64_t n = uv(r);
    if (n > (uint64_t)(r->end - r->p) / 2)
        return -EINVAL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        uint64_t kl, vl;
        const uint8_t *k = bytes(r, &kl), *v = bytes(r, &vl);
        struct kv *nv;
        if (r->bad)
            break;
        nv = realloc(t->info, ((size_t)t->n_info + 1) * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        t->info = nv;
        nv[t->n_info].key = dupn(k, kl);
        nv[t->n_info].value = dupn(v, vl);
        if (!nv[t->n_info].key || !nv[t->n_info].value) {
            free(nv[t->n_info].key);
            free(nv[t->n_info].value);
            return -ENOMEM;
        }
        t->n_info++;
    }
    const char *ups = cp_trace_info(t, "units_per_second");
    if (ups) {
        double d = strtod(ups, NULL);
        if (d > 1e3 && d < 1e12)
            t->nominal_rate = d / 1e9;
    }
    return r->bad ? -EINVAL : 0;
}

static int read_sync(struct cp_trace *t, struct rd *r)
{
    struct sync_pt s;
    uint64_t mono;
    s.units = uv(r);
    mono = uv(r);
    s.real = (int64_t)uv(r);
    if (r->bad || mono > (uint64_t)TS_LIMIT)
        return -EINVAL;
    s.mono = (int64_t)mono;
    /* keep them increasing in both clocks; a bad point is ignored */
    if (t->n_syncs && (s.units <= t->syncs[t->n_syncs - 1].units ||
                       s.mono <= t->syncs[t->n_syncs - 1].mono))
        return 0;
    if (grow((void **)&t->syncs, &t->cap_syncs, t->n_syncs + 1, sizeof s))
        return -ENOMEM;
    t->syncs[t->n_syncs++] = s;
    return 0;
}

/* Ids are dense from 1 in real traces; any id must at least be smaller
 * than the input (each definition takes bytes), which bounds the table. */
static int read_strings(struct cp_trace *t, struct rd *r)
{
    uint64_t n = uv(r);
    if (n > (uint64_t)(r->end - r->p))
        return -EINVAL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        uint64_t id = uv(r), len;
        const uint8_t *b = bytes(r, &len);
        if (r->bad || id == 0 || id >= t->len)
            return -EINVAL;
        if (grow((void **)&t->strs, &t->n_strs, id + 1, sizeof *t->strs))
            return -ENOMEM;
        if (t->strs[id].s)
            continue; /* defined twice: the first stands */
        if (!(t->strs[id].s = dupn(b, len)))
            return -ENOMEM;
    }
    return r->bad ? -EINVAL : 0;
}

static int read_stacks(struct cp_trace *t, struct rd *r)
{
    uint64_t n = uv(r);
    if (n > (uint64_t)(r->end - r->p))
        return -EINVAL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        uint64_t id = uv(r), depth = uv(r), pc = 0;
        uint64_t *pcs;
        if (r->bad || id == 0 || id >= t->len ||
            depth > (uint64_t)(r->end - r->p))
            return -EINVAL;
        pcs = malloc((depth ? depth : 1) * sizeof *pcs);
        if (!pcs)
            return -ENOMEM;
        for (uint64_t k = 0; k < depth; k++) {
            pc = k == 0 ? uv(r) : pc + (uint64_t)sv(r);
            pcs[k] = pc;
        }
        if (r->bad) {
            free(pcs);
            return -EINVAL;
        }
        if (grow((void **)&t->stacks, &t->n_stacks, id + 1,
                 sizeof *t->stacks)) {
            free(pcs);
            return -ENOMEM;
        }
        if (t->stacks[id].pcs) {
            free(pcs);
            continue;
        }
        t->stacks[id].pcs = pcs;
        t->stacks[id].n = (uint32_t)depth;
    }
    return 0;
}

static int read_mappings(struct cp_trace *t, struct rd *r)
{
    uint64_t n = uv(r);
    if (n > (uint64_t)(r->end - r->p))
        return -EINVAL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        struct cp_trace_mapping m;
        m.start = uv(r);
        m.limit = uv(r);
        m.offset = uv(r);
        uint64_t path = uv(r), bid = uv(r);
        if (r->bad)
            return -EINVAL;
        if (grow((void **)&t->maps, &t->cap_maps, t->n_maps + 1, sizeof m))
            return -ENOMEM;
        /* strings resolved now: they are defined before the chunk */
        m.path = cp_trace_str(t, path);
        m.build_id = cp_trace_str(t, bid);
        t->maps[t->n_maps++] = m;
    }
    return 0;
}

static int read_symbols(struct cp_trace *t, struct rd *r)
{
    uint64_t n = uv(r);
    if (n > (uint64_t)(r->end - r->p))
        return -EINVAL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        uint64_t pc = uv(r), nf = uv(r);
        if (r->bad || nf > (uint64_t)(r->end - r->p) / 3 + 1)
            return -EINVAL;
        if (grow((void **)&t->syms, &t->cap_syms, t->n_syms + 1,
                 sizeof *t->syms) ||
            grow((void **)&t->frames, &t->cap_frames, t->n_frames + nf,
                 sizeof *t->frames))
            return -ENOMEM;
        t->syms[t->n_syms] = (struct sym_ent){pc, (uint32_t)t->n_frames,
                                              (uint32_t)nf};
        for (uint64_t k = 0; k < nf; k++) {
            struct cp_trace_frame f;
            f.function = cp_trace_str(t, uv(r));
            f.file = cp_trace_str(t, uv(r));
            f.line = (int64_t)uv(r);
            t->frames[t->n_frames++] = f;
        }
        if (r->bad)
            return -EINVAL;
        t->n_syms++;
    }
    t->syms_sorted = false;
    return 0;
}

static int read_end(struct cp_trace *t, struct rd *r)
{
    uint64_t n;
    t->end_events = uv(r);
    t->end_dropped = uv(r);
    n = uv(r);
    if (r->bad || n > (uint64_t)(r->end - r->p) / 2)
        return -EINVAL;
    free(t->unrep);
    t->unrep = calloc(n ? n : 1, sizeof *t->unrep);
    if (!t->unrep)
        return -ENOMEM;
    t->n_unrep = 0;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        t->unrep[i].tid = (int)uv(r);
        t->unrep[i].n = uv(r);
        t->n_unrep++;
    }
    if (r->bad)
        return -EINVAL;
    t->complete = true;
    return 0;
}

/* ---- open ---- */

static void errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!err || !len)
        return;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

int cp_trace_open(const void *data, size_t len, struct cp_trace **out,
                  char *err, size_t errlen)
{
    const uint8_t *d = data;
    struct cp_trace *t;
    size_t off;
    int r = 0;

    *out = NULL;
    if (len < CP_TRF_HEADER_LEN || memcmp(d, CP_TRF_MAGIC, CP_TRF_MAGIC_LEN)) {
        errf(err, errlen, "not a cprof trace (no \"%s\" header)",
             CP_TRF_MAGIC);
        return -EINVAL;
    }
    if (d[8] != CP_TRF_MAJOR) {
        errf(err, errlen,
             "unsupported trace format version %u.%u (this cprof reads "
             "%d.x)",
             d[8], d[9], CP_TRF_MAJOR);
        return -EINVAL;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->data = d;
    t->len = len;
    t->max_ts = INT64_MIN;
    off = CP_TRF_HEADER_LEN;
    while (off < len) {
        const uint8_t *p = d + off + 1;
        uint64_t clen;
        uint8_t kind = d[off];
        if (cp_get_uvarint(&p, d + len, &clen) < 0 ||
            clen > (uint64_t)(d + len - p)) {
            snprintf(t->truncated, sizeof t->truncated,
                     "the trace ends inside a chunk at byte %zu of %zu (the "
                     "process was cut short or is still writing)",
                     off, len);
            break;
        }
        struct rd rd = {p, p + clen, false};
        size_t coff = (size_t)(p - d);
        switch (kind) {
        case CP_TRC_INFO: r = read_info(t, &rd); break;
        case CP_TRC_SYNC: r = read_sync(t, &rd); break;
        case CP_TRC_STRINGS: r = read_strings(t, &rd); break;
        case CP_TRC_STACKS: r = read_stacks(t, &rd); break;
        case CP_TRC_MAPPINGS: r = read_mappings(t, &rd); break;
        case CP_TRC_SYMBOLS: r = read_symbols(t, &rd); break;
        case CP_TRC_END: r = read_end(t, &rd); break;
        case CP_TRC_BATCH:
        case CP_TRC_GLOBAL:
            r = grow((void **)&t->chunks, &t->cap_chunks, t->n_chunks + 1,
                     sizeof *t->chunks);
            if (r == 0)
                t->chunks[t->n_chunks++] =
                    (struct chunk_ref){kind, coff, (size_t)clen};
            break;
        default: break; /* a newer minor version's chunk */
        }
        if (r == -ENOMEM)
            goto fail;
        if (r < 0) {
            t->damaged++;
            r = 0;
        }
        off = coff + (size_t)clen;
    }
    if (!t->complete && !t->truncated[0])
        snprintf(t->truncated, sizeof t->truncated,
                 "the trace has no end record (the process was killed, or "
                 "is still tracing)");
    *out = t;
    return 0;
fail:
    cp_trace_close(t);
    errf(err, errlen, "out of memory reading the trace");
    return -ENOMEM;
}

void cp_trace_close(struct cp_trace *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_info; i++) {
        free(t->info[i].key);
        free(t->info[i].value);
    }
    free(t->info);
    for (size_t i = 0; i < t->n_strs; i++)
        free((char *)t->strs[i].s);
    free(t->strs);
    for (size_t i = 0; i < t->n_stacks; i++)
        free(t->stacks[i].pcs);
    free(t->stacks);
    free(t->syms);
    free(t->frames);
    free(t->maps);
    free(t->syncs);
    free(t->chunks);
    free(t->unrep);
    free(t->ts);
    free(t);
}

/* ---- lookups ---- */

const char *cp_trace_info(const struct cp_trace *t, const char *key)
{
    for (int i = t->n_info - 1; i >= 0; i--) {
        if (!strcmp(t->info[i].key, key))
            return t->info[i].value;
    }
    return NULL;
}

int cp_trace_info_count(const struct cp_trace *t)
{
    return t->n_info;
}

void cp_trace_info_at(const struct cp_trace *t, int i, const char **key,
                      const char **value)
{
    *key = i >= 0 && i < t->n_info ? t->info[i].key : "";
    *value = i >= 0 && i < t->n_info ? t->info[i].value : "";
}

const char *cp_trace_str(const struct cp_trace *t, uint64_t id)
{
    if (id < t->n_strs && t->strs[id].s)
        return t->strs[id].s;
    return "";
}

int cp_trace_stack(const struct cp_trace *t, uint64_t id,
                   const uint64_t **pcs)
{
    if (id < t->n_stacks && t->stacks[id].pcs) {
        *pcs = t->stacks[id].pcs;
        return (int)t->stacks[id].n;
    }
    *pcs = NULL;
    return 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct sym_ent *x = a, *y = b;
    return (x->pc > y->pc) - (x->pc < y->pc);
}

int cp_trace_symbolize(const struct cp_trace *t, uint64_t pc,
                       const struct cp_trace_frame **frames)
{
    struct cp_trace *m = (struct cp_trace *)t;
    size_t lo = 0, hi;
    if (!m->syms_sorted) {
        if (m->n_syms)
            qsort(m->syms, m->n_syms, sizeof *m->syms, sym_cmp);
        m->syms_sorted = true;
    }
    hi = m->n_syms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].pc < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n_syms && m->syms[lo].pc == pc && m->syms[lo].n) {
        *frames = m->frames + m->syms[lo].first;
        return (int)m->syms[lo].n;
    }
    *frames = NULL;
    return 0;
}

int cp_trace_mappings(const struct cp_trace *t,
                      const struct cp_trace_mapping **out)
{
    *out = t->maps;
    return (int)t->n_maps;
}

int64_t cp_trace_start_ns(const struct cp_trace *t)
{
    const char *s = cp_trace_info(t, "start_monotonic_ns");
    if (t->n_syncs)
        return t->syncs[0].mono;
    return s ? strtoll(s, NULL, 10) : 0;
}

int64_t cp_trace_end_ns(const struct cp_trace *t)
{
    int64_t e = t->n_syncs ? t->syncs[t->n_syncs - 1].mono : 0;
    return t->max_ts > e ? t->max_ts : e;
}

bool cp_trace_complete(const struct cp_trace *t)
{
    return t->complete;
}

const char *cp_trace_truncated(const struct cp_trace *t)
{
    return t->truncated[0] ? t->truncated : NULL;
}

uint64_t cp_trace_end_events(const struct cp_trace *t)
{
    return t->end_events;
}

uint64_t cp_trace_end_dropped(const struct cp_trace *t)
{
    return t->end_dropped;
}

uint64_t cp_trace_unreported(const struct cp_trace *t, int tid)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->n_unrep; i++) {
        if (t->unrep[i].tid == tid)
            n += t->unrep[i].n;
    }
    return n;
}

uint64_t cp_trace_damaged(const struct cp_trace *t)
{
    return t->damaged;
}

/* ---- clock ---- */

/* Units per ns over the whole trace (or the nominal rate). */
static double overall_rate(const struct cp_trace *t)
{
    if (t->n_syncs >= 2) {
        const struct sync_pt *a = &t->syncs[0],
                             *b = &t->syncs[t->n_syncs - 1];
        if (b->mono > a->mono)
            return (double)(b->units - a->units) / (double)(b->mono - a->mono);
    }
    return t->nominal_rate > 0 ? t->nominal_rate : 1.0;
}


static int64_t clamp_ns(double v)
{
    if (!(v > (double)-TS_LIMIT)) /* also NaN */
        return -TS_LIMIT;
    if (v > (double)TS_LIMIT)
        return TS_LIMIT;
    return (int64_t)v;
}

static int64_t units_to_ns(const struct cp_trace *t, uint64_t u)
{
    size_t lo = 0, hi = t->n_syncs;
    const struct sync_pt *a, *b;

    if (!t->n_syncs)
        return clamp_ns((double)u / overall_rate(t));
    /* last sync point with units <= u */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->syncs[mid].units <= u)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        a = &t->syncs[0];
        return clamp_ns((double)a->mono -
                        (double)(a->units - u) / overall_rate(t));
    }
    a = &t->syncs[lo - 1];
    if (lo == t->n_syncs)
        return clamp_ns((double)a->mono +
                        (double)(u - a->units) / overall_rate(t));
    b = &t->syncs[lo];
    return clamp_ns((double)a->mono + (double)(u - a->units) *
                                          ((double)b->mono - (double)a->mono) /
                                          (double)(b->units - a->units));
}

/* ---- scan ---- */

static struct tstate *tstate(struct cp_trace *t, int tid)
{
    size_t i;
    if (t->ts_n * 2 >= t->ts_cap) {
        size_t cap = t->ts_cap ? t->ts_cap * 2 : 64;
        struct tstate *v = calloc(cap, sizeof *v);
        if (!v)
            return NULL;
        for (size_t k = 0; k < t->ts_cap; k++) {
            if (!t->ts[k].used)
                continue;
            i = ((unsigned)t->ts[k].tid * 2654435761u) & (cap - 1);
            while (v[i].used)
                i = (i + 1) & (cap - 1);
            v[i] = t->ts[k];
        }
        free(t->ts);
        t->ts = v;
        t->ts_cap = cap;
    }
    i = ((unsigned)tid * 2654435761u) & (t->ts_cap - 1);
    while (t->ts[i].used && t->ts[i].tid != tid)
        i = (i + 1) & (t->ts_cap - 1);
    if (!t->ts[i].used) {
        t->ts[i].used = true;
        t->ts[i].tid = tid;
        t->ts[i].broken = true; /* until a buffer start says where we are */
        t->ts_n++;
    }
    return &t->ts[i];
}

static void seen(struct cp_trace *t, int64_t ts)
{
    if (ts > t->max_ts)
        t->max_ts = ts;
}

static int scan_batch(struct cp_trace *t, struct rd *r,
                      int (*fn)(const struct cp_trace_event *, void *),
                      void *arg)
{
    int tid = (int)uv(r);
    uint64_t flags = uv(r);
    struct tstate *st;
    int ret;

    if (r->bad) {
        t->damaged++;
        return 0;
    }
    st = tstate(t, tid);
    if (!st)
        return -ENOMEM;
    if (flags & CP_TRB_NEW_BUFFER) {
        st->last = 0;
        st->broken = false;
    }
    if (st->broken)
        return 0; /* its time base is lost: wait for the next buffer */
    while (r->p < r->end) {
        struct cp_trace_event e;
        uint8_t type = u8(r);
        uint64_t len;

        if (type == CP_TRE_PAD)
            continue;
        memset(&e, 0, sizeof e);
        e.tid = tid;
        st->last += uv(r);
        if (type >= CP_TRE_SKIPPABLE) {
            bytes(r, &len);
            if (r->bad)
                break;
            continue;
        }
        switch (type) {
        case CP_TRE_REGION_BEGIN:
            e.type = CP_TEV_REGION_BEGIN;
            e.str = uv(r);
            break;
        case CP_TRE_REGION_END: e.type = CP_TEV_REGION_END; break;
        case CP_TRE_TASK_BEGIN:
            e.type = CP_TEV_TASK_BEGIN;
            e.task = uv(r);
            e.str = uv(r);
            break;
        case CP_TRE_TASK_END:
            e.type = CP_TEV_TASK_END;
            e.task = uv(r);
            break;
        case CP_TRE_LOG:
            e.type = CP_TEV_LOG;
            e.str = uv(r);
            e.msg = (const char *)bytes(r, &len);
            e.msg_len = (size_t)len;
            break;
        case CP_TRE_CPU:
            e.type = CP_TEV_CPU;
            e.value = (int64_t)uv(r);
            break;
        case CP_TRE_BLOCK: {
            uint64_t dur;
            e.type = CP_TEV_BLOCK;
            e.kind = u8(r);
            e.str = uv(r);
            dur = uv(r);
            e.stack = uv(r);
            e.obj = sv(r);
            if (!r->bad)
                e.dur = units_to_ns(t, st->last) -
                        units_to_ns(t, dur <= st->last ? st->last - dur : 0);
            break;
        }
        case CP_TRE_LOST:
            e.type = CP_TEV_LOST;
            e.value = (int64_t)uv(r);
            break;
        case CP_TRE_THREAD_START:
            e.type = CP_TEV_THREAD_START;
            e.value = (int64_t)uv(r);
            e.stack = uv(r);
            e.stack2 = uv(r);
            e.str = uv(r);
            break;
        case CP_TRE_THREAD_EXIT: e.type = CP_TEV_THREAD_EXIT; break;
        case CP_TRE_THREAD_NAME:
            e.type = CP_TEV_THREAD_NAME;
            e.str = uv(r);
            break;
        default:
            r->bad = true; /* unknown and not skippable */
            break;
        }
        if (r->bad)
            break;
        e.ts = units_to_ns(t, st->last);
        seen(t, e.ts);
        ret = fn(&e, arg);
        if (ret)
            return ret;
    }
    if (r->bad) {
        t->damaged++;
        st->broken = true;
    }
    return 0;
}

static int scan_global(struct cp_trace *t, struct rd *r,
                       int (*fn)(const struct cp_trace_event *, void *),
                       void *arg)
{
    int64_t now = clamp_ns((double)uv(r));
    int ret;

    while (!r->bad && r->p < r->end) {
        struct cp_trace_event e;
        uint8_t type = u8(r);
        uint64_t len;

        memset(&e, 0, sizeof e);
        e.from_global = true;
        /* wrapping add (no signed overflow), then into range */
        now = (int64_t)((uint64_t)now + (uint64_t)sv(r));
        if (now > TS_LIMIT || now < -TS_LIMIT)
            now = now > 0 ? TS_LIMIT : -TS_LIMIT;
        e.tid = (int)uv(r);
        e.ts = now;
        if (type >= CP_TRG_SKIPPABLE) {
            bytes(r, &len);
            continue;
        }
        switch (type) {
        case CP_TRG_SAMPLE:
            e.type = CP_TEV_SAMPLE;
            e.value = (int64_t)uv(r);
            e.stack = uv(r);
            e.weight = uv(r);
            break;
        case CP_TRG_SCHED_IN:
            e.type = CP_TEV_SCHED_IN;
            e.value = (int64_t)uv(r);
            break;
        case CP_TRG_SCHED_OUT:
            e.type = CP_TEV_SCHED_OUT;
            e.kind = (int)uv(r);
            break;
        case CP_TRG_COUNTER:
            e.type = CP_TEV_COUNTER;
            e.str = uv(r);
            e.value = sv(r);
            break;
        case CP_TRG_THREAD:
            e.type = CP_TEV_THREAD;
            e.value = (int64_t)uv(r);
            e.stack = uv(r);
            e.stack2 = uv(r);
            e.str = uv(r);
            break;
        case CP_TRG_THREAD_NAME:
            e.type = CP_TEV_THREAD_NAME;
            e.str = uv(r);
            break;
        case CP_TRG_THREAD_GONE: e.type = CP_TEV_THREAD_GONE; break;
        case CP_TRG_SCHED_LOST:
            e.type = CP_TEV_SCHED_LOST;
            e.value = (int64_t)uv(r);
            break;
        case CP_TRG_SCHED_MODE:
            e.type = CP_TEV_SCHED_MODE;
            e.kind = (int)uv(r);
            break;
        default: r->bad = true; break;
        }
        if (r->bad)
            break;
        seen(t, e.ts);
        ret = fn(&e, arg);
        if (ret)
            return ret;
    }
    if (r->bad)
        t->damaged++;
    return 0;
}

int cp_trace_scan(struct cp_trace *t,
                  int (*fn)(const struct cp_trace_event *e, void *arg),
                  void *arg)
{
    int ret = 0;

    /* a new scan starts every thread afresh */
    free(t->ts);
    t->ts = NULL;
    t->ts_cap = t->ts_n = 0;
    for (size_t i = 0; i < t->n_chunks && !ret; i++) {
        const struct chunk_ref *c = &t->chunks[i];
        struct rd r = {t->data + c->off, t->data + c->off + c->len, false};
        if (c->kind == CP_TRC_BATCH)
            ret = scan_batch(t, &r, fn, arg);
        else
            ret = scan_global(t, &r, fn, arg);
    }
    return ret;
}

/* ---- names ---- */

const char *cp_trace_evtype_name(enum cp_trace_evtype type)
{
    static const char *const n[CP_TEV__COUNT] = {
        [CP_TEV_REGION_BEGIN] = "region_begin",
        [CP_TEV_REGION_END] = "region_end",
        [CP_TEV_TASK_BEGIN] = "task_begin",
        [CP_TEV_TASK_END] = "task_end",
        [CP_TEV_LOG] = "log",
        [CP_TEV_CPU] = "cpu",
        [CP_TEV_BLOCK] = "block",
        [CP_TEV_LOST] = "lost",
        [CP_TEV_THREAD_START] = "thread_start",
        [CP_TEV_THREAD_EXIT] = "thread_exit",
        [CP_TEV_THREAD_NAME] = "thread_name",
        [CP_TEV_SAMPLE] = "sample",
        [CP_TEV_SCHED_IN] = "sched_in",
        [CP_TEV_SCHED_OUT] = "sched_out",
        [CP_TEV_COUNTER] = "counter",
        [CP_TEV_THREAD] = "thread",
        [CP_TEV_THREAD_GONE] = "thread_gone",
        [CP_TEV_SCHED_LOST] = "sched_lost",
        [CP_TEV_SCHED_MODE] = "sched_mode",
    };
    return (unsigned)type < CP_TEV__COUNT && n[type] ? n[type] : "?";
}

const char *cp_trace_block_kind_name(int kind)
{
    static const char *const n[CP_TRK__COUNT] = {
        [CP_TRK_MUTEX] = "mutex",   [CP_TRK_RWLOCK_RD] = "rwlock-read",
        [CP_TRK_RWLOCK_WR] = "rwlock-write", [CP_TRK_COND] = "cond",
        [CP_TRK_SEM] = "semaphore", [CP_TRK_JOIN] = "join",
        [CP_TRK_SLEEP] = "sleep",   [CP_TRK_SYSCALL] = "syscall",
    };
    return kind > 0 && kind < CP_TRK__COUNT && n[kind] ? n[kind] : "other";
}
