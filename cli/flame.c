/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flame.c - the flame graph's call tree (flame.h): samples walked root
 * first through the report model's frames (graph.h), sorted and merged by
 * common prefix, then written as compact JSON: a
 * string table, frames as numbers, nodes in preorder as numbers. A 100k
 * stack profile becomes a few hundred kB of JSON before gzip, and the page
 * rebuilds the tree from it in one pass.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "merge.h"

#define NONE UINT32_MAX

/* ---- building ----------------------------------------------------------- */

/* A new child of parent for frame func. Stacks arrive sorted, so a
 * (parent, frame) pair is never made twice, and the array was sized for
 * the worst case (one node per frame of every stack): no reallocation,
 * and pages never touched are never faulted in. */
static uint32_t new_node(struct cp_flame *f, uint32_t parent, uint32_t func)
{
    uint32_t id = (uint32_t)f->n_nodes++;
    struct cp_flame_node *n = &f->nodes[id];
    n->func = func;
    n->parent = parent;
    n->depth = f->nodes[parent].depth + 1;
    n->end = 0;
    n->total = n->self = n->btotal = n->bself = 0;
    return id;
}

/* One sample's stack, root first, in the flat frames array. */
struct stk {
    size_t off;
    uint32_t len;
    bool base;
    int64_t v;
};

struct sort_stk {
    const uint32_t *frames;
    const struct stk *st;
};

