/* fw_cfg: the few items unmodified test kernels read to learn CPUs and RAM. */
#include "hv/vdev/fw_cfg.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

void fw_cfg_init(struct fw_cfg *f, const struct vdev_platform *plat)
{
    memset(f, 0, sizeof(*f));
    f->plat = plat;
}

static uint8_t le_byte(uint64_t v, unsigned width, uint32_t offset)
{
    return offset < width ? (uint8_t)(v >> (8 * offset)) : 0;
}

uint8_t fw_cfg_item_byte(const struct fw_cfg *f, uint16_t key, uint32_t offset)
{
    static const char signature[4] = { 'Q', 'E', 'M', 'U' };
    switch (key & 0x3fff) {
    case FW_CFG_SIGNATURE: return offset < 4 ? (uint8_t)signature[offset] : 0;
    case FW_CFG_ID:        return le_byte(1, 4, offset);
    case FW_CFG_RAM_SIZE:  return le_byte(f->plat->ram_bytes, 8, offset);
    case FW_CFG_NB_CPUS:
    case FW_CFG_MAX_CPUS:  return le_byte(f->plat->vcpu_count, 2, offset);
    case FW_CFG_FILE_DIR:  return 0;   /* count 0 (4 bytes BE), no entries */
    default:               return 0;
    }
}

/* Only a 16-bit write at 0x510 (select) and 8-bit accesses at 0x511 (data) are valid,
 * as on QEMU; data writes are ignored. */
static bool fw_cfg_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct fw_cfg *f = dev;
    if (port != FW_CFG_PORT_DATA || size != 1)
        return false;
    *value = fw_cfg_item_byte(f, f->selector, f->offset);
    if (f->offset < UINT32_MAX)
        f->offset++;
    return true;
}

static bool fw_cfg_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct fw_cfg *f = dev;
    if (port == FW_CFG_PORT_SEL && size == 2) {
        f->selector = (uint16_t)value;
        f->offset = 0;
        return true;
    }
    return port == FW_CFG_PORT_DATA && size == 1;
}

bool fw_cfg_register(struct fw_cfg *f, struct vdev_bus *bus)
{
    struct vdev_port_range r = {
        .base = FW_CFG_PORT_SEL, .count = 2, .read = fw_cfg_read, .write = fw_cfg_write,
        .dev = f,
    };
    return vdev_bus_add_ports(bus, &r);
}

/* ---- reset, save and restore (section 'FWCF') ---------------------------------------- */

static const struct state_field fw_cfg_fields[] = {
    STATE_U16(struct fw_cfg, selector, 1), STATE_U32(struct fw_cfg, offset, 1),
};

static const struct state_desc fw_cfg_desc =
    STATE_DESC("fw_cfg", STATE_ID('F', 'W', 'C', 'F'), 1, 1, fw_cfg_fields);

static void fw_cfg_state_reset(void *dev)
{
    struct fw_cfg *f = dev;
    fw_cfg_init(f, f->plat);
}

static bool fw_cfg_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &fw_cfg_desc, 0, dev);
}

/* Any selector and offset is one the guest could have set (unknown items read as 0). */
static int fw_cfg_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct fw_cfg *f = dev;
    struct fw_cfg t = *f;
    if (state_load(s, &fw_cfg_desc, &t, err, n))
        return -1;
    *f = t;
    return 0;
}

bool fw_cfg_register_state(struct fw_cfg *f, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "fw_cfg", .kind = state_desc_kind(&fw_cfg_desc), .dev = f,
        .reset = fw_cfg_state_reset, .save = fw_cfg_state_save,
        .restore = fw_cfg_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
