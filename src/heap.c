/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap.c - the heap profiler's sampler: interposers for the malloc family
 * and C++ operator new/delete, a per-thread byte countdown to the next
 * sample (Go's MemProfileRate, gperftools' sampler.h), and the tables of
 * sampled stacks and (stack, size) buckets (Go's runtime/mprof.go).
 *
 * Fast path: an unsampled malloc subtracts its size from a thread-local
 * counter (initial-exec TLS: one %fs-relative access) and calls the real
 * allocator; free compares the pointer with cprof's region (heap_region.c)
 * and calls the real free. No lock, no atomic read-modify-write. Only when
 * the counter runs out does an allocation take the slow path: it unwinds
 * the stack, finds the bucket under heap_lock, and is served from the
 * region with a header naming its bucket, so its free is recognized by
 * address alone and counted with one atomic add.
 *
 * The real functions come from dlsym(RTLD_NEXT); until they are known
 * (dlsym itself may call calloc) requests are served from bootstrap
 * blocks at the start of the region, whose free is a no-op.
 *
 * Never called from a signal handler (cprof's own handler never
 * allocates). Lock order: heap_lock is a leaf, below every other cprof
 * lock (cprof code holding its locks allocates); the region's locks are
 * never taken while heap_lock is held. Maths and design:
 * docs/internals/heap-sampling.md.
 */
#include "heap.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cp_assert.h"
#include "cp_hash.h"
#include "cp_limits.h"
#include "cp_lock.h"
#include "init.h"
#include "modules.h"
#include "profile/codec.h"
#include "profiles.h"
#include "sigsafe.h"
#include "thread_reg.h"
#include "unwinder.h"

#define CP_EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
#define RA() ((uintptr_t)__builtin_return_address(0))

struct cp_heap_counters cp_heap_ctr;

/* ---- the real allocator ---- */

typedef void *malloc_fn(size_t);
typedef void free_fn(void *);
typedef void *calloc_fn(size_t, size_t);
typedef void *realloc_fn(void *, size_t);
typedef int posix_memalign_fn(void **, size_t, size_t);
typedef void *memalign_fn(size_t, size_t);
typedef size_t usable_fn(void *);

static void *stub_malloc(size_t n);
static void stub_free(void *p);
static void *stub_calloc(size_t a, size_t b);
static void *stub_realloc(void *p, size_t n);
static int stub_posix_memalign(void **out, size_t al, size_t n);
static void *stub_aligned_alloc(size_t al, size_t n);
static void *stub_memalign(size_t al, size_t n);
static void *stub_valloc(size_t n);
static void *stub_pvalloc(size_t n);
static size_t stub_usable(void *p);

/* Until resolution, each points at a stub that resolves first. Read with
 * relaxed loads (plain moves) on every call. */
static struct {
    _Atomic(malloc_fn *) malloc;
    _Atomic(free_fn *) free;
    _Atomic(calloc_fn *) calloc;
    _Atomic(realloc_fn *) realloc;
    _Atomic(posix_memalign_fn *) posix_memalign;
    _Atomic(memalign_fn *) aligned_alloc;
    _Atomic(memalign_fn *) memalign;
    _Atomic(malloc_fn *) valloc;
    _Atomic(malloc_fn *) pvalloc;
    _Atomic(usable_fn *) usable;
} real = {
    .malloc = stub_malloc,
    .free = stub_free,
    .calloc = stub_calloc,
    .realloc = stub_realloc,
    .posix_memalign = stub_posix_memalign,
    .aligned_alloc = stub_aligned_alloc,
    .memalign = stub_memalign,
    .valloc = stub_valloc,
    .pvalloc = stub_pvalloc,
    .usable = stub_usable,
};

#define R(f) atomic_load_explicit(&real.f, memory_order_relaxed)

/* glibc's own entry points: the fallback when dlsym cannot help (a static
 * executable, a libc without RTLD_NEXT support). */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static _Atomic int resolve_state; /* 0 none, 1 busy, 2 done */

static void *emul_valloc(size_t n)
{
    return R(memalign)((size_t)sysconf(_SC_PAGESIZE), n);
}

static void *emul_pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - 2 * pg) {
        errno = ENOMEM;
        return NULL;
    }
    return R(memalign)(pg, n ? (n + pg - 1) & ~(pg - 1) : pg);
}

static void *emul_aligned_alloc(size_t al, size_t n)
{
    return R(memalign)(al, n);
}

