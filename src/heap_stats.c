/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_stats.c - the "# cprof.MemStats" footer of the legacy heap text:
 * the C allocator's own numbers (glibc mallinfo2), the kernel's
 * (/proc/self/status, /proc/self/smaps) and cprof's (its region of sampled
 * blocks, its estimates from the samples), printed under the names of Go's
 * runtime.MemStats with what each one means for a C program. Go's pprof
 * ignores `#` lines; they are for people.
 *
 * Never in signal context. mallinfo2 takes every arena's lock.
 */
#include "heap.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static void read_status(struct cp_heap_memstats_raw *r)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long long kb;

    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            r->rss = kb * 1024;
        else if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            r->hwm = kb * 1024;
        else if (sscanf(line, "VmSize: %lld kB", &kb) == 1)
            r->vmsize = kb * 1024;
    }
    fclose(f);
}

/* Size and resident bytes of the brk heap ("[heap]" in smaps). */
static void read_brk(struct cp_heap_memstats_raw *r)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    char line[512];
    bool in_heap = false;
    long long kb;

    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 7 && !strcmp(line + n - 6, "[heap]")) {
            in_heap = true;
            r->brk_size = r->brk_resident = 0;
            continue;
        }
        if (!in_heap)
            continue;
        if (sscanf(line, "Size: %lld kB", &kb) == 1)
            r->brk_size = kb * 1024;
        else if (sscanf(line, "Rss: %lld kB", &kb) == 1)
            r->brk_resident = kb * 1024;
        else if (!strncmp(line, "VmFlags:", 8))
            break; /* the last field of the [heap] entry */
    }
    fclose(f);
}

void cp_heap_memstats_read(struct cp_heap_memstats_raw *r)
{
    struct mallinfo2 mi = mallinfo2();
    size_t carved, live, reserved;

    memset(r, 0xff, sizeof *r); /* -1: unknown */
    r->arena = (int64_t)mi.arena;
    r->ordblks = (int64_t)mi.ordblks;
    r->hblks = (int64_t)mi.hblks;
    r->hblkhd = (int64_t)mi.hblkhd;
    r->fsmblks = (int64_t)mi.fsmblks;
    r->uordblks = (int64_t)mi.uordblks;
    r->fordblks = (int64_t)mi.fordblks;
    r->keepcost = (int64_t)mi.keepcost;
    read_status(r);
    read_brk(r);
    cp_heap_region_usage(&carved, &live, &reserved);
    r->region_carved = carved;
    r->region_live = live;
    r->region_reserved = reserved;
}

int cp_heap_memstats_format(struct cp_dynbuf *o,
                            const struct cp_heap_memstats_raw *r,
                            const struct cp_heap_estimates *e)
{
    int64_t live = (int64_t)r->region_live;
    int64_t inuse = r->uordblks + r->hblkhd + live;
    int64_t sys = r->arena + r->hblkhd + (int64_t)r->region_carved;
    int64_t released = r->brk_size >= 0 && r->brk_resident >= 0
                           ? r->brk_size - r->brk_resident
                           : 0;
    int x = 0;

#define LINE(...) (x = x ? x : cp_dynbuf_printf(o, __VA_ARGS__))
    LINE("\n# cprof.MemStats\n");
    LINE("# (Go's runtime.MemStats names; the values come from glibc's "
         "mallinfo2, /proc/self and cprof, as each line says)\n");
    LINE("# Alloc = %lld (bytes in blocks the program holds: mallinfo2 "
         "uordblks + hblkhd, plus sampled blocks in cprof's region)\n",
         (long long)inuse);
    LINE("# TotalAlloc = %lld (bytes allocated since start, estimated from "
         "the samples)\n",
         (long long)e->alloc_bytes);
    LINE("# Sys = %lld (bytes the heap got from the OS: arena + hblkhd + "
         "cprof's region in use)\n",
         (long long)sys);
    LINE("# Mallocs = %lld (allocations since start, estimated from the "
         "samples)\n",
         (long long)e->alloc_objects);
    LINE("# Frees = %lld (frees since start, estimated from the samples)\n",
         (long long)(e->alloc_objects - e->inuse_objects));
    LINE("# HeapAlloc = %lld (same as Alloc)\n", (long long)inuse);
    LINE("# HeapSys = %lld (same as Sys)\n", (long long)sys);
    LINE("# HeapIdle = %lld (bytes free inside malloc's arenas, held for "
         "reuse: mallinfo2 fordblks)\n",
         (long long)r->fordblks);
    LINE("# HeapInuse = %lld (bytes in chunks in use: same as Alloc, glibc "
         "has no spans)\n",
         (long long)inuse);
    LINE("# HeapReleased = %lld (bytes of the brk heap not resident, i.e. "
         "given back to the OS: [heap] Size - Rss in smaps)\n",
         (long long)released);
    LINE("# HeapObjects = %lld (objects in use, estimated from the samples)\n",
         (long long)e->inuse_objects);
    LINE("# HeapArena = %lld (bytes malloc got with brk and arena mmaps: "
         "mallinfo2 arena)\n",
         (long long)r->arena);
    LINE("# Mmap = %lld (bytes in blocks malloc mmap'd one by one: "
         "mallinfo2 hblkhd, %lld blocks)\n",
         (long long)r->hblkhd, (long long)r->hblks);
    LINE("# HeapFreeChunks = %lld (free chunks in the arenas: mallinfo2 "
         "ordblks; fastbin bytes %lld)\n",
         (long long)r->ordblks, (long long)r->fsmblks);
    LINE("# HeapTopReleasable = %lld (bytes malloc_trim could give back "
         "from the top: mallinfo2 keepcost)\n",
         (long long)r->keepcost);
    LINE("# CprofSampled = %lld / %lld (bytes in sampled blocks now / "
         "region carved so far; served by cprof, not glibc)\n",
         (long long)live, (long long)r->region_carved);
    LINE("# RSS = %lld (resident set now: /proc/self/status VmRSS)\n",
         (long long)r->rss);
    LINE("# MaxRSS = %lld (peak resident set: VmHWM)\n", (long long)r->hwm);
    LINE("# VmSize = %lld (address space: VmSize, including cprof's "
         "reserved region)\n",
         (long long)r->vmsize);
#undef LINE
    return x;
}
