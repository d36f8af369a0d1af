/* platform_devices: the whole set from one vdev_platform; PIC ExtINT path; CMOS RTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/platform_devices.h"
#include "tests/unit/test_vdev_fake.h"

struct ctx { struct fake_platform f; struct vdev_bus bus; struct platform_devices pd; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    c.f.plat.vcpu_count = 2;
    c.f.plat.ram_bytes = 256ull << 20;
    vdev_bus_init(&c.bus);
    assert_true(platform_devices_init(&c.pd, &c.bus, &c.f.plat));
    *state = &c;
    return 0;
}

static void out8(struct ctx *c, uint16_t port, uint8_t val)
{
    uint32_t v = val;
    platform_devices_io(&c->pd, 0, port, 1, true, &v);
}

static uint8_t in8(struct ctx *c, uint16_t port)
{
    uint32_t v = 0;
    platform_devices_io(&c->pd, 0, port, 1, false, &v);
    return (uint8_t)v;
}

static void test_refuses_bad_vcpu_counts(void **state)
{
    struct ctx *c = *state;
    c->f.plat.vcpu_count = 0;
    vdev_bus_init(&c->bus);
    assert_false(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    c->f.plat.vcpu_count = PLATFORM_MAX_VCPUS + 1;
    assert_false(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    c->f.plat.vcpu_count = PLATFORM_MAX_VCPUS;
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    assert_non_null(platform_devices_lapic(&c->pd, PLATFORM_MAX_VCPUS - 1));
    assert_null(platform_devices_lapic(&c->pd, PLATFORM_MAX_VCPUS));
}

static void test_standard_set_answers(void **state)
{
    struct ctx *c = *state;
    const char *s = "hi\n";
    for (; *s; s++)
        out8(c, 0x3f8, (uint8_t)*s);
    assert_string_equal(c->f.console, "hi\n");
    uint32_t v = 0x05;
    platform_devices_io(&c->pd, 0, 0x510, 2, true, &v);
    assert_int_equal(in8(c, 0x511), 2);
    out8(c, 0xf4, 0x10);
    assert_int_equal(c->f.exit_count, 1);
    assert_int_equal(c->f.exit_status[0], 0x21);
    assert_int_equal(in8(c, 0x21), 0xff);            /* PIC masked */
    assert_int_equal(in8(c, 0x1234), 0xff);          /* unclaimed */
    assert_int_equal(c->bus.stats.unclaimed_port_reads, 1);
    uint64_t m;
    assert_false(platform_devices_mmio(&c->pd, 0, 0x100000, 4, false, &m));
}

static void test_pic_extint_to_bsp(void **state)
{
    struct ctx *c = *state;
    static const uint8_t init[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
        { 0x21, 0xfe }, { 0xa1, 0xff },
    };
    for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++)
        out8(c, init[i][0], init[i][1]);
    out8(c, 0x43, 0x34);
    out8(c, 0x40, 0x9c);
    out8(c, 0x40, 0x2e);                              /* 11932: 100 Hz */
    struct platform_intr in;
    assert_false(platform_devices_pending(&c->pd, 0, &in));
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];
    platform_devices_tick(&c->pd);
    assert_true(c->f.kicks[0] > 0);
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(in.source, PLATFORM_INTR_PIC);
    assert_int_equal(in.vector, 0x20);
    assert_false(platform_devices_pending(&c->pd, 1, &in));   /* AP: LINT0 masked */
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(platform_devices_ack(&c->pd, 0, &in), 0x20);
    assert_false(platform_devices_pending(&c->pd, 0, &in));
    out8(c, 0x20, 0x20);

    uint64_t lint0 = 0x10700;                         /* guest masks LINT0 */
    platform_devices_mmio(&c->pd, 0, 0xfee00350, 4, true, &lint0);
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];
    platform_devices_tick(&c->pd);
    assert_false(platform_devices_pending(&c->pd, 0, &in));
    lint0 = 0x700;
    platform_devices_mmio(&c->pd, 0, 0xfee00350, 4, true, &lint0);
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(in.vector, 0x20);
}

