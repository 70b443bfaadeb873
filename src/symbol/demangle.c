/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demangle.c - C++ names through the Itanium ABI demangler of libstdc++,
 * looked up at run time.
 *
 * libcprof is a C library loaded into C programs; linking libstdc++ just
 * for __cxa_demangle would load it into every one of them. So the
 * demangler is found with dlsym in the process first (any C++ program has
 * it), and only when that fails, because a C program (or the cprof
 * command) meets a mangled name, is libstdc++.so.6 loaded, privately
 * (RTLD_LOCAL). Without either, names stay mangled.
 *
 * Never used in signal context. Thread-safe: yes per sym_demangler
 * (__cxa_demangle itself is reentrant).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/sym_int.h"

typedef char *cp_cxa_demangle_fn(const char *, char *, size_t *, int *);

static void find_demangler(struct sym_demangler *d)
{
    d->tried = true;
    d->fn = (cp_cxa_demangle_fn *)dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (d->fn)
        return;
    d->handle = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (d->handle)
        d->fn = (cp_cxa_demangle_fn *)dlsym(d->handle, "__cxa_demangle");
}

char *sym_demangle(struct sym_demangler *d, const char *name)
{
    /* Itanium mangled names start with _Z (or ___Z for block
     * invocations); everything else is a C name, left alone */
    if (!name || strncmp(name, "_Z", 2) != 0)
        return NULL;
    if (!d->tried)
        find_demangler(d);
    if (!d->fn)
        return NULL;
    int status = -1;
    char *out = d->fn(name, NULL, NULL, &status);
    if (status != 0) {
        free(out);
        return NULL;
    }
    return out;
}

void sym_demangler_free(struct sym_demangler *d)
{
    /* libstdc++ has STB_GNU_UNIQUE symbols, which make glibc keep it
     * loaded anyway; dlclose only drops our reference. */
    if (d->handle)
        dlclose(d->handle);
    d->handle = NULL;
    d->fn = NULL;
    d->tried = false;
}
