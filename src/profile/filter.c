/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filter.c - go tool pprof's filters over a struct cp_profile: a faithful
 * transcription of google/pprof profile/filter.go, prune.go, the
 * Aggregate of profile.go and driver/driver_focus.go (Go 1.19's copy),
 * with one difference in mechanism, not in result: a regular expression
 * is evaluated once per function and once per mapping, and the answers
 * are reused for every location and sample that refers to them.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "measure.h"
#include "phash.h"

static const char *S(const struct cp_profile *p, int64_t i)
{
    return cp_profile_string(p, i);
}

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

int cp_regex_compile(regex_t *re, const char *what, const char *pattern,
                     char *err, size_t errlen)
{
    int r = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (r != 0) {
        char why[128];
        regerror(r, re, why, sizeof(why));
        set_err(err, errlen, "parsing %s regexp %s: %s", what, pattern, why);
        return -EINVAL;
    }
    return 0;
}

bool cp_regex_match(const regex_t *re, const char *s)
{
    return regexec(re, s, 0, NULL, 0) == 0;
}

/* ---- per-function / per-mapping match tables ------------------------- */

/* fn[id]: name or file name matches; map[id]: mapping file matches */
struct matches {
    uint8_t *fn;
    uint8_t *map;
};

static int matches_init(struct matches *m, const struct cp_profile *p,
                        const regex_t *re)
{
    m->fn = calloc(p->n_functions + 1, 1);
    m->map = calloc(p->n_mappings + 1, 1);
    if (!m->fn || !m->map) {
        free(m->fn);
        free(m->map);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->n_functions; i++) {
        const struct cp_function *f = &p->functions[i];
        m->fn[i + 1] = cp_regex_match(re, S(p, f->name)) ||
                       cp_regex_match(re, S(p, f->filename));
    }
    for (size_t i = 0; i < p->n_mappings; i++)
        m->map[i + 1] = cp_regex_match(re, S(p, p->mappings[i].filename));
    return 0;
}

static void matches_free(struct matches *m)
{
    free(m->fn);
    free(m->map);
}

static bool fn_matches(const struct matches *m, const struct cp_profile *p,
                       uint64_t fid)
{
    return fid && fid <= p->n_functions && m->fn[fid];
}

static bool map_matches(const struct matches *m, const struct cp_profile *p,
                        uint64_t mid)
{
    return mid && mid <= p->n_mappings && m->map[mid];
}

/* pprof's Location.matchesName */
static bool loc_matches(const struct matches *m, const struct cp_profile *p,
                        const struct cp_location *l)
{
    for (size_t i = 0; i < l->n_lines; i++)
        if (fn_matches(m, p, l->lines[i].function_id))
            return true;
    return map_matches(m, p, l->mapping_id);
}

/* ---- focus / ignore / hide / show ------------------------------------ */

enum { FOI_NONE = 0, FOI_FOCUS = 1, FOI_IGNORE = 2 };

static int filter_by_name(struct cp_profile *p, const regex_t *focus,
                          const regex_t *ignore, const regex_t *hide,
                          const regex_t *show, bool *fm, bool *im, bool *hm,
                          bool *hnm)
{
    struct matches mf = {0}, mi = {0}, mh = {0}, ms = {0};
    uint8_t *foi = calloc(p->n_locations + 1, 1);
    uint8_t *hidden = calloc(p->n_locations + 1, 1);
    int r = -ENOMEM;
    if (!foi || !hidden)
        goto out;
    if ((focus && matches_init(&mf, p, focus) < 0) ||
        (ignore && matches_init(&mi, p, ignore) < 0) ||
        (hide && matches_init(&mh, p, hide) < 0) ||
        (show && matches_init(&ms, p, show) < 0))
        goto out;
    bool any_hidden = false;
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *l = &p->locations[i];
        if (ignore && loc_matches(&mi, p, l)) {
            *im = true;
            foi[i + 1] = FOI_IGNORE;
        } else if (!focus || loc_matches(&mf, p, l)) {
            *fm = true;
            foi[i + 1] = FOI_FOCUS;
        }
        if (hide && loc_matches(&mh, p, l)) {
            *hm = true;
            /* unmatchedLines: nothing when the mapping matches */
            size_t n = 0;
            if (!map_matches(&mh, p, l->mapping_id))
                for (size_t k = 0; k < l->n_lines; k++) {
                    uint64_t f = l->lines[k].function_id;
                    if (f && fn_matches(&mh, p, f))
                        continue;
                    l->lines[n++] = l->lines[k];
                }
            l->n_lines = n;
            if (n == 0) {
                hidden[i + 1] = 1;
                any_hidden = true;
            }
        }
        if (show) {
            /* matchedLines: all when the mapping matches; lines without
             * a function stay */
            if (!map_matches(&ms, p, l->mapping_id)) {
                size_t n = 0;
                for (size_t k = 0; k < l->n_lines; k++) {
                    uint64_t f = l->lines[k].function_id;
                    if (f && cp_profile_function(p, f) &&
                        !fn_matches(&ms, p, f))
                        continue;
                    l->lines[n++] = l->lines[k];
                }
                l->n_lines = n;
            }
            if (l->n_lines == 0) {
                hidden[i + 1] = 1;
                any_hidden = true;
            } else {
                *hnm = true;
            }
        }
    }
    size_t fill = 0;
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        bool f = false, ign = false;
        for (size_t k = 0; k < s->n_locations && !ign; k++) {
            uint64_t id = s->location_ids[k];
            uint8_t v = id <= p->n_locations ? foi[id] : 0;
            if (v == FOI_FOCUS)
                f = true;
            else if (v == FOI_IGNORE)
                ign = true;
        }
        if (!f || ign)
            continue;
        if (any_hidden) {
            size_t n = 0;
            for (size_t k = 0; k < s->n_locations; k++) {
                uint64_t id = s->location_ids[k];
                if (!(id <= p->n_locations && hidden[id]))
                    s->location_ids[n++] = id;
            }
            s->n_locations = n;
            if (n == 0)
                continue;
        }
        p->samples[fill++] = *s;
    }
    p->n_samples = fill;
    r = 0;
