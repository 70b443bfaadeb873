/* SPDX-License-Identifier: Apache-2.0 */
/*
 * legacy.c - gperftools, Go debug=1 and other pre-proto profiles into a
 * struct cp_profile, following google/pprof profile/legacy_profile.go
 * (Go 1.19's copy) step for step: the same parsers tried in the same
 * order, the same header rules, the same unsampling arithmetic, the same
 * address adjustments (-1 on return addresses), the same memory-map
 * heuristics (merge split mappings, main binary first, 0x400000 start,
 * a fake mapping for addresses outside every mapping) and the same
 * drop_frames patterns. Go's regular expressions are reproduced by hand
 * where their backtracking matters, and with POSIX regcomp for the two
 * /proc/maps line forms.
 *
 * Input is untrusted (fuzz/fuzz_legacy_text.c, fuzz/fuzz_gperftools.c):
 * every read is bounded by the buffer, every count checked against what
 * is left, every allocation failure reported.
 *
 * Never used in signal context. Thread-safe: yes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legacy.h"
#include "measure.h"
#include "phash.h"

/* ---- intermediate representation ----------------------------------------- */

struct lloc {
    uint64_t addr;
    int32_t map;      /* index into lp.m, -1 none */
    uint32_t newid;   /* 1-based after remapping, 0 unreferenced */
    bool seen;        /* the comments under a record with it were read */
};

struct lsample {
    size_t off, n; /* into lp.sl */
    int64_t v[4];
    int64_t bytes;
    bool has_bytes;
};

struct lmap {
    uint64_t start, limit, offset;
    char *file, *bid;
};

struct lframe {
    char *func, *file;
    int64_t line;
};

struct pcframes {
    uint64_t pc;
    size_t off, n; /* into lp.fr */
};

struct lp {
    int nv;
    const char *st[4][2];
    const char *pt[2];
    int64_t period, duration;
    const char *drop, *keep;
    struct lsample *s;
    size_t ns, cs;
    size_t *sl;
    size_t nsl, csl;
    struct lloc *l;
    size_t nl, cl;
    struct cp_hindex lidx;
    struct lmap *m;
    size_t nm, cm;
    struct lframe *fr;
    size_t nfr, cfr;
    struct pcframes *pcs;
    size_t npcs, cpcs;
    struct cp_hindex pidx;
    bool in_pc;   /* last comment line extended pcs[npcs-1] */
    bool skip_comments; /* the last record's frames all have comments */
    size_t cursor;      /* frame of the last record its comments are at */
    bool no_comments;   /* CP_LEGACY_NO_COMMENTS */
    char *owned;  /* a sample type name read from the input */
    char *err;
    size_t errlen;
    const uint64_t *cand;
};

#define E_UNRECOGNIZED (-ENOTSUP)
#define E_MALFORMED (-EBADMSG)

static int fail(struct lp *lp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct lp *lp, const char *fmt, ...)
{
    if (lp->err && lp->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(lp->err, lp->errlen, fmt, ap);
        va_end(ap);
    }
    return E_MALFORMED;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 4 / elem)
            return -ENOMEM;
        nc *= 2;
    }
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

static void lp_free(struct lp *lp)
{
    free(lp->s);
    free(lp->sl);
    free(lp->l);
    cp_hindex_free(&lp->lidx);
    for (size_t i = 0; i < lp->nm; i++) {
        free(lp->m[i].file);
        free(lp->m[i].bid);
    }
    free(lp->m);
    for (size_t i = 0; i < lp->nfr; i++) {
        free(lp->fr[i].func);
        free(lp->fr[i].file);
    }
    free(lp->fr);
    free(lp->pcs);
    cp_hindex_free(&lp->pidx);
    free(lp->owned);
}

static void lp_reset(struct lp *lp)
{
    char *err = lp->err;
    size_t errlen = lp->errlen;
    lp_free(lp);
    memset(lp, 0, sizeof(*lp));
    lp->err = err;
    lp->errlen = errlen;
}

static int loc_eq(void *ctx, size_t e)
{
    struct lp *lp = ctx;
    return lp->l[e].addr == *lp->cand;
}

/* the location of addr, made on first use */
static long loc_for(struct lp *lp, uint64_t addr)
{
    uint64_t h = cp_hfinal(cp_hmix(8, addr));
    if (cp_hindex_grow(&lp->lidx, lp->nl + 1) < 0 ||
        grow((void **)&lp->l, &lp->cl, lp->nl + 1, sizeof(*lp->l)) < 0)
        return -ENOMEM;
    lp->cand = &addr;
    size_t slot;
    long e = cp_hindex_find(&lp->lidx, h, loc_eq, lp, &slot);
    if (e >= 0)
        return e;
    e = (long)cp_hindex_put(&lp->lidx, slot, h);
    lp->l[e] = (struct lloc){addr, -1, 0, false};
    lp->nl++;
    return e;
}

/* A sample with the given addresses; adjust: subtract 1 from all (2), all
 * but the first (1), or none (0). */
static int add_sample(struct lp *lp, const uint64_t *addrs, size_t n,
                      int adjust, const int64_t *v, bool has_bytes,
                      int64_t bytes)
{
    if (grow((void **)&lp->s, &lp->cs, lp->ns + 1, sizeof(*lp->s)) < 0 ||
        grow((void **)&lp->sl, &lp->csl, lp->nsl + n + 1, sizeof(*lp->sl)) <
            0)
        return -ENOMEM;
    struct lsample *s = &lp->s[lp->ns];
    memset(s, 0, sizeof(*s));
    s->off = lp->nsl;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = addrs[i];
        if (adjust == 2 || (adjust == 1 && i > 0))
            a--;
        long e = loc_for(lp, a);
        if (e < 0)
            return (int)e;
        lp->sl[lp->nsl++] = (size_t)e;
    }
    s->n = n;
    /* Go repeats the same comments under every record: the comments that
     * followed the previous record have been read, and a record whose
     * frames have all been under an earlier one needs no comment parsed */
    if (lp->ns > 0) {
        const struct lsample *prev = &lp->s[lp->ns - 1];
        for (size_t i = 0; i < prev->n; i++)
            lp->l[lp->sl[prev->off + i]].seen = true;
    }
    lp->cursor = 0;
    lp->skip_comments = true;
    for (size_t i = 0; i < n && lp->skip_comments; i++)
        if (!lp->l[lp->sl[s->off + i]].seen)
            lp->skip_comments = false;
    for (int i = 0; i < lp->nv; i++)
        s->v[i] = v[i];
    s->has_bytes = has_bytes;
    s->bytes = bytes;
    lp->ns++;
    return 0;
}

static void sample_remove_loc(struct lp *lp, struct lsample *s, size_t i)
{
    size_t *a = lp->sl + s->off;
    memmove(a + i, a + i + 1, (s->n - i - 1) * sizeof(*a));
    s->n--;
}

/* ---- lines ---------------------------------------------------------------------- */

struct scanner {
    const char *p, *end;
    char *buf; /* current line, NUL-terminated, \r\n stripped */
    size_t cap;
    bool ok;   /* the last scan produced a line */
};

static bool scan(struct scanner *sc)
{
    if (sc->p >= sc->end) {
        sc->ok = false;
        if (sc->buf)
            sc->buf[0] = 0;
        return false;
    }
    const char *nl = memchr(sc->p, '\n', (size_t)(sc->end - sc->p));
    const char *e = nl ? nl : sc->end;
    size_t len = (size_t)(e - sc->p);
    if (len && e[-1] == '\r')
        len--;
    if (len + 1 > sc->cap) {
        size_t nc = sc->cap ? sc->cap : 256;
        while (nc < len + 1)
            nc *= 2;
        char *nb = realloc(sc->buf, nc);
        if (!nb) {
            sc->ok = false;
            return false;
        }
        sc->buf = nb;
        sc->cap = nc;
    }
    memcpy(sc->buf, sc->p, len);
    sc->buf[len] = 0;
    /* a NUL inside the line ends it for our purposes (text formats) */
    sc->p = nl ? nl + 1 : sc->end;
    sc->ok = true;
    return true;
}

