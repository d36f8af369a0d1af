/* The snapshot compression policy: the write queue's depth picks a band, with hysteresis
 * and only in the direction the queue moves; a band's rung is used only if it pays (its
 * learned output is smaller enough than the rung below) and the disk has the work in hand
 * to cover its learned block time; the highest rung at which all the workers together
 * write as fast as the disk drains is a floor under the band, whatever the depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_policy.h"

#define RAW 65536u

/* Teaches p one block per rung: output permille (0: not taught) and wall time in us. */
static void teach(struct snap_policy *p, const unsigned permille[SNAP_LEVELS],
                  const unsigned us[SNAP_LEVELS])
{
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        if (permille[l])
            snap_policy_learn(p, (enum snap_level)l, RAW, RAW * permille[l] / 1000,
                              us ? us[l] * 1000ull : 0);
}

static const unsigned compressible[SNAP_LEVELS] = { 1000, 600, 520, 470, 400 };
static const unsigned block_us[SNAP_LEVELS] = { 10, 60, 120, 600, 1400 };

static void bands_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    /* five rungs, five bands of 20% each; each move goes the way the queue moves */
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4);    /* the start: nothing put */
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 200, 100), SNAP_LZ4HC_9);     /* overfull */
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 30, 100), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 70, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 10, 100), SNAP_STORE);
}

static void hysteresis_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);             /* band 40-60% */
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, 62, 100), SNAP_LZ4);      /* within 5% above */
    assert_int_equal(snap_policy_next(&p, 36, 100), SNAP_LZ4);      /* within 5% below */
    assert_int_equal(snap_policy_next(&p, 65, 100), SNAP_LZ4);      /* the edge itself */
    assert_int_equal(snap_policy_next(&p, 66, 100), SNAP_LZ4HC_3);  /* beyond it */
    assert_int_equal(snap_policy_next(&p, 58, 100), SNAP_LZ4HC_3);  /* band 60-80% + 5% */
    assert_int_equal(snap_policy_next(&p, 54, 100), SNAP_LZ4);
}

static void trend_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    /* a queue filling from empty (the start) keeps the band while it fills */
    assert_int_equal(snap_policy_next(&p, 10, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 25, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 25, 100), SNAP_LZ4_FAST);  /* steady: follows */
    assert_int_equal(snap_policy_next(&p, 10, 100), SNAP_STORE);     /* falling: follows */
    /* a queue draining keeps a band it is still above */
    assert_int_equal(snap_policy_next(&p, 90, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4);
    p.last_queued = 90;
    assert_int_equal(snap_policy_next(&p, 80, 100), SNAP_LZ4);       /* above, but falling */
    assert_int_equal(snap_policy_next(&p, 85, 100), SNAP_LZ4HC_9);   /* rising again */
}

static void incompressible_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    /* nothing learned: only the rung above storing is tried, one rung at a time */
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4_FAST);
    /* it saved nothing: storing is all that pays, whatever the depth, and the rungs
     * above it are not tried */
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW, 0);
    for (unsigned i = 1; i < SNAP_POLICY_RETRY_PICKS - 1; i++)
        assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_STORE);
    /* until it is forgotten, to be tried again */
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4_FAST);
    assert_int_equal(p.out_permille[SNAP_LZ4_FAST], 0);
    /* a block that did not shrink is stored, and counts as saving nothing */
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW, 0);
    assert_int_equal(p.out_permille[SNAP_LZ4_FAST], 1000);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_STORE);
}

static void paying_rungs_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* rungs are tried one above the last that compresses */
    snap_policy_init(&p, SNAP_LZ4);
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW / 2, 0);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW * 45 / 100, 0);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    /* LZ4HC 9 writing nearly as much as LZ4HC 3 (less than 1% fewer bytes) is skipped */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 470, 467 }, NULL);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 470, 463 }, NULL);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_9);
    /* a rung that does not pay hands its band to the rung below that does */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 600, 470, 400 }, NULL);
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 70, 100), SNAP_LZ4HC_3);  /* vs LZ4 fast */
}

static void learn_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 64000);
    assert_int_equal(p.out_permille[SNAP_LZ4], 500);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4], 1000);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW, 128000);      /* a moving average, 1/4 new */
    assert_int_equal(p.out_permille[SNAP_LZ4], 625);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4], 1250);
    snap_policy_learn(&p, SNAP_LZ4, RAW, 2 * RAW, 0);       /* no clock: time kept */
    assert_int_equal(p.ns_per_kib[SNAP_LZ4], 1250);
    assert_int_equal(p.out_permille[SNAP_LZ4], 719);        /* more out than in counts 1000 */
    snap_policy_learn(&p, SNAP_LZ4HC_9, RAW, 0, 1);         /* nothing out is still known */
    assert_int_equal(p.out_permille[SNAP_LZ4HC_9], 1);
    snap_policy_learn(&p, SNAP_LZ4HC_3, 0, 0, 5000);        /* zero pages only: nothing */
    snap_policy_learn(&p, SNAP_LEVELS, RAW, 1, 5000);
    assert_int_equal(p.out_permille[SNAP_LZ4HC_3], 0);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4HC_3], 0);
    snap_policy_learn(&p, SNAP_STORE, 4096, 4096, UINT64_MAX);     /* no overflow */
    assert_int_equal(p.ns_per_kib[SNAP_STORE], UINT32_MAX);
}

