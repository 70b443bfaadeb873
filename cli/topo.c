/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topo.c - `cprof topo`: logical CPUs, physical cores, sockets, SMT
 * siblings and shared caches, and where to pin hash_bench's threads.
 *
 * The kernel's own view in sysfs comes first (cpuN/topology/...,
 * cpuN/cache/indexM/..., online, possible): it already accounts for
 * hotplugged CPUs, SMT switched off and firmware quirks. Only for the live
 * machine are gaps filled from CPUID, read on each CPU in turn (the APIC ID
 * is per CPU), then from sysconf, which knows sizes but not sharing (and
 * on this AMD VM reports an L3 eight times too large: glibc multiplies by
 * the threads it thinks share it). A tree given with -root or
 * CPROF_SYSFS_ROOT is never mixed with the CPU we run on: what it lacks
 * is reported as "not in sysfs".
 *
 * Everything is bounded: at most CP_TOPO_MAX_CPUS CPUs, CP_TOPO_MAX_FILE
 * bytes per file, CP_TOPO_MAX_CACHE_INDEX caches per CPU; a malformed file
 * counts as absent. Layout of the fixture trees: tests/data/topo/gen.py.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CP_TOPO_X86 1
#else
#define CP_TOPO_X86 0
#endif

#include "cli.h"
#include "topo.h"

#define DEFAULT_CMD "./hash_bench -n 100000000 -r 100000"

/* ---- CPU sets ---------------------------------------------------------- */

static void set_add(uint64_t *s, int cpu)
{
    s[cpu / 64] |= 1ull << (cpu % 64);
}

static int set_has(const uint64_t *s, int words, int cpu)
{
    if (cpu < 0 || cpu >= words * 64)
        return 0;
    return (s[cpu / 64] >> (cpu % 64)) & 1;
}

/* Lowest CPU >= from in s, or -1. */
static int set_next(const uint64_t *s, int words, int from)
{
    if (from < 0)
        from = 0;
    for (int w = from / 64; w < words; w++) {
        uint64_t v = s[w];
        if (w == from / 64)
            v &= ~0ull << (from % 64);
        if (v)
            return w * 64 + __builtin_ctzll(v);
    }
    return -1;
}

static int set_equal(const uint64_t *a, const uint64_t *b, int words)
{
    return !memcmp(a, b, (size_t)words * sizeof *a);
}

int cp_topo_cpulist_count(const uint64_t *set, int words)
{
    int n = 0;
    for (int w = 0; w < words; w++)
        n += __builtin_popcountll(set[w]);
    return n;
}

static int parse_cpu_number(const char **pp, long *out)
{
    const char *p = *pp;
    long v = 0;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        if (v > 1000000) /* far past any CPU count: not a cpulist */
            return -ERANGE;
        p++;
    }
    *pp = p;
    *out = v;
    return 0;
}

int cp_topo_cpulist_parse(const char *text, uint64_t *set, int words)
{
    const char *p = text;
    memset(set, 0, (size_t)words * sizeof *set);
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    for (;;) {
        long a, b;
        int rc = parse_cpu_number(&p, &a);
        if (rc)
            return rc;
        b = a;
        if (*p == '-') {
            p++;
            rc = parse_cpu_number(&p, &b);
            if (rc)
                return rc;
            if (b < a)
                return -EINVAL;
        }
        if (b >= (long)words * 64)
            return -ERANGE;
        for (long c = a; c <= b; c++)
            set_add(set, (int)c);
        if (*p == ',') {
            p++;
            continue;
        }
        while (isspace((unsigned char)*p))
            p++;
        return *p ? -EINVAL : 0;
    }
}

int cp_topo_cpulist_format(const uint64_t *set, int words, char *buf,
                           size_t len)
{
    size_t need = 0;
    int c = set_next(set, words, 0);
    if (len)
        buf[0] = '\0';
    while (c >= 0) {
        int e = c;
        while (set_has(set, words, e + 1))
            e++;
        char item[32];
        int n;
        if (e == c)
            n = snprintf(item, sizeof item, "%s%d", need ? "," : "", c);
        else if (e == c + 1) /* "1,2" reads better than "1-2" */
            n = snprintf(item, sizeof item, "%s%d,%d", need ? "," : "", c, e);
        else
            n = snprintf(item, sizeof item, "%s%d-%d", need ? "," : "", c, e);
        if (need + (size_t)n < len)
            memcpy(buf + need, item, (size_t)n + 1);
        need += (size_t)n;
        c = set_next(set, words, e + 1);
    }
    return (int)need;
}

/* A malloc'd cpulist string for set, or NULL on ENOMEM. */
static char *set_str(const uint64_t *set, int words)
{
    int n = cp_topo_cpulist_format(set, words, NULL, 0);
    char *s = malloc((size_t)n + 1);
    if (s)
        cp_topo_cpulist_format(set, words, s, (size_t)n + 1);
    return s;
}

/* ---- sysfs files ------------------------------------------------------- */

/* Read dir/name into buf, trailing whitespace removed. 0 or -errno
 * (-EFBIG when it does not fit). */
static int read_text(const char *dir, const char *name, char *buf, size_t len)
{
    char path[4352];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == len - 1) {
            close(fd);
            return -EFBIG;
        }
    }
    close(fd);
    while (got && isspace((unsigned char)buf[got - 1]))
        got--;
    buf[got] = '\0';
    return 0;
}

/* Read a decimal int (may be negative: physical_package_id is -1 on some
 * ARM boards). 0 or -errno / -EINVAL. */
static int read_int(const char *dir, const char *name, int *out)
{
    char buf[64], *end;
    int rc = read_text(dir, name, buf, sizeof buf);
    if (rc)
        return rc;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || errno || v < -1 || v > 1000000000)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* "32K", "1024K", "8M", "512" -> bytes; 0 when malformed. */
static uint64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        return 0;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        return v;
    case 'K':
        return v << 10;
    case 'M':
        return v << 20;
    case 'G':
        return v << 30;
    default:
        return 0;
    }
}

