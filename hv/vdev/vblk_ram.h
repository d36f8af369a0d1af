/*
 * A virtio-blk backend over a buffer in memory: tests, fuzzing, RAM disks.  With async
 * set, every operation returns VBLK_PENDING and waits in a list until
 * vblk_ram_complete() finishes it (in submission order, or newest first).
 */
#ifndef ATOLL_HV_VDEV_VBLK_RAM_H
#define ATOLL_HV_VDEV_VBLK_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/virtio_blk.h"

#define VBLK_RAM_MAX_PENDING VIRTQ_MAX_SIZE

struct vblk_ram {
    uint8_t *data;
    uint64_t bytes;
    uint32_t sector_size;
    bool async;
    bool fail_next;                 /* the next operation reports IOERR */
    struct vblk_io *pending[VBLK_RAM_MAX_PENDING];
    uint8_t pending_op[VBLK_RAM_MAX_PENDING];
    unsigned npending;
    unsigned flushes, discards;
};

extern const struct vblk_backend vblk_ram_backend;
/* Same without write (a read-only disk) and without discard. */
extern const struct vblk_backend vblk_ram_backend_ro;

void vblk_ram_init(struct vblk_ram *r, void *data, uint64_t bytes, uint32_t sector_size);
/* Completes up to max pending operations; returns how many. */
unsigned vblk_ram_complete(struct vblk_ram *r, unsigned max, bool newest_first);

#endif