static void test_timers_are_separate(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0x1ff;
    platform_devices_mmio(&c->pd, 1, 0xfee000f0, 4, true, &v);
    v = 0x3e;
    platform_devices_mmio(&c->pd, 1, 0xfee00320, 4, true, &v);
    v = 0xb;
    platform_devices_mmio(&c->pd, 1, 0xfee003e0, 4, true, &v);
    v = 500;
    platform_devices_mmio(&c->pd, 1, 0xfee00380, 4, true, &v);
    assert_int_equal(c->f.timers[PLATFORM_TIMER_LAPIC(1)], 500);
    assert_int_equal(c->f.timers[PLATFORM_TIMER_LAPIC(0)], 0);
    c->f.now_ns = 500;
    platform_devices_tick(&c->pd);
    struct platform_intr in;
    assert_true(platform_devices_pending(&c->pd, 1, &in));
    assert_int_equal(in.vector, 0x3e);
    assert_false(platform_devices_pending(&c->pd, 0, &in));
}

static uint8_t cmos(struct ctx *c, uint8_t idx)
{
    out8(c, 0x70, idx);
    return in8(c, 0x71);
}

static void test_cmos_rtc(void **state)
{
    struct ctx *c = *state;
    /* 2024-01-01 00:00:00 (fixed epoch) + 1 day 13:14:15 */
    c->f.now_ns = (86400ull + 13 * 3600 + 14 * 60 + 15) * 1000000000ull;
    assert_int_equal(cmos(c, 0x00), 0x15);
    assert_int_equal(cmos(c, 0x02), 0x14);
    assert_int_equal(cmos(c, 0x04), 0x13);
    assert_int_equal(cmos(c, 0x07), 0x02);
    assert_int_equal(cmos(c, 0x08), 0x01);
    assert_int_equal(cmos(c, 0x09), 0x24);
    assert_int_equal(cmos(c, 0x32), 0x20);
    assert_int_equal(cmos(c, 0x06), 0x03);            /* Tuesday */
    assert_int_equal(cmos(c, 0x0a), 0x26);
    assert_int_equal(cmos(c, 0x0b), 0x02);
    assert_int_equal(cmos(c, 0x0d), 0x80);
    c->f.now_ns += 999900000;                         /* the last 244 us of a second */
    assert_true(cmos(c, 0x0a) & 0x80);
    c->f.now_ns -= 999900000;

    out8(c, 0x70, 0x0b);
    out8(c, 0x71, 0x06);                              /* binary, 24 h */
    assert_int_equal(cmos(c, 0x04), 13);
    out8(c, 0x70, 0x0b);
    out8(c, 0x71, 0x00);                              /* BCD, 12 h */
    assert_int_equal(cmos(c, 0x04), 0x81);            /* 1 pm */
    out8(c, 0x70, 0x0b);
    out8(c, 0x71, 0x02);

    out8(c, 0x70, 0x09);
    out8(c, 0x71, 0x30);                              /* guest sets year 2030 */
    assert_int_equal(cmos(c, 0x09), 0x30);
    assert_int_equal(cmos(c, 0x02), 0x14);
    c->f.now_ns += 60ull * 1000000000ull;
    assert_int_equal(cmos(c, 0x02), 0x15);            /* and it keeps running */

    out8(c, 0x70, 0x80 | 0x20);                       /* NMI mask + NVRAM byte */
    assert_true(vrtc_nmi_masked(&c->pd.rtc));
    out8(c, 0x71, 0xa5);
    assert_int_equal(cmos(c, 0x20), 0xa5);
    assert_false(vrtc_nmi_masked(&c->pd.rtc));
    assert_int_equal(cmos(c, 0x0c), 0);
    for (unsigned i = 0; i < 256; i++) {              /* hostile writes everywhere */
        out8(c, 0x70, (uint8_t)i);
        out8(c, 0x71, (uint8_t)(i * 37));
        (void)in8(c, 0x71);
    }
    uint32_t w = 0;
    platform_devices_io(&c->pd, 0, 0x70, 4, false, &w);
    assert_int_equal(w, 0xffffffff);
}

