/*
 * Lazy restore (`restore FILE [as NEWNAME] lazy`): the partition runs before its RAM is
 * loaded.  snapshot_restore.c checks the file's header, regions and disks (not its
 * blocks), creates the partition and hands it here with the open file: every page of RAM
 * is made absent in the second-level tables, the vCPUs and devices are restored and start.
 *
 *  - A vCPU's access to an absent page exits to snapshot_lazy_fault: the vCPU is parked
 *    (VCPU_PARKED, picked by no CPU) and the page's block is queued for the loader, ahead
 *    of the rest.  Two vCPUs on one block both wait for the one load.  An interrupt whose
 *    delivery the fault cut short goes back to its LAPIC, pending, and is taken when the
 *    vCPU runs again: a periodic tick delivered after the wait counts as late, and its
 *    count restarts then (hv/vdev/lapic.c), not at the injection that did not deliver it.
 *  - The loader is one worker item (worker.h) that loads one block a run, reading and
 *    decoding it from the file (never in an exit), filling RAM, making the block present
 *    and waking the vCPUs that wait for it; then it queues itself again: faulted blocks
 *    first, oldest first, then the others in RAM order (hv/snapshot/snap_lazy.h).
 *  - The hypervisor's own accesses to the partition's RAM (device models, hypercalls,
 *    instruction emulation, channels) go through guest_mem.h, whose hook loads what is
 *    missing there and then, under the same load lock as the loader (so a block is never
 *    loaded twice).  Disk I/O in a caller's context: guest_mem's rule says it is not for a
 *    caller that holds the pool's lock.  A partition with disks is not started lazily at
 *    all: virtio DMA reaches any page, and the disk path copies to and from guest memory
 *    under the partition's lock (and, for a piece done without the queue, the pool's),
 *    where a load would take the pool's lock out of order; so its RAM is loaded before it
 *    runs (the restore says so).
 *  - A block that fails its checks or does not decode ends the partition, in one line;
 *    the hypervisor and the other partitions carry on.
 *
 * When the last block is in, the RAM's CRC-32C (from the blocks', in RAM order) is printed
 * against the snapshot's, with the times since the restore began.
 */
#ifndef ATOLL_HV_CORE_SNAPSHOT_LAZY_H
#define ATOLL_HV_CORE_SNAPSHOT_LAZY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"
#include "hv/core/snapshot_pool.h"

/* The file a restore reads (snapshot_restore.c), open, its header checked. */
struct restore_file {
    struct snapshot_pool_file pf;
    struct snap_io io;
    struct snap_header h;
    void *codec;
    size_t codec_pages;
    uint8_t *buf, *block;       /* SNAP_ENCODED_MAX, SNAP_BLOCK_SIZE */
    uint8_t *state;
    size_t state_pages;
    char manifest[SNAP_MAX_MANIFEST + 1];
};
void restore_file_free(struct restore_file *r);

/* When the restore began, had checked the file, had created the partition (time_ns). */
struct restore_times {
    uint64_t began, checked, created;
};

/* q created, not started, no RAM loaded: makes all of it absent and takes r (freed when
 * the load ends, or here on failure).  False with one line in err. */
bool snapshot_lazy_arm(struct partition *q, struct restore_file *r, const char *file,
                       const struct restore_times *times, char *err, size_t err_size);
/* q's vCPUs and devices are restored and it runs: the loader starts with the first block a
 * vCPU faults on (at once if one already waits).  False with one line in err (the caller
 * ends q). */
bool snapshot_lazy_start(struct partition *q, char *err, size_t err_size);

enum snapshot_lazy_fault {
    LAZY_NOT_MINE,          /* not an absent page of a lazy restore: the usual handling */
    LAZY_RETRY,             /* loaded meanwhile: enter the guest again */
    LAZY_PARKED,            /* the vCPU waits (VCPU_PARKED) for the loader */
    LAZY_LOST,              /* the load failed: the partition is ending */
};
/* An EPT violation at gpa on a page whose entry had no permissions. */
enum snapshot_lazy_fault snapshot_lazy_fault(struct vcpu *v, uint64_t gpa);
/* p's last vCPU has left: the loader is stopped and everything freed (before p's RAM is). */
void snapshot_lazy_end(struct partition *p);

#endif
