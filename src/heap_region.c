/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_region.c - the address range of cprof's own from which every
 * sampled block is served (heap.h), so that free() learns whether a
 * pointer was sampled from one subtraction and one comparison, without a
 * lock, a hash probe or a read of memory around the pointer.
 *
 * The range is reserved once (PROT_NONE, no memory or commit charge) and
 * made writable as it is used. Its first CP_HEAP_BOOT_BYTES hold bootstrap
 * blocks: what dlsym asks for while the real allocator is being looked up.
 * After them, blocks are carved by size class (4 classes per power of
 * two): blocks up to CP_HEAP_SMALL_MAX from shared 1 MiB chunks with a free
 * list per class, larger ones as page-aligned slots of their own, given
 * back to the kernel with MADV_DONTNEED when freed (at once for big ones,
 * beyond CP_HEAP_DIRTY_MAX for the others).
 *
 * Every block starts with a 16-byte header right before the user pointer:
 * the bucket the sample belongs to, the size class, the offset back to
 * the block's start (alignment), and a check word (all of it xor the
 * pointer and a per-process secret), so a double free or a stray pointer
 * into the region is recognized and ignored instead of corrupting it.
 *
 * Never calls malloc (it runs inside it). Lock order: a class lock, then
 * region_lock; both are leaves below every other cprof lock.
 */
#include "heap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cp_assert.h"
#include "cp_hash.h"
#include "cp_limits.h"
#include "cp_lock.h"

#define PAGE ((uintptr_t)4096)
#define HDR 16u
/* Classes: 16..128 in steps of 16 (8 classes), then 4 per power of two
 * up to 2^48. */
#define N_CLASSES (8 + 4 * (48 - 7))

struct cp_heap_region cp_heap_rgn;

struct blk_hdr {
    uint64_t meta;  /* bucket | cls << 32 | off16 << 40 */
    uint64_t check; /* meta ^ user pointer ^ secret; 0 once freed */
};

struct hclass {
    pthread_mutex_t lock;
    /* small classes: a free list through the blocks, and a bump range */
    void *free_head;
    uintptr_t cur, end;
    /* large classes: free slots (bit 0 set: known zero, i.e. purged or
     * never used), in an mmap'd array */
    uintptr_t *slots;
    size_t n_slots, cap_slots;
} __attribute__((aligned(64)));

static struct hclass classes[N_CLASSES];
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;

/* guarded by region_lock */
static uintptr_t carve_top, commit_top;
/* immutable after init */
static uintptr_t carve_base, region_end;
static uint64_t secret;
static bool usable;
static _Atomic int init_state; /* 0 none, 1 busy, 2 done */

static _Atomic uintptr_t boot_top;
static _Atomic size_t live_bytes, dirty_bytes;

/* Where bootstrap blocks go when no region could be reserved at all. */
static unsigned char fallback_boot[CP_HEAP_BOOT_BYTES]
    __attribute__((aligned(4096)));

unsigned cp_heap_size_class(size_t n)
{
    size_t m;
    unsigned k;

    if (n <= 128)
        return n ? (unsigned)((n + 15) / 16 - 1) : 0;
    m = n - 1;
    k = 63u - (unsigned)__builtin_clzll(m); /* 2^k <= m < 2^(k+1), k >= 7 */
    return 8 + (k - 7) * 4 + (unsigned)((m >> (k - 2)) & 3);
}

size_t cp_heap_class_size(unsigned c)
{
    unsigned k;

    if (c < 8)
        return (size_t)(c + 1) * 16;
    k = 7 + (c - 8) / 4;
    return ((size_t)1 << k) + (size_t)((c - 8) % 4 + 1) * ((size_t)1 << (k - 2));
}

int cp_heap_region_init(void)
{
    int expect = 0;
    void *p = MAP_FAILED;
    size_t sz;

    if (atomic_load_explicit(&init_state, memory_order_acquire) == 2)
        return usable ? 0 : -ENOMEM;
    if (!atomic_compare_exchange_strong(&init_state, &expect, 1)) {
        /* Another thread is reserving: a few system calls, wait. */
        while (atomic_load_explicit(&init_state, memory_order_acquire) != 2)
            sched_yield();
        return usable ? 0 : -ENOMEM;
    }
    for (sz = CP_HEAP_REGION_MAX; sz >= CP_HEAP_REGION_MIN; sz /= 2) {
        p = mmap(NULL, sz, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            break;
    }
    if (p != MAP_FAILED &&
        mprotect(p, CP_HEAP_COMMIT_STEP, PROT_READ | PROT_WRITE) < 0) {
        munmap(p, sz);
        p = MAP_FAILED;
    }
    if (p == MAP_FAILED) {
        p = fallback_boot;
        sz = sizeof fallback_boot;
        usable = false;
    } else {
        usable = true;
    }
    carve_base = (uintptr_t)p + CP_HEAP_BOOT_BYTES;
    carve_top = carve_base;
    commit_top = usable ? (uintptr_t)p + CP_HEAP_COMMIT_STEP : carve_base;
    region_end = (uintptr_t)p + sz;
    atomic_store(&boot_top, (uintptr_t)p);
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        secret = cp_splitmix64((uint64_t)(uintptr_t)p ^ (uint64_t)(uintptr_t)&secret ^
                       ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid());
        secret |= 1; /* never 0: a cleared check word can never match */
    }
    for (int i = 0; i < N_CLASSES; i++)
        pthread_mutex_init(&classes[i].lock, NULL);
    /* size last: a reader that sees it non-zero sees the base too (x86
     * keeps stores in order; the release below orders the rest) */
    __atomic_store_n(&cp_heap_rgn.base, (uintptr_t)p, __ATOMIC_RELAXED);
    __atomic_store_n(&cp_heap_rgn.size, sz, __ATOMIC_RELEASE);
    atomic_store_explicit(&init_state, 2, memory_order_release);
    return usable ? 0 : -ENOMEM;
}

