/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolize.h - addresses to functions, files, lines and inlined frames,
 * from ELF symbol tables and DWARF via elfutils libdw; ELF build IDs.
 *
 * Shared by libcprof (symbolizes at write time, outside any signal handler)
 * and the cprof command (address-only profiles from gperftools or stripped
 * Go binaries). Never used in signal context. Thread-safe: one symbolizer
 * per thread; distinct symbolizers may be used concurrently.
 */
#ifndef CP_SYMBOLIZE_H
#define CP_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct cp_symbolizer;

/* Frames cp_sym_lookup returns at most for one address (an inlined call
 * chain deeper than this keeps its innermost frames). */
#define CP_SYM_MAX_FRAMES 64

/* One source-level frame; strings are owned by the symbolizer and stay
 * valid until cp_sym_destroy. NULL/0 when unknown. */
struct cp_sym_frame {
    const char *function;    /* demangled when possible */
    const char *system_name; /* linker name */
    const char *file;
    int line;
    int start_line; /* first line of the function, 0 if unknown */
};

/* NULL on ENOMEM. Opens nothing until modules are added. */
struct cp_symbolizer *cp_sym_new(void);
/* Frees everything and closes every file the symbolizer opened. */
void cp_sym_destroy(struct cp_symbolizer *s);

/*
 * Declare that the file `path` is mapped at [start, limit) from file offset
 * `file_offset` (one line of /proc/PID/maps, executable part). build_id is
 * lowercase hex or NULL; when given and the file at path has another build
 * ID, the module is looked up under /usr/lib/debug/.build-id/ instead, and
 * left unsymbolized when not found there. Returns 0, or a negative errno
 * when the file cannot be opened (lookups in that range then return 0):
 * -ENOENT, -EACCES... from open(2), -ENOEXEC (not ELF), -ESTALE (another
 * build, and the profile's build is not under /usr/lib/debug), -ENOMEM.
 * A range that overlaps earlier ones replaces them, as mmap would.
 */
int cp_sym_add_module(struct cp_symbolizer *s, const char *path, uint64_t start,
                      uint64_t limit, uint64_t file_offset,
                      const char *build_id);

/*
 * Frames for the code at runtime address addr (for a return address, pass
 * addr - 1 so the call instruction is looked up), innermost inlined frame
 * first. Returns how many were stored (at most max), 0 when unknown.
 */
int cp_sym_lookup(struct cp_symbolizer *s, uint64_t addr,
                  struct cp_sym_frame *out, int max);

/*
 * Fill in functions and lines for every location of p that has an address
 * and no lines, using p's mappings (filename, start, limit, offset,
 * build_id); set the mappings' has_* flags. Locations outside any mapping,
 * or in a file that cannot be read, keep their address only. For each
 * mapping whose file could not be opened, one line is appended to warn
 * (may be NULL) when given (one per file name). 0 or -ENOMEM.
 * Each location's address is looked up as it is: writers store call sites
 * (return address - 1) for the non-leaf frames, as pprof does for legacy
 * profiles. Mappings named "", "[...]" (vdso, vsyscall), //anon, /memfd:,
 * /dev/, /SYSV or anon_inode: are skipped without a word; a name ending
 * in " (deleted)" is tried without that suffix when it has a build ID.
 * Functions are shared by (name, system_name, file, start_line), also
 * with the ones p already has.
 */
struct cp_dynbuf;
int cp_sym_profile(struct cp_symbolizer *s, struct cp_profile *p,
                   struct cp_dynbuf *warn);

/*
 * Build ID of the ELF file at path as lowercase hex into hex (NUL
 * terminated). Returns its length in hex digits, or a negative errno
 * (-ENOENT no file, -ENODATA no build-ID note, -ENOEXEC not ELF, -ERANGE
 * hexlen too small).
 */
int cp_elf_build_id(const char *path, char *hex, size_t hexlen);

#endif /* CP_SYMBOLIZE_H */