static int stk_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct sort_stk *c = ctx;
    const struct stk *a = &c->st[*(const uint32_t *)pa];
    const struct stk *b = &c->st[*(const uint32_t *)pb];
    const uint32_t *x = c->frames + a->off, *y = c->frames + b->off;
    uint32_t n = a->len < b->len ? a->len : b->len;
    for (uint32_t k = 0; k < n; k++)
        if (x[k] != y[k])
            return x[k] < y[k] ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A new frame for a group label value (appended after the graph's);
 * the caller looks values up first (label_index). */
static long label_func(struct cp_flame *f, const char *key, const char *val)
{
    size_t kl = strlen(key), vl = strlen(val);
    if (f->n_funcs == f->cap_funcs) {
        size_t cap = f->cap_funcs * 2 + 8;
        struct cp_flame_func *nf = realloc(f->funcs, cap * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        f->funcs = nf;
        f->cap_funcs = cap;
    }
    char **nl = realloc(f->labels, (f->n_labels + 1) * sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    f->labels = nl;
    char *s = malloc(kl + vl + 2);
    if (!s)
        return -ENOMEM;
    memcpy(s, key, kl);
    s[kl] = '=';
    memcpy(s + kl + 1, val, vl + 1);
    f->labels[f->n_labels++] = s;
    struct cp_flame_func *fn = &f->funcs[f->n_funcs++];
    memset(fn, 0, sizeof(*fn));
    fn->name = s;
    fn->file = "";
    fn->lib = "";
    fn->label = true;
    return (long)(f->n_funcs - 1);
}

int cp_flame_build(struct cp_flame *f, struct cp_profile *p,
                   const struct cp_flame_opts *o)
{
    memset(f, 0, sizeof(*f));
    if (o->sample_index < 0 || (size_t)o->sample_index >= p->n_sample_types)
        return -EINVAL;
    /* Only the frame identities are needed (cp_graph_location_nodes,
     * cp_graph_node_info cover every node, trimmed or not): keeping a
     * single node spares the edges of the whole graph, most of the cost
     * of a large profile. */
    struct cp_graph_opts go = CP_GRAPH_OPTS_INIT;
    go.sample_index = o->sample_index;
    go.node_fraction = 0;
    go.edge_fraction = 0;
    go.node_count = 1;
    int r = cp_graph_new(&f->g, p, &go);
    if (r < 0)
        return r;
    r = -ENOMEM;
    size_t nid = cp_graph_n_ids(&f->g);
    f->cap_funcs = nid + 8;
    f->funcs = calloc(f->cap_funcs, sizeof(*f->funcs));
    if (!f->funcs)
        goto fail;
    for (size_t i = 0; i < nid; i++) {
        struct cp_graph_node gn;
        cp_graph_node_info(&f->g, (uint32_t)i, &gn);
        struct cp_flame_func *fn = &f->funcs[i];
        fn->name = gn.printable && *gn.printable ? gn.printable : gn.name;
        fn->file = gn.file;
        fn->line = gn.lineno ? gn.lineno : gn.start_line;
        fn->lib = "";
    }
    f->n_funcs = nid;
    if (o->fn_files) {
        const char **files = malloc((nid + 1) * sizeof(*files));
        int64_t *lines = malloc((nid + 1) * sizeof(*lines));
        if (!files || !lines) {
            free(files);
            free(lines);
            goto fail;
        }
        cp_flame_node_files(&f->g, p, o->fn_files, o->fn_lines, files, lines);
        for (size_t i = 0; i < nid; i++) {
            if (!*f->funcs[i].file)
                f->funcs[i].file = files[i];
            if (!f->funcs[i].line)
                f->funcs[i].line = lines[i];
        }
        free(files);
        free(lines);
    }
    /* a frame's library: the mapping of the first location that has it */
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        const struct cp_mapping *m = cp_profile_mapping(p, l->mapping_id);
        if (!m)
            continue;
        const char *lib = base_name(cp_profile_string(p, m->filename));
        size_t n;
        const uint32_t *ids = cp_graph_location_nodes(&f->g, l->id, &n);
        for (size_t k = 0; k < n; k++)
            if (!*f->funcs[ids[k]].lib)
                f->funcs[ids[k]].lib = lib;
    }

    /*
     * Every sample's frames, root first, into one array; sort the stacks
     * so that stacks sharing a prefix are neighbours; then build the tree
     * in one pass, keeping the path of the previous stack. No hash table:
     * the nodes come out in preorder, and the pass reads memory in order
     * (a 100k-stack profile builds in tens of ms, not a second).
     */
    const char *group = o->group && *o->group ? o->group : NULL;
    int si = o->sample_index;
    /* group values by string index (strings are canonical: one index per
     * value), so a profile with thousands of threads stays linear */
    int64_t *lkey = NULL;
    uint32_t *lval = NULL;
    size_t lcap = 0, lused = 0;
    uint32_t *frames = NULL, *order = NULL, *cur = NULL, *prev = NULL;
    struct stk *st = NULL;
    size_t nfr = 0, capfr = 0, nst = 0;
    st = malloc((p->n_samples + 1) * sizeof(*st));
    if (!st)
        goto fail_build;
    for (size_t s = 0; s < p->n_samples; s++) {
        const struct cp_sample *sm = &p->samples[s];
        int64_t v = sm->values[si];
        if (!v)
            continue;
        bool base = false;
        const char *gval = NULL;
        int64_t gidx = -1; /* -1: the sample has no such label */
        for (size_t k = 0; k < sm->n_labels; k++) {
            const struct cp_label *lb = &sm->labels[k];
            if (!lb->str)
                continue;
            const char *key = cp_profile_string(p, lb->key);
            if (!strcmp(key, CP_FLAME_BASE_LABEL)) {
                base = true;
            } else if (group && !gval && !strcmp(key, group)) {
                gval = cp_profile_string(p, lb->str);
                gidx = lb->str;
            }
        }
        if (base)
            f->diff = true;
        /* room for the label frame and every location's lines */
        size_t need = 1;
        for (size_t li = 0; li < sm->n_locations; li++) {
            size_t n;
            cp_graph_location_nodes(&f->g, sm->location_ids[li], &n);
            need += n;
        }
        if (nfr + need > capfr) {
            capfr = (nfr + need) * 2 + 1024;
            uint32_t *nf2 = realloc(frames, capfr * sizeof(*nf2));
            if (!nf2)
                goto fail_build;
            frames = nf2;
        }
        struct stk *t = &st[nst++];
        t->off = nfr;
        t->base = base;
        t->v = v;
        if (group) {
            if ((lused + 1) * 2 > lcap) {
                size_t ncap = lcap ? lcap * 2 : 64;
                int64_t *nk = malloc(ncap * sizeof(*nk));
                uint32_t *nv = malloc(ncap * sizeof(*nv));
                if (!nk || !nv) {
                    free(nk);
                    free(nv);
                    goto fail_build;
                }
                for (size_t k = 0; k < ncap; k++)
                    nk[k] = INT64_MIN;
                for (size_t k = 0; k < lcap; k++) {
                    if (lkey[k] == INT64_MIN)
                        continue;
                    size_t h =
                        (size_t)((uint64_t)lkey[k] * 0x9e3779b97f4a7c15ull >>
                                 20) &
                        (ncap - 1);
                    while (nk[h] != INT64_MIN)
                        h = (h + 1) & (ncap - 1);
                    nk[h] = lkey[k];
                    nv[h] = lval[k];
                }
                free(lkey);
                free(lval);
                lkey = nk;
                lval = nv;
                lcap = ncap;
            }
            size_t h = (size_t)((uint64_t)gidx * 0x9e3779b97f4a7c15ull >> 20) &
                       (lcap - 1);
            while (lkey[h] != INT64_MIN && lkey[h] != gidx)
                h = (h + 1) & (lcap - 1);
            if (lkey[h] == INT64_MIN) {
                long lf = label_func(f, group, gval ? gval : "");
                if (lf < 0)
                    goto fail_build;
                lkey[h] = gidx;
                lval[h] = (uint32_t)lf;
                lused++;
            }
            frames[nfr++] = lval[h];
        }
        /* locations are leaf first, a location's lines innermost first */
        for (size_t li = sm->n_locations; li-- > 0;) {
            size_t n;
            const uint32_t *ids =
                cp_graph_location_nodes(&f->g, sm->location_ids[li], &n);
            for (size_t k = n; k-- > 0;)
                frames[nfr++] = ids[k];
        }
        t->len = (uint32_t)(nfr - t->off);
    }
    f->n_samples = nst;
    if (nfr >= UINT32_MAX - 1)
        goto fail_build;
    f->cap_nodes = nfr + 1;
    f->nodes = malloc(f->cap_nodes * sizeof(*f->nodes));
    if (!f->nodes)
        goto fail_build;
    memset(&f->nodes[0], 0, sizeof(f->nodes[0]));
    f->nodes[0].func = NONE;
    f->n_nodes = 1;
    order = malloc((nst + 1) * sizeof(*order));
    if (!order)
        goto fail_build;
    for (size_t k = 0; k < nst; k++)
        order[k] = (uint32_t)k;
    struct sort_stk sc = {frames, st};
    qsort_r(order, nst, sizeof(*order), stk_cmp, &sc);
    /* path[k]: node of the previous stack at depth k + 1 */
    uint32_t maxlen = 1;
    for (size_t k = 0; k < nst; k++)
        if (st[k].len + 1 > maxlen)
            maxlen = st[k].len + 1;
    cur = malloc((size_t)maxlen * sizeof(*cur));
    if (!cur)
        goto fail_build;
    const uint32_t *pfr = NULL;
    uint32_t plen = 0;
    for (size_t k = 0; k < nst; k++) {
        const struct stk *t = &st[order[k]];
        const uint32_t *fr = frames + t->off;
        uint32_t lcp = 0;
        while (lcp < plen && lcp < t->len && pfr[lcp] == fr[lcp])
            lcp++;
        uint32_t parent = lcp ? cur[lcp - 1] : 0;
        for (uint32_t d = lcp; d < t->len; d++) {
            parent = new_node(f, parent, fr[d]);
            cur[d] = parent;
        }
        pfr = fr;
        plen = t->len;
        uint32_t leaf = t->len ? cur[t->len - 1] : 0;
        if (t->base)
            f->nodes[leaf].bself -= t->v;
        else
            f->nodes[leaf].self += t->v;
        for (uint32_t d = 0; d < t->len; d++) {
            if (t->base)
                f->nodes[cur[d]].btotal -= t->v;
            else
                f->nodes[cur[d]].total += t->v;
        }
        if (t->base)
            f->nodes[0].btotal -= t->v;
        else
            f->nodes[0].total += t->v;
    }
    /* the sorted build made the nodes preorder: close each subtree */
    {
        uint32_t *open = cur; /* reuse: depth never exceeds maxlen */
        uint32_t top = 0;
        for (size_t i = 0; i < f->n_nodes; i++) {
            uint32_t d = f->nodes[i].depth;
            while (top && f->nodes[open[top - 1]].depth >= d)
                f->nodes[open[--top]].end = (uint32_t)i;
            if (top < maxlen)
                open[top++] = (uint32_t)i;
        }
        while (top)
            f->nodes[open[--top]].end = (uint32_t)f->n_nodes;
    }
    free(frames);
    free(order);
    free(cur);
    free(prev);
    free(st);
    free(lkey);
    free(lval);
    return 0;
fail_build:
    free(lkey);
    free(lval);
    free(frames);
    free(order);
    free(cur);
    free(prev);
    free(st);
fail:
    cp_flame_free(f);
    return r;
}

void cp_flame_node_files(const struct cp_graph *g, const struct cp_profile *p,
                         const int64_t *fn_files, const int64_t *fn_lines,
                         const char **files, int64_t *lines)
{
    size_t nid = cp_graph_n_ids(g);
    for (size_t i = 0; i < nid; i++) {
        files[i] = "";
        lines[i] = 0;
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        size_t n;
        const uint32_t *ids = cp_graph_location_nodes(g, l->id, &n);
        /* one node per line of the location, in the same order */
        for (size_t k = 0; k < n && k < l->n_lines; k++) {
            uint64_t fid = l->lines[k].function_id;
            if (!fid || fid > p->n_functions || *files[ids[k]])
                continue;
            files[ids[k]] = cp_profile_string(p, fn_files[fid - 1]);
            lines[ids[k]] = fn_lines ? fn_lines[fid - 1] : 0;
        }
    }
}

void cp_flame_free(struct cp_flame *f)
{
    cp_graph_free(&f->g);
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->labels);
    free(f->nodes);
    free(f->funcs);
    memset(f, 0, sizeof(*f));
}

long cp_flame_find(const struct cp_flame *f, const char *const *path, size_t n)
{
    uint32_t cur = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t c = cur + 1, found = 0;
        for (; c < f->nodes[cur].end; c = f->nodes[c].end)
            if (!strcmp(f->funcs[f->nodes[c].func].name, path[k])) {
                found = c;
                break;
            }
        if (!found)
            return -1;
        cur = found;
    }
    return (long)cur;
}

