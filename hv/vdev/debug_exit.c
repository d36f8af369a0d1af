/* isa-debug-exit: the test guest's way to end with a status. */
#include "hv/vdev/debug_exit.h"

void debug_exit_init(struct debug_exit *d, const struct vdev_platform *plat, uint16_t base)
{
    d->plat = plat;
    d->base = base;
    d->hidden = false;
}

void debug_exit_hide(struct debug_exit *d)
{
    d->hidden = true;
}

int debug_exit_status(uint32_t v)
{
    return (int)(((v & 0x3fffffffu) << 1) | 1u);
}

static bool debug_exit_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct debug_exit *d = dev;
    if (d->hidden)
        return false;
    if (d->plat->partition_exit)
        d->plat->partition_exit(d->plat->ctx, debug_exit_status(value));
    return true;
}

bool debug_exit_register(struct debug_exit *d, struct vdev_bus *bus)
{
    struct vdev_port_range r = {
        .base = d->base, .count = 4, .read = NULL, .write = debug_exit_write, .dev = d,
    };
    return vdev_bus_add_ports(bus, &r);
}