bool cp_heap_region_usable(void)
{
    return atomic_load_explicit(&init_state, memory_order_acquire) == 2 &&
           usable;
}

/* ---- bootstrap blocks: [size word, pad] then data ---- */

void *cp_heap_boot_alloc(size_t n, size_t align)
{
    uintptr_t base, top, u, lim;

    if (cp_heap_region_init() < 0 && !cp_heap_rgn.base)
        return NULL;
    if (align < 16)
        align = 16;
    if (align > PAGE || n > CP_HEAP_BOOT_BYTES)
        return NULL;
    base = __atomic_load_n(&cp_heap_rgn.base, __ATOMIC_ACQUIRE);
    lim = base + CP_HEAP_BOOT_BYTES;
    top = atomic_load(&boot_top);
    do {
        u = (top + HDR + align - 1) & ~(align - 1);
        if (u + n > lim || u + n < u)
            return NULL;
    } while (!atomic_compare_exchange_weak(&boot_top, &top, u + n));
    ((size_t *)u)[-2] = n;
    atomic_fetch_add_explicit(&cp_heap_ctr.boot_allocs, 1,
                              memory_order_relaxed);
    return (void *)u;
}

bool cp_heap_is_boot(const void *p)
{
    uintptr_t base = __atomic_load_n(&cp_heap_rgn.base, __ATOMIC_RELAXED);
    return (uintptr_t)p - base < CP_HEAP_BOOT_BYTES;
}

size_t cp_heap_boot_usable(const void *p)
{
    if ((uintptr_t)p & 15)
        return 0;
    return ((const size_t *)p)[-2];
}

/* ---- carving ---- */

/* n bytes (a multiple of PAGE) of fresh, zeroed region. region_lock must
 * not be held. 0 when the region is full. */
static uintptr_t carve(size_t n)
{
    uintptr_t p = 0;

    cp_mutex_lock(&region_lock);
    if (n <= region_end - carve_top) {
        uintptr_t want = carve_top + n;
        if (want > commit_top) {
            uintptr_t to = (want + CP_HEAP_COMMIT_STEP - 1) &
                           ~(uintptr_t)(CP_HEAP_COMMIT_STEP - 1);
            if (to > region_end)
                to = region_end;
            if (mprotect((void *)commit_top, to - commit_top,
                         PROT_READ | PROT_WRITE) == 0)
                commit_top = to;
        }
        if (want <= commit_top) {
            p = carve_top;
            carve_top = want;
        }
    }
    cp_mutex_unlock(&region_lock);
    return p;
}

