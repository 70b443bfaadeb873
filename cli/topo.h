/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topo.h - the CPU topology behind `cprof topo`: logical CPUs, physical
 * cores, sockets, SMT siblings and shared caches, and the pinning advice
 * the hash_bench study needs (which CPUs to give `taskset -c`).
 *
 * The loader reads Linux sysfs under a settable root, so tests point it at
 * fixture trees of machines we do not have (tests/data/topo/). Only for the
 * live machine (root NULL) does it fill gaps from CPUID and sysconf: a
 * fixture tree must never be mixed with the CPU running the test.
 *
 * Nothing here runs in signal context. Thread-safe: yes, on distinct
 * structs; the live CPUID fallback briefly changes the calling thread's
 * CPU affinity (and restores it), so call it from the command's own thread.
 */
#ifndef CP_TOPO_H
#define CP_TOPO_H

#include <stdint.h>
#include <stdio.h>

/* Highest CPU count accepted: Linux's largest NR_CPUS (x86 MAXSMP). A
 * sysfs tree claiming more is treated as corrupt. */
#define CP_TOPO_MAX_CPUS 8192
/* cache/indexN directories read per CPU; real machines have 4 or 5. */
#define CP_TOPO_MAX_CACHE_INDEX 16
/* Bytes read from one sysfs file; the longest, a cpulist, fits easily. */
#define CP_TOPO_MAX_FILE 65536

/* Where the cache table came from. */
enum cp_topo_source {
    CP_TOPO_SRC_NONE = 0, /* not known: "not in sysfs" */
    CP_TOPO_SRC_SYSFS,    /* sysfs, the kernel's own view */
    CP_TOPO_SRC_CPUID,    /* CPUID leaf 4 / 0x8000001D / 0xB / 0x1F */
    CP_TOPO_SRC_SYSCONF,  /* sizes only, sharing unknown */
};

/*
 * CPU sets are bitmaps of uint64_t words, owned by the struct cp_topo they
 * belong to; every set in one topo has topo->words words.
 */

/* One cache instance: the CPUs that share it. */
struct cp_topo_cache {
    int level;        /* 1, 2, 3... */
    char type[12];    /* "Data", "Instruction", "Unified" */
    uint64_t size;    /* bytes; 0 when not known */
    int shared_known; /* 0 when the sharing is not known (sysconf) */
    int instance;     /* dense number among caches of same level+type */
    uint64_t *cpus;   /* the CPUs sharing this instance */
};

/* One physical core: the logical CPUs (SMT siblings) running on it. */
struct cp_topo_core {
    int socket;    /* physical_package_id, -1 if not known */
    int die;       /* die_id, -1 if not known */
    int core_id;   /* core_id as the kernel numbers it (may have gaps) */
    int nthreads;  /* CPUs in `cpus` */
    int first_cpu; /* lowest CPU in `cpus` */
    uint64_t *cpus;
};

/* One online logical CPU. */
struct cp_topo_cpu {
    int id;                   /* the logical CPU number (cpuN) */
    int socket, die, core_id; /* as read; -1 when not known */
    int core;                 /* index into topo->cores */
    int ncache;
    int cache[CP_TOPO_MAX_CACHE_INDEX]; /* indexes into topo->caches */
};

struct cp_topo {
    int words;          /* 64-bit words per CPU set */
    int max_cpu;        /* highest CPU number seen anywhere */
    uint64_t *online;   /* CPUs described below */
    uint64_t *possible; /* from "possible"; = online if absent */
    int ncpu;
    struct cp_topo_cpu *cpus; /* online CPUs, ascending */
    int ncore;
    struct cp_topo_core *cores; /* ascending by first_cpu */
    int nsocket;                /* distinct sockets (1 when not known) */
    int threads_per_core;       /* most SMT siblings on one core */
    int ncache;
    struct cp_topo_cache *caches;     /* by level, type, first CPU */
    enum cp_topo_source topo_source;  /* sockets/cores/siblings */
    enum cp_topo_source cache_source; /* caches */
    int live;       /* 1: the running machine (root not given) */
    char dir[4096]; /* the cpu directory that was read */
    char err[512];  /* a sentence when cp_topo_load fails */
};

