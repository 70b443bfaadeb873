/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rt_sampbuf.c - the CPU sample ring (src/sampbuf.c): records come out
 * as they went in, in order; a full ring refuses and counts; records never
 * straddle the end (padding) whatever their sizes; and with several
 * producers, including signal handlers interrupting a producer in the
 * middle of its own push, plus a reader draining at the same time,
 * nothing is lost, duplicated or torn while there is room, and every
 * refusal is counted.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampbuf.h"

/* Fill a record whose every field derives from (producer, seq), so that
 * the reader can tell a torn or misplaced record. */
static void make_rec(struct cp_sample_rec *r, uintptr_t *pcs, int producer,
                     uint64_t seq, int n)
{
    r->tid = 1000 + producer;
    r->cpu = (int)(seq % 7) - 1; /* -1 is a legal "unknown" */
    r->labels = (uint32_t)(seq * 3 + 1);
    r->weight = (uint32_t)(seq % 5 + 1);
    r->time_ns = (int64_t)seq;
    r->truncated = (int)(seq & 1);
    r->exit_credit = (int)((seq >> 1) & 1);
    r->routine = (uintptr_t)(seq * 7 + (uint64_t)producer);
    r->n = n;
    for (int i = 0; i < n; i++)
        pcs[i] = (uintptr_t)(seq * 131 + (uint64_t)i * 17 +
                             (uint64_t)producer);
    r->pcs = pcs;
}

static int rec_ok(const struct cp_sample_rec *s, int producer, uint64_t seq)
{
    if (s->tid != 1000 + producer || s->time_ns != (int64_t)seq ||
        s->cpu != (int)(seq % 7) - 1 || s->labels != (uint32_t)(seq * 3 + 1) ||
        s->weight != (uint32_t)(seq % 5 + 1) ||
        s->truncated != (int)(seq & 1) ||
        s->exit_credit != (int)((seq >> 1) & 1) ||
        s->routine != (uintptr_t)(seq * 7 + (uint64_t)producer))
        return 0;
    for (int i = 0; i < s->n; i++)
        if (s->pcs[i] != (uintptr_t)(seq * 131 + (uint64_t)i * 17 +
                                     (uint64_t)producer))
            return 0;
    return 1;
}

/* Words one record with n = 0 takes (the header): measured, not assumed. */
static int hdr_words(void)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[1];
    int h;

    assert_int_equal(cp_sampbuf_init(&b, 64), 0);
    make_rec(&r, pcs, 0, 0, 0);
    assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    h = (int)cp_sampbuf_used(&b);
    cp_sampbuf_destroy(&b);
    assert_true(h >= 2 && h <= 8);
    return h;
}

/* ---- single producer ---- */

struct collect {
    uint64_t next_seq;
    int bad;
    size_t n;
    int last_n;
};

static void collect_in_order(const struct cp_sample_rec *s, void *arg)
{
    struct collect *c = arg;
    if (s->time_ns != (int64_t)c->next_seq || !rec_ok(s, 0, c->next_seq))
        c->bad++;
    c->next_seq = (uint64_t)s->time_ns + 1;
    c->last_n = s->n;
    c->n++;
}

static void test_roundtrip(void **state)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[128];
    struct collect c = {0};

    assert_int_equal(cp_sampbuf_init(&b, 4096), 0);
    for (uint64_t seq = 0; seq < 10; seq++) {
        make_rec(&r, pcs, 0, seq, (int)(seq * 10 % 128));
        assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    }
    assert_true(cp_sampbuf_used(&b) > 0);
    assert_int_equal(cp_sampbuf_drain(&b, collect_in_order, &c), 10);
    assert_int_equal(c.n, 10);
    assert_int_equal(c.bad, 0);
    assert_int_equal(cp_sampbuf_used(&b), 0);
    /* nothing left: a second drain finds nothing */
    assert_int_equal(cp_sampbuf_drain(&b, collect_in_order, &c), 0);
    assert_int_equal(atomic_load(&b.dropped), 0);
    cp_sampbuf_destroy(&b);
}