out:
    matches_free(&mf);
    matches_free(&mi);
    matches_free(&mh);
    matches_free(&ms);
    free(foi);
    free(hidden);
    return r;
}

/* pprof's ShowFrom */
static int show_from(struct cp_profile *p, const regex_t *re, bool *matched)
{
    struct matches m = {0};
    uint8_t *keep = calloc(p->n_locations + 1, 1);
    if (!keep || matches_init(&m, p, re) < 0) {
        free(keep);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *l = &p->locations[i];
        if (map_matches(&m, p, l->mapping_id)) {
            keep[i + 1] = 1;
            *matched = true;
            continue;
        }
        for (size_t k = l->n_lines; k-- > 0;) {
            uint64_t f = l->lines[k].function_id;
            if (f && fn_matches(&m, p, f)) {
                l->n_lines = k + 1;
                keep[i + 1] = 1;
                *matched = true;
                break;
            }
        }
    }
    size_t fill = 0;
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        for (size_t k = s->n_locations; k-- > 0;) {
            uint64_t id = s->location_ids[k];
            if (id <= p->n_locations && keep[id]) {
                s->n_locations = k + 1;
                p->samples[fill++] = *s;
                break;
            }
        }
    }
    p->n_samples = fill;
    matches_free(&m);
    free(keep);
    return 0;
}

/* ---- numeric label units --------------------------------------------- */

