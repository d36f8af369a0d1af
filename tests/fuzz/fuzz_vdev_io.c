/* Random port, MMIO, MSR, time and interrupt sequences against a partition's whole
 * standard device set (platform_devices); ASan/UBSan watch, a few invariants checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/vdev/platform_devices.h"
#include "tests/unit/test_vdev_fake.h"

struct input { const uint8_t *p; size_t n; };

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

static const uint16_t ports[] = {
    0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
    0xf4, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x510, 0x511, 0x92, 0xcf9,
};

static uint16_t pick_port(struct input *in)
{
    uint8_t sel = (uint8_t)take(in, 1);
    if (sel < 200)
        return ports[sel % (sizeof(ports) / sizeof(ports[0]))];
    return (uint16_t)take(in, 2);
}

static uint64_t pick_gpa(struct input *in, const struct platform_devices *pd, unsigned vcpu)
{
    uint8_t sel = (uint8_t)take(in, 1);
    uint64_t off = take(in, 2) & 0x1fff;
    if (sel < 110)
        return vlapic_mmio_base(&pd->lapic[vcpu]) + (off & 0xfff);
    if (sel < 200)
        return VIOAPIC_DEFAULT_BASE + off;
    if (sel < 230)
        return VHPET_DEFAULT_BASE + (off & 0x7ff);
    return take(in, 8);
}

static uint32_t pick_msr(struct input *in)
{
    uint8_t sel = (uint8_t)take(in, 1);
    if (sel < 16)
        return VLAPIC_MSR_APIC_BASE;
    if (sel < 32)
        return VLAPIC_MSR_TSC_DEADLINE;
    if (sel < 240)
        return VLAPIC_MSR_X2APIC_FIRST + (uint32_t)take(in, 1);
    return (uint32_t)take(in, 4);
}

static void check_interrupts(struct platform_devices *pd, unsigned vcpu, bool ack)
{
    struct platform_intr intr;
    if (!platform_devices_pending(pd, vcpu, &intr))
        return;
    if (intr.source == PLATFORM_INTR_LAPIC && intr.vector < 16)
        abort();   /* vectors 0-15 are never accepted */
    if (!ack)
        return;
    uint8_t v = platform_devices_ack(pd, vcpu, &intr);
    if (intr.source == PLATFORM_INTR_LAPIC &&
        !(pd->lapic[vcpu].isr[v / 32] & (1u << (v % 32))))
        abort();   /* an acknowledged vector is in service */
}

static void step(struct fake_platform *f, struct platform_devices *pd, struct input *in)
{
    unsigned op = (unsigned)take(in, 1) % 12;
    unsigned vcpu = (unsigned)take(in, 1) % pd->vcpu_count;
    unsigned size = (unsigned)take(in, 1) % 10;
    uint32_t pv;
    uint64_t mv;
    switch (op) {
    case 0: pv = 0; platform_devices_io(pd, vcpu, pick_port(in), size, false, &pv); break;
    case 1: pv = (uint32_t)take(in, 4); platform_devices_io(pd, vcpu, pick_port(in), size, true, &pv); break;
    case 2: mv = 0; platform_devices_mmio(pd, vcpu, pick_gpa(in, pd, vcpu), size, false, &mv); break;
    case 3: mv = take(in, 8); platform_devices_mmio(pd, vcpu, pick_gpa(in, pd, vcpu), size, true, &mv); break;
    case 4: platform_devices_msr_read(pd, vcpu, pick_msr(in), &mv); break;
    case 5: mv = take(in, 8); platform_devices_msr_write(pd, vcpu, pick_msr(in), mv); break;
    case 6: f->now_ns += take(in, 3) << (take(in, 1) & 31); platform_devices_tick(pd); break;
    case 7: pd->inner.irq_set(pd->inner.ctx, (unsigned)take(in, 1) % 32, take(in, 1) & 1); break;
    case 8: pd->inner.msi_send(pd->inner.ctx, 0xfee00000ull | (take(in, 2) << 2), (uint32_t)take(in, 2)); break;
    case 9: { uint8_t b[8]; memcpy(b, &mv, sizeof(b)); vuart_input(&pd->uart, b, size % 9); break; }
    case 10: (void)platform_devices_take_nmi(pd, vcpu); check_interrupts(pd, vcpu, true); break;
    default: check_interrupts(pd, vcpu, false); break;
    }
    f->console_len = 0;   /* keep the fake's buffer from filling */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake_platform f;
    static struct vdev_bus bus;
    static struct platform_devices pd;
    struct input in = { data, size };
    fake_platform_init(&f);
    f.plat.vcpu_count = 1 + (unsigned)take(&in, 1) % 4;
    f.plat.tsc_hz = take(&in, 1) & 1 ? 2100000000ull : 0;
    f.now_ns = take(&in, 4);
    vdev_bus_init(&bus);
    if (!platform_devices_init(&pd, &bus, &f.plat))
        abort();
    for (unsigned i = 0; i < 4096 && in.n; i++)
        step(&f, &pd, &in);
    return 0;
}
