/* The snapshot compression policy.  With a clock, each rung is priced: the disk's time
 * for its bytes, weighed by how much the disk is the bottleneck (the queue's fill, but
 * no more than the share of the recent past in which the disk was busy), against the
 * workers' time for its encoding (stretched by the time a worker waits for a CPU, shared
 * by the workers), with hysteresis; the cheapest rung that pays is used if the disk has
 * the work in hand to cover its turns (fewer for a floor that keeps the disk fed).
 * Before the disk's speed is known the lowest rung fills an eighth of the queue, then the
 * starting rung.  Without a clock, the depth alone picks a band. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_policy.h"

#define RAW 65536u
#define QUEUE (4u << 20)

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

/* A policy that has learned `compressible` at `block_us` and knows a disk of `mbps` MB/s
 * busy `busy_pct` per cent of the recent past. */
static void known(struct snap_policy *p, unsigned mbps, unsigned busy_pct)
{
    snap_policy_init(p, SNAP_LZ4);
    teach(p, compressible, block_us);
    p->drain_bps = mbps * 1000000ull;
    p->window_ns = 1000000;
    p->busy_ns = busy_pct * 10000ull;
}

/* The level for a block with the queue at `queued` of `capacity`, `workers` feeding it. */
static enum snap_level pick_at(struct snap_policy *p, uint64_t queued, uint64_t capacity,
                               unsigned workers)
{
    struct snap_queue_view q = { queued, capacity, 1000, 1000000, workers };
    return snap_policy_pick(p, &q);
}

static void price_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* an empty queue: the disk waits for the workers, so their time is all that counts */
    known(&p, 100, 100);
    assert_int_equal(pick_at(&p, 0, QUEUE, 1), SNAP_STORE);
    known(&p, 2000, 100);
    assert_int_equal(pick_at(&p, 0, QUEUE, 4), SNAP_STORE);
    /* a full queue on a disk always busy: the disk is the bottleneck, the fewest bytes win;
     * at 100 MB/s the 42 ms in hand cover 8 turns of LZ4HC 9 */
    known(&p, 100, 100);
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_LZ4HC_9);
    /* at 2000 MB/s the same queue holds 2.1 ms: 8 turns of LZ4HC 9 (11 ms) or 3 (4.8 ms)
     * are more, 8 of LZ4 (1 ms) are not */
    known(&p, 2000, 100);
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_LZ4);
    /* a full queue, but a disk idle half the recent time (the workers did not keep it fed
     * then): on the 2000 MB/s disk LZ4 fast saves 100 ns of the disk per KiB and costs the
     * worker 780: storing */
    known(&p, 2000, 50);
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_STORE);
    known(&p, 2000, 50);                        /* four workers waiting for a CPU half */
    p.stretch_pm = 2000;                        /* the time share the encoding */
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 4), SNAP_STORE);
    /* the queue 10% full on a busy 100 MB/s disk: for one worker LZ4 fast's encoding costs
     * more than the disk time it saves is worth at that fill; four workers share it */
    known(&p, 100, 100);
    assert_int_equal(pick_at(&p, QUEUE / 10, QUEUE, 1), SNAP_STORE);
    known(&p, 100, 100);
    assert_int_equal(pick_at(&p, QUEUE / 10, QUEUE, 4), SNAP_LZ4_FAST);
    /* unless each of their blocks takes three times its encoding, pick to pick (they wait
     * for a CPU) */
    known(&p, 100, 100);
    p.stretch_pm = 3000;
    assert_int_equal(pick_at(&p, QUEUE / 10, QUEUE, 4), SNAP_STORE);
    /* 0 workers count as one */
    known(&p, 100, 100);
    assert_int_equal(pick_at(&p, QUEUE / 10, QUEUE, 0), SNAP_STORE);
}