static int emul_posix_memalign(void **out, size_t al, size_t n)
{
    void *p;
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    p = R(memalign)(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

#define LOOKUP(field, name, fallback)                                        \
    do {                                                                    \
        void *f_ = dlsym(RTLD_NEXT, name);                                  \
        atomic_store(&real.field, f_ ? (__typeof__(fallback) *)f_ : fallback); \
    } while (0)

/*
 * Find the real functions. Returns true when they are known; false while
 * another thread (or this one, re-entered from dlsym) is looking them up:
 * the caller then uses bootstrap blocks.
 */
static bool resolve(void)
{
    int expect = 0;

    if (CP_LIKELY(atomic_load_explicit(&resolve_state, memory_order_acquire) ==
                  2))
        return true;
    if (!atomic_compare_exchange_strong(&resolve_state, &expect, 1))
        return false;
    cp_tls.in_cprof++;
    cp_heap_region_init(); /* before dlsym, which may want memory */
    {
        void *m = dlsym(RTLD_NEXT, "malloc");
        void *f = dlsym(RTLD_NEXT, "free");
        if (!m || !f) {
            /* No next allocator found (a static executable): glibc's. */
            atomic_store(&real.memalign, __libc_memalign);
            atomic_store(&real.usable, malloc_usable_size);
            atomic_store(&real.malloc, __libc_malloc);
            atomic_store(&real.calloc, __libc_calloc);
            atomic_store(&real.realloc, __libc_realloc);
            atomic_store(&real.valloc, __libc_valloc);
            atomic_store(&real.pvalloc, __libc_pvalloc);
            atomic_store(&real.aligned_alloc, emul_aligned_alloc);
            atomic_store(&real.posix_memalign, emul_posix_memalign);
            atomic_store(&real.free, __libc_free);
        } else {
            LOOKUP(memalign, "memalign", __libc_memalign);
            atomic_store(&real.usable,
                         (usable_fn *)dlsym(RTLD_NEXT, "malloc_usable_size"));
            LOOKUP(calloc, "calloc", __libc_calloc);
            LOOKUP(realloc, "realloc", __libc_realloc);
            LOOKUP(valloc, "valloc", emul_valloc);
            LOOKUP(pvalloc, "pvalloc", emul_pvalloc);
            LOOKUP(aligned_alloc, "aligned_alloc", emul_aligned_alloc);
            LOOKUP(posix_memalign, "posix_memalign", emul_posix_memalign);
            atomic_store(&real.malloc, (malloc_fn *)m);
            atomic_store(&real.free, (free_fn *)f);
        }
    }
    atomic_store_explicit(&resolve_state, 2, memory_order_release);
    cp_tls.in_cprof--;
    return true;
}

/* Stubs: what real.* point at until resolution. */
static void *stub_malloc(size_t n)
{
    if (resolve())
        return R(malloc)(n);
    return cp_heap_boot_alloc(n, 16);
}

static void *stub_calloc(size_t a, size_t b)
{
    size_t n;
    if (resolve())
        return R(calloc)(a, b);
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return cp_heap_boot_alloc(n, 16); /* fresh pages: already zero */
}

static void *stub_memalign(size_t al, size_t n)
{
    if (resolve())
        return R(memalign)(al, n);
    return cp_heap_boot_alloc(n, al);
}

static void stub_free(void *p)
{
    if (!p)
        return;
    if (!resolve()) {
        /* p is not ours (bootstrap pointers never get here: free sends
         * region pointers elsewhere). Re-entered from dlsym on this
         * thread: leak it rather than wait for ourselves. */
        if (cp_tls.in_cprof)
            return;
        while (atomic_load_explicit(&resolve_state, memory_order_acquire) !=
               2)
            sched_yield();
    }
    R(free)(p);
}

static void *stub_realloc(void *p, size_t n)
{
    if (resolve())
        return R(realloc)(p, n);
    if (!p)
        return cp_heap_boot_alloc(n, 16);
    while (atomic_load_explicit(&resolve_state, memory_order_acquire) != 2)
        sched_yield();
    return R(realloc)(p, n);
}

static int stub_posix_memalign(void **out, size_t al, size_t n)
{
    if (resolve())
        return R(posix_memalign)(out, al, n);
    *out = cp_heap_boot_alloc(n, al);
    return *out ? 0 : ENOMEM;
}

static void *stub_aligned_alloc(size_t al, size_t n)
{
    if (resolve())
        return R(aligned_alloc)(al, n);
    return cp_heap_boot_alloc(n, al);
}

static void *stub_valloc(size_t n)
{
    if (resolve())
        return R(valloc)(n);
    return cp_heap_boot_alloc(n, 4096);
}

static void *stub_pvalloc(size_t n)
{
    if (resolve())
        return R(pvalloc)(n);
    return cp_heap_boot_alloc(n ? (n + 4095) & ~(size_t)4095 : 4096, 4096);
}

static size_t stub_usable(void *p)
{
    if (resolve() && R(usable))
        return R(usable)(p);
    return 0;
}

/* ---- the sampler ---- */

/* rate_epoch: 0 until cp_heap_init_from_env ran (nothing is sampled
 * before), then bumped on every rate change so each thread redraws. */
static _Atomic uint32_t rate_epoch;
static _Atomic int64_t cur_rate = CP_HEAP_DEFAULT_RATE;
static _Atomic int64_t last_rate = CP_HEAP_DEFAULT_RATE;
static uint64_t seed_base;
static _Atomic uint64_t seed_seq;
static _Atomic bool cfi_ready;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

double cp_heap_neg_log(double u)
{
    /* u = m * 2^e with m in [sqrt(1/2), sqrt(2)): ln u = e ln 2 + ln m,
     * and ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, whose series
     * converges to double precision in 11 terms. */
    union {
        double d;
        uint64_t i;
    } x = {u};
    int e;
    double m, s, s2, sum, term;

    if (!(u > 0))
        return 745.0; /* -ln of the smallest double: never reached */
    e = (int)((x.i >> 52) & 0x7ff) - 1023;
    x.i = (x.i & ((1ull << 52) - 1)) | (1023ull << 52);
    m = x.d;
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    s = (m - 1) / (m + 1);
    s2 = s * s;
    sum = 0;
    term = s;
    for (int k = 1; k <= 23; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return -(e * 0.69314718055994530942 + 2 * sum);
}

int64_t cp_heap_next_distance(uint64_t *rng, int64_t mean)
{
    /* u in (0, 1]: 53 random bits, plus one so that u is never 0 */
    double u = (double)((rng_next(rng) >> 11) + 1) * 0x1p-53;
    double d = cp_heap_neg_log(u) * (double)mean;
    if (d > (double)(INT64_MAX / 4))
        d = (double)(INT64_MAX / 4);
    return (int64_t)d + 1;
}

static void seed_thread(struct cp_tls *t)
{
    uint64_t s = cp_splitmix64(seed_base + (atomic_fetch_add(&seed_seq, 1) + 1) *
                                       0x9e3779b97f4a7c15ull);
    t->rng = s ? s : 1;
}

/*
 * The countdown for this thread at rate r (0 off, 1 every allocation):
 * how many bytes may still be allocated without a sample. An allocation
 * of n bytes is sampled when n exceeds it, i.e. when n >= D for the
 * distance D, so the fast path is one subtraction and its borrow.
 */
static uint64_t countdown(struct cp_tls *t, int64_t r)
{
    if (r <= 0)
        return CP_HEAP_OFF_RECHECK;
    if (r == 1)
        return 0;
    if (!t->rng)
        seed_thread(t);
    return (uint64_t)cp_heap_next_distance(&t->rng, r) - 1;
}

/*
 * The fast path found n > countdown (or the thread has not started):
 * decide whether this allocation of n bytes is sampled and set the next
 * countdown. Never takes a lock.
 */
static bool sample_decide(size_t n)
{
    struct cp_tls *t = &cp_tls;
    uint32_t ep = atomic_load_explicit(&rate_epoch, memory_order_acquire);
    int64_t r;
    uint64_t left;

    if (CP_UNLIKELY(ep == 0))
        return false; /* before init: the countdown stays 0, we come back */
    r = atomic_load_explicit(&cur_rate, memory_order_relaxed);
    if (t->in_cprof || t->internal) {
        /* cprof's own memory (its code, its threads) is never sampled; a
         * fresh countdown keeps the bytes it consumed from biasing the
         * program's next sample (the distance is memoryless only when
         * drawn anew). */
        if (r >= 2)
            t->heap_bytes_until_sample = countdown(t, r);
        return false;
    }
    if (CP_UNLIKELY(t->heap_epoch != ep)) {
        /* first allocation of this thread, or the rate changed */
        t->heap_epoch = ep;
        if (r >= 2) {
            left = countdown(t, r);
            if (n <= left) {
                t->heap_bytes_until_sample = left - n;
                return false;
            }
        }
    }
    t->heap_bytes_until_sample = countdown(t, r);
    return r >= 1; /* 0: off; 1: every allocation; else the countdown ran out */
}

/* The whole fast path: no sample unless n exceeds the countdown. */
static inline bool fast_ok(size_t n)
{
    uint64_t left;
    if (CP_LIKELY(!__builtin_sub_overflow(cp_tls.heap_bytes_until_sample,
                                          (uint64_t)n, &left))) {
        cp_tls.heap_bytes_until_sample = left;
        return true;
    }
    return false;
}

int64_t cp_heap_rate(void)
{
    return atomic_load(&cur_rate);
}

int64_t cp_heap_unbias_rate(void)
{
    int64_t r = atomic_load(&cur_rate);
    return r ? r : atomic_load(&last_rate);
}

void cp_heap_scale(int64_t count, int64_t bytes, int64_t rate,
                   int64_t *count_out, int64_t *bytes_out)
{
    double avg, scale;

    if (count == 0 || bytes == 0) {
        *count_out = *bytes_out = 0;
        return;
    }
    if (rate <= 1) {
        *count_out = count;
        *bytes_out = bytes;
        return;
    }
    /* scale = 1 / (1 - exp(-avg/rate)) = 1 / -expm1(-x), without libm:
     * exp(-x) = exp(-x/2^k)^(2^k) with a Taylor series on the small part */
    avg = (double)bytes / (double)count;
    {
        double x = avg / (double)rate, y, t, e;
        int k = 0;
        while (x > 0.25 && k < 60) {
            x *= 0.5;
            k++;
        }
        /* e = 1 - exp(-x) for small x, by series */
        t = x;
        e = 0;
        for (int i = 1; i <= 14; i++) {
            e += (i & 1) ? t : -t;
            t *= x / (i + 1);
        }
        /* 1 - exp(-2x) = 1 - (1 - e)^2 = e (2 - e) */
        for (; k > 0; k--)
            e = e * (2 - e);
        y = e;
        scale = 1.0 / y;
    }
    *count_out = (int64_t)((double)count * scale);
    *bytes_out = (int64_t)((double)bytes * scale);
}

/* ---- stacks and buckets (guarded by heap_lock; counters atomic) ---- */

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;

#define BPAGE_SHIFT 12
#define BPAGE (1u << BPAGE_SHIFT)
static struct cp_heap_bucket *bpages[CP_HEAP_MAX_BUCKETS / BPAGE];
static _Atomic uint32_t n_buckets;

struct hstack {
    uint32_t off;
    uint16_t n;
    uint16_t truncated;
};

static uintptr_t *words;    /* mmap'd, CP_HEAP_MAX_STACK_WORDS reserved */
static size_t n_words;
static struct hstack *stacks; /* mmap'd, grown with mremap */
static uint32_t n_stacks, cap_stacks;

/* Open-addressing index: ids + 1, and full hashes to skip most compares. */
struct hindex {
    uint32_t *ids;
    uint64_t *hashes;
    size_t cap, n; /* cap a power of two */
};
static struct hindex stack_ix, bucket_ix;

static void *map_anon(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

uint32_t cp_heap_n_buckets(void)
{
    return atomic_load_explicit(&n_buckets, memory_order_acquire);
}

static inline struct cp_heap_bucket *bucket_at(uint32_t id)
{
    return &bpages[id >> BPAGE_SHIFT][id & (BPAGE - 1)];
}

static bool hindex_grow(struct hindex *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 1024;
    uint32_t *ids = map_anon(cap * sizeof *ids);
    uint64_t *hs = map_anon(cap * sizeof *hs);

    if (!ids || !hs) {
        if (ids)
            munmap(ids, cap * sizeof *ids);
        if (hs)
            munmap(hs, cap * sizeof *hs);
        return false;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        size_t j;
        if (!ix->ids[i])
            continue;
        j = ix->hashes[i] & (cap - 1);
        while (ids[j])
            j = (j + 1) & (cap - 1);
        ids[j] = ix->ids[i];
        hs[j] = ix->hashes[i];
    }
    if (ix->cap) {
        munmap(ix->ids, ix->cap * sizeof *ix->ids);
        munmap(ix->hashes, ix->cap * sizeof *ix->hashes);
    }
    ix->ids = ids;
    ix->hashes = hs;
    ix->cap = cap;
    return true;
}

static uint32_t stack_intern(const uintptr_t *pcs, int n, bool trunc)
{
    uint64_t h = cp_splitmix64((uint64_t)n * 2 + trunc);
    size_t j;

    for (int i = 0; i < n; i++)
        h = cp_splitmix64(h ^ pcs[i]);
    if (stack_ix.n * 10 >= stack_ix.cap * 7 && !hindex_grow(&stack_ix))
        return UINT32_MAX;
    j = h & (stack_ix.cap - 1);
    while (stack_ix.ids[j]) {
        if (stack_ix.hashes[j] == h) {
            const struct hstack *s = &stacks[stack_ix.ids[j] - 1];
            if (s->n == n && s->truncated == trunc &&
                !memcmp(words + s->off, pcs, (size_t)n * sizeof *pcs))
                return stack_ix.ids[j] - 1;
        }
        j = (j + 1) & (stack_ix.cap - 1);
    }
    if (n_words + (size_t)n > CP_HEAP_MAX_STACK_WORDS)
        return UINT32_MAX;
    if (!words) {
        /* reserved once; pages are touched as stacks are added */
        words = mmap(NULL, CP_HEAP_MAX_STACK_WORDS * sizeof *words,
                     PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (words == MAP_FAILED) {
            words = NULL;
            return UINT32_MAX;
        }
    }
    if (n_stacks == cap_stacks) {
        uint32_t cap = cap_stacks ? cap_stacks * 2 : 1024;
        void *v = stacks ? mremap(stacks, cap_stacks * sizeof *stacks,
                                  cap * sizeof *stacks, MREMAP_MAYMOVE)
                         : map_anon(cap * sizeof *stacks);
        if (!v || v == MAP_FAILED)
            return UINT32_MAX;
        stacks = v;
        cap_stacks = cap;
    }
    memcpy(words + n_words, pcs, (size_t)n * sizeof *pcs);
    stacks[n_stacks] = (struct hstack){(uint32_t)n_words, (uint16_t)n,
                                       (uint16_t)trunc};
    n_words += (size_t)n;
    stack_ix.ids[j] = n_stacks + 1;
    stack_ix.hashes[j] = h;
    stack_ix.n++;
    return n_stacks++;
}

/* Bucket for (stack, size), created if new. heap_lock held. */
static uint32_t bucket_intern(uint32_t stack, uint64_t size)
{
    uint64_t h = cp_splitmix64(((uint64_t)stack << 40) ^ size ^ 0x5bd1e995ull);
    uint32_t id;
    size_t j;

    if (bucket_ix.n * 10 >= bucket_ix.cap * 7 && !hindex_grow(&bucket_ix))
        return UINT32_MAX;
    j = h & (bucket_ix.cap - 1);
    while (bucket_ix.ids[j]) {
        if (bucket_ix.hashes[j] == h) {
            const struct cp_heap_bucket *b = bucket_at(bucket_ix.ids[j] - 1);
            if (b->stack == stack && b->size == size)
                return bucket_ix.ids[j] - 1;
        }
        j = (j + 1) & (bucket_ix.cap - 1);
    }
    id = atomic_load_explicit(&n_buckets, memory_order_relaxed);
    if (id >= CP_HEAP_MAX_BUCKETS)
        return UINT32_MAX;
    if (!bpages[id >> BPAGE_SHIFT]) {
        bpages[id >> BPAGE_SHIFT] =
            map_anon(BPAGE * sizeof(struct cp_heap_bucket));
        if (!bpages[id >> BPAGE_SHIFT])
            return UINT32_MAX;
    }
    bucket_at(id)->size = size;
    bucket_at(id)->stack = stack;
    bucket_ix.ids[j] = id + 1;
    bucket_ix.hashes[j] = h;
    bucket_ix.n++;
    atomic_store_explicit(&n_buckets, id + 1, memory_order_release);
    return id;
}

/* ---- the slow paths ---- */

/*
 * Record a sample of n bytes and serve it from the region. ra is the
 * exported function's return address: the stack starts at that call
 * site, whatever cprof's own frames (inlined or not) lie below it.
 * NULL when it cannot be recorded: the caller serves it unsampled.
 */
static NOINLINE void *sample_alloc(size_t n, size_t align, bool zero,
                                   uintptr_t ra)
{
    enum { WANT = CP_MAX_STACK_DEPTH + 7 };
    uintptr_t pcs[WANT];
    int np, start = -1, depth, saved = errno;
    bool trunc;
    uint32_t st, b = UINT32_MAX;
    void *p = NULL;

    if (n > CP_HEAP_REGION_MIN / 2)
        return NULL; /* beyond what a sampled block can be: unsampled */
    cp_tls.in_cprof++;
    np = cp_unwind_here(pcs, WANT, 0);
    for (int i = 0; i < np && i < 16; i++) {
        if (pcs[i] == ra - 1) {
            start = i;
            break;
        }
    }
    if (start < 0) {
        /* The walk did not reach the call site: keep what is certain. */
        atomic_fetch_add_explicit(&cp_heap_ctr.unwind_trim_miss, 1,
                                  memory_order_relaxed);
        pcs[0] = ra - 1;
        np = 1;
        start = 0;
    }
    depth = np - start;
    trunc = np == WANT;
    if (depth > CP_MAX_STACK_DEPTH) {
        depth = CP_MAX_STACK_DEPTH;
        trunc = true;
    }
    cp_mutex_lock(&heap_lock);
    st = stack_intern(pcs + start, depth, trunc);
    if (st != UINT32_MAX)
        b = bucket_intern(st, n);
    cp_mutex_unlock(&heap_lock);
    if (b != UINT32_MAX)
        p = cp_heap_block_alloc(n, align, b, zero);
    if (p) {
        atomic_fetch_add_explicit(&bucket_at(b)->allocs, 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&cp_heap_ctr.sampled, 1,
                                  memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&cp_heap_ctr.dropped, 1,
                                  memory_order_relaxed);
    }
    cp_tls.in_cprof--;
    errno = saved;
    return p;
}

static NOINLINE void bad_free(const void *p)
{
    char hex[17];
    if (atomic_fetch_add(&cp_heap_ctr.bad_frees, 1) == 0) {
        hex[cp_fmt_hex(hex, (uintptr_t)p)] = '\0';
        cp_raw_log("heap: free of 0x", hex,
                   ", which is not a live block (freed twice?): ignored",
                   NULL);
    }
}

/* free() of a pointer inside the region. */
static NOINLINE void free_region(void *p)
{
    uint32_t b;
    int saved = errno;
    uintptr_t size = __atomic_load_n(&cp_heap_rgn.size, __ATOMIC_ACQUIRE);

    /* the fast path's plain loads may have raced with the region's
     * publication (base still 0): look again */
    if ((uintptr_t)p - __atomic_load_n(&cp_heap_rgn.base, __ATOMIC_RELAXED) >=
        size) {
        R(free)(p);
        return;
    }
    if (cp_heap_is_boot(p))
        return;
    if (cp_heap_block_info(p, &b, NULL) < 0) {
        bad_free(p);
        return;
    }
    atomic_fetch_add_explicit(&bucket_at(b)->frees, 1, memory_order_relaxed);
    cp_heap_block_free(p);
    errno = saved;
}

static size_t region_usable(const void *p)
{
    size_t u;
    if (cp_heap_is_boot(p))
        return cp_heap_boot_usable(p);
    return cp_heap_block_info(p, NULL, &u) == 0 ? u : 0;
}

static NOINLINE void *malloc_slow(size_t n, uintptr_t ra)
{
    void *p;
    if (sample_decide(n) && (p = sample_alloc(n, 0, false, ra)))
        return p;
    return R(malloc)(n);
}

static NOINLINE void *calloc_slow(size_t a, size_t b, size_t n, uintptr_t ra)
{
    void *p;
    if (sample_decide(n) && (p = sample_alloc(n, 0, true, ra)))
        return p;
    return R(calloc)(a, b);
}

/* Allocation of n bytes for realloc (which has already decided that the
 * old block moves). */
static void *alloc_for_realloc(size_t n, uintptr_t ra)
{
    void *p;
    if (fast_ok(n))
        return R(malloc)(n);
    if (sample_decide(n) && (p = sample_alloc(n, 0, false, ra)))
        return p;
    return R(malloc)(n);
}

static NOINLINE void *realloc_region(void *p, size_t n, uintptr_t ra)
{
    size_t old;
    void *q;

    if (cp_heap_is_boot(p)) {
        old = cp_heap_boot_usable(p);
        if (n == 0)
            return NULL; /* glibc: realloc(p, 0) frees p */
    } else if (cp_heap_block_info(p, NULL, &old) < 0) {
        bad_free(p);
        errno = EINVAL;
        return NULL;
    } else if (n == 0) {
        free_region(p);
        return NULL;
    }
    q = alloc_for_realloc(n, ra);
    if (!q)
        return NULL; /* p stays valid, as realloc promises */
    memcpy(q, p, old < n ? old : n);
    free_region(p);
    return q;
}

static NOINLINE void *realloc_slow(void *p, size_t n, uintptr_t ra)
{
    size_t old;
    void *q;

    if (!p)
        return malloc_slow(n, ra);
    if (n == 0) /* a free, not an allocation */
        return R(realloc)(p, 0);
    if (!sample_decide(n) || !R(usable))
        return R(realloc)(p, n);
    /* move an unsampled block into a sampled one */
    q = sample_alloc(n, 0, false, ra);
    if (!q)
        return R(realloc)(p, n);
    old = R(usable)(p);
    memcpy(q, p, old < n ? old : n);
    R(free)(p);
    return q;
}

static inline void *do_realloc(void *p, size_t n, uintptr_t ra)
{
    if (CP_UNLIKELY(cp_heap_in_region(p)))
        return realloc_region(p, n, ra);
    if (CP_LIKELY(fast_ok(n)))
        return R(realloc)(p, n);
    return realloc_slow(p, n, ra);
}

static NOINLINE void *aligned_slow(size_t al, size_t n, uintptr_t ra)
{
    if (sample_decide(n))
        return sample_alloc(n, al, false, ra);
    return NULL;
}

/* ---- the interposers (not under ASan, which owns malloc) ---- */

#ifndef CP_SANITIZE

CP_EXPORT void *malloc(size_t n)
{
    if (CP_LIKELY(fast_ok(n)))
        return R(malloc)(n);
    return malloc_slow(n, RA());
}

CP_EXPORT void free(void *p)
{
    if (CP_UNLIKELY(cp_heap_in_region(p))) {
        free_region(p);
        return;
    }
    R(free)(p);
}

CP_EXPORT void cfree(void *p)
{
    free(p);
}

CP_EXPORT void free_sized(void *p, size_t n)
{
    free(p);
}

CP_EXPORT void free_aligned_sized(void *p, size_t al, size_t n)
{
    free(p);
}

CP_EXPORT void *calloc(size_t a, size_t b)
{
    size_t n;
    if (CP_UNLIKELY(__builtin_mul_overflow(a, b, &n))) {
        errno = ENOMEM; /* as glibc documents */
        return NULL;
    }
    if (CP_LIKELY(fast_ok(n)))
        return R(calloc)(a, b);
    return calloc_slow(a, b, n, RA());
}

CP_EXPORT void *realloc(void *p, size_t n)
{
    return do_realloc(p, n, RA());
}

CP_EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(p, n, RA());
}

CP_EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
    void *p;
    if (CP_UNLIKELY(al < sizeof(void *) || (al & (al - 1))))
        return R(posix_memalign)(out, al, n); /* EINVAL */
    if (CP_LIKELY(fast_ok(n)))
        return R(posix_memalign)(out, al, n);
    p = aligned_slow(al, n, RA());
    if (!p)
        return R(posix_memalign)(out, al, n);
    *out = p;
    return 0;
}

CP_EXPORT void *aligned_alloc(size_t al, size_t n)
{
    void *p;
    if (CP_UNLIKELY(!al || (al & (al - 1))))
        return R(aligned_alloc)(al, n); /* what the allocator says */
    if (CP_LIKELY(fast_ok(n)))
        return R(aligned_alloc)(al, n);
    p = aligned_slow(al, n, RA());
    return p ? p : R(aligned_alloc)(al, n);
}

CP_EXPORT void *memalign(size_t al, size_t n)
{
    void *p;
    size_t eff = al;
    if (CP_LIKELY(fast_ok(n)))
        return R(memalign)(al, n);
    /* glibc: alignments below 16 mean 16, others round up to a power of
     * two; absurd ones fail with EINVAL (left to the real memalign). */
    if (eff > SIZE_MAX / 2 + 1)
        return R(memalign)(al, n);
    if (eff & (eff - 1))
        eff = (size_t)1 << (64 - __builtin_clzll(eff));
    p = aligned_slow(eff, n, RA());
    return p ? p : R(memalign)(al, n);
}

CP_EXPORT void *valloc(size_t n)
{
    void *p;
    if (CP_LIKELY(fast_ok(n)))
        return R(valloc)(n);
    p = aligned_slow((size_t)sysconf(_SC_PAGESIZE), n, RA());
    return p ? p : R(valloc)(n);
}

CP_EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), r;
    void *p;
    if (n > SIZE_MAX - 2 * pg)
        return R(pvalloc)(n); /* ENOMEM */
    r = n ? (n + pg - 1) & ~(pg - 1) : pg;
    if (CP_LIKELY(fast_ok(r)))
        return R(pvalloc)(n);
    p = aligned_slow(pg, r, RA());
    return p ? p : R(pvalloc)(n);
}

CP_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (CP_UNLIKELY(cp_heap_in_region(p)))
        return region_usable(p);
    return R(usable) ? R(usable)(p) : 0;
}