static void test_init_rejects_non_power_of_two(void **state)
{
    struct cp_sampbuf b;
    assert_int_equal(cp_sampbuf_init(&b, 1000), -EINVAL);
}

static void test_too_big_record(void **state)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[128];

    assert_int_equal(cp_sampbuf_init(&b, 256), 0);
    /* a record may take at most a quarter of the ring */
    make_rec(&r, pcs, 0, 0, 100);
    assert_int_equal(cp_sampbuf_push(&b, &r), -EINVAL);
    assert_int_equal(cp_sampbuf_used(&b), 0);
    make_rec(&r, pcs, 0, 0, 40);
    assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    cp_sampbuf_destroy(&b);
}

static void test_full_counts_drops(void **state)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[16];
    struct collect c = {0};
    int ok = 0, refused = 0;

    int n = 16 - hdr_words(); /* records of 16 words */

    assert_int_equal(cp_sampbuf_init(&b, 1024), 0);
    for (uint64_t seq = 0; seq < 1000; seq++) {
        make_rec(&r, pcs, 0, (uint64_t)ok, n);
        int rc = cp_sampbuf_push(&b, &r);
        if (rc == 0) {
            ok++;
        } else {
            assert_int_equal(rc, -ENOSPC);
            refused++;
        }
    }
    /* 1024 words hold 64 records of 16 words exactly */
    assert_int_equal(ok, 64);
    assert_int_equal(refused, 1000 - 64);
    assert_int_equal(atomic_load(&b.dropped), (uint64_t)refused);
    assert_int_equal(cp_sampbuf_drain(&b, collect_in_order, &c), 64);
    assert_int_equal(c.bad, 0);
    /* room again after the drain */
    make_rec(&r, pcs, 0, 64, n);
    assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    cp_sampbuf_destroy(&b);
}

/* Records of every size, pushed and drained in uneven batches through a
 * small ring: wrap-around with padding many times over. */
static void test_wraparound_padding(void **state)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[64];
    struct collect c = {0};
    uint64_t seq = 0, rng = 12345;
    size_t drained = 0;

    assert_int_equal(cp_sampbuf_init(&b, 256), 0);
    for (int round = 0; round < 20000; round++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int batch = (int)(rng >> 60) + 1;
        for (int k = 0; k < batch; k++) {
            int n = (int)((rng >> (k * 3 % 50)) % 60);
            make_rec(&r, pcs, 0, seq, n);
            if (cp_sampbuf_push(&b, &r) != 0)
                break; /* full: drain first */
            seq++;
        }
        drained += cp_sampbuf_drain(&b, collect_in_order, &c);
        assert_int_equal(c.bad, 0);
        assert_int_equal(c.next_seq, seq);
    }
    assert_int_equal(drained, seq);
    assert_true(seq > 20000);
    /* the write cursor went round the ring many times */
    assert_true(atomic_load(&b.w) > 100 * b.words);
    cp_sampbuf_destroy(&b);
}

/* A record that exactly fits the tail needs no padding; one word more
 * needs a pad and lands at the start. */
static void test_exact_tail(void **state)
{
    struct cp_sampbuf b;
    struct cp_sample_rec r;
    uintptr_t pcs[64];
    struct collect c = {0};
    int hdr = hdr_words();

    assert_int_equal(cp_sampbuf_init(&b, 256), 0);
    make_rec(&r, pcs, 0, 0, 0);
    assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    assert_int_equal(cp_sampbuf_drain(&b, collect_in_order, &c), 1);
    /* fill with empty records to 40..40+2*hdr words before the end, then
     * push one record that fills the tail exactly */
    uint64_t seq = 1;
    while (atomic_load(&b.w) + (uint64_t)(hdr + 40) + 2 * (uint64_t)hdr <=
           b.words) {
        make_rec(&r, pcs, 0, seq++, 0);
        assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    }
    int gap = (int)(b.words - atomic_load(&b.w)) - hdr;
    assert_true(gap >= 0 && gap < 60);
    make_rec(&r, pcs, 0, seq++, gap);
    assert_int_equal(cp_sampbuf_push(&b, &r), 0);
    assert_int_equal(atomic_load(&b.w), b.words); /* no padding */
    assert_int_equal(cp_sampbuf_drain(&b, collect_in_order, &c), seq - 1);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.last_n, gap);
    cp_sampbuf_destroy(&b);
}

