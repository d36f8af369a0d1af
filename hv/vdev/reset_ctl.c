/* Port 0x92 fast reset and the 0xCF9 reset control register. */
#include "hv/vdev/reset_ctl.h"

#define PORT_A_RESET  (1u << 0)
#define PORT_A_A20    (1u << 1)
#define RCR_SYS_RST   (1u << 1)
#define RCR_RST_CPU   (1u << 2)
#define RCR_FULL_RST  (1u << 3)

void reset_ctl_init(struct reset_ctl *r, const struct vdev_platform *plat)
{
    *r = (struct reset_ctl){ .plat = plat };
}

static void reset(struct reset_ctl *r, const char *source)
{
    r->resets++;
    if (r->plat->guest_reset)
        r->plat->guest_reset(r->plat->ctx, source);
}

static bool port_a_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct reset_ctl *r = dev;
    if (size != 1)
        return false;
    *value = r->port_a | PORT_A_A20;
    return true;
}

static bool port_a_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct reset_ctl *r = dev;
    if (size != 1)
        return false;
    r->port_a = (uint8_t)(value & ~(PORT_A_RESET | PORT_A_A20));
    if (value & PORT_A_RESET)
        reset(r, "port 0x92");
    return true;
}

static bool rcr_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct reset_ctl *r = dev;
    if (size != 1)
        return false;
    *value = r->rcr;
    return true;
}

static bool rcr_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct reset_ctl *r = dev;
    if (size != 1)
        return false;
    r->rcr = (uint8_t)(value & (RCR_SYS_RST | RCR_FULL_RST));
    if (value & RCR_RST_CPU)
        reset(r, "port 0xcf9");
    return true;
}

bool reset_ctl_register(struct reset_ctl *r, struct vdev_bus *bus)
{
    struct vdev_port_range a = { RESET_CTL_PORT_A, 1, port_a_read, port_a_write, r };
    struct vdev_port_range rcr = { RESET_CTL_RCR, 1, rcr_read, rcr_write, r };
    return vdev_bus_add_ports(bus, &a) && vdev_bus_add_ports(bus, &rcr);
}
