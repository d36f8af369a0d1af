/*
 * RAM snapshots of partitions into files in the storage pool (format:
 * hv/snapshot/SNAPSHOT.md), and restores from them.  From the boot CPU's loop (the
 * [script]'s `snapshot` and `restore`, the control server's commands), synchronously.
 *
 * A snapshot pauses the partition (partition_pause.h), writes its RAM in 64 KiB blocks
 * that worker items compress (one item per block, each picking its level from the depth
 * of the snapshot's write queue: snap_policy.h), then its vCPUs and devices as a
 * checkpoint stream, its manifest section and the identity of its disks, under a
 * temporary name that is flushed and renamed only when complete; then the partition
 * resumes, or stops.  One line:
 *
 *   snapshot: NAME: FILE: RAM N MiB crc32c 0x..., zero pages P%, written B bytes (R% of RAM), levels {...}, paused T ms[, stopped]
 *
 * A restore checks the whole file (header, every region's and every block's CRC-32C, the
 * RAM's CRC-32C) and every disk's DataWriteGuid against the one at the snapshot before it
 * creates anything; then a partition made from the stored manifest section (named as
 * asked, or as in the file) gets the RAM, the vCPUs and devices, and runs:
 *
 *   restore: NAME: FILE: RAM crc32c 0x... (equal to the snapshot's)
 *
 * A refusal is one line, "snapshot: NAME: FILE: refused: ..." or "restore: FILE: refused:
 * ...; nothing restored".
 */
#ifndef ATOLL_HV_CORE_SNAPSHOT_H
#define ATOLL_HV_CORE_SNAPSHOT_H
#include <stdbool.h>
#include <stddef.h>
#include "hv/core/partition.h"

enum snapshot_result {
    SNAPSHOT_DONE,          /* written (and resumed, or stopped as asked) / restored, running */
    SNAPSHOT_NOT_RUNNING,   /* nothing done: not running / no such file */
    SNAPSHOT_REFUSED,       /* not written (p resumed) / nothing restored */
    SNAPSHOT_LOST,          /* p ended: it could not be paused / the new partition ended */
};

/* Prints its line; the same line in msg. */
enum snapshot_result snapshot_partition(struct partition *p, const char *file, bool stop,
                                        char *msg, size_t msg_size);
/* as_name NULL or "": the name in the file. */
enum snapshot_result snapshot_restore(const char *file, const char *as_name, char *msg,
                                      size_t msg_size);
/* The same, lazily (hv/core/snapshot_lazy.h): the blocks are not read before it runs, and
 * the RAM CRC-32C line comes once the last is loaded, with the timings:
 *   restore: NAME: FILE: lazy: running, RAM loading (N blocks)
 *   ...
 *   restore: NAME: FILE: RAM crc32c 0x... (equal to the snapshot's)
 *   atoll: restore NAME: lazy: vCPUs started after S us, first guest instruction after X us ...
 * A full restore prints "atoll: restore NAME: full: first guest instruction after X us ...". */
enum snapshot_result snapshot_restore_lazy(const char *file, const char *as_name, char *msg,
                                           size_t msg_size);

#endif