static int is_dir(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* ---- loading ----------------------------------------------------------- */

/* Per-CPU facts read before cores are formed. */
struct raw_cpu {
    int socket, die, core_id;
    int sib_known; /* siblings below are valid */
    uint64_t *sib;
};

static int fail(struct cp_topo *t, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct cp_topo *t, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    return rc;
}

static uint64_t *new_set(const struct cp_topo *t)
{
    return calloc((size_t)t->words, sizeof(uint64_t));
}

/* The index in t->cpus of CPU number c, or -1 (binary search). */
static int cpu_index(const struct cp_topo *t, int c)
{
    int lo = 0, hi = t->ncpu - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->cpus[mid].id == c)
            return mid;
        if (t->cpus[mid].id < c)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Group CPUs into physical cores: by the kernel's sibling list where it
 * has one, else by (socket, die, core_id), else one core per CPU. The
 * sibling list is the better key: core_id is only unique within a package
 * and has gaps (Xeons number cores 0,1,2,3,4,8,9...). */
static int form_cores(struct cp_topo *t, struct raw_cpu *raw)
{
    t->cores = calloc((size_t)t->ncpu, sizeof *t->cores);
    if (!t->cores)
        return -ENOMEM;
    for (int i = 0; i < t->ncpu; i++)
        t->cpus[i].core = -1;
    for (int i = 0; i < t->ncpu; i++) {
        struct cp_topo_cpu *cpu = &t->cpus[i];
        if (cpu->core >= 0)
            continue;
        struct cp_topo_core *core = &t->cores[t->ncore];
        core->cpus = new_set(t);
        if (!core->cpus)
            return -ENOMEM;
        set_add(core->cpus, cpu->id);
        for (int j = i + 1; j < t->ncpu; j++) {
            struct cp_topo_cpu *o = &t->cpus[j];
            int same;
            if (o->core >= 0)
                continue;
            if (raw[i].sib_known)
                same = set_has(raw[i].sib, t->words, o->id);
            else
                same = !raw[j].sib_known && cpu->core_id >= 0 &&
                       o->core_id == cpu->core_id && o->socket == cpu->socket &&
                       o->die == cpu->die;
            if (same)
                set_add(core->cpus, o->id);
        }
        core->socket = cpu->socket;
        core->die = cpu->die;
        core->core_id = cpu->core_id;
        core->first_cpu = cpu->id;
        core->nthreads = cp_topo_cpulist_count(core->cpus, t->words);
        for (int c = set_next(core->cpus, t->words, 0); c >= 0;
             c = set_next(core->cpus, t->words, c + 1))
            t->cpus[cpu_index(t, c)].core = t->ncore;
        if (core->nthreads > t->threads_per_core)
            t->threads_per_core = core->nthreads;
        t->ncore++;
    }
    /* Distinct sockets; -1 (not known) counts as one. */
    t->nsocket = 0;
    for (int i = 0; i < t->ncore; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = t->cores[j].socket == t->cores[i].socket;
        if (!seen)
            t->nsocket++;
    }
    return 0;
}

/* Find or add the cache instance (level, type, size, cpus); the index or
 * -ENOMEM. Instances are found through the CPUs already processed: the
 * instance CPU c shares with lower-numbered CPUs is in their lists. */
static int add_cache(struct cp_topo *t, int *cap, int level, const char *type,
                     uint64_t size, int shared_known, const uint64_t *cpus)
{
    int first = set_next(cpus, t->words, 0);
    int fi = first >= 0 ? cpu_index(t, first) : -1;
    if (fi >= 0) {
        const struct cp_topo_cpu *fc = &t->cpus[fi];
        for (int k = 0; k < fc->ncache; k++) {
            const struct cp_topo_cache *c = &t->caches[fc->cache[k]];
            if (c->level == level && !strcmp(c->type, type) &&
                c->size == size && set_equal(c->cpus, cpus, t->words))
                return fc->cache[k];
        }
    }
    if (t->ncache == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(t->caches, (size_t)ncap * sizeof *t->caches);
        if (!p)
            return -ENOMEM;
        t->caches = p;
        *cap = ncap;
    }
    struct cp_topo_cache *c = &t->caches[t->ncache];
    memset(c, 0, sizeof *c);
    c->level = level;
    snprintf(c->type, sizeof c->type, "%s", type);
    c->size = size;
    c->shared_known = shared_known;
    c->cpus = new_set(t);
    if (!c->cpus)
        return -ENOMEM;
    memcpy(c->cpus, cpus, (size_t)t->words * sizeof *cpus);
    /* Instance number: one more than the last of its kind. */
    c->instance = 0;
    for (int i = 0; i < t->ncache; i++)
        if (t->caches[i].level == level && !strcmp(t->caches[i].type, type))
            c->instance = t->caches[i].instance + 1;
    return t->ncache++;
}

static void free_caches(struct cp_topo *t)
{
    for (int i = 0; i < t->ncache; i++)
        free(t->caches[i].cpus);
    free(t->caches);
    t->caches = NULL;
    t->ncache = 0;
    for (int i = 0; i < t->ncpu; i++)
        t->cpus[i].ncache = 0;
}

static int sysfs_caches(struct cp_topo *t)
{
    int cap = 0, rc = 0, any = 0;
    char *buf = malloc(CP_TOPO_MAX_FILE);
    uint64_t *shared = new_set(t);
    if (!buf || !shared) {
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < t->ncpu; i++) {
        struct cp_topo_cpu *cpu = &t->cpus[i];
        for (int k = 0; k < CP_TOPO_MAX_CACHE_INDEX; k++) {
            char dir[4352], type[32];
            int level;
            snprintf(dir, sizeof dir, "%s/cpu%d/cache/index%d", t->dir, cpu->id,
                     k);
            if (!is_dir(dir))
                break;
            if (read_int(dir, "level", &level) || level < 1 || level > 9)
                continue;
            if (read_text(dir, "type", type, sizeof type))
                snprintf(type, sizeof type, "Unified");
            uint64_t size = 0;
            if (!read_text(dir, "size", buf, 64))
                size = parse_size(buf);
            int known =
                !read_text(dir, "shared_cpu_list", buf, CP_TOPO_MAX_FILE) &&
                !cp_topo_cpulist_parse(buf, shared, t->words);
            /* Only online CPUs are described; an offline sibling still
             * listed by an old kernel would be a phantom. */
            for (int w = 0; w < t->words; w++)
                shared[w] &= t->online[w];
            if (!known || !set_has(shared, t->words, cpu->id)) {
                memset(shared, 0, (size_t)t->words * sizeof *shared);
                set_add(shared, cpu->id);
            }
            int ci = add_cache(t, &cap, level, type, size, known, shared);
            if (ci < 0) {
                rc = ci;
                goto out;
            }
            cpu->cache[cpu->ncache++] = ci;
            any = 1;
        }
    }
    if (any)
        t->cache_source = CP_TOPO_SRC_SYSFS;
out:
    free(shared);
    free(buf);
    return rc;
}

/* ---- CPUID (live machine, x86) ----------------------------------------- */

#if CP_TOPO_X86
struct cpuid_info {
    unsigned maxleaf, maxext;
    int amd;             /* AuthenticAMD or HygonGenuine */
    unsigned cache_leaf; /* 4, 0x8000001D or 0 */
};

static void cpuid_probe(struct cpuid_info *ci)
{
    unsigned a, b, c, d;
    memset(ci, 0, sizeof *ci);
    __cpuid(0, a, b, c, d);
    ci->maxleaf = a;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    ci->amd =
        !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
    __cpuid(0x80000000, a, b, c, d);
    ci->maxext = a;
    if (ci->amd && ci->maxext >= 0x8000001D) {
        __cpuid(0x80000001, a, b, c, d);
        if (c & (1u << 22)) /* TOPOEXT: leaf 0x8000001D is valid */
            ci->cache_leaf = 0x8000001D;
    } else if (!ci->amd && ci->maxleaf >= 4) {
        ci->cache_leaf = 4;
    }
}

/* The x2APIC ID of the CPU we run on (leaf 0xB), else the 8-bit initial
 * APIC ID (leaf 1). */
static unsigned apic_id(const struct cpuid_info *ci)
{
    unsigned a, b, c, d;
    if (ci->maxleaf >= 0xB) {
        __cpuid_count(0xB, 0, a, b, c, d);
        if (b)
            return d;
    }
    __cpuid(1, a, b, c, d);
    return b >> 24;
}

static int count_order(unsigned n) /* ceil(log2(n)), as Linux's */
{
    int o = 0;
    while ((1u << o) < n)
        o++;
    return o;
}

/* Move the calling thread onto CPU c. 0 or -errno. */
static int go_to_cpu(int c, cpu_set_t *set, size_t size)
{
    CPU_ZERO_S(size, set);
    CPU_SET_S((size_t)c, size, set);
    if (sched_setaffinity(0, size, set))
        return -errno;
    /* sched_setaffinity migrates before it returns; check anyway, since
     * the APIC ID we read must be this CPU's. */
    for (int tries = 0; tries < 100 && sched_getcpu() != c; tries++)
        sched_yield();
    return sched_getcpu() == c ? 0 : -EAGAIN;
}

struct cpuid_cache {
    int level;
    char type[12];
    uint64_t size;
    unsigned id; /* APIC ID >> order of sharing: equal ids share */
};

int cp_topo_cpuid_caches(struct cp_topo *t)
{
    struct cpuid_info ci;
    int rc = 0, cap = 0;
    if (!t->live)
        return -EINVAL;
    cpuid_probe(&ci);
    if (!ci.cache_leaf)
        return -ENOTSUP;
    size_t size = CPU_ALLOC_SIZE(t->max_cpu + 1);
    cpu_set_t *saved = CPU_ALLOC(t->max_cpu + 1);
    cpu_set_t *one = CPU_ALLOC(t->max_cpu + 1);
    struct cpuid_cache *rec =
        calloc((size_t)t->ncpu * CP_TOPO_MAX_CACHE_INDEX, sizeof *rec);
    int *nrec = calloc((size_t)t->ncpu, sizeof *nrec);
    uint64_t *shared = new_set(t);
    if (!saved || !one || !rec || !nrec || !shared) {
        rc = -ENOMEM;
        goto out;
    }
    if (sched_getaffinity(0, size, saved)) {
        rc = -errno;
        goto out;
    }
    for (int i = 0; i < t->ncpu && !rc; i++) {
        rc = go_to_cpu(t->cpus[i].id, one, size);
        if (rc)
            break;
        unsigned apic = apic_id(&ci);
        for (unsigned sub = 0; sub < CP_TOPO_MAX_CACHE_INDEX; sub++) {
            unsigned a, b, c, d;
            __cpuid_count(ci.cache_leaf, sub, a, b, c, d);
            unsigned type = a & 0x1f;
            if (!type) /* no more caches */
                break;
            struct cpuid_cache *r = &rec[i * CP_TOPO_MAX_CACHE_INDEX + nrec[i]];
            r->level = (a >> 5) & 7;
            snprintf(r->type, sizeof r->type, "%s",
                     type == 1   ? "Data"
                     : type == 2 ? "Instruction"
                                 : "Unified");
            uint64_t ways = ((b >> 22) & 0x3ff) + 1;
            uint64_t parts = ((b >> 12) & 0x3ff) + 1;
            uint64_t line = (b & 0xfff) + 1;
            uint64_t sets = (uint64_t)c + 1;
            r->size = ways * parts * line * sets;
            /* As Linux's cacheinfo: CPUs whose APIC IDs agree above the
             * bits of the sharing count share the cache; its AMD code
             * divides instead for L1/L2 (equal for powers of two). */
            unsigned nshared = ((a >> 14) & 0xfff) + 1;
            r->id = ci.amd && r->level != 3 ? apic / nshared
                                            : apic >> count_order(nshared);
            nrec[i]++;
        }
    }
    if (sched_setaffinity(0, size, saved) && !rc)
        rc = -errno;
    if (rc)
        goto out;
    free_caches(t);
    for (int i = 0; i < t->ncpu; i++) {
        for (int k = 0; k < nrec[i]; k++) {
            struct cpuid_cache *r = &rec[i * CP_TOPO_MAX_CACHE_INDEX + k];
            memset(shared, 0, (size_t)t->words * sizeof *shared);
            for (int j = 0; j < t->ncpu; j++)
                for (int m = 0; m < nrec[j]; m++) {
                    struct cpuid_cache *o =
                        &rec[j * CP_TOPO_MAX_CACHE_INDEX + m];
                    if (o->level == r->level && !strcmp(o->type, r->type) &&
                        o->id == r->id)
                        set_add(shared, t->cpus[j].id);
                }
            int c = add_cache(t, &cap, r->level, r->type, r->size, 1, shared);
            if (c < 0) {
                rc = c;
                goto out;
            }
            t->cpus[i].cache[t->cpus[i].ncache++] = c;
        }
    }
    t->cache_source = t->ncache ? CP_TOPO_SRC_CPUID : CP_TOPO_SRC_NONE;
out:
    free(shared);
    free(nrec);
    free(rec);
    if (one)
        CPU_FREE(one);
    if (saved)
        CPU_FREE(saved);
    return rc == -EINVAL ? -EPERM : rc;
}

/* Sockets and cores from the APIC ID fields of leaf 0x1F/0xB, for a live
 * machine whose sysfs has no topology directory (some containers). */
static int cpuid_topology(struct cp_topo *t, struct raw_cpu *raw)
{
    struct cpuid_info ci;
    unsigned a, b, c, d;
    int smt_shift = 0, pkg_shift = -1, rc = 0;
    cpuid_probe(&ci);
    unsigned leaf = ci.maxleaf >= 0x1F ? 0x1F : ci.maxleaf >= 0xB ? 0xB : 0;
    if (leaf == 0x1F) {
        __cpuid_count(0x1F, 0, a, b, c, d);
        if (!b)
            leaf = ci.maxleaf >= 0xB ? 0xB : 0;
    }
    for (unsigned sub = 0; leaf && sub < 8; sub++) {
        __cpuid_count(leaf, sub, a, b, c, d);
        unsigned type = (c >> 8) & 0xff;
        if (!type)
            break;
        if (type == 1)
            smt_shift = a & 0x1f;
        pkg_shift = a & 0x1f;
    }
    if (pkg_shift < 0)
        return -ENOTSUP;
    size_t size = CPU_ALLOC_SIZE(t->max_cpu + 1);
    cpu_set_t *saved = CPU_ALLOC(t->max_cpu + 1);
    cpu_set_t *one = CPU_ALLOC(t->max_cpu + 1);
    if (!saved || !one) {
        rc = -ENOMEM;
        goto out;
    }
    if (sched_getaffinity(0, size, saved)) {
        rc = -errno;
        goto out;
    }
    for (int i = 0; i < t->ncpu; i++) {
        if (go_to_cpu(t->cpus[i].id, one, size))
            continue; /* stays "not known" */
        unsigned apic = apic_id(&ci);
        t->cpus[i].socket = (int)(apic >> pkg_shift);
        t->cpus[i].die = -1;
        t->cpus[i].core_id =
            (int)((apic >> smt_shift) & ((1u << (pkg_shift - smt_shift)) - 1));
        raw[i].sib_known = 0;
    }
    sched_setaffinity(0, size, saved);
    t->topo_source = CP_TOPO_SRC_CPUID;
out:
    if (one)
        CPU_FREE(one);
    if (saved)
        CPU_FREE(saved);
    return rc;
}
#else
int cp_topo_cpuid_caches(struct cp_topo *t)
{
    return -ENOTSUP;
}

static int cpuid_topology(struct cp_topo *t, struct raw_cpu *raw)
{
    return -ENOTSUP;
}
#endif

/* Sizes from sysconf, sharing unknown: the last resort for the live
 * machine (non-x86 without sysfs caches). */
static int sysconf_caches(struct cp_topo *t)
{
    static const struct {
        int name, level;
        const char *type;
    } tab[] = {
#ifdef _SC_LEVEL1_DCACHE_SIZE
        {_SC_LEVEL1_DCACHE_SIZE, 1, "Data"},
        {_SC_LEVEL1_ICACHE_SIZE, 1, "Instruction"},
        {_SC_LEVEL2_CACHE_SIZE, 2, "Unified"},
        {_SC_LEVEL3_CACHE_SIZE, 3, "Unified"},
        {_SC_LEVEL4_CACHE_SIZE, 4, "Unified"},
#endif
        {-1, 0, NULL},
    };
    int cap = 0;
    for (int k = 0; tab[k].type; k++) {
        long v = sysconf(tab[k].name);
        if (v <= 0)
            continue;
        int c = add_cache(t, &cap, tab[k].level, tab[k].type, (uint64_t)v, 0,
                          t->online);
        if (c < 0)
            return c;
        for (int i = 0; i < t->ncpu; i++)
            if (t->cpus[i].ncache < CP_TOPO_MAX_CACHE_INDEX)
                t->cpus[i].cache[t->cpus[i].ncache++] = c;
    }
    if (t->ncache)
        t->cache_source = CP_TOPO_SRC_SYSCONF;
    return 0;
}

/* The highest N of the cpuN directories in dir, or -1. */
static int scan_cpu_dirs(const char *dir, uint64_t *set, int words)
{
    DIR *d = opendir(dir);
    int max = -1;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *p = e->d_name;
        if (strncmp(p, "cpu", 3) || !isdigit((unsigned char)p[3]))
            continue;
        char *end;
        long n = strtol(p + 3, &end, 10);
        if (*end || n < 0 || n >= (long)words * 64)
            continue;
        set_add(set, (int)n);
        if (n > max)
            max = (int)n;
    }
    closedir(d);
    return max;
}