static const char *text(const struct scanner *sc)
{
    return sc->ok && sc->buf ? sc->buf : "";
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* TrimSpace into a pointer in s (trailing spaces cut in place) */
static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t l = strlen(s);
    while (l && is_space(s[l - 1]))
        s[--l] = 0;
    return s;
}

static bool space_or_comment(const char *line)
{
    while (is_space(*line))
        line++;
    return *line == 0 || *line == '#';
}

static bool map_sentinel(const char *line)
{
    return strstr(line, "--- Memory map: ---") ||
           strstr(line, "MAPPED_LIBRARIES:");
}

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* Go's strconv.ParseUint(s, 0, 64) on "0x..." and ParseInt(s, 10, 64) */
static int parse_hex0x(const char *s, size_t n, uint64_t *v)
{
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -EINVAL;
    uint64_t x = 0;
    for (size_t i = 2; i < n; i++) {
        int d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -EINVAL;
        if (x > UINT64_MAX >> 4)
            return -ERANGE;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

static int parse_dec(const char *s, size_t n, int64_t *v)
{
    bool neg = false;
    size_t i = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -EINVAL;
    uint64_t x = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    for (; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (x > (lim - d) / 10)
            return -ERANGE;
        x = x * 10 + d;
    }
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

/* hexNumberRE (0x[0-9a-f]+) over s, every match parsed into *out. */
static int hex_addresses(const char *s, uint64_t **out, size_t *n,
                         size_t *cap)
{
    *n = 0;
    for (const char *c = s; *c;) {
        if (c[0] == '0' && c[1] == 'x' &&
            (isdigit((unsigned char)c[2]) || (c[2] >= 'a' && c[2] <= 'f'))) {
            const char *e = c + 2;
            while (isdigit((unsigned char)*e) || (*e >= 'a' && *e <= 'f'))
                e++;
            uint64_t v;
            if (parse_hex0x(c, (size_t)(e - c), &v) < 0)
                return -ERANGE;
            if (grow((void **)out, cap, *n + 1, sizeof(**out)) < 0)
                return -ENOMEM;
            (*out)[(*n)++] = v;
            c = e;
        } else {
            c++;
        }
    }
    return 0;
}

/* ---- symbol comments: "#\t0xPC\tfunc+0xOFF\tfile:line" -------------------- */

static int pc_eq(void *ctx, size_t e)
{
    struct lp *lp = ctx;
    return lp->pcs[e].pc == *lp->cand;
}

static long pc_find(struct lp *lp, uint64_t pc)
{
    if (!lp->npcs)
        return -1;
    uint64_t h = cp_hfinal(cp_hmix(9, pc));
    lp->cand = &pc;
    size_t slot;
    return cp_hindex_find(&lp->pidx, h, pc_eq, lp, &slot);
}

/* Record the frame a comment line names; lines that are not symbol
 * comments are ignored. Consecutive lines with one PC are an inlined
 * chain, innermost first. A PC seen in an earlier record keeps its
 * frames. */
static int symbol_comment(struct lp *lp, const char *line, uint64_t *last_pc)
{
    const char *c = line;
    while (is_space(*c))
        c++;
    if (*c != '#')
        return 0;
    c++;
    while (*c == ' ' || *c == '\t')
        c++;
    const char *pe = c;
    while (*pe && !is_space(*pe))
        pe++;
    uint64_t pc;
    if (parse_hex0x(c, (size_t)(pe - c), &pc) < 0)
        return 0;
    /* Comments follow their record's frames in order: find this PC's
     * frame from where the last one was; when that location's comments
     * were read under an earlier record, this line adds nothing. */
    if (lp->ns > 0) {
        const struct lsample *s = &lp->s[lp->ns - 1];
        while (lp->cursor < s->n) {
            const struct lloc *l = &lp->l[lp->sl[s->off + lp->cursor]];
            if (l->addr == pc || l->addr + 1 == pc) {
                if (l->seen)
                    return 0;
                break;
            }
            lp->cursor++;
        }
        if (lp->cursor == s->n)
            lp->cursor = 0; /* out of order: look it up the slow way */
    }
    c = pe;
    while (*c == ' ' || *c == '\t')
        c++;
    const char *fe = c;
    while (*fe && *fe != '\t')
        fe++;
    if (fe == c)
        return 0; /* "#\t0x0": no symbol */
    /* function: up to "+0x" of the offset */
    const char *plus = NULL;
    for (const char *q = c; q < fe; q++)
        if (q[0] == '+' && q[1] == '0' && q[2] == 'x')
            plus = q;
    size_t flen = (size_t)((plus ? plus : fe) - c);
    while (flen && is_space(c[flen - 1]))
        flen--;
    const char *f = fe;
    while (*f == ' ' || *f == '\t')
        f++;
    char *file = NULL;
    int64_t ln = 0;
    if (*f) {
        size_t l = strlen(f);
        while (l && is_space(f[l - 1]))
            l--;
        const char *colon = NULL;
        for (size_t i = 0; i < l; i++)
            if (f[i] == ':')
                colon = f + i;
        if (colon && parse_dec(colon + 1, (size_t)(f + l - colon - 1), &ln) ==
                         0) {
            file = strndup(f, (size_t)(colon - f));
        } else {
            ln = 0;
            file = strndup(f, l);
        }
        if (!file)
            return -ENOMEM;
    }
    char *func = strndup(c, flen);
    if (!func) {
        free(file);
        return -ENOMEM;
    }
    bool extend = lp->in_pc && *last_pc == pc && lp->npcs &&
                  lp->pcs[lp->npcs - 1].pc == pc;
    if (!extend && pc_find(lp, pc) >= 0) {
        free(func);
        free(file);
        lp->in_pc = false;
        return 0;
    }
    if (grow((void **)&lp->fr, &lp->cfr, lp->nfr + 1, sizeof(*lp->fr)) < 0) {
        free(func);
        free(file);
        return -ENOMEM;
    }
    lp->fr[lp->nfr] = (struct lframe){func, file, ln};
    if (extend) {
        lp->pcs[lp->npcs - 1].n++;
    } else {
        uint64_t h = cp_hfinal(cp_hmix(9, pc));
        if (cp_hindex_grow(&lp->pidx, lp->npcs + 1) < 0 ||
            grow((void **)&lp->pcs, &lp->cpcs, lp->npcs + 1,
                 sizeof(*lp->pcs)) < 0) {
            free(func);
            free(file);
            return -ENOMEM;
        }
        lp->cand = &pc;
        size_t slot = 0;
        cp_hindex_find(&lp->pidx, h, pc_eq, lp, &slot);
        cp_hindex_put(&lp->pidx, slot, h);
        lp->pcs[lp->npcs++] = (struct pcframes){pc, lp->nfr, 1};
    }
    lp->nfr++;
    lp->in_pc = true;
    *last_pc = pc;
    return 0;
}

static int comment_or_skip(struct lp *lp, const char *line, uint64_t *last)
{
    if (lp->skip_comments || lp->no_comments)
        return 0;
    int r = symbol_comment(lp, line, last);
    return r < 0 ? r : 0;
}

/* ---- memory maps ------------------------------------------------------------------ */

#define SP "[[:space:]]"
#define HEX "[[:xdigit:]]"
#define CHEXRANGE                                                            \
    "^" SP "*(0x)?(" HEX "+)[[:space:]-]?" SP "*(0x)?(" HEX "+):?"
static const char proc_maps_re[] =
    CHEXRANGE "(" SP "+([-rwxp]+))?(" SP "+(" HEX "+))?" SP "+" HEX "+:" HEX
              "+" SP "+[[:digit:]]+(" SP "+([^[:space:]]+))?";
static const char brief_maps_re[] =
    CHEXRANGE "(" SP "+([-rwxp]+))?(" SP "+([^[:space:]]+))?(" SP
              "+\\(@(" HEX "+)\\))?(" SP "+(" HEX "+))?";

struct maps_rx {
    regex_t proc, brief;
    bool ok;
};

static char *group(const char *s, const regmatch_t *m)
{
    if (m->rm_so < 0)
        return strdup("");
    return strndup(s + m->rm_so, (size_t)(m->rm_eo - m->rm_so));
}

static int parse_hex_plain(const char *s, uint64_t *v)
{
    if (!*s)
        return -EINVAL;
    uint64_t x = 0;
    for (; *s; s++) {
        int d = isdigit((unsigned char)*s) ? *s - '0'
                                           : (tolower((unsigned char)*s) -
                                              'a' + 10);
        if (x > UINT64_MAX >> 4)
            return -ERANGE;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

/* 1: a mapping (or a skipped non-executable one, *added false), 0:
 * unrecognized, <0: ENOMEM */
static int mapping_entry(struct lp *lp, struct maps_rx *rx, const char *l)
{
    regmatch_t m[16];
    char *start = NULL, *end = NULL, *perm = NULL, *file = NULL,
         *offset = NULL, *bid = NULL;
    if (regexec(&rx->proc, l, 16, m, 0) == 0) {
        start = group(l, &m[2]);
        end = group(l, &m[4]);
        perm = group(l, &m[6]);
        offset = group(l, &m[8]);
        file = group(l, &m[10]);
        bid = strdup("");
    } else if (regexec(&rx->brief, l, 16, m, 0) == 0) {
        start = group(l, &m[2]);
        end = group(l, &m[4]);
        perm = group(l, &m[6]);
        file = group(l, &m[8]);
        offset = group(l, &m[10]);
        bid = group(l, &m[12]);
    } else {
        return 0;
    }
    int r = -ENOMEM;
    if (!start || !end || !perm || !file || !offset || !bid)
        goto out;
    r = 1;
    if (*perm && !strchr(perm, 'x'))
        goto out; /* non-executable */
    struct lmap mp = {0};
    if (parse_hex_plain(start, &mp.start) < 0 ||
        parse_hex_plain(end, &mp.limit) < 0 ||
        (*offset && parse_hex_plain(offset, &mp.offset) < 0)) {
        r = 0;
        goto out;
    }
    if (grow((void **)&lp->m, &lp->cm, lp->nm + 1, sizeof(*lp->m)) < 0) {
        r = -ENOMEM;
        goto out;
    }
    mp.file = file;
    mp.bid = bid;
    file = bid = NULL;
    lp->m[lp->nm++] = mp;
out:
    free(start);
    free(end);
    free(perm);
    free(file);
    free(offset);
    free(bid);
    return r;
}

/* logInfoRE: ^[^\[\]]+:[0-9]+]\s -- a glog prefix */
static const char *remove_logging_info(const char *l)
{
    size_t i = 0;
    while (l[i] && l[i] != '[' && l[i] != ']') {
        i++;
        /* try to end the prefix here: ":[0-9]+]\s" */
        if (l[i] == ':') {
            size_t j = i + 1;
            if (!isdigit((unsigned char)l[j]))
                continue;
            while (isdigit((unsigned char)l[j]))
                j++;
            if (l[j] == ']' && is_space(l[j + 1]))
                return l + j + 2;
        }
    }
    return l;
}

struct attr {
    char *name; /* "$key" */
    char *value;
};

/* strings.NewReplacer(attrs...).Replace(l): at each position the first
 * attribute (in order of definition) that matches is replaced */
static char *replace_attrs(const char *l, const struct attr *a, size_t n)
{
    if (!n)
        return strdup(l);
    size_t cap = strlen(l) + 1, len = 0;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    for (const char *c = l; *c;) {
        const char *val = NULL;
        size_t skip = 1;
        for (size_t i = 0; i < n; i++) {
            size_t kl = strlen(a[i].name);
            if (!strncmp(c, a[i].name, kl)) {
                val = a[i].value;
                skip = kl;
                break;
            }
        }
        const char *add = val ? val : c;
        size_t al = val ? strlen(val) : 1;
        if (len + al + 1 > cap) {
            cap = (len + al + 1) * 2;
            char *no = realloc(o, cap);
            if (!no) {
                free(o);
                return NULL;
            }
            o = no;
        }
        memcpy(o + len, add, al);
        len += al;
        c += skip;
    }
    o[len] = 0;
    return o;
}

static int parse_proc_maps(struct lp *lp, struct scanner *sc)
{
    struct maps_rx rx;
    if (regcomp(&rx.proc, proc_maps_re, REG_EXTENDED) != 0)
        return -ENOMEM;
    if (regcomp(&rx.brief, brief_maps_re, REG_EXTENDED) != 0) {
        regfree(&rx.proc);
        return -ENOMEM;
    }
    struct attr *attrs = NULL;
    size_t na = 0, ca = 0;
    int r = 0;
    while (r >= 0 && scan(sc)) {
        char *line = replace_attrs(remove_logging_info(sc->buf), attrs, na);
        if (!line) {
            r = -ENOMEM;
            break;
        }
        r = mapping_entry(lp, &rx, line);
        if (r == 0) {
            /* attr=value: $attr is replaced on later lines */
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = 0;
                char *k = trim(line), *v = trim(eq + 1);
                if (grow((void **)&attrs, &ca, na + 1, sizeof(*attrs)) < 0) {
                    r = -ENOMEM;
                } else {
                    char *name = malloc(strlen(k) + 2);
                    char *val = strdup(v);
                    if (!name || !val) {
                        free(name);
                        free(val);
                        r = -ENOMEM;
                    } else {
                        name[0] = '$';
                        strcpy(name + 1, k);
                        attrs[na++] = (struct attr){name, val};
                    }
                }
            }
        }
        free(line);
    }
    for (size_t i = 0; i < na; i++) {
        free(attrs[i].name);
        free(attrs[i].value);
    }
    free(attrs);
    regfree(&rx.proc);
    regfree(&rx.brief);
    return r < 0 ? r : 0;
}

static bool adjacent(const struct lmap *a, const struct lmap *b)
{
    if (*a->file && *b->file && strcmp(a->file, b->file))
        return false;
    if (*a->bid && *b->bid && strcmp(a->bid, b->bid))
        return false;
    if (a->limit != b->start)
        return false;
    if (a->offset != 0 && b->offset != 0 &&
        a->offset + (a->limit - a->start) != b->offset)
        return false;
    return true;
}

/* libRx: ([.]so$|[.]so[._][0-9]+) */
static bool is_lib(const char *f)
{
    for (const char *c = strstr(f, ".so"); c; c = strstr(c + 1, ".so")) {
        if (c[3] == 0)
            return true;
        if ((c[3] == '.' || c[3] == '_') && isdigit((unsigned char)c[4]))
            return true;
    }
    return false;
}

static void massage_mappings(struct lp *lp)
{
    if (lp->nm > 1) {
        size_t w = 1;
        for (size_t i = 1; i < lp->nm; i++) {
            struct lmap *last = &lp->m[w - 1], *m = &lp->m[i];
            if (adjacent(last, m)) {
                last->limit = m->limit;
                if (*m->file) {
                    free(last->file);
                    last->file = m->file;
                    m->file = NULL;
                }
                if (*m->bid) {
                    free(last->bid);
                    last->bid = m->bid;
                    m->bid = NULL;
                }
                free(m->file);
                free(m->bid);
                continue;
            }
            lp->m[w++] = *m;
        }
        lp->nm = w;
    }
    /* the main binary first: the first mapping that is not a library */
    for (size_t i = 0; i < lp->nm; i++) {
        const char *f = lp->m[i].file;
        /* strings.TrimSpace(strings.Replace(f, "(deleted)", "", -1)) */
        char *t = malloc(strlen(f) + 1);
        if (!t)
            break;
        size_t n = 0;
        for (const char *c = f; *c;) {
            if (!strncmp(c, "(deleted)", 9)) {
                c += 9;
                continue;
            }
            t[n++] = *c++;
        }
        t[n] = 0;
        char *tt = trim(t);
        bool skip = !*tt || is_lib(tt) || tt[0] == '[';
        free(t);
        if (skip)
            continue;
        struct lmap x = lp->m[0];
        lp->m[0] = lp->m[i];
        lp->m[i] = x;
        break;
    }
}

/* remapLocationIDs + remapMappingIDs */
static int remap(struct lp *lp)
{
    uint32_t next = 1;
    for (size_t j = 0; j < lp->ns; j++) {
        const struct lsample *s = &lp->s[j];
        for (size_t k = 0; k < s->n; k++) {
            struct lloc *l = &lp->l[lp->sl[s->off + k]];
            if (!l->newid)
                l->newid = next++;
        }
    }
    if (lp->nm > 0 && has_prefix(lp->m[0].file, "/anon_hugepage") &&
        lp->nm > 1 && lp->m[0].limit == lp->m[1].start) {
        free(lp->m[0].file);
        free(lp->m[0].bid);
        memmove(lp->m, lp->m + 1, (lp->nm - 1) * sizeof(*lp->m));
        lp->nm--;
    }
    if (lp->nm > 0 && lp->m[0].start - lp->m[0].offset == 0x400000) {
        lp->m[0].start = 0x400000;
        lp->m[0].offset = 0;
    }
    int32_t fake = -1;
    for (size_t i = 0; i < lp->nl; i++) {
        struct lloc *l = &lp->l[i];
        if (!l->newid || l->addr == 0)
            continue;
        uint64_t a = l->addr;
        for (size_t k = 0; k < lp->nm && l->map < 0; k++)
            if (lp->m[k].start <= a && a < lp->m[k].limit)
                l->map = (int32_t)k;
        for (size_t k = 0; k < lp->nm && l->map < 0; k++) {
            struct lmap *m = &lp->m[k];
            if (m->offset != 0 && m->start - m->offset <= a && a < m->start) {
                m->start -= m->offset;
                m->offset = 0;
                l->map = (int32_t)k;
            }
        }
        if (l->map < 0) {
            if (fake < 0) {
                if (grow((void **)&lp->m, &lp->cm, lp->nm + 1,
                         sizeof(*lp->m)) < 0)
                    return -ENOMEM;
                char *f = strdup(""), *b = strdup("");
                if (!f || !b) {
                    free(f);
                    free(b);
                    return -ENOMEM;
                }
                lp->m[lp->nm] = (struct lmap){0, UINT64_MAX, 0, f, b};
                fake = (int32_t)lp->nm++;
            }
            l->map = fake;
        }
    }
    return 0;
}

static int parse_memory_map(struct lp *lp, struct scanner *sc)
{
    int r = parse_proc_maps(lp, sc);
    if (r < 0)
        return r;
    massage_mappings(lp);
    return remap(lp);
}

/* parseAdditionalSections: skip to a memory-map sentinel, read the map */
static int additional_sections(struct lp *lp, struct scanner *sc)
{
    while (!map_sentinel(text(sc)) && scan(sc))
        ;
    return parse_memory_map(lp, sc);
}

/* ---- gperftools' binary CPU profile ------------------------------------------- */

struct words {
    const unsigned char *p;
    size_t n; /* bytes left */
    bool nil; /* Go's "b == nil": ran out */
    int size;
    bool big;
};

static uint64_t word(struct words *w)
{
    if (w->nil || w->n < (size_t)w->size) {
        w->nil = true;
        w->n = 0;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < w->size; i++) {
        int b = w->big ? i : w->size - 1 - i;
        v = v << 8 | w->p[b];
    }
    w->p += w->size;
    w->n -= (size_t)w->size;
    return v;
}

static int parse_cpu(struct lp *lp, const unsigned char *b, size_t len)
{
    static const int sizes[4] = {4, 4, 8, 8};
    static const bool bigs[4] = {false, true, false, true};
    struct words w;
    uint64_t period = 0;
    bool found = false;
    for (int t = 0; t < 4 && !found; t++) {
        w = (struct words){b, len, false, sizes[t], bigs[t]};
        uint64_t n1 = word(&w), n2 = word(&w), n3 = word(&w), n4 = word(&w),
                 n5 = word(&w);
        if (!w.nil && n1 == 0 && n2 == 3 && n3 == 0 && n4 > 0 && n5 == 0) {
            found = true;
            period = n4;
        } else if (!w.nil && n1 == 0 && n2 == 3 && n3 == 1 && n4 > 0 &&
                   n5 == 0) {
            return fail(lp, "Java CPU profiles are not supported");
        }
    }
    if (!found)
        return E_UNRECOGNIZED;
    lp->nv = 2;
    lp->st[0][0] = "samples";
    lp->st[0][1] = "count";
    lp->st[1][0] = "cpu";
    lp->st[1][1] = "nanoseconds";
    lp->pt[0] = "cpu";
    lp->pt[1] = "nanoseconds";
    lp->period = (int64_t)(period * 1000);
    uint64_t *addrs = NULL;
    size_t cap = 0;
    int r = 0;
    while (w.n > 0 && !w.nil) {
        uint64_t count = word(&w), nstk = word(&w);
        if (w.nil || nstk > w.n / 4) {
            r = E_UNRECOGNIZED;
            break;
        }
        if (grow((void **)&addrs, &cap, nstk + 1, sizeof(*addrs)) < 0) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t i = 0; i < nstk; i++)
            addrs[i] = word(&w);
        if (count == 0 && nstk == 1 && addrs[0] == 0)
            break; /* end-of-data marker */
        int64_t v[2] = {(int64_t)count, cp_mul64((int64_t)count, lp->period)};
        r = add_sample(lp, addrs, nstk, 1, v, false, 0);
        if (r < 0)
            break;
        if (w.nil)
            break;
    }
    free(addrs);
    if (r < 0)
        return r;
    /* Frames every sample shares right above the leaf are the signal
     * handler's: strip up to two (pprof keeps one in 32 as margin). */
    size_t margin = lp->ns / 32;
    for (int iter = 0; iter < 2; iter++) {
        /* An address at index 1 of at least ns - margin samples holds a
         * majority of the samples that have one: find the majority
         * candidate (Boyer-Moore), then count it. */
        uint64_t cand = 0;
        size_t votes = 0, count = 0;
        for (size_t j = 0; j < lp->ns; j++) {
            const struct lsample *s = &lp->s[j];
            if (s->n <= 1)
                continue;
            uint64_t a = lp->l[lp->sl[s->off + 1]].addr;
            if (votes == 0) {
                cand = a;
                votes = 1;
            } else {
                votes += a == cand ? 1 : (size_t)-1;
            }
        }
        for (size_t j = 0; j < lp->ns; j++) {
            const struct lsample *s = &lp->s[j];
            if (s->n > 1 && lp->l[lp->sl[s->off + 1]].addr == cand)
                count++;
        }
        if (count == 0 || count < lp->ns - margin)
            continue;
        for (size_t j = 0; j < lp->ns; j++) {
            struct lsample *s = &lp->s[j];
            if (s->n > 1 && lp->l[lp->sl[s->off + 1]].addr == cand)
                sample_remove_loc(lp, s, 1);
        }
    }
    /* the memory map follows the binary data */
    struct scanner sc = {(const char *)w.p, (const char *)w.p + w.n, NULL, 0,
                         false};
    if (w.nil)
        sc.p = sc.end;
    r = parse_memory_map(lp, &sc);
    free(sc.buf);
    if (r < 0)
        return r;
    /* cleanupDuplicateLocations: a leaf seen both from the signal context
     * and from unwinding (adjusted by -1) */
    for (size_t j = 0; j < lp->ns; j++) {
        struct lsample *s = &lp->s[j];
        if (s->n > 1 && lp->l[lp->sl[s->off]].addr ==
                            lp->l[lp->sl[s->off + 1]].addr + 1)
            sample_remove_loc(lp, s, 1);
    }
    return 0;
}

/* ---- heap and growth text profiles ------------------------------------------ */

static size_t digits(const char *s)
{
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    return n;
}

static size_t spaces(const char *s)
{
    size_t n = 0;
    while (s[n] == ' ')
        n++;
    return n;
}

/* "N: N [N: N]" after "heap profile:" at s; fills the four fields */
static const char *heap_counts(const char *s, const char *f[4], size_t fl[4],
                               bool sign)
{
    const char *c = s;
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            if (*c != '[')
                return NULL;
            c++;
            c += spaces(c);
        }
        const char *st = c;
        if (sign && i < 2 && *c == '-')
            c++;
        size_t d = digits(c);
        if (!d)
            return NULL;
        c += d;
        f[i] = st;
        fl[i] = (size_t)(c - st);
        if (i % 2 == 0) {
            if (*c != ':')
                return NULL;
            c++;
        }
        c += spaces(c);
    }
    if (*c != ']')
        return NULL;
    return c + 1;
}

enum { HDR_NONE, HDR_HEAP, HDR_GROWTH, HDR_FRAG };

/* heapHeaderRE, growthHeaderRE, fragmentationHeaderRE (unanchored) */
static int heap_header(const char *line, const char *f[4], size_t fl[4],
                       char *kind, size_t kn, char *period, size_t pn)
{
    for (const char *at = strstr(line, "heap profile:"); at;
         at = strstr(at + 1, "heap profile:")) {
        const char *c = at + 13;
        c += spaces(c);
        const char *e = heap_counts(c, f, fl, false);
        if (!e)
            continue;
        /* growth / fragmentation: "] @ growth" exactly one space */
        if (!strncmp(e, " @ growth", 9))
            return HDR_GROWTH;
        if (!strncmp(e, " @ fragmentation", 16))
            return HDR_FRAG;
        c = e + spaces(e);
        if (*c != '@')
            continue;
        c++;
        c += spaces(c);
        if (strncmp(c, "heap", 4))
            continue;
        const char *k = c;
        c += 4;
        while (*c == '_' || (*c >= 'a' && *c <= 'z') ||
               isdigit((unsigned char)*c))
            c++;
        snprintf(kind, kn, "%.*s", (int)(c - k), k);
        if (*c == '/')
            c++;
        size_t d = digits(c);
        snprintf(period, pn, "%.*s", (int)d, c);
        return HDR_HEAP;
    }
    return HDR_NONE;
}

static bool field_eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && !memcmp(a, b, al);
}

