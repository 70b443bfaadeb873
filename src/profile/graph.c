/* SPDX-License-Identifier: Apache-2.0 */
/*
 * graph.c - the report model of graph.h: google/pprof internal/graph
 * (CreateNodes, newGraph, selectNodesForGraph, the node orders) and
 * internal/report's newTrimmedGraph, transcribed rule for rule so the
 * nodes, their values and their order are go tool pprof's.
 *
 * How it differs in mechanism (never in result):
 *   - a node is an entry in a table keyed by pprof's NodeInfo (string
 *     indexes, which are canonical in a merged profile), so "rebuilding
 *     the graph with only the kept nodes" is a pass with a kept[] mask;
 *   - samples with the same stack are summed into one group first; every
 *     quantity pprof accumulates is a sum over samples, linear in the
 *     value, so groups give the same sums in a fraction of the time;
 *   - intermediate passes compute values only; edges are built once, for
 *     the final set of nodes.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "measure.h"
#include "phash.h"

struct ninfo {
    int64_t name, orig, file, obj; /* string indexes of the profile */
    uint64_t addr;
    int64_t start_line, lineno;
};

struct group {
    const uint64_t *locs; /* leaf first */
    size_t n;
    int64_t w, dw;
    bool active; /* some sample of the group had a non-zero w or dw */
};

struct bedge {
    uint32_t src, dst; /* node ids */
    int64_t w, wd;
    uint32_t stamp;
    bool residual, inl, removed;
};

struct cp_graph_int {
    struct cp_profile *p;
    struct cp_graph_opts o;
    /* node table, by id */
    struct ninfo *info;
    char **printable;
    size_t n_ids, cap_ids;
    struct cp_hindex idx;
    /* location id -> node ids */
    uint32_t *loc_off; /* n_locations + 2 */
    uint32_t *loc_nodes;
    /* per-function cleaned file name index */
    int64_t *fn_file;
    /* sample groups */
    struct group *groups;
    size_t n_groups;
    /* accumulators, by id */
    int64_t *flat, *flat_div, *cum, *cum_div;
    uint32_t *stamp;
    uint8_t *kept; /* NULL: every node */
    /* edges of the final pass */
    struct bedge *e;
    size_t ne, ecap;
    struct cp_hindex eidx;
    int32_t *pos; /* id -> index in cp_graph.nodes, -1 */
    uint32_t *adj;
    /* strings this file made (printable names) */
    char **blocks;
    size_t n_blocks;
    char *cur;
    size_t left;
    /* candidate for hash comparisons */
    const void *cand;
};

static const char *S(const struct cp_profile *p, int64_t i)
{
    return cp_profile_string(p, i);
}

/* ---- small string arena ------------------------------------------------ */

static char *gstr(struct cp_graph_int *gi, size_t len)
{
    if (len + 1 > gi->left) {
        size_t sz = len + 1 > 65536 ? len + 1 : 65536;
        char **nb = realloc(gi->blocks, (gi->n_blocks + 1) * sizeof(*nb));
        if (!nb)
            return NULL;
        gi->blocks = nb;
        char *b = malloc(sz);
        if (!b)
            return NULL;
        gi->blocks[gi->n_blocks++] = b;
        gi->cur = b;
        gi->left = sz;
    }
    char *r = gi->cur;
    gi->cur += len + 1;
    gi->left -= len + 1;
    return r;
}

/* ---- helpers of pprof's ------------------------------------------------- */

char *cp_path_clean(char *out, size_t n, const char *path)
{
    size_t len = strlen(path);
    if (n < len + 2) {
        if (n)
            out[0] = 0;
        return out;
    }
    if (len == 0) {
        strcpy(out, ".");
        return out;
    }
    bool rooted = path[0] == '/';
    size_t r = 0, w = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < len) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == len || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' &&
                   (r + 2 == len || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < len && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = 0;
    return out;
}

