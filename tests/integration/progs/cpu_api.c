/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_api.c - the CPU profile's C API (SPEC §3), linked with -lcprof:
 *   api DIR        unwritable path fails at start (not at stop) with a
 *                  sentence; cprof_cpu_set_hz checks; start; a second start
 *                  is EBUSY with a sentence; set_hz while running is EBUSY;
 *                  a labelled thread (cprof_label_set) burns api_labelled
 *                  while main burns api_work; stop writes DIR/api.prof;
 *                  stop again is EINVAL; start/stop once more writes
 *                  DIR/api2.prof.
 *   envbusy PATH   run with CPROF_CPU set: cprof_cpu_start is EBUSY and
 *                  the sentence names CPROF_CPU.
 * Exits 1 with "FAIL: ..." on the first broken promise; facts for
 * check_cpu.py go to $CPT_OUT.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "cprof.h"
#include "cpu_common.h"

static uint64_t per_ms;

CPT_NOINLINE uint64_t api_work(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

CPT_NOINLINE uint64_t api_labelled(uint64_t iters, uint64_t x)
{
    CPT_SPIN(x, iters);
    return x;
}

static void burn(uint64_t (*fn)(uint64_t, uint64_t), int ms)
{
    uint64_t x = 1;
    int64_t t0 = cpt_thread_cpu_ns();
    while (cpt_thread_cpu_ns() - t0 < (int64_t)ms * 1000000)
        x = fn(per_ms / 4, x);
    __asm__ volatile("" ::"r"(x));
}

static void *labelled(void *arg)
{
    cprof_label_set("phase", "labelled");
    cpt_out("labelled_tid", "%d", cpt_gettid());
    burn(api_labelled, 300);
    return NULL;
}

static void expect_fail(int r, int err, const char *what, const char *must)
{
    const char *msg = cprof_strerror();
    if (r != -1)
        cpt_die("%s: returned %d, want -1", what, r);
    if (errno != err)
        cpt_die("%s: errno %d (%s), want %d (%s)", what, errno,
                strerror(errno), err, strerror(err));
    if (!msg || strlen(msg) < 10)
        cpt_die("%s: cprof_strerror() gives no sentence: \"%s\"", what,
                msg ? msg : "(null)");
    if (must && !strstr(msg, must))
        cpt_die("%s: cprof_strerror() \"%s\" does not mention \"%s\"", what,
                msg, must);
    printf("ok: %s: %s\n", what, msg);
}

static void expect_ok(int r, const char *what)
{
    if (r != 0)
        cpt_die("%s: returned %d: %s", what, r, cprof_strerror());
}

static int api(const char *dir)
{
    char bad[4096], good[4096], good2[4096], other[4096];
    struct stat st;
    pthread_t t;

    snprintf(bad, sizeof bad, "%s/no/such/dir/api.prof", dir);
    snprintf(good, sizeof good, "%s/api.prof", dir);
    snprintf(good2, sizeof good2, "%s/api2.prof", dir);
    snprintf(other, sizeof other, "%s/other.prof", dir);

    expect_fail(cprof_cpu_start(bad), ENOENT, "start with unwritable path",
                "no/such/dir");
    expect_fail(cprof_cpu_stop(), EINVAL, "stop without start", NULL);
    expect_fail(cprof_cpu_set_hz(0), EINVAL, "set_hz(0)", NULL);
    expect_fail(cprof_cpu_set_hz(100001), EINVAL, "set_hz(100001)", NULL);
    expect_ok(cprof_cpu_set_hz(500), "set_hz(500)");

    expect_ok(cprof_cpu_start(good), "start");
    expect_fail(cprof_cpu_start(other), EBUSY, "second start", "already");
    expect_fail(cprof_cpu_set_hz(100), EBUSY, "set_hz while running", NULL);
    if (pthread_create(&t, NULL, labelled, NULL))
        cpt_die("pthread_create");
    burn(api_work, 300);
    pthread_join(t, NULL);
    if (stat(good, &st) == 0)
        cpt_die("%s exists before cprof_cpu_stop", good);
    expect_ok(cprof_cpu_stop(), "stop");
    if (stat(good, &st) != 0 || st.st_size == 0)
        cpt_die("%s missing after cprof_cpu_stop", good);
    if (stat(other, &st) == 0)
        cpt_die("the refused second start wrote %s", other);
    expect_fail(cprof_cpu_stop(), EINVAL, "second stop", NULL);

    expect_ok(cprof_cpu_start(good2), "restart");
    burn(api_work, 100);
    expect_ok(cprof_cpu_stop(), "stop after restart");
    if (stat(good2, &st) != 0 || st.st_size == 0)
        cpt_die("%s missing", good2);
    cpt_out("main_tid", "%d", cpt_gettid());
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "api";
    per_ms = cpt_calibrate();
    if (!strcmp(mode, "api") && argc > 2)
        return api(argv[2]);
    if (!strcmp(mode, "envbusy") && argc > 2) {
        expect_fail(cprof_cpu_start(argv[2]), EBUSY,
                    "start while CPROF_CPU runs", "CPROF_CPU");
        burn(api_work, 100);
        return 0;
    }
    cpt_die("usage: cpu_api api DIR | envbusy PATH");
    return 2;
}