int cp_num_units_init(struct cp_num_units *u, const struct cp_profile *p)
{
    memset(u, 0, sizeof(*u));
    size_t cap = 0;
    for (size_t j = 0; j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        for (size_t i = 0; i < s->n_labels; i++) {
            const struct cp_label *l = &s->labels[i];
            if (l->str || (!l->num && !l->num_unit))
                continue;
            const char *k = S(p, l->key);
            size_t x;
            for (x = 0; x < u->n; x++)
                if (!strcmp(u->keys[x], k))
                    break;
            if (x == u->n) {
                if (u->n == cap) {
                    size_t nc = cap ? cap * 2 : 8;
                    const char **nk = realloc(u->keys, nc * sizeof(*nk));
                    if (!nk)
                        return -ENOMEM;
                    u->keys = nk;
                    const char **nu = realloc(u->units, nc * sizeof(*nu));
                    if (!nu)
                        return -ENOMEM;
                    u->units = nu;
                    cap = nc;
                }
                u->keys[x] = k;
                u->units[x] = "";
                u->n++;
            }
            if (!*u->units[x] && l->num_unit)
                u->units[x] = S(p, l->num_unit);
        }
    }
    for (size_t x = 0; x < u->n; x++)
        if (!*u->units[x])
            u->units[x] = cp_num_units_get(u, u->keys[x]);
    return 0;
}

const char *cp_num_units_get(const struct cp_num_units *u, const char *key)
{
    for (size_t x = 0; x < u->n; x++)
        if (!strcmp(u->keys[x], key) && *u->units[x])
            return u->units[x];
    if (!strcmp(key, "alignment") || !strcmp(key, "request"))
        return "bytes";
    return key;
}

void cp_num_units_free(struct cp_num_units *u)
{
    free(u->keys);
    free(u->units);
    memset(u, 0, sizeof(*u));
}

/* ---- tag filters ------------------------------------------------------ */

enum { RANGE_EQ, RANGE_GE, RANGE_LE, RANGE_BETWEEN };

struct tagfilter {
    bool set, numeric;
    char *key; /* KEY= part, NULL for any key */
    int kind;
    double v1, v2;
    char unit[32];
    regex_t *rx;
    size_t nrx;
    /* (key, value) string index pair -> bit i set when rx i matched */
    struct cp_hindex cache;
    uint64_t *cache_kv;
    uint64_t *cache_bits;
    size_t cache_alloc;
};

/* One match of ([+-]?[[:digit:]]+)([[:alpha:]]+)? at or after *pos. */
static bool range_token(const char *s, size_t *pos, size_t *start,
                        size_t *numend, size_t *end)
{
    for (size_t i = *pos; s[i]; i++) {
        size_t j = i;
        if ((s[j] == '+' || s[j] == '-') && isdigit((unsigned char)s[j + 1]))
            j++;
        else if (!isdigit((unsigned char)s[j]))
            continue;
        while (isdigit((unsigned char)s[j]))
            j++;
        *start = i;
        *numend = j;
        while (isalpha((unsigned char)s[j]))
            j++;
        *end = j;
        *pos = j;
        return true;
    }
    return false;
}

static int parse_int64(const char *s, size_t n, int64_t *v)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *v = x;
    return 0;
}

/* pprof's parseTagFilterRange: 1 when value is a range, 0 when it is not
 * (then it is a regexp), -EINVAL when a number overflows. */
static int parse_range(struct tagfilter *t, const char *f)
{
    size_t pos = 0, s1, n1, e1, s2, n2, e2;
    if (!range_token(f, &pos, &s1, &n1, &e1))
        return 0;
    int64_t v;
    if (parse_int64(f + s1, n1 - s1, &v) < 0)
        return -EINVAL;
    char u1[32];
    snprintf(u1, sizeof(u1), "%.*s", (int)(e1 - n1), f + n1);
    const char *unit = cp_unit_scale(v, u1, u1, &t->v1);
    snprintf(t->unit, sizeof(t->unit), "%s", unit);
    size_t flen = strlen(f), mlen = e1 - s1;
    if (!range_token(f, &pos, &s2, &n2, &e2)) {
        if (s1 == 0 && e1 == flen)
            t->kind = RANGE_EQ;
        else if (s1 == 0 && e1 + 1 == flen && f[e1] == ':')
            t->kind = RANGE_GE;
        else if (s1 == 1 && f[0] == ':' && 1 + mlen == flen)
            t->kind = RANGE_LE;
        else
            return 0;
        return 1;
    }
    if (!(s1 == 0 && f[e1] == ':' && s2 == e1 + 1 && e2 == flen))
        return 0;
    if (parse_int64(f + s2, n2 - s2, &v) < 0)
        return -EINVAL;
    char u2[32];
    snprintf(u2, sizeof(u2), "%.*s", (int)(e2 - n2), f + n2);
    const char *unit2 = cp_unit_scale(v, u2, t->unit, &t->v2);
    if (strcmp(unit2, t->unit))
        return 0;
    t->kind = RANGE_BETWEEN;
    return 1;
}

