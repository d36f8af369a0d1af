/*
 * NVMe over PCI (QEMU's 1B36:0010 and standard controllers): admin queue, IDENTIFY of the
 * controller and namespace 1, one I/O queue pair with 8 commands outstanding at most,
 * completion found by polling (block_poll, from whoever drives the disk: the pool's
 * queued transfers poll from the disks' worker items), no interrupts.
 * Data goes through per-slot bounce buffers, so requests may use any kernel buffer.
 */
#ifndef ATOLL_DRIVERS_NVME_NVME_H
#define ATOLL_DRIVERS_NVME_NVME_H
#include "hv/storage/block.h"

/* Finds NVMe controllers (class 01/08/02) and registers namespace 1 of each as nvmeN. */
unsigned nvme_probe(void);

#endif
