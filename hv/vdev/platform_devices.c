/* Wiring of one partition's standard devices and its interrupt fabric. */
#include "hv/vdev/platform_devices.h"
#include "hv/lib/format.h"

#include <string.h>

static struct platform_devices *pd_of(void *ctx)
{
    return ctx;
}

static void kick_vcpu(struct platform_devices *pd, unsigned vcpu)
{
    if (pd->outer.vcpu_kick)
        pd->outer.vcpu_kick(pd->outer.ctx, vcpu);
}

/* ---- the platform the devices see -------------------------------------------------- */

static void inner_console(void *ctx, const char *buf, size_t len)
{
    struct platform_devices *pd = pd_of(ctx);
    if (pd->outer.console_write)
        pd->outer.console_write(pd->outer.ctx, buf, len);
}

static uint64_t inner_now(void *ctx)
{
    struct platform_devices *pd = pd_of(ctx);
    return pd->outer.now_ns ? pd->outer.now_ns(pd->outer.ctx) : 0;
}

static void inner_timer_arm(void *ctx, unsigned id, uint64_t deadline)
{
    struct platform_devices *pd = pd_of(ctx);
    if (pd->outer.timer_arm)
        pd->outer.timer_arm(pd->outer.ctx, id, deadline);
}

static void drive_line(struct platform_devices *pd, unsigned gsi, bool level)
{
    if (gsi < 16)
        vpic_set_irq(&pd->pic, gsi, level);
    vioapic_set_irq(&pd->ioapic, gsi == 0 ? PLATFORM_PIT_GSI : gsi, level);
}

/* With the HPET's legacy replacement on, the PIT (IRQ 0) and the RTC (IRQ 8) are cut off. */
static void inner_irq_set(void *ctx, unsigned gsi, bool level)
{
    struct platform_devices *pd = pd_of(ctx);
    if ((gsi == 0 || gsi == 8) && vhpet_legacy_replacement(&pd->hpet))
        return;
    drive_line(pd, gsi, level);
}

/* The HPET's edges on IRQ 0 and 8 start from low, whatever the PIT or RTC left there. */
static void hpet_irq_set(void *ctx, unsigned gsi, bool level)
{
    struct platform_devices *pd = pd_of(ctx);
    if (level && (gsi == 0 || gsi == 8))
        drive_line(pd, gsi, false);
    drive_line(pd, gsi, level);
}

static void route(struct platform_devices *pd, struct vlapic *from, const struct vlapic_ipi *ipi);

static void inner_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct platform_devices *pd = pd_of(ctx);
    if ((addr >> 20) != 0xfee) {
        pd->stats.bad_msis++;
        return;
    }
    struct vlapic_ipi ipi = {
        .dest = (uint32_t)(addr >> 12) & 0xff,
        .logical = (addr >> 2) & 1,
        .vector = (uint8_t)data,
        .mode = (uint8_t)((data >> 8) & 7),
        .level_trig = (data >> 15) & 1,
        .shorthand = VLAPIC_SH_NONE,
        .x2apic_format = false,
    };
    route(pd, NULL, &ipi);
}

static void inner_exit(void *ctx, int status)
{
    struct platform_devices *pd = pd_of(ctx);
    if (pd->outer.partition_exit)
        pd->outer.partition_exit(pd->outer.ctx, status);
}

static bool inner_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct platform_devices *pd = pd_of(ctx);
    return pd->outer.gpa_read && pd->outer.gpa_read(pd->outer.ctx, gpa, buf, len);
}

static bool inner_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct platform_devices *pd = pd_of(ctx);
    return pd->outer.gpa_write && pd->outer.gpa_write(pd->outer.ctx, gpa, buf, len);
}

static void inner_kick(void *ctx, unsigned vcpu)
{
    kick_vcpu(pd_of(ctx), vcpu);
}

static void inner_startup(void *ctx, unsigned vcpu, bool sipi, uint8_t vector)
{
    struct platform_devices *pd = pd_of(ctx);
    if (pd->outer.vcpu_startup)
        pd->outer.vcpu_startup(pd->outer.ctx, vcpu, sipi, vector);
}

static uint64_t inner_wall(void *ctx)
{
    struct platform_devices *pd = pd_of(ctx);
    return pd->outer.wall_clock_s(pd->outer.ctx);
}

static uint64_t inner_tsc(void *ctx, unsigned vcpu)
{
    struct platform_devices *pd = pd_of(ctx);
    return pd->outer.guest_tsc(pd->outer.ctx, vcpu);
}

static void inner_reset(void *ctx, const char *source)
{
    struct platform_devices *pd = pd_of(ctx);
    if (pd->outer.guest_reset)
        pd->outer.guest_reset(pd->outer.ctx, source);
}