/*
 * Read the topology. `root` is a directory holding sys/devices/system/cpu
 * (a fixture tree, or "/"), or such a cpu directory itself; NULL means the
 * live machine, whose gaps are filled from CPUID (x86) and sysconf.
 * Returns 0, or a negative errno with a sentence in t->err (-ENOENT: no
 * CPUs there; -E2BIG: more than CP_TOPO_MAX_CPUS; -ENOMEM). Call
 * cp_topo_free() afterwards in both cases.
 * Thread-safe: see the file comment. Async-signal-safe: no.
 */
int cp_topo_load(const char *root, struct cp_topo *t);
void cp_topo_free(struct cp_topo *t);

/*
 * Replace t's caches with those CPUID describes, reading it on each online
 * CPU in turn (leaf 4 on Intel, 0x8000001D on AMD, APIC IDs from 0xB/0x1F
 * or leaf 1). Live machine only: t must have been loaded with root NULL.
 * Returns 0, -ENOTSUP off x86 or without those leaves, -EPERM when the
 * thread cannot be moved to some CPU.
 */
int cp_topo_cpuid_caches(struct cp_topo *t);

/* Pinning advice: CPU lists (cpulist syntax, malloc'd) for each experiment,
 * NULL when the machine cannot run it (no SMT, a single core...). */
struct cp_topo_advice {
    char *one_cpu;   /* 1 thread on one CPU, away from CPU 0 if possible */
    char *two_cores; /* 2 threads on 2 distinct physical cores */
    char *smt_pair;  /* 2 threads on the 2 SMT siblings of one core */
    char *all_cores; /* one CPU of every physical core */
    int nall_cores;
    char *socket0_cores; /* one CPU of every core of the first socket */
    int nsocket0_cores;  /* (only when there are several sockets) */
    char *all_cpus;      /* every online logical CPU */
    int nall_cpus;
};

/* Compute the advice. 0 or -ENOMEM; cp_topo_advice_free() in both cases. */
int cp_topo_advise(const struct cp_topo *t, struct cp_topo_advice *a);
void cp_topo_advice_free(struct cp_topo_advice *a);

/*
 * Print the advice as sentences with taskset commands running `cmd`
 * followed by " -t THREADS" (cmd NULL: the hash_bench story's
 * "./hash_bench -n 100000000 -r 100000").
 */
void cp_topo_print_advice(FILE *out, const struct cp_topo *t,
                          const struct cp_topo_advice *a, const char *cmd);
/* The whole human report: summary, per-CPU table, caches, advice. */
void cp_topo_print(FILE *out, const struct cp_topo *t,
                   const struct cp_topo_advice *a);
/* The same as one JSON object. */
void cp_topo_print_json(FILE *out, const struct cp_topo *t,
                        const struct cp_topo_advice *a);

/* CPU-list helpers ("0-3,8,10-11", the kernel's cpulist format). */
/* Parse into set (words words, cleared first). 0, or -EINVAL on syntax,
 * -ERANGE for a CPU >= words*64. Empty text gives an empty set. */
int cp_topo_cpulist_parse(const char *text, uint64_t *set, int words);
/* Format set into buf (runs of 3+ CPUs as ranges, pairs as "1,2": both
 * parse as cpulists); returns the length it needed (like snprintf), so a
 * short buffer can be detected. */
int cp_topo_cpulist_format(const uint64_t *set, int words, char *buf,
                           size_t len);
/* Count of CPUs in set. */
int cp_topo_cpulist_count(const uint64_t *set, int words);

#endif /* CP_TOPO_H */