/* ---- C++ operator new and delete (Itanium ABI names, x86-64) ---- */

enum new_kind { NEW_PLAIN, NEW_NOTHROW, NEW_ALIGNED, NEW_ALIGNED_NOTHROW };

typedef void *new_fn(size_t);
typedef void *new_nt_fn(size_t, const void *);
typedef void *new_al_fn(size_t, size_t);
typedef void *new_al_nt_fn(size_t, size_t, const void *);

/*
 * Allocation failed (or the alignment is invalid): let libstdc++'s own
 * operator new run the new_handler loop and throw std::bad_alloc (or
 * return NULL for nothrow), so its semantics stay exact. C cannot throw;
 * the exception passes through these frames (they have unwind tables).
 */
static NOINLINE void *new_fail(const char *sym, enum new_kind k, size_t n,
                               size_t al, const void *nt)
{
    void *f = dlsym(RTLD_NEXT, sym);
    if (!f) {
        if (k == NEW_NOTHROW || k == NEW_ALIGNED_NOTHROW)
            return NULL;
        cp_raw_log("heap: operator new failed and no libstdc++ is loaded "
                   "to throw std::bad_alloc",
                   NULL);
        abort();
    }
    switch (k) {
    case NEW_PLAIN: return ((new_fn *)f)(n);
    case NEW_NOTHROW: return ((new_nt_fn *)f)(n, nt);
    case NEW_ALIGNED: return ((new_al_fn *)f)(n, al);
    default: return ((new_al_nt_fn *)f)(n, al, nt);
    }
}

