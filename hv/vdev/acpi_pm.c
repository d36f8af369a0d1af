#include "hv/vdev/acpi_pm.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#define PM1_STS 0
#define PM1_EN  2
#define PM1_CNT 4
#define PM_TMR  ACPI_PM_TIMER_OFFSET
#define PM_REGS_LEN (PM_TMR + 4)
#define STS_TMR (1u << 0)
#define NS_PER_S 1000000000ull
#define CNT_SCI_EN   (1u << 0)
#define CNT_SLP_EN   (1u << 13)
#define CNT_SLP_TYP(v) (((v) >> 10) & 7u)

uint64_t acpi_pm_timer_ticks(const struct acpi_pm *pm)
{
    uint64_t ns = pm->plat->now_ns ? pm->plat->now_ns(pm->plat->ctx) : 0;
    return ns / NS_PER_S * ACPI_PM_TIMER_HZ + ns % NS_PER_S * ACPI_PM_TIMER_HZ / NS_PER_S;
}

/* TMR_STS: set whenever bit 31 of the count has changed since it was last looked at. */
static void update_timer_status(struct acpi_pm *pm)
{
    uint64_t epoch = acpi_pm_timer_ticks(pm) >> 31;
    if (epoch != pm->timer_msb_epoch)
        pm->status |= STS_TMR;
    pm->timer_msb_epoch = epoch;
}

void acpi_pm_init(struct acpi_pm *pm, const struct vdev_platform *plat, uint16_t base)
{
    *pm = (struct acpi_pm){ .plat = plat, .base = base, .control = CNT_SCI_EN };
    pm->timer_msb_epoch = acpi_pm_timer_ticks(pm) >> 31;
}

/* PM_TMR: read-only; naturally aligned reads of 1, 2 or 4 bytes. */
static bool timer_read(struct acpi_pm *pm, unsigned off, unsigned size, uint32_t *value)
{
    unsigned at = off - PM_TMR;
    if ((size != 1 && size != 2 && size != 4) || (at & (size - 1)))
        return false;
    uint32_t count = (uint32_t)acpi_pm_timer_ticks(pm);
    *value = size == 4 ? count : (count >> (8 * at)) & (size == 2 ? 0xffffu : 0xffu);
    return true;
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
    if (off >= PM_TMR)
        return timer_read(pm, off, size, value);
    uint16_t *r = reg(pm, off & ~1u);
    if (!r || (size != 1 && size != 2) || (size == 2 && (off & 1)))
        return false;
    if (r == &pm->status)
        update_timer_status(pm);
    *value = size == 2 ? *r : (uint32_t)(*r >> (8 * (off & 1))) & 0xff;
    return true;
}

static bool pm_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct acpi_pm *pm = dev;
    unsigned off = port - pm->base;
    if (off >= PM_TMR)
        return true;                            /* the PM timer is read-only */
    uint16_t *r = reg(pm, off & ~1u);
    if (!r || (size != 1 && size != 2) || (size == 2 && (off & 1)))
        return false;
    uint16_t v = size == 2 ? (uint16_t)value
                           : (uint16_t)((*r & ~(0xffu << (8 * (off & 1)))) |
                                        ((value & 0xffu) << (8 * (off & 1))));
    if ((off & ~1u) == PM1_STS) {
        uint16_t ones = size == 2 ? (uint16_t)value : (uint16_t)((value & 0xffu) << (8 * (off & 1)));
        update_timer_status(pm);
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

static bool acpi_pm_register_state(struct acpi_pm *pm, struct vdev_bus *bus);

bool acpi_pm_register(struct acpi_pm *pm, struct vdev_bus *bus)
{
    struct vdev_port_range r = { pm->base, PM_REGS_LEN, pm_read, pm_write, pm };
    return vdev_bus_add_ports(bus, &r) && acpi_pm_register_state(pm, bus);
}

/* ---- reset, save and restore (section 'ACPM') ---------------------------------------- */

static const struct state_field acpi_pm_fields[] = {
    STATE_U16(struct acpi_pm, status, 1), STATE_U16(struct acpi_pm, enable, 1),
    STATE_U16(struct acpi_pm, control, 1), STATE_U64(struct acpi_pm, timer_msb_epoch, 1),
};

static const struct state_desc acpi_pm_desc =
    STATE_DESC("acpi_pm", STATE_ID('A', 'C', 'P', 'M'), 1, 1, acpi_pm_fields);

static void acpi_pm_state_reset(void *dev)
{
    struct acpi_pm *pm = dev;
    acpi_pm_init(pm, pm->plat, pm->base);
}

static bool acpi_pm_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &acpi_pm_desc, 0, dev);
}

static int acpi_pm_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct acpi_pm *pm = dev;
    struct acpi_pm t = *pm;
    if (state_load(s, &acpi_pm_desc, &t, err, n))
        return -1;
    if ((t.status & ~STS_TMR) || !(t.control & CNT_SCI_EN) || (t.control & CNT_SLP_EN)) {
        fmt_snprintf(err, n, "state: 'acpi_pm' instance %u: PM1 status 0x%x or control 0x%x "
                     "holds bits no write leaves", s->instance, t.status, t.control);
        return -1;
    }
    *pm = t;
    return 0;
}

static bool acpi_pm_register_state(struct acpi_pm *pm, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "acpi_pm", .kind = state_desc_kind(&acpi_pm_desc), .dev = pm,
        .reset = acpi_pm_state_reset, .save = acpi_pm_state_save,
        .restore = acpi_pm_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