/* ---- several producers, a concurrent reader, signal handlers ---- */

#define PRODUCERS 4
#define PER_PRODUCER 30000

struct mp {
    struct cp_sampbuf b;
    atomic_int go;
    atomic_int finished; /* producers through their loops */
    atomic_int done;     /* stop signalling */
    atomic_int release;  /* producers may exit */
    /* per producer (index 0..PRODUCERS-1) and per handler of that producer
     * (index PRODUCERS..2*PRODUCERS-1): the sequence numbers pushed with
     * success, and what the reader saw */
    uint8_t *pushed[2 * PRODUCERS];
    uint8_t *seen[2 * PRODUCERS];
    uint64_t n_pushed[2 * PRODUCERS];
    uint64_t n_refused[2 * PRODUCERS];
    uint64_t next_expected[2 * PRODUCERS];
    uint64_t dup, torn, order;
    uint64_t received;
};

static struct mp *mp;
static _Thread_local int my_producer = -1;
static _Thread_local uint64_t handler_seq;
static pthread_t producer_threads[PRODUCERS];

#define HANDLER_MAX 200000

static void push_one(int who, uint64_t seq, int n)
{
    struct cp_sample_rec r;
    uintptr_t pcs[64];
    make_rec(&r, pcs, who, seq, n);
    if (cp_sampbuf_push(&mp->b, &r) == 0) {
        mp->pushed[who][seq] = 1;
        mp->n_pushed[who]++;
    } else {
        mp->n_refused[who]++;
    }
}

/* The handler pushes as the sampler's does, possibly right between the
 * interrupted producer's reservation and its publication. */
static void on_signal(int sig)
{
    int saved = errno;
    if (my_producer >= 0 && handler_seq < HANDLER_MAX) {
        uint64_t s = handler_seq++;
        push_one(PRODUCERS + my_producer, s, (int)(s % 40));
    }
    errno = saved;
}

static void *producer(void *arg)
{
    int who = (int)(intptr_t)arg;
    my_producer = who;
    while (!atomic_load(&mp->go))
        ;
    for (uint64_t seq = 0; seq < PER_PRODUCER; seq++) {
        push_one(who, seq, (int)((seq * 7 + (uint64_t)who) % 50));
        /* a little work between pushes, as between samples: the reader
         * keeps up most of the time, and the ring still fills now and
         * then */
        for (volatile int k = 0; k < 400; k++)
            ;
        /* 6 threads on a machine that may have 2 cores: let the reader
         * run, or the ring only ever holds one time slice's pushes */
        if (seq % 16 == 15)
            sched_yield();
    }
    atomic_fetch_add(&mp->finished, 1);
    /* stay alive while the signaller may still target this thread */
    while (!atomic_load(&mp->release))
        sched_yield();
    return NULL;
}

static void reader_cb(const struct cp_sample_rec *s, void *arg)
{
    int who = s->tid - 1000;
    uint64_t seq = (uint64_t)s->time_ns;

    mp->received++;
    if (who < 0 || who >= 2 * PRODUCERS ||
        seq >= (who < PRODUCERS ? PER_PRODUCER : HANDLER_MAX)) {
        mp->torn++;
        return;
    }
    if (!rec_ok(s, who, seq))
        mp->torn++;
    if (mp->seen[who][seq])
        mp->dup++;
    mp->seen[who][seq] = 1;
    /* one producer's records come out in the order it pushed them */
    if (seq < mp->next_expected[who])
        mp->order++;
    mp->next_expected[who] = seq + 1;
}

static void *signaler(void *arg)
{
    while (!atomic_load(&mp->done)) {
        for (int i = 0; i < PRODUCERS; i++)
            pthread_kill(producer_threads[i], SIGUSR1);
        for (volatile int k = 0; k < 200; k++)
            ;
    }
    return NULL;
}

