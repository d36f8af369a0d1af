/*
 * A partition's virtio-blk disks: files in the storage pool, VHDX (by the .vhdx ending)
 * or raw, each behind a virtio-blk device on the partition's PCI host bridge.
 *
 * Disk I/O never runs in an exit or with interrupts off.  Each disk is a struct
 * block_device of its own (hv/storage/block.h) with its own lock: the device's backend
 * turns every piece of a guest request (at most VIRTIO_BLK_PIECE_BYTES) into a
 * BLOCK_CLASS_GUEST block request on that queue and returns VBLK_PENDING, so the vCPU
 * goes back to its guest at once.  The disk's driver runs the pieces in a worker item
 * (hv/core/worker.h) on whichever CPU runs worker items: an idle one, a service CPU, or,
 * when none gets to it for a time slice, a busy one between two slices.  Up to 8 pieces of
 * a disk are in transfer at once, in order where it matters: two whose ranges (rounded out
 * to 4 KiB) overlap, one of them writing or trimming, never run together, and a flush
 * waits for all before it.  Under the pool's lock (one FAT volume for every disk; never
 * taken in an exit) the item maps a read or write to the pool disk's LBAs (VHDX BAT, FAT
 * chain: hv/storage/pool_io.h); what does not map (a write that allocates, a parent's
 * data, a fragmented range), a flush and a trim it does there as one synchronous step,
 * as before.  With the lock dropped it copies a write's data from guest RAM (under the
 * partition's lock) and queues the transfer on the pool disk, whose own lock lets every
 * disk's item submit and poll it: several transfers of several disks are outstanding on
 * the device at once.  The item polls the pool disk while its transfers run and requeues
 * itself until they end (it is the disk's polling worker); a finished piece's read data
 * goes to guest RAM, and the piece completes under the partition's lock
 * (vblk_io_complete: used ring, MSI-X), which starts the device's next budget of work
 * there and then and kicks the partition's CPUs when work is left for them.
 * Lock order: pool, then partition, then disk; the pool disk's lock is taken under none
 * of them but the pool's.  A piece finishing for a dead partition is dropped; a
 * partition's memory is freed only once its disks' items have stopped and their
 * transfers ended.  The pool's lock does not cover data in transfer: whatever changes a
 * disk's mapping from outside (a live merge) quiesces the disk first.
 *
 * Per-disk limits (manifest `iops =`, `mbps =`) are a token bucket (rate_limit.h) the
 * queue consults before it starts a piece; a throttled piece waits for the disk timer.
 */
#ifndef ATOLL_HV_CORE_PARTITION_DISKS_H
#define ATOLL_HV_CORE_PARTITION_DISKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

#define PARTITION_MAX_DISKS 4
#define PARTITION_DISK_FIRST_SLOT 3     /* PCI 00:03.0, 00:04.0, ... */

struct partition_spec;

/* Opens every disk the spec names (with its limits) and attaches a device per disk;
 * false with one line in err.  Interrupts on, not in an exit. */
bool partition_disks_attach(struct partition *p, const struct partition_spec *spec,
                            char *err, size_t err_size);
/* Partition's lock held: when PARTITION_TIMER_DISKS is due (now_ns from the partition's
 * start), each disk takes its next budget of work from its ring and starts pieces that
 * their throttle held back.  Queues work only: no disk I/O. */
void partition_disks_poll(struct partition *p, uint64_t now_ns);
/* Stops the disks' worker items (waits for a running one), drops what they had not
 * done, flushes and closes the disks (VHDX: marks the log empty); devices and bridge go
 * back.  Interrupts on, not in an exit, the partition's lock not held. */
void partition_disks_detach(struct partition *p);

/*
 * For checkpoints, with the partition's vCPUs paused, interrupts on, not in an exit and
 * the partition's lock not held.  quiesce finishes every request already taken from a
 * ring (the remaining pieces of a large one too), takes no new one, and returns when
 * nothing is in flight: requests still in the avail rings stay there, part of the
 * virtqueue's state.  It runs the disks' queued items itself, so it needs no other CPU.
 * resume takes requests from the rings again.
 */
void partition_disks_quiesce(struct partition *p);
void partition_disks_resume(struct partition *p);
/* A live migration's stop-and-copy, just before its pause (vCPUs running): every disk
 * takes no new request and cancels those it took (virtio_blk_cancel): the pause's quiesce
 * then waits only for pieces already at the pool disk, whose results are dropped.  The
 * cancelled requests start again at resume (the migration failed) or, carried in the
 * state, on the target.  Returns how many were cancelled. */
unsigned partition_disks_cancel(struct partition *p);
/* A partition restored from a migration's state: how many requests it listed to start
 * again (those waiting and those started since). */
unsigned partition_disks_reissue_pending(struct partition *p);

/* The pool's lock, for its other users (snapshot files): the disks' lock order applies
 * (pool, then partition, then disk); interrupts on, never in an exit. */
void partition_pool_lock(void);
void partition_pool_unlock(void);
/* Disk i of p (attached, p not ending): its pool path and its VHDX's DataWriteGuid now
 * (all zero for a raw file).  False when p has no disk i.  Takes the pool's lock. */
bool partition_disk_identity(struct partition *p, unsigned i, char *path, size_t path_size,
                             uint8_t data_write_guid[16]);

/*
 * Live disk operations (hv/core/disk_ops.c).  Their job's steps are BACKGROUND-class block
 * requests on the disk's queue, run by its worker item between guest pieces under the
 * pool's lock (disk_ops_run_step); every guest write or trim that completes there marks
 * the disk's job (disk_job_note_write).  Index i is the disk's place in the manifest.
 */
struct block_request;
struct disk_job;
/* The index of p's disk at pool path `path`, or -1. */
int partition_disk_find(struct partition *p, const char *path);
/* The pool's lock held: disk i's open VHDX (NULL: raw), and the job its writes mark. */
struct vhdx *partition_disk_vhdx(struct partition *p, unsigned i);
void partition_disk_set_job(struct partition *p, unsigned i, struct disk_job *job);
/* The pool's lock held: whether disk i has a live job or a storage migration's units on it. */
bool partition_disk_has_job(struct partition *p, unsigned i);
/* Queues r on disk i in the BACKGROUND class and starts what may start; a block status. */
int partition_disk_submit_background(struct partition *p, unsigned i, struct block_request *r);
/* The pool's lock held, p paused: disk i closes its file and opens `path` (flags for a
 * VHDX: vhdx_open's) of the same size; path NULL: closes only.  False with err: the disk
 * then has no file (call again with the old path, or partition_disk_fail). */
bool partition_disk_switch_file(struct partition *p, unsigned i, const char *path,
                                unsigned vhdx_flags, char *err, size_t err_size);
/* A partition has a disk open on the pool file `path` (its own file, not a parent's), until
 * that disk is closed (an ended partition's too).  Takes the pool's lock. */
bool partition_disk_attached_anywhere(const char *path);
/* Disk i serves no more requests (its file could not be reopened). */
void partition_disk_fail(struct partition *p, unsigned i);

#endif
