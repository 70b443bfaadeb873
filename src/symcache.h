/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symcache.h - one symbolizer kept for the life of the process, for the
 * live endpoint's repeated requests: opening and indexing a module's DWARF
 * (decompressing its sections) costs ~0.4 s here, so a fresh symbolizer
 * per request would make every thread dump that slow. Files are opened on
 * first use and stay open; a module that changes on disk gets a new entry
 * (files are keyed by path and build ID).
 *
 * Never in signal context. Thread-safe: yes (one lock, a leaf: nothing
 * else is taken under it).
 */
#ifndef CP_SYMCACHE_H
#define CP_SYMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "profile/dynbuf.h"
#include "profile/profile.h"

/* cp_sym_profile with the shared symbolizer. 0 or -ENOMEM. */
int cp_symcache_profile(struct cp_profile *p);

/*
 * Append "0xADDR NAME\n" for the innermost function at each of n
 * addresses that has one (Go's symbol protocol), looking them up in the
 * modules loaded now. 0 or -ENOMEM.
 */
int cp_symcache_names(const uint64_t *addrs, size_t n, struct cp_dynbuf *out);

/* Forked child: reset the lock. */
void cp_symcache_atfork_child(void);

#endif /* CP_SYMCACHE_H */