char *cp_graph_printable(char *buf, size_t n, const char *name,
                         const char *file, const char *objfile,
                         uint64_t address, int64_t lineno)
{
    size_t off = 0;
    buf[0] = 0;
#define ADD(...)                                                             \
    do {                                                                     \
        if (off < n)                                                         \
            off += (size_t)snprintf(buf + off, n - off, __VA_ARGS__);        \
    } while (0)
    const char *sep = "";
    if (address) {
        ADD("%016" PRIx64, address);
        sep = " ";
    }
    if (*name) {
        ADD("%s%s", sep, name);
        sep = " ";
    }
    if (lineno) {
        ADD("%s%s:%" PRId64, sep, file, lineno);
    } else if (*file) {
        ADD("%s%s", sep, file);
    } else if (*name) {
        /* the name says it all */
    } else if (*objfile) {
        /* Go's filepath.Base: trailing slashes go first */
        size_t l = strlen(objfile);
        while (l > 1 && objfile[l - 1] == '/')
            l--;
        size_t b = l;
        while (b > 0 && objfile[b - 1] != '/')
            b--;
        if (b == l) /* only slashes */
            ADD("%s[/]", sep);
        else
            ADD("%s[%.*s]", sep, (int)(l - b), objfile + b);
    } else {
        ADD("%s<unknown>", sep);
    }
#undef ADD
    return buf;
}

/* ---- node table ----------------------------------------------------------- */

static int info_eq(void *ctx, size_t e)
{
    struct cp_graph_int *gi = ctx;
    const struct ninfo *a = gi->cand, *b = &gi->info[e];
    return a->name == b->name && a->orig == b->orig && a->file == b->file &&
           a->obj == b->obj && a->addr == b->addr &&
           a->start_line == b->start_line && a->lineno == b->lineno;
}

static uint64_t info_hash(const struct ninfo *k)
{
    uint64_t h = cp_hmix(6, (uint64_t)k->name);
    h = cp_hmix(h, (uint64_t)k->orig);
    h = cp_hmix(h, (uint64_t)k->file);
    h = cp_hmix(h, (uint64_t)k->obj);
    h = cp_hmix(h, k->addr);
    h = cp_hmix(h, (uint64_t)k->start_line);
    return cp_hfinal(cp_hmix(h, (uint64_t)k->lineno));
}