/* ---- JSON --------------------------------------------------------------- */

int cp_json_escape(struct cp_dynbuf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    int r = cp_dynbuf_reserve(out, n + 2);
    if (r < 0)
        return r;
    r = cp_dynbuf_add(out, "\"", 1);
    size_t i = 0, run = 0;
    while (i < n && r == 0) {
        unsigned char c = u[i];
        size_t len = 0;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            i++;
            continue;
        }
        if (run) {
            r = cp_dynbuf_add(out, u + i - run, run);
            run = 0;
            if (r < 0)
                break;
        }
        if (c < 0x80) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '"' || c == '\\') {
                e[1] = (char)c;
                r = cp_dynbuf_add(out, e, 2);
            } else {
                r = cp_dynbuf_add(out, e, 6);
            }
            i++;
            continue;
        }
        /* validate one UTF-8 sequence (no overlongs, no surrogates) */
        uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        }
        bool ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                ok = false;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if (ok &&
            ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
             (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = false;
        if (ok) {
            r = cp_dynbuf_add(out, u + i, len);
            i += len;
        } else {
            r = cp_dynbuf_add(out, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    if (run && r == 0)
        r = cp_dynbuf_add(out, u + i - run, run);
    if (r == 0)
        r = cp_dynbuf_add(out, "\"", 1);
    return r;
}

/* Decimal digits, faster than printf for the million numbers of a tree. */
static int put_i64(struct cp_dynbuf *out, int64_t v)
{
    char buf[24], *e = buf + sizeof(buf), *q = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    *--q = ',';
    return cp_dynbuf_add(out, q, (size_t)(e - q));
}

/* String table of the output: strings deduplicated by content. */
struct strtab {
    const char **v;
    size_t n, cap;
    uint32_t *h;
    size_t hcap;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long strtab_add(struct strtab *t, const char *s)
{
    if ((t->n + 1) * 2 > t->hcap) {
        size_t cap = t->hcap ? t->hcap * 2 : 256;
        uint32_t *h = malloc(cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        memset(h, 0xff, cap * sizeof(*h));
        for (size_t i = 0; i < t->n; i++) {
            size_t k = str_hash(t->v[i]) & (cap - 1);
            while (h[k] != NONE)
                k = (k + 1) & (cap - 1);
            h[k] = (uint32_t)i;
        }
        free(t->h);
        t->h = h;
        t->hcap = cap;
    }
    size_t k = str_hash(s) & (t->hcap - 1);
    for (; t->h[k] != NONE; k = (k + 1) & (t->hcap - 1))
        if (!strcmp(t->v[t->h[k]], s))
            return t->h[k];
    if (t->n == t->cap) {
        size_t cap = t->cap * 2 + 64;
        const char **nv = realloc(t->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = cap;
    }
    t->v[t->n] = s;
    t->h[k] = (uint32_t)t->n;
    return (long)t->n++;
}

static int64_t weight(const struct cp_flame *f, const struct cp_flame_node *n)
{
    int64_t a = n->total < 0 ? -n->total : n->total;
    if (!f->diff)
        return a;
    int64_t b = n->btotal < 0 ? -n->btotal : n->btotal;
    return a > b ? a : b;
}

struct sort_ctx {
    const struct cp_flame *f;
};

static int by_total(const void *pa, const void *pb, void *ctx)
{
    const struct cp_flame *f = ((struct sort_ctx *)ctx)->f;
    const struct cp_flame_node *a = &f->nodes[*(const uint32_t *)pa];
    const struct cp_flame_node *b = &f->nodes[*(const uint32_t *)pb];
    int64_t wa = weight(f, a), wb = weight(f, b);
    if (wa != wb)
        return wa > wb ? -1 : 1;
    return strcmp(f->funcs[a->func].name, f->funcs[b->func].name);
}

int cp_flame_json(const struct cp_flame *f, uint32_t root, double minfrac,
                  struct cp_dynbuf *out)
{
    if (root >= f->n_nodes)
        return -EINVAL;
    int r = -ENOMEM;
    struct strtab st = {0};
    uint32_t *fmap = malloc((f->n_funcs + 1) * sizeof(*fmap));
    uint32_t *fused = malloc((f->n_funcs + 1) * sizeof(*fused));
    uint32_t *stack = NULL, *kids = NULL;
    size_t n_used = 0, sp = 0, scap = 0, kcap = 0;
    struct cp_dynbuf nodes;
    cp_dynbuf_init(&nodes, out->limit);
    if (!fmap || !fused)
        goto out;
    memset(fmap, 0xff, (f->n_funcs + 1) * sizeof(*fmap));
    int64_t minval = (int64_t)((double)weight(f, &f->nodes[root]) * minfrac);
    if (minval < 1)
        minval = 1;
    size_t cut = 0;
    struct sort_ctx sc = {f};
    int stride = f->diff ? 6 : 4;
    uint32_t rdepth = f->nodes[root].depth;
    /* preorder: pop a node, write it, push its kept children in reverse */
    scap = 1024;
    stack = malloc(scap * sizeof(*stack));
    if (!stack)
        goto out;
    stack[sp++] = root;
    bool first = true;
    while (sp) {
        uint32_t id = stack[--sp];
        const struct cp_flame_node *n = &f->nodes[id];
        size_t nk = 0;
        bool had_cut = false;
        for (uint32_t c = id + 1; c < n->end; c = f->nodes[c].end) {
            if (weight(f, &f->nodes[c]) < minval) {
                had_cut = true;
                cut++;
                continue;
            }
            if (nk == kcap) {
                kcap = kcap * 2 + 64;
                uint32_t *nk2 = realloc(kids, kcap * sizeof(*nk2));
                if (!nk2)
                    goto out;
                kids = nk2;
            }
            kids[nk++] = c;
        }
        uint32_t fi = NONE;
        if (id != 0) {
            uint32_t g = n->func;
            if (fmap[g] == NONE) {
                fmap[g] = (uint32_t)n_used;
                fused[n_used++] = g;
            }
            fi = fmap[g];
        }
        /* the root's func is -1: "root" */
        int64_t fcode = id == 0 ? -2 : (int64_t)fi * 2;
        r = put_i64(&nodes, fcode + (had_cut ? 1 : 0));
        if (!r)
            r = put_i64(&nodes, (int64_t)(n->depth - rdepth));
        if (!r)
            r = put_i64(&nodes, n->total);
        if (!r)
            r = put_i64(&nodes, n->self);
        if (!r && stride == 6)
            r = put_i64(&nodes, n->btotal);
        if (!r && stride == 6)
            r = put_i64(&nodes, n->bself);
        if (r < 0)
            goto out;
        if (first) {
            nodes.data[0] = '['; /* put_i64 wrote a leading comma */
            first = false;
        }
        if (nk > 1)
            qsort_r(kids, nk, sizeof(*kids), by_total, &sc);
        if (sp + nk > scap) {
            scap = (sp + nk) * 2;
            uint32_t *ns = realloc(stack, scap * sizeof(*ns));
            if (!ns)
                goto out;
            stack = ns;
        }
        for (size_t k = nk; k-- > 0;)
            stack[sp++] = kids[k];
    }
    /* strings and frames */
    struct cp_dynbuf funcs;
    cp_dynbuf_init(&funcs, out->limit);
    r = 0;
    for (size_t i = 0; i < n_used && !r; i++) {
        const struct cp_flame_func *fn = &f->funcs[fused[i]];
        long a = strtab_add(&st, fn->name);
        long b = strtab_add(&st, fn->file ? fn->file : "");
        long c = strtab_add(&st, fn->lib ? fn->lib : "");
        if (a < 0 || b < 0 || c < 0) {
            r = -ENOMEM;
            break;
        }
        r = put_i64(&funcs, a);
        if (!r)
            r = put_i64(&funcs, b);
        if (!r)
            r = put_i64(&funcs, fn->line);
        if (!r)
            r = put_i64(&funcs, c);
        if (!r)
            r = put_i64(&funcs, fn->label ? 1 : 0);
    }
    if (!r && funcs.len)
        funcs.data[0] = '[';
    /* path from the whole tree's root */
    size_t np = 0;
    uint32_t pth[4096];
    for (uint32_t x = root; x != 0 && np < 4096; x = f->nodes[x].parent)
        pth[np++] = x;
    if (!r)
        r = cp_dynbuf_addstr(out, "{\"strings\":[");
    for (size_t i = 0; i < st.n && !r; i++) {
        if (i)
            r = cp_dynbuf_add(out, ",", 1);
        if (!r)
            r = cp_json_escape(out, st.v[i]);
    }
    if (!r)
        r = cp_dynbuf_printf(out,
                             "],\n\"funcs\":%s],\n\"nodes\":%s],\n"
                             "\"path\":[",
                             funcs.len ? funcs.data : "[",
                             nodes.len ? nodes.data : "[");
    for (size_t i = np; i-- > 0 && !r;) {
        r = cp_json_escape(out, f->funcs[f->nodes[pth[i]].func].name);
        if (!r && i)
            r = cp_dynbuf_add(out, ",", 1);
    }
    if (!r)
        r = cp_dynbuf_printf(out,
                             "],\"diff\":%s,\"minval\":%lld,\"cut\":%zu,"
                             "\"stride\":%d}",
                             f->diff ? "true" : "false", (long long)minval, cut,
                             stride);
    cp_dynbuf_free(&funcs);
out:
    cp_dynbuf_free(&nodes);
    free(st.v);
    free(st.h);
    free(fmap);
    free(fused);
    free(stack);
    free(kids);
    return r;
}
