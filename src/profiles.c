/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profiles.c - registry of named profiles and cprof_profile_write
 * (profiles.h).
 */
#include "profiles.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "api.h"
#include "codec.h"
#include "cp_lock.h"
#include "cprof.h"
#include "thread_reg.h"

#define MAX_SOURCES 32

static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct cp_profile_source *sources[MAX_SOURCES];
static int n_sources;

int cp_profiles_register(const struct cp_profile_source *src)
{
    int r = 0, i;
    cp_mutex_lock(&sources_lock);
    for (i = 0; i < n_sources; i++) {
        if (!strcmp(sources[i]->name, src->name))
            break;
    }
    if (i < n_sources)
        sources[i] = src;
    else if (n_sources < MAX_SOURCES)
        sources[n_sources++] = src;
    else
        r = -ENOSPC;
    cp_mutex_unlock(&sources_lock);
    return r;
}

const struct cp_profile_source *cp_profiles_find(const char *name)
{
    const struct cp_profile_source *s = NULL;
    if (!name)
        return NULL;
    if (!strcmp(name, "goroutine"))
        name = "threads";
    cp_mutex_lock(&sources_lock);
    for (int i = 0; i < n_sources; i++) {
        if (!strcmp(sources[i]->name, name)) {
            s = sources[i];
            break;
        }
    }
    cp_mutex_unlock(&sources_lock);
    return s;
}

int cp_profiles_list(const struct cp_profile_source **out, int max)
{
    int n;
    cp_mutex_lock(&sources_lock);
    n = n_sources < max ? n_sources : max;
    memcpy(out, sources, (size_t)n * sizeof *out);
    cp_mutex_unlock(&sources_lock);
    return n;
}

static int render(const char *name, int debug, struct cp_dynbuf *out)
{
    const struct cp_profile_source *s = cp_profiles_find(name);
    struct cp_profile p;
    int r;

    if (!s)
        return -ENOENT;
    if (debug > 0 && s->write_text)
        return s->write_text(debug, out);
    if (!s->build)
        return -ENOSYS;
    r = s->build(&p);
    if (r < 0)
        return r;
    r = cp_profile_encode(&p, 1, out);
    cp_profile_free(&p);
    return r;
}

int cp_profiles_render(const char *name, int debug, struct cp_dynbuf *out)
{
    int r;
    /* The writer's own allocations are not the program's: the heap
     * sampler skips them (heap.c). */
    cp_tls.in_cprof++;
    r = render(name, debug, out);
    cp_tls.in_cprof--;
    return r;
}

__attribute__((visibility("default"))) int
cprof_profile_write(const char *name, const char *path, int debug)
{
    struct cp_dynbuf b;
    int r;

    if (!name || !path || !*path || debug < 0)
        return cp_api_err(-EINVAL, "cprof_profile_write: missing name or "
                          "path");
    cp_dynbuf_init(&b, (size_t)1 << 31);
    r = cp_profiles_render(name, debug, &b);
    if (r == -ENOENT) {
        cp_dynbuf_free(&b);
        return cp_api_err(r, "cprof_profile_write: no profile named \"%s\" "
                          "(heap, allocs, threads, goroutine, threadcreate, "
                          "mutex, block, wall)", name);
    }
    if (r == 0)
        r = cp_write_file_atomic(path, b.data ? b.data : "", b.len);
    cp_dynbuf_free(&b);
    if (r < 0)
        return cp_api_err(r, "cprof_profile_write: %s to %s: %s", name, path,
                          strerror(-r));
    cp_api_ok();
    return 0;
}