static int highest(const uint64_t *set, int words)
{
    for (int w = words - 1; w >= 0; w--)
        if (set[w])
            return w * 64 + 63 - __builtin_clzll(set[w]);
    return -1;
}

/* Read the CPU sets and the per-CPU topology files. */
static int load_sysfs(struct cp_topo *t, struct raw_cpu **rawp)
{
    const int big = CP_TOPO_MAX_CPUS / 64;
    int rc = 0;
    char *buf = malloc(CP_TOPO_MAX_FILE);
    uint64_t *online = calloc(big, 8), *possible = calloc(big, 8),
             *dirs = calloc(big, 8);
    struct raw_cpu *raw = NULL;
    if (!buf || !online || !possible || !dirs) {
        rc = -ENOMEM;
        goto out;
    }
    int have_online = 0, have_possible = 0;
    if (!read_text(t->dir, "online", buf, CP_TOPO_MAX_FILE)) {
        rc = cp_topo_cpulist_parse(buf, online, big);
        if (rc == -ERANGE) {
            rc = fail(t, -E2BIG, "%s/online lists more than %d CPUs", t->dir,
                      CP_TOPO_MAX_CPUS);
            goto out;
        }
        have_online = !rc;
        rc = 0;
    }
    if (!read_text(t->dir, "possible", buf, CP_TOPO_MAX_FILE))
        have_possible = !cp_topo_cpulist_parse(buf, possible, big);
    scan_cpu_dirs(t->dir, dirs, big);
    if (!have_online) {
        /* Old or partial trees: every cpuN directory whose "online" file
         * does not say 0 (cpu0 usually has no such file). */
        for (int c = set_next(dirs, big, 0); c >= 0;
             c = set_next(dirs, big, c + 1)) {
            char d[4352];
            int on = 1;
            snprintf(d, sizeof d, "%s/cpu%d", t->dir, c);
            if (read_int(d, "online", &on) || on)
                set_add(online, c);
        }
    }
    if (t->live && !cp_topo_cpulist_count(online, big)) {
        /* No sysfs at all: the CPUs we may run on are what we know. */
        cpu_set_t *m = CPU_ALLOC(CP_TOPO_MAX_CPUS);
        size_t sz = CPU_ALLOC_SIZE(CP_TOPO_MAX_CPUS);
        if (m && !sched_getaffinity(0, sz, m))
            for (int c = 0; c < CP_TOPO_MAX_CPUS; c++)
                if (CPU_ISSET_S((size_t)c, sz, m))
                    set_add(online, c);
        if (m)
            CPU_FREE(m);
    }
    if (!cp_topo_cpulist_count(online, big)) {
        rc = fail(t, -ENOENT,
                  "no CPUs found in %s (no online list, no "
                  "cpuN directories)",
                  t->dir);
        goto out;
    }
    if (!have_possible)
        memcpy(possible, online, (size_t)big * 8);
    for (int w = 0; w < big; w++)
        possible[w] |= online[w];
    t->max_cpu = highest(possible, big);
    int md = highest(dirs, big);
    if (md > t->max_cpu)
        t->max_cpu = md;
    t->words = t->max_cpu / 64 + 1;
    t->online = new_set(t);
    t->possible = new_set(t);
    if (!t->online || !t->possible) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(t->online, online, (size_t)t->words * 8);
    memcpy(t->possible, possible, (size_t)t->words * 8);

    t->ncpu = cp_topo_cpulist_count(t->online, t->words);
    t->cpus = calloc((size_t)t->ncpu, sizeof *t->cpus);
    raw = calloc((size_t)t->ncpu, sizeof *raw);
    if (!t->cpus || !raw) {
        rc = -ENOMEM;
        goto out;
    }
    int i = 0, any_topo = 0;
    for (int c = set_next(t->online, t->words, 0); c >= 0;
         c = set_next(t->online, t->words, c + 1), i++) {
        struct cp_topo_cpu *cpu = &t->cpus[i];
        char d[4352];
        cpu->id = c;
        cpu->socket = cpu->die = cpu->core_id = -1;
        raw[i].socket = -1;
        snprintf(d, sizeof d, "%s/cpu%d/topology", t->dir, c);
        int got = !read_int(d, "physical_package_id", &cpu->socket);
        got |= !read_int(d, "core_id", &cpu->core_id);
        read_int(d, "die_id", &cpu->die);
        raw[i].sib = new_set(t);
        if (!raw[i].sib) {
            rc = -ENOMEM;
            goto out;
        }
        /* core_cpus_list is the newer name (Linux 5.x) of the same set. */
        if ((!read_text(d, "core_cpus_list", buf, CP_TOPO_MAX_FILE) ||
             !read_text(d, "thread_siblings_list", buf, CP_TOPO_MAX_FILE)) &&
            !cp_topo_cpulist_parse(buf, raw[i].sib, t->words) &&
            set_has(raw[i].sib, t->words, c)) {
            for (int w = 0; w < t->words; w++)
                raw[i].sib[w] &= t->online[w];
            raw[i].sib_known = 1;
            got = 1;
        }
        any_topo |= got;
    }
    t->topo_source = any_topo ? CP_TOPO_SRC_SYSFS : CP_TOPO_SRC_NONE;
out:
    free(dirs);
    free(possible);
    free(online);
    free(buf);
    *rawp = raw;
    return rc;
}

