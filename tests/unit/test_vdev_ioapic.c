/* ioapic: register access, MSI format, routing to LAPICs, level-triggered Remote IRR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/platform_devices.h"
#include "tests/unit/test_vdev_fake.h"

static void io_write(struct vdev_bus *bus, uint8_t reg, uint32_t val)
{
    uint64_t v = reg;
    assert_true(vdev_bus_mmio(bus, 0xfec00000, 4, true, &v));
    v = val;
    assert_true(vdev_bus_mmio(bus, 0xfec00010, 4, true, &v));
}

static uint32_t io_read(struct vdev_bus *bus, uint8_t reg)
{
    uint64_t v = reg;
    assert_true(vdev_bus_mmio(bus, 0xfec00000, 4, true, &v));
    assert_true(vdev_bus_mmio(bus, 0xfec00010, 4, false, &v));
    return (uint32_t)v;
}

static void set_rte(struct vdev_bus *bus, unsigned pin, uint64_t rte)
{
    io_write(bus, (uint8_t)(0x11 + 2 * pin), (uint32_t)(rte >> 32));
    io_write(bus, (uint8_t)(0x10 + 2 * pin), (uint32_t)rte);
}

static void test_registers_and_msi_format(void **state)
{
    struct fake_platform f;
    struct vdev_bus bus;
    struct vioapic io;
    fake_platform_init(&f);
    vdev_bus_init(&bus);
    vioapic_init(&io, &f.plat, VIOAPIC_DEFAULT_BASE);
    assert_true(vioapic_register(&io, &bus));

    assert_int_equal(io_read(&bus, 0x01), 0x00170020);
    io_write(&bus, 0x00, 0x0f000000 | 0xabcdef);
    assert_int_equal(io_read(&bus, 0x00), 0x0f000000);
    assert_int_equal(io_read(&bus, 0x10), 0x10000);            /* masked at reset */
    assert_int_equal(io_read(&bus, 0x3f), 0);
    assert_int_equal(io_read(&bus, 0x40), 0xffffffff);         /* past the table */

    set_rte(&bus, 3, (5ull << 56) | 0x0931);                   /* logical, lowest-prio, vector 0x31 */
    vioapic_set_irq(&io, 3, true);
    assert_int_equal(f.msi_count, 1);
    assert_int_equal(f.msis[0].addr, 0xfee05004ull);
    assert_int_equal(f.msis[0].data, 0x0131);             /* dest mode lives in the address */
    vioapic_set_irq(&io, 3, true);                              /* no edge: nothing */
    assert_int_equal(f.msi_count, 1);

    set_rte(&bus, 7, 0x10000 | 0x8000 | 0x47);                 /* masked level */
    vioapic_set_irq(&io, 7, true);
    assert_int_equal(f.msi_count, 1);
    set_rte(&bus, 7, 0x8000 | 0x47);                           /* unmask: sent */
    assert_int_equal(f.msi_count, 2);
    assert_int_equal(f.msis[1].data, 0xc047);
    assert_true(io_read(&bus, 0x10 + 14) & 0x4000);            /* remote IRR */
    set_rte(&bus, 7, 0x8000 | 0x47 | 0x4000 | 0x1000);         /* RO bits: no change */
    assert_int_equal(io_read(&bus, 0x10 + 14), 0xc047);
    assert_int_equal(f.msi_count, 2);
    uint64_t v = 0x47;
    assert_true(vdev_bus_mmio(&bus, 0xfec00040, 4, true, &v)); /* EOI register */
    assert_int_equal(f.msi_count, 3);                          /* still asserted: resent */

    set_rte(&bus, 9, 0x10000 | 0x59);                          /* a masked edge is lost */
    vioapic_set_irq(&io, 9, true);
    vioapic_set_irq(&io, 9, false);
    set_rte(&bus, 9, 0x59);
    assert_int_equal(f.msi_count, 3);                          /* (82093AA: "ignored") */
    vioapic_set_irq(&io, 9, true);                             /* unmasked: delivered */
    vioapic_set_irq(&io, 9, false);
    assert_int_equal(f.msi_count, 4);

    for (unsigned off = 0; off < 0x1000; off += 5)             /* hostile sizes/offsets */
        for (unsigned size = 1; size <= 8; size *= 2) {
            uint64_t x = 0xffffffffffffffffull;
            vdev_bus_mmio(&bus, 0xfec00000 + off, size, false, &x);
            vdev_bus_mmio(&bus, 0xfec00000 + off, size, off != 0, &x);
        }
    vioapic_set_irq(&io, 24, true);
    vioapic_set_irq(&io, 1000, true);
}