static void scale_heap(int64_t *count, int64_t *size, int64_t rate)
{
    if (*count == 0 || *size == 0) {
        *count = *size = 0;
        return;
    }
    if (rate <= 1)
        return;
    double avg = (double)*size / (double)*count;
    double scale = 1 / (1 - exp(-avg / (double)rate));
    *count = cp_f2i64((double)*count * scale);
    *size = cp_f2i64((double)*size * scale);
}

/* heapSampleRE: (-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*) */
static const char *heap_sample_match(const char *line, const char *f[4],
                                     size_t fl[4])
{
    for (const char *s = line; *s; s++) {
        const char *e = heap_counts(s, f, fl, true);
        if (!e || e[0] != ' ' || e[1] != '@')
            continue;
        return e + 2;
    }
    return NULL;
}

static int parse_heap(struct lp *lp, struct scanner *sc)
{
    if (!scan(sc))
        return E_UNRECOGNIZED;
    const char *f[4];
    size_t fl[4];
    char kind[64] = "", pstr[32] = "";
    int hdr = heap_header(sc->buf, f, fl, kind, sizeof(kind), pstr,
                          sizeof(pstr));
    if (hdr == HDR_NONE)
        return E_UNRECOGNIZED;
    lp->pt[0] = "space";
    lp->pt[1] = "bytes";
    bool v2 = false, has_alloc = false;
    if (hdr == HDR_HEAP) {
        int64_t period = 0;
        if (*pstr && parse_dec(pstr, strlen(pstr), &period) < 0)
            return E_UNRECOGNIZED;
        if ((!field_eq(f[2], fl[2], f[0], fl[0]) &&
             !field_eq(f[2], fl[2], "0", 1)) ||
            (!field_eq(f[3], fl[3], f[1], fl[1]) &&
             !field_eq(f[3], fl[3], "0", 1)))
            has_alloc = true;
        if (!strcmp(kind, "heapz_v2") || !strcmp(kind, "heap_v2")) {
            v2 = true;
        } else if (!strcmp(kind, "heapprofile")) {
            period = 1;
        } else if (!strcmp(kind, "heap")) {
            v2 = true;
            period /= 2;
        } else {
            return E_UNRECOGNIZED;
        }
        lp->period = period;
    } else {
        lp->period = 1;
    }
    if (has_alloc) {
        lp->nv = 4;
        lp->st[0][0] = "alloc_objects";
        lp->st[0][1] = "count";
        lp->st[1][0] = "alloc_space";
        lp->st[1][1] = "bytes";
        lp->st[2][0] = "inuse_objects";
        lp->st[2][1] = "count";
        lp->st[3][0] = "inuse_space";
        lp->st[3][1] = "bytes";
    } else {
        lp->nv = 2;
        lp->st[0][0] = "objects";
        lp->st[0][1] = "count";
        lp->st[1][0] = "space";
        lp->st[1][1] = "bytes";
    }
    uint64_t *addrs = NULL, last_pc = 0;
    size_t na = 0, ca = 0, lineno = 1;
    int r = 0;
    while (r == 0 && scan(sc)) {
        lineno++;
        char *line = trim(sc->buf);
        if (space_or_comment(line)) {
            r = comment_or_skip(lp, line, &last_pc);
            continue;
        }
        lp->in_pc = false;
        if (map_sentinel(line))
            break;
        const char *af = heap_sample_match(line, f, fl);
        if (!af) {
            r = fail(lp, "malformed heap profile line %zu: unexpected number "
                     "of sample values: got 0, want 6", lineno);
            break;
        }
        /* the address list: [ x0-9a-f]* */
        size_t alen = 0;
        while (af[alen] == ' ' || af[alen] == 'x' ||
               isdigit((unsigned char)af[alen]) ||
               (af[alen] >= 'a' && af[alen] <= 'f'))
            alen++;
        int64_t v[4], bytes = 0;
        int nv = 0;
        /* alloc values first when present, then in-use */
        int order[4] = {2, 3, 0, 1};
        int start = has_alloc ? 0 : 2;
        for (int i = start; i < 4; i += 2) {
            int64_t count, size;
            if (parse_dec(f[order[i]], fl[order[i]], &count) < 0 ||
                parse_dec(f[order[i + 1]], fl[order[i + 1]], &size) < 0) {
                r = fail(lp, "malformed heap profile line %zu: number out of "
                         "range", lineno);
                break;
            }
            const char *label = i == 0 ? "allocation" : "inuse";
            if (count == 0 && size != 0) {
                r = fail(lp, "malformed heap profile line %zu: %s count was "
                         "0 but %s bytes was %lld", lineno, label, label,
                         (long long)size);
                break;
            }
            if (count != 0) {
                bytes = cp_div64(size, count);
                if (v2)
                    scale_heap(&count, &size, lp->period);
            }
            v[nv++] = count;
            v[nv++] = size;
        }
        if (r)
            break;
        char *alist = strndup(af, alen);
        if (!alist) {
            r = -ENOMEM;
            break;
        }
        r = hex_addresses(alist, &addrs, &na, &ca);
        free(alist);
        if (r == -ERANGE) {
            r = fail(lp, "malformed heap profile line %zu: failed to parse "
                     "as hex 64-bit number", lineno);
            break;
        }
        if (r == 0)
            r = add_sample(lp, addrs, na, 2, v, true, bytes);
    }
    free(addrs);
    if (r)
        return r;
    return additional_sections(lp, sc);
}