static void hysteresis_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* one worker, 100 MB/s, always busy: LZ4 and LZ4HC 3 cost the same at 93.6% full,
     * below it LZ4 is cheaper, above it LZ4HC 3; the current rung is kept while it costs at
     * most 5% more than the cheapest (at 92% LZ4HC 3 costs 2.6% more than LZ4, at 86% 12.6%;
     * at 95% LZ4 costs 3.4% more than LZ4HC 9; full, 30% more) */
    known(&p, 100, 100);
    p.level = SNAP_LZ4HC_3;
    assert_int_equal(pick_at(&p, QUEUE / 100 * 92, QUEUE, 1), SNAP_LZ4HC_3);
    assert_int_equal(pick_at(&p, QUEUE / 100 * 86, QUEUE, 1), SNAP_LZ4);
    assert_int_equal(pick_at(&p, QUEUE / 100 * 95, QUEUE, 1), SNAP_LZ4);
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_LZ4HC_9);
}

static void start_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* the disk's speed not known yet: the lowest rung until an eighth of the queue is
     * filled (enough to measure the disk), then the starting rung, which falls to the
     * rung that may be tried (LZ4 fast, just above storing) */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view q = { 0, QUEUE, 0, 1000000, 1 };
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);
    snap_policy_learn(&p, SNAP_STORE, RAW, RAW, 10000);
    q.queued = QUEUE / 8 - 1;
    q.now_ns += 20000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);
    q.queued = QUEUE / 8;
    q.now_ns += 20000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4_FAST);
    snap_policy_learn(&p, SNAP_LZ4_FAST, RAW, RAW / 2, 60000);
    q.now_ns += 20000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4);
    assert_int_equal(p.drain_bps, 0);
    /* a starting rung above a rung that saves nothing is not tried */
    snap_policy_init(&p, SNAP_LZ4HC_3);
    teach(&p, (const unsigned[]){ 1000, 1000, 0, 0, 0 }, block_us);
    q.queued = QUEUE;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);
}

static void drain_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a window in which the disk drained less than was queued at its start: it never ran
     * dry, so the rate is its speed */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view q = { 1u << 20, QUEUE, 1000, 1000000, 1 };
    snap_policy_pick(&p, &q);
    q.drained += 200000;
    q.now_ns += 100000;                         /* 200 KB in 100 us */
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 2000000000ull);
    /* the next such window is averaged in: a disk slowing down is followed */
    q.drained += 200000;
    q.now_ns += 2000000;                        /* 100 MB/s */
    q.queued = 100000;                          /* the next window starts with 100 KB */
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 1050000000ull);
    /* a window in which it drained more than was queued at its start may hold idle time:
     * its rate is a bound below the disk's speed, and only raises what is known */
    q.now_ns += 100;
    snap_policy_pick(&p, &q);                   /* too short: the window goes on */
    q.queued = 100000;
    q.drained += 400000;                        /* 400 KB in 10 ms: 40 MB/s */
    q.now_ns += 10000000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 1050000000ull);
    q.drained += 400000;                        /* 400 KB in 100 us: 4000 MB/s */
    q.now_ns += 100000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 4000000000ull);
    /* and says nothing while the speed is not known */
    snap_policy_init(&p, SNAP_LZ4);
    q.queued = 0;
    snap_policy_pick(&p, &q);
    q.drained += 400000;
    q.now_ns += 100000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 0);
    /* a window shorter than 50 us or than 128 KiB measures nothing yet */
    snap_policy_init(&p, SNAP_LZ4);
    q.queued = 1u << 20;
    snap_policy_pick(&p, &q);
    q.drained += 200000;
    q.now_ns += 40000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 0);
    q.drained += 100000;                        /* the same window, now 300 KB in 60 us */
    q.now_ns += 20000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 5000000000ull);
    snap_policy_init(&p, SNAP_LZ4);
    snap_policy_pick(&p, &q);
    q.drained += 100000;
    q.now_ns += 1000000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 0);
}