struct ctx { struct fake_platform f; struct vdev_bus bus; struct platform_devices pd; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    c.f.plat.vcpu_count = 2;
    vdev_bus_init(&c.bus);
    assert_true(platform_devices_init(&c.pd, &c.bus, &c.f.plat));
    uint64_t v = 0x1ff;
    assert_true(platform_devices_mmio(&c.pd, 1, 0xfee000f0, 4, true, &v));
    *state = &c;
    return 0;
}

static int vlapic_pending(struct ctx *c, unsigned vcpu)
{
    struct platform_intr in;
    if (!platform_devices_pending(&c->pd, vcpu, &in) || in.source != PLATFORM_INTR_LAPIC)
        return -1;
    return in.vector;
}

static void eoi(struct ctx *c, unsigned vcpu, int vector)
{
    struct platform_intr in = { PLATFORM_INTR_LAPIC, (uint8_t)vector };
    platform_devices_ack(&c->pd, vcpu, &in);
    uint64_t v = 0;
    assert_true(platform_devices_mmio(&c->pd, vcpu, 0xfee000b0, 4, true, &v));
}

static void test_uart_irq_routed_to_lapic(void **state)
{
    struct ctx *c = *state;
    set_rte(&c->bus, 4, (1ull << 56) | 0x34);        /* edge, physical APIC 1 */
    uint32_t v = 0x02;
    vdev_bus_io(&c->bus, 0x3f9, 1, true, &v);        /* UART IER: THRI */
    assert_int_equal(vlapic_pending(c, 1), 0x34);
    assert_int_equal(vlapic_pending(c, 0), -1);
    assert_true(c->f.kicks[1] > 0);
}

static void test_level_remote_irr(void **state)
{
    struct ctx *c = *state;
    const struct vdev_platform *p = platform_devices_platform(&c->pd);
    set_rte(&c->bus, 19, 0x8000 | 0x49);             /* level, APIC 0 */
    p->irq_set(p->ctx, 19, true);
    assert_int_equal(vlapic_pending(c, 0), 0x49);
    assert_true(io_read(&c->bus, 0x10 + 38) & 0x4000);
    struct platform_intr in = { PLATFORM_INTR_LAPIC, 0x49 };
    platform_devices_ack(&c->pd, 0, &in);
    p->irq_set(p->ctx, 19, true);                    /* still asserted: no resend yet */
    assert_int_equal(vlapic_pending(c, 0), -1);
    uint64_t zero = 0;
    platform_devices_mmio(&c->pd, 0, 0xfee000b0, 4, true, &zero);   /* EOI: TMR set */
    assert_int_equal(vlapic_pending(c, 0), 0x49);     /* resent: line still high */
    eoi(c, 0, 0x49);
    assert_int_equal(vlapic_pending(c, 0), 0x49);
    p->irq_set(p->ctx, 19, false);                   /* device deasserts */
    eoi(c, 0, 0x49);
    assert_int_equal(vlapic_pending(c, 0), -1);
    assert_false(io_read(&c->bus, 0x10 + 38) & 0x4000);
}

static void test_logical_and_pit_pin(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0x01000000;
    platform_devices_mmio(&c->pd, 0, 0xfee000d0, 4, true, &v);
    v = 0x02000000;
    platform_devices_mmio(&c->pd, 1, 0xfee000d0, 4, true, &v);
    set_rte(&c->bus, 5, (3ull << 56) | 0x800 | 0x55);   /* logical flat, both CPUs */
    const struct vdev_platform *p = platform_devices_platform(&c->pd);
    p->irq_set(p->ctx, 5, true);
    assert_int_equal(vlapic_pending(c, 0), 0x55);
    assert_int_equal(vlapic_pending(c, 1), 0x55);
    set_rte(&c->bus, 6, (3ull << 56) | 0x900 | 0x66);   /* lowest priority: one CPU */
    p->irq_set(p->ctx, 6, true);
    assert_true((vlapic_pending(c, 0) == 0x66) != (vlapic_pending(c, 1) == 0x66));

    set_rte(&c->bus, PLATFORM_PIT_GSI, 0x30);          /* PIT lands on pin 2 */
    uint32_t w = 0x34;
    vdev_bus_io(&c->bus, 0x43, 1, true, &w);
    w = 100;
    vdev_bus_io(&c->bus, 0x40, 1, true, &w);
    w = 0;
    vdev_bus_io(&c->bus, 0x40, 1, true, &w);
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];
    platform_devices_tick(&c->pd);
    assert_true(c->pd.lapic[0].irr[0x30 / 32] & (1u << (0x30 % 32)));

    p->msi_send(p->ctx, 0x12345678, 0x40);           /* not an MSI address */
    assert_int_equal(c->pd.stats.bad_msis, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_and_msi_format),
        cmocka_unit_test_setup(test_uart_irq_routed_to_lapic, setup),
        cmocka_unit_test_setup(test_level_remote_irr, setup),
        cmocka_unit_test_setup(test_logical_and_pit_pin, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