static void make_inner(struct platform_devices *pd)
{
    pd->inner = (struct vdev_platform){
        .ctx = pd,
        .console_write = inner_console,
        .now_ns = inner_now,
        .timer_arm = inner_timer_arm,
        .irq_set = inner_irq_set,
        .msi_send = inner_msi,
        .partition_exit = inner_exit,
        .gpa_read = inner_gpa_read,
        .gpa_write = inner_gpa_write,
        .vcpu_kick = inner_kick,
        .vcpu_startup = inner_startup,
        .wall_clock_s = pd->outer.wall_clock_s ? inner_wall : NULL,
        .guest_tsc = pd->outer.guest_tsc ? inner_tsc : NULL,
        .guest_reset = inner_reset,
        .vcpu_count = pd->outer.vcpu_count,
        .ram_bytes = pd->outer.ram_bytes,
        .tsc_hz = pd->outer.tsc_hz,
        .phys_addr_bits = pd->outer.phys_addr_bits,
    };
    pd->hpet_plat = pd->inner;
    pd->hpet_plat.irq_set = hpet_irq_set;
}

/* ---- interrupt routing ------------------------------------------------------------- */

static bool is_target(const struct vlapic *l, const struct vlapic *from, const struct vlapic_ipi *ipi)
{
    switch (ipi->shorthand) {
    case VLAPIC_SH_SELF:   return l == from;
    case VLAPIC_SH_ALL:    return true;
    case VLAPIC_SH_OTHERS: return l != from;
    default:              return vlapic_match_dest(l, ipi->dest, ipi->logical, ipi->x2apic_format);
    }
}

/* Lowest priority: the matching LAPIC with the lowest TPR (first one on ties). */
static struct vlapic *lowest_priority(struct platform_devices *pd, struct vlapic *from,
                                     const struct vlapic_ipi *ipi)
{
    struct vlapic *best = NULL;
    for (unsigned i = 0; i < pd->vcpu_count; i++) {
        struct vlapic *l = &pd->lapic[i];
        if (is_target(l, from, ipi) && (!best || (l->tpr & 0xf0) < (best->tpr & 0xf0)))
            best = l;
    }
    return best;
}

static void deliver_one(struct platform_devices *pd, struct vlapic *l, const struct vlapic_ipi *ipi)
{
    switch (ipi->mode) {
    case VLAPIC_DM_INIT:
        pd->stats.init_ipis++;
        vlapic_reset(l);
        inner_startup(pd, l->index, false, 0);
        break;
    case VLAPIC_DM_SIPI:
        pd->stats.sipis++;
        inner_startup(pd, l->index, true, ipi->vector);
        break;
    default:
        vlapic_deliver(l, ipi->mode, ipi->vector, ipi->level_trig);
        break;
    }
}

static void route(struct platform_devices *pd, struct vlapic *from, const struct vlapic_ipi *ipi)
{
    pd->stats.ipis++;
    if (ipi->mode == VLAPIC_DM_LOWEST) {
        struct vlapic *l = lowest_priority(pd, from, ipi);
        if (l)
            deliver_one(pd, l, ipi);
        return;
    }
    for (unsigned i = 0; i < pd->vcpu_count; i++)
        if (is_target(&pd->lapic[i], from, ipi))
            deliver_one(pd, &pd->lapic[i], ipi);
}

static void on_lapic_ipi(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi)
{
    route(pd_of(ctx), from, ipi);
}

static void on_lapic_eoi(void *ctx, uint8_t vector)
{
    vioapic_eoi(&pd_of(ctx)->ioapic, vector);
}

static void on_lapic_kick(void *ctx, struct vlapic *l)
{
    kick_vcpu(pd_of(ctx), l->index);
}

static void pic_intr_changed(void *ctx, bool level)
{
    struct platform_devices *pd = pd_of(ctx);
    if (!level)
        return;
    for (unsigned i = 0; i < pd->vcpu_count; i++)
        if (vlapic_accepts_pic(&pd->lapic[i]) || pd->lapic[i].extint_pending)
            kick_vcpu(pd, i);
}

/* ---- creation ---------------------------------------------------------------------- */

/* What firmware leaves on the BSP: APIC on, LINT0 ExtINT, LINT1 NMI (virtual wire). */
static void virtual_wire(struct vlapic *l)
{
    vlapic_mmio_write(l, 0xf0, 4, 0x1ff);
    vlapic_mmio_write(l, 0x350, 4, 0x700);
    vlapic_mmio_write(l, 0x360, 4, 0x400);
}

static void lapics_power_on(struct platform_devices *pd)
{
    struct vlapic_ops ops = {
        .ctx = pd, .send_ipi = on_lapic_ipi, .eoi = on_lapic_eoi, .kick = on_lapic_kick,
    };
    for (unsigned i = 0; i < pd->vcpu_count; i++)
        vlapic_init(&pd->lapic[i], &pd->inner, &ops, i, i, PLATFORM_TIMER_LAPIC(i), i == 0);
    virtual_wire(&pd->lapic[0]);
}

