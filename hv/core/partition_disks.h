/*
 * A partition's virtio-blk disks: files in the storage pool, VHDX (by the .vhdx ending)
 * or raw, each behind a virtio-blk device on the partition's PCI host bridge.
 */
#ifndef ATOLL_HV_CORE_PARTITION_DISKS_H
#define ATOLL_HV_CORE_PARTITION_DISKS_H
#include <stdbool.h>
#include <stddef.h>
#include "hv/core/partition.h"

#define PARTITION_MAX_DISKS 4
#define PARTITION_DISK_FIRST_SLOT 3     /* PCI 00:03.0, 00:04.0, ... */

/* Opens every path and attaches a device per disk; false with one line in err. */
bool partition_disks_attach(struct partition *p, const char (*paths)[128], unsigned count,
                            char *err, size_t err_size);
/* Partition's lock held: when PARTITION_TIMER_DISKS is due (now_ns from the partition's
 * start), each disk does its next budget of the work its last notify left. */
void partition_disks_poll(struct partition *p, uint64_t now_ns);
/* Flushes and closes the disks (VHDX: marks the log empty); devices and bridge go back. */
void partition_disks_detach(struct partition *p);

#endif
