/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_symbolize.c - the symbolizer on real binaries: fixture programs
 * built as a PIE, a non-PIE, -O2 without frame pointers and with inlining
 * (gcc and clang), C++, a shared library, stripped with and without a
 * separate debug file (tests/integration/symbol.cmake builds them).
 *
 * Each fixture runs, records return addresses and prints them with its
 * /proc/self/maps; the test declares the executable mappings exactly as
 * the profile writer does and checks function names, file basenames and
 * line numbers. Expected lines are found in the fixture sources by their
 * "@marker" comments.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile/dynbuf.h"
#include "profile/profile.h"
#include "symbol/symbolize.h"

#define FIXSRC "tests/unit/symbolize_fixtures"

static const char *build_dir(void)
{
    const char *b = getenv("CPROF_BUILD");
    return b && *b ? b : ".";
}

static const char *src_dir(void)
{
    const char *s = getenv("CPROF_SRC");
    return s && *s ? s : "../..";
}

static char *fixture_path(const char *name)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/tests/symbol/%s", build_dir(), name);
    return buf;
}

/* Line number of the line holding "@tag" in a fixture source. */
static int mark(const char *file, const char *tag)
{
    char path[PATH_MAX], line[1024], want[128];
    snprintf(path, sizeof(path), "%s/" FIXSRC "/%s", src_dir(), file);
    snprintf(want, sizeof(want), "@%s ", tag);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, found = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[len - 1] = ' ';
        if (strstr(line, want)) {
            found = n;
            break;
        }
    }
    fclose(f);
    assert_int_not_equal(found, 0);
    return found;
}

static const char *base(const char *path)
{
    if (!path)
        return "(null)";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---- fixture runs ---- */

struct maps_line {
    uint64_t start, limit, offset;
    char perms[5];
    char path[PATH_MAX];
};

struct run {
    char exe[PATH_MAX];
    uint64_t slot[8];
    struct maps_line *maps;
    size_t nmaps;
};

static bool parse_maps_line(const char *line, struct maps_line *m)
{
    int pos = 0;
    memset(m, 0, sizeof(*m));
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*s %n",
               &m->start, &m->limit, m->perms, &m->offset, &pos) < 4)
        return false;
    if (pos > 0) {
        snprintf(m->path, sizeof(m->path), "%s", line + pos);
        size_t n = strlen(m->path);
        while (n && (m->path[n - 1] == '\n' || m->path[n - 1] == ' '))
            m->path[--n] = '\0';
    }
    return true;
}

static void add_maps_line(struct run *r, const char *line)
{
    r->maps = realloc(r->maps, (r->nmaps + 1) * sizeof(*r->maps));
    assert_non_null(r->maps);
    if (parse_maps_line(line, &r->maps[r->nmaps]))
        r->nmaps++;
}