int cp_topo_load(const char *root, struct cp_topo *t)
{
    struct raw_cpu *raw = NULL;
    int rc;
    memset(t, 0, sizeof *t);
    t->live = !root;
    if (!root) {
        snprintf(t->dir, sizeof t->dir, "/sys/devices/system/cpu");
    } else {
        if (!is_dir(root))
            return fail(t, -ENOENT, "%s is not a directory", root);
        if ((size_t)snprintf(t->dir, sizeof t->dir, "%s/sys/devices/system/cpu",
                             root) >= sizeof t->dir)
            return fail(t, -ENAMETOOLONG, "the path %s is too long", root);
        if (!is_dir(t->dir))
            snprintf(t->dir, sizeof t->dir, "%s", root); /* the cpu dir */
    }
    rc = load_sysfs(t, &raw);
    if (rc)
        goto out;
    if (t->topo_source == CP_TOPO_SRC_NONE && t->live)
        cpuid_topology(t, raw); /* best effort: else one core per CPU */
    rc = form_cores(t, raw);
    if (rc)
        goto out;
    rc = sysfs_caches(t);
    if (rc)
        goto out;
    if (t->cache_source == CP_TOPO_SRC_NONE && t->live &&
        cp_topo_cpuid_caches(t))
        rc = sysconf_caches(t);
out:
    if (raw)
        for (int i = 0; i < t->ncpu; i++)
            free(raw[i].sib);
    free(raw);
    if (rc == -ENOMEM)
        fail(t, rc, "out of memory reading %s", t->dir);
    return rc;
}

