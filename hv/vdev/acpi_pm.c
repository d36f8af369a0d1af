#include "hv/vdev/acpi_pm.h"

#define PM1_STS 0
#define PM1_EN  2
#define PM1_CNT 4
#define CNT_SCI_EN   (1u << 0)
#define CNT_SLP_EN   (1u << 13)
#define CNT_SLP_TYP(v) (((v) >> 10) & 7u)

void acpi_pm_init(struct acpi_pm *pm, const struct vdev_platform *plat, uint16_t base)
{
    *pm = (struct acpi_pm){ .plat = plat, .base = base, .control = CNT_SCI_EN };
}

static uint16_t *reg(struct acpi_pm *pm, unsigned off)
{
    switch (off) {
    case PM1_STS: return &pm->status;
    case PM1_EN: return &pm->enable;
    case PM1_CNT: return &pm->control;
    default: return NULL;
    }
}

static bool pm_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct acpi_pm *pm = dev;
    unsigned off = port - pm->base;
    uint16_t *r = reg(pm, off & ~1u);
    if (!r || (size != 1 && size != 2) || (size == 2 && (off & 1)))
        return false;
    *value = size == 2 ? *r : (uint32_t)(*r >> (8 * (off & 1))) & 0xff;
    return true;
}

static bool pm_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct acpi_pm *pm = dev;
    unsigned off = port - pm->base;
    uint16_t *r = reg(pm, off & ~1u);
    if (!r || (size != 1 && size != 2) || (size == 2 && (off & 1)))
        return false;
    uint16_t v = size == 2 ? (uint16_t)value
                           : (uint16_t)((*r & ~(0xffu << (8 * (off & 1)))) |
                                        ((value & 0xffu) << (8 * (off & 1))));
    if ((off & ~1u) == PM1_STS) {
        uint16_t ones = size == 2 ? (uint16_t)value : (uint16_t)((value & 0xffu) << (8 * (off & 1)));
        pm->status &= (uint16_t)~ones;          /* write one to clear */
    } else if ((off & ~1u) == PM1_CNT) {
        pm->control = (uint16_t)((v & ~CNT_SLP_EN) | CNT_SCI_EN);
        if ((v & CNT_SLP_EN) && CNT_SLP_TYP(v) == ACPI_PM_S5_TYPE)
            pm->plat->partition_exit(pm->plat->ctx, 0);
    } else {
        *r = v;
    }
    return true;
}

bool acpi_pm_register(struct acpi_pm *pm, struct vdev_bus *bus)
{
    struct vdev_port_range r = { pm->base, 6, pm_read, pm_write, pm };
    return vdev_bus_add_ports(bus, &r);
}