static void run_fixture(const char *name, struct run *r)
{
    memset(r, 0, sizeof(*r));
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "%s", fixture_path(name));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[8192];
    bool in_maps = false;
    while (fgets(line, sizeof(line), p)) {
        int slot;
        unsigned long long addr;
        if (in_maps) {
            add_maps_line(r, line);
        } else if (strncmp(line, "exe ", 4) == 0) {
            snprintf(r->exe, sizeof(r->exe), "%.4000s", line + 4);
            r->exe[strcspn(r->exe, "\n")] = '\0';
        } else if (sscanf(line, "slot %d %llx", &slot, &addr) == 2 &&
                   slot >= 0 && slot < 8) {
            r->slot[slot] = addr;
        } else if (strcmp(line, "maps\n") == 0) {
            in_maps = true;
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(r->exe[0]);
    assert_true(r->nmaps > 0);
}

static void run_free(struct run *r)
{
    free(r->maps);
    r->maps = NULL;
}

/* Declare every executable file mapping, as the profile writer does. */
static void add_exec_maps(struct cp_symbolizer *s, const struct run *r)
{
    for (size_t i = 0; i < r->nmaps; i++) {
        const struct maps_line *m = &r->maps[i];
        if (m->perms[2] != 'x' || m->path[0] != '/')
            continue;
        cp_sym_add_module(s, m->path, m->start, m->limit, m->offset, NULL);
    }
}

static const struct maps_line *exe_map(const struct run *r, const char *path)
{
    for (size_t i = 0; i < r->nmaps; i++)
        if (r->maps[i].perms[2] == 'x' && strcmp(r->maps[i].path, path) == 0)
            return &r->maps[i];
    fail_msg("no executable mapping of %s", path);
    return NULL;
}

static void check_frame(const struct cp_sym_frame *f, const char *fn,
                        const char *file, int line, int start_line)
{
    assert_non_null(f->function);
    assert_string_equal(f->function, fn);
    if (file) {
        assert_non_null(f->file);
        assert_string_equal(base(f->file), file);
    } else {
        assert_null(f->file);
    }
    assert_int_equal(f->line, line);
    if (start_line >= 0)
        assert_int_equal(f->start_line, start_line);
}

/* ---- tests ---- */

static void test_build_id(void **state)
{
    char hex[129], hex2[129];
    int n = cp_elf_build_id(fixture_path("symfix_pie"), hex, sizeof(hex));
    assert_int_equal(n, 40); /* ld's default: SHA-1 */
    assert_int_equal(strspn(hex, "0123456789abcdef"), 40);

    /* the same as binutils reads it */
    char cmd[PATH_MAX + 32], line[512], want[129] = "";
    snprintf(cmd, sizeof(cmd), "readelf -n %s", fixture_path("symfix_pie"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        char *b = strstr(line, "Build ID: ");
        if (b)
            sscanf(b + 10, "%128s", want);
    }
    pclose(p);
    if (want[0])
        assert_string_equal(hex, want);

    /* stripping keeps the note */
    assert_int_equal(
        cp_elf_build_id(fixture_path("symfix_pie_nodebug"), hex2, sizeof(hex2)),
        40);
    assert_string_equal(hex, hex2);
    assert_int_equal(cp_elf_build_id("/nonexistent/x", hex, sizeof(hex)),
                     -ENOENT);
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s/" FIXSRC "/fixture.h", src_dir());
    assert_int_equal(cp_elf_build_id(src, hex, sizeof(hex)), -ENOEXEC);
    assert_int_equal(cp_elf_build_id(fixture_path("symfix_pie"), hex, 10),
                     -ERANGE);
}

static void check_basic(const char *fixture)
{
    struct run r;
    run_fixture(fixture, &r);
    struct cp_symbolizer *s = cp_sym_new();
    assert_non_null(s);
    add_exec_maps(s, &r);
    struct cp_sym_frame f[8];
    int n = cp_sym_lookup(s, r.slot[0] - 1, f, 8);
    assert_int_equal(n, 1);
    check_frame(&f[0], "basic_target", "sym_basic.c",
                mark("sym_basic.c", "basic_call"),
                mark("sym_basic.c", "basic_decl"));
    assert_string_equal(f[0].system_name, "basic_target");
    n = cp_sym_lookup(s, r.slot[1] - 1, f, 8);
    assert_int_equal(n, 1);
    check_frame(&f[0], "main", "sym_basic.c",
                mark("sym_basic.c", "basic_main_call"), -1);
    /* asking again is answered from the cache, identically */
    struct cp_sym_frame g[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[1] - 1, g, 8), 1);
    assert_ptr_equal(g[0].function, f[0].function);
    assert_int_equal(g[0].line, f[0].line);
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_pie(void **state)
{
    check_basic("symfix_pie");
}

static void test_nopie(void **state)
{
    /* make sure the fixture really is ET_EXEC */
    FILE *f = fopen(fixture_path("symfix_nopie"), "rb");
    assert_non_null(f);
    unsigned char h[18];
    assert_int_equal(fread(h, 1, sizeof(h), f), sizeof(h));
    fclose(f);
    assert_int_equal(h[16], 2 /* ET_EXEC */);
    check_basic("symfix_nopie");

    /* a made-up address works for ET_EXEC too (libdwfl pins those at
     * their link address; the symbolizer only uses the numbers given) */
    struct run r;
    run_fixture("symfix_nopie", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    uint64_t shift = 0x300000000000ULL;
    struct cp_symbolizer *s = cp_sym_new();
    assert_int_equal(cp_sym_add_module(s, r.exe, x->start + shift,
                                       x->limit + shift, x->offset, NULL),
                     0);
    struct cp_sym_frame fr[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1 + shift, fr, 8), 1);
    check_frame(&fr[0], "basic_target", "sym_basic.c",
                mark("sym_basic.c", "basic_call"), -1);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, fr, 8), 0);
    cp_sym_destroy(s);
    run_free(&r);
}

