/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap.h - the heap profiler's pieces, shared by its files:
 *
 *   heap.c          malloc/free/... and C++ new/delete interposers, the
 *                   per-thread sampler (Go's MemProfileRate), the table of
 *                   sampled stacks and (stack, size) buckets;
 *   heap_region.c   the region of cprof's own that serves every sampled
 *                   block, so free() learns "sampled?" from one range check;
 *   heap_profile.c  the "heap" and "allocs" profiles (proto and Go's legacy
 *                   text), CPROF_HEAP at exit, CPROF_HEAP_LEAKS;
 *   heap_stats.c    the "# cprof.MemStats" footer (glibc mallinfo2, /proc).
 *
 * Design, sampling maths and the choice of the region:
 * docs/internals/heap-sampling.md.
 *
 * Nothing here may be called from a signal handler. The malloc-path
 * functions (region, buckets) never call malloc themselves: their memory
 * comes from mmap, so they work before libc's allocator is found and
 * inside it.
 */
#ifndef CP_HEAP_H
#define CP_HEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_assert.h"
#include "profile/dynbuf.h"
#include "profile/profile.h"

/* ---- heap_region.c: cprof's region for sampled blocks ---- */

/*
 * Bounds of the region: every sampled block and every bootstrap block (the
 * memory dlsym asks for before the real allocator is known) lies in
 * [base, base + size). free() tests `p - base < size` and nothing else.
 * Zero until cp_heap_region_init; then immutable.
 */
struct cp_heap_region {
    uintptr_t base; /* written once with __atomic_store_n; read plainly */
    uintptr_t size;
};
extern CP_HIDDEN struct cp_heap_region cp_heap_rgn;

static inline bool cp_heap_in_region(const void *p)
{
    /* Plain loads, so the compiler folds them into the sub and cmp (two
     * instructions fewer on every free). They are aligned words, set once
     * (0 before): a thread that races with the setting sees 0/0 and says
     * "not in the region", which is right, since nothing has been served
     * from it before it was published. */
    return (uintptr_t)p - cp_heap_rgn.base < cp_heap_rgn.size;
}

/*
 * Reserve the region (once; later calls return at once). Tries
 * CP_HEAP_REGION_MAX bytes of address space and halves down to
 * CP_HEAP_REGION_MIN; if even that fails, the region is a small static
 * array that holds only bootstrap blocks and sampling stays off.
 * Never allocates. Returns 0, or -ENOMEM in that fallback case.
 * Thread-safe: yes (a second caller waits for the first).
 */
int cp_heap_region_init(void);

/* True when sampled blocks can be served (the reservation succeeded). */
bool cp_heap_region_usable(void);

/*
 * Bootstrap blocks: a bump allocator at the start of the region for
 * callers that run before the real allocator is resolved. Never freed
 * (free is a no-op on them). NULL when exhausted or align > 4096.
 * Thread-safe: yes (lock-free).
 */
void *cp_heap_boot_alloc(size_t n, size_t align);
bool cp_heap_is_boot(const void *p);
/* Bytes usable at p (a bootstrap block). */
size_t cp_heap_boot_usable(const void *p);

/*
 * A sampled block of at least n bytes aligned to align (a power of two,
 * 0 meaning 16), tagged with bucket. Zeroed when zero is set. NULL when
 * the region has no room or align > CP_HEAP_MAX_ALIGN.
 * Thread-safe: yes (per-size-class locks).
 */
void *cp_heap_block_alloc(size_t n, size_t align, uint32_t bucket, bool zero);

/*
 * Look at the block a user pointer p (in the region, not bootstrap) names:
 * its bucket and usable size. Returns 0, or -EINVAL when p is not the start
 * of a live sampled block (a double free, an interior pointer, a corrupted
 * header). Thread-safe: yes.
 */
int cp_heap_block_info(const void *p, uint32_t *bucket, size_t *usable);

/*
 * Free block p after cp_heap_block_info said it is live: invalidates its
 * header (a second free is then caught) and returns it to its size class.
 * Thread-safe: yes.
 */
void cp_heap_block_free(void *p);

/* Bytes of address space the region has handed out and bytes in blocks
 * now live, for the MemStats footer. */
void cp_heap_region_usage(size_t *carved, size_t *live, size_t *reserved);

/* Size classes (exposed for the unit tests): class of a block of n bytes,
 * and the block size of class c. */
unsigned cp_heap_size_class(size_t n);
size_t cp_heap_class_size(unsigned c);

/* Fork: take every region lock / release them / reinitialize them. */
void cp_heap_region_atfork_prepare(void);
void cp_heap_region_atfork_parent(void);
void cp_heap_region_atfork_child(void);

/* ---- heap.c: sampler and buckets ---- */

/* One bucket: every sampled allocation of one size from one stack
 * (Go's memRecord: runtime/mprof.go buckets by stack and size too, so the
 * unbiasing below sees one exact size per bucket). */
struct cp_heap_bucket {
    _Atomic uint64_t allocs; /* sampled allocations */
    _Atomic uint64_t frees;  /* of which freed */
    uint64_t size;           /* requested bytes of each */
    uint32_t stack;          /* index into the stack table */
    uint32_t pad;
};

/* A consistent copy of the tables, for the profile writers. */
struct cp_heap_snap_rec {
    uint64_t size;
    uint64_t allocs, frees;
    uint32_t stack; /* index into stacks */
};
struct cp_heap_snap_stack {
    const uintptr_t *pcs; /* into words; call sites (return address - 1) */
    uint16_t n;
    bool truncated;
};
struct cp_heap_snap {
    struct cp_heap_snap_rec *recs; /* buckets with allocs > 0 */
    size_t n_recs;
    struct cp_heap_snap_stack *stacks;
    size_t n_stacks;
    uintptr_t *words;
    int64_t rate;        /* for unbiasing: the current (or last non-zero) */
    uint64_t dropped;    /* samples not recorded (tables or region full) */
    uint64_t bad_frees;  /* frees of region pointers that were not live */
};

/*
 * Copy the buckets and stacks into s (malloc'd, never sampled; free with
 * cp_heap_snap_free). 0 or -ENOMEM. Thread-safe: yes (takes heap_lock
 * briefly).
 */
int cp_heap_snapshot(struct cp_heap_snap *s);
void cp_heap_snap_free(struct cp_heap_snap *s);

/* Buckets created so far (the index page's count for heap/allocs). */
uint32_t cp_heap_n_buckets(void);

/* The sampling rate now (0 = off). */
int64_t cp_heap_rate(void);
/* The rate to unbias with: the current one, or the last non-zero one. */
int64_t cp_heap_unbias_rate(void);

/*
 * Go's scaleHeapSample: the unbiased (count, bytes) estimate for `count`
 * sampled blocks totalling `bytes`, each sampled with probability
 * 1 - exp(-avg/rate). rate <= 1 means no scaling.
 */
void cp_heap_scale(int64_t count, int64_t bytes, int64_t rate,
                   int64_t *count_out, int64_t *bytes_out);

/*
 * Distance in bytes to the next sample: floor(-ln(u) * mean) + 1 for u
 * uniform in (0, 1], so that an allocation of n bytes is sampled with
 * probability exactly 1 - exp(-n/mean) (a geometric, hence memoryless,
 * distance). Advances *rng (xorshift64*, never 0).
 */
int64_t cp_heap_next_distance(uint64_t *rng, int64_t mean);
/* -ln(u) for u in (0, 1], without libm. */
double cp_heap_neg_log(double u);

/* Self-counters (tests and the profile comments read them). */
struct cp_heap_counters {
    _Atomic uint64_t sampled;     /* samples recorded */
    _Atomic uint64_t dropped;     /* samples lost: tables or region full */
    _Atomic uint64_t bad_frees;   /* region pointers freed twice / wrongly */
    _Atomic uint64_t boot_allocs; /* bootstrap blocks handed out */
    _Atomic uint64_t unwind_trim_miss; /* call site not found in stack */
};
extern struct cp_heap_counters cp_heap_ctr;

/* Fork: heap_lock and the region locks, after every other cprof lock. */
void cp_heap_atfork_prepare(void);
void cp_heap_atfork_parent(void);
void cp_heap_atfork_child(void);

/* ---- heap_profile.c ---- */

/* Register the "heap" and "allocs" sources (profiles.h). */
void cp_heap_profiles_register(void);

/*
 * Build the profile: sample types alloc_objects, alloc_space,
 * inuse_objects, inuse_space; default inuse_space (heap) or alloc_space
 * (allocs); values unbiased as Go's scaleHeapSample; symbolized. 0 or
 * -errno; out initialized here.
 */
int cp_heap_build(struct cp_profile *out, bool allocs);

/* Go's debug=1 text, with MAPPED_LIBRARIES and the # cprof.MemStats
 * footer, appended to out. 0 or -errno. */
int cp_heap_write_text(struct cp_dynbuf *out);

/* Print the stacks still holding sampled memory to fd, largest first.
 * Returns the number of stacks printed, or -errno. */
int cp_heap_leak_report(int fd);

/*
 * Go's text/tabwriter as runtime/pprof configures it (minwidth 1,
 * tabwidth 8, padding 1, padchar '\t', no flags): the cells of each
 * column block padded with tabs to a common width. Appends to out.
 * 0 or -errno.
 */
int cp_heap_tabwrite(const char *text, size_t len, struct cp_dynbuf *out);

/* ---- heap_stats.c ---- */

/* Estimates from the samples, printed beside the allocator's numbers. */
struct cp_heap_estimates {
    int64_t inuse_objects, inuse_bytes, alloc_objects, alloc_bytes;
};

/* What the allocator and the kernel say, read before the profile is
 * built (as Go reads MemStats first) so the writer's own allocations do
 * not show in them. Fields are -1 where unknown. */
struct cp_heap_memstats_raw {
    int64_t arena, ordblks, hblks, hblkhd, fsmblks, uordblks, fordblks,
        keepcost;                    /* glibc mallinfo2 */
    int64_t rss, hwm, vmsize;        /* /proc/self/status, bytes */
    int64_t brk_size, brk_resident;  /* the [heap] mapping, /proc/self/smaps */
    uint64_t region_carved, region_live, region_reserved; /* cprof's */
};
void cp_heap_memstats_read(struct cp_heap_memstats_raw *r);

/*
 * Append the "# cprof.MemStats" block: the numbers above under Go's
 * runtime.MemStats names, each with what it means here. 0 or -errno.
 */
int cp_heap_memstats_format(struct cp_dynbuf *out,
                            const struct cp_heap_memstats_raw *r,
                            const struct cp_heap_estimates *est);

/* Build the unwinder's CFI tables now if not yet done, so that later
 * samples carry full stacks through code without frame pointers (see
 * heap.c for why this is not done at start-up by default). Not in
 * malloc, not in a signal handler. Thread-safe: yes. */
void cp_heap_want_stacks(void);

/* ---- init.c hook ---- */

/* Read CPROF_HEAP, CPROF_HEAP_RATE, CPROF_HEAP_LEAKS (SPEC §2) and
 * CPROF_HEAP_SEED; register the profiles; arrange the at-exit work. */
void cp_heap_init_from_env(void);

#endif /* CP_HEAP_H */
