/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elfinfo.c - what the symbolizer needs from an ELF file before libdwfl
 * sees it: its PT_LOAD segments (to turn a /proc/PID/maps line into a load
 * bias), its GNU build ID, and where its separate debug info lives.
 *
 * Debug files are found locally only: the build-ID tree under
 * /usr/lib/debug, then the file's .gnu_debuglink next to it, in its .debug/
 * directory and under /usr/lib/debug. dwfl_standard_find_debuginfo would do
 * the same and then, when DEBUGINFOD_URLS is set (Ubuntu and Fedora set it
 * for every login shell), download debug info over the network; libcprof
 * symbolizes inside the profiled program as it exits, where a download of
 * minutes is not acceptable, so the network step is never reached.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>

#include "symbol/sym_int.h"

#define DEBUG_ROOT "/usr/lib/debug"

void sym_hex(const unsigned char *bits, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bits[i] >> 4];
        out[2 * i + 1] = digits[bits[i] & 15];
    }
    out[2 * n] = '\0';
}

static ssize_t elf_build_id_hex(Elf *elf, char *hex, size_t hexlen)
{
    const void *bits = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
    if (n <= 0 || n > SYM_BUILD_ID_MAX)
        return -ENODATA;
    if ((size_t)n * 2 + 1 > hexlen)
        return -ERANGE;
    sym_hex(bits, (size_t)n, hex);
    return n * 2;
}

int sym_elf_read(int fd, struct sym_elfinfo *out)
{
    memset(out, 0, sizeof(*out));
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf)
        return -ENOEXEC;
    int ret = -ENOEXEC;
    GElf_Ehdr ehdr;
    size_t phnum;
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
        elf_getphdrnum(elf, &phnum) != 0 || phnum == 0)
        goto out;
    out->e_type = ehdr.e_type;
    out->seg = calloc(phnum, sizeof(*out->seg));
    if (!out->seg) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        struct sym_seg *s = &out->seg[out->nseg++];
        s->vaddr = ph.p_vaddr;
        s->offset = ph.p_offset;
        s->filesz = ph.p_filesz;
        s->memsz = ph.p_memsz;
        s->flags = ph.p_flags;
    }
    if (!out->nseg)
        goto out;
    if (elf_build_id_hex(elf, out->build_id, sizeof(out->build_id)) < 0)
        out->build_id[0] = '\0';
    ret = 0;
out:
    elf_end(elf);
    if (ret < 0)
        sym_elfinfo_free(out);
    return ret;
}

void sym_elfinfo_free(struct sym_elfinfo *e)
{
    free(e->seg);
    e->seg = NULL;
    e->nseg = 0;
}

/*
 * The loader maps each PT_LOAD segment at bias + p_vaddr rounded down to a
 * page, from file offset p_offset rounded down the same way; p_vaddr and
 * p_offset are congruent modulo the page size, so for the segment a
 * mapping came from, start - file_offset == bias + p_vaddr - p_offset
 * whatever the page size. The work is finding that segment: an exact page
 * match first (4 KiB pages), then a mapping that starts inside a segment,
 * then 64 KiB pages (arm64, ppc64); executable segments win ties, since
 * profiles name the executable mapping. This handles PIEs, ET_EXEC
 * (bias 0), shared libraries, and mappings that are not the first one.
 */
uint64_t sym_elf_bias(const struct sym_elfinfo *e, uint64_t start,
                      uint64_t file_offset, const uint64_t *known,
                      size_t nknown)
{
    const struct sym_seg *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < e->nseg; i++) {
        const struct sym_seg *s = &e->seg[i];
        uint64_t pg = s->offset & ~(uint64_t)0xfff;
        int score;
        if (pg == file_offset)
            score = 3;
        else if (file_offset >= pg && file_offset < s->offset + s->filesz)
            score = 2;
        else if ((s->offset & ~(uint64_t)0xffff) == file_offset)
            score = 1;
        else
            continue;
        uint64_t bias = start - file_offset - (s->vaddr - s->offset);
        /* Two segments can share a page offset (RELRO data right after
         * read-only data): agreeing with a bias already seen for this
         * file settles it, and keeps one module per loaded file. */
        for (size_t k = 0; k < nknown; k++)
            if (known[k] == bias)
                return bias;
        score = score * 2 + ((s->flags & PF_X) ? 1 : 0);
        if (score > best_score) {
            best_score = score;
            best = s;
        }
    }
    if (best)
        return start - file_offset - (best->vaddr - best->offset);
    if (e->e_type == ET_EXEC)
        return 0;
    /* No segment at that offset (a made-up or merged mapping): assume the
     * usual layout where file offsets equal virtual addresses. */
    return start - file_offset;
}