static void check_inline(const char *fixture)
{
    struct run r;
    run_fixture(fixture, &r);
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &r);
    struct cp_sym_frame f[8];
    int n = cp_sym_lookup(s, r.slot[0] - 1, f, 8);
    assert_int_equal(n, 3);
    check_frame(&f[0], "inl_leaf", "sym_inline.c",
                mark("sym_inline.c", "leaf_call"),
                mark("sym_inline.c", "leaf_decl"));
    check_frame(&f[1], "inl_mid", "sym_inline.c",
                mark("sym_inline.c", "mid_call"), -1);
    check_frame(&f[2], "inl_outer", "sym_inline.c",
                mark("sym_inline.c", "outer_call"),
                mark("sym_inline.c", "outer_decl"));
    /* max keeps the innermost frames */
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 1), 1);
    assert_string_equal(f[0].function, "inl_leaf");
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_inline_gcc(void **state)
{
    check_inline("symfix_inline");
}

static void test_inline_clang(void **state)
{
    if (access(fixture_path("symfix_inline_clang"), X_OK) != 0)
        skip(); /* no clang on this machine */
    check_inline("symfix_inline_clang");
}

static void test_cxx(void **state)
{
    struct run r;
    run_fixture("symfix_cxx", &r);
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &r);
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 1);
    /* names in the form go tool pprof gives them by default (no
     * parameters, template arguments or return type: demangle.h); the
     * mangled name keeps the rest */
    check_frame(&f[0], "ns::Widget::spin", "sym_cxx.cc",
                mark("sym_cxx.cc", "cxx_call"), mark("sym_cxx.cc", "cxx_decl"));
    assert_string_equal(f[0].system_name, "_ZN2ns6Widget4spinEi");
    assert_int_equal(cp_sym_lookup(s, r.slot[1] - 1, f, 8), 1);
    check_frame(&f[0], "ns::twice", "sym_cxx.cc",
                mark("sym_cxx.cc", "cxx_tmpl_call"), -1);
    assert_string_equal(f[0].system_name, "_ZN2ns5twiceIiEET_S1_");
    assert_int_equal(cp_sym_lookup(s, r.slot[2] - 1, f, 8), 1);
    /* gcc: main::{lambda(int)#1}::operator(); clang names the closure
     * main::$_0 */
    assert_int_equal(strncmp(f[0].function, "main::", 6), 0);
    size_t fl = strlen(f[0].function);
    assert_true(fl > 12);
    assert_string_equal(f[0].function + fl - 12, "::operator()");
    assert_int_equal(strncmp(f[0].system_name, "_Z", 2), 0);
    assert_int_equal(f[0].line, mark("sym_cxx.cc", "cxx_lambda_call"));
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_cxx_inline(void **state)
{
    struct run r;
    run_fixture("symfix_cxx_inline", &r);
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &r);
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 2);
    /* an inlined frame's linkage name is simplified like any other */
    check_frame(&f[0], "app::Acc::Acc", "sym_cxx_inline.cc",
                mark("sym_cxx_inline.cc", "acc_call"),
                mark("sym_cxx_inline.cc", "acc_decl"));
    check_frame(&f[1], "main", "sym_cxx_inline.cc",
                mark("sym_cxx_inline.cc", "main_acc"), -1);
    /* the lambda's DWARF has no linkage name: qualified by its scopes */
    assert_int_equal(cp_sym_lookup(s, r.slot[1] - 1, f, 8), 2);
    /* gcc: main::operator(); clang keeps a linkage name
     * (main::$_0::operator()) */
    assert_int_equal(strncmp(f[0].function, "main::", 6), 0);
    size_t fl = strlen(f[0].function);
    assert_true(fl > 12);
    assert_string_equal(f[0].function + fl - 12, "::operator()");
    assert_string_equal(base(f[0].file), "sym_cxx_inline.cc");
    assert_int_equal(f[0].line, mark("sym_cxx_inline.cc", "lambda_call"));
    check_frame(&f[1], "main", "sym_cxx_inline.cc",
                mark("sym_cxx_inline.cc", "main_lambda"), -1);
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_shared_lib(void **state)
{
    char lib[PATH_MAX];
    snprintf(lib, sizeof(lib), "%s", fixture_path("libsymfix.so"));
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    int (*target)(int) = (int (*)(int))dlsym(h, "lib_target");
    void *(*last)(void) = (void *(*)(void))dlsym(h, "lib_last_return");
    assert_non_null(target);
    assert_non_null(last);
    assert_int_equal(target(1), 6);
    uint64_t ret = (uint64_t)(uintptr_t)last();

    struct run self;
    memset(&self, 0, sizeof(self));
    FILE *m = fopen("/proc/self/maps", "r");
    assert_non_null(m);
    char line[8192];
    while (fgets(line, sizeof(line), m))
        add_maps_line(&self, line);
    fclose(m);
    char real[PATH_MAX];
    assert_non_null(realpath(lib, real));

    /* where the loader put it */
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &self);
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_lookup(s, ret - 1, f, 8), 1);
    check_frame(&f[0], "lib_target", "sym_lib.c", mark("sym_lib.c", "lib_call"),
                mark("sym_lib.c", "lib_decl"));
    cp_sym_destroy(s);

    /* the same library at a made-up address, declared by its executable
     * mapping only (which does not start at file offset 0) */
    const struct maps_line *x = exe_map(&self, real);
    assert_true(x->offset != 0);
    uint64_t fake = 0x100000000000ULL + x->offset;
    s = cp_sym_new();
    assert_int_equal(cp_sym_add_module(s, real, fake,
                                       fake + (x->limit - x->start), x->offset,
                                       NULL),
                     0);
    assert_int_equal(cp_sym_lookup(s, ret - 1 - x->start + fake, f, 8), 1);
    check_frame(&f[0], "lib_target", "sym_lib.c", mark("sym_lib.c", "lib_call"),
                -1);
    /* outside the declared range: nothing */
    assert_int_equal(cp_sym_lookup(s, ret - 1, f, 8), 0);
    assert_int_equal(cp_sym_lookup(s, fake - 1, f, 8), 0);
    cp_sym_destroy(s);
    run_free(&self);
    dlclose(h);
}

