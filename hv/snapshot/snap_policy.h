/*
 * How hard a snapshot compression worker compresses its next block, decided from the
 * write queue it feeds.  The snapshot is done when its last byte is durable: the disk must
 * never wait for the workers, and should write as few bytes as that allows.  Each worker
 * learns from its own blocks each rung's output size, its time of encoding and its turn
 * (pick to pick: encoding, putting), in the worker's CPU time where the pipeline has that
 * clock (else in wall time, which also holds any time the worker did not run), and its
 * speed (what those turns said its blocks would take over the wall time they took,
 * outliers included);
 * it measures the disk's speed over windows in which the disk never ran dry (and bounds it
 * at once by what a disk busy since the window began can have written: a disk slowing down
 * is followed within a block or two), and how much of the last few milliseconds it found
 * the queue dry.  Before every block, with a clock:
 *
 *  - the aim: the disk's rate, scaled by the target over the work in hand, between 1/2
 *    and 5/4 of it, and raised up to twice with the dry share (a disk that waited for the
 *    workers says they are slower than the estimates).  The target is half the queue, but
 *    towards the end at most a quarter of what the RAM left will write (the view's
 *    `remaining`, the share of non-zero RAM seen, the last rung's output), the aim then
 *    down to 1/8 of the disk's rate: what is queued when the last block is put drains
 *    while the CPUs idle, so the end spends it on harder rungs;
 *  - the matched effort: at rung r the workers together write W * out_r / turn_r bytes
 *    a second.  Along the rungs that pay and lie on the lower convex hull of (turn,
 *    output), the mix of two neighbours that writes exactly at the aim (a rung pays unless
 *    it writes less than 1% fewer bytes than the paying rung below it; an untried rung is
 *    tried only just above a rung that compresses, priced from the known rungs by a
 *    prior);
 *  - the effort's fraction is dithered: at 2.3 rungs a worker uses the third paying rung
 *    for 3 blocks in 10 and the second for the rest;
 *  - a rung above the lowest only while the disk has the work in hand (what is queued
 *    covers 4 of the rung's turns, over the worker's speed, at the disk's speed) or the rung pays back the disk's
 *    waiting for it (it saves more disk time over the lowest rung than its turn is
 *    longer: LZ4 rather than storing on a slow disk left empty).
 *
 * Until the disk's speed is measured: the lowest rung while fewer than 2 blocks are queued,
 * then the starting rung (or the paying rung below it).  Without a clock (no rates), the
 * depth alone picks a band of the queue, one per rung, emptiest band fastest, kept while
 * the depth is within `hysteresis_pct` of it.  Each worker keeps its own policy.  Portable.
 * SNAPSHOT.md ("The level policy") has the reasoning and the measurements.
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_POLICY_H
#define ATOLL_HV_SNAPSHOT_SNAP_POLICY_H
#include <stdint.h>

/* The ladder, fastest (most bytes written) first. */
enum snap_level {
    SNAP_STORE,         /* copy as is */
    SNAP_LZ4_FAST,      /* LZ4 with acceleration 8 */
    SNAP_LZ4,           /* LZ4 default */
    SNAP_LZ4HC_3,       /* LZ4HC level 3 */
    SNAP_LZ4HC_9,       /* LZ4HC level 9 */
    SNAP_LEVELS
};

/* What a worker sees of the write queue before a block. */
struct snap_queue_view {
    uint64_t queued;            /* bytes waiting to be written */
    uint64_t capacity;          /* bytes the queue holds (0: treated as empty) */
    uint64_t drained;           /* bytes written since the snapshot began (0: not known) */
    uint64_t now_ns;            /* a monotonic clock (0: no clock; no rates are measured) */
    unsigned workers;           /* workers putting blocks on the queue, this one too (0: 1) */
    uint64_t remaining;         /* bytes of RAM still to encode, this block's included
                                   (0: not known) */
    uint64_t cpu_ns;            /* this worker's CPU time (0: not known; the time it ran
                                   is then taken to be the time that passed) */
};

/* Every this many blocks a worker forgets what it learned of the lowest rung it skips, so
 * that the rung is tried again (RAM further on may compress where this did not). */
#define SNAP_POLICY_RETRY_PICKS 32

struct snap_policy {
    enum snap_level level;
    enum snap_level start;              /* the starting rung: the highest before the disk's
                                           speed is measured, where there is a clock */
    enum snap_level lowest, highest;    /* the rungs it may use */
    unsigned hysteresis_pct;            /* without a clock: per cent of the capacity
                                           around the current rung's band */
    /* the drain rate, measured over windows in which the disk never ran dry: the window's
     * start, the bytes drained then and the bytes queued then */
    uint64_t last_ns, last_drained, window_queued;
    uint64_t drain_bps;                 /* bytes per second; 0 until measured */
    /* learned per rung from this worker's blocks (moving averages; 0: not yet seen) */
    uint32_t ns_per_kib[SNAP_LEVELS];   /* encoding time per KiB of non-zero input */
    uint16_t out_permille[SNAP_LEVELS]; /* bytes out per 1000 in */
    /* time per KiB of non-zero input from one pick to the next (the block's whole turn:
     * encoding and putting; in wall time, without the CPU clock, also any time the worker
     * did not run), by the rung picked */
    uint32_t cycle_ns_per_kib[SNAP_LEVELS];
    uint64_t last_pick_ns;              /* the clock at the previous pick (0: none) */
    uint64_t last_pick_cpu;             /* the worker's CPU time then (0: not known) */
    uint32_t last_raw;                  /* that block's non-zero bytes (0: none learned) */
    uint8_t last_tried;                 /* and the rung it was encoded at */
    /* the worker's speed: what its turns said its blocks would take over what they took
     * (per mille, at most 1000; 0: not measured), from sums */
    uint32_t speed_pm;
    uint64_t said_ns, took_ns;
    /* the time the queue was found (about) dry at this worker's picks, and all the time,
     * in sums that forget over a few milliseconds, since the pick at dry_at_ns */
    uint64_t dry_at_ns, dry_ns, window_ns;
    uint32_t effort;                    /* the last effort, in 1/256 of a paying rung */
    uint32_t dither;                    /* the effort's fractions summed, in 1/256 */
    uint32_t picks;                     /* blocks decided, for re-trying a skipped rung */
    uint32_t learned;                   /* blocks with data learned from, so far */
    uint64_t seen, seen_raw;            /* bytes of RAM this worker took, non-zero of them */
};

/* Starts at `start`, free to use the whole ladder, hysteresis 5%. */
void snap_policy_init(struct snap_policy *p, enum snap_level start);
/* A policy that never moves: the fixed-level baselines of the bench. */
void snap_policy_fixed(struct snap_policy *p, enum snap_level level);
/* The level for the next block. */
enum snap_level snap_policy_pick(struct snap_policy *p, const struct snap_queue_view *q);
/* The same from the depth alone (no clock, no drain rate): no work-in-hand limit; learned
 * sizes still skip rungs that do not pay. */
enum snap_level snap_policy_next(struct snap_policy *p, uint64_t queued, uint64_t capacity);
/* What the block just encoded at `tried` cost: its non-zero bytes in, bytes out (the raw
 * length when the level did not shrink it and it was stored), and the time of the
 * encoding (0: not measured): the worker's CPU time where the pipeline has that clock
 * (and passes it in the view's cpu_ns), else wall time.  Blocks of zero pages only teach
 * nothing: pass raw_len 0. */
void snap_policy_learn(struct snap_policy *p, enum snap_level tried, uint32_t raw_len,
                       uint32_t out_len, uint64_t ns);

const char *snap_level_name(enum snap_level l);

#endif
