/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread_reg.c - thread registry and the pthread_create /
 * pthread_setname_np interposers (thread_reg.h).
 *
 * A thread created through pthread_create runs cprof's trampoline first,
 * which registers it (stack bounds, name, creator's stack for the
 * threadcreate profile) and arms its sampling timer when a CPU profile is
 * running; a pthread key destructor unregisters it at exit, whether it
 * returns or calls pthread_exit. Threads cprof did not create (the main
 * thread, threads started before the library loaded) register themselves
 * on their first cprof call, or are adopted from /proc/self/task as
 * "external" when a profile starts.
 */
#include "thread_reg.h"

#include <dirent.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cp_lock.h"
#include "sigsafe.h"
#include "unwinder.h"

CP_TLS struct cp_tls cp_tls;

pthread_mutex_t cp_reg_lock = PTHREAD_MUTEX_INITIALIZER;
struct cp_thread *cp_reg_head; /* guarded by cp_reg_lock */
void (*cp_reg_on_register)(struct cp_thread *t);
void (*cp_reg_on_unregister)(struct cp_thread *t);
/* guarded by cp_reg_lock */
static void (*more_on_register[CP_REG_MAX_HOOKS])(struct cp_thread *t);
static void (*more_on_unregister[CP_REG_MAX_HOOKS])(struct cp_thread *t);
static int n_more_hooks;

int cp_reg_add_hooks(void (*on_register)(struct cp_thread *t),
                     void (*on_unregister)(struct cp_thread *t))
{
    int r = -ENOSPC;
    cp_mutex_lock(&cp_reg_lock);
    if (n_more_hooks < CP_REG_MAX_HOOKS) {
        more_on_register[n_more_hooks] = on_register;
        more_on_unregister[n_more_hooks] = on_unregister;
        n_more_hooks++;
        r = 0;
    }
    cp_mutex_unlock(&cp_reg_lock);
    return r;
}

static pthread_key_t reg_key;
static _Atomic int reg_ready;

/* Names of threads that exited, so short-lived threads keep theirs in
 * profiles written later. guarded by cp_reg_lock */
#define EXITED_NAMES 4096
static struct {
    int tid;
    char name[CP_THREAD_NAME_LEN];
} exited[EXITED_NAMES];
static unsigned exited_next;

typedef int cp_pthread_create_fn(pthread_t *, const pthread_attr_t *,
                                 void *(*)(void *), void *);
typedef int cp_setname_fn(pthread_t, const char *);
static cp_pthread_create_fn *real_pthread_create;
static int internal_create(pthread_t *t, const pthread_attr_t *attr,
                           void *(*fn)(void *), void *arg);
static void internal_forget(int tid);
static cp_setname_fn *real_setname;

