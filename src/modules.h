/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modules.h - the loaded ELF modules (executable, shared libraries, vdso):
 * a snapshot the signal handler searches without locks, and a history the
 * profile writer turns into Mappings, including modules dlclose'd since.
 *
 * The snapshot is built outside signal context (at start, and by the
 * dlopen/dlclose interposers) and published with one atomic pointer swap;
 * readers pin it with a reference count and the updater frees the old one
 * only after its count drops to zero. So the handler never calls
 * dl_iterate_phdr (which takes the loader lock: a handler interrupting
 * dlopen would deadlock) and never sees a freed table.
 */
#ifndef CP_MODULES_H
#define CP_MODULES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_cfi_table;

struct cp_module {
    uintptr_t lo, hi;               /* executable range [lo, hi) */
    const struct cp_cfi_table *cfi; /* NULL if none (or not built yet) */
    uint32_t info;                  /* index into the history */
};

struct cp_module_snapshot {
    _Atomic uint64_t refs;
    size_t n;
    struct cp_module mods[]; /* sorted by lo, disjoint */
};

/* One executable segment of a module, for a profile Mapping. */
struct cp_module_info {
    char *path;        /* absolute path, "[vdso]" for the vdso */
    char build_id[65]; /* lowercase hex, "" if none */
    uintptr_t bias;    /* load bias (dlpi_addr) */
    uintptr_t start, limit, file_offset; /* page-aligned, as in maps */
    bool loaded;       /* false once dlclose'd */
    bool main_exe;
};

/*
 * Scan the loaded modules (dl_iterate_phdr) into history and snapshot.
 * with_cfi: also compile their .eh_frame (needed once any unwinding starts;
 * later calls with true fill in what is missing). 0 or -errno.
 * Async-signal-safe: no. Thread-safe: yes (takes the modules lock).
 */
int cp_modules_refresh(bool with_cfi);

/* Pin / unpin the current snapshot. Async-signal-safe: yes. */
struct cp_module_snapshot *cp_modules_pin(void);
void cp_modules_unpin(struct cp_module_snapshot *s);

/* Module containing pc in snapshot s, or NULL. Async-signal-safe: yes. */
const struct cp_module *cp_modules_find(const struct cp_module_snapshot *s,
                                        uintptr_t pc);

/*
 * Copy of the history for the profile writer: *out receives a malloc'd
 * array (free with cp_modules_history_free). Entries are never reordered,
 * so cp_module.info indexes stay valid. Returns the count or -ENOMEM.
 * Async-signal-safe: no.
 */
int cp_modules_history(struct cp_module_info **out);
void cp_modules_history_free(struct cp_module_info *h, int n);

/* Set by the unwinder when a return address lies in no known module (a
 * library still running its constructors inside dlopen, or a bad walk);
 * the CPU drain thread then refreshes the list, at most every 100 ms.
 * Async-signal-safe: yes (a relaxed atomic store). */
extern _Atomic int cp_modules_stale;

/* Real dlopen/dlclose, for cprof's own use. */
void *cp_real_dlopen(const char *file, int mode);

/* Reset the lock in a forked child. */
void cp_modules_atfork_child(void);

#endif /* CP_MODULES_H */
