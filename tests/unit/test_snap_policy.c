/* The snapshot compression policy.  With a clock: the mix of two neighbouring rungs (on
 * the lower convex hull of turn against output) whose output matches the rate the disk
 * drains, aimed by the work in hand against half the queue and higher while the disk
 * has been dry, with the workers' measured speed, dithered block by block; a rung only
 * with four of its turns in hand.  Before the
 * disk's speed is known the lowest rung fills two blocks, then the starting rung.
 * Without a clock, the depth alone picks a band. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_policy.h"

#define RAW 65536u
#define QUEUE (4u << 20)
#define PICKS 100
#define RETRIES (PICKS / SNAP_POLICY_RETRY_PICKS)  /* rungs skipped tried again meanwhile */
#define STEP_OF(rungs) ((rungs) * 256u)  /* an effort of that many paying rungs */

/* Teaches p one block per rung: output permille (0: not taught) and wall time in us. */
static void teach(struct snap_policy *p, const unsigned permille[SNAP_LEVELS],
                  const unsigned us[SNAP_LEVELS])
{
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        if (permille[l])
            snap_policy_learn(p, (enum snap_level)l, RAW, RAW * permille[l] / 1000,
                              us ? us[l] * 1000ull : 0);
}

/* One worker writes 6.5 GB/s storing, 655 MB/s at LZ4 fast, 284 at LZ4, 51 at LZ4HC 3
 * and 19 at LZ4HC 9: every rung is on the hull. */
static const unsigned compressible[SNAP_LEVELS] = { 1000, 600, 520, 470, 400 };
static const unsigned block_us[SNAP_LEVELS] = { 10, 60, 120, 600, 1400 };

/* A policy that has learned `compressible` at `block_us` and knows a disk of `mbps` MB/s. */
static void known(struct snap_policy *p, unsigned mbps)
{
    snap_policy_init(p, SNAP_LZ4);
    teach(p, compressible, block_us);
    p->drain_bps = mbps * 1000000ull;
}

/* How many of PICKS blocks go to each rung with the queue at `queued` of `capacity` and
 * `workers` feeding it, the clock standing still (nothing is measured meanwhile). */
static void mix_left(struct snap_policy *p, uint64_t queued, uint64_t capacity, unsigned workers,
                     uint64_t remaining, unsigned out[SNAP_LEVELS])
{
    struct snap_queue_view q = { queued, capacity, 1000, 1000000, workers, remaining, 0 };
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        out[l] = 0;
    for (unsigned i = 0; i < PICKS; i++)
        out[snap_policy_pick(p, &q)]++;
}

/* The same, teaching the policy after each pick what its rung writes (`permille`), as
 * the pipeline does: a rung forgotten to be tried again is tried and learned at once. */
static void mix_taught(struct snap_policy *p, uint64_t queued, uint64_t capacity,
                       const unsigned permille[SNAP_LEVELS], unsigned out[SNAP_LEVELS])
{
    struct snap_queue_view q = { queued, capacity, 1000, 1000000, 1, 0, 0 };
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        out[l] = 0;
    for (unsigned i = 0; i < PICKS; i++) {
        enum snap_level l = snap_policy_pick(p, &q);
        out[l]++;
        snap_policy_learn(p, l, RAW, RAW * permille[l] / 1000, 0);
    }
}

/* The same with the RAM still to encode not known. */
static void mix(struct snap_policy *p, uint64_t queued, uint64_t capacity, unsigned workers,
                unsigned out[SNAP_LEVELS])
{
    mix_left(p, queued, capacity, workers, 0, out);
}

