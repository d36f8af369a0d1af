/*
 * QEMU's fw_cfg, traditional (port) interface: a 16-bit selector written at 0x510, the
 * item's bytes read one at a time at 0x511.  Items: 0x00 signature "QEMU", 0x01 interface
 * id (1: no DMA), 0x03 RAM size (u64 LE), 0x05 CPU count and 0x0f max CPUs (u16 LE),
 * 0x19 file directory (empty: a big-endian count of 0).  Unknown keys and reads past an
 * item's end return 0.
 */
#ifndef ATOLL_HV_VDEV_FW_CFG_H
#define ATOLL_HV_VDEV_FW_CFG_H

#include "hv/vdev/vdev.h"

#define FW_CFG_PORT_SEL  0x510
#define FW_CFG_PORT_DATA 0x511

#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID        0x01
#define FW_CFG_RAM_SIZE  0x03
#define FW_CFG_NB_CPUS   0x05
#define FW_CFG_MAX_CPUS  0x0f
#define FW_CFG_FILE_DIR  0x19

struct fw_cfg {
    const struct vdev_platform *plat;
    uint16_t selector;
    uint32_t offset;
};

void fw_cfg_init(struct fw_cfg *f, const struct vdev_platform *plat);
/* Reset, save and restore on bus (section 'FWCF': selector and read offset). */
bool fw_cfg_register_state(struct fw_cfg *f, struct vdev_bus *bus);
bool fw_cfg_register(struct fw_cfg *f, struct vdev_bus *bus);
/* Byte `offset` of item `key` (0 past its end or for an unknown key). */
uint8_t fw_cfg_item_byte(const struct fw_cfg *f, uint16_t key, uint32_t offset);

#endif