static cp_pthread_create_fn *get_real_create(void)
{
    if (!real_pthread_create)
        real_pthread_create =
            (cp_pthread_create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    return real_pthread_create;
}

static void read_comm(int tid, char *name)
{
    char path[64];
    int fd;
    ssize_t n;

    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    name[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, name, CP_THREAD_NAME_LEN - 1);
    close(fd);
    if (n <= 0) {
        name[0] = '\0';
        return;
    }
    name[n] = '\0';
    if (n > 0 && name[n - 1] == '\n')
        name[n - 1] = '\0';
}

static void link_locked(struct cp_thread *t)
{
    t->prev = NULL;
    t->next = cp_reg_head;
    if (cp_reg_head)
        cp_reg_head->prev = t;
    cp_reg_head = t;
    if (cp_reg_on_register)
        cp_reg_on_register(t);
    for (int i = 0; i < n_more_hooks; i++) {
        if (more_on_register[i])
            more_on_register[i](t);
    }
}

static void unlink_locked(struct cp_thread *t)
{
    if (cp_reg_on_unregister)
        cp_reg_on_unregister(t);
    for (int i = 0; i < n_more_hooks; i++) {
        if (more_on_unregister[i])
            more_on_unregister[i](t);
    }
    if (t->prev)
        t->prev->next = t->next;
    else
        cp_reg_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    exited[exited_next % EXITED_NAMES].tid = t->tid;
    memcpy(exited[exited_next % EXITED_NAMES].name, t->name,
           CP_THREAD_NAME_LEN);
    exited_next++;
}

static void thread_exit_hook(void *p)
{
    struct cp_thread *t = p;

    /* From here on the handler must not use t: it reads cp_tls.self. */
    cp_tls.self = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    cp_mutex_lock(&cp_reg_lock);
    unlink_locked(t);
    cp_mutex_unlock(&cp_reg_lock);
    free(t);
}

static void stack_bounds(struct cp_thread *t)
{
    pthread_attr_t a;
    void *addr;
    size_t size;

    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    if (pthread_attr_getstack(&a, &addr, &size) == 0) {
        t->stack_lo = (uintptr_t)addr;
        t->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&a);
}

static struct cp_thread *register_self(struct cp_thread *t)
{
    t->tid = cp_gettid();
    t->pthread = pthread_self();
    t->has_pthread = true;
    t->perf_fd = -1;
    t->start_ns = cp_now_ns();
    stack_bounds(t);
    cp_tls.stack_lo = t->stack_lo;
    cp_tls.stack_hi = t->stack_hi;
    cp_tls.tid = t->tid;
    internal_forget(t->tid);
    if (atomic_load(&reg_ready))
        pthread_setspecific(reg_key, t);
    cp_mutex_lock(&cp_reg_lock);
    /* The name, read under the lock: a pthread_setname_np by the creator
     * either came before (the kernel has it) or updates the record after
     * it is linked; read before, a rename in between was lost for good. */
    if (prctl(PR_GET_NAME, t->name) != 0)
        read_comm(t->tid, t->name);
    t->name[CP_THREAD_NAME_LEN - 1] = '\0';
    /* Adopted from /proc/self/task between its clone and here (a thread
     * dump, the wall-clock sampler): that record goes, or the thread
     * would be listed twice, the copy with its name of before. */
    for (struct cp_thread *e = cp_reg_head; e; e = e->next) {
        if (e->tid == t->tid && e->external) {
            unlink_locked(e);
            free(e);
            break;
        }
    }
    link_locked(t);
    cp_mutex_unlock(&cp_reg_lock);
    atomic_signal_fence(memory_order_seq_cst);
    cp_tls.self = t;
    return t;
}

struct cp_thread *cp_thread_self(void)
{
    struct cp_thread *t = cp_tls.self;

    if (t)
        return t;
    if (cp_tls.internal)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    /* Perhaps adopted as external earlier: replace that record. */
    int tid = cp_gettid();
    cp_mutex_lock(&cp_reg_lock);
    for (struct cp_thread *e = cp_reg_head; e; e = e->next) {
        if (e->tid == tid && e->external) {
            unlink_locked(e);
            free(e);
            break;
        }
    }
    cp_mutex_unlock(&cp_reg_lock);
    return register_self(t);
}

struct start_arg {
    void *(*fn)(void *);
    void *arg;
    int creator_tid;
    int n;
    uintptr_t pcs[CP_CREATE_DEPTH];
};

static void *trampoline(void *p)
{
    struct start_arg *sa = p;
    void *(*fn)(void *) = sa->fn;
    void *arg = sa->arg;
    struct cp_thread *t = calloc(1, sizeof *t);

    if (t) {
        t->creator_tid = sa->creator_tid;
        t->start_routine = (void *)fn;
        t->n_create_pcs = sa->n;
        memcpy(t->create_pcs, sa->pcs, sizeof sa->pcs);
        register_self(t);
    }
    free(sa);
    return fn(arg);
}

__attribute__((visibility("default"))) int
pthread_create(pthread_t *thread, const pthread_attr_t *attr,
               void *(*fn)(void *), void *arg)
{
    cp_pthread_create_fn *real = get_real_create();
    struct start_arg *sa;
    int rc;

    if (!real)
        return EAGAIN;
    if (cp_tls.internal) /* a library cprof runs (libmicrohttpd) */
        return internal_create(thread, attr, fn, arg);
    if (!atomic_load(&reg_ready))
        return real(thread, attr, fn, arg);
    sa = malloc(sizeof *sa);
    if (!sa)
        return real(thread, attr, fn, arg);
    sa->fn = fn;
    sa->arg = arg;
    sa->creator_tid = cp_gettid();
    sa->n = cp_unwind_here(sa->pcs, CP_CREATE_DEPTH, 0);
    rc = real(thread, attr, trampoline, sa);
    if (rc != 0)
        free(sa);
    return rc;
}

__attribute__((visibility("default"))) int
pthread_setname_np(pthread_t thread, const char *name)
{
    int rc;

    if (!real_setname)
        real_setname = (cp_setname_fn *)dlsym(RTLD_NEXT, "pthread_setname_np");
    if (!real_setname)
        return ENOSYS;
    rc = real_setname(thread, name);
    if (rc == 0 && atomic_load(&reg_ready)) {
        cp_mutex_lock(&cp_reg_lock);
        for (struct cp_thread *t = cp_reg_head; t; t = t->next) {
            if (t->has_pthread && pthread_equal(t->pthread, thread)) {
                strncpy(t->name, name, CP_THREAD_NAME_LEN - 1);
                t->name[CP_THREAD_NAME_LEN - 1] = '\0';
                break;
            }
        }
        cp_mutex_unlock(&cp_reg_lock);
    }
    return rc;
}

/* tids of cprof's own threads: tid while it runs, -tid once it has
 * returned (it may linger in /proc/self/task a moment longer, and must not
 * be adopted as a user thread then), 0 = never used. Exited entries are
 * reused only when no slot is free, or dropped when a user thread
 * registers with that tid. */
static _Atomic int internal_tids[CP_MAX_INTERNAL_THREADS];

bool cp_reg_is_internal(int tid)
{
    for (int i = 0; i < CP_MAX_INTERNAL_THREADS; i++) {
        int v = atomic_load_explicit(&internal_tids[i], memory_order_relaxed);
        if (v == tid || v == -tid)
            return true;
    }
    return false;
}

/* A user thread now has tid: forget an exited internal thread's. */
static void internal_forget(int tid)
{
    for (int i = 0; i < CP_MAX_INTERNAL_THREADS; i++) {
        int v = -tid;
        /* plain loads first: a locked cmpxchg on every slot would cost
         * microseconds per pthread_create */
        if (atomic_load_explicit(&internal_tids[i], memory_order_relaxed) ==
            v)
            atomic_compare_exchange_strong(&internal_tids[i], &v, 0);
    }
}

/* On the creator's stack: the creator waits until the new thread has
 * listed itself (ready), so once cp_internal_thread_create returns no
 * adoption can take it for a user thread. */
struct internal_arg {
    void *(*fn)(void *);
    void *arg;
    _Atomic uint32_t ready;
};

static void internal_exit(void *slot)
{
    if (slot)
        atomic_store((_Atomic int *)slot, -cp_tls.tid);
}

/* noinline: keeps its atomics out of the cleanup_push frame (setjmp) */
static __attribute__((noinline)) _Atomic int *
internal_slot_take(int tid)
{
    for (int i = 0; i < CP_MAX_INTERNAL_THREADS; i++) {
        int zero = 0;
        if (atomic_compare_exchange_strong(&internal_tids[i], &zero, tid))
            return &internal_tids[i];
    }
    for (int i = 0; i < CP_MAX_INTERNAL_THREADS; i++) {
        int v = atomic_load(&internal_tids[i]);
        if (v < 0 &&
            atomic_compare_exchange_strong(&internal_tids[i], &v, tid))
            return &internal_tids[i];
    }
    return NULL;
}

static void *internal_trampoline(void *p)
{
    struct internal_arg *pa = p;
    struct internal_arg ia = {pa->fn, pa->arg, 0};
    _Atomic int *slot;
    void *ret;

    cp_tls.internal = 1;
    cp_tls.tid = cp_gettid();
    slot = internal_slot_take(cp_tls.tid);
    /* after this store the creator's frame (*pa) may be gone */
    atomic_store(&pa->ready, 1);
    syscall(SYS_futex, &pa->ready, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    /* pthread_exit runs cleanup handlers too */
    pthread_cleanup_push(internal_exit, (void *)slot);
    ret = ia.fn(ia.arg);
    pthread_cleanup_pop(1);
    return ret;
}

static int internal_create(pthread_t *t, const pthread_attr_t *attr,
                           void *(*fn)(void *), void *arg)
{
    cp_pthread_create_fn *real = get_real_create();
    struct internal_arg ia = {fn, arg, 0};
    sigset_t all, old;
    int rc;

    if (!real)
        return EAGAIN;
    /* The new thread inherits this mask: it never runs the host's signal
     * handlers nor cprof's own. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = real(t, attr, internal_trampoline, &ia);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return rc;
    while (!atomic_load(&ia.ready))
        syscall(SYS_futex, &ia.ready, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return 0;
}

void cp_join_internal(pthread_t t)
{
    cp_tls.in_cprof++;
    pthread_join(t, NULL);
    cp_tls.in_cprof--;
}

int cp_internal_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return internal_create(t, NULL, fn, arg);
}

void cp_reg_adopt_all_locked(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    struct cp_thread *t, *next;

    if (!d)
        return;
    /* Drop external records of threads that are gone. */
    for (t = cp_reg_head; t; t = next) {
        char path[64];
        next = t->next;
        if (!t->external)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%d", t->tid);
        if (access(path, F_OK) != 0) {
            unlink_locked(t);
            free(t);
        }
    }
    while ((e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        bool known = false;
        if (tid <= 0 || cp_reg_is_internal(tid))
            continue;
        for (t = cp_reg_head; t; t = t->next) {
            if (t->tid == tid) {
                known = true;
                break;
            }
        }
        if (known)
            continue;
        t = calloc(1, sizeof *t);
        if (!t)
            break;
        t->tid = tid;
        t->external = true;
        t->perf_fd = -1;
        read_comm(tid, t->name);
        link_locked(t);
    }
    closedir(d);
}

int cp_reg_thread_name_locked(int tid, char *name)
{
    for (struct cp_thread *t = cp_reg_head; t; t = t->next) {
        if (t->tid == tid) {
            memcpy(name, t->name, CP_THREAD_NAME_LEN);
            return 0;
        }
    }
    for (unsigned i = 0; i < EXITED_NAMES; i++) {
        unsigned k = (exited_next - 1 - i) % EXITED_NAMES;
        if (exited[k].tid == tid) {
            memcpy(name, exited[k].name, CP_THREAD_NAME_LEN);
            return 0;
        }
    }
    read_comm(tid, name);
    return name[0] ? 0 : -ENOENT;
}

int cp_reg_thread_name(int tid, char *name)
{
    int r;
    cp_mutex_lock(&cp_reg_lock);
    r = cp_reg_thread_name_locked(tid, name);
    cp_mutex_unlock(&cp_reg_lock);
    return r;
}

void cp_reg_atfork_prepare(void)
{
    cp_mutex_lock(&cp_reg_lock);
}

void cp_reg_atfork_parent(void)
{
    cp_mutex_unlock(&cp_reg_lock);
}

void cp_reg_atfork_child(void)
{
    struct cp_thread *t, *next, *self = cp_tls.self;

    pthread_mutex_init(&cp_reg_lock, NULL);
    /* cprof's own threads did not survive the fork */
    for (int i = 0; i < CP_MAX_INTERNAL_THREADS; i++)
        atomic_store(&internal_tids[i], 0);
    /* Only the forking thread exists in the child. Timers were not
     * inherited; the perf fds were, and still count the parent's threads:
     * the sampler closes them (cp_sampler_atfork_child) before this runs. */
    for (t = cp_reg_head; t; t = next) {
        next = t->next;
        if (t != self)
            free(t);
    }
    cp_reg_head = NULL;
    cp_tls.tid = cp_gettid();
    if (self) {
        self->tid = cp_tls.tid;
        self->pthread = pthread_self();
        self->armed = false;
        self->has_timer = false;
        self->perf_fd = -1;
        self->next = self->prev = NULL;
        cp_reg_head = self;
    }
}

void cp_reg_init(void)
{
    if (pthread_key_create(&reg_key, thread_exit_hook) == 0)
        atomic_store(&reg_ready, 1);
    cp_thread_self(); /* the thread loading us, normally main */
}
