/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modules.c - module history and lock-free snapshot (modules.h), and the
 * dlopen/dlclose interposers that keep them current.
 *
 * Lock order: cp_modules_lock is a leaf (taken with no other cprof lock
 * held, and nothing else is taken under it except the loader's own lock
 * inside dl_iterate_phdr).
 */
#include "modules.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi.h"
#include "cp_assert.h"
#include "cp_limits.h"
#include "cp_lock.h"

static pthread_mutex_t cp_modules_lock = PTHREAD_MUTEX_INITIALIZER;

/* guarded by cp_modules_lock */
static struct cp_module_info *history;
static struct cfi_slot {
    struct cp_cfi_table *cfi;
    bool tried;
} *history_cfi;
static size_t n_history, cap_history;
static bool want_cfi;

static _Atomic(struct cp_module_snapshot *) current;
/* Handlers between loading `current` and counting themselves in its refs:
 * the refresher waits for none to be there before it trusts refs == 0
 * (else a handler could add to a snapshot just freed). */
static _Atomic int pinning;
_Atomic int cp_modules_stale;

static uintptr_t page_down(uintptr_t a)
{
    return a & ~(uintptr_t)4095;
}
static uintptr_t page_up(uintptr_t a)
{
    return (a + 4095) & ~(uintptr_t)4095;
}

static void hexify(const uint8_t *b, size_t n, char *out, size_t outlen)
{
    static const char d[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < n && j + 2 < outlen; i++) {
        out[j++] = d[b[i] >> 4];
        out[j++] = d[b[i] & 15];
    }
    out[j] = '\0';
}

/* Build ID from the module's PT_NOTE segments, in memory. */
static void note_build_id(const struct dl_phdr_info *info, char *out,
                          size_t outlen)
{
    out[0] = '\0';
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name = (nh->n_namesz + 3) & ~3u;
            size_t desc = (nh->n_descsz + 3) & ~3u;
            const uint8_t *d = p + sizeof *nh + name;
            if (d + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                !memcmp(p + sizeof *nh, "GNU", 4)) {
                hexify(d, nh->n_descsz, out, outlen);
                return;
            }
            p = d + desc;
        }
    }
}

static char *module_path(const struct dl_phdr_info *info, bool *main_exe)
{
    char buf[PATH_MAX];
    const char *name = info->dlpi_name;

    *main_exe = false;
    if (!name || !*name) {
        /* The main executable has an empty name; vdso has a name with no
         * file behind it. */
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0)
            return strdup("[exe]");
        buf[n] = '\0';
        *main_exe = true;
        return strdup(buf);
    }
    if (!strncmp(name, "linux-vdso", 10) || !strncmp(name, "linux-gate", 10))
        return strdup("[vdso]");
    if (name[0] != '/' && realpath(name, buf))
        return strdup(buf);
    return strdup(name);
}

struct scan {
    bool oom;
    /* modules seen in this scan, by history index */
    uint32_t *seen;
    size_t n_seen, cap_seen;
};

static int history_add(const struct dl_phdr_info *info,
                       const ElfW(Phdr) *ph, struct scan *sc)
{
    uintptr_t start = page_down(info->dlpi_addr + ph->p_vaddr);
    uintptr_t limit = page_up(info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
    size_t i;

    for (i = 0; i < n_history; i++) {
        struct cp_module_info *m = &history[i];
        if (m->start == start && m->limit == limit &&
            m->bias == info->dlpi_addr)
            break;
    }
    if (i == n_history) {
        bool main_exe;
        if (n_history == cap_history) {
            size_t cap = cap_history ? cap_history * 2 : 64;
            struct cp_module_info *h = realloc(history, cap * sizeof *h);
            struct cfi_slot *c;
            if (!h)
                return -ENOMEM;
            history = h;
            c = realloc(history_cfi, cap * sizeof *c);
            if (!c)
                return -ENOMEM;
            history_cfi = c;
            cap_history = cap;
        }
        struct cp_module_info *m = &history[n_history];
        memset(m, 0, sizeof *m);
        m->path = module_path(info, &main_exe);
        if (!m->path)
            return -ENOMEM;
        m->main_exe = main_exe;
        m->bias = info->dlpi_addr;
        m->start = start;
        m->limit = limit;
        m->file_offset = page_down(ph->p_offset);
        note_build_id(info, m->build_id, sizeof m->build_id);
        history_cfi[n_history] = (struct cfi_slot){0};
        n_history++;
    }
    history[i].loaded = true;
    if (want_cfi && !history_cfi[i].tried) {
        history_cfi[i].tried = true;
        for (int k = 0; k < info->dlpi_phnum; k++) {
            const ElfW(Phdr) *eh = &info->dlpi_phdr[k];
            if (eh->p_type == PT_GNU_EH_FRAME) {
                history_cfi[i].cfi =
                    cp_cfi_build(info->dlpi_addr + eh->p_vaddr, eh->p_memsz,
                                 history[i].start, history[i].limit);
                break;
            }
        }
    }
    if (sc->n_seen == sc->cap_seen) {
        size_t cap = sc->cap_seen ? sc->cap_seen * 2 : 64;
        uint32_t *s = realloc(sc->seen, cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        sc->seen = s;
        sc->cap_seen = cap;
    }
    sc->seen[sc->n_seen++] = (uint32_t)i;
    return 0;
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *sc = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz) {
            if (history_add(info, ph, sc) < 0) {
                sc->oom = true;
                return 1;
            }
        }
    }
    return 0;
}