static void busy_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* the disk's busy share: the bytes it drained between blocks over its speed, against
     * the time, forgetting the past over a few milliseconds */
    snap_policy_init(&p, SNAP_LZ4);
    p.drain_bps = 100000000;                    /* 100 MB/s: 100 bytes a microsecond */
    struct snap_queue_view q = { 0, QUEUE, 1000, 1000000, 1 };
    snap_policy_pick(&p, &q);
    q.drained += 50000;
    q.now_ns += 1000000;                        /* half of a millisecond busy */
    snap_policy_pick(&p, &q);
    assert_int_equal(p.busy_ns * 100 / p.window_ns, 50);
    for (unsigned i = 0; i < 40; i++) {         /* then always busy */
        q.drained += 100000;
        q.now_ns += 1000000;
        snap_policy_pick(&p, &q);
    }
    assert_true(p.busy_ns * 100 / p.window_ns >= 99);
    for (unsigned i = 0; i < 40; i++) {         /* then idle */
        q.now_ns += 1000000;
        snap_policy_pick(&p, &q);
    }
    assert_true(p.busy_ns * 100 / p.window_ns <= 1);
    /* more drained than the speed allows counts as busy throughout, no more */
    q.drained += 1000000;
    q.now_ns += 4000000;
    snap_policy_pick(&p, &q);
    assert_true(p.busy_ns <= p.window_ns);
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
    /* with a clock too: a busy slow disk and a full queue, but nothing to save */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 1000, 0, 0, 0 }, block_us);
    p.drain_bps = 100000000;
    p.window_ns = p.busy_ns = 1000000;
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_STORE);
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
    /* priced too: a full queue on a busy slow disk takes the fewest bytes that pay */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 600, 600, 600 }, block_us);
    p.drain_bps = 100000000;
    p.window_ns = p.busy_ns = 1000000;
    assert_int_equal(pick_at(&p, QUEUE, QUEUE, 1), SNAP_LZ4_FAST);
}

static void bands_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* no clock: five rungs, five bands of 20% each, the current one kept within 5% */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 200, 100), SNAP_LZ4HC_9);     /* overfull */
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 30, 100), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 70, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 10, 100), SNAP_STORE);
    snap_policy_init(&p, SNAP_LZ4);             /* band 40-60% */
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, 62, 100), SNAP_LZ4);      /* within 5% above */
    assert_int_equal(snap_policy_next(&p, 36, 100), SNAP_LZ4);      /* within 5% below */
    assert_int_equal(snap_policy_next(&p, 65, 100), SNAP_LZ4);      /* the edge itself */
    assert_int_equal(snap_policy_next(&p, 66, 100), SNAP_LZ4HC_3);  /* beyond it */
    assert_int_equal(snap_policy_next(&p, 58, 100), SNAP_LZ4HC_3);  /* band 60-80% + 5% */
    assert_int_equal(snap_policy_next(&p, 54, 100), SNAP_LZ4);
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
    /* a block 100 times slower (the worker lost its CPU) counts twice the average; a
     * faster one weighs half (descheduling only adds time) */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 8000000);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4], 1563);         /* 1250 + (2500 - 1250) / 4 */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 32000);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4], (1563 + 500) / 2);
    /* a rung's first block counts at most twice what the rungs known say of it: LZ4HC 3
     * from LZ4 by the prior (30 / 7), doubled */
    snap_policy_learn(&p, SNAP_LZ4HC_3, RAW, RAW / 2, 1000000000);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4HC_3], 2 * (1031 * 2 * 30 / 7));
    snap_policy_learn(&p, SNAP_LZ4HC_9, RAW, 0, 1);         /* nothing out is still known */
    assert_int_equal(p.out_permille[SNAP_LZ4HC_9], 1);
    snap_policy_learn(&p, SNAP_LZ4_FAST, 0, 0, 5000);       /* zero pages only: nothing */
    snap_policy_learn(&p, SNAP_LEVELS, RAW, 1, 5000);
    assert_int_equal(p.out_permille[SNAP_LZ4_FAST], 0);
    assert_int_equal(p.ns_per_kib[SNAP_LZ4_FAST], 0);
    snap_policy_init(&p, SNAP_LZ4);
    snap_policy_learn(&p, SNAP_STORE, 4096, 4096, UINT64_MAX);     /* no overflow */
    assert_int_equal(p.ns_per_kib[SNAP_STORE], UINT32_MAX);
}

static void turn_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a turn is learned from one pick to the next, for the rung of the block between, and
     * with it the stretch: the turn over the block's encoding */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view at = { 0, QUEUE, 0, 1000000, 1 };
    snap_policy_pick(&p, &at);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 300000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64);
    assert_int_equal(p.stretch_pm, 3000);
    at.now_ns += 300000;                        /* no block learned in between: nothing */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 300000000;                     /* a turn 1000 times longer counts twice */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64 * 5 / 4 + 1);
    assert_int_equal(p.stretch_pm, 3000 * 5 / 4);
    /* a turn that ends with the queue within two blocks of full is not learned: putting
     * the block may have waited for room */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.queued = QUEUE - RAW;
    at.now_ns += 900000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 300000 / 64 * 5 / 4 + 1);
    assert_int_equal(p.stretch_pm, 3000 * 5 / 4);
}