/* Two blocks' views `dt_us` apart, the disk writing `mbps` MB/s between them, the queue at
 * `queued` bytes of a 4 MiB queue; returns the level of the second. */
static enum snap_level after_drain(struct snap_policy *p, unsigned mbps, uint64_t queued,
                                   uint64_t dt_us)
{
    struct snap_queue_view q = { queued, 4u << 20, 1000, 1000000, 1 };
    snap_policy_pick(p, &q);
    q.drained += mbps * dt_us;
    q.now_ns += dt_us * 1000;
    return snap_policy_pick(p, &q);
}

static void work_in_hand_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a full 4 MiB queue on a 2000 MB/s disk holds 2.1 ms: 8 turns of LZ4HC 9 (1.4 ms) or
     * of LZ4HC 3 (0.6 ms) are more, 8 of LZ4 (0.12 ms) are not */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, 4u << 20, 1000), SNAP_LZ4);
    assert_true(p.drain_bps > 1900000000ull && p.drain_bps < 2100000000ull);
    /* on a 100 MB/s disk it holds 42 ms */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 100, 4u << 20, 1000), SNAP_LZ4HC_9);
    /* a rung not yet timed is costed from the rung below it by the prior, doubled: LZ4 at
     * 200 us makes LZ4HC 3 1.7 ms, 8 of which a full queue at 2000 MB/s does not hold */
    static const unsigned slow_lz4_us[SNAP_LEVELS] = { 10, 60, 200, 0, 0 };
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 0, 0 }, slow_lz4_us);
    assert_int_equal(after_drain(&p, 2000, 4u << 20, 1000), SNAP_LZ4);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 0, 0 }, slow_lz4_us);
    assert_int_equal(after_drain(&p, 100, 4u << 20, 1000), SNAP_LZ4HC_3);
    /* a window shorter than 100 us, or with an empty queue at its start, measures nothing;
     * with a clock and the disk's speed not known, no rung above the starting one is used */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, 4u << 20, 50), SNAP_LZ4);
    assert_int_equal(p.drain_bps, 0);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, 0, 1000), SNAP_STORE);
    assert_int_equal(p.drain_bps, 0);
    /* the rate follows a disk that slows down */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, 4u << 20, 1000), SNAP_LZ4);
    struct snap_queue_view q = { 4u << 20, 4u << 20, 1000 + 2000 * 1000, 2000000, 1 };
    for (unsigned i = 0; i < 4; i++) {
        q.drained += 100 * 1000;
        q.now_ns += 1000000;
        snap_policy_pick(&p, &q);
    }
    assert_int_equal(p.level, SNAP_LZ4HC_9);
    /* no clock, no drained count: the queue alone steers */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    q = (struct snap_queue_view){ .queued = 4u << 20, .capacity = 4u << 20 };
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4HC_9);
}

/* As after_drain, with `workers` workers feeding the queue. */
static enum snap_level after_drain_w(struct snap_policy *p, unsigned mbps, uint64_t queued,
                                     uint64_t dt_us, unsigned workers)
{
    struct snap_queue_view q = { queued, 4u << 20, 1000, 1000000, workers };
    snap_policy_pick(p, &q);
    q.drained += mbps * dt_us;
    q.now_ns += dt_us * 1000;
    return snap_policy_pick(p, &q);
}