static inline void *new_real(size_t n, size_t al)
{
    if (n == 0)
        n = 1;
    return al ? R(memalign)(al, n) : R(malloc)(n);
}

static NOINLINE void *new_slow(const char *sym, enum new_kind k, size_t n,
                               size_t al, const void *nt, uintptr_t ra)
{
    void *p = NULL;
    if (sample_decide(n))
        p = sample_alloc(n, al, false, ra);
    if (!p)
        p = new_real(n, al);
    return p ? p : new_fail(sym, k, n, al, nt);
}

#define NEW_BODY(sym, k, n, al, nt)                                          \
    do {                                                                    \
        void *p_;                                                           \
        if ((al) && ((al) & ((al) - 1)))                                    \
            return new_fail(sym, k, n, al, nt);                             \
        if (CP_LIKELY(fast_ok(n))) {                                        \
            p_ = new_real(n, al);                                           \
            if (CP_LIKELY(p_ != NULL))                                      \
                return p_;                                                  \
            return new_fail(sym, k, n, al, nt);                             \
        }                                                                   \
        return new_slow(sym, k, n, al, nt, RA());                           \
    } while (0)

CP_EXPORT void *_Znwm(size_t n)
{
    NEW_BODY("_Znwm", NEW_PLAIN, n, 0, NULL);
}
CP_EXPORT void *_Znam(size_t n)
{
    NEW_BODY("_Znam", NEW_PLAIN, n, 0, NULL);
}
CP_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
    NEW_BODY("_ZnwmRKSt9nothrow_t", NEW_NOTHROW, n, 0, nt);
}
CP_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
    NEW_BODY("_ZnamRKSt9nothrow_t", NEW_NOTHROW, n, 0, nt);
}
CP_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al)
{
    NEW_BODY("_ZnwmSt11align_val_t", NEW_ALIGNED, n, al, NULL);
}
CP_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
    NEW_BODY("_ZnamSt11align_val_t", NEW_ALIGNED, n, al, NULL);
}
CP_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al,
                                                   const void *nt)
{
    NEW_BODY("_ZnwmSt11align_val_tRKSt9nothrow_t", NEW_ALIGNED_NOTHROW, n,
             al, nt);
}
CP_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al,
                                                   const void *nt)
{
    NEW_BODY("_ZnamSt11align_val_tRKSt9nothrow_t", NEW_ALIGNED_NOTHROW, n,
             al, nt);
}