bool sym_build_id_path(const char *hex, char *buf, size_t buflen)
{
    size_t n = strlen(hex);
    if (n < 4)
        return false;
    int len = snprintf(buf, buflen, DEBUG_ROOT "/.build-id/%.2s/%s.debug", hex,
                       hex + 2);
    return len > 0 && (size_t)len < buflen;
}

/* Open path if it is an ELF file whose build ID is hex. -1 otherwise. */
static int open_if_build_id(const char *path, const char *hex)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char got[2 * SYM_BUILD_ID_MAX + 1];
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    bool ok = elf && elf_build_id_hex(elf, got, sizeof(got)) > 0 &&
              strcmp(got, hex) == 0;
    elf_end(elf);
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

static int found(int fd, const char *path, char **debuginfo_file_name)
{
    char *name = strdup(path);
    if (!name) {
        close(fd);
        return -1;
    }
    *debuginfo_file_name = name;
    return fd;
}

int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                       Dwarf_Addr base, const char *file_name,
                       const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name)
{
    /* libdwfl asks again, with the .gnu_debugaltlink name and no CRC, for
     * the dwz supplement of debug info it already loaded; the standard
     * finder resolves that by the supplement's own build ID. */
    if (debuglink_file && debuglink_crc == 0)
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base,
                                            file_name, debuglink_file,
                                            debuglink_crc, debuginfo_file_name);

    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int nbits = dwfl_module_build_id(mod, &bits, &vaddr);
    if (nbits <= 0 || nbits > SYM_BUILD_ID_MAX)
        /* Without a build ID the standard finder goes by debuglink and CRC
         * and cannot reach a debuginfod server. */
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base,
                                            file_name, debuglink_file,
                                            debuglink_crc, debuginfo_file_name);

    char hex[2 * SYM_BUILD_ID_MAX + 1];
    sym_hex(bits, (size_t)nbits, hex);
    char path[4096];
    int fd;
    if (sym_build_id_path(hex, path, sizeof(path))) {
        fd = open_if_build_id(path, hex);
        if (fd >= 0)
            return found(fd, path, debuginfo_file_name);
    }
    if (!debuglink_file || !*debuglink_file)
        return -1;

    /* debuglink candidates; the build ID check replaces the CRC check */
    const char *slash = file_name ? strrchr(file_name, '/') : NULL;
    int dirlen = slash ? (int)(slash - file_name) : 0;
    const char *dir = slash ? file_name : ".";
    if (!slash)
        dirlen = 1;
    char cand[3][4096];
    int n = 0;
    if (debuglink_file[0] == '/') {
        snprintf(cand[n++], sizeof(cand[0]), "%s", debuglink_file);
    } else {
        snprintf(cand[n++], sizeof(cand[0]), "%.*s/%s", dirlen, dir,
                 debuglink_file);
        snprintf(cand[n++], sizeof(cand[0]), "%.*s/.debug/%s", dirlen, dir,
                 debuglink_file);
        if (dir[0] == '/')
            snprintf(cand[n++], sizeof(cand[0]), DEBUG_ROOT "%.*s/%s", dirlen,
                     dir, debuglink_file);
    }
    for (int i = 0; i < n; i++) {
        if (file_name && strcmp(cand[i], file_name) == 0)
            continue;
        fd = open_if_build_id(cand[i], hex);
        if (fd >= 0)
            return found(fd, cand[i], debuginfo_file_name);
    }
    return -1;
}

int sym_find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                    Dwarf_Addr base, char **file_name, Elf **elfp)
{
    return -1;
}

int cp_elf_build_id(const char *path, char *hex, size_t hexlen)
{
    if (!path || !hex || !hexlen)
        return -EINVAL;
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF)
        ret = -ENOEXEC;
    else
        ret = (int)elf_build_id_hex(elf, hex, hexlen);
    elf_end(elf);
    close(fd);
    return ret;
}
