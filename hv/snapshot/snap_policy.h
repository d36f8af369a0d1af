/*
 * How hard a snapshot compression worker compresses its next block, decided from the
 * depth of the write queue it feeds (the seed's idea): a deep queue means the disk is the
 * bottleneck, so spend CPU to write fewer bytes; an empty queue means the CPU is, so
 * compress less.  The queue's depth is cut into one band per rung of the ladder, emptiest
 * band fastest; a worker takes the rung of the band the depth is in, and keeps its rung
 * while the depth stays within `hysteresis_pct` of its band, so a queue hovering at a
 * band's edge does not flip the level every block.  Where the disk and the workers are
 * matched the queue settles at a depth whose two neighbouring rungs balance them.  Each
 * worker keeps its own policy and asks before every block.  Portable.
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

struct snap_policy {
    enum snap_level level;
    enum snap_level lowest, highest;    /* the rungs it may use */
    unsigned hysteresis_pct;            /* of the queue's capacity, around the current band */
};

/* Starts at `start`, free to use the whole ladder, hysteresis 5% of the queue. */
void snap_policy_init(struct snap_policy *p, enum snap_level start);
/* A policy that never moves: the fixed-level baselines of the bench. */
void snap_policy_fixed(struct snap_policy *p, enum snap_level level);
/* The level for the next block, given the bytes waiting to be written and the queue's
 * capacity in bytes (0: treated as empty). */
enum snap_level snap_policy_next(struct snap_policy *p, uint64_t queued, uint64_t capacity);

const char *snap_level_name(enum snap_level l);

#endif
