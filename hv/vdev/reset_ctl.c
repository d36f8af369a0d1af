/* Port 0x92 fast reset and the 0xCF9 reset control register. */
#include "hv/vdev/reset_ctl.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

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

/* ---- reset, save and restore (section 'RSTC') ---------------------------------------- */

static const struct state_field reset_ctl_fields[] = {
    STATE_U8(struct reset_ctl, port_a, 1), STATE_U8(struct reset_ctl, rcr, 1),
};

static const struct state_desc reset_ctl_desc =
    STATE_DESC("reset", STATE_ID('R', 'S', 'T', 'C'), 1, 1, reset_ctl_fields);

static void reset_ctl_state_reset(void *dev)
{
    struct reset_ctl *r = dev;
    uint64_t resets = r->resets;
    reset_ctl_init(r, r->plat);
    r->resets = resets;
}

static bool reset_ctl_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &reset_ctl_desc, 0, dev);
}

static int reset_ctl_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct reset_ctl *r = dev;
    struct reset_ctl t = *r;
    if (state_load(s, &reset_ctl_desc, &t, err, n))
        return -1;
    if ((t.port_a & (PORT_A_RESET | PORT_A_A20)) || (t.rcr & ~(RCR_SYS_RST | RCR_FULL_RST))) {
        fmt_snprintf(err, n, "state: 'reset' instance %u: port 0x92 0x%x or 0xcf9 0x%x holds "
                     "bits no write leaves", s->instance, t.port_a, t.rcr);
        return -1;
    }
    *r = t;
    return 0;
}

bool reset_ctl_register_state(struct reset_ctl *r, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "reset", .kind = state_desc_kind(&reset_ctl_desc), .dev = r,
        .reset = reset_ctl_state_reset, .save = reset_ctl_state_save,
        .restore = reset_ctl_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