/* Every delete is free: libstdc++'s are too. */
CP_EXPORT void _ZdlPv(void *p) { free(p); }
CP_EXPORT void _ZdaPv(void *p) { free(p); }
CP_EXPORT void _ZdlPvm(void *p, size_t n) { free(p); }
CP_EXPORT void _ZdaPvm(void *p, size_t n) { free(p); }
CP_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { free(p); }
CP_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { free(p); }
CP_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { free(p); }
CP_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { free(p); }
CP_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    free(p);
}
CP_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    free(p);
}
CP_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al,
                                                   const void *nt)
{
    free(p);
}
CP_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al,
                                                   const void *nt)
{
    free(p);
}

#endif /* !CP_SANITIZE */

/* ---- snapshot for the writers ---- */

int cp_heap_snapshot(struct cp_heap_snap *s)
{
    uint32_t nb;
    int r = 0;

    memset(s, 0, sizeof *s);
    /* the copies below are malloc'd under heap_lock: they must not be
     * sampled (which takes heap_lock) */
    cp_tls.in_cprof++;
    cp_mutex_lock(&heap_lock);
    nb = atomic_load(&n_buckets);
    s->recs = malloc((nb ? nb : 1) * sizeof *s->recs);
    s->stacks = malloc((n_stacks ? n_stacks : 1) * sizeof *s->stacks);
    s->words = malloc((n_words ? n_words : 1) * sizeof *s->words);
    if (!s->recs || !s->stacks || !s->words) {
        r = -ENOMEM;
        goto out;
    }
    if (n_words)
        memcpy(s->words, words, n_words * sizeof *words);
    for (uint32_t i = 0; i < n_stacks; i++) {
        s->stacks[i].pcs = s->words + stacks[i].off;
        s->stacks[i].n = stacks[i].n;
        s->stacks[i].truncated = stacks[i].truncated;
    }
    s->n_stacks = n_stacks;
    for (uint32_t i = 0; i < nb; i++) {
        const struct cp_heap_bucket *b = bucket_at(i);
        /* frees first: a block's free is counted after its alloc, so
         * this order never shows more frees than allocs */
        uint64_t fr = atomic_load_explicit(&b->frees, memory_order_acquire);
        uint64_t al = atomic_load_explicit(&b->allocs, memory_order_acquire);
        if (!al)
            continue;
        s->recs[s->n_recs++] = (struct cp_heap_snap_rec){
            .size = b->size, .allocs = al, .frees = fr < al ? fr : al,
            .stack = b->stack};
    }
out:
    cp_mutex_unlock(&heap_lock);
    cp_tls.in_cprof--;
    s->rate = cp_heap_unbias_rate();
    s->dropped = atomic_load(&cp_heap_ctr.dropped);
    s->bad_frees = atomic_load(&cp_heap_ctr.bad_frees);
    if (r < 0)
        cp_heap_snap_free(s);
    return r;
}

