/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - stacks of every thread without disturbing any
 * (snapshot.h). Blocked threads are read from /proc and a copy of their
 * stack; running ones are interrupted in user mode only (snapsig.c).
 *
 * Lock order: snap_lock, then cp_reg_lock (briefly, to list the threads),
 * then cp_modules_lock (refresh). Never taken in signal context.
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cp_lock.h"
#include "cp_syscalls.h" /* generated from <asm/unistd_64.h> */
#include "modules.h"
#include "sigsafe.h"
#include "snapsig.h"
#include "thread_reg.h"
#include "unwinder.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by snap_lock */
static struct cp_snap_stats stats;
static int mem_fd = -1; /* /proc/self/mem, when process_vm_readv is denied */
static int vm_readv_ok = 1;

const char *cp_syscall_name(int nr)
{
    if (nr < 0 || nr >= (int)(sizeof cp_syscall_names /
                              sizeof cp_syscall_names[0]))
        return NULL;
    return cp_syscall_names[nr];
}

const char *cp_snap_state(const struct cp_snap_thread *t, char *buf, int len)
{
    const char *word, *sc;

    if (t->how == CP_SNAP_SIGNAL || t->how == CP_SNAP_SELF)
        return "running";
    switch (t->state) {
    case 'R': word = "running"; break;
    case 'S': word = "sleeping"; break;
    case 'D': word = "disk sleep"; break;
    case 'T': word = "stopped"; break;
    case 't': word = "tracing stop"; break;
    case 'Z': word = "zombie"; break;
    case 'X': word = "dead"; break;
    case 'I': word = "idle"; break;
    case 'P': word = "parked"; break;
    default: word = "unknown"; break;
    }
    if (t->syscall_nr < 0)
        return word;
    sc = cp_syscall_name(t->syscall_nr);
    if (sc)
        snprintf(buf, (size_t)len, "%s in %s", word, sc);
    else
        snprintf(buf, (size_t)len, "%s in syscall %d", word, t->syscall_nr);
    return buf;
}

/* Read a small /proc file into buf (NUL-terminated). Length or -errno. */
static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return (int)n;
}

int cp_snap_read_task(int tid, const char *what, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, what);
    return read_file(path, buf, len);
}

/*
 * /proc/.../syscall: "running", or "NR a1 a2 a3 a4 a5 a6 SP PC" (blocked
 * in system call NR), or "-1 SP PC" (blocked outside a system call: a
 * stop, a page fault).
 */
enum cp_snap_sc cp_snap_parse_syscall(const char *s, int *nr, uintptr_t *sp,
                                      uintptr_t *pc)
{
    unsigned long long v[9];
    char *end;
    int n = 0;
    long first;

    if (!strncmp(s, "running", 7))
        return CP_SNAP_SC_RUNNING;
    errno = 0;
    first = strtol(s, &end, 10);
    if (end == s || errno)
        return CP_SNAP_SC_GONE;
    s = end;
    while (n < 9) {
        while (*s == ' ')
            s++;
        if (!*s || *s == '\n')
            break;
        v[n++] = strtoull(s, &end, 0);
        if (end == s)
            return CP_SNAP_SC_GONE;
        s = end;
    }
    if (first == -1 && n == 2) {
        *nr = -1;
        *sp = (uintptr_t)v[0];
        *pc = (uintptr_t)v[1];
        return CP_SNAP_SC_BLOCKED;
    }
    if (first >= 0 && n == 8) {
        *nr = (int)first;
        *sp = (uintptr_t)v[6];
        *pc = (uintptr_t)v[7];
        return CP_SNAP_SC_BLOCKED;
    }
    return CP_SNAP_SC_GONE;
}

/* State letter and last CPU from /proc/.../stat. 0 or -ENOENT. */
static int parse_stat(const char *s, char *state, int *cpu)
{
    const char *p = strrchr(s, ')'); /* comm may hold spaces and parens */
    int field = 2;

    if (!p || p[1] != ' ' || !p[2])
        return -ENOENT;
    *state = p[2];
    *cpu = -1;
    /* processor is field 39 */
    for (p += 1; *p; p++) {
        if (*p == ' ' && ++field == 39) {
            *cpu = atoi(p + 1);
            break;
        }
    }
    return 0;
}