void cp_topo_free(struct cp_topo *t)
{
    if (t->cpus)
        free_caches(t);
    for (int i = 0; i < t->ncore; i++)
        free(t->cores[i].cpus);
    free(t->cores);
    free(t->cpus);
    free(t->online);
    free(t->possible);
    t->cores = NULL;
    t->cpus = NULL;
    t->online = t->possible = NULL;
    t->ncpu = t->ncore = 0;
}

/* ---- advice ------------------------------------------------------------ */

/* Cores that do not hold CPU 0 come first: CPU 0 takes most interrupts and
 * housekeeping, which would blur a one-thread measurement. Returns the
 * index of the n-th core in that order. */
static int core_pref(const struct cp_topo *t, int n)
{
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->ncore; i++) {
            int has0 = set_has(t->cores[i].cpus, t->words, 0);
            if (has0 != pass)
                continue;
            if (k++ == n)
                return i;
        }
    return -1;
}

int cp_topo_advise(const struct cp_topo *t, struct cp_topo_advice *a)
{
    int rc = -ENOMEM;
    uint64_t *s = new_set(t);
    memset(a, 0, sizeof *a);
    if (!s)
        return rc;

    /* One CPU: the first CPU of the preferred core. */
    int c1 = core_pref(t, 0);
    if (c1 < 0)
        goto done;
    set_add(s, t->cores[c1].first_cpu);
    if (!(a->one_cpu = set_str(s, t->words)))
        goto out;

    /* Two distinct cores: the preferred one and the next on its socket
     * (a fair comparison with the SMT pair, which shares one socket),
     * else any other core. */
    int c2 = -1;
    for (int n = 1; c2 < 0 && n < t->ncore; n++) {
        int k = core_pref(t, n);
        if (t->cores[k].socket == t->cores[c1].socket)
            c2 = k;
    }
    if (c2 < 0 && t->ncore > 1)
        c2 = core_pref(t, 1);
    if (c2 >= 0) {
        set_add(s, t->cores[c2].first_cpu);
        if (!(a->two_cores = set_str(s, t->words)))
            goto out;
    }

    /* SMT pair: two siblings of the preferred core with SMT. */
    for (int n = 0; n < t->ncore; n++) {
        const struct cp_topo_core *c = &t->cores[core_pref(t, n)];
        if (c->nthreads < 2)
            continue;
        memset(s, 0, (size_t)t->words * 8);
        int f = set_next(c->cpus, t->words, 0);
        set_add(s, f);
        set_add(s, set_next(c->cpus, t->words, f + 1));
        if (!(a->smt_pair = set_str(s, t->words)))
            goto out;
        break;
    }

    /* One CPU per core, all cores; then those of the first socket. */
    memset(s, 0, (size_t)t->words * 8);
    for (int i = 0; i < t->ncore; i++)
        set_add(s, t->cores[i].first_cpu);
    a->nall_cores = t->ncore;
    if (!(a->all_cores = set_str(s, t->words)))
        goto out;
    if (t->nsocket > 1) {
        memset(s, 0, (size_t)t->words * 8);
        for (int i = 0; i < t->ncore; i++)
            if (t->cores[i].socket == t->cores[0].socket) {
                set_add(s, t->cores[i].first_cpu);
                a->nsocket0_cores++;
            }
        if (!(a->socket0_cores = set_str(s, t->words)))
            goto out;
    }
    a->nall_cpus = t->ncpu;
    if (!(a->all_cpus = set_str(t->online, t->words)))
        goto out;
done:
    rc = 0;
out:
    free(s);
    return rc;
}