static void match_test(void **state)
{
    (void)state;
    struct snap_policy p;
    unsigned m[SNAP_LEVELS];
    /* the queue at its target (half full): the workers aim at the disk's rate.  At 100
     * MB/s one worker has a surplus of 345 bytes a KiB at LZ4 (532 out, 188 drained
     * meanwhile) and a deficit of 456 at LZ4HC 3: 345 / 801 of the blocks (43%) at LZ4HC
     * 3 write exactly as fast as the disk drains (dithered from 110/256 of a rung) */
    known(&p, 100);
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4HC_3], 42);
    assert_int_equal(m[SNAP_LZ4], PICKS - 42);
    /* at 2000 MB/s: storing and LZ4 fast, 36% at LZ4 fast (712 / 1972; dithered, 35) */
    known(&p, 2000);
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4_FAST], 35);
    assert_int_equal(m[SNAP_STORE], PICKS - 35);
    /* four workers write four times as fast: LZ4 fast and LZ4, 26% at LZ4 */
    known(&p, 2000);
    mix(&p, QUEUE / 2, QUEUE, 4, m);
    assert_int_equal(m[SNAP_LZ4], 26);
    assert_int_equal(m[SNAP_LZ4_FAST], PICKS - 26);
    /* 0 workers count as one */
    known(&p, 2000);
    mix(&p, QUEUE / 2, QUEUE, 0, m);
    assert_int_equal(m[SNAP_LZ4_FAST], 35);
    /* a disk faster than the workers storing: all stored; slower than them at LZ4HC 9:
     * all at LZ4HC 9 */
    known(&p, 20000);
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_STORE], PICKS);
    known(&p, 10);
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4HC_9], PICKS);
}

static void aim_test(void **state)
{
    (void)state;
    struct snap_policy p;
    unsigned m[SNAP_LEVELS];
    /* a full queue (twice the target in hand) aims at half the disk's rate: on the 100
     * MB/s disk LZ4HC 3 nearly keeps up with that, and a few blocks go to LZ4HC 9 */
    known(&p, 100);
    mix(&p, QUEUE, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4] + m[SNAP_LZ4_FAST] + m[SNAP_STORE], 0);
    assert_true(m[SNAP_LZ4HC_3] > 95);
    assert_true(m[SNAP_LZ4HC_9] > 0);
    /* a queue a fifth full aims at 5/4 of it: more at LZ4, less at LZ4HC 3 than at the
     * target */
    known(&p, 100);
    mix(&p, QUEUE / 5, QUEUE, 1, m);
    assert_true(m[SNAP_LZ4HC_3] > 20 && m[SNAP_LZ4HC_3] < 43);
    /* a rung above the lowest needs 4 of its turns in hand: 128 KiB hold 1.3 ms of the
     * 100 MB/s disk, 4 turns of LZ4 (0.5 ms) but not of LZ4HC 3 (2.4 ms) */
    known(&p, 100);
    mix(&p, 128 << 10, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4HC_3], 0);
    assert_true(m[SNAP_LZ4] > 0);
    /* the turns in hand are the worker's, at its speed: at a third of a CPU, 4 turns of
     * LZ4 take 1.44 ms, more than the 1.3 ms in hand, and LZ4 fast (0.72 ms) stands in */
    known(&p, 100);
    p.speed_pm = 333;
    mix(&p, 128 << 10, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4] + m[SNAP_LZ4HC_3] + m[SNAP_LZ4HC_9], 0);
    assert_true(m[SNAP_LZ4_FAST] > 0);
    /* on the 2000 MB/s disk the same 128 KiB are 66 us: stored */
    known(&p, 2000);
    mix(&p, 128 << 10, QUEUE, 4, m);
    assert_int_equal(m[SNAP_STORE], PICKS);
}

static void hull_test(void **state)
{
    (void)state;
    struct snap_policy p;
    unsigned m[SNAP_LEVELS];
    /* LZ4 fast saving 10% for 90 us more than storing, LZ4 48% for 20 us more than that:
     * LZ4 fast lies above the line from storing to LZ4, and a mix of those two writes as
     * little in less time.  The 100 MB/s disk between them: no block at LZ4 fast */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 900, 520, 470, 400 }, (const unsigned[]){ 10, 100, 120, 600, 1400 });
    p.drain_bps = 400000000;
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4_FAST], 0);
    assert_true(m[SNAP_STORE] > 0 && m[SNAP_LZ4] > 0);
    /* a rung slower than the next and writing more is no part of any mix either */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 520, 470, 400 }, (const unsigned[]){ 10, 130, 120, 600, 1400 });
    p.drain_bps = 300000000;
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    assert_int_equal(m[SNAP_LZ4_FAST], 0);
}