static void test_rtc_wall_clock_callback(void **state)
{
    struct ctx *c = *state;
    c->f.plat.wall_clock_s = fake_wall_clock;
    c->f.wall_s = 951782400;                          /* 2000-02-29 00:00:00 */
    vdev_bus_init(&c->bus);
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    assert_int_equal(cmos(c, 0x07), 0x29);
    assert_int_equal(cmos(c, 0x08), 0x02);
    assert_int_equal(cmos(c, 0x09), 0x00);
    assert_int_equal(cmos(c, 0x32), 0x20);
}

static void mmio64(struct ctx *c, uint64_t gpa, bool write, uint64_t *v)
{
    assert_true(platform_devices_mmio(&c->pd, 0, gpa, 8, write, v));
}

static void ioapic_rte(struct ctx *c, unsigned pin, uint32_t lo)
{
    uint64_t sel = 0x10 + 2 * pin, hi_sel = sel + 1, zero = 0, v = lo;
    platform_devices_mmio(&c->pd, 0, 0xfec00000, 4, true, &hi_sel);
    platform_devices_mmio(&c->pd, 0, 0xfec00010, 4, true, &zero);
    platform_devices_mmio(&c->pd, 0, 0xfec00000, 4, true, &sel);
    platform_devices_mmio(&c->pd, 0, 0xfec00010, 4, true, &v);
}

/* The HPET at 0xfed00000 with legacy replacement: its timer 0 reaches IOAPIC pin 2 (IRQ 0),
 * and the PIT no longer does. */
static void test_hpet_legacy_replacement_cuts_off_the_pit(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0;
    mmio64(c, 0xfed00000, false, &v);
    assert_int_equal(v >> 32, VHPET_PERIOD_FS);
    ioapic_rte(c, 2, 0x30);
    out8(c, 0x43, 0x34);                              /* PIT: 100 Hz */
    out8(c, 0x40, 0x9c);
    out8(c, 0x40, 0x2e);
    uint64_t conf = 3, t0 = 1u << 2, cmp = 1500000;      /* 15 ms: after the PIT's first tick */
    mmio64(c, 0xfed00010, true, &conf);               /* enable, legacy replacement */
    mmio64(c, 0xfed00100, true, &t0);
    mmio64(c, 0xfed00108, true, &cmp);
    uint64_t sent = c->pd.ioapic.sent;
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];    /* the PIT's tick: cut off */
    platform_devices_tick(&c->pd);
    assert_int_equal(c->pd.ioapic.sent, sent);
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_HPET];   /* the HPET's */
    platform_devices_tick(&c->pd);
    assert_int_equal(c->pd.ioapic.sent, sent + 1);
    conf = 1;                                         /* legacy off: the PIT is back */
    mmio64(c, 0xfed00010, true, &conf);
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];
    platform_devices_tick(&c->pd);
    c->f.now_ns = c->f.timers[PLATFORM_TIMER_PIT];
    platform_devices_tick(&c->pd);
    assert_true(c->pd.ioapic.sent > sent + 1);
}

/* devfuzz's storm: HPET timer 2 periodic, period 1 tick, level-triggered on GSI 20: the
 * line is held, each EOI sends again, until the guest clears the status bit. */
static void test_hpet_level_periodic_through_ioapic(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0x1ff;
    assert_true(platform_devices_mmio(&c->pd, 0, 0xfee000f0, 4, true, &v));
    c->f.now_ns = 5000000000ull;
    uint64_t zero = 0, seven = 7;
    mmio64(c, 0xfed00010, true, &zero);
    for (unsigned t = 0; t < 3; t++)
        mmio64(c, 0xfed00100 + 0x20 * t, true, &zero);
    mmio64(c, 0xfed00020, true, &seven);
    ioapic_rte(c, 20, 0x52 | 1u << 15);
    uint64_t conf = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 6 | 20u << 9, cnt = 0;
    mmio64(c, 0xfed00140, true, &conf);
    mmio64(c, 0xfed000f0, false, &cnt);
    uint64_t cmp = cnt + 1, period = 1, en = 1;
    mmio64(c, 0xfed00148, true, &cmp);
    mmio64(c, 0xfed00148, true, &period);
    mmio64(c, 0xfed00010, true, &en);
    assert_true(c->f.timers[PLATFORM_TIMER_HPET] != 0);
    c->f.now_ns += 1000;
    assert_true(c->f.timers[PLATFORM_TIMER_HPET] <= c->f.now_ns);
    platform_devices_tick(&c->pd);
    struct platform_intr in;
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(in.vector, 0x52);
}

