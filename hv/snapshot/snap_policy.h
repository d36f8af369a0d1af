/*
 * How hard a snapshot compression worker compresses its next block, decided from the
 * write queue it feeds (the seed's idea): a deep queue means the disk is the bottleneck,
 * so spend CPU to write fewer bytes; an empty queue means the CPU is, so compress less.
 * The reasoning and the measurements behind each rule are in SNAPSHOT.md ("The level
 * policy").  Each worker learns, from its own blocks, each rung's output size and wall
 * time of encoding, and its stretch: a block's whole turn (pick to pick) over its
 * encoding, which grows when the workers wait for a CPU.  It measures the disk's speed
 * over windows in which the disk never ran dry (it drained less than was queued at the
 * window's start), and the disk's busy share of the last few milliseconds (the bytes it
 * drained over that speed).  Before every block, with a clock:
 *
 *  - each rung that pays is priced: the disk's time for its bytes, weighed by the queue's
 *    fill but no more than the disk's busy share, plus the workers' time for its encoding
 *    (stretched, over the view's worker count), weighed by the rest.  A full queue on a
 *    disk always busy makes the workers' time free (fewest bytes); an empty queue, or a
 *    disk the workers leave idle, makes the disk's time free (cheapest encoding).  The
 *    cheapest rung is used; the current one is kept while it costs at most
 *    `hysteresis_pct` more.  A rung pays unless it writes less than 1% fewer bytes than the
 *    rung below (incompressible RAM is stored); an untried rung is tried only just above a
 *    rung that compresses, and is priced from the rungs known by a prior;
 *  - a rung above the floor is used only if the disk has the work in hand: what is queued
 *    must cover 8 of the rung's turns at the disk's speed, so that a slow rung on a fast
 *    disk cannot leave it idle;
 *  - the floor, which needs only 2 turns in hand, and is no higher than the priced rung:
 *    the highest paying rung at which all the workers together write at least as fast as
 *    the disk drains, or at which the disk time its fewer bytes save is at least the worker
 *    time its longer turns cost (over the worker count).
 *
 * Until the disk's speed is measured: the lowest rung until an eighth of the queue is
 * filled (enough to measure the disk), then the starting rung.  Without a clock (no rates),
 * the depth alone picks a band of the queue, one per rung, emptiest band fastest, kept
 * while the depth is within `hysteresis_pct` of it.  A rung that does not qualify falls to
 * the next rung below that does.  Each worker keeps its own policy.  Portable.
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
};

/* Every this many blocks a worker forgets what it learned of the lowest rung it skips, so
 * that the rung is tried again (RAM further on may compress where this did not). */
#define SNAP_POLICY_RETRY_PICKS 128

struct snap_policy {
    enum snap_level level;
    enum snap_level start;              /* the starting rung: the highest before the disk's
                                           speed is measured, where there is a clock */
    enum snap_level lowest, highest;    /* the rungs it may use */
    unsigned hysteresis_pct;            /* per cent more the current rung may cost; without
                                           a clock, of the capacity around its band */
    /* the drain rate, measured over windows in which the disk never ran dry: the window's
     * start, the bytes drained then and the bytes queued then */
    uint64_t last_ns, last_drained, window_queued;
    uint64_t drain_bps;                 /* bytes per second; 0 until measured */
    /* the disk's busy time (its drained bytes over drain_bps) and the time, between this
     * worker's blocks, in sums that forget over a few milliseconds */
    uint64_t busy_at_ns, busy_drained, busy_ns, window_ns;
    /* learned per rung from this worker's blocks (moving averages; 0: not yet seen) */
    uint32_t ns_per_kib[SNAP_LEVELS];   /* wall time per KiB of non-zero input */
    uint16_t out_permille[SNAP_LEVELS]; /* bytes out per 1000 in */
    /* time per KiB of non-zero input from one pick to the next (the block's whole turn:
     * encoding, putting, and any time the worker did not run), by the rung picked */
    uint32_t cycle_ns_per_kib[SNAP_LEVELS];
    uint64_t last_pick_ns;              /* the clock at the previous pick (0: none) */
    uint32_t last_raw;                  /* that block's non-zero bytes (0: none learned) */
    uint8_t last_tried;                 /* and the rung it was encoded at */
    uint64_t last_encode_ns;            /* and the wall time of its encoding (0: none) */
    /* a block's turn over its encoding, per mille (moving average; 0: not yet seen): what
     * a worker's encoding time really costs when it shares the CPUs */
    uint32_t stretch_pm;
    uint32_t picks;                     /* blocks decided, for re-trying a skipped rung */
    uint32_t learned;                   /* blocks with data learned from, so far */
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
 * length when the level did not shrink it and it was stored), and the wall time of the
 * encoding (0: not measured).  Blocks of zero pages only teach nothing: pass raw_len 0. */
void snap_policy_learn(struct snap_policy *p, enum snap_level tried, uint32_t raw_len,
                       uint32_t out_len, uint64_t ns);

const char *snap_level_name(enum snap_level l);

#endif