static void start_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* the disk's speed not known yet: the lowest rung until two blocks are queued (the
     * disk must not wait for the first), then the starting rung, which falls to the rung
     * that may be tried (LZ4 fast, just above storing) */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view q = { 0, QUEUE, 0, 1000000, 1, 0, 0 };
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);
    snap_policy_learn(&p, SNAP_STORE, RAW, RAW, 10000);
    q.queued = 2 * RAW - 1;
    q.now_ns += 20000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_STORE);
    q.queued = 2 * RAW;
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
    /* nor any rung above the lowest before the lowest's time is known */
    snap_policy_init(&p, SNAP_LZ4);
    p.drain_bps = 100000000;
    assert_int_equal(snap_policy_pick(&p, &q), SNAP_LZ4_FAST);
}

static void drain_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a window in which the disk drained less than was queued at its start: it never ran
     * dry, so the rate is its speed */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view q = { 1u << 20, QUEUE, 1000, 1000000, 1, 0, 0 };
    snap_policy_pick(&p, &q);
    q.drained += 200000;
    q.now_ns += 100000;                         /* 200 KB in 100 us */
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 2000000000ull);
    /* the next such window is averaged in: a disk slowing down is followed, at once down
     * to what a disk busy all the window wrote at most (what drained and 2 blocks: 331072
     * bytes in 2 ms), then by the average with the window's rate */
    q.drained += 200000;
    q.now_ns += 2000000;                        /* 100 MB/s */
    q.queued = 100000;                          /* the next window starts with 100 KB */
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, (165536000ull + 100000000ull) / 2);
    /* a window in which it drained more than was queued at its start may hold idle time:
     * its rate is a bound below the disk's speed, and only raises what is known */
    q.now_ns += 100;
    snap_policy_pick(&p, &q);                   /* too short: the window goes on */
    q.queued = 100000;
    q.drained += 400000;                        /* 400 KB in 10 ms: 40 MB/s */
    q.now_ns += 10000000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 132768000ull);
    q.drained += 400000;                        /* 400 KB in 100 us: 4000 MB/s */
    q.now_ns += 100000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 4000000000ull);
    /* and stands for the speed while it is not known (workers that never let the queue
     * fill would otherwise never learn it) */
    snap_policy_init(&p, SNAP_LZ4);
    q.queued = 0;
    snap_policy_pick(&p, &q);
    q.drained += 400000;
    q.now_ns += 100000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 4000000000ull);
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

static void slowing_disk_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* a 2000 MB/s disk with 1 MiB queued drains 64 KiB in the next millisecond: too few
     * bytes for a window, but a disk busy all that time wrote at most those and 2 blocks
     * more, 196.6 MB/s, and the workers know it at once */
    known(&p, 2000);
    struct snap_queue_view q = { 1u << 20, QUEUE, 1000, 1000000, 1, 0, 0 };
    snap_policy_pick(&p, &q);
    q.drained += 65536;
    q.now_ns += 1000000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 196608000ull);
    /* a disk that drained all it had queued may have waited: nothing is bounded */
    known(&p, 2000);
    q.queued = 65536;
    snap_policy_pick(&p, &q);
    q.drained += 65536;
    q.now_ns += 1000000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.drain_bps, 2000000000ull);
}

static void end_game_test(void **state)
{
    (void)state;
    struct snap_policy p;
    unsigned m[SNAP_LEVELS], far[SNAP_LEVELS], near[SNAP_LEVELS], sparse[SNAP_LEVELS];
    /* far from the end (64 MiB still to encode write some 33 MB at LZ4, far more than
     * the half queue kept) the RAM left changes nothing: 42% at LZ4HC 3 */
    known(&p, 100);
    mix(&p, QUEUE / 2, QUEUE, 1, m);
    known(&p, 100);
    mix_left(&p, QUEUE / 2, QUEUE, 1, 64u << 20, far);
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        assert_int_equal(far[l], m[l]);
    /* 12 MiB left write 6.5 MB: the queue kept is a quarter of that, 1.6 MB, and the 2
     * MiB queued are spent on harder rungs */
    known(&p, 100);
    mix_left(&p, QUEUE / 2, QUEUE, 1, 12u << 20, near);
    assert_true(near[SNAP_LZ4HC_3] + near[SNAP_LZ4HC_9] > m[SNAP_LZ4HC_3] + m[SNAP_LZ4HC_9]);
    /* the same RAM half zero pages (as the blocks seen so far were) writes half as much:
     * harder still */
    known(&p, 100);
    for (unsigned i = 0; i < 5; i++)
        snap_policy_learn(&p, SNAP_LZ4, 0, 0, 0);
    mix_left(&p, QUEUE / 2, QUEUE, 1, 12u << 20, sparse);
    assert_true(sparse[SNAP_LZ4HC_9] > near[SNAP_LZ4HC_9]);
    assert_int_equal(sparse[SNAP_LZ4] + sparse[SNAP_LZ4_FAST] + sparse[SNAP_STORE], 0);
    /* a megabyte left and 21 ms in hand: the aim is an eighth of the disk's rate, all at
     * LZ4HC 9 (4 of its turns, 5.6 ms, are in hand) */
    known(&p, 100);
    mix_left(&p, QUEUE / 2, QUEUE, 1, 1u << 20, m);
    assert_int_equal(m[SNAP_LZ4HC_9], PICKS);
    /* but not with less than 4 of its turns in hand */
    known(&p, 100);
    mix_left(&p, 256 << 10, QUEUE, 1, 1u << 20, m);
    assert_int_equal(m[SNAP_LZ4HC_9], 0);
    assert_true(m[SNAP_LZ4HC_3] > 0);
}