static void test_libc(void **state)
{
    void *q = dlsym(RTLD_DEFAULT, "qsort");
    assert_non_null(q);
    struct run self;
    memset(&self, 0, sizeof(self));
    FILE *m = fopen("/proc/self/maps", "r");
    assert_non_null(m);
    char line[8192];
    while (fgets(line, sizeof(line), m))
        add_maps_line(&self, line);
    fclose(m);
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &self);
    struct cp_sym_frame f[8];
    int n = cp_sym_lookup(s, (uint64_t)(uintptr_t)q + 4, f, 8);
    assert_true(n >= 1);
    /* DWARF (libc6-dbg) says qsort, .dynsym qsort or an alias of it */
    assert_non_null(strstr(f[n - 1].function, "qsort"));
    cp_sym_destroy(s);
    run_free(&self);
}

/* symfix_pie's own numbers, applied to its stripped copies */
static void check_variant(const char *variant, bool has_dwarf)
{
    struct run r;
    run_fixture("symfix_pie", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    struct cp_symbolizer *s = cp_sym_new();
    assert_int_equal(cp_sym_add_module(s, fixture_path(variant), x->start,
                                       x->limit, x->offset, NULL),
                     0);
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 1);
    if (has_dwarf) {
        check_frame(&f[0], "basic_target", "sym_basic.c",
                    mark("sym_basic.c", "basic_call"),
                    mark("sym_basic.c", "basic_decl"));
    } else {
        check_frame(&f[0], "basic_target", NULL, 0, 0);
        assert_string_equal(f[0].system_name, "basic_target");
    }
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_symtab_only(void **state)
{
    check_variant("symfix_pie_nodebug", false);
}

static void test_debuglink(void **state)
{
    check_variant("symfix_pie_linked", true);
}

static void test_build_id_check(void **state)
{
    struct run r;
    run_fixture("symfix_pie", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    char id[129];
    assert_int_equal(cp_elf_build_id(r.exe, id, sizeof(id)), 40);
    struct cp_sym_frame f[8];

    struct cp_symbolizer *s = cp_sym_new();
    assert_int_equal(
        cp_sym_add_module(s, r.exe, x->start, x->limit, x->offset,
                          "00112233445566778899aabbccddeeff00112233"),
        -ESTALE);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 0);
    /* the right one, even in capitals, replaces the range */
    for (char *c = id; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_int_equal(
        cp_sym_add_module(s, r.exe, x->start, x->limit, x->offset, id), 0);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 1);
    assert_string_equal(f[0].function, "basic_target");
    cp_sym_destroy(s);
    run_free(&r);
}

static void test_unreadable(void **state)
{
    struct cp_symbolizer *s = cp_sym_new();
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_add_module(s, "/nonexistent/libfoo.so", 0x10000,
                                       0x20000, 0, NULL),
                     -ENOENT);
    assert_int_equal(cp_sym_lookup(s, 0x10010, f, 8), 0);
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s/" FIXSRC "/fixture.h", src_dir());
    assert_int_equal(cp_sym_add_module(s, src, 0x30000, 0x40000, 0, NULL),
                     -ENOEXEC);
    assert_int_equal(cp_sym_add_module(s, "/x", 0x50000, 0x40000, 0, NULL),
                     -EINVAL);
    assert_int_equal(cp_sym_lookup(s, 0, f, 8), 0);
    cp_sym_destroy(s);
}

