/*
 * Reset, save and restore of a virtio-blk device (its own file: virtio_blk.c is the
 * request path's).  One call per device registers its transport's section 'VPCI' and its
 * own 'VBLK', both with this instance (use the PCI slot), on the partition's bus.
 *
 * 'VBLK' holds what is left of a quiescent device: the disk's capacity and sector size
 * (restore refuses a state saved with another disk geometry) and the get-id serial.
 * Save refuses, with the count in the writer's err, while virtio_blk_inflight() is not 0:
 * drain the disks first.  Reset is the transport's (a driver reset: status 0), which
 * drops nothing since nothing is in flight.  After restore, a device with a poll timer
 * (virtio_blk_set_poll_timer) whose driver is ready arms it for now, so requests queued
 * in the ring but not yet taken are taken at the next poll.
 */
#ifndef ATOLL_HV_VDEV_VIRTIO_BLK_STATE_H
#define ATOLL_HV_VDEV_VIRTIO_BLK_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/vdev.h"
#include "hv/vdev/virtio_blk.h"

/* False when the bus refuses a registration (the instance is taken, the table full). */
bool virtio_blk_register_state(struct virtio_blk *b, struct vdev_bus *bus, uint16_t instance);

#endif