static void tagfilter_free(struct tagfilter *t)
{
    for (size_t i = 0; i < t->nrx; i++)
        regfree(&t->rx[i]);
    free(t->rx);
    free(t->key);
    cp_hindex_free(&t->cache);
    free(t->cache_kv);
    free(t->cache_bits);
    memset(t, 0, sizeof(*t));
}

static int tagfilter_compile(struct tagfilter *t, const char *name,
                             const char *value, struct cp_dynbuf *warn,
                             char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!value || !*value)
        return 0;
    t->set = true;
    const char *eq = strchr(value, '=');
    if (eq) {
        t->key = strndup(value, (size_t)(eq - value));
        if (!t->key)
            return -ENOMEM;
        value = eq + 1;
    }
    int r = parse_range(t, value);
    if (r < 0) {
        set_err(err, errlen, "parsing %s range %s: number out of range", name,
                value);
        return r;
    }
    if (r == 1) {
        t->numeric = true;
        if (warn)
            cp_dynbuf_printf(warn, "%s:Interpreted '%s' as range, not "
                             "regexp\n", name, value);
        return 0;
    }
    size_t n = 1;
    for (const char *c = value; *c; c++)
        n += *c == ',';
    if (n > 64) {
        set_err(err, errlen, "parsing %s: more than 64 comma-separated "
                "regexps", name);
        return -EINVAL;
    }
    t->rx = calloc(n, sizeof(*t->rx));
    if (!t->rx)
        return -ENOMEM;
    const char *c = value;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(c, ',');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        char *pat = strndup(c, len);
        if (!pat)
            return -ENOMEM;
        r = cp_regex_compile(&t->rx[i], name, pat, err, errlen);
        free(pat);
        if (r < 0)
            return r;
        t->nrx++;
        c = e ? e + 1 : c + len;
    }
    return 0;
}

static bool range_match(const struct tagfilter *t, int64_t v,
                        const char *unit)
{
    double sv;
    const char *su = cp_unit_scale(v, unit, t->unit, &sv);
    if (strcmp(su, t->unit))
        return false;
    switch (t->kind) {
    case RANGE_EQ:
        return sv == t->v1;
    case RANGE_GE:
        return sv >= t->v1;
    case RANGE_LE:
        return sv <= t->v1;
    default:
        return sv >= t->v1 && sv <= t->v2;
    }
}

struct kvctx {
    struct tagfilter *t;
    uint64_t kv;
};

static int kv_eq(void *ctx, size_t e)
{
    struct kvctx *c = ctx;
    return c->t->cache_kv[e] == c->kv;
}