static void test_overlap_replaces(void **state)
{
    struct run r;
    run_fixture("symfix_pie", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    struct cp_symbolizer *s = cp_sym_new();
    struct cp_sym_frame f[8];
    assert_int_equal(
        cp_sym_add_module(s, r.exe, x->start, x->limit, x->offset, NULL), 0);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 1);
    /* a later mapping over the same addresses wins (and the cache is
     * dropped) */
    assert_int_equal(cp_sym_add_module(s, "/nonexistent/b.so", x->start,
                                       x->start + 0x10, 0, NULL),
                     -ENOENT);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 0);
    cp_sym_destroy(s);
    run_free(&r);
}

static int count_fds(void)
{
    /* in-process: a child listing our fds would race with popen's own */
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Every file the symbolizer opens (binaries, debug files) is closed by
 * cp_sym_destroy: it runs inside the host program. */
static void test_fds_closed(void **state)
{
    struct run r;
    run_fixture("symfix_pie", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    int before = count_fds();
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &r); /* also libc, with its debug file if installed */
    assert_int_equal(cp_sym_add_module(s, fixture_path("symfix_pie_linked"),
                                       0x100000000000,
                                       0x100000000000 + (x->limit - x->start),
                                       x->offset, NULL),
                     0);
    struct cp_sym_frame f[8];
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 1);
    assert_int_equal(
        cp_sym_lookup(s, 0x100000000000 + (r.slot[0] - 1 - x->start), f, 8), 1);
    assert_non_null(f[0].file); /* through the debuglink */
    for (size_t i = 0; i < r.nmaps; i++)
        if (strstr(r.maps[i].path, "/libc.so") && r.maps[i].perms[2] == 'x')
            cp_sym_lookup(s, r.maps[i].start + 0x1000, f, 8);
    assert_true(count_fds() > before);
    cp_sym_destroy(s);
    assert_int_equal(count_fds(), before);
    run_free(&r);
}