/* ---- Go count profiles (goroutine, threadcreate) -------------------------------- */

static int parse_go_count(struct lp *lp, struct scanner *sc)
{
    while (scan(sc) && space_or_comment(sc->buf))
        ;
    const char *l = text(sc);
    /* countStartRE: \A(\S+) profile: total \d+\z */
    const char *sp = strchr(l, ' ');
    if (!sp || sp == l || strncmp(sp, " profile: total ", 16))
        return E_UNRECOGNIZED;
    const char *d = sp + 16;
    size_t nd = digits(d);
    if (!nd || d[nd])
        return E_UNRECOGNIZED;
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(sp - l), l);
    lp->nv = 1;
    uint64_t *addrs = NULL, last_pc = 0;
    size_t na = 0, ca = 0;
    int r = 0;
    free(lp->owned);
    lp->owned = strdup(name);
    if (!lp->owned)
        return -ENOMEM;
    const char *tname = lp->owned;
    lp->st[0][0] = tname;
    lp->st[0][1] = "count";
    lp->pt[0] = tname;
    lp->pt[1] = "count";
    lp->period = 1;
    while (r == 0 && scan(sc)) {
        const char *line = sc->buf;
        if (space_or_comment(line)) {
            r = comment_or_skip(lp, line, &last_pc);
            continue;
        }
        lp->in_pc = false;
        if (has_prefix(line, "---"))
            break;
        /* countRE: \A(\d+) @(( 0x[0-9a-f]+)+)\z */
        size_t n1 = digits(line);
        const char *c = line + n1;
        if (!n1 || strncmp(c, " @", 2)) {
            r = fail(lp, "malformed count profile line: %.80s", line);
            break;
        }
        c += 2;
        na = 0;
        bool ok = *c == ' ';
        while (ok && *c == ' ') {
            if (c[1] != '0' || c[2] != 'x') {
                ok = false;
                break;
            }
            const char *h = c + 3;
            const char *e = h;
            while (isdigit((unsigned char)*e) || (*e >= 'a' && *e <= 'f'))
                e++;
            if (e == h) {
                ok = false;
                break;
            }
            uint64_t a;
            if (parse_hex0x(c + 1, (size_t)(e - c - 1), &a) < 0) {
                ok = false;
                break;
            }
            if (grow((void **)&addrs, &ca, na + 1, sizeof(*addrs)) < 0) {
                r = -ENOMEM;
                break;
            }
            addrs[na++] = a;
            c = e;
        }
        if (r)
            break;
        if (!ok || *c) {
            r = fail(lp, "malformed count profile line: %.80s", line);
            break;
        }
        /* ParseInt(m[1], 0, 64): a leading 0 means octal */
        char num[32];
        if (n1 >= sizeof(num)) {
            r = fail(lp, "malformed count profile line: %.80s", line);
            break;
        }
        memcpy(num, line, n1);
        num[n1] = 0;
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 0);
        if (errno || *end) {
            r = fail(lp, "malformed count profile line: %.80s", line);
            break;
        }
        int64_t val = v;
        r = add_sample(lp, addrs, na, 2, &val, false, 0);
    }
    free(addrs);
    if (r)
        return r;
    return additional_sections(lp, sc);
}