static int cache_arrays(struct tagfilter *t)
{
    if (t->cache_alloc >= t->cache.cap)
        return 0;
    uint64_t *nk = realloc(t->cache_kv, t->cache.cap * sizeof(*nk));
    if (!nk)
        return -ENOMEM;
    t->cache_kv = nk;
    uint64_t *nb = realloc(t->cache_bits, t->cache.cap * sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    t->cache_bits = nb;
    t->cache_alloc = t->cache.cap;
    return 0;
}

/* Bit i: rx i matches "key:value" (any key) or value (KEY= given). */
static uint64_t rx_bits(struct tagfilter *t, const struct cp_profile *p,
                        const struct cp_label *l)
{
    uint64_t kv = (uint64_t)l->key << 32 ^ (uint64_t)l->str;
    uint64_t h = cp_hfinal(cp_hmix(5, kv));
    struct kvctx c = {t, kv};
    size_t slot = 0;
    bool cacheable = false;
    if (cp_hindex_grow(&t->cache, t->cache.n + 1) == 0 &&
        cache_arrays(t) == 0) {
        long e = cp_hindex_find(&t->cache, h, kv_eq, &c, &slot);
        if (e >= 0)
            return t->cache_bits[e];
        cacheable = true;
    }
    uint64_t bits = 0;
    char small[256];
    char *buf = small;
    const char *k = S(p, l->key), *v = S(p, l->str);
    const char *subject = v;
    if (!t->key) {
        size_t need = strlen(k) + strlen(v) + 2;
        if (need > sizeof(small))
            buf = malloc(need);
        if (!buf)
            return 0;
        size_t kl = strlen(k), vl = strlen(v);
        memcpy(buf, k, kl);
        buf[kl] = ':';
        memcpy(buf + kl + 1, v, vl + 1);
        subject = buf;
    }
    for (size_t i = 0; i < t->nrx; i++)
        if (cp_regex_match(&t->rx[i], subject))
            bits |= 1ull << i;
    if (buf != small)
        free(buf);
    if (cacheable) {
        size_t e = cp_hindex_put(&t->cache, slot, h);
        t->cache_kv[e] = kv;
        t->cache_bits[e] = bits;
    }
    return bits;
}

static bool tagfilter_match(struct tagfilter *t, const struct cp_profile *p,
                            const struct cp_num_units *units,
                            const struct cp_sample *s)
{
    if (t->numeric) {
        for (size_t i = 0; i < s->n_labels; i++) {
            const struct cp_label *l = &s->labels[i];
            if (l->str || (!l->num && !l->num_unit))
                continue;
            const char *k = S(p, l->key);
            if (t->key && strcmp(k, t->key))
                continue;
            if (range_match(t, l->num, cp_num_units_get(units, k)))
                return true;
        }
        return false;
    }
    if (!t->key) {
        /* every regexp must match some key:value */
        uint64_t want = t->nrx == 64 ? ~0ull : (1ull << t->nrx) - 1, got = 0;
        for (size_t i = 0; i < s->n_labels; i++)
            if (s->labels[i].str)
                got |= rx_bits(t, p, &s->labels[i]);
        return (got & want) == want;
    }
    for (size_t i = 0; i < s->n_labels; i++) {
        const struct cp_label *l = &s->labels[i];
        if (l->str && !strcmp(S(p, l->key), t->key) && rx_bits(t, p, l))
            return true;
    }
    return false;
}

/* ---- tag names -------------------------------------------------------- */

static void filter_tag_names(struct cp_profile *p, const regex_t *show,
                             const regex_t *hide, bool *sm, bool *hm)
{
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        size_t n = 0;
        for (size_t i = 0; i < s->n_labels; i++) {
            const char *k = S(p, s->labels[i].key);
            bool ms = !show || cp_regex_match(show, k);
            bool mh = hide && cp_regex_match(hide, k);
            *sm = *sm || ms;
            *hm = *hm || mh;
            if (ms && !mh)
                s->labels[n++] = s->labels[i];
        }
        s->n_labels = n;
    }
}

/* ---- simplifyFunc, Prune, PruneFrom ------------------------------------ */

char *cp_simplify_func(char *buf, size_t n, const char *name)
{
    if (name[0] == '.')
        name++;
    size_t len = strlen(name), cut = len;
    static const char anon[] = "(anonymous namespace)";
    static const char opcall[] = "operator()";
    for (size_t i = 0; i < len; i++) {
        if (!strncmp(name + i, anon, sizeof(anon) - 1)) {
            i += sizeof(anon) - 2;
            continue;
        }
        if (!strncmp(name + i, opcall, sizeof(opcall) - 1)) {
            i += sizeof(opcall) - 2;
            continue;
        }
        if (name[i] == '(') {
            cut = i;
            break;
        }
    }
    snprintf(buf, n, "%.*s", (int)cut, name);
    return buf;
}