bool cp_snap_sig_blocked_now(int tid, int sig)
{
    char buf[2048], *p;
    unsigned long long mask;

    if (cp_snap_read_task(tid, "status", buf, sizeof buf) < 0)
        return false;
    p = strstr(buf, "\nSigBlk:");
    if (!p)
        return false;
    mask = strtoull(p + 8, NULL, 16);
    return sig >= 1 && sig <= 64 && (mask >> (sig - 1) & 1);
}

/*
 * Whether thread tid keeps sig blocked. A thread inside any signal handler
 * (cprof's own answering the last snapshot, the CPU sampler's, the
 * program's) shows a full mask for microseconds; one that blocks the
 * signal for good would only collect pending signals, so it is not
 * signalled at all.
 */
static bool sig_blocked(int tid, int sig)
{
    for (int i = 0; i < 4; i++) {
        if (!cp_snap_sig_blocked_now(tid, sig))
            return false;
        usleep(500);
    }
    return true;
}

/* ---- stack regions of threads cprof did not create ---- */

struct region {
    uintptr_t lo, hi;
};

struct regions {
    struct region *r;
    size_t n;
    bool loaded;
};

static void regions_load(struct regions *rs)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    size_t cap = 0;

    rs->loaded = true;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        if (rs->n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct region *v = realloc(rs->r, nc * sizeof *v);
            if (!v)
                break;
            rs->r = v;
            cap = nc;
        }
        rs->r[rs->n++] = (struct region){lo, hi};
    }
    fclose(f);
}

static uintptr_t regions_hi(struct regions *rs, uintptr_t sp)
{
    if (!rs->loaded)
        regions_load(rs);
    for (size_t i = 0; i < rs->n; i++) {
        if (sp >= rs->r[i].lo && sp < rs->r[i].hi)
            return rs->r[i].hi;
    }
    return 0;
}

/* Copy [addr, addr + len) of our own memory into buf without any chance
 * of a fault: process_vm_readv, else pread of /proc/self/mem. Bytes read
 * (a partial read stops at the first unmapped page), or -errno. */
static ssize_t copy_memory(void *buf, uintptr_t addr, size_t len)
{
    ssize_t n;

    if (vm_readv_ok) {
        struct iovec local = {buf, len}, remote = {(void *)addr, len};
        n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        if (n >= 0)
            return n;
        if (errno != EPERM && errno != ENOSYS)
            return -errno;
        vm_readv_ok = 0; /* a seccomp filter, an old kernel */
    }
    if (mem_fd < 0)
        mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (mem_fd < 0)
        return -errno;
    n = pread(mem_fd, buf, len, (off_t)addr);
    return n < 0 ? -errno : n;
}

/* ---- taking a snapshot ---- */

struct work {
    struct cp_snapshot *snap;
    struct regions regions;
    char *stack_buf; /* CP_SNAP_STACK_BYTES + 16 */
};

/*
 * Unwind a thread stopped at (sp, pc) from a copy of its stack. Returns
 * 0 when done, -EAGAIN when it moved (syscall text changed), -ENOENT when
 * it is gone or running now.
 */