void cp_topo_advice_free(struct cp_topo_advice *a)
{
    free(a->one_cpu);
    free(a->two_cores);
    free(a->smt_pair);
    free(a->all_cores);
    free(a->socket0_cores);
    free(a->all_cpus);
    memset(a, 0, sizeof *a);
}

static void advice_line(FILE *out, const char *what, const char *cpus,
                        const char *cmd, int threads)
{
    fprintf(out, "  %s:\n    taskset -c %s %s -t %d\n", what, cpus, cmd,
            threads);
}

void cp_topo_print_advice(FILE *out, const struct cp_topo *t,
                          const struct cp_topo_advice *a, const char *cmd)
{
    char what[256];
    if (!cmd)
        cmd = DEFAULT_CMD;
    fprintf(out, "Pinning advice for hash_bench (taskset -c CPULIST runs a "
                 "program on those CPUs only):\n");
    if (!a->one_cpu) {
        fprintf(out, "  no CPU is known: nothing to advise.\n");
        return;
    }
    snprintf(what, sizeof what, "1 thread on one CPU%s",
             t->ncpu > 1 && strcmp(a->one_cpu, "0")
                 ? " (not CPU 0, which takes most interrupts)"
                 : "");
    advice_line(out, what, a->one_cpu, cmd, 1);
    if (a->two_cores)
        advice_line(out, "2 threads on 2 distinct physical cores", a->two_cores,
                    cmd, 2);
    else
        fprintf(out, "  This machine has a single physical core: no "
                     "2-core run.\n");
    if (a->smt_pair)
        advice_line(out,
                    "2 threads on the 2 SMT siblings of one core (they "
                    "share its execution units)",
                    a->smt_pair, cmd, 2);
    else
        fprintf(out, "  This machine has no SMT: one thread per core, so no "
                     "two CPUs share a core's\n  execution units and there is "
                     "no SMT-sibling run to make here.\n");
    if (a->nall_cores > 2 || (a->nall_cores == 2 && a->smt_pair)) {
        snprintf(what, sizeof what,
                 "%d threads on %d distinct physical cores, one per core",
                 a->nall_cores, a->nall_cores);
        advice_line(out, what, a->all_cores, cmd, a->nall_cores);
    }
    if (a->socket0_cores) {
        snprintf(what, sizeof what,
                 "%d threads on the %d cores of socket %d only (no "
                 "cross-socket traffic)",
                 a->nsocket0_cores, a->nsocket0_cores, t->cores[0].socket);
        advice_line(out, what, a->socket0_cores, cmd, a->nsocket0_cores);
    }
    if (t->threads_per_core > 1) {
        snprintf(what, sizeof what,
                 "%d threads on all %d logical CPUs (SMT siblings included)",
                 a->nall_cpus, a->nall_cpus);
        advice_line(out, what, a->all_cpus, cmd, a->nall_cpus);
        fprintf(out, "Compare the two 2-thread runs: on distinct cores "
                     "hashes/s about doubles; on SMT\nsiblings the threads "
                     "compete for one core's ALUs and gain far less.\n");
    }
}

/* ---- printing ---------------------------------------------------------- */

static const char *source_name(enum cp_topo_source s)
{
    switch (s) {
    case CP_TOPO_SRC_SYSFS:
        return "sysfs";
    case CP_TOPO_SRC_CPUID:
        return "cpuid";
    case CP_TOPO_SRC_SYSCONF:
        return "sysconf";
    default:
        return "none";
    }
}

static void cache_label(const struct cp_topo_cache *c, char *buf, size_t len)
{
    const char *suf = !strcmp(c->type, "Data")          ? "d"
                      : !strcmp(c->type, "Instruction") ? "i"
                      : !strcmp(c->type, "Unified")     ? ""
                                                        : "?";
    snprintf(buf, len, "L%d%s", c->level, suf);
}

static void human_size(uint64_t b, char *buf, size_t len)
{
    if (!b)
        snprintf(buf, len, "?");
    else if (b >= (1ull << 30) && !(b % (1ull << 30)))
        snprintf(buf, len, "%llu GiB", (unsigned long long)(b >> 30));
    else if (b >= (1ull << 20) && !(b % (1ull << 20)))
        snprintf(buf, len, "%llu MiB", (unsigned long long)(b >> 20));
    else if (b >= (1ull << 20))
        snprintf(buf, len, "%.1f MiB", b / 1048576.0);
    else if (b >= 1024 && !(b % 1024))
        snprintf(buf, len, "%llu KiB", (unsigned long long)(b >> 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)b);
}

/* Order of cache kinds in the table: level, then Data, Instruction,
 * Unified. */
static int kind_rank(const struct cp_topo_cache *c)
{
    int r = !strcmp(c->type, "Data")          ? 0
            : !strcmp(c->type, "Instruction") ? 1
            : !strcmp(c->type, "Unified")     ? 2
                                              : 3;
    return c->level * 4 + r;
}

/* Distinct cache kinds (level+type), sorted; returns how many, each given
 * by the index of one cache of that kind. */
static int cache_kinds(const struct cp_topo *t, int *kinds, int max)
{
    int n = 0;
    for (int i = 0; i < t->ncache; i++) {
        int seen = 0;
        for (int k = 0; k < n && !seen; k++)
            seen =
                kind_rank(&t->caches[kinds[k]]) == kind_rank(&t->caches[i]) &&
                !strcmp(t->caches[kinds[k]].type, t->caches[i].type);
        if (seen || n == max)
            continue;
        int j = n++;
        while (j > 0 &&
               kind_rank(&t->caches[kinds[j - 1]]) > kind_rank(&t->caches[i])) {
            kinds[j] = kinds[j - 1];
            j--;
        }
        kinds[j] = i;
    }
    return n;
}

static int same_kind(const struct cp_topo_cache *a,
                     const struct cp_topo_cache *b)
{
    return a->level == b->level && !strcmp(a->type, b->type);
}