static long node_for(struct cp_graph_int *gi, const struct ninfo *k)
{
    uint64_t h = info_hash(k);
    if (cp_hindex_grow(&gi->idx, gi->n_ids + 1) < 0)
        return -ENOMEM;
    gi->cand = k;
    size_t slot;
    long e = cp_hindex_find(&gi->idx, h, info_eq, gi, &slot);
    if (e >= 0)
        return e;
    if (gi->n_ids == gi->cap_ids) {
        size_t nc = gi->cap_ids ? gi->cap_ids * 2 : 256;
        struct ninfo *ni = realloc(gi->info, nc * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        gi->info = ni;
        char **np = realloc(gi->printable, nc * sizeof(*np));
        if (!np)
            return -ENOMEM;
        gi->printable = np;
        gi->cap_ids = nc;
    }
    const struct cp_profile *p = gi->p;
    char small[1024];
    const char *name = S(p, k->name), *file = S(p, k->file),
               *obj = S(p, k->obj);
    size_t need = strlen(name) + strlen(file) + strlen(obj) + 64;
    char *buf = need > sizeof(small) ? malloc(need) : small;
    if (!buf)
        return -ENOMEM;
    cp_graph_printable(buf, need, name, file, obj, k->addr, k->lineno);
    size_t l = strlen(buf);
    char *s = gstr(gi, l);
    if (!s) {
        if (buf != small)
            free(buf);
        return -ENOMEM;
    }
    memcpy(s, buf, l + 1);
    if (buf != small)
        free(buf);
    size_t id = cp_hindex_put(&gi->idx, slot, h);
    gi->info[id] = *k;
    gi->printable[id] = s;
    gi->n_ids++;
    return (long)id;
}

static int64_t fn_file(struct cp_graph_int *gi, uint64_t fid)
{
    if (gi->fn_file[fid] >= 0)
        return gi->fn_file[fid];
    struct cp_profile *p = gi->p;
    const struct cp_function *f = cp_profile_function(p, fid);
    int64_t r = 0;
    const char *file = S(p, f->filename);
    if (*file) {
        size_t l = strlen(file);
        char small[1024];
        char *buf = l + 2 > sizeof(small) ? malloc(l + 2) : small;
        if (!buf)
            return -ENOMEM;
        cp_path_clean(buf, l + 2, file);
        r = strcmp(buf, file) ? cp_profile_str(p, buf) : f->filename;
        if (buf != small)
            free(buf);
        if (r < 0)
            return r;
    }
    gi->fn_file[fid] = r;
    return r;
}

/* pprof's CreateNodes + nodeInfo */
static int create_nodes(struct cp_graph_int *gi)
{
    struct cp_profile *p = gi->p;
    size_t nl = p->n_locations, total = 0;
    for (size_t i = 0; i < nl; i++)
        total += p->locations[i].n_lines ? p->locations[i].n_lines : 1;
    if (total >= UINT32_MAX)
        return -ENOMEM;
    gi->loc_off = malloc((nl + 2) * sizeof(*gi->loc_off));
    gi->loc_nodes = malloc((total + 1) * sizeof(*gi->loc_nodes));
    gi->fn_file = malloc((p->n_functions + 1) * sizeof(*gi->fn_file));
    if (!gi->loc_off || !gi->loc_nodes || !gi->fn_file)
        return -ENOMEM;
    memset(gi->fn_file, 0xff, (p->n_functions + 1) * sizeof(*gi->fn_file));
    uint32_t w = 0;
    gi->loc_off[0] = 0;
    gi->loc_off[1] = 0; /* location id 0: none */
    for (size_t i = 0; i < nl; i++) {
        const struct cp_location *l = &p->locations[i];
        int64_t obj = 0;
        const struct cp_mapping *m = cp_profile_mapping(p, l->mapping_id);
        if (m && *S(p, m->filename))
            obj = m->filename;
        size_t n = l->n_lines ? l->n_lines : 1;
        for (size_t k = 0; k < n; k++) {
            struct ninfo ni = {0};
            const struct cp_function *f =
                l->n_lines ? cp_profile_function(p, l->lines[k].function_id)
                           : NULL;
            ni.addr = l->address;
            if (!f) {
                ni.obj = obj;
            } else {
                ni.lineno = l->lines[k].line;
                ni.name = f->name;
                int64_t file = fn_file(gi, f->id);
                if (file < 0)
                    return (int)file;
                ni.file = file;
                if (gi->o.orig_fn_names)
                    ni.orig = f->system_name;
                if (gi->o.obj_names ||
                    (!*S(p, ni.name) && !*S(p, ni.orig))) {
                    ni.obj = obj;
                    ni.start_line = f->start_line;
                }
            }
            long id = node_for(gi, &ni);
            if (id < 0)
                return (int)id;
            gi->loc_nodes[w++] = (uint32_t)id;
        }
        gi->loc_off[i + 2] = w;
    }
    return 0;
}

/* ---- sample groups -------------------------------------------------------- */

struct gctx {
    struct cp_graph_int *gi;
    const struct cp_sample *s;
};

static int group_eq(void *ctx, size_t e)
{
    struct gctx *c = ctx;
    const struct group *g = &c->gi->groups[e];
    return g->n == c->s->n_locations &&
           (g->n == 0 ||
            !memcmp(g->locs, c->s->location_ids, g->n * sizeof(uint64_t)));
}

static int make_groups(struct cp_graph_int *gi)
{
    const struct cp_profile *p = gi->p;
    int si = gi->o.sample_index, mi = gi->o.mean_index;
    struct cp_hindex x = {0};
    size_t cap = 0;
    struct gctx c = {gi, NULL};
    for (size_t j = 0; j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        int64_t w = s->values[si], dw = mi >= 0 ? s->values[mi] : 0;
        if (!w && !dw)
            continue;
        uint64_t h = s->n_locations;
        for (size_t k = 0; k < s->n_locations; k++)
            h = cp_hmix(h, s->location_ids[k]);
        h = cp_hfinal(h);
        if (cp_hindex_grow(&x, gi->n_groups + 1) < 0)
            goto nomem;
        c.s = s;
        size_t slot;
        long e = cp_hindex_find(&x, h, group_eq, &c, &slot);
        if (e < 0) {
            if (gi->n_groups == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                struct group *ng = realloc(gi->groups, nc * sizeof(*ng));
                if (!ng)
                    goto nomem;
                gi->groups = ng;
                cap = nc;
            }
            e = (long)cp_hindex_put(&x, slot, h);
            gi->groups[e] = (struct group){s->location_ids, s->n_locations,
                                           0, 0, false};
            gi->n_groups++;
        }
        gi->groups[e].w = cp_add64(gi->groups[e].w, w);
        gi->groups[e].dw = cp_add64(gi->groups[e].dw, dw);
        gi->groups[e].active = true;
    }
    cp_hindex_free(&x);
    return 0;
nomem:
    cp_hindex_free(&x);
    return -ENOMEM;
}

/* ---- passes ------------------------------------------------------------------ */

static bool kept(const struct cp_graph_int *gi, uint32_t id)
{
    return !gi->kept || gi->kept[id];
}

struct ectx {
    struct cp_graph_int *gi;
    uint32_t src, dst;
};

static int edge_eq(void *ctx, size_t e)
{
    struct ectx *c = ctx;
    return c->gi->e[e].src == c->src && c->gi->e[e].dst == c->dst;
}

static long edge_for(struct cp_graph_int *gi, uint32_t src, uint32_t dst)
{
    uint64_t h = cp_hfinal(cp_hmix(cp_hmix(7, src), dst));
    if (cp_hindex_grow(&gi->eidx, gi->ne + 1) < 0)
        return -ENOMEM;
    struct ectx c = {gi, src, dst};
    size_t slot;
    long e = cp_hindex_find(&gi->eidx, h, edge_eq, &c, &slot);
    if (e >= 0)
        return e;
    if (gi->ne == gi->ecap) {
        size_t nc = gi->ecap ? gi->ecap * 2 : 1024;
        struct bedge *ne = realloc(gi->e, nc * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        gi->e = ne;
        gi->ecap = nc;
    }
    e = (long)cp_hindex_put(&gi->eidx, slot, h);
    gi->e[e] = (struct bedge){.src = src, .dst = dst, .stamp = 0,
                              .inl = true};
    gi->ne++;
    return e;
}

/* pprof's newGraph over the groups; edges only when asked. */
static int pass(struct cp_graph_int *gi, bool edges)
{
    size_t n = gi->n_ids;
    memset(gi->flat, 0, n * sizeof(*gi->flat));
    memset(gi->flat_div, 0, n * sizeof(*gi->flat_div));
    memset(gi->cum, 0, n * sizeof(*gi->cum));
    memset(gi->cum_div, 0, n * sizeof(*gi->cum_div));
    memset(gi->stamp, 0, n * sizeof(*gi->stamp));
    if (edges) {
        gi->ne = 0;
        cp_hindex_free(&gi->eidx);
    }
    const struct cp_profile *p = gi->p;
    uint32_t gen = 0;
    for (size_t j = 0; j < gi->n_groups; j++) {
        const struct group *g = &gi->groups[j];
        if (!g->active)
            continue;
        if (++gen == 0) { /* wrapped: clear the stamps */
            memset(gi->stamp, 0, n * sizeof(*gi->stamp));
            for (size_t k = 0; k < gi->ne; k++)
                gi->e[k].stamp = 0;
            gen = 1;
        }
        int64_t w = g->w, dw = g->dw;
        uint32_t parent = UINT32_MAX;
        bool residual = false;
        for (size_t i = g->n; i-- > 0;) {
            uint64_t lid = g->locs[i];
            if (lid == 0 || lid > p->n_locations)
                continue;
            uint32_t a = gi->loc_off[lid], b = gi->loc_off[lid + 1];
            for (uint32_t ni = b; ni-- > a;) {
                uint32_t node = gi->loc_nodes[ni];
                if (!kept(gi, node)) {
                    residual = true;
                    continue;
                }
                if (gi->stamp[node] != gen) {
                    gi->stamp[node] = gen;
                    gi->cum[node] = cp_add64(gi->cum[node], w);
                    gi->cum_div[node] = cp_add64(gi->cum_div[node], dw);
                }
                if (edges && parent != UINT32_MAX && node != parent) {
                    long e = edge_for(gi, parent, node);
                    if (e < 0)
                        return (int)e;
                    struct bedge *be = &gi->e[e];
                    if (be->stamp != gen) {
                        be->stamp = gen;
                        be->w = cp_add64(be->w, w);
                        be->wd = cp_add64(be->wd, dw);
                        if (residual)
                            be->residual = true;
                        /* an inlined call keeps the flag the edge had */
                        if (ni == b - 1)
                            be->inl = false;
                    }
                }
                parent = node;
                residual = false;
            }
        }
        if (parent != UINT32_MAX && !residual) {
            gi->flat[parent] = cp_add64(gi->flat[parent], w);
            gi->flat_div[parent] = cp_add64(gi->flat_div[parent], dw);
        }
    }
    return 0;
}

#define abs64 cp_abs64

/* pprof's selectNodesForGraph: ids with a value, in *out; returns count */
static size_t select_nodes(struct cp_graph_int *gi, uint32_t *out)
{
    size_t k = 0;
    for (uint32_t id = 0; id < gi->n_ids; id++) {
        if (!kept(gi, id))
            continue;
        int64_t f = gi->flat[id], c = gi->cum[id];
        if (c == 0 && f == 0)
            continue;
        if (gi->o.drop_negative && (f < 0 || (f == 0 && c < 0)))
            continue;
        out[k++] = id;
    }
    return k;
}

/* ---- node orders ------------------------------------------------------------- */

/* fmt.Sprint(NodeInfo): "{Name OrigName Address File StartLine Lineno
 * Objfile}", pprof's last tie-breaker */
static int sprint_cmp(const struct cp_graph_int *gi, uint32_t a, uint32_t b)
{
    const struct ninfo *x = &gi->info[a], *y = &gi->info[b];
    const struct cp_profile *p = gi->p;
    char *sa = NULL, *sb = NULL;
    int r = 0;
    if (asprintf(&sa, "{%s %s %" PRIu64 " %s %" PRId64 " %" PRId64 " %s}",
                 S(p, x->name), S(p, x->orig), x->addr, S(p, x->file),
                 x->start_line, x->lineno, S(p, x->obj)) < 0)
        sa = NULL;
    if (asprintf(&sb, "{%s %s %" PRIu64 " %s %" PRId64 " %" PRId64 " %s}",
                 S(p, y->name), S(p, y->orig), y->addr, S(p, y->file),
                 y->start_line, y->lineno, S(p, y->obj)) < 0)
        sb = NULL;
    if (sa && sb)
        r = strcmp(sa, sb);
    free(sa);
    free(sb);
    return r ? r : (a < b ? -1 : a > b);
}

static int cmp_i64_desc(int64_t a, int64_t b)
{
    return a > b ? -1 : a < b;
}

static int flat_name_order(const void *pa, const void *pb, void *ctx)
{
    const struct cp_graph_int *gi = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int r = cmp_i64_desc(abs64(gi->flat[a]), abs64(gi->flat[b]));
    if (r)
        return r;
    r = strcmp(gi->printable[a], gi->printable[b]);
    if (r)
        return r;
    r = cmp_i64_desc(abs64(gi->cum[a]), abs64(gi->cum[b]));
    if (r)
        return r;
    return sprint_cmp(gi, a, b);
}

static int cum_name_order(const void *pa, const void *pb, void *ctx)
{
    const struct cp_graph_int *gi = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int r = cmp_i64_desc(abs64(gi->cum[a]), abs64(gi->cum[b]));
    if (r)
        return r;
    r = strcmp(gi->printable[a], gi->printable[b]);
    if (r)
        return r;
    r = cmp_i64_desc(abs64(gi->flat[a]), abs64(gi->flat[b]));
    if (r)
        return r;
    return sprint_cmp(gi, a, b);
}

static void sort_nodes(struct cp_graph_int *gi, uint32_t *ids, size_t n)
{
    qsort_r(ids, n, sizeof(*ids),
            gi->o.cum_sort ? cum_name_order : flat_name_order, gi);
}

/* edges: weight (abs) descending, then source name, then destination */
static int edge_order(const void *pa, const void *pb, void *ctx)
{
    const struct cp_graph_int *gi = ctx;
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    const struct bedge *a = &gi->e[ia], *b = &gi->e[ib];
    int r = cmp_i64_desc(abs64(a->w), abs64(b->w));
    if (r)
        return r;
    r = strcmp(gi->printable[a->src], gi->printable[b->src]);
    if (r)
        return r;
    r = strcmp(gi->printable[a->dst], gi->printable[b->dst]);
    if (r)
        return r;
    return ia < ib ? -1 : ia > ib;
}

/* ---- the graph ------------------------------------------------------------ */

int64_t cp_graph_flat(const struct cp_graph_node *n)
{
    return n->flat_div ? cp_div64(n->flat, n->flat_div) : n->flat;
}

int64_t cp_graph_cum(const struct cp_graph_node *n)
{
    return n->cum_div ? cp_div64(n->cum, n->cum_div) : n->cum;
}

static void fill_node(const struct cp_graph_int *gi, uint32_t id,
                      struct cp_graph_node *out)
{
    const struct ninfo *x = &gi->info[id];
    const struct cp_profile *p = gi->p;
    memset(out, 0, sizeof(*out));
    out->name = S(p, x->name);
    out->orig_name = S(p, x->orig);
    out->file = S(p, x->file);
    out->objfile = S(p, x->obj);
    out->address = x->addr;
    out->start_line = x->start_line;
    out->lineno = x->lineno;
    out->printable = gi->printable[id];
    out->id = id;
}

static int finish(struct cp_graph *g, struct cp_graph_int *gi,
                  const uint32_t *ids, size_t n)
{
    g->nodes = calloc(n + 1, sizeof(*g->nodes));
    gi->pos = malloc((gi->n_ids + 1) * sizeof(*gi->pos));
    if (!g->nodes || !gi->pos)
        return -ENOMEM;
    for (size_t i = 0; i < gi->n_ids; i++)
        gi->pos[i] = -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        struct cp_graph_node *nd = &g->nodes[i];
        fill_node(gi, id, nd);
        nd->flat = gi->flat[id];
        nd->flat_div = gi->flat_div[id];
        nd->cum = gi->cum[id];
        nd->cum_div = gi->cum_div[id];
        gi->pos[id] = (int32_t)i;
    }
    g->n_nodes = n;
    /* pprof's TrimLowFrequencyEdges over the in-edges of graph nodes */
    size_t kept_edges = 0;
    for (size_t k = 0; k < gi->ne; k++) {
        struct bedge *e = &gi->e[k];
        if (gi->pos[e->dst] < 0) {
            e->removed = true; /* not reachable from the graph's nodes */
            continue;
        }
        if (abs64(e->w) < g->edge_cutoff) {
            e->removed = true;
            g->dropped_edges++;
            continue;
        }
        /* pprof keeps in-edges from nodes the graph left out (no value,
         * or negative with drop_negative): they still make a node
         * "(inline)"; the model's edges link shown nodes only */
        g->nodes[gi->pos[e->dst]].in_flags |= e->inl ? 1 : 2;
        if (gi->pos[e->src] < 0) {
            e->removed = true;
            continue;
        }
        kept_edges++;
    }
    uint32_t *order = malloc((kept_edges + 1) * sizeof(*order));
    g->edges = calloc(kept_edges + 1, sizeof(*g->edges));
    gi->adj = malloc((2 * kept_edges + 1) * sizeof(*gi->adj));
    if (!order || !g->edges || !gi->adj) {
        free(order);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t k = 0; k < gi->ne; k++)
        if (!gi->e[k].removed)
            order[m++] = (uint32_t)k;
    qsort_r(order, m, sizeof(*order), edge_order, gi);
    for (size_t k = 0; k < m; k++) {
        const struct bedge *e = &gi->e[order[k]];
        struct cp_graph_edge *ge = &g->edges[k];
        ge->src = (uint32_t)gi->pos[e->src];
        ge->dst = (uint32_t)gi->pos[e->dst];
        ge->weight = e->w;
        ge->weight_div = e->wd;
        ge->residual = e->residual;
        ge->inline_ = e->inl;
        g->nodes[ge->src].n_out++;
        g->nodes[ge->dst].n_in++;
    }
    g->n_edges = m;
    free(order);
    /* adjacency in edge order, so each list is heaviest first */
    uint32_t *a = gi->adj;
    for (size_t i = 0; i < n; i++) {
        g->nodes[i].in = a;
        a += g->nodes[i].n_in;
        g->nodes[i].out = a;
        a += g->nodes[i].n_out;
        g->nodes[i].n_in = g->nodes[i].n_out = 0;
    }
    for (size_t k = 0; k < m; k++) {
        struct cp_graph_node *s = &g->nodes[g->edges[k].src];
        struct cp_graph_node *d = &g->nodes[g->edges[k].dst];
        s->out[s->n_out++] = (uint32_t)k;
        d->in[d->n_in++] = (uint32_t)k;
    }
    return 0;
}

int cp_graph_new(struct cp_graph *g, struct cp_profile *p,
                 const struct cp_graph_opts *o)
{
    memset(g, 0, sizeof(*g));
    struct cp_graph_int *gi = calloc(1, sizeof(*gi));
    if (!gi)
        return -ENOMEM;
    g->priv = gi;
    gi->p = p;
    gi->o = *o;
    uint32_t *ids = NULL;
    uint8_t *keep = NULL;
    int r = -EINVAL;
    if (o->sample_index < 0 || (size_t)o->sample_index >= p->n_sample_types ||
        o->mean_index >= (int)p->n_sample_types)
        goto fail;
    r = create_nodes(gi);
    if (r < 0)
        goto fail;
    r = -ENOMEM;
    size_t n = gi->n_ids;
    gi->flat = malloc((n + 1) * sizeof(int64_t));
    gi->flat_div = malloc((n + 1) * sizeof(int64_t));
    gi->cum = malloc((n + 1) * sizeof(int64_t));
    gi->cum_div = malloc((n + 1) * sizeof(int64_t));
    gi->stamp = malloc((n + 1) * sizeof(uint32_t));
    ids = malloc((n + 1) * sizeof(*ids));
    keep = calloc(n + 1, 1);
    if (!gi->flat || !gi->flat_div || !gi->cum || !gi->cum_div ||
        !gi->stamp || !ids || !keep)
        goto fail;
    r = make_groups(gi);
    if (r < 0)
        goto fail;

    /* First step: the complete graph, to find low-frequency nodes. */
    bool trim = !o->no_trim;
    r = pass(gi, false);
    if (r < 0)
        goto fail;
    size_t cnt = select_nodes(gi, ids);
    int64_t total = 0;
    for (size_t i = 0; i < cnt; i++)
        total = cp_add64(total, gi->flat[ids[i]]);
    g->total = total;
    double nf = trim ? o->node_fraction : 0, ef = trim ? o->edge_fraction : 0;
    g->node_cutoff = abs64(cp_f2i64((double)total * nf));
    g->edge_cutoff = abs64(cp_f2i64((double)total * ef));
    if (g->node_cutoff > 0) {
        size_t k = 0;
        for (size_t i = 0; i < cnt; i++)
            if (abs64(gi->cum[ids[i]]) >= g->node_cutoff) {
                keep[ids[i]] = 1;
                k++;
            }
        if (k != cnt) {
            g->dropped_nodes = cnt - k;
            gi->kept = keep;
            r = pass(gi, false);
            if (r < 0)
                goto fail;
            cnt = select_nodes(gi, ids);
        }
    }
    g->orig_count = cnt;
    sort_nodes(gi, ids, cnt);

    /* Second step: at most node_count nodes. */
    int nc = trim ? o->node_count : 0;
    if (nc > 0 && (size_t)nc < cnt) {
        memset(keep, 0, n + 1);
        for (size_t i = 0; i < (size_t)nc; i++)
            keep[ids[i]] = 1;
        gi->kept = keep;
        r = pass(gi, false);
        if (r < 0)
            goto fail;
        cnt = select_nodes(gi, ids);
        sort_nodes(gi, ids, cnt);
    }

    /* Final: the edges between the nodes shown. */
    r = pass(gi, true);
    if (r < 0)
        goto fail;
    r = finish(g, gi, ids, cnt);
    if (r < 0)
        goto fail;
    free(ids);
    gi->kept = NULL;
    free(keep);
    return 0;
fail:
    free(ids);
    free(keep);
    gi->kept = NULL;
    cp_graph_free(g);
    return r;
}

void cp_graph_free(struct cp_graph *g)
{
    struct cp_graph_int *gi = g->priv;
    if (gi) {
        free(gi->info);
        free(gi->printable);
        cp_hindex_free(&gi->idx);
        free(gi->loc_off);
        free(gi->loc_nodes);
        free(gi->fn_file);
        free(gi->groups);
        free(gi->flat);
        free(gi->flat_div);
        free(gi->cum);
        free(gi->cum_div);
        free(gi->stamp);
        free(gi->e);
        cp_hindex_free(&gi->eidx);
        free(gi->pos);
        free(gi->adj);
        for (size_t i = 0; i < gi->n_blocks; i++)
            free(gi->blocks[i]);
        free(gi->blocks);
        free(gi);
    }
    free(g->nodes);
    free(g->edges);
    memset(g, 0, sizeof(*g));
}

const uint32_t *cp_graph_location_nodes(const struct cp_graph *g,
                                        uint64_t loc_id, size_t *n)
{
    const struct cp_graph_int *gi = g->priv;
    *n = 0;
    if (!gi || loc_id == 0 || loc_id > gi->p->n_locations)
        return NULL;
    uint32_t a = gi->loc_off[loc_id], b = gi->loc_off[loc_id + 1];
    *n = b - a;
    return gi->loc_nodes + a;
}

const struct cp_graph_node *cp_graph_node_by_id(const struct cp_graph *g,
                                                uint32_t id)
{
    const struct cp_graph_int *gi = g->priv;
    if (!gi || id >= gi->n_ids || !gi->pos || gi->pos[id] < 0)
        return NULL;
    return &g->nodes[gi->pos[id]];
}

int cp_graph_node_info(const struct cp_graph *g, uint32_t id,
                       struct cp_graph_node *out)
{
    const struct cp_graph_int *gi = g->priv;
    if (!gi || id >= gi->n_ids)
        return -EINVAL;
    fill_node(gi, id, out);
    return 0;
}

size_t cp_graph_n_ids(const struct cp_graph *g)
{
    return g->priv ? g->priv->n_ids : 0;
}

const char *cp_graph_inline_label(const struct cp_graph *g,
                                  const struct cp_graph_node *n)
{
    (void)g;
    bool inl = n->in_flags & 1, noinl = n->in_flags & 2;
    if (!inl)
        return "";
    return noinl ? "(partial-inline)" : "(inline)";
}
