/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbuild.c - mappings, locations and symbolization for the runtime's
 * profile writers (pbuild.h).
 */
#include "pbuild.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_hash.h"
#include "symbol/symbolize.h"

int cp_pbuild_init(struct cp_pbuild *b, struct cp_profile *p)
{
    memset(b, 0, sizeof *b);
    b->p = p;
    b->n_mods = cp_modules_history(&b->mods);
    if (b->n_mods < 0) {
        int r = b->n_mods;
        b->n_mods = 0;
        b->mods = NULL;
        return r;
    }
    for (int i = 0; i < b->n_mods; i++) {
        struct cp_mapping *m = cp_profile_add_mapping(p);
        if (!m)
            return -ENOMEM;
        m->memory_start = b->mods[i].start;
        m->memory_limit = b->mods[i].limit;
        m->file_offset = b->mods[i].file_offset;
        m->filename = cp_profile_str(p, b->mods[i].path);
        m->build_id = cp_profile_str(p, b->mods[i].build_id);
        if (m->filename < 0 || m->build_id < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The most recently loaded module covering pc wins (an address may have
 * been reused after a dlclose). Returns its index + 1, or 0. */
static uint64_t mapping_for(const struct cp_pbuild *b, uintptr_t pc)
{
    for (int i = b->n_mods - 1; i >= 0; i--) {
        if (pc >= b->mods[i].start && pc < b->mods[i].limit)
            return (uint64_t)i + 1;
    }
    return 0;
}

const struct cp_module_info *cp_pbuild_module(const struct cp_pbuild *b,
                                              uintptr_t pc)
{
    uint64_t m = mapping_for(b, pc);
    return m ? &b->mods[m - 1] : NULL;
}

static int grow(struct cp_pbuild *b)
{
    size_t cap = b->cap ? b->cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint64_t *ids = calloc(cap, sizeof *ids);

    if (!keys || !ids) {
        free(keys);
        free(ids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->cap; i++) {
        size_t j;
        if (!b->keys[i])
            continue;
        j = cp_fmix64(b->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = b->keys[i];
        ids[j] = b->ids[i];
    }
    free(b->keys);
    free(b->ids);
    b->keys = keys;
    b->ids = ids;
    b->cap = cap;
    return 0;
}

uint64_t cp_pbuild_location(struct cp_pbuild *b, uintptr_t pc)
{
    uint64_t key = (uint64_t)pc + 1;
    struct cp_location *loc;
    size_t j;

    if (b->n * 10 >= b->cap * 7 && grow(b) < 0)
        return 0;
    j = cp_fmix64(key) & (b->cap - 1);
    while (b->keys[j]) {
        if (b->keys[j] == key)
            return b->ids[j];
        j = (j + 1) & (b->cap - 1);
    }
    loc = cp_profile_add_location(b->p, 0);
    if (!loc)
        return 0;
    loc->address = pc;
    loc->mapping_id = mapping_for(b, pc);
    b->keys[j] = key;
    b->ids[j] = loc->id;
    b->n++;
    return loc->id;
}

uint64_t cp_pbuild_marker(struct cp_pbuild *b, const char *name)
{
    struct cp_function *f = cp_profile_add_function(b->p);
    struct cp_location *loc;

    if (!f)
        return 0;
    f->name = cp_profile_str(b->p, name);
    f->system_name = f->name;
    if (f->name < 0)
        return 0;
    loc = cp_profile_add_location(b->p, 1);
    if (!loc)
        return 0;
    loc->lines[0].function_id = f->id;
    return loc->id;
}

uint64_t cp_pbuild_truncated(struct cp_pbuild *b)
{
    if (!b->trunc_loc)
        b->trunc_loc = cp_pbuild_marker(b, "cprof_truncated_stack");
    return b->trunc_loc;
}

void cp_pbuild_free(struct cp_pbuild *b)
{
    free(b->keys);
    free(b->ids);
    if (b->mods)
        cp_modules_history_free(b->mods, b->n_mods);
    memset(b, 0, sizeof *b);
}

int cp_pbuild_symbolize(struct cp_profile *p, struct cp_dynbuf *warn)
{
    struct cp_symbolizer *sym = cp_sym_new();
    int r;

    if (!sym)
        return -ENOMEM;
    r = cp_sym_profile(sym, p, warn);
    cp_sym_destroy(sym);
    return r;
}

/* ---- legacy text (debug=1) ---- */

const char *cp_pbuild_func_offset(uint64_t addr, const char *sysname,
                                  char *buf, size_t len)
{
    Dl_info di;
    buf[0] = '\0';
    if (addr && sysname && *sysname && dladdr((void *)(uintptr_t)addr, &di) &&
        di.dli_sname && di.dli_saddr && !strcmp(di.dli_sname, sysname))
        snprintf(buf, len, "+%#llx",
                 (unsigned long long)(addr - (uintptr_t)di.dli_saddr));
    return buf;
}

int cp_pbuild_print_loc(const struct cp_profile *p, uint64_t id,
                        struct cp_dynbuf *out)
{
    const struct cp_location *loc = cp_profile_location(p, id);
    char off[32];
    int r = 0;

    if (!loc)
        return 0;
    if (!loc->n_lines)
        return cp_dynbuf_printf(out, "#\t%#llx\n",
                                (unsigned long long)loc->address);
    for (size_t k = 0; k < loc->n_lines && r == 0; k++) {
        const struct cp_function *f =
            cp_profile_function(p, loc->lines[k].function_id);
        const char *name = f ? cp_profile_string(p, f->name) : "";
        const char *sys = f ? cp_profile_string(p, f->system_name) : "";
        const char *file = f ? cp_profile_string(p, f->filename) : "";
        if (!loc->address) /* a marker */
            r = cp_dynbuf_printf(out, "#\t%s\n", name);
        else
            r = cp_dynbuf_printf(
                out, "#\t%#llx\t%s%s\t%s:%lld\n",
                (unsigned long long)loc->address, name,
                k + 1 == loc->n_lines
                    ? cp_pbuild_func_offset(loc->address, sys, off,
                                            sizeof off)
                    : "",
                file, (long long)loc->lines[k].line);
    }
    return r;
}

int cp_pbuild_append_file(struct cp_dynbuf *out, const char *path)
{
    char buf[16384];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return -errno;
    while ((n = read(fd, buf, sizeof buf)) > 0 && r == 0)
        r = cp_dynbuf_add(out, buf, (size_t)n);
    if (n < 0 && r == 0)
        r = -errno;
    close(fd);
    return r;
}