static int cmp_mod(const void *a, const void *b)
{
    const struct cp_module *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void snapshot_free_when_unused(struct cp_module_snapshot *old)
{
    /* Called after `old` left `current`: once no handler is between its
     * load and its count, every handler that saw `old` is in its refs.
     * Handlers hold a pin for microseconds; wait them out. */
    for (int spins = 0; atomic_load(&pinning) != 0; spins++) {
        if (spins < 100)
            sched_yield();
        else
            usleep(100);
    }
    for (int spins = 0; atomic_load(&old->refs) != 0; spins++) {
        if (spins < 100)
            sched_yield();
        else
            usleep(100);
    }
    free(old);
}

int cp_modules_refresh(bool with_cfi)
{
    struct scan sc = {0};
    struct cp_module_snapshot *snap = NULL, *old;
    int ret = 0;

    cp_mutex_lock(&cp_modules_lock);
    if (with_cfi)
        want_cfi = true;
    for (size_t i = 0; i < n_history; i++)
        history[i].loaded = false;
    dl_iterate_phdr(scan_cb, &sc);
    if (sc.oom) {
        ret = -ENOMEM;
        goto out;
    }
    snap = calloc(1, sizeof *snap + sc.n_seen * sizeof(struct cp_module));
    if (!snap) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < sc.n_seen && k < CP_MAX_MODULES; k++) {
        uint32_t i = sc.seen[k];
        snap->mods[snap->n++] = (struct cp_module){
            .lo = history[i].start,
            .hi = history[i].limit,
            .cfi = history_cfi[i].cfi,
            .info = i,
        };
    }
    qsort(snap->mods, snap->n, sizeof snap->mods[0], cmp_mod);
    old = atomic_exchange(&current, snap);
    if (old)
        snapshot_free_when_unused(old);
out:
    /* CFI tables of unloaded modules stay: a pinned old snapshot may still
     * point at them, and a module reloaded at the same place reuses its
     * table. They are bounded by the number of distinct (path, address)
     * pairs ever loaded. */
    cp_mutex_unlock(&cp_modules_lock);
    free(sc.seen);
    return ret;
}

/* cprof: signal context (pin, unpin, find) */
struct cp_module_snapshot *cp_modules_pin(void)
{
    struct cp_module_snapshot *s;

    atomic_fetch_add(&pinning, 1);
    s = atomic_load(&current);
    if (s)
        atomic_fetch_add(&s->refs, 1);
    atomic_fetch_sub(&pinning, 1);
    return s;
}

void cp_modules_unpin(struct cp_module_snapshot *s)
{
    if (s)
        atomic_fetch_sub(&s->refs, 1);
}

const struct cp_module *cp_modules_find(const struct cp_module_snapshot *s,
                                        uintptr_t pc)
{
    size_t lo = 0, hi;
    if (!s)
        return NULL;
    hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->mods[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || pc >= s->mods[lo - 1].hi)
        return NULL;
    return &s->mods[lo - 1];
}

int cp_modules_history(struct cp_module_info **out)
{
    struct cp_module_info *h;
    int n;

    cp_mutex_lock(&cp_modules_lock);
    n = (int)n_history;
    h = calloc(n ? (size_t)n : 1, sizeof *h);
    if (!h) {
        cp_mutex_unlock(&cp_modules_lock);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        h[i] = history[i];
        h[i].path = strdup(history[i].path);
    }
    cp_mutex_unlock(&cp_modules_lock);
    *out = h;
    return n;
}

void cp_modules_history_free(struct cp_module_info *h, int n)
{
    for (int i = 0; i < n; i++)
        free(h[i].path);
    free(h);
}

void cp_modules_atfork_child(void)
{
    struct cp_module_snapshot *s = atomic_load(&current);

    pthread_mutex_init(&cp_modules_lock, NULL);
    /* A pin taken by a handler running on another thread at the moment of
     * fork is copied into the child, where that thread does not exist and
     * never unpins: the child's next refresh (its CPU profile restarts as
     * FILE.PID right after this) would wait for it forever. Only the
     * forking thread exists here, and it is not inside a handler. */
    atomic_store(&pinning, 0);
    if (s)
        atomic_store(&s->refs, 0);
}

/* ---- dlopen / dlclose interposers ---- */

typedef void *cp_dlopen_fn(const char *, int);
typedef int cp_dlclose_fn(void *);
typedef void *cp_dlmopen_fn(Lmid_t, const char *, int);

static cp_dlopen_fn *real_dlopen;
static cp_dlclose_fn *real_dlclose;
static cp_dlmopen_fn *real_dlmopen;

void *cp_real_dlopen(const char *file, int mode)
{
    if (!real_dlopen)
        real_dlopen = (cp_dlopen_fn *)dlsym(RTLD_NEXT, "dlopen");
    return real_dlopen ? real_dlopen(file, mode) : NULL;
}

static bool modules_started(void)
{
    return atomic_load(&current) != NULL;
}

__attribute__((visibility("default"))) void *dlopen(const char *file,
                                                    int mode)
{
    void *h = cp_real_dlopen(file, mode);
    if (h && modules_started())
        cp_modules_refresh(false);
    return h;
}

__attribute__((visibility("default"))) void *dlmopen(Lmid_t lmid,
                                                     const char *file,
                                                     int mode)
{
    void *h;
    if (!real_dlmopen)
        real_dlmopen = (cp_dlmopen_fn *)dlsym(RTLD_NEXT, "dlmopen");
    if (!real_dlmopen)
        return NULL;
    h = real_dlmopen(lmid, file, mode);
    if (h && modules_started())
        cp_modules_refresh(false);
    return h;
}

__attribute__((visibility("default"))) int dlclose(void *handle)
{
    int r;
    if (!real_dlclose)
        real_dlclose = (cp_dlclose_fn *)dlsym(RTLD_NEXT, "dlclose");
    if (!real_dlclose)
        return -1;
    r = real_dlclose(handle);
    if (modules_started())
        cp_modules_refresh(false);
    return r;
}
