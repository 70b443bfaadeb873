/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym_int.h - the symbolizer's internal pieces, shared by the files of
 * src/symbol/ only: a bump arena, a string interner, a uint64 hash map,
 * ELF program-header and build-ID reading, the debug-file finder and the
 * DWARF index.
 *
 * Never used in signal context. Thread-safe: no (each cp_symbolizer owns
 * its own instances; nothing here is global).
 */
#ifndef CP_SYM_INT_H
#define CP_SYM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "cp_hash.h"
#include "symbol/symbolize.h"

/* ---- symutil.c: arena, interner, hash map ---- */

/* Bump allocator; everything it hands out dies with sym_arena_free. */
struct sym_arena {
    struct sym_chunk *head;
};
void *sym_arena_alloc(struct sym_arena *a, size_t size); /* zeroed; NULL */
void sym_arena_free(struct sym_arena *a);

/* An interned string: equal strings get the same pointer, so pointers can
 * serve as keys. `demangled` caches the demangler's answer for names. */
struct sym_str {
    uint64_t hash;
    size_t len;
    const struct sym_str *demangled; /* NULL: not tried yet */
    char s[];
};
struct sym_strpool {
    struct sym_str **slots;
    size_t cap, n; /* cap a power of two */
};
/* NULL on ENOMEM. s need not be NUL-terminated. */
struct sym_str *sym_intern(struct sym_strpool *p, struct sym_arena *a,
                           const char *s, size_t len);
void sym_strpool_free(struct sym_strpool *p);
uint64_t sym_hash_bytes(const void *s, size_t len);

/* uint64 -> pointer map, open addressing. Key 0 is reserved (never
 * stored): callers map their key k to k + 1 or similar when 0 is valid. */
struct sym_map {
    uint64_t *keys;
    void **vals;
    size_t cap, n;
};
void *sym_map_get(const struct sym_map *m, uint64_t key);
int sym_map_put(struct sym_map *m, uint64_t key, void *val); /* 0/-ENOMEM */
void sym_map_clear(struct sym_map *m);
void sym_map_free(struct sym_map *m);

/* ---- elfinfo.c: program headers, build IDs, debug files ---- */

#define SYM_BUILD_ID_MAX 64 /* bytes; SHA-1 ones are 20 */

struct sym_seg {
    uint64_t vaddr, offset, filesz, memsz;
    uint32_t flags; /* PF_X, PF_R, PF_W */
};

struct sym_elfinfo {
    int e_type;          /* ET_EXEC, ET_DYN... */
    struct sym_seg *seg; /* PT_LOAD segments, malloc'd */
    size_t nseg;
    char build_id[2 * SYM_BUILD_ID_MAX + 1]; /* lowercase hex, "" if none */
};

/* Read the ELF header, PT_LOAD segments and build ID of the open file fd.
 * 0, -ENOEXEC (not ELF, or no PT_LOAD), -ENOMEM. */
int sym_elf_read(int fd, struct sym_elfinfo *out);
void sym_elfinfo_free(struct sym_elfinfo *e);

/* Load bias of a file whose bytes from file_offset are mapped at start,
 * from the PT_LOAD segment that mapping belongs to (see elfinfo.c); when
 * several segments fit, one giving a bias in known[] wins. */
uint64_t sym_elf_bias(const struct sym_elfinfo *e, uint64_t start,
                      uint64_t file_offset, const uint64_t *known,
                      size_t nknown);

/* Hex of n bytes into out (2n+1 bytes). */
void sym_hex(const unsigned char *bits, size_t n, char *out);

/* "/usr/lib/debug/.build-id/xx/rest.debug" for hex into buf; false when
 * hex is too short or buf too small. */
bool sym_build_id_path(const char *hex, char *buf, size_t buflen);

/* libdwfl find_debuginfo callback: build-ID directory, then .gnu_debuglink
 * next to the file, in its .debug/ and under /usr/lib/debug; never the
 * network (see elfinfo.c for why not debuginfod). */
int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                       Dwarf_Addr base, const char *file_name,
                       const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name);
/* libdwfl find_elf callback that finds nothing: modules are always reported
 * with their file already open. */
int sym_find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                    Dwarf_Addr base, char **file_name, Elf **elfp);

/* ---- dwarfidx.c: address -> DWARF scopes ---- */

/* What the DWARF says about one frame, before names are interned. */
struct sym_dwframe {
    Dwarf_Die fn; /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
    bool has_fn;
    const char *file; /* libdw-owned; NULL if unknown */
    int line;
};

/* Index of one module's DWARF: compilation units by address, and per unit
 * (built when first needed) its functions by address. */
struct sym_dwidx_priv;
struct sym_dwidx {
    Dwarf *dw;
    struct sym_dwidx_priv *priv; /* NULL until the first lookup */
    bool built;                  /* tried building (it may have failed) */
};

/* Frames for DWARF address pc, innermost first, at most max (extra outer
 * frames are dropped). Returns the count; 0 when no unit covers pc. A
 * unit with lines but no function at pc gives one frame with !has_fn. */
int sym_dw_frames(struct sym_dwidx *x, Dwarf_Addr pc, struct sym_dwframe *out,
                  int max);
void sym_dwidx_free(struct sym_dwidx *x);

/* ---- symtab.c: address -> ELF symbol ---- */

/* A module's function symbols sorted by address (dwfl_module_addrinfo
 * scans the whole table on every call: 0.2 ms per address in libc). */
struct sym_symtab {
    struct sym_elfsym *v;
    size_t n;
    bool built;
};
/* Name of the function symbol covering module address addr (libdw-owned,
 * valid while the module lives; *len bytes of it, without any "@VERSION"),
 * or NULL. */
const char *sym_symtab_lookup(struct sym_symtab *t, Dwfl_Module *mod,
                              GElf_Addr addr, size_t *len);
void sym_symtab_free(struct sym_symtab *t);

/* ---- demangle.c ---- */

/* The C++ demangler, found at run time so that libcprof does not depend
 * on libstdc++: __cxa_demangle from the process if present, else from
 * libstdc++.so.6 loaded on first need. */
struct sym_demangler {
    char *(*fn)(const char *, char *, size_t *, int *);
    void *handle; /* dlopen'ed libstdc++, or NULL */
    bool tried;
};
/* Demangled name (malloc'd, caller frees) or NULL when name is not a
 * mangled C++ name or no demangler is available. */
char *sym_demangle(struct sym_demangler *d, const char *name);
void sym_demangler_free(struct sym_demangler *d);

#endif /* CP_SYM_INT_H */