/* ---- threadz --------------------------------------------------------------------------- */

/* threadStartRE: --- Thread ([[:xdigit:]]+) \(name: (.*)/(\d+)\) stack: --- */
static bool thread_start(const char *l)
{
    for (const char *at = strstr(l, "--- Thread "); at;
         at = strstr(at + 1, "--- Thread ")) {
        const char *c = at + 11;
        size_t n = 0;
        while (isxdigit((unsigned char)c[n]))
            n++;
        if (!n || strncmp(c + n, " (name: ", 8))
            continue;
        const char *name = c + n + 8;
        for (const char *s = name + strlen(name); s-- > name;) {
            if (*s != '/')
                continue;
            size_t d = digits(s + 1);
            if (d && !strncmp(s + 1 + d, ") stack: ---", 12))
                return true;
        }
    }
    return false;
}

static bool threadz_start(const char *l)
{
    for (const char *at = strstr(l, "--- threadz "); at;
         at = strstr(at + 1, "--- threadz ")) {
        size_t d = digits(at + 12);
        if (d && !strncmp(at + 12 + d, " ---", 4))
            return true;
    }
    return false;
}

static int parse_thread(struct lp *lp, struct scanner *sc)
{
    while (scan(sc) && space_or_comment(sc->buf))
        ;
    char *line = strdup(text(sc));
    if (!line)
        return -ENOMEM;
    int r = 0;
    if (threadz_start(line)) {
        while (scan(sc)) {
            if (map_sentinel(sc->buf) || sc->buf[0] == '-')
                break;
        }
        free(line);
        line = strdup(text(sc));
        if (!line)
            return -ENOMEM;
    } else if (!thread_start(line)) {
        free(line);
        return E_UNRECOGNIZED;
    }
    lp->nv = 1;
    lp->st[0][0] = "thread";
    lp->st[0][1] = "count";
    lp->pt[0] = "thread";
    lp->pt[1] = "count";
    lp->period = 1;
    uint64_t *addrs = NULL, *cur = NULL;
    size_t na = 0, ca = 0, nc = 0, cc = 0;
    while (r == 0 && !map_sentinel(line)) {
        if (has_prefix(line, "---- no stack trace for")) {
            line[0] = 0;
            break;
        }
        if (!thread_start(line)) {
            r = E_UNRECOGNIZED;
            break;
        }
        /* parseThreadSample */
        bool same = false;
        na = 0;
        char *next = NULL;
        while (scan(sc)) {
            char *t = trim(sc->buf);
            if (!*t)
                continue;
            if (has_prefix(t, "---")) {
                next = strdup(t);
                break;
            }
            if (strstr(t, "same as previous thread")) {
                same = true;
                continue;
            }
            int e = hex_addresses(t, &cur, &nc, &cc);
            if (e == -ERANGE) {
                r = fail(lp, "malformed thread sample: failed to parse as "
                         "hex 64-bit number");
                break;
            }
            if (e < 0 || grow((void **)&addrs, &ca, na + nc + 1,
                              sizeof(*addrs)) < 0) {
                r = -ENOMEM;
                break;
            }
            if (nc)
                memcpy(addrs + na, cur, nc * sizeof(*cur));
            na += nc;
        }
        free(line);
        line = next ? next : strdup("");
        if (!line) {
            r = -ENOMEM;
            break;
        }
        if (r)
            break;
        if (same || na == 0) {
            if (lp->ns > 0)
                lp->s[lp->ns - 1].v[0]++;
            continue;
        }
        int64_t one = 1;
        r = add_sample(lp, addrs, na, 1, &one, false, 0);
    }
    free(addrs);
    free(cur);
    free(line);
    if (r)
        return r;
    r = additional_sections(lp, sc);
    if (r)
        return r;
    for (size_t j = 0; j < lp->ns; j++) {
        struct lsample *s = &lp->s[j];
        if (s->n > 1 && lp->l[lp->sl[s->off]].addr ==
                            lp->l[lp->sl[s->off + 1]].addr + 1)
            sample_remove_loc(lp, s, 1);
    }
    return 0;
}