void cp_heap_snap_free(struct cp_heap_snap *s)
{
    free(s->recs);
    free(s->stacks);
    free(s->words);
    memset(s, 0, sizeof *s);
}

/* ---- fork ---- */

void cp_heap_atfork_prepare(void)
{
    cp_mutex_lock(&heap_lock);
    cp_heap_region_atfork_prepare();
}

void cp_heap_atfork_parent(void)
{
    cp_heap_region_atfork_parent();
    cp_mutex_unlock(&heap_lock);
}

void cp_heap_atfork_child(void)
{
    cp_heap_region_atfork_child();
    pthread_mutex_init(&heap_lock, NULL);
    /* parent and child would otherwise sample the same allocations */
    if (cp_tls.rng)
        cp_tls.rng = cp_splitmix64(cp_tls.rng ^ (uint64_t)getpid()) | 1;
}

/* ---- the API and the environment ---- */

/*
 * CFI tables let the unwinder walk through code built without frame
 * pointers (glibc, most -O2 code). Compiling them costs real time at
 * start-up (0.7 s of CPU for python3, whose binary has a large
 * .eh_frame), too much for a sampler that is on in every process by
 * default. So they are built once someone has asked for heap profiles
 * (CPROF_HEAP, CPROF_HEAP_LEAKS, CPROF_HEAP_RATE, CPROF_HTTP,
 * cprof_heap_set_rate, the first profile written); until then samples
 * carry frame-pointer stacks, always starting at the right call site.
 * Never called inside malloc (it allocates, takes the loader's lock).
 */