/* ---- the LAPICs' state: one registration, a section per vCPU ------------------------ */

static void lapics_state_reset(void *dev)
{
    lapics_power_on(dev);
}

static bool lapics_state_save(void *dev, struct state_writer *w)
{
    struct platform_devices *pd = dev;
    for (unsigned i = 0; i < pd->vcpu_count; i++)
        if (!vlapic_save(&pd->lapic[i], w, (uint16_t)i))
            return false;
    return true;
}

static int lapics_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct platform_devices *pd = dev;
    if (s->instance >= pd->vcpu_count) {
        fmt_snprintf(err, n, "state: 'lapic' instance %u: this partition has %u vCPUs",
                     s->instance, pd->vcpu_count);
        return -1;
    }
    return vlapic_restore(&pd->lapic[s->instance], s, err, n);
}

static bool register_lapic_state(struct platform_devices *pd)
{
    struct vdev_state_ops ops = {
        .name = "lapic", .kind = vlapic_state_kind(), .dev = pd,
        .reset = lapics_state_reset, .save = lapics_state_save,
        .restore = lapics_state_restore,
    };
    return vdev_bus_add_state(pd->bus, &ops);
}

/* Ranges, then state operations (in this order the bus resets, saves and restores them:
 * the interrupt controllers before the LAPICs, whose restore may kick a vCPU).  The
 * debug-exit port holds no state. */
static bool register_all(struct platform_devices *pd)
{
    return vuart_register(&pd->uart, pd->bus) &&
           debug_exit_register(&pd->debug_exit, pd->bus) &&
           fw_cfg_register(&pd->fw_cfg, pd->bus) &&
           vpic_register(&pd->pic, pd->bus) &&
           vpit_register(&pd->pit, pd->bus) &&
           vrtc_register(&pd->rtc, pd->bus) &&
           vioapic_register(&pd->ioapic, pd->bus) &&
           vhpet_register(&pd->hpet, pd->bus) &&
           reset_ctl_register(&pd->reset, pd->bus) &&
           vuart_register_state(&pd->uart, pd->bus) &&
           fw_cfg_register_state(&pd->fw_cfg, pd->bus) &&
           vpic_register_state(&pd->pic, pd->bus) &&
           vpit_register_state(&pd->pit, pd->bus) &&
           vrtc_register_state(&pd->rtc, pd->bus) &&
           vioapic_register_state(&pd->ioapic, pd->bus) &&
           vhpet_register_state(&pd->hpet, pd->bus) &&
           reset_ctl_register_state(&pd->reset, pd->bus) &&
           register_lapic_state(pd);
}

bool platform_devices_init(struct platform_devices *pd, struct vdev_bus *bus,
                           const struct vdev_platform *plat)
{
    memset(pd, 0, sizeof(*pd));
    if (plat->vcpu_count == 0 || plat->vcpu_count > PLATFORM_MAX_VCPUS)
        return false;
    pd->outer = *plat;
    pd->bus = bus;
    pd->vcpu_count = plat->vcpu_count;
    make_inner(pd);
    vuart_init(&pd->uart, &pd->inner, VUART_COM1_BASE, VUART_COM1_IRQ);
    debug_exit_init(&pd->debug_exit, &pd->inner, DEBUG_EXIT_PORT);
    fw_cfg_init(&pd->fw_cfg, &pd->inner);
    vpic_init(&pd->pic, pic_intr_changed, pd);
    vpit_init(&pd->pit, &pd->inner, PLATFORM_TIMER_PIT, 0);
    vrtc_init(&pd->rtc, &pd->inner);
    vioapic_init(&pd->ioapic, &pd->inner, VIOAPIC_DEFAULT_BASE);
    vhpet_init(&pd->hpet, &pd->hpet_plat, PLATFORM_TIMER_HPET, VHPET_DEFAULT_BASE);
    reset_ctl_init(&pd->reset, &pd->inner);
    lapics_power_on(pd);
    return register_all(pd);
}

const struct vdev_platform *platform_devices_platform(const struct platform_devices *pd)
{
    return &pd->inner;
}

struct vlapic *platform_devices_lapic(struct platform_devices *pd, unsigned vcpu)
{
    return vcpu < pd->vcpu_count ? &pd->lapic[vcpu] : NULL;
}

struct vuart *platform_devices_uart(struct platform_devices *pd)
{
    return &pd->uart;
}

/* ---- accesses ---------------------------------------------------------------------- */

void platform_devices_io(struct platform_devices *pd, unsigned vcpu, uint16_t port,
                         unsigned size, bool write, uint32_t *value)
{
    vdev_bus_io(pd->bus, port, size, write, value);
}