static void run_mp(uint64_t words, int concurrent_reader, int signals)
{
    pthread_t sig_thread;
    struct sigaction sa;

    mp = calloc(1, sizeof *mp);
    assert_non_null(mp);
    assert_int_equal(cp_sampbuf_init(&mp->b, words), 0);
    for (int i = 0; i < 2 * PRODUCERS; i++) {
        size_t n = i < PRODUCERS ? PER_PRODUCER : HANDLER_MAX;
        mp->pushed[i] = calloc(n, 1);
        mp->seen[i] = calloc(n, 1);
        assert_non_null(mp->pushed[i]);
        assert_non_null(mp->seen[i]);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);

    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_create(&producer_threads[i], NULL, producer,
                                        (void *)(intptr_t)i),
                         0);
    if (signals)
        assert_int_equal(pthread_create(&sig_thread, NULL, signaler, NULL),
                         0);
    atomic_store(&mp->go, 1);
    while (atomic_load(&mp->finished) < PRODUCERS) {
        if (concurrent_reader)
            cp_sampbuf_drain(&mp->b, reader_cb, NULL);
        else
            sched_yield();
    }
    atomic_store(&mp->done, 1);
    if (signals)
        pthread_join(sig_thread, NULL);
    atomic_store(&mp->release, 1);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(producer_threads[i], NULL);
    /* every push happened before the joins: drain what is left */
    cp_sampbuf_drain(&mp->b, reader_cb, NULL);

    uint64_t pushed = 0, refused = 0, missing = 0, phantom = 0;
    for (int i = 0; i < 2 * PRODUCERS; i++) {
        size_t n = i < PRODUCERS ? PER_PRODUCER : HANDLER_MAX;
        pushed += mp->n_pushed[i];
        refused += mp->n_refused[i];
        for (size_t s = 0; s < n; s++) {
            if (mp->pushed[i][s] && !mp->seen[i][s])
                missing++;
            if (!mp->pushed[i][s] && mp->seen[i][s])
                phantom++;
        }
    }
    print_message("  %llu pushed (%llu by signal handlers), %llu refused, "
                  "%llu read\n",
                  (unsigned long long)pushed,
                  (unsigned long long)(pushed - mp->n_pushed[0] -
                                       mp->n_pushed[1] - mp->n_pushed[2] -
                                       mp->n_pushed[3]),
                  (unsigned long long)refused,
                  (unsigned long long)mp->received);
    assert_int_equal(missing, 0);
    assert_int_equal(phantom, 0);
    assert_int_equal(mp->dup, 0);
    assert_int_equal(mp->torn, 0);
    assert_int_equal(mp->order, 0);
    assert_int_equal(mp->received, pushed);
    assert_int_equal(atomic_load(&mp->b.dropped), refused);
    assert_int_equal(cp_sampbuf_used(&mp->b), 0);
    if (signals)
        assert_true(pushed - mp->n_pushed[0] - mp->n_pushed[1] -
                        mp->n_pushed[2] - mp->n_pushed[3] >
                    50);

    signal(SIGUSR1, SIG_DFL);
    cp_sampbuf_destroy(&mp->b);
    for (int i = 0; i < 2 * PRODUCERS; i++) {
        free(mp->pushed[i]);
        free(mp->seen[i]);
    }
    free(mp);
    mp = NULL;
}

/* Room for everything: nothing may be refused, lost or duplicated. */
static void test_mp_room_for_all(void **state)
{
    run_mp(1u << 24, 0, 0);
}

/* Small ring, reader draining at the same time: refusals happen, and are
 * exactly the records that never come out. */
static void test_mp_concurrent_reader(void **state)
{
    run_mp(1u << 16, 1, 0);
}

/* Same, with signal handlers pushing on top of interrupted pushes. */
static void test_mp_with_signal_handlers(void **state)
{
    run_mp(1u << 16, 1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_init_rejects_non_power_of_two),
        cmocka_unit_test(test_too_big_record),
        cmocka_unit_test(test_full_counts_drops),
        cmocka_unit_test(test_wraparound_padding),
        cmocka_unit_test(test_exact_tail),
        cmocka_unit_test(test_mp_room_for_all),
        cmocka_unit_test(test_mp_concurrent_reader),
        cmocka_unit_test(test_mp_with_signal_handlers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