/* How the instances of one kind and size are spread, as words. */
static void describe_sharing(FILE *out, const struct cp_topo *t,
                             const struct cp_topo_cache *kind, uint64_t size)
{
    int n = 0, per_cpu = 1, per_core = 1, per_socket = 1, known = 1;
    int all_online = 0;
    uint64_t *sock = new_set(t);
    for (int i = 0; i < t->ncache; i++) {
        const struct cp_topo_cache *c = &t->caches[i];
        if (!same_kind(c, kind) || c->size != size)
            continue;
        n++;
        known &= c->shared_known;
        int cnt = cp_topo_cpulist_count(c->cpus, t->words);
        int first = set_next(c->cpus, t->words, 0);
        const struct cp_topo_core *core =
            &t->cores[t->cpus[cpu_index(t, first)].core];
        per_cpu &= cnt == 1;
        all_online = set_equal(c->cpus, t->online, t->words);
        per_core &= set_equal(c->cpus, core->cpus, t->words);
        if (sock) {
            memset(sock, 0, (size_t)t->words * 8);
            for (int k = 0; k < t->ncore; k++)
                if (t->cores[k].socket == core->socket)
                    for (int w = 0; w < t->words; w++)
                        sock[w] |= t->cores[k].cpus[w];
            per_socket &= set_equal(c->cpus, sock, t->words);
        }
    }
    free(sock);
    if (!known) {
        fprintf(out, " sharing not known (%s)\n",
                t->cache_source == CP_TOPO_SRC_SYSCONF
                    ? "sysconf gives sizes only"
                    : "not in sysfs");
        return;
    }
    if (per_core && t->threads_per_core > 1) {
        fprintf(out, " x%d, one per core (shared by its SMT siblings)\n", n);
        return;
    }
    if (per_core || (per_cpu && t->threads_per_core <= 1)) {
        fprintf(out, " x%d, one per core\n", n);
        return;
    }
    if (per_cpu) {
        fprintf(out, " x%d, one per logical CPU\n", n);
        return;
    }
    if (n == 1 && all_online) {
        fprintf(out, " x1, shared by all %d CPUs\n", t->ncpu);
        return;
    }
    fprintf(out, " x%d%s", n,
            per_socket && t->nsocket > 1 ? ", one per socket" : "");
    int shown = 0;
    for (int i = 0; i < t->ncache; i++) {
        const struct cp_topo_cache *c = &t->caches[i];
        if (!same_kind(c, kind) || c->size != size)
            continue;
        if (shown == 8) {
            fprintf(out, "; ... (%d more)", n - shown);
            break;
        }
        char *l = set_str(c->cpus, t->words);
        int cnt = cp_topo_cpulist_count(c->cpus, t->words);
        fprintf(out, "%s #%d = CPUs %s (%d)", shown ? ";" : ":", c->instance,
                l ? l : "?", cnt);
        free(l);
        shown++;
    }
    fputc('\n', out);
}

void cp_topo_print(FILE *out, const struct cp_topo *t,
                   const struct cp_topo_advice *a)
{
    char *online = set_str(t->online, t->words);
    char *possible = set_str(t->possible, t->words);
    int kinds[32], nk = cache_kinds(t, kinds, 32);

    fprintf(out, "%d logical CPU%s on %d physical core%s", t->ncpu,
            t->ncpu == 1 ? "" : "s", t->ncore, t->ncore == 1 ? "" : "s");
    if (t->topo_source == CP_TOPO_SRC_NONE)
        fprintf(out, " (sockets, cores and siblings not in %s)",
                t->live ? "sysfs or CPUID" : "sysfs");
    else
        fprintf(out, " in %d socket%s", t->nsocket, t->nsocket == 1 ? "" : "s");
    if (t->threads_per_core > 1)
        fprintf(out, ", %d threads per core (SMT)\n", t->threads_per_core);
    else
        fprintf(out, ", no SMT (one thread per core)\n");
    fprintf(out, "online CPUs %s of possible %s; read from %s%s\n",
            online ? online : "?", possible ? possible : "?", t->dir,
            t->topo_source == CP_TOPO_SRC_CPUID ? " and CPUID" : "");
    free(online);
    free(possible);

    /* Show the die column only when some socket has several dies. */
    int show_die = 0;
    for (int i = 0; i < t->ncpu && !show_die; i++)
        for (int j = 0; j < i && !show_die; j++)
            show_die = t->cpus[i].socket == t->cpus[j].socket &&
                       t->cpus[i].die != t->cpus[j].die;

    fprintf(out, "\n  CPU  socket%s  core_id  SMT siblings",
            show_die ? "  die" : "");
    for (int k = 0; k < nk; k++) {
        char l[16];
        cache_label(&t->caches[kinds[k]], l, sizeof l);
        fprintf(out, "  %4s", l);
    }
    fputc('\n', out);
    for (int i = 0; i < t->ncpu; i++) {
        const struct cp_topo_cpu *c = &t->cpus[i];
        char *sib = set_str(t->cores[c->core].cpus, t->words);
        char sock[16], die[16], core[16];
        snprintf(sock, sizeof sock, c->socket >= 0 ? "%d" : "?", c->socket);
        snprintf(die, sizeof die, c->die >= 0 ? "%d" : "?", c->die);
        snprintf(core, sizeof core, c->core_id >= 0 ? "%d" : "?", c->core_id);
        fprintf(out, "%5d  %6s", c->id, sock);
        if (show_die)
            fprintf(out, "  %3s", die);
        if (nk)
            fprintf(out, "  %7s  %-12s", core, sib ? sib : "?");
        else
            fprintf(out, "  %7s  %s", core, sib ? sib : "?");
        free(sib);
        for (int k = 0; k < nk; k++) {
            const struct cp_topo_cache *kind = &t->caches[kinds[k]];
            char cell[16] = "-";
            for (int m = 0; m < c->ncache; m++)
                if (same_kind(&t->caches[c->cache[m]], kind))
                    snprintf(cell, sizeof cell, "#%d",
                             t->caches[c->cache[m]].instance);
            fprintf(out, "  %4s", cell);
        }
        fputc('\n', out);
    }

    fputc('\n', out);
    if (t->cache_source == CP_TOPO_SRC_NONE) {
        fprintf(out, "Caches: not in sysfs%s\n",
                t->live ? ", CPUID or sysconf"
                        : " (CPUID is read for the live machine only, "
                          "never for a -root tree)");
    } else {
        fprintf(out, "Caches (from %s%s; #N in the table above):\n",
                source_name(t->cache_source),
                t->cache_source == CP_TOPO_SRC_CPUID ? ", sysfs has none" : "");
        for (int k = 0; k < nk; k++) {
            const struct cp_topo_cache *kind = &t->caches[kinds[k]];
            /* One line per distinct size (hybrid CPUs mix them). */
            for (int i = 0; i < t->ncache; i++) {
                const struct cp_topo_cache *c = &t->caches[i];
                int first = 1;
                if (!same_kind(c, kind))
                    continue;
                for (int j = 0; j < i && first; j++)
                    first = !(same_kind(&t->caches[j], kind) &&
                              t->caches[j].size == c->size);
                if (!first)
                    continue;
                char l[16], sz[32];
                cache_label(c, l, sizeof l);
                human_size(c->size, sz, sizeof sz);
                fprintf(out, "  %-4s %-9s", l, sz);
                describe_sharing(out, t, kind, c->size);
            }
        }
    }
    fputc('\n', out);
    cp_topo_print_advice(out, t, a, NULL);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void json_set(FILE *out, const uint64_t *set, int words)
{
    char *s = set_str(set, words);
    json_str(out, s ? s : "");
    free(s);
}

void cp_topo_print_json(FILE *out, const struct cp_topo *t,
                        const struct cp_topo_advice *a)
{
    fprintf(out, "{\n  \"dir\": ");
    json_str(out, t->dir);
    fprintf(out,
            ",\n  \"live\": %s,\n  \"online\": ", t->live ? "true" : "false");
    json_set(out, t->online, t->words);
    fprintf(out, ",\n  \"possible\": ");
    json_set(out, t->possible, t->words);
    fprintf(out,
            ",\n  \"logical_cpus\": %d,\n  \"physical_cores\": %d,\n"
            "  \"sockets\": %d,\n  \"threads_per_core\": %d,\n"
            "  \"smt\": %s,\n  \"topology_source\": \"%s\",\n"
            "  \"cache_source\": \"%s\",\n  \"cpus\": [",
            t->ncpu, t->ncore, t->nsocket, t->threads_per_core,
            t->threads_per_core > 1 ? "true" : "false",
            source_name(t->topo_source), source_name(t->cache_source));
    for (int i = 0; i < t->ncpu; i++) {
        const struct cp_topo_cpu *c = &t->cpus[i];
        fprintf(out,
                "%s\n    {\"cpu\": %d, \"socket\": %d, \"die\": %d, "
                "\"core_id\": %d, \"core\": %d, \"siblings\": ",
                i ? "," : "", c->id, c->socket, c->die, c->core_id, c->core);
        json_set(out, t->cores[c->core].cpus, t->words);
        fprintf(out, ", \"caches\": [");
        for (int k = 0; k < c->ncache; k++)
            fprintf(out, "%s%d", k ? ", " : "", c->cache[k]);
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ],\n  \"caches\": [");
    for (int i = 0; i < t->ncache; i++) {
        const struct cp_topo_cache *c = &t->caches[i];
        char l[16];
        cache_label(c, l, sizeof l);
        fprintf(out,
                "%s\n    {\"index\": %d, \"name\": \"%s\", \"level\": %d, "
                "\"type\": ",
                i ? "," : "", i, l, c->level);
        json_str(out, c->type);
        fprintf(out, ", \"size\": %llu, \"instance\": %d, \"cpus\": ",
                (unsigned long long)c->size, c->instance);
        if (c->shared_known)
            json_set(out, c->cpus, t->words);
        else
            fprintf(out, "null");
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n  \"advice\": {");
    const struct {
        const char *key, *val;
        int threads;
    } adv[] = {
        {"one_cpu", a->one_cpu, 1},
        {"two_cores", a->two_cores, 2},
        {"smt_pair", a->smt_pair, 2},
        {"all_cores", a->all_cores, a->nall_cores},
        {"socket0_cores", a->socket0_cores, a->nsocket0_cores},
        {"all_cpus", a->all_cpus, a->nall_cpus},
    };
    for (size_t i = 0; i < sizeof adv / sizeof adv[0]; i++) {
        fprintf(out, "%s\n    \"%s\": ", i ? "," : "", adv[i].key);
        if (!adv[i].val) {
            fprintf(out, "null");
            continue;
        }
        fprintf(out, "{\"cpus\": ");
        json_str(out, adv[i].val);
        fprintf(out, ", \"threads\": %d}", adv[i].threads);
    }
    fprintf(out, "\n  }\n}\n");
}