static void floor_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a 1 MiB queue 90% full on a busy 2000 MB/s disk holds 0.47 ms: the price says LZ4
     * for eight workers, LZ4 fast for one, and neither has 8 turns in hand; but eight
     * workers at LZ4 (280 MB/s each) feed the disk: it is their floor, which needs only 2
     * turns in hand */
    known(&p, 2000, 100);
    assert_int_equal(pick_at(&p, (1u << 20) / 10 * 9, 1u << 20, 8), SNAP_LZ4);
    known(&p, 2000, 100);
    assert_int_equal(pick_at(&p, (1u << 20) / 10 * 9, 1u << 20, 1), SNAP_STORE);
    /* the floor is no higher than the price: an empty queue stores whoever feeds it */
    known(&p, 2000, 100);
    assert_int_equal(pick_at(&p, 0, 1u << 20, 8), SNAP_STORE);
    /* a rung whose output was forgotten (to be tried again) is no floor */
    known(&p, 2000, 100);
    p.out_permille[SNAP_LZ4] = 0;
    p.out_permille[SNAP_LZ4HC_3] = 0;
    p.out_permille[SNAP_LZ4HC_9] = 0;
    assert_true(pick_at(&p, (1u << 20) / 10 * 9, 1u << 20, 8) <= SNAP_LZ4_FAST);
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
    assert_int_equal(snap_policy_next(&p, 5, 0), SNAP_STORE);      /* no capacity: empty */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX, UINT64_MAX - 1), SNAP_LZ4HC_9);
    snap_policy_init(&p, SNAP_STORE);
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX / 2, UINT64_MAX), SNAP_LZ4);  /* 50% */
    struct snap_queue_view huge = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX };
    teach(&p, compressible, (const unsigned[]){ 1, 1, 1, 1, 1 });
    snap_policy_pick(&p, &huge);                /* no overflow anywhere (UBSan) */
    huge.now_ns = 1;                            /* a clock going back restarts the window */
    snap_policy_pick(&p, &huge);
    huge.now_ns = 100001;                       /* all of 2^64 bytes in 100 us */
    huge.drained = UINT64_MAX;
    p.last_drained = 1;
    p.window_queued = UINT64_MAX;
    snap_policy_pick(&p, &huge);
    assert_true(p.drain_bps > 0);
    huge.now_ns = UINT64_MAX;
    snap_policy_pick(&p, &huge);
    known(&p, 1, 100);                          /* the slowest disk measured: 1 MB/s */
    p.drain_bps = 1000;
    p.stretch_pm = 100000;
    snap_policy_learn(&p, SNAP_LZ4HC_9, RAW, RAW / 2, UINT64_MAX);
    snap_policy_pick(&p, &huge);
    snap_policy_init(&p, SNAP_LEVELS);
    assert_int_equal(p.level, SNAP_LZ4);
    p.lowest = SNAP_LZ4_FAST;                   /* a narrowed ladder: three bands */
    p.highest = SNAP_LZ4HC_3;
    teach(&p, compressible, NULL);
    assert_int_equal(snap_policy_next(&p, 0, 90), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 45, 90), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 90, 90), SNAP_LZ4HC_3);
    assert_string_equal(snap_level_name(SNAP_LZ4HC_9), "lz4hc-9");
    assert_string_equal(snap_level_name(SNAP_LEVELS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(price_test),
        cmocka_unit_test(hysteresis_test),
        cmocka_unit_test(start_test),
        cmocka_unit_test(drain_test),
        cmocka_unit_test(busy_test),
        cmocka_unit_test(incompressible_test),
        cmocka_unit_test(paying_rungs_test),
        cmocka_unit_test(bands_test),
        cmocka_unit_test(learn_test),
        cmocka_unit_test(turn_test),
        cmocka_unit_test(floor_test),
        cmocka_unit_test(fixed_and_edges_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
