/*
 * How hard a snapshot compression worker compresses its next block, decided from the
 * write queue it feeds (the seed's idea): a deep queue means the disk is the bottleneck,
 * so spend CPU to write fewer bytes; an empty queue means the CPU is, so compress less.
 * The reasoning and the measurements behind each rule are in SNAPSHOT.md ("The level
 * policy").  Before every block:
 *
 *  - the queue's depth picks a band, one per rung, emptiest band fastest; the worker
 *    keeps its band while the depth stays within `hysteresis_pct` of it, and moves only
 *    the way the queue moves (a queue still filling, as from empty at the start, does not
 *    lower the band; one already draining does not raise it); at the start an empty queue
 *    counts only once this worker has put 2 blocks, and with a clock nothing above the
 *    starting rung is used until the disk's speed is measured;
 *  - the band's rung is used only if it pays: each worker learns, from the blocks it
 *    encoded, each rung's output size and wall time (wall time, so that a worker waiting
 *    for a CPU sees compression get dearer).  A rung writing less than 1% fewer bytes than
 *    the rung below is skipped (incompressible RAM is stored); an untried rung is tried
 *    only just above a rung that compresses;
 *  - and, above the floor, only if the disk has the work in hand: what is queued (over the
 *    drain rate the policy measures) must cover 8 of the rung's turns (a block's time from
 *    one pick to the next), so that a slow rung on a fast disk cannot leave it idle;
 *  - the floor: the highest paying rung at which all the workers together (the view's
 *    worker count, each at this worker's learned output over its learned turn) write at
 *    least as fast as the disk drains, or at which the disk time its fewer bytes save
 *    (over the floor below it) is at least the worker time its longer turns cost (over
 *    the worker count), while 2 of its turns are in hand.  Below it a rung would only
 *    write more bytes, or cost more disk time than it saves the workers.
 *
 * A band whose rung does not qualify falls to the next rung below that does.  Each worker
 * keeps its own policy.  Portable.
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
    unsigned hysteresis_pct;            /* of the capacity, around the current band */
    unsigned band;                      /* the depth's band: rung lowest + band, if it pays */
    uint64_t last_queued;               /* the depth at the previous block: the trend */
    /* the drain rate, measured between blocks while the queue was not empty */
    uint64_t last_ns, last_drained;
    uint64_t drain_bps;                 /* bytes per second; 0 until measured */
    /* learned per rung from this worker's blocks (moving averages; 0: not yet seen) */
    uint32_t ns_per_kib[SNAP_LEVELS];   /* wall time per KiB of non-zero input */
    uint16_t out_permille[SNAP_LEVELS]; /* bytes out per 1000 in */
    /* time per KiB of non-zero input from one pick to the next (the block's whole turn:
     * encoding, putting, and any time the worker did not run), by the rung picked */
    uint32_t cycle_ns_per_kib[SNAP_LEVELS];
    uint64_t last_pick_ns;              /* the clock at the previous pick (0: none) */
    uint32_t last_raw;                  /* that block's non-zero bytes (0: none learned) */
    uint8_t last_tried;                 /* and the rung it was encoded at */
    uint32_t picks;                     /* blocks decided, for re-trying a skipped rung */
    uint32_t learned;                   /* blocks with data learned from, so far */
};

/* Starts at `start` (its band), free to use the whole ladder, hysteresis 5%. */
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