static void time_floor_test(void **state)
{
    (void)state;
    struct snap_policy p;
    uint64_t fifth = (4u << 20) / 5 + 1000;     /* the queue 20% full: LZ4 fast's band */
    /* one worker at LZ4 (120 us a block) writes 280 MB/s, at LZ4HC 3 (600 us) 51 MB/s: on a
     * 100 MB/s disk LZ4 keeps the disk fed alone and is the floor */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 100, fifth, 1000), SNAP_LZ4);
    /* on a 20 MB/s disk (42 ms) LZ4HC 3 does too, LZ4HC 9 (19 MB/s) does not */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 20, fifth, 1000), SNAP_LZ4HC_3);
    /* on a 2000 MB/s disk no compressing rung keeps up with the disk: the band, whose rung
     * needs 8 of its turns in hand: 20% (0.42 ms) is less than 8 of LZ4 fast's (60 us),
     * 30% is more */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, fifth, 1000), SNAP_STORE);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain(&p, 2000, (4u << 20) / 10 * 3, 1000), SNAP_LZ4_FAST);
    /* a rung not yet timed, or one that does not pay, is no floor */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    assert_int_equal(after_drain(&p, 100, fifth, 1000), SNAP_LZ4_FAST);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 470, 400 }, (const unsigned[]){ 10, 60, 0, 0, 0 });
    assert_int_equal(after_drain(&p, 20, fifth, 1000), SNAP_LZ4_FAST);
    /* nor one whose blocks take so long that one worker cannot keep up with the disk */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, (const unsigned[]){ 10, 60, 400, 600, 1400 });
    assert_int_equal(after_drain(&p, 100, fifth, 1000), SNAP_LZ4_FAST);
    /* the rate is per the blocks' whole turns, pick to pick, where known: a worker whose
     * LZ4 blocks take 120 us to encode but 400 us a turn (it waits for a CPU) writes
     * 85 MB/s, not enough */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    p.cycle_ns_per_kib[SNAP_LZ4] = 400000 / 64;
    assert_int_equal(after_drain(&p, 100, fifth, 1000), SNAP_LZ4_FAST);
    /* a turn is learned from one pick to the next, for the rung of the block between */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view at = { 0, 4u << 20, 0, 1000000, 1 };
    snap_policy_pick(&p, &at);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 300000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64);
    at.now_ns += 300000;                        /* no block learned in between: nothing */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 300000000;                     /* a turn 1000 times longer counts twice */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64 * 5 / 4 + 1);
    /* a turn that ends with the queue within two blocks of full is not learned: putting
     * the block may have waited for room */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.queued = (4u << 20) - RAW;
    at.now_ns += 900000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64 * 5 / 4 + 1);
    /* the disk's speed not known: the band alone */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(snap_policy_next(&p, fifth, 4u << 20), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, fifth, 4u << 20), SNAP_LZ4_FAST);
}

static void workers_floor_test(void **state)
{
    (void)state;
    struct snap_policy p;
    uint64_t fifth = (4u << 20) / 5 + 1000;     /* the queue 20% full: LZ4 fast's band */
    /* a worker at LZ4 taking 400 us a turn writes 85 MB/s: alone it cannot feed a 150 MB/s
     * disk, two of them can, and LZ4 is their floor (LZ4HC 3, 51 MB/s a worker, is not) */
    for (unsigned w = 0; w <= 2; w++) {
        snap_policy_init(&p, SNAP_LZ4);
        teach(&p, compressible, block_us);
        p.cycle_ns_per_kib[SNAP_LZ4] = 400000 / 64;
        assert_int_equal(after_drain_w(&p, 150, fifth, 1000, w),
                         w < 2 ? SNAP_LZ4_FAST : SNAP_LZ4);      /* 0 workers: one */
    }
    /* eight workers at 280 MB/s each feed even a 2000 MB/s disk at LZ4 */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 2000, fifth, 1000, 8), SNAP_LZ4);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 2000, fifth, 1000, 7), SNAP_LZ4_FAST);
    /* the floor needs only two of its turns in hand: on the 100 MB/s disk 30000 bytes
     * (300 us) keep LZ4 (120 us) where the band says store; 4096 bytes (41 us) do not */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 100, 30000, 1000, 1), SNAP_LZ4);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 100, 4096, 1000, 1), SNAP_STORE);
    /* the band's rung above the floor must be afforded: 8 of its turns in hand */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 100, (4u << 20) - 1, 1000, 1), SNAP_LZ4HC_9);
    /* one worker on the 2000 MB/s disk (its floor: store), the queue 90% full (1.9 ms of
     * work): LZ4HC 9's band, but 8 turns of LZ4HC 9 or 3 are more than that, of LZ4 not */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    assert_int_equal(after_drain_w(&p, 2000, (4u << 20) / 10 * 9, 1000, 1), SNAP_LZ4);
}