static void speed_test(void **state)
{
    (void)state;
    struct snap_policy p;
    unsigned fast[SNAP_LEVELS], slow[SNAP_LEVELS];
    /* a worker whose blocks take four times their encoding (it waits for a CPU) learns
     * turns that long, with outliers capped, and what is beyond them as its speed: its
     * matched effort falls */
    known(&p, 100);
    mix(&p, QUEUE / 2, QUEUE, 1, fast);
    known(&p, 100);
    struct snap_queue_view q = { QUEUE / 2, QUEUE, 1000, 1000000, 1, 0, 0 };
    for (unsigned i = 0; i < 8; i++) {
        snap_policy_pick(&p, &q);
        snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 120000);
        q.now_ns += 4 * 120000;
        q.drained += 48000;                     /* the disk at its 100 MB/s meanwhile */
    }
    snap_policy_pick(&p, &q);
    uint32_t speed = p.speed_pm;
    assert_true(speed > 0 && speed < 1000);
    mix(&p, QUEUE / 2, QUEUE, 1, slow);
    assert_true(slow[SNAP_LZ4HC_3] < fast[SNAP_LZ4HC_3]);
    /* a turn ending with the queue within two blocks of full teaches nothing (putting the
     * block may have waited for room: the disk's time) */
    uint64_t said = p.said_ns, took = p.took_ns;
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 120000);
    q.queued = QUEUE - RAW;
    q.now_ns += 100 * 120000;
    snap_policy_pick(&p, &q);
    assert_int_equal(p.said_ns, said);
    assert_int_equal(p.took_ns, took);
    assert_int_equal(p.speed_pm, speed);
}

static void dry_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* the queue found empty at every pick, half a millisecond apart: the disk has been
     * dry 77% of the recent time, waiting for the workers, though the estimates say they
     * outpace it (and the queue, once half full again, says it is on target).  They aim
     * at 1.77 times its rate: LZ4 with 14% at LZ4HC 3, where the match was 43% */
    known(&p, 100);
    struct snap_queue_view q = { 0, QUEUE, 1000, 1000000, 1, 0, 0 };
    for (unsigned i = 0; i < 20; i++) {
        snap_policy_pick(&p, &q);
        q.now_ns += 500000;
    }
    q.queued = QUEUE / 2;
    snap_policy_pick(&p, &q);
    assert_in_range(p.effort, STEP_OF(2) + 30, STEP_OF(2) + 40);
    /* it forgets over a few milliseconds: the queue kept, the matched mix comes back
     * (2.43 rungs: 43% at LZ4HC 3) */
    for (unsigned i = 0; i < 100; i++) {
        q.now_ns += 500000;
        snap_policy_pick(&p, &q);
    }
    assert_in_range(p.effort, STEP_OF(2) + 100, STEP_OF(2) + 120);
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
    unsigned m[SNAP_LEVELS];
    mix_taught(&p, QUEUE, QUEUE, (const unsigned[]){ 1000, 1000, 1000, 1000, 1000 }, m);
    assert_int_equal(m[SNAP_LZ4_FAST], RETRIES);      /* one try each time it is forgotten */
    assert_int_equal(m[SNAP_STORE], PICKS - RETRIES);
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
    /* with a clock too: a full queue on a slow disk takes the fewest bytes that pay */
    snap_policy_init(&p, SNAP_LZ4);
    teach(&p, (const unsigned[]){ 1000, 600, 600, 600, 600 }, block_us);
    p.drain_bps = 100000000;
    unsigned m[SNAP_LEVELS];
    mix_taught(&p, QUEUE, QUEUE, (const unsigned[]){ 1000, 600, 600, 600, 600 }, m);
    assert_int_equal(m[SNAP_LZ4], RETRIES);
    assert_int_equal(m[SNAP_LZ4_FAST], PICKS - RETRIES);
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
    /* a turn is learned from one pick to the next, for the rung of the block between */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view at = { 0, QUEUE, 0, 1000000, 1, 0, 0 };
    snap_policy_pick(&p, &at);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 150000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 150000 / 64);
    at.now_ns += 300000;                        /* no block learned in between: nothing */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 150000 / 64);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 300000000;                     /* a turn 2000 times longer counts twice */
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 150000 / 64 * 5 / 4 + 1);
    /* a turn that ends with the queue within two blocks of full is not learned: putting
     * the block may have waited for room */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.queued = QUEUE - RAW;
    at.now_ns += 900000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 150000 / 64 * 5 / 4 + 1);
    /* a rung's first turn counts at most twice what its encoding said */
    snap_policy_init(&p, SNAP_LZ4);
    at.queued = 0;
    snap_policy_pick(&p, &at);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 64000);
    at.now_ns += 64000000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 2 * 1000 + 1);
}