/* Every mapping of a file (r--, r-x, RELRO r--, rw-), as a legacy profile
 * or a full /proc/PID/maps lists them, resolves to one load bias: one
 * module, one open file, whatever the order. */
static void test_all_mappings(void **state)
{
    struct run r;
    run_fixture("symfix_inline", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    struct cp_sym_frame f[8];

    int before = count_fds();
    struct cp_symbolizer *s = cp_sym_new();
    assert_int_equal(
        cp_sym_add_module(s, r.exe, x->start, x->limit, x->offset, NULL), 0);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 3);
    int one = count_fds() - before;
    cp_sym_destroy(s);

    for (int pass = 0; pass < 2; pass++) {
        s = cp_sym_new();
        for (size_t k = 0; k < r.nmaps; k++) {
            /* forwards, then backwards */
            size_t i = pass ? r.nmaps - 1 - k : k;
            if (strcmp(r.maps[i].path, r.exe) == 0)
                assert_int_equal(cp_sym_add_module(s, r.exe, r.maps[i].start,
                                                   r.maps[i].limit,
                                                   r.maps[i].offset, NULL),
                                 0);
        }
        assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, f, 8), 3);
        assert_string_equal(f[2].function, "inl_outer");
        assert_int_equal(count_fds() - before, one);
        cp_sym_destroy(s);
    }
    run_free(&r);
}

/* Distinct symbolizers on distinct threads share nothing: same answers as
 * one thread alone. */
struct thread_job {
    const struct run *self;
    uint64_t addrs[64];
    char out[64][160];
};

static void *thread_main(void *arg)
{
    struct thread_job *j = arg;
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, j->self);
    for (int i = 0; i < 64; i++) {
        struct cp_sym_frame f[8];
        int n = cp_sym_lookup(s, j->addrs[i], f, 8);
        snprintf(j->out[i], sizeof(j->out[i]), "%d %s %s:%d", n,
                 n ? f[0].function : "", n ? base(f[0].file) : "",
                 n ? f[0].line : 0);
    }
    cp_sym_destroy(s);
    return NULL;
}

static void test_threads(void **state)
{
    struct run self;
    memset(&self, 0, sizeof(self));
    FILE *m = fopen("/proc/self/maps", "r");
    assert_non_null(m);
    char line[8192];
    while (fgets(line, sizeof(line), m))
        add_maps_line(&self, line);
    fclose(m);
    static struct thread_job jobs[3];
    const struct maps_line *libc = NULL;
    for (size_t i = 0; i < self.nmaps; i++)
        if (strstr(self.maps[i].path, "/libc.so") &&
            self.maps[i].perms[2] == 'x')
            libc = &self.maps[i];
    assert_non_null(libc);
    for (int k = 0; k < 3; k++) {
        jobs[k].self = &self;
        for (int i = 0; i < 64; i++)
            jobs[k].addrs[i] =
                libc->start + (libc->limit - libc->start) / 64 * i + 0x10;
    }
    thread_main(&jobs[0]); /* alone */
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, thread_main, &jobs[k + 1]),
                         0);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    int named = 0;
    for (int i = 0; i < 64; i++) {
        assert_string_equal(jobs[1].out[i], jobs[0].out[i]);
        assert_string_equal(jobs[2].out[i], jobs[0].out[i]);
        named += jobs[0].out[i][0] != '0';
    }
    assert_true(named > 32);
    run_free(&self);
}

/* ---- whole profiles ---- */

static struct cp_mapping *add_mapping(struct cp_profile *p, const char *file,
                                      uint64_t start, uint64_t limit,
                                      uint64_t off)
{
    struct cp_mapping *m = cp_profile_add_mapping(p);
    assert_non_null(m);
    m->memory_start = start;
    m->memory_limit = limit;
    m->file_offset = off;
    m->filename = cp_profile_str(p, file);
    return m;
}