static void exchange_floor_test(void **state)
{
    (void)state;
    struct snap_policy p;
    uint64_t twentieth = (4u << 20) / 20;      /* storing's band; 2.1 ms at 100 MB/s */
    /* one worker, LZ4 fast writing 43% in 300 us a block: 94 MB/s, short of a 100 MB/s
     * disk, but the 37 KB it saves a block are 373 us of that disk's time, more than the
     * 290 us of worker time it costs over storing: LZ4 fast is the floor */
    static const unsigned dense[SNAP_LEVELS] = { 1000, 430, 378, 0, 0 };
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, dense, (const unsigned[]){ 10, 300, 1000, 0, 0 });
    assert_int_equal(after_drain(&p, 100, twentieth, 1000), SNAP_LZ4_FAST);
    /* at 400 us a block it costs more worker time (390 us) than it saves the disk */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, dense, (const unsigned[]){ 10, 400, 1000, 0, 0 });
    assert_int_equal(after_drain(&p, 100, twentieth, 1000), SNAP_STORE);
    /* at 700 us a block (40 MB/s a worker, 80 for two) the worker time is shared: alone
     * it costs 690 us, more than the 373 us saved; for each of two workers 345 us, less */
    for (unsigned w = 1; w <= 2; w++) {
        snap_policy_init(&p, SNAP_LZ4);
        teach(&p, dense, (const unsigned[]){ 10, 700, 1000, 0, 0 });
        assert_int_equal(after_drain_w(&p, 100, twentieth, 1000, w),
                         w == 1 ? SNAP_STORE : SNAP_LZ4_FAST);
    }
    /* on a 2000 MB/s disk the same bytes are 19 us of its time: storing */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, dense, (const unsigned[]){ 10, 300, 1000, 0, 0 });
    assert_int_equal(after_drain(&p, 2000, twentieth * 10, 1000), SNAP_STORE);
}

static void start_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* at the start the queue is empty because little was put yet: with the disk's speed
     * not yet measured, the starting band is kept until this worker has put 2 blocks with
     * data and still finds the queue empty */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view q = { 0, 4u << 20, 0, 1000000, 1 };
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4_FAST);      /* LZ4 not tried yet */
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW / 4, 60000);
    q.now_ns += 100000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 100, 120000);
    q.now_ns += 100000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);        /* 2 blocks: the disk idles */
    /* a deep queue before the disk's speed is measured does not lift the level above the
     * starting rung */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, block_us);
    q.queued = 4u << 20;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4);
    q.now_ns += 50000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4);
    q.queued = 0;
    /* blocks of zero pages put nothing */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 0, 500, 0, 0, 0 }, NULL);
    q.now_ns += 1000;
    snap_policy_pick(&p, &q);
    for (unsigned i = 0; i < 4; i++) {
        snap_policy_learn(&p, SNAP_LZ4, 0, 0, 5000);
        q.now_ns += 5000;
        assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4);
    }
}

static void fixed_and_edges_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_fixed(&p, SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4HC_3);
    snap_policy_learn(&p, SNAP_LZ4HC_3, RAW, RAW, 1);       /* saves nothing: still fixed */
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4HC_3);
    snap_policy_fixed(&p, SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_STORE);
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 5, 0), SNAP_LZ4_FAST);       /* no capacity: empty */
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW, 0);
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW, 0);
    assert_int_equal(snap_policy_next(&p, 5, 0), SNAP_STORE);
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX, UINT64_MAX - 1), SNAP_LZ4HC_9);
    snap_policy_init(&p, SNAP_STORE);
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX / 2, UINT64_MAX), SNAP_LZ4);  /* 50% */
    struct snap_queue_view huge = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX };
    snap_policy_pick(&p, &huge);                /* no overflow anywhere (UBSan) */
    huge.now_ns = 1;                            /* a clock going back restarts the window */
    snap_policy_pick(&p, &huge);
    huge.now_ns = 100001;                       /* all of 2^64 bytes in 100 us */
    huge.drained = UINT64_MAX;
    p.last_drained = 1;
    snap_policy_pick(&p, &huge);
    assert_true(p.drain_bps > 0);
    snap_policy_init(&p, SNAP_LEVELS);
    assert_int_equal(p.level, SNAP_LZ4);
    p.lowest = SNAP_LZ4_FAST;                   /* a narrowed ladder: three bands */
    p.highest = SNAP_LZ4HC_3;
    p.band = 1;
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, 0, 90), SNAP_LZ4);         /* the start: kept */
    assert_int_equal(snap_policy_next(&p, 0, 90), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 90, 90), SNAP_LZ4HC_3);
    assert_string_equal(snap_level_name(SNAP_LZ4HC_9), "lz4hc-9");
    assert_string_equal(snap_level_name(SNAP_LEVELS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bands_test),
        cmocka_unit_test(hysteresis_test),
        cmocka_unit_test(trend_test),
        cmocka_unit_test(incompressible_test),
        cmocka_unit_test(paying_rungs_test),
        cmocka_unit_test(learn_test),
        cmocka_unit_test(work_in_hand_test),
        cmocka_unit_test(time_floor_test),
        cmocka_unit_test(workers_floor_test),
        cmocka_unit_test(exchange_floor_test),
        cmocka_unit_test(start_test),
        cmocka_unit_test(fixed_and_edges_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
