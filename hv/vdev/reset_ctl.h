/*
 * The two ways a PC's software resets the machine through ports:
 *  - System Control Port A (0x92): a write with bit 0 (fast reset) set resets; bit 1 is
 *    the fast A20 gate, always on here (the partition has no A20 mask) and read as 1;
 *    bits 7:2 read back what was written.
 *  - Reset Control Register (0xCF9, byte accesses): a write with bit 2 (RST_CPU) set
 *    resets (0x06: hard reset, 0x0E: full reset, 0x04: soft; all one reset here); bits 1
 *    and 3 read back, bit 2 reads 0.  A dword at 0xCF8 stays PCI's CONFIG_ADDRESS.
 * A reset calls the platform's guest_reset with the port's name; what follows is the
 * partition's choice (its manifest's on-reset).
 */
#ifndef ATOLL_HV_VDEV_RESET_CTL_H
#define ATOLL_HV_VDEV_RESET_CTL_H
#include <stdint.h>
#include "hv/vdev/vdev.h"

#define RESET_CTL_PORT_A  0x92
#define RESET_CTL_RCR     0xcf9

struct reset_ctl {
    const struct vdev_platform *plat;
    uint8_t port_a;         /* bits 7:2 as written */
    uint8_t rcr;            /* bits 1 and 3 as written */
    uint64_t resets;        /* requests seen, for tests and statistics */
};

void reset_ctl_init(struct reset_ctl *r, const struct vdev_platform *plat);
/* Reset, save and restore on bus (section 'RSTC': port 0x92 and 0xCF9 as written). */
bool reset_ctl_register_state(struct reset_ctl *r, struct vdev_bus *bus);
bool reset_ctl_register(struct reset_ctl *r, struct vdev_bus *bus);

#endif