/* ---- contention ------------------------------------------------------------------------ */

/* contentionSampleRE: (\d+) *(\d+) @([ x0-9a-f]*), with its backtracking */
static const char *contention_match(const char *l, int64_t *v1, int64_t *v2,
                                    bool *range_err)
{
    for (size_t i = 0; l[i]; i++) {
        size_t L = digits(l + i);
        for (size_t len1 = L; len1 >= 1; len1--) {
            size_t k = i + len1;
            k += spaces(l + k);
            size_t d2 = digits(l + k);
            if (!d2)
                continue;
            size_t m = k + d2;
            if (l[m] != ' ' || l[m + 1] != '@')
                continue;
            if (parse_dec(l + i, len1, v1) < 0 ||
                parse_dec(l + k, d2, v2) < 0)
                *range_err = true;
            return l + m + 2;
        }
    }
    return NULL;
}

static int parse_contention(struct lp *lp, struct scanner *sc)
{
    if (!scan(sc))
        return E_UNRECOGNIZED;
    const char *first = sc->buf;
    if (!has_prefix(first, "--- contentionz ") &&
        !has_prefix(first, "--- mutex:") &&
        !has_prefix(first, "--- contention:"))
        return E_UNRECOGNIZED;
    lp->nv = 2;
    lp->st[0][0] = "contentions";
    lp->st[0][1] = "count";
    lp->st[1][0] = "delay";
    lp->st[1][1] = "nanoseconds";
    lp->pt[0] = "contentions";
    lp->pt[1] = "count";
    lp->period = 1;
    int64_t cpuhz = 0;
    while (scan(sc)) {
        char *line = trim(sc->buf);
        if (space_or_comment(line))
            continue;
        if (has_prefix(line, "---"))
            break;
        char *eq = strchr(line, '=');
        if (!eq)
            break;
        *eq = 0;
        char *key = trim(line), *val = trim(eq + 1);
        char *end;
        errno = 0;
        long long v;
        if (!strcmp(key, "cycles/second") || !strcmp(key, "sampling period") ||
            !strcmp(key, "ms since reset")) {
            v = strtoll(val, &end, 0);
            if (errno || *end || !*val)
                return E_UNRECOGNIZED;
            if (!strcmp(key, "cycles/second"))
                cpuhz = v;
            else if (!strcmp(key, "sampling period"))
                lp->period = v;
            else
                lp->duration = (int64_t)v * 1000 * 1000;
        } else if (!strcmp(key, "discarded samples")) {
            /* nothing */
        } else {
            return E_UNRECOGNIZED; /* format, resolution, unknown */
        }
        /* restore the line for the sample loop below if it breaks here:
         * not needed, attribute lines are consumed */
    }
    uint64_t *addrs = NULL, last_pc = 0;
    size_t na = 0, ca = 0;
    int r = 0;
    /* the line that ended the attributes is the first sample line */
    bool have = sc->ok;
    char *cur = have ? strdup(sc->buf) : strdup("");
    if (!cur)
        return -ENOMEM;
    for (;;) {
        char *line = trim(cur);
        if (has_prefix(line, "---"))
            break;
        if (space_or_comment(line)) {
            r = comment_or_skip(lp, line, &last_pc);
            if (r)
                break;
        } else {
            lp->in_pc = false;
            int64_t v1 = 0, v2 = 0;
            bool rerr = false;
            const char *af = contention_match(line, &v1, &v2, &rerr);
            if (!af) {
                r = E_UNRECOGNIZED;
                break;
            }
            if (rerr) {
                r = fail(lp, "malformed contention sample: number out of "
                         "range");
                break;
            }
            if (lp->period > 0) {
                if (cpuhz > 0) {
                    double ghz = (double)cpuhz / 1e9;
                    v1 = cp_f2i64((double)v1 * (double)lp->period / ghz);
                }
                v2 = cp_mul64(v2, lp->period);
            }
            size_t alen = 0;
            while (af[alen] == ' ' || af[alen] == 'x' ||
                   isdigit((unsigned char)af[alen]) ||
                   (af[alen] >= 'a' && af[alen] <= 'f'))
                alen++;
            char *alist = strndup(af, alen);
            if (!alist) {
                r = -ENOMEM;
                break;
            }
            r = hex_addresses(alist, &addrs, &na, &ca);
            free(alist);
            if (r == -ERANGE) {
                r = fail(lp, "malformed contention sample: failed to parse "
                         "as hex 64-bit number");
                break;
            }
            if (r)
                break;
            int64_t v[2] = {v2, v1};
            r = add_sample(lp, addrs, na, 2, v, false, 0);
            if (r)
                break;
        }
        if (!scan(sc))
            break;
        free(cur);
        cur = strdup(sc->buf);
        if (!cur) {
            r = -ENOMEM;
            break;
        }
    }
    free(cur);
    free(addrs);
    if (r)
        return r;
    return additional_sections(lp, sc);
}