static int from_proc(struct work *w, int i, const char *before, int nr,
                     uintptr_t sp, uintptr_t pc)
{
    struct cp_snap_thread *t = &w->snap->threads[i];
    char after[256];
    uintptr_t hi = t->stack_hi;
    struct cp_regs regs = {pc, sp, 0};
    char *copy;
    ssize_t got;
    size_t len;

    if (!hi || sp < t->stack_lo || sp >= hi)
        hi = regions_hi(&w->regions, sp);
    len = hi > sp ? hi - sp : 0;
    if (len > CP_SNAP_STACK_BYTES)
        len = CP_SNAP_STACK_BYTES;
    /* same alignment as the stack, so 8-byte slots stay aligned */
    copy = w->stack_buf + (sp & 15);
    got = len ? copy_memory(copy, sp, len) : 0;
    if (got < 0)
        got = 0;
    t->n = cp_unwind_copy(&regs, 0, copy, (size_t)got, t->pcs,
                          CP_MAX_STACK_DEPTH, &t->truncated);
    if (cp_snap_read_task(t->tid, "syscall", after, sizeof after) < 0)
        return -ENOENT;
    if (strcmp(before, after) != 0)
        return -EAGAIN;
    t->how = CP_SNAP_SYSCALL;
    t->syscall_nr = nr;
    stats.from_proc++;
    return 0;
}