static bool slots_push(struct hclass *c, uintptr_t v)
{
    if (c->n_slots == c->cap_slots) {
        size_t cap = c->cap_slots ? c->cap_slots * 2 : PAGE / sizeof(uintptr_t);
        void *m;
        if (c->slots)
            m = mremap(c->slots, c->cap_slots * sizeof(uintptr_t),
                       cap * sizeof(uintptr_t), MREMAP_MAYMOVE);
        else
            m = mmap(NULL, cap * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return false;
        c->slots = m;
        c->cap_slots = cap;
    }
    c->slots[c->n_slots++] = v;
    return true;
}

void *cp_heap_block_alloc(size_t n, size_t align, uint32_t bucket, bool zero)
{
    size_t need, csize;
    unsigned cls;
    struct hclass *c;
    uintptr_t b = 0, u;
    bool is_zero = false;
    struct blk_hdr *h;

    if (!cp_heap_region_usable())
        return NULL;
    if (align < HDR)
        align = HDR;
    if (align > CP_HEAP_MAX_ALIGN || (align & (align - 1)))
        return NULL;
    if (n > (region_end - carve_base) / 2)
        return NULL;
    /* at least one byte, so that no user pointer is another block's
     * start (malloc(0) must return a unique pointer) */
    need = (n ? n : 1) + (align > HDR ? align : HDR);
    cls = cp_heap_size_class(need);
    if (cls >= N_CLASSES)
        return NULL;
    csize = cp_heap_class_size(cls);
    c = &classes[cls];

    cp_mutex_lock(&c->lock);
    if (csize <= CP_HEAP_SMALL_MAX) {
        if (c->free_head) {
            b = (uintptr_t)c->free_head;
            c->free_head = *(void **)c->free_head;
        } else {
            if (c->end - c->cur < csize) {
                uintptr_t ch = carve(CP_HEAP_CHUNK);
                if (ch) {
                    c->cur = ch;
                    c->end = ch + CP_HEAP_CHUNK;
                }
            }
            if (c->end - c->cur >= csize) {
                b = c->cur;
                c->cur += csize;
            }
        }
    } else if (c->n_slots) {
        uintptr_t v = c->slots[--c->n_slots];
        b = v & ~(uintptr_t)1;
        is_zero = v & 1;
        if (!is_zero)
            atomic_fetch_sub(&dirty_bytes, csize);
    }
    cp_mutex_unlock(&c->lock);
    if (!b && csize > CP_HEAP_SMALL_MAX) {
        b = carve(csize); /* multiples of 8 KiB from 40 KiB up */
        is_zero = true;
    }
    if (!b)
        return NULL;

    u = (b + HDR + align - 1) & ~(uintptr_t)(align - 1);
    h = (struct blk_hdr *)(u - HDR);
    h->meta = (uint64_t)bucket | (uint64_t)cls << 32 |
              (uint64_t)((u - b) / 16) << 40;
    h->check = h->meta ^ (uint64_t)u ^ secret;
    if (zero && !is_zero)
        memset((void *)u, 0, n);
    atomic_fetch_add_explicit(&live_bytes, csize, memory_order_relaxed);
    return (void *)u;
}

int cp_heap_block_info(const void *p, uint32_t *bucket, size_t *usable_out)
{
    uintptr_t u = (uintptr_t)p, b;
    const struct blk_hdr *h;
    unsigned cls;
    size_t off;

    if ((u & 15) || u < carve_base + HDR || u >= region_end)
        return -EINVAL;
    h = (const struct blk_hdr *)(u - HDR);
    if (u - HDR >= commit_top && u - HDR >= carve_top)
        return -EINVAL;
    if (h->check != (h->meta ^ (uint64_t)u ^ secret))
        return -EINVAL;
    cls = (unsigned)(h->meta >> 32) & 0xff;
    off = (size_t)(h->meta >> 40) * 16;
    if (cls >= N_CLASSES || off < HDR || off > cp_heap_class_size(cls))
        return -EINVAL;
    b = u - off;
    if (b < carve_base)
        return -EINVAL;
    if (bucket)
        *bucket = (uint32_t)h->meta;
    if (usable_out)
        *usable_out = cp_heap_class_size(cls) - off;
    return 0;
}

void cp_heap_block_free(void *p)
{
    uintptr_t u = (uintptr_t)p, b;
    struct blk_hdr *h = (struct blk_hdr *)(u - HDR);
    unsigned cls = (unsigned)(h->meta >> 32) & 0xff;
    size_t csize = cp_heap_class_size(cls);
    struct hclass *c = &classes[cls];
    bool clean = false;

    b = u - (size_t)(h->meta >> 40) * 16;
    h->check = 0;
    h->meta = 0;
    atomic_fetch_sub_explicit(&live_bytes, csize, memory_order_relaxed);
    if (csize > CP_HEAP_SMALL_MAX) {
        if (csize >= CP_HEAP_PURGE_MIN ||
            atomic_load(&dirty_bytes) + csize > CP_HEAP_DIRTY_MAX)
            clean = madvise((void *)b, csize, MADV_DONTNEED) == 0;
        if (!clean)
            atomic_fetch_add(&dirty_bytes, csize);
    }
    cp_mutex_lock(&c->lock);
    if (csize <= CP_HEAP_SMALL_MAX) {
        *(void **)b = c->free_head;
        c->free_head = (void *)b;
    } else if (!slots_push(c, b | (clean ? 1 : 0))) {
        /* no room to remember it: the slot is lost (counted as live no
         * more; its pages are given back) */
        if (!clean)
            atomic_fetch_sub(&dirty_bytes, csize);
        madvise((void *)b, csize, MADV_DONTNEED);
    }
    cp_mutex_unlock(&c->lock);
}

void cp_heap_region_usage(size_t *carved, size_t *live, size_t *reserved)
{
    cp_mutex_lock(&region_lock);
    *carved = carve_top - carve_base;
    cp_mutex_unlock(&region_lock);
    *live = atomic_load(&live_bytes);
    *reserved = usable ? region_end - carve_base + CP_HEAP_BOOT_BYTES : 0;
}

void cp_heap_region_atfork_prepare(void)
{
    for (int i = 0; i < N_CLASSES; i++)
        cp_mutex_lock(&classes[i].lock);
    cp_mutex_lock(&region_lock);
}

void cp_heap_region_atfork_parent(void)
{
    cp_mutex_unlock(&region_lock);
    for (int i = N_CLASSES - 1; i >= 0; i--)
        cp_mutex_unlock(&classes[i].lock);
}

void cp_heap_region_atfork_child(void)
{
    pthread_mutex_init(&region_lock, NULL);
    for (int i = 0; i < N_CLASSES; i++)
        pthread_mutex_init(&classes[i].lock, NULL);
}
