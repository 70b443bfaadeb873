/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbuild.h - what every runtime profile writer does the same way: one
 * Mapping per loaded (or since unloaded) module from the module history,
 * one Location per distinct address with its mapping, marker locations
 * for frames that stand for something else ("cprof_truncated_stack"),
 * and symbolization of the finished model (cpu.c builds its own the same
 * way; heap_profile.c uses this).
 *
 * Never used in signal context. Thread-safe: one builder per caller.
 */
#ifndef CP_PBUILD_H
#define CP_PBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "modules.h"
#include "profile/dynbuf.h"
#include "profile/profile.h"

struct cp_pbuild {
    struct cp_profile *p;
    struct cp_module_info *mods;
    int n_mods;
    /* address -> location id, open addressing */
    uint64_t *keys; /* address + 1; 0 = empty */
    uint64_t *ids;
    size_t cap, n;
    uint64_t trunc_loc; /* "cprof_truncated_stack", made on first use */
};

/* Start building into p (already initialized by cp_profile_init): adds a
 * Mapping for every module in the history. 0 or -errno. */
int cp_pbuild_init(struct cp_pbuild *b, struct cp_profile *p);

/* Location id for address pc (a call site: return address - 1, or an
 * exact PC), created on first use with its mapping. 0 on ENOMEM. */
uint64_t cp_pbuild_location(struct cp_pbuild *b, uintptr_t pc);

/* A location for a marker function `name` (no address). 0 on ENOMEM. */
uint64_t cp_pbuild_marker(struct cp_pbuild *b, const char *name);

/* The marker location for a stack cut at CP_MAX_STACK_DEPTH. */
uint64_t cp_pbuild_truncated(struct cp_pbuild *b);

/* The module that maps pc, or NULL. */
const struct cp_module_info *cp_pbuild_module(const struct cp_pbuild *b,
                                              uintptr_t pc);

/* Release the builder (not the profile). */
void cp_pbuild_free(struct cp_pbuild *b);

/* Symbolize p with libdw (functions, files, lines, inlined frames);
 * warnings about unreadable files appended to warn when not NULL.
 * 0 or -ENOMEM. */
int cp_pbuild_symbolize(struct cp_profile *p, struct cp_dynbuf *warn);

/*
 * Legacy text forms (debug=1) shared by the threads, contention and heap
 * writers.
 */

/* "+0x1d": offset of addr in its function when dladdr knows the exported
 * symbol named sysname; "" otherwise. Written to buf, returned. */
const char *cp_pbuild_func_offset(uint64_t addr, const char *sysname,
                                  char *buf, size_t len);

/* Go's printStackRecord lines of location id: "#\t0xADDR\tfunc+0xOFF\t
 * file:line", one per inlined frame (they share the address); "#\tname"
 * for a marker. 0 or -ENOMEM. */
int cp_pbuild_print_loc(const struct cp_profile *p, uint64_t id,
                        struct cp_dynbuf *out);

/* Append the whole file at path (/proc/self/maps, the legacy tail) to
 * out. 0 or -errno. */
int cp_pbuild_append_file(struct cp_dynbuf *out, const char *path);

#endif /* CP_PBUILD_H */