/* ---- to struct cp_profile ------------------------------------------------------------- */

static const char alloc_rx[] =
    "calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|"
    "pvalloc|valloc|realloc|tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|"
    "tc_free|tc_memalign|tc_posix_memalign|tc_pvalloc|tc_valloc|tc_realloc|"
    "tc_new|tc_delete|tc_newarray|tc_deletearray|tc_new_nothrow|"
    "tc_newarray_nothrow|malloc_zone_malloc|malloc_zone_calloc|"
    "malloc_zone_valloc|malloc_zone_realloc|malloc_zone_memalign|"
    "malloc_zone_free|runtime\\..*|BaseArena::.*|(::)?do_malloc_no_errno|"
    "(::)?do_malloc_pages|(::)?do_malloc|DoSampledAllocation|"
    "MallocedMemBlock::MallocedMemBlock|_M_allocate|__builtin_(vec_)?delete|"
    "__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|__libc_malloc|"
    "__malloc_alloc_template::allocate|allocate|cpp_alloc|"
    "operator new(\\[\\])?|simple_alloc::allocate";
static const char alloc_skip_rx[] =
    "runtime\\.panic|runtime\\.reflectcall|runtime\\.call[0-9]*";
static const char cpu_rx[] = "ProfileData::Add|ProfileData::prof_handler|"
                             "CpuProfiler::prof_handler|__pthread_sighandler|"
                             "__restore";
static const char lock_rx[] =
    "RecordLockProfileData|(base::)?RecordLockProfileData.*|"
    "(base::)?SubmitMutexProfileData.*|(base::)?SubmitSpinLockProfileData.*|"
    "(base::Mutex::)?AwaitCommon.*|(base::Mutex::)?Unlock.*|"
    "(base::Mutex::)?UnlockSlow.*|(base::Mutex::)?ReaderUnlock.*|"
    "(base::MutexLock::)?~MutexLock.*|(Mutex::)?AwaitCommon.*|"
    "(Mutex::)?Unlock.*|(Mutex::)?UnlockSlow.*|(Mutex::)?ReaderUnlock.*|"
    "(MutexLock::)?~MutexLock.*|(SpinLock::)?Unlock.*|"
    "(SpinLock::)?SlowUnlock.*|(SpinLockHolder::)?~SpinLockHolder.*";

