/*
 * The isa-debug-exit port (0xf4, 4 ports wide as QEMU's iosize=4): a write of v ends the
 * partition with status (v << 1) | 1.  Bits 30-31 of v are dropped so the status stays
 * a positive int.  Reads return all-ones.  A hidden port (manifest `debug-exit = no`)
 * claims nothing: its writes are unclaimed port writes, dropped and counted as any.
 */
#ifndef ATOLL_HV_VDEV_DEBUG_EXIT_H
#define ATOLL_HV_VDEV_DEBUG_EXIT_H

#include "hv/vdev/vdev.h"

#define DEBUG_EXIT_PORT 0xf4

struct debug_exit {
    const struct vdev_platform *plat;
    uint16_t base;
    bool hidden;
};

void debug_exit_init(struct debug_exit *d, const struct vdev_platform *plat, uint16_t base);
bool debug_exit_register(struct debug_exit *d, struct vdev_bus *bus);
void debug_exit_hide(struct debug_exit *d);
/* The status a write of v produces. */
int debug_exit_status(uint32_t v);

#endif
