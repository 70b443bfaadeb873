/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symcache.c - the process's shared symbolizer (symcache.h).
 */
#include "symcache.h"

#include <errno.h>
#include <pthread.h>

#include "cp_lock.h"
#include "modules.h"
#include "symbol/symbolize.h"

static pthread_mutex_t symcache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cp_symbolizer *shared; /* guarded by symcache_lock */

static struct cp_symbolizer *get_locked(void)
{
    if (!shared)
        shared = cp_sym_new();
    return shared;
}

int cp_symcache_profile(struct cp_profile *p)
{
    struct cp_symbolizer *s;
    int r = -ENOMEM;

    cp_mutex_lock(&symcache_lock);
    s = get_locked();
    if (s)
        r = cp_sym_profile(s, p, NULL);
    cp_mutex_unlock(&symcache_lock);
    return r;
}

int cp_symcache_names(const uint64_t *addrs, size_t n, struct cp_dynbuf *out)
{
    struct cp_module_info *mods;
    struct cp_symbolizer *s;
    int nm, r = 0;

    cp_modules_refresh(false);
    nm = cp_modules_history(&mods);
    if (nm < 0)
        return nm;
    cp_mutex_lock(&symcache_lock);
    s = get_locked();
    if (!s) {
        r = -ENOMEM;
        goto out;
    }
    /* the modules loaded now (a range reused by a later dlopen replaces
     * the earlier module's) */
    for (int i = 0; i < nm; i++) {
        if (mods[i].loaded)
            cp_sym_add_module(s, mods[i].path, mods[i].start, mods[i].limit,
                              mods[i].file_offset,
                              mods[i].build_id[0] ? mods[i].build_id : NULL);
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        struct cp_sym_frame f[CP_SYM_MAX_FRAMES];
        int nf = cp_sym_lookup(s, addrs[i], f, CP_SYM_MAX_FRAMES);
        /* the innermost function, as Go's FuncForPC */
        if (nf > 0 && f[0].function)
            r = cp_dynbuf_printf(out, "%#llx %s\n",
                                 (unsigned long long)addrs[i],
                                 f[0].function);
    }
out:
    cp_mutex_unlock(&symcache_lock);
    cp_modules_history_free(mods, nm);
    return r;
}

/* Forked child: the lock may have been held by a thread that is gone. */
void cp_symcache_atfork_child(void)
{
    pthread_mutex_init(&symcache_lock, NULL);
}
