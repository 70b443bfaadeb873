/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_topo.c - `cprof topo` on fixture sysfs trees of machines this VM
 * is not (tests/data/topo/, made by gen.py): a 2-socket Xeon with SMT
 * siblings N and N+32, a Ryzen with adjacent siblings, a no-SMT VM, a
 * laptop with SMT switched off, a tree without caches and a corrupt one.
 * Asserts on the parsed structure and on the advice text; then checks
 * that CPUID, on the live machine, agrees with the kernel's sysfs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "topo.h"

static char root_buf[4096];

static const char *fixture(const char *name)
{
    const char *src = getenv("CPROF_SRC");
    if (src && *src)
        snprintf(root_buf, sizeof root_buf, "%s/tests/data/topo/%s", src, name);
    else /* ctest runs us in tests/unit */
        snprintf(root_buf, sizeof root_buf, "../data/topo/%s", name);
    return root_buf;
}

/* The text a print function writes, malloc'd. */
struct capture {
    char *buf;
    size_t len;
    FILE *f;
};

static FILE *cap_open(struct capture *c)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    return c->f;
}

static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

static char *advice_text(const struct cp_topo *t,
                         const struct cp_topo_advice *a)
{
    struct capture c;
    cp_topo_print_advice(cap_open(&c), t, a, NULL);
    return cap_close(&c);
}

static char *report_text(const struct cp_topo *t,
                         const struct cp_topo_advice *a, int json)
{
    struct capture c;
    if (json)
        cp_topo_print_json(cap_open(&c), t, a);
    else
        cp_topo_print(cap_open(&c), t, a);
    return cap_close(&c);
}

/* The cpulist of the core CPU `cpu` runs on. */
static void core_list(const struct cp_topo *t, int cpu, char *buf, size_t len)
{
    for (int i = 0; i < t->ncpu; i++)
        if (t->cpus[i].id == cpu) {
            cp_topo_cpulist_format(t->cores[t->cpus[i].core].cpus, t->words,
                                   buf, len);
            return;
        }
    fail_msg("cpu %d not found", cpu);
}

/* The cache of `cpu` at level+type, or NULL. */
static const struct cp_topo_cache *cache_of(const struct cp_topo *t, int cpu,
                                            int level, const char *type)
{
    for (int i = 0; i < t->ncpu; i++) {
        if (t->cpus[i].id != cpu)
            continue;
        for (int k = 0; k < t->cpus[i].ncache; k++) {
            const struct cp_topo_cache *c = &t->caches[t->cpus[i].cache[k]];
            if (c->level == level && !strcmp(c->type, type))
                return c;
        }
    }
    return NULL;
}

static void assert_cache(const struct cp_topo *t, int cpu, int level,
                         const char *type, uint64_t size, const char *cpus)
{
    char buf[256];
    const struct cp_topo_cache *c = cache_of(t, cpu, level, type);
    assert_non_null(c);
    assert_int_equal(c->size, size);
    cp_topo_cpulist_format(c->cpus, t->words, buf, sizeof buf);
    assert_string_equal(buf, cpus);
}

static void test_cpulist(void **state)
{
    uint64_t set[2];
    char buf[64];
    assert_int_equal(cp_topo_cpulist_parse("0-3,8,10-11\n", set, 2), 0);
    assert_int_equal(cp_topo_cpulist_count(set, 2), 7);
    assert_int_equal(cp_topo_cpulist_format(set, 2, buf, sizeof buf), 11);
    assert_string_equal(buf, "0-3,8,10,11");
    assert_int_equal(cp_topo_cpulist_parse("127", set, 2), 0);
    assert_int_equal(set[1], 1ull << 63);
    assert_int_equal(cp_topo_cpulist_parse("", set, 2), 0);
    assert_int_equal(cp_topo_cpulist_count(set, 2), 0);
    assert_int_equal(cp_topo_cpulist_parse("128", set, 2), -ERANGE);
    assert_int_equal(cp_topo_cpulist_parse("5-2", set, 2), -EINVAL);
    assert_int_equal(cp_topo_cpulist_parse("1,,2", set, 2), -EINVAL);
    assert_int_equal(cp_topo_cpulist_parse("1-", set, 2), -EINVAL);
    assert_int_equal(cp_topo_cpulist_parse("0-3 x", set, 2), -EINVAL);
    assert_int_equal(cp_topo_cpulist_parse("99999999999", set, 2), -ERANGE);
    /* A short buffer still reports the length needed, and stays a string. */
    assert_int_equal(cp_topo_cpulist_parse("0,2,4,6", set, 2), 0);
    assert_int_equal(cp_topo_cpulist_format(set, 2, buf, 4), 7);
    assert_true(strlen(buf) < 4);
}