static void cpu_clock_test(void **state)
{
    (void)state;
    struct snap_policy p;
    /* with the worker's CPU clock, a turn is the CPU time from one pick to the next: a
     * worker that waited 450 us for a CPU prices LZ4 by the 150 us it ran */
    snap_policy_init(&p, SNAP_LZ4);
    struct snap_queue_view at = { 0, QUEUE, 0, 1000000, 1, 0, 5000000 };
    snap_policy_pick(&p, &at);
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.now_ns += 600000;
    at.cpu_ns += 150000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], 150000 / 64);
    /* and the wall time is in its speed: what the turn said over what it took */
    uint64_t said = 100000 * 1024 / RAW * 64;   /* the encoding's, before the turn's */
    assert_int_equal(p.speed_pm, said * 1000 / 600000);
    /* a turn ending with the queue near full is learned (waiting for room spends no CPU
     * time), but not its wall time: the speed stays */
    uint32_t speed = p.speed_pm;
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.queued = QUEUE - RAW;
    at.now_ns += 5000000;
    at.cpu_ns += 250000;
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4],
                     150000 / 64 - (150000 / 64 >> 2) + (250000 * 1024 / RAW >> 2));
    assert_int_equal(p.speed_pm, speed);
    /* a clock going back (or none) is no turn: the wall time stands for it */
    snap_policy_learn(&p, SNAP_LZ4, RAW, RAW / 2, 100000);
    at.queued = 0;
    at.now_ns += 100000;
    at.cpu_ns -= 1;
    uint32_t cycle = p.cycle_ns_per_kib[SNAP_LZ4];
    snap_policy_pick(&p, &at);
    assert_int_equal(p.cycle_ns_per_kib[SNAP_LZ4], cycle - (cycle >> 2) + (100000 * 1024 / RAW >> 2));
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
    struct snap_queue_view huge = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX,
                                      UINT64_MAX, 0 };
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
    known(&p, 1);                               /* the slowest disk measured: 1 KB/s */
    p.drain_bps = 1000;
    p.speed_pm = 20;
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
        cmocka_unit_test(match_test),
        cmocka_unit_test(aim_test),
        cmocka_unit_test(hull_test),
        cmocka_unit_test(start_test),
        cmocka_unit_test(drain_test),
        cmocka_unit_test(slowing_disk_test),
        cmocka_unit_test(end_game_test),
        cmocka_unit_test(speed_test),
        cmocka_unit_test(dry_test),
        cmocka_unit_test(incompressible_test),
        cmocka_unit_test(paying_rungs_test),
        cmocka_unit_test(bands_test),
        cmocka_unit_test(learn_test),
        cmocka_unit_test(turn_test),
        cmocka_unit_test(cpu_clock_test),
        cmocka_unit_test(fixed_and_edges_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