/* Per function: simplified name matches drop (and not keep). */
static uint8_t *drop_table(const struct cp_profile *p, const regex_t *drop,
                           const regex_t *keep)
{
    uint8_t *t = calloc(p->n_functions + 1, 1);
    if (!t)
        return NULL;
    char small[512];
    for (size_t i = 0; i < p->n_functions; i++) {
        const char *name = S(p, p->functions[i].name);
        if (!*name)
            continue;
        size_t need = strlen(name) + 1;
        char *buf = need > sizeof(small) ? malloc(need) : small;
        if (!buf)
            continue;
        cp_simplify_func(buf, need, name);
        t[i + 1] = cp_regex_match(drop, buf) &&
                   !(keep && cp_regex_match(keep, buf));
        if (buf != small)
            free(buf);
    }
    return t;
}

static int prune(struct cp_profile *p, const regex_t *drop,
                 const regex_t *keep)
{
    uint8_t *fd = drop_table(p, drop, keep);
    uint8_t *st = calloc(p->n_locations + 1, 1); /* 1 prune, 2 beneath */
    if (!fd || !st) {
        free(fd);
        free(st);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *l = &p->locations[i];
        size_t k;
        for (k = l->n_lines; k-- > 0;) {
            uint64_t f = l->lines[k].function_id;
            if (f && f <= p->n_functions && fd[f])
                break;
        }
        if (k == (size_t)-1)
            continue;
        if (k == l->n_lines - 1) {
            st[i + 1] = 1;
        } else {
            st[i + 1] = 2;
            l->lines += k + 1;
            l->n_lines -= k + 1;
        }
    }
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        bool user = false;
        for (size_t k = s->n_locations; k-- > 0;) {
            uint64_t id = s->location_ids[k];
            uint8_t v = id <= p->n_locations ? st[id] : 0;
            if (!v) {
                user = true;
                continue;
            }
            if (!user)
                continue;
            size_t from = v == 1 ? k + 1 : k;
            s->location_ids += from;
            s->n_locations -= from;
            break;
        }
    }
    free(fd);
    free(st);
    return 0;
}