/* ---- the command ------------------------------------------------------- */

static const char usage[] = "usage: cprof topo [-root=DIR] [-json]";

/* "cprof: topo: <sentence>" on stderr; returns 1. Not cli.h's cp_die,
 * which lives in main.c and so is missing from the unit tests' link. */
static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    fputs("cprof: topo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("cprof: topo: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (%s)\n", usage);
    return 2;
}

int cp_cmd_topo(int argc, char **argv)
{
    const char *root = getenv("CPROF_SYSFS_ROOT");
    int json = 0;
    if (root && !*root)
        root = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1])
            return bad_usage("unexpected argument '%s': topo takes only "
                             "flags",
                             arg);
        const char *name = arg + 1 + (arg[1] == '-');
        if (!*name) { /* "--": end of flags */
            if (i + 1 < argc)
                return bad_usage("unexpected argument '%s': topo takes "
                                 "only flags",
                                 argv[i + 1]);
            break;
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen == 4 && !strncmp(name, "root", 4)) {
            if (eq) {
                root = eq + 1;
            } else if (i + 1 < argc) {
                root = argv[++i];
            } else {
                return bad_usage("flag needs an argument: %s", arg);
            }
            if (!*root)
                return bad_usage("%s: the directory is empty", arg);
        } else if (nlen == 4 && !strncmp(name, "json", 4)) {
            if (!eq || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "1"))
                json = 1;
            else if (!strcmp(eq + 1, "false") || !strcmp(eq + 1, "0"))
                json = 0;
            else
                return bad_usage("invalid boolean value for %s", arg);
        } else if ((nlen == 1 && name[0] == 'h') ||
                   (nlen == 4 && !strncmp(name, "help", 4))) {
            printf("%s\n\n"
                   "Logical CPUs, physical cores, sockets, SMT siblings and "
                   "shared caches of this\nmachine, and where to pin "
                   "hash_bench's threads with taskset.\n\n"
                   "  -root=DIR  read DIR/sys/devices/system/cpu instead of "
                   "this machine's\n"
                   "             (also CPROF_SYSFS_ROOT); CPUID is then "
                   "never used\n"
                   "  -json      one JSON object instead of the table\n",
                   usage);
            return 0;
        } else {
            return bad_usage("flag provided but not defined: %s", arg);
        }
    }

    struct cp_topo t;
    struct cp_topo_advice a;
    int rc = cp_topo_load(root, &t);
    if (rc) {
        die("%s", t.err[0] ? t.err : strerror(-rc));
        cp_topo_free(&t);
        return 1;
    }
    if (cp_topo_advise(&t, &a)) {
        cp_topo_free(&t);
        return die("out of memory");
    }
    if (json)
        cp_topo_print_json(stdout, &t, &a);
    else
        cp_topo_print(stdout, &t, &a);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
    if (fflush(stdout) || ferror(stdout))
        return die("cannot write the output: %s", strerror(errno));
    return 0;
}