static uint64_t add_loc(struct cp_profile *p, uint64_t mapping_id,
                        uint64_t addr)
{
    struct cp_location *l = cp_profile_add_location(p, 0);
    assert_non_null(l);
    l->mapping_id = mapping_id;
    l->address = addr;
    return l->id;
}

static const char *fn_name(struct cp_profile *p, uint64_t id)
{
    struct cp_function *fn = cp_profile_function(p, id);
    assert_non_null(fn);
    return cp_profile_string(p, fn->name);
}

static void test_profile(void **state)
{
    struct run r;
    run_fixture("symfix_inline", &r);
    const struct maps_line *x = exe_map(&r, r.exe);

    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    uint64_t exe_id = add_mapping(&p, r.exe, x->start, x->limit, x->offset)->id;
    uint64_t bad1 = add_mapping(&p, "/nonexistent/libfoo.so", 0x7f0000000000,
                                0x7f0000010000, 0)
                        ->id;
    uint64_t bad2 = add_mapping(&p, "/nonexistent/libfoo.so", 0x7f0000020000,
                                0x7f0000030000, 0x20000)
                        ->id;
    uint64_t vdso =
        add_mapping(&p, "[vdso]", 0x7ffff0000000, 0x7ffff0002000, 0)->id;

    /* a function the profile already has, equal to what DWARF will say
     * about inl_outer: it must be reused, not duplicated */
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s/" FIXSRC "/sym_inline.c", src_dir());
    struct cp_sym_frame probe[8];
    struct cp_symbolizer *s = cp_sym_new();
    add_exec_maps(s, &r);
    assert_int_equal(cp_sym_lookup(s, r.slot[0] - 1, probe, 8), 3);
    struct cp_function *pre = cp_profile_add_function(&p);
    pre->name = cp_profile_str(&p, "inl_outer");
    pre->system_name = cp_profile_str(&p, "inl_outer");
    pre->filename = cp_profile_str(&p, probe[2].file);
    pre->start_line = mark("sym_inline.c", "outer_decl");
    uint64_t pre_id = pre->id;
    cp_sym_destroy(s);

    uint64_t l_inl = add_loc(&p, exe_id, r.slot[0] - 1);
    uint64_t l_inl2 = add_loc(&p, 0, r.slot[0] - 1); /* no mapping id */
    uint64_t l_bad1 = add_loc(&p, bad1, 0x7f0000000100);
    uint64_t l_bad2 = add_loc(&p, bad2, 0x7f0000020100);
    uint64_t l_vdso = add_loc(&p, vdso, 0x7ffff0000100);
    uint64_t l_out = add_loc(&p, 0, 0x10); /* in no mapping */
    /* already symbolized: left alone */
    struct cp_location *done = cp_profile_add_location(&p, 1);
    done->address = r.slot[0] - 1;
    done->mapping_id = exe_id;
    done->lines[0].function_id = pre_id;
    done->lines[0].line = 999;
    uint64_t l_done = done->id;

    struct cp_dynbuf warn;
    cp_dynbuf_init(&warn, 1 << 16);
    s = cp_sym_new();
    assert_int_equal(cp_sym_profile(s, &p, &warn), 0);

    struct cp_location *l = cp_profile_location(&p, l_inl);
    assert_int_equal(l->n_lines, 3);
    assert_string_equal(fn_name(&p, l->lines[0].function_id), "inl_leaf");
    assert_int_equal(l->lines[0].line, mark("sym_inline.c", "leaf_call"));
    assert_string_equal(fn_name(&p, l->lines[1].function_id), "inl_mid");
    assert_int_equal(l->lines[1].line, mark("sym_inline.c", "mid_call"));
    assert_int_equal(l->lines[2].function_id, pre_id);
    assert_int_equal(l->lines[2].line, mark("sym_inline.c", "outer_call"));
    struct cp_function *leaf = cp_profile_function(&p, l->lines[0].function_id);
    assert_string_equal(base(cp_profile_string(&p, leaf->filename)),
                        "sym_inline.c");
    assert_int_equal(leaf->start_line, mark("sym_inline.c", "leaf_decl"));

    /* same address, same functions */
    struct cp_location *l2 = cp_profile_location(&p, l_inl2);
    assert_int_equal(l2->n_lines, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l2->lines[i].function_id,
                         cp_profile_location(&p, l_inl)->lines[i].function_id);
    assert_int_equal(p.n_functions, 3); /* pre + leaf + mid */

    assert_int_equal(cp_profile_location(&p, l_bad1)->n_lines, 0);
    assert_int_equal(cp_profile_location(&p, l_bad2)->n_lines, 0);
    assert_int_equal(cp_profile_location(&p, l_vdso)->n_lines, 0);
    assert_int_equal(cp_profile_location(&p, l_out)->n_lines, 0);
    struct cp_location *d = cp_profile_location(&p, l_done);
    assert_int_equal(d->n_lines, 1);
    assert_int_equal(d->lines[0].line, 999);

    struct cp_mapping *em = cp_profile_mapping(&p, exe_id);
    assert_true(em->has_functions && em->has_filenames &&
                em->has_line_numbers && em->has_inline_frames);
    struct cp_mapping *bm = cp_profile_mapping(&p, bad1);
    assert_false(bm->has_functions || bm->has_filenames ||
                 bm->has_line_numbers || bm->has_inline_frames);
    assert_false(cp_profile_mapping(&p, vdso)->has_functions);

    /* one line for the unreadable file, none for [vdso] */
    assert_non_null(warn.data);
    assert_string_equal(warn.data,
                        "cprof: cannot read /nonexistent/libfoo.so (No such "
                        "file or directory): its addresses stay "
                        "unsymbolized\n");

    /* again: nothing left to do, nothing added */
    size_t nf = p.n_functions;
    cp_dynbuf_reset(&warn);
    assert_int_equal(cp_sym_profile(s, &p, NULL), 0);
    assert_int_equal(p.n_functions, nf);

    cp_sym_destroy(s);
    cp_dynbuf_free(&warn);
    cp_profile_free(&p);
    run_free(&r);
}