int cp_filter_remove_uninteresting(struct cp_profile *p)
{
    const char *df = S(p, p->drop_frames), *kf = S(p, p->keep_frames);
    if (!*df)
        return 0;
    size_t n = strlen(df) + strlen(kf) + 8;
    char *pat = malloc(n);
    if (!pat)
        return -ENOMEM;
    regex_t drop, keep;
    bool has_keep = false;
    snprintf(pat, n, "^(%s)$", df);
    if (regcomp(&drop, pat, REG_EXTENDED | REG_NOSUB) != 0) {
        free(pat);
        return 0; /* pprof ignores the error */
    }
    if (*kf) {
        snprintf(pat, n, "^(%s)$", kf);
        if (regcomp(&keep, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            regfree(&drop);
            free(pat);
            return 0;
        }
        has_keep = true;
    }
    free(pat);
    int r = prune(p, &drop, has_keep ? &keep : NULL);
    regfree(&drop);
    if (has_keep)
        regfree(&keep);
    return r;
}

void cp_filter_prune_from(struct cp_profile *p, const regex_t *re)
{
    uint8_t *fd = drop_table(p, re, NULL);
    uint8_t *beneath = calloc(p->n_locations + 1, 1);
    if (!fd || !beneath) {
        free(fd);
        free(beneath);
        return;
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        struct cp_location *l = &p->locations[i];
        for (size_t k = 0; k < l->n_lines; k++) {
            uint64_t f = l->lines[k].function_id;
            if (f && f <= p->n_functions && fd[f]) {
                beneath[i + 1] = 1;
                l->lines += k;
                l->n_lines -= k;
                break;
            }
        }
    }
    for (size_t j = 0; j < p->n_samples; j++) {
        struct cp_sample *s = &p->samples[j];
        for (size_t k = 0; k < s->n_locations; k++) {
            uint64_t id = s->location_ids[k];
            if (id <= p->n_locations && beneath[id]) {
                s->location_ids += k;
                s->n_locations -= k;
                break;
            }
        }
    }
    free(fd);
    free(beneath);
}

/* ---- applyFocus -------------------------------------------------------- */

static void warn_line(struct cp_dynbuf *warn, bool ok, const char *what)
{
    if (!ok && warn)
        cp_dynbuf_printf(warn, "%s expression matched no samples\n", what);
}

static bool set(const char *s)
{
    return s && *s;
}

int cp_filter_apply(struct cp_profile *p, const struct cp_filter_opts *o,
                    struct cp_dynbuf *warn, char *err, size_t errlen)
{
    regex_t rx[7];
    bool have[7] = {0};
    const char *pat[7] = {o->focus, o->ignore,  o->hide,   o->show,
                          o->show_from, o->prune_from, NULL};
    const char *what[7] = {"focus", "ignore", "hide", "show", "show_from",
                           "prune_from", NULL};
    struct tagfilter tf = {0}, ti = {0};
    regex_t tshow, thide;
    bool have_tshow = false, have_thide = false;
    struct cp_num_units units = {0};
    int r = 0;
    for (int i = 0; i < 6; i++) {
        if (!set(pat[i]))
            continue;
        r = cp_regex_compile(&rx[i], what[i], pat[i], err, errlen);
        if (r < 0)
            goto out;
        have[i] = true;
    }
    r = cp_num_units_init(&units, p);
    if (r < 0)
        goto out;
    r = tagfilter_compile(&tf, "tagfocus", o->tagfocus, warn, err, errlen);
    if (r < 0)
        goto out;
    r = tagfilter_compile(&ti, "tagignore", o->tagignore, warn, err, errlen);
    if (r < 0)
        goto out;
    if (set(o->tagshow)) {
        r = cp_regex_compile(&tshow, "tagshow", o->tagshow, err, errlen);
        if (r < 0)
            goto out;
        have_tshow = true;
    }
    if (set(o->taghide)) {
        r = cp_regex_compile(&thide, "taghide", o->taghide, err, errlen);
        if (r < 0)
            goto out;
        have_thide = true;
    }

    bool fm = false, im = false, hm = false, hnm = false;
    r = filter_by_name(p, have[0] ? &rx[0] : NULL, have[1] ? &rx[1] : NULL,
                       have[2] ? &rx[2] : NULL, have[3] ? &rx[3] : NULL, &fm,
                       &im, &hm, &hnm);
    if (r < 0)
        goto out;
    warn_line(warn, !have[0] || fm, "Focus");
    warn_line(warn, !have[1] || im, "Ignore");
    warn_line(warn, !have[2] || hm, "Hide");
    warn_line(warn, !have[3] || hnm, "Show");

    if (have[4]) {
        bool sfm = false;
        r = show_from(p, &rx[4], &sfm);
        if (r < 0)
            goto out;
        warn_line(warn, sfm, "ShowFrom");
    }

    if (tf.set || ti.set) {
        bool tfm = false, tim = false;
        size_t fill = 0;
        for (size_t j = 0; j < p->n_samples; j++) {
            struct cp_sample *s = &p->samples[j];
            bool focused = true, ignored = false;
            if (tf.set)
                focused = tagfilter_match(&tf, p, &units, s);
            if (ti.set)
                ignored = tagfilter_match(&ti, p, &units, s);
            tfm = tfm || focused;
            tim = tim || ignored;
            if (focused && !ignored)
                p->samples[fill++] = *s;
        }
        p->n_samples = fill;
        warn_line(warn, !tf.set || tfm, "TagFocus");
        warn_line(warn, !ti.set || tim, "TagIgnore");
    }

    if (have_tshow || have_thide) {
        bool tns = false, tnh = false;
        filter_tag_names(p, have_tshow ? &tshow : NULL,
                         have_thide ? &thide : NULL, &tns, &tnh);
        warn_line(warn, !have_tshow || tns, "TagShow");
        warn_line(warn, !have_thide || tnh, "TagHide");
    }

    if (have[5])
        cp_filter_prune_from(p, &rx[5]);
    r = 0;
out:
    for (int i = 0; i < 6; i++)
        if (have[i])
            regfree(&rx[i]);
    if (have_tshow)
        regfree(&tshow);
    if (have_thide)
        regfree(&thide);
    tagfilter_free(&tf);
    tagfilter_free(&ti);
    cp_num_units_free(&units);
    if (r == -ENOMEM)
        set_err(err, errlen, "out of memory filtering the profile");
    return r;
}

/* ---- granularity -------------------------------------------------------- */

static const char *const gran_names[] = {"functions", "filefunctions",
                                         "files", "lines", "addresses"};

int cp_granularity_parse(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, gran_names[i]))
            return i;
    return -1;
}