/* devfuzz: a one-shot comparator one tick after the counter's value at enable. */
static void test_hpet_one_shot_one_tick_after_enable(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0x1ff;
    assert_true(platform_devices_mmio(&c->pd, 0, 0xfee000f0, 4, true, &v));
    c->f.now_ns = 5000000000ull;
    ioapic_rte(c, 20, 0x52);
    uint64_t conf = 1u << 2 | 20u << 9, cnt = 0, en = 1;
    mmio64(c, 0xfed00140, true, &conf);
    mmio64(c, 0xfed000f0, false, &cnt);
    uint64_t cmp = cnt + 1;
    mmio64(c, 0xfed00148, true, &cmp);
    mmio64(c, 0xfed00010, true, &en);
    c->f.now_ns += 3000;
    assert_true(c->f.timers[PLATFORM_TIMER_HPET] <= c->f.now_ns);
    platform_devices_tick(&c->pd);
    struct platform_intr in;
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(in.vector, 0x52);
}

static const char *reset_source;

static void on_reset(void *ctx, const char *source)
{
    reset_source = source;
}

static void test_reset_ports_reach_the_partition(void **state)
{
    struct ctx *c = *state;
    c->f.plat.guest_reset = on_reset;
    vdev_bus_init(&c->bus);
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    reset_source = NULL;
    out8(c, 0xcf9, 0x06);
    assert_non_null(reset_source);
    assert_string_equal(reset_source, "port 0xcf9");
    reset_source = NULL;
    out8(c, 0x92, in8(c, 0x92) | 1);
    assert_string_equal(reset_source, "port 0x92");
}

/* An NMI a device can still send keeps "every vCPU halted with interrupts off" alive. */
static void test_nmi_source_armed(void **state)
{
    struct ctx *c = *state;
    assert_false(platform_devices_nmi_source_armed(&c->pd));  /* LINT1 NMI: wired to nothing */
    ioapic_rte(c, 2, 0x400);                          /* PIT pin, delivery mode NMI */
    assert_true(platform_devices_nmi_source_armed(&c->pd));
    ioapic_rte(c, 2, 0x10400);                        /* masked */
    assert_false(platform_devices_nmi_source_armed(&c->pd));
    uint64_t lint0 = 0x400;                           /* the BSP's LINT0 as NMI */
    platform_devices_mmio(&c->pd, 0, 0xfee00350, 4, true, &lint0);
    assert_true(platform_devices_nmi_source_armed(&c->pd));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hpet_legacy_replacement_cuts_off_the_pit, setup),
        cmocka_unit_test_setup(test_hpet_level_periodic_through_ioapic, setup),
        cmocka_unit_test_setup(test_hpet_one_shot_one_tick_after_enable, setup),
        cmocka_unit_test_setup(test_reset_ports_reach_the_partition, setup),
        cmocka_unit_test_setup(test_nmi_source_armed, setup),
        cmocka_unit_test_setup(test_refuses_bad_vcpu_counts, setup),
        cmocka_unit_test_setup(test_standard_set_answers, setup),
        cmocka_unit_test_setup(test_pic_extint_to_bsp, setup),
        cmocka_unit_test_setup(test_timers_are_separate, setup),
        cmocka_unit_test_setup(test_cmos_rtc, setup),
        cmocka_unit_test_setup(test_rtc_wall_clock_callback, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