void cp_heap_want_stacks(void)
{
    bool f = false;
    if (atomic_compare_exchange_strong(&cfi_ready, &f, true)) {
        cp_tls.in_cprof++;
        cp_modules_refresh(true);
        cp_tls.in_cprof--;
    }
}

CP_EXPORT void cprof_heap_set_rate(size_t bytes)
{
    int64_t r = bytes > (size_t)CP_HEAP_MAX_RATE ? CP_HEAP_MAX_RATE
                                                 : (int64_t)bytes;
    uint32_t ep;

    cp_tls.in_cprof++;
    if (r > 0 && atomic_load(&rate_epoch))
        cp_heap_want_stacks();
    atomic_store(&cur_rate, r);
    if (r > 0)
        atomic_store(&last_rate, r);
    ep = atomic_load(&rate_epoch);
    if (ep) {
        if (++ep == 0)
            ep = 1;
        atomic_store_explicit(&rate_epoch, ep, memory_order_release);
    }
    /* this thread looks at the new rate at its next allocation */
    cp_tls.heap_bytes_until_sample = 0;
    cp_tls.in_cprof--;
    cp_api_ok();
}

static char *heap_file;  /* CPROF_HEAP */
static bool heap_leaks;  /* CPROF_HEAP_LEAKS=1 */

