/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_symbolize.c - how fast the symbolizer turns a large profile's
 * addresses into frames: 100,000 distinct addresses, 90% spread over
 * libc's code (with libc6-dbg's DWARF when installed, as here) and 10%
 * over this program's own code, looked up through cp_sym_lookup (cold,
 * then cached) and through cp_sym_profile on a profile holding them all.
 *
 *   bench_symbolize [-n ADDRS] [-r RUNS]
 *   bench_symbolize -p [-n ADDRS]
 *
 * Prints the median CPU time of RUNS runs of each phase, per address.
 * -p (peer mode, for bench/symbolize_peers.sh): libc addresses only, one
 * cold pass, nothing printed but the count, so the whole process can be
 * timed against addr2line and llvm-symbolizer given the same addresses;
 * -a prints those addresses as libc file addresses (for the peers).
 * This program itself is the "test binary" side, so it is built with the
 * tree's flags (-O2 -g).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profile/dynbuf.h"
#include "profile/profile.h"
#include "symbol/symbolize.h"

struct map {
    uint64_t start, limit, off;
    char path[4096];
};

static struct map *maps;
static size_t nmaps;

static void read_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[8192];
    while (f && fgets(line, sizeof(line), f)) {
        struct map m;
        char perms[5];
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*s %n",
                   &m.start, &m.limit, perms, &m.off, &pos) < 4 ||
            !pos)
            continue;
        snprintf(m.path, sizeof(m.path), "%s", line + pos);
        m.path[strcspn(m.path, "\n")] = '\0';
        if (perms[2] != 'x' || m.path[0] != '/')
            continue;
        maps = realloc(maps, (nmaps + 1) * sizeof(*maps));
        maps[nmaps++] = m;
    }
    if (f)
        fclose(f);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct cp_symbolizer *new_sym(void)
{
    struct cp_symbolizer *s = cp_sym_new();
    for (size_t i = 0; i < nmaps; i++)
        cp_sym_add_module(s, maps[i].path, maps[i].start, maps[i].limit,
                          maps[i].off, NULL);
    return s;
}

int main(int argc, char **argv)
{
    int naddr = 100000, runs = 5, opt;
    bool peer = false, print = false;
    while ((opt = getopt(argc, argv, "n:r:pa")) != -1) {
        if (opt == 'n')
            naddr = atoi(optarg);
        else if (opt == 'r')
            runs = atoi(optarg);
        else if (opt == 'p')
            peer = true;
        else if (opt == 'a')
            print = peer = true;
        else {
            fprintf(stderr, "usage: %s [-n ADDRS] [-r RUNS] [-p|-a]\n",
                    argv[0]);
            return 2;
        }
    }
    if (naddr < 10 || runs < 1 || runs > 100)
        return 2;
    read_maps();
    const struct map *libc = NULL, *self = NULL;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    for (size_t i = 0; i < nmaps; i++) {
        if (strstr(maps[i].path, "/libc.so"))
            libc = &maps[i];
        if (strcmp(maps[i].path, exe) == 0)
            self = &maps[i];
    }
    if (!libc || !self) {
        fprintf(stderr, "bench_symbolize: libc or own mapping not found\n");
        return 1;
    }
    /* distinct addresses, evenly spread */
    uint64_t *addr = malloc(naddr * sizeof(*addr));
    int nlibc = peer ? naddr : naddr - naddr / 10, nself = naddr - nlibc;
    uint64_t step = (libc->limit - libc->start) / nlibc;
    for (int i = 0; i < nlibc; i++)
        addr[i] = libc->start + (uint64_t)i * (step ? step : 1);
    if (nself) {
        step = (self->limit - self->start) / nself;
        for (int i = 0; i < nself; i++)
            addr[nlibc + i] = self->start + (uint64_t)i * (step ? step : 1);
    }
    if (print) {
        /* the ELF virtual address: libc's r-x mapping has p_vaddr ==
         * p_offset, as the peers expect file addresses */
        for (int i = 0; i < naddr; i++)
            printf("0x%" PRIx64 "\n", addr[i] - libc->start + libc->off);
        return 0;
    }
    if (peer) {
        struct cp_symbolizer *s = new_sym();
        struct cp_sym_frame f[CP_SYM_MAX_FRAMES];
        long got = 0;
        for (int i = 0; i < naddr; i++)
            got += cp_sym_lookup(s, addr[i], f, CP_SYM_MAX_FRAMES) > 0;
        cp_sym_destroy(s);
        printf("%ld\n", got);
        return 0;
    }

    double cold[100], warm[100], prof[100];
    long resolved = 0, lines = 0, frames = 0;
    for (int r = 0; r < runs; r++) {
        struct cp_sym_frame f[CP_SYM_MAX_FRAMES];
        double t0 = cpu_now();
        struct cp_symbolizer *s = new_sym();
        resolved = lines = frames = 0;
        for (int i = 0; i < naddr; i++) {
            int k = cp_sym_lookup(s, addr[i], f, CP_SYM_MAX_FRAMES);
            resolved += k > 0;
            lines += k > 0 && f[0].line > 0;
            frames += k;
        }
        double t1 = cpu_now();
        for (int i = 0; i < naddr; i++)
            cp_sym_lookup(s, addr[i], f, CP_SYM_MAX_FRAMES);
        double t2 = cpu_now();
        cp_sym_destroy(s);
        cold[r] = t1 - t0;
        warm[r] = t2 - t1;

        struct cp_profile p;
        cp_profile_init(&p);
        uint64_t lm = 0, sm = 0;
        for (size_t i = 0; i < nmaps; i++) {
            struct cp_mapping *m = cp_profile_add_mapping(&p);
            m->memory_start = maps[i].start;
            m->memory_limit = maps[i].limit;
            m->file_offset = maps[i].off;
            m->filename = cp_profile_str(&p, maps[i].path);
            if (&maps[i] == libc)
                lm = m->id;
            if (&maps[i] == self)
                sm = m->id;
        }
        for (int i = 0; i < naddr; i++) {
            struct cp_location *l = cp_profile_add_location(&p, 0);
            l->address = addr[i];
            l->mapping_id = i < nlibc ? lm : sm;
        }
        double t3 = cpu_now();
        s = cp_sym_new();
        cp_sym_profile(s, &p, NULL);
        cp_sym_destroy(s);
        prof[r] = cpu_now() - t3;
        if (r == 0)
            printf("profile: %zu locations, %zu functions\n", p.n_locations,
                   p.n_functions);
        cp_profile_free(&p);
    }
    printf("addresses: %d (%d in %s, %d in %s)\n", naddr, nlibc, libc->path,
           nself, self->path);
    printf("resolved: %ld, with a line: %ld, frames: %ld\n", resolved, lines,
           frames);
    double c = median(cold, runs), w = median(warm, runs),
           p = median(prof, runs);
    printf("cold lookups:   %8.1f ms  %6.2f us/address (median of %d, CPU)\n",
           c * 1e3, c * 1e6 / naddr, runs);
    printf("cached lookups: %8.1f ms  %6.3f us/address\n", w * 1e3,
           w * 1e6 / naddr);
    printf("cp_sym_profile: %8.1f ms  %6.2f us/location (new symbolizer)\n",
           p * 1e3, p * 1e6 / naddr);
    free(addr);
    free(maps);
    return 0;
}
