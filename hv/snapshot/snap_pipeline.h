/*
 * The snapshot pipeline without its threads: a scanner hands out RAM blocks in order, and
 * each compression worker (a worker task in the kernel, a thread on the host) takes the
 * next block, asks its policy for a level from what it sees of the sink's queue (depth,
 * bytes written so far, the time), encodes the block, tells the policy what that cost and
 * puts the block on the sink (the SNAPSHOT class write queue in the kernel, a simulated
 * disk in the bench).  Workers share nothing but the scanner's counter.  Portable.
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_PIPELINE_H
#define ATOLL_HV_SNAPSHOT_SNAP_PIPELINE_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_policy.h"

struct snap_scan {
    const uint8_t *ram;
    uint64_t blocks;            /* RAM size / SNAP_BLOCK_SIZE */
    uint64_t next;              /* taken atomically */
};

struct snap_sink {
    void *ctx;
    uint64_t capacity;          /* bytes the write queue holds */
    uint64_t (*queued)(void *ctx);  /* bytes waiting to be written now */
    /* Takes a copy of the block (or waits until there is room); false on a write error,
     * which stops the worker. */
    bool (*put)(void *ctx, uint64_t index, const struct snap_encoded *e, const uint8_t *data);
    /* Optional (NULL: the policy steers by the depth alone): bytes the disk has written
     * since the snapshot began, and a monotonic clock in nanoseconds. */
    uint64_t (*drained)(void *ctx);
    uint64_t (*now_ns)(void *ctx);
    unsigned workers;           /* workers putting blocks on it (0: one) */
    /* Optional (NULL: wall time stands for it): the calling worker's own CPU time in
     * nanoseconds, which a worker sharing its CPU does not accrue while it waits for it. */
    uint64_t (*cpu_ns)(void *ctx);
};

struct snap_worker {
    struct snap_policy policy;
    void *codec_state;          /* snap_codec_state_size() bytes */
    uint8_t *out;               /* SNAP_ENCODED_MAX bytes */
    uint64_t blocks, raw_bytes, encoded_bytes, zero_pages;
    uint64_t at_level[SNAP_LEVELS];     /* blocks with data, by the level actually used */
    uint64_t tried[SNAP_LEVELS];        /* blocks with data, by the level the policy chose */
    uint64_t ns_at[SNAP_LEVELS];        /* time encoding them (CPU time where the sink has
                                           that clock, else wall), by the level chosen */
    uint64_t zero_blocks;               /* blocks of zero pages only: nothing to encode */
    enum snap_level last_tried;         /* the level chosen for the block last put */
    uint64_t last_ns;                   /* and the time it took (0 without a clock) */
    bool failed;
};

void snap_scan_init(struct snap_scan *s, const uint8_t *ram, uint64_t bytes);
/* The next block to encode; false when every block has been handed out. */
bool snap_scan_take(struct snap_scan *s, uint64_t *index);
/* Encodes blocks until the scanner runs dry or the sink fails. */
void snap_worker_run(struct snap_worker *w, struct snap_scan *scan, const struct snap_sink *sink);

#endif