const char *cp_granularity_name(enum cp_granularity g)
{
    return (unsigned)g < 5 ? gran_names[g] : "functions";
}

void cp_filter_aggregate(struct cp_profile *p, enum cp_granularity g,
                         bool noinlines)
{
    bool inl = !noinlines, function = false, filename = false,
         linenumber = false, address = false;
    switch (g) {
    case CP_GRAN_ADDRESSES:
        if (inl)
            return;
        function = filename = linenumber = address = true;
        break;
    case CP_GRAN_LINES:
        function = filename = linenumber = true;
        break;
    case CP_GRAN_FILES:
        filename = true;
        break;
    case CP_GRAN_FILEFUNCTIONS:
        function = filename = true;
        break;
    default:
        function = true;
        break;
    }
    for (size_t i = 0; i < p->n_mappings; i++) {
        struct cp_mapping *m = &p->mappings[i];
        m->has_inline_frames = m->has_inline_frames && inl;
        m->has_functions = m->has_functions && function;
        m->has_filenames = m->has_filenames && filename;
        m->has_line_numbers = m->has_line_numbers && linenumber;
    }
    if (!function || !filename)
        for (size_t i = 0; i < p->n_functions; i++) {
            struct cp_function *f = &p->functions[i];
            if (!function) {
                f->name = 0;
                f->system_name = 0;
            }
            if (!filename)
                f->filename = 0;
        }
    if (!inl || !address || !linenumber)
        for (size_t i = 0; i < p->n_locations; i++) {
            struct cp_location *l = &p->locations[i];
            if (!inl && l->n_lines > 1) {
                l->lines += l->n_lines - 1;
                l->n_lines = 1;
            }
            if (!linenumber)
                for (size_t k = 0; k < l->n_lines; k++)
                    l->lines[k].line = 0;
            if (!address)
                l->address = 0;
        }
}

/* ---- sample index ------------------------------------------------------- */

int cp_sample_index(const struct cp_profile *p, const char *name, char *err,
                    size_t errlen)
{
    size_t n = p->n_sample_types;
    if (n == 0) {
        set_err(err, errlen, "profile has no samples");
        return -EINVAL;
    }
    if (!name || !*name) {
        const char *dst = S(p, p->default_sample_type);
        if (*dst)
            for (size_t i = 0; i < n; i++)
                if (!strcmp(S(p, p->sample_types[i].type), dst))
                    return (int)i;
        return (int)n - 1;
    }
    /* Go's strconv.Atoi: optional sign, decimal digits */
    const char *d = name + (*name == '+' || *name == '-');
    bool num = *d != 0;
    for (const char *c = d; *c && num; c++)
        num = isdigit((unsigned char)*c);
    if (num) {
        errno = 0;
        long v = strtol(name, NULL, 10);
        if (errno || v < 0 || (size_t)v >= n) {
            set_err(err, errlen, "sample_index %s is outside the range "
                    "[0..%zu]", name, n - 1);
            return -EINVAL;
        }
        return (int)v;
    }
    const char *noinuse = name;
    if (!strncmp(noinuse, "inuse_", 6))
        noinuse += 6;
    for (size_t i = 0; i < n; i++) {
        const char *t = S(p, p->sample_types[i].type);
        if (!strcmp(t, name) || !strcmp(t, noinuse))
            return (int)i;
    }
    char list[512];
    size_t off = 0;
    list[0] = 0;
    for (size_t i = 0; i < n && off < sizeof(list); i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
                                i ? " " : "", S(p, p->sample_types[i].type));
    set_err(err, errlen, "sample_index \"%s\" must be one of: [%s]", name,
            list);
    return -EINVAL;
}