bool platform_devices_mmio(struct platform_devices *pd, unsigned vcpu, uint64_t gpa,
                           unsigned size, bool write, uint64_t *value)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    uint64_t base = l ? vlapic_mmio_base(l) : 0;
    if (base && gpa >= base && gpa - base < 0x1000) {
        if (write)
            vlapic_mmio_write(l, gpa - base, size, *value);
        else
            vlapic_mmio_read(l, gpa - base, size, value);
        return true;
    }
    return vdev_bus_mmio(pd->bus, gpa, size, write, value);
}

enum vdev_msr_result platform_devices_msr_read(struct platform_devices *pd, unsigned vcpu,
                                               uint32_t msr, uint64_t *value)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    *value = 0;
    if (!l)
        return VDEV_MSR_NOT_MINE;
    return (enum vdev_msr_result)vlapic_msr_read(l, msr, value);
}

enum vdev_msr_result platform_devices_msr_write(struct platform_devices *pd, unsigned vcpu,
                                                uint32_t msr, uint64_t value)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    if (!l)
        return VDEV_MSR_NOT_MINE;
    return (enum vdev_msr_result)vlapic_msr_write(l, msr, value);
}

/* ---- interrupts for the VT-x layer ------------------------------------------------- */

bool platform_devices_pending(struct platform_devices *pd, unsigned vcpu,
                              struct platform_intr *out)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    out->source = PLATFORM_INTR_NONE;
    out->vector = 0;
    if (!l)
        return false;
    if (vlapic_accepts_pic(l) || l->extint_pending) {
        int v = vpic_peek(&pd->pic);
        if (v >= 0) {
            out->source = PLATFORM_INTR_PIC;
            out->vector = (uint8_t)v;
            return true;
        }
    }
    int v = vlapic_pending_vector(l);
    if (v < 0)
        return false;
    out->source = PLATFORM_INTR_LAPIC;
    out->vector = (uint8_t)v;
    return true;
}

uint8_t platform_devices_ack(struct platform_devices *pd, unsigned vcpu,
                             const struct platform_intr *intr)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    if (!l)
        return intr->vector;
    if (intr->source == PLATFORM_INTR_PIC) {
        l->extint_pending = false;
        l->taken = false;           /* the vector taken last is the PIC's */
        return vpic_ack(&pd->pic);
    }
    if (intr->source == PLATFORM_INTR_LAPIC)
        vlapic_accept(l, intr->vector);
    return intr->vector;
}

bool platform_devices_untake(struct platform_devices *pd, unsigned vcpu, uint8_t vector)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    return l && vlapic_untake(l, vector);
}

bool platform_devices_take_nmi(struct platform_devices *pd, unsigned vcpu)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    return l && vlapic_take_nmi(l);
}

/* Bytes 0x0e and up: the clock's registers and status bytes below reset with the machine. */
#define NVRAM_FIRST 0x0e

void platform_devices_get_nvram(const struct platform_devices *pd, uint8_t *out)
{
    memcpy(out, pd->rtc.ram, sizeof(pd->rtc.ram));
}

void platform_devices_set_nvram(struct platform_devices *pd, const uint8_t *in)
{
    memcpy(pd->rtc.ram + NVRAM_FIRST, in + NVRAM_FIRST, sizeof(pd->rtc.ram) - NVRAM_FIRST);
}

void platform_devices_nmi_unblocked(struct platform_devices *pd, unsigned vcpu)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    if (l)
        vlapic_nmi_unblocked(l);
}

bool platform_devices_nmi_pending(struct platform_devices *pd, unsigned vcpu)
{
    struct vlapic *l = platform_devices_lapic(pd, vcpu);
    return l && vlapic_nmi_pending(l);
}

#define DELIVERY_MODE(x) (((x) >> 8) & 7u)
#define DM_NMI           4u

bool platform_devices_nmi_source_armed(const struct platform_devices *pd)
{
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint64_t e = pd->ioapic.rte[pin];
        if (!(e & VIOAPIC_RTE_MASKED) && DELIVERY_MODE(e) == DM_NMI)
            return true;
    }
    for (unsigned i = 0; i < pd->vcpu_count; i++) {
        uint32_t lint0 = pd->lapic[i].lvt[VLAPIC_LVT_LINT0];
        if (!(lint0 & (1u << 16)) && DELIVERY_MODE(lint0) == DM_NMI)
            return true;
    }
    return false;
}

void platform_devices_tick(struct platform_devices *pd)
{
    vpit_tick(&pd->pit);
    vhpet_tick(&pd->hpet);
    for (unsigned i = 0; i < pd->vcpu_count; i++)
        vlapic_tick(&pd->lapic[i]);
}