static int cmp_tid(const void *a, const void *b)
{
    const struct cp_snap_thread *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

/* List the threads (registry + /proc/self/task adoption). */
static int list_threads(unsigned what, struct work *w)
{
    struct cp_snapshot *s = w->snap;
    struct cp_thread *t;
    int n = 0, i = 0;

    cp_mutex_lock(&cp_reg_lock);
    cp_reg_adopt_all_locked();
    for (t = cp_reg_head; t; t = t->next) {
        if (!cp_reg_is_internal(t->tid))
            n++;
    }
    s->threads = calloc((size_t)n + 1, sizeof *s->threads);
    if (what & CP_SNAP_CREATE_STACKS)
        s->create_store = calloc((size_t)n * CP_CREATE_DEPTH + 1,
                                 sizeof *s->create_store);
    if (!s->threads ||
        ((what & CP_SNAP_CREATE_STACKS) && !s->create_store)) {
        cp_mutex_unlock(&cp_reg_lock);
        return -ENOMEM;
    }
    for (t = cp_reg_head; t && i < n; t = t->next) {
        struct cp_snap_thread *st = &s->threads[i];
        if (cp_reg_is_internal(t->tid))
            continue;
        st->tid = t->tid;
        memcpy(st->name, t->name, CP_THREAD_NAME_LEN);
        st->name[CP_THREAD_NAME_LEN - 1] = '\0';
        st->syscall_nr = -1;
        st->cpu = -1;
        st->stack_lo = t->stack_lo;
        st->stack_hi = t->stack_hi;
        if (what & CP_SNAP_CREATE_STACKS) {
            uintptr_t *c = s->create_store + (size_t)i * CP_CREATE_DEPTH;
            int nc = t->n_create_pcs;
            if (nc < 0 || nc > CP_CREATE_DEPTH)
                nc = 0;
            memcpy(c, t->create_pcs, (size_t)nc * sizeof *c);
            st->create_pcs = c;
            st->n_create_pcs = nc;
        }
        i++;
    }
    cp_mutex_unlock(&cp_reg_lock);
    s->n = i;
    qsort(s->threads, (size_t)s->n, sizeof *s->threads, cmp_tid);
    if (what & CP_SNAP_STACKS) {
        s->pc_store = calloc((size_t)s->n * CP_MAX_STACK_DEPTH + 1,
                             sizeof *s->pc_store);
        if (!s->pc_store)
            return -ENOMEM;
        for (int k = 0; k < s->n; k++)
            s->threads[k].pcs = s->pc_store + (size_t)k * CP_MAX_STACK_DEPTH;
    }
    return 0;
}

/* Drop threads that exited while we looked (state 0). */
static void compact(struct cp_snapshot *s)
{
    int j = 0;
    for (int i = 0; i < s->n; i++) {
        if (!s->threads[i].state)
            continue;
        if (i != j) {
            s->threads[j] = s->threads[i];
            /* the stack storage moves with it */
            if (s->pc_store) {
                uintptr_t *dst = s->pc_store + (size_t)j * CP_MAX_STACK_DEPTH;
                memmove(dst, s->threads[i].pcs,
                        (size_t)s->threads[i].n * sizeof *dst);
                s->threads[j].pcs = dst;
            }
        }
        j++;
    }
    s->n = j;
}

/* Stop thread i's trigger (slot) and keep its answer, or read it from
 * /proc if it blocked meanwhile, or mark it as silent. */
static void settle(struct work *w, int i, int slot)
{
    struct cp_snapshot *s = w->snap;
    struct cp_snap_thread *t = &s->threads[i];
    struct cp_snapsig_slot *sl = cp_snapsig_slot(slot);
    char before[256];
    int nr;
    uintptr_t sp, pc;

    cp_snapsig_disarm(slot);
    /* disarm waited for any handler still writing: the slot is final */
    if (sl->n > 0) {
        memcpy(t->pcs, sl->pcs, (size_t)sl->n * sizeof *t->pcs);
        t->n = sl->n;
        t->truncated = sl->truncated;
        cp_snapsig_release(slot);
        t->how = CP_SNAP_SIGNAL;
        t->state = 'R';
        s->signalled++;
        stats.signalled++;
        return;
    }
    cp_snapsig_release(slot);
    if (cp_snap_read_task(t->tid, "syscall", before, sizeof before) >= 0 &&
        cp_snap_parse_syscall(before, &nr, &sp, &pc) == CP_SNAP_SC_BLOCKED &&
        from_proc(w, i, before, nr, sp, pc) == 0)
        return;
    t->flags |= CP_SNAP_F_NO_ANSWER;
    stats.no_answer++;
}

static void take_stacks(struct work *w)
{
    struct cp_snapshot *s = w->snap;
    int running[CP_SNAP_MAX_SIGNALLED], n_running = 0, n_armed = 0;
    int slot_of[CP_SNAP_MAX_SIGNALLED];
    int self = cp_tls.tid ? cp_tls.tid : cp_gettid();
    bool have_signal = cp_snapsig_init() == 0;

    for (int i = 0; i < s->n; i++) {
        struct cp_snap_thread *t = &s->threads[i];
        char before[256];
        int nr = -1, tries;
        uintptr_t sp = 0, pc = 0;
        enum cp_snap_sc k = CP_SNAP_SC_GONE;

        if (!t->state)
            continue;
        if (t->tid == self) {
            t->n = cp_unwind_here(t->pcs, CP_MAX_STACK_DEPTH, 0);
            t->how = CP_SNAP_SELF;
            continue;
        }
        for (tries = 0; tries < CP_SNAP_RETRIES; tries++) {
            if (cp_snap_read_task(t->tid, "syscall", before,
                                  sizeof before) < 0) {
                k = CP_SNAP_SC_GONE;
                break;
            }
            k = cp_snap_parse_syscall(before, &nr, &sp, &pc);
            if (k != CP_SNAP_SC_BLOCKED)
                break;
            if (tries)
                stats.retries++;
            int r = from_proc(w, i, before, nr, sp, pc);
            if (r == 0 || r == -ENOENT)
                break;
        }
        if (k == CP_SNAP_SC_BLOCKED && t->how == CP_SNAP_NONE) {
            /* kept moving: keep the last walk, say so */
            t->flags |= CP_SNAP_F_MOVED;
            t->syscall_nr = nr;
            stats.moved++;
        } else if (k == CP_SNAP_SC_RUNNING) {
            t->n = 0;
            if (n_running < CP_SNAP_MAX_SIGNALLED)
                running[n_running++] = i;
            else
                t->flags |= CP_SNAP_F_NO_ANSWER;
        } else if (k == CP_SNAP_SC_GONE && t->how == CP_SNAP_NONE) {
            if (cp_snap_read_task(t->tid, "syscall", before,
                                  sizeof before) == -ENOENT)
                t->state = 0; /* exited */
            else
                t->flags |= CP_SNAP_F_UNREADABLE;
        }
    }

    if (!n_running)
        return;
    cp_snapsig_reset_answers();
    for (int k = 0; k < n_running; k++) {
        struct cp_snap_thread *t = &s->threads[running[k]];
        slot_of[k] = -1;
        if (!have_signal || sig_blocked(t->tid, cp_snapsig_signal())) {
            t->flags |= CP_SNAP_F_SIG_BLOCKED;
            continue;
        }
        int r = cp_snapsig_arm(k, t->tid);
        if (r < 0) {
            t->flags |= CP_SNAP_F_NO_ANSWER;
            continue;
        }
        stats.trigger = r;
        slot_of[k] = k;
        n_armed++;
    }
    /*
     * Wait for the answers. A thread seen running may block before it runs
     * user code again (it was between two sleeps): it will not answer, so
     * every 2 ms the ones still silent are looked up in /proc again, and
     * read from there once they are blocked.
     */
    int64_t deadline = cp_now_ns() + CP_SNAP_TIMEOUT_MS * 1000000LL;
    for (;;) {
        int silent = 0;
        int64_t now = cp_now_ns(), step = now + 2000000;
        for (int k = 0; k < n_running; k++) {
            struct cp_snapsig_slot *sl;
            char text[256];
            int nr;
            uintptr_t sp, pc;

            if (slot_of[k] < 0)
                continue;
            sl = cp_snapsig_slot(slot_of[k]);
            if (atomic_load(&sl->state) == CP_SLOT_DONE)
                continue;
            if (cp_snap_read_task(s->threads[running[k]].tid, "syscall",
                                  text, sizeof text) >= 0 &&
                cp_snap_parse_syscall(text, &nr, &sp, &pc) ==
                    CP_SNAP_SC_BLOCKED) {
                settle(w, running[k], slot_of[k]);
                slot_of[k] = -1;
            } else {
                silent++;
            }
        }
        if (!silent || now >= deadline)
            break;
        cp_snapsig_wait((int)atomic_load(&cp_snapsig_answers) + 1,
                        step < deadline ? step : deadline);
    }
    for (int k = 0; k < n_running; k++) {
        if (slot_of[k] >= 0)
            settle(w, running[k], slot_of[k]);
    }
}

int cp_snapshot_take(unsigned what, struct cp_snapshot *out)
{
    struct work w;
    int64_t t0 = cp_now_ns();
    int r;

    memset(out, 0, sizeof *out);
    memset(&w, 0, sizeof w);
    w.snap = out;
    out->time_ns = cp_realtime_ns();
    cp_mutex_lock(&snap_lock);
    if (what & CP_SNAP_STACKS) {
        /* unwind tables of every module, compiled once */
        cp_modules_refresh(true);
        w.stack_buf = malloc(CP_SNAP_STACK_BYTES + 16);
        if (!w.stack_buf) {
            r = -ENOMEM;
            goto out;
        }
    }
    r = list_threads(what, &w);
    if (r < 0)
        goto out;
    for (int i = 0; i < out->n; i++) {
        struct cp_snap_thread *t = &out->threads[i];
        char buf[1024];
        if (cp_snap_read_task(t->tid, "stat", buf, sizeof buf) < 0 ||
            parse_stat(buf, &t->state, &t->cpu) < 0)
            t->state = 0; /* exited */
    }
    if (what & CP_SNAP_STACKS)
        take_stacks(&w);
    compact(out);
    stats.snapshots++;
out:
    out->took_ns = cp_now_ns() - t0;
    cp_mutex_unlock(&snap_lock);
    free(w.regions.r);
    free(w.stack_buf);
    if (r < 0)
        cp_snapshot_free(out);
    return r;
}

void cp_snapshot_free(struct cp_snapshot *s)
{
    free(s->threads);
    free(s->pc_store);
    free(s->create_store);
    memset(s, 0, sizeof *s);
}

int cp_snapshot_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        if (tid > 0 && !cp_reg_is_internal(tid))
            n++;
    }
    closedir(d);
    return n;
}

void cp_snapshot_stats(struct cp_snap_stats *out)
{
    cp_mutex_lock(&snap_lock);
    *out = stats;
    cp_mutex_unlock(&snap_lock);
}

void cp_snapshot_atfork_child(void)
{
    pthread_mutex_init(&snap_lock, NULL);
}