/* Many distinct addresses through cp_sym_profile: every one in the
 * executable's code gets a line, and functions stay deduplicated. */
static void test_profile_many(void **state)
{
    struct run r;
    run_fixture("symfix_cxx", &r);
    const struct maps_line *x = exe_map(&r, r.exe);
    struct cp_profile p;
    assert_int_equal(cp_profile_init(&p), 0);
    uint64_t mid = add_mapping(&p, r.exe, x->start, x->limit, x->offset)->id;
    size_t n = 0;
    for (uint64_t a = x->start; a < x->limit; a += 3, n++)
        add_loc(&p, mid, a);
    struct cp_symbolizer *s = cp_sym_new();
    assert_int_equal(cp_sym_profile(s, &p, NULL), 0);
    size_t with = 0;
    for (size_t i = 0; i < p.n_locations; i++)
        with += p.locations[i].n_lines > 0;
    assert_true(with > 0);
    /* spin and twice, main, record and the crt functions at most */
    assert_true(p.n_functions >= 4 && p.n_functions < 64);
    bool spin = false;
    for (size_t i = 0; i < p.n_functions; i++)
        spin |= strcmp(cp_profile_string(&p, p.functions[i].name),
                       "ns::Widget::spin") == 0;
    assert_true(spin);
    cp_sym_destroy(s);
    cp_profile_free(&p);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_id),
        cmocka_unit_test(test_pie),
        cmocka_unit_test(test_nopie),
        cmocka_unit_test(test_inline_gcc),
        cmocka_unit_test(test_inline_clang),
        cmocka_unit_test(test_cxx),
        cmocka_unit_test(test_cxx_inline),
        cmocka_unit_test(test_shared_lib),
        cmocka_unit_test(test_libc),
        cmocka_unit_test(test_symtab_only),
        cmocka_unit_test(test_debuglink),
        cmocka_unit_test(test_build_id_check),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_overlap_replaces),
        cmocka_unit_test(test_fds_closed),
        cmocka_unit_test(test_all_mappings),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_profile_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