/* addLegacyFrameInfo */
static void frame_info(struct lp *lp)
{
    static const char *const heapz[][4] = {
        {"allocations", "size"},
        {"objects", "space"},
        {"inuse_objects", "inuse_space"},
        {"alloc_objects", "alloc_space"},
        {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
    };
    for (size_t t = 0; t < 5; t++) {
        int n = t == 4 ? 4 : 2;
        if (lp->nv != n)
            continue;
        bool ok = true;
        for (int i = 0; i < n; i++)
            ok = ok && !strcmp(lp->st[i][0], heapz[t][i]);
        if (ok) {
            lp->drop = alloc_rx;
            lp->keep = alloc_skip_rx;
            return;
        }
    }
    if (lp->nv == 2 && !strcmp(lp->st[0][0], "contentions") &&
        !strcmp(lp->st[1][0], "delay")) {
        lp->drop = lock_rx;
        lp->keep = "";
        return;
    }
    lp->drop = cpu_rx;
    lp->keep = "";
}

struct fnctx {
    const struct cp_profile *p;
    int64_t name, file;
};

static int fn_eq(void *ctx, size_t e)
{
    struct fnctx *c = ctx;
    return c->p->functions[e].name == c->name &&
           c->p->functions[e].filename == c->file;
}

static int to_profile(struct lp *lp, struct cp_profile *p)
{
    for (int i = 0; i < lp->nv; i++)
        if (cp_profile_add_sample_type(p, lp->st[i][0], lp->st[i][1]) < 0)
            return -ENOMEM;
    int64_t a = cp_profile_str(p, lp->pt[0] ? lp->pt[0] : "");
    int64_t b = cp_profile_str(p, lp->pt[1] ? lp->pt[1] : "");
    int64_t d = cp_profile_str(p, lp->drop ? lp->drop : "");
    int64_t k = cp_profile_str(p, lp->keep ? lp->keep : "");
    int64_t bytes = cp_profile_str(p, "bytes");
    if (a < 0 || b < 0 || d < 0 || k < 0 || bytes < 0)
        return -ENOMEM;
    p->period_type.type = a;
    p->period_type.unit = b;
    p->drop_frames = d;
    p->keep_frames = k;
    p->period = lp->period;
    p->duration_nanos = lp->duration;
    /* mappings */
    for (size_t i = 0; i < lp->nm; i++) {
        struct cp_mapping *m = cp_profile_add_mapping(p);
        if (!m)
            return -ENOMEM;
        int64_t f = cp_profile_str(p, lp->m[i].file);
        int64_t bid = cp_profile_str(p, lp->m[i].bid);
        if (f < 0 || bid < 0)
            return -ENOMEM;
        m->memory_start = lp->m[i].start;
        m->memory_limit = lp->m[i].limit;
        m->file_offset = lp->m[i].offset;
        m->filename = f;
        m->build_id = bid;
    }
    /* locations in remapped order, with their symbol comments */
    size_t nloc = 0;
    for (size_t i = 0; i < lp->nl; i++)
        if (lp->l[i].newid)
            nloc++;
    size_t *order = malloc((nloc + 1) * sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < lp->nl; i++)
        if (lp->l[i].newid)
            order[lp->l[i].newid - 1] = i;
    /* Go's printStackRecord leaves out runtime.goexit and the runtime
     * frames under the first frame it shows. In a Go profile (its
     * comments name runtime functions), an address without a comment
     * above (towards the root of) a commented frame is runtime.goexit,
     * and one beneath them is some runtime function: naming them so keeps
     * pprof's pruning of runtime frames what it is with the binary. */
    uint8_t *goexit = NULL; /* 2 commented, 1 goexit, 3 hidden runtime */
    bool go_like = false;
    for (size_t i = 0; i < lp->nfr && !go_like; i++)
        go_like = lp->fr[i].file && has_prefix(lp->fr[i].func, "runtime.");
    if (lp->npcs && go_like) {
        goexit = calloc(lp->nl + 1, 1);
        if (!goexit) {
            free(order);
            return -ENOMEM;
        }
        for (size_t i = 0; i < lp->nl; i++) {
            uint64_t a = lp->l[i].addr;
            if (lp->l[i].newid &&
                (pc_find(lp, a) >= 0 ||
                 (a != UINT64_MAX && pc_find(lp, a + 1) >= 0)))
                goexit[i] = 2;
        }
        for (size_t j = 0; j < lp->ns; j++) {
            const struct lsample *s = &lp->s[j];
            size_t first = s->n;
            for (size_t q = 0; q < s->n && first == s->n; q++)
                if (goexit[lp->sl[s->off + q]] == 2)
                    first = q;
            if (first == s->n)
                continue; /* nothing commented: nothing to infer */
            for (size_t q = 0; q < s->n; q++) {
                size_t li = lp->sl[s->off + q];
                if (goexit[li] == 2 || goexit[li] == 1)
                    continue;
                goexit[li] = q > first ? 1 : 3;
            }
        }
    }
    int64_t goexit_name = 0, hidden_name = 0;
    /* functions from comments, shared by (name, file) */
    struct cp_hindex fx = {0};
    struct fnctx fc = {p, 0, 0};
    int r = 0;
    if (cp_profile_reserve(p, lp->ns, 0, nloc, 0) < 0)
        r = -ENOMEM;
    for (size_t n = 0; n < nloc && r == 0; n++) {
        const struct lloc *ll = &lp->l[order[n]];
        long pf = pc_find(lp, ll->addr);
        if (pf < 0 && ll->addr != UINT64_MAX)
            pf = pc_find(lp, ll->addr + 1);
        size_t nlines = pf >= 0 ? lp->pcs[pf].n : 0;
        int hidden = pf < 0 && goexit ? goexit[order[n]] : 0;
        bool is_goexit = hidden == 1 || hidden == 3;
        struct cp_location *loc =
            cp_profile_add_location(p, is_goexit ? 1 : nlines);
        if (!loc) {
            r = -ENOMEM;
            break;
        }
        loc->address = ll->addr;
        loc->mapping_id = ll->map >= 0 ? (uint64_t)ll->map + 1 : 0;
        if (is_goexit) {
            int64_t *fid = hidden == 1 ? &goexit_name : &hidden_name;
            if (!*fid) {
                struct cp_function *fn = cp_profile_add_function(p);
                int64_t nm = cp_profile_str(p, hidden == 1 ? "runtime.goexit"
                                                           : "runtime.?");
                if (!fn || nm < 0) {
                    r = -ENOMEM;
                    break;
                }
                fn->name = fn->system_name = nm;
                *fid = (int64_t)fn->id;
            }
            loc->lines[0].function_id = (uint64_t)*fid;
        }
        for (size_t q = 0; q < nlines; q++) {
            const struct lframe *fr = &lp->fr[lp->pcs[pf].off + q];
            int64_t name = cp_profile_str(p, fr->func);
            int64_t file = cp_profile_str(p, fr->file ? fr->file : "");
            if (name < 0 || file < 0 ||
                cp_hindex_grow(&fx, p->n_functions + 1) < 0) {
                r = -ENOMEM;
                break;
            }
            uint64_t h = cp_hfinal(cp_hmix(cp_hmix(10, (uint64_t)name),
                                           (uint64_t)file));
            fc.name = name;
            fc.file = file;
            size_t slot;
            long e = cp_hindex_find(&fx, h, fn_eq, &fc, &slot);
            uint64_t fid;
            if (e >= 0) {
                fid = p->functions[e].id;
            } else {
                struct cp_function *fn = cp_profile_add_function(p);
                if (!fn) {
                    r = -ENOMEM;
                    break;
                }
                fn->name = name;
                fn->system_name = name;
                fn->filename = file;
                fid = fn->id;
                cp_hindex_put(&fx, slot, h);
            }
            loc->lines[q].function_id = fid;
            loc->lines[q].line = fr->line;
        }
        if (nlines && loc->mapping_id) {
            struct cp_mapping *m = cp_profile_mapping(p, loc->mapping_id);
            m->has_functions = true;
            m->has_filenames = true;
            m->has_line_numbers = true;
            m->has_inline_frames = true;
        }
    }
    cp_hindex_free(&fx);
    free(goexit);
    free(order);
    if (r)
        return r;
    for (size_t j = 0; j < lp->ns; j++) {
        const struct lsample *s = &lp->s[j];
        struct cp_sample *o = cp_profile_add_sample(p, s->n,
                                                    s->has_bytes ? 1 : 0);
        if (!o)
            return -ENOMEM;
        for (size_t q = 0; q < s->n; q++)
            o->location_ids[q] = lp->l[lp->sl[s->off + q]].newid;
        for (int i = 0; i < lp->nv; i++)
            o->values[i] = s->v[i];
        if (s->has_bytes)
            o->labels[0] = (struct cp_label){.key = bytes, .num = s->bytes};
    }
    return 0;
}

int cp_legacy_parse(const void *data, size_t len, unsigned flags,
                    struct cp_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct lp lp = {.err = err, .errlen = errlen};
    lp.no_comments = flags & CP_LEGACY_NO_COMMENTS;
    if (err && errlen)
        err[0] = 0;
    const char *d = data;
    int r = parse_cpu(&lp, data, len);
    typedef int parser_fn(struct lp *, struct scanner *);
    static parser_fn *const text_parsers[] = {parse_heap, parse_go_count,
                                              parse_thread, parse_contention};
    for (size_t i = 0; r == E_UNRECOGNIZED && i < 4; i++) {
        lp_reset(&lp);
        lp.no_comments = flags & CP_LEGACY_NO_COMMENTS;
        struct scanner sc = {d, d + len, NULL, 0, false};
        r = text_parsers[i](&lp, &sc);
        free(sc.buf);
    }
    if (r == 0) {
        frame_info(&lp);
        r = cp_profile_init(out);
        if (r == 0)
            r = to_profile(&lp, out);
        if (r < 0)
            cp_profile_free(out);
    }
    if (r == -ENOMEM && err && errlen)
        snprintf(err, errlen, "out of memory reading a legacy profile");
    if (r == E_UNRECOGNIZED && err && errlen)
        snprintf(err, errlen, "unrecognized profile format");
    lp_free(&lp);
    return r;
}