/*
 * The leak report goes to fd 2 as it is at exit. Programs built on
 * gnulib (coreutils and many GNU tools) close stderr from their own
 * atexit handler, which runs before cprof's hooks: for them the report
 * goes to a copy of stderr taken at start, if that copy still refers to
 * the same file (a program that closes every descriptor may have reused
 * the number for something else). Close-on-exec, high-numbered, and only
 * taken when the report is asked for.
 */
static int leak_fd = -1;
static dev_t leak_dev;
static ino_t leak_ino;

static void leak_fd_save(void)
{
    struct stat st;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 100);

    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return;
    }
    leak_fd = fd;
    leak_dev = st.st_dev;
    leak_ino = st.st_ino;
}

static int leak_fd_now(void)
{
    struct stat st;

    if (fcntl(2, F_GETFD) >= 0 || leak_fd < 0)
        return 2;
    if (fstat(leak_fd, &st) < 0 || st.st_dev != leak_dev ||
        st.st_ino != leak_ino)
        return -1;
    return leak_fd;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void heap_at_exit(void)
{
    cp_tls.in_cprof++;
    if (heap_file) {
        char *path = cp_env_output_path(heap_file);
        int debug = ends_with(heap_file, ".txt") ? 1 : 0;
        struct cp_dynbuf b;
        int r;

        cp_dynbuf_init(&b, (size_t)1 << 31);
        r = path ? cp_profiles_render("heap", debug, &b) : -ENOMEM;
        if (r == 0)
            r = cp_write_file_atomic(path, b.data ? b.data : "", b.len);
        if (r < 0)
            cp_raw_log("CPROF_HEAP: cannot write ", path ? path : heap_file,
                       ": ", strerror(-r), NULL);
        cp_dynbuf_free(&b);
        free(path);
    }
    if (heap_leaks) {
        int fd = leak_fd_now();
        if (fd >= 0)
            cp_heap_leak_report(fd);
    }
    cp_tls.in_cprof--;
}

void cp_heap_init_from_env(void)
{
    int64_t v, rate = CP_HEAP_DEFAULT_RATE;
    const char *s;

    cp_tls.in_cprof++;
    resolve();
    cp_heap_region_init();
    switch (cp_env_int("CPROF_HEAP_RATE", 0, CP_HEAP_MAX_RATE, &v,
                       "heap profiling")) {
    case -1: rate = 0; break;
    case 1: rate = v; break;
    default: break;
    }
    if (!cp_heap_region_usable() && rate) {
        cp_raw_log("heap: cannot reserve address space for sampled blocks; "
                   "heap profiling stays off",
                   NULL);
        rate = 0;
    }
    if (cp_env_int("CPROF_HEAP_SEED", 0, INT64_MAX, &v, "the fixed seed") ==
        1) {
        seed_base = cp_splitmix64((uint64_t)v + 1);
    } else if (getrandom(&seed_base, sizeof seed_base, GRND_NONBLOCK) !=
               (ssize_t)sizeof seed_base) {
        seed_base = cp_splitmix64((uint64_t)cp_now_ns() ^ (uint64_t)getpid());
    }
    s = cp_getenv("CPROF_HEAP_LEAKS");
    if (s && *s) {
        if (!strcmp(s, "1")) {
            heap_leaks = true;
            leak_fd_save();
        }
        else if (strcmp(s, "0"))
            cp_env_bad("CPROF_HEAP_LEAKS", s, "not 0 or 1",
                       "the leak report");
    }
    s = cp_getenv("CPROF_HEAP");
    if (s) {
        int r;
        char *path = *s ? cp_env_output_path(s) : NULL;
        if (!*s) {
            cp_env_bad("CPROF_HEAP", "", "empty file name",
                       "the heap profile file");
        } else if (path && (r = cp_check_writable(path)) < 0) {
            cp_env_bad("CPROF_HEAP", s, strerror(-r),
                       "the heap profile file");
        } else if (path) {
            heap_file = strdup(s);
        }
        free(path);
    }
    s = cp_getenv("CPROF_HEAP_RATE");
    if (rate > 0 &&
        (heap_file || heap_leaks || cp_getenv("CPROF_HTTP") || (s && *s)))
        cp_heap_want_stacks();
    else
        cp_modules_refresh(false); /* lets the unwinder check addresses */
    cp_heap_profiles_register();
    /* cp_on_exit, not atexit: its hooks also run from cprof's _exit and
     * _Exit, which shells such as dash end with */
    if ((heap_file || heap_leaks) && cp_on_exit(heap_at_exit) < 0)
        cp_raw_log("heap: too many exit hooks; CPROF_HEAP and the leak "
                   "report are not written at exit",
                   NULL);
    atomic_store(&cur_rate, rate);
    if (rate > 0)
        atomic_store(&last_rate, rate);
    atomic_store_explicit(&rate_epoch, 1, memory_order_release);
    cp_tls.heap_bytes_until_sample = 0;
    cp_tls.in_cprof--;
}