static void test_xeon(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    char buf[256];
    assert_int_equal(cp_topo_load(fixture("xeon-2s16c"), &t), 0);
    assert_int_equal(t.ncpu, 64);
    assert_int_equal(t.ncore, 32);
    assert_int_equal(t.nsocket, 2);
    assert_int_equal(t.threads_per_core, 2);
    assert_int_equal(t.topo_source, CP_TOPO_SRC_SYSFS);
    assert_int_equal(t.cache_source, CP_TOPO_SRC_SYSFS);
    /* Siblings are N and N+32, found without core_cpus_list. */
    core_list(&t, 1, buf, sizeof buf);
    assert_string_equal(buf, "1,33");
    core_list(&t, 48, buf, sizeof buf);
    assert_string_equal(buf, "16,48");
    /* core_id has gaps and repeats across sockets: not the core key. */
    assert_int_equal(t.cpus[5].core_id, 8);
    assert_int_equal(t.cpus[16].core_id, 0);
    assert_int_not_equal(t.cpus[16].core, t.cpus[0].core);
    assert_int_equal(t.cpus[33].socket, 0);
    assert_int_equal(t.cpus[49].socket, 1);
    assert_cache(&t, 1, 1, "Data", 32768, "1,33");
    assert_cache(&t, 33, 2, "Unified", 1 << 20, "1,33");
    assert_cache(&t, 0, 3, "Unified", 22528 * 1024ull, "0-15,32-47");
    assert_cache(&t, 63, 3, "Unified", 22528 * 1024ull, "16-31,48-63");
    assert_int_equal(t.ncache, 3 * 32 + 2);

    assert_int_equal(cp_topo_advise(&t, &a), 0);
    assert_string_equal(a.one_cpu, "1");
    assert_string_equal(a.two_cores, "1,2");
    assert_string_equal(a.smt_pair, "1,33");
    assert_string_equal(a.all_cores, "0-31");
    assert_int_equal(a.nall_cores, 32);
    assert_string_equal(a.socket0_cores, "0-15");
    assert_int_equal(a.nsocket0_cores, 16);
    assert_string_equal(a.all_cpus, "0-63");
    char *txt = advice_text(&t, &a);
    assert_non_null(
        strstr(txt, "taskset -c 1 ./hash_bench -n 100000000 -r 100000 -t 1\n"));
    assert_non_null(strstr(txt, "2 threads on the 2 SMT siblings of one "
                                "core"));
    assert_non_null(strstr(
        txt, "taskset -c 1,33 ./hash_bench -n 100000000 -r 100000 -t 2\n"));
    assert_non_null(strstr(
        txt, "taskset -c 1,2 ./hash_bench -n 100000000 -r 100000 -t 2\n"));
    assert_non_null(strstr(txt, "32 threads on 32 distinct physical cores"));
    assert_non_null(strstr(txt, "taskset -c 0-31 ./hash_bench -n 100000000 "
                                "-r 100000 -t 32\n"));
    assert_non_null(strstr(txt, "taskset -c 0-15 ./hash_bench -n 100000000 "
                                "-r 100000 -t 16\n"));
    assert_null(strstr(txt, "no SMT"));
    free(txt);
    txt = report_text(&t, &a, 0);
    assert_non_null(strstr(txt, "64 logical CPUs on 32 physical cores in 2 "
                                "sockets, 2 threads per core (SMT)"));
    assert_non_null(strstr(txt, "L3   22 MiB    x2, one per socket: #0 = "
                                "CPUs 0-15,32-47 (32); #1 = CPUs "
                                "16-31,48-63 (32)"));
    assert_non_null(strstr(txt, "L2   1 MiB     x32, one per core (shared "
                                "by its SMT siblings)"));
    free(txt);
    txt = report_text(&t, &a, 1);
    assert_non_null(strstr(txt, "\"smt_pair\": {\"cpus\": \"1,33\", "
                                "\"threads\": 2}"));
    assert_non_null(strstr(txt, "\"physical_cores\": 32,"));
    free(txt);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

static void test_ryzen(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    char buf[256];
    assert_int_equal(cp_topo_load(fixture("ryzen-8c16t"), &t), 0);
    assert_int_equal(t.ncpu, 16);
    assert_int_equal(t.ncore, 8);
    assert_int_equal(t.nsocket, 1);
    assert_int_equal(t.threads_per_core, 2);
    core_list(&t, 0, buf, sizeof buf);
    assert_string_equal(buf, "0,1");
    core_list(&t, 15, buf, sizeof buf);
    assert_string_equal(buf, "14,15");
    assert_cache(&t, 3, 1, "Instruction", 65536, "2,3");
    assert_cache(&t, 3, 3, "Unified", 8u << 20, "0-7");
    assert_cache(&t, 8, 3, "Unified", 8u << 20, "8-15");
    assert_int_equal(cache_of(&t, 8, 3, "Unified")->instance, 1);

    assert_int_equal(cp_topo_advise(&t, &a), 0);
    assert_string_equal(a.one_cpu, "2");
    assert_string_equal(a.two_cores, "2,4");
    assert_string_equal(a.smt_pair, "2,3");
    assert_string_equal(a.all_cores, "0,2,4,6,8,10,12,14");
    assert_int_equal(a.nall_cores, 8);
    assert_null(a.socket0_cores);
    assert_string_equal(a.all_cpus, "0-15");
    char *txt = advice_text(&t, &a);
    assert_non_null(strstr(
        txt, "taskset -c 2,3 ./hash_bench -n 100000000 -r 100000 -t 2\n"));
    assert_non_null(strstr(txt, "taskset -c 0,2,4,6,8,10,12,14 ./hash_bench "
                                "-n 100000000 -r 100000 -t 8\n"));
    assert_non_null(strstr(txt, "taskset -c 0-15 ./hash_bench -n 100000000 "
                                "-r 100000 -t 16\n"));
    free(txt);
    txt = report_text(&t, &a, 0);
    assert_non_null(strstr(txt, "L3   8 MiB     x2: #0 = CPUs 0-7 (8); #1 = "
                                "CPUs 8-15 (8)"));
    free(txt);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

static void test_vm(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    assert_int_equal(cp_topo_load(fixture("vm-2cpu"), &t), 0);
    assert_int_equal(t.ncpu, 2);
    assert_int_equal(t.ncore, 2);
    assert_int_equal(t.threads_per_core, 1);
    assert_cache(&t, 1, 2, "Unified", 512 * 1024, "1");
    assert_cache(&t, 1, 3, "Unified", 32u << 20, "0,1");
    assert_int_equal(cp_topo_advise(&t, &a), 0);
    assert_string_equal(a.one_cpu, "1");
    assert_string_equal(a.two_cores, "0,1");
    assert_null(a.smt_pair);
    char *txt = advice_text(&t, &a);
    assert_non_null(strstr(txt, "This machine has no SMT: one thread per "
                                "core"));
    assert_non_null(strstr(
        txt, "taskset -c 0,1 ./hash_bench -n 100000000 -r 100000 -t 2\n"));
    assert_null(strstr(txt, "SMT siblings of one core"));
    free(txt);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

static void test_smt_off(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    assert_int_equal(cp_topo_load(fixture("smt-off"), &t), 0);
    assert_int_equal(t.ncpu, 4);
    assert_int_equal(cp_topo_cpulist_count(t.possible, t.words), 8);
    assert_int_equal(t.ncore, 4);
    assert_int_equal(t.threads_per_core, 1);
    assert_int_equal(cp_topo_advise(&t, &a), 0);
    assert_null(a.smt_pair);
    assert_string_equal(a.all_cores, "0-3");
    char *txt = report_text(&t, &a, 0);
    assert_non_null(strstr(txt, "online CPUs 0-3 of possible 0-7"));
    assert_non_null(strstr(txt, "L3   8 MiB     x1, shared by all 4 CPUs"));
    free(txt);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

/* A -root tree without caches says so and never asks this machine's CPU. */
static void test_nocache(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    assert_int_equal(cp_topo_load(fixture("vm-nocache"), &t), 0);
    assert_int_equal(t.cache_source, CP_TOPO_SRC_NONE);
    assert_int_equal(t.ncache, 0);
    assert_int_equal(cp_topo_advise(&t, &a), 0);
    char *txt = report_text(&t, &a, 0);
    assert_non_null(strstr(txt, "Caches: not in sysfs"));
    free(txt);
    assert_int_equal(cp_topo_cpuid_caches(&t), -EINVAL);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

static void test_corrupt(void **state)
{
    struct cp_topo t;
    struct cp_topo_advice a;
    assert_int_equal(cp_topo_load(fixture("corrupt"), &t), 0);
    assert_int_equal(t.ncpu, 4);
    /* Every CPU belongs to exactly one core. */
    int seen = 0;
    for (int i = 0; i < t.ncore; i++)
        seen += t.cores[i].nthreads;
    assert_int_equal(seen, 4);
    assert_int_equal(t.cpus[0].socket, -1);
    assert_int_equal(t.cpus[1].core_id, -1);
    assert_int_equal(cp_topo_advise(&t, &a), 0);
    char *txt = report_text(&t, &a, 0);
    free(report_text(&t, &a, 1));
    assert_non_null(strstr(txt, "4 logical CPUs"));
    free(txt);
    cp_topo_advice_free(&a);
    cp_topo_free(&t);
}

static void test_missing(void **state)
{
    struct cp_topo t;
    assert_int_equal(cp_topo_load("/nonexistent/cprof-topo", &t), -ENOENT);
    assert_non_null(strstr(t.err, "/nonexistent/cprof-topo"));
    cp_topo_free(&t);
    /* A directory without CPUs. */
    assert_int_equal(cp_topo_load(fixture(""), &t), -ENOENT);
    assert_non_null(strstr(t.err, "no CPUs found"));
    cp_topo_free(&t);
}

/* The command: flags, exit codes, the env variable. */
static int run_topo(const char *out_path, const char *a1, const char *a2)
{
    char *argv[4] = {"topo", (char *)a1, (char *)a2, NULL};
    int argc = 1 + (a1 != NULL) + (a2 != NULL);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(out_path, "w");
    assert_non_null(f);
    dup2(fileno(f), 1);
    int rc = cp_cmd_topo(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_command(void **state)
{
    char out[] = "/tmp/cprof-topo-test-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    char flag[4200];
    snprintf(flag, sizeof flag, "-root=%s", fixture("xeon-2s16c"));
    assert_int_equal(run_topo(out, flag, NULL), 0);
    char *txt = slurp(out);
    assert_non_null(strstr(txt, "taskset -c 1,33 ./hash_bench"));
    free(txt);
    assert_int_equal(run_topo(out, "-root", fixture("ryzen-8c16t")), 0);
    txt = slurp(out);
    assert_non_null(strstr(txt, "taskset -c 2,3 ./hash_bench"));
    free(txt);
    setenv("CPROF_SYSFS_ROOT", fixture("vm-2cpu"), 1);
    assert_int_equal(run_topo(out, "-json", NULL), 0);
    txt = slurp(out);
    assert_non_null(strstr(txt, "\"smt_pair\": null"));
    assert_non_null(strstr(txt, "\"logical_cpus\": 2,"));
    free(txt);
    unsetenv("CPROF_SYSFS_ROOT");
    assert_int_equal(run_topo(out, "-nosuchflag", NULL), 2);
    assert_int_equal(run_topo(out, "stray", NULL), 2);
    assert_int_equal(run_topo(out, "-json=maybe", NULL), 2);
    assert_int_equal(run_topo(out, "-root", NULL), 2);
    assert_int_equal(run_topo(out, "-root=/nonexistent/cprof-topo", NULL), 1);
    unlink(out);
}

/* The running machine: sysfs and, on x86, CPUID must agree on sizes and
 * on which CPUs share each cache (the kernel computes sysfs from CPUID). */
static void test_live(void **state)
{
    struct cp_topo t, c;
    assert_int_equal(cp_topo_load(NULL, &t), 0);
    assert_true(t.ncpu >= 1);
    assert_true(t.ncore >= 1 && t.ncore <= t.ncpu);
    if (t.cache_source != CP_TOPO_SRC_SYSFS) {
        cp_topo_free(&t);
        skip();
    }
    assert_int_equal(cp_topo_load(NULL, &c), 0);
    int rc = cp_topo_cpuid_caches(&c);
    if (rc == -ENOTSUP || rc == -EPERM || rc == -EAGAIN) {
        /* not x86, no cache leaf, or a cpuset keeps us off some CPU */
        cp_topo_free(&c);
        cp_topo_free(&t);
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(c.cache_source, CP_TOPO_SRC_CPUID);
    for (int i = 0; i < t.ncpu; i++) {
        const struct cp_topo_cpu *cpu = &t.cpus[i];
        for (int k = 0; k < cpu->ncache; k++) {
            const struct cp_topo_cache *s = &t.caches[cpu->cache[k]];
            const struct cp_topo_cache *x =
                cache_of(&c, cpu->id, s->level, s->type);
            char a[256], b[256];
            assert_non_null(x);
            assert_int_equal(x->size, s->size);
            cp_topo_cpulist_format(s->cpus, t.words, a, sizeof a);
            cp_topo_cpulist_format(x->cpus, c.words, b, sizeof b);
            assert_string_equal(a, b);
        }
    }
    cp_topo_free(&c);
    cp_topo_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpulist), cmocka_unit_test(test_xeon),
        cmocka_unit_test(test_ryzen),   cmocka_unit_test(test_vm),
        cmocka_unit_test(test_smt_off), cmocka_unit_test(test_nocache),
        cmocka_unit_test(test_corrupt), cmocka_unit_test(test_missing),
        cmocka_unit_test(test_command), cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
