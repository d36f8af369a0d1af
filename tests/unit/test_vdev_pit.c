/* pit8254: counts against fake time, modes 0/2/3, latch, read-back, port 0x61, IRQ 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/pit8254.h"
#include "tests/unit/test_vdev_fake.h"
#include "tests/unit/test_vdev_port.h"

struct ctx { struct fake_platform f; struct vdev_bus bus; struct vpit pit; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    c.f.now_ns = 1000000;
    vdev_bus_init(&c.bus);
    vpit_init(&c.pit, &c.f.plat, 0, 0);
    assert_true(vpit_register(&c.pit, &c.bus));
    *state = &c;
    return 0;
}

static void out8(struct ctx *c, uint16_t port, uint8_t val) { port_out8(&c->bus, port, val); }
static uint8_t in8(struct ctx *c, uint16_t port) { return port_in8(&c->bus, port); }

static uint16_t read16(struct ctx *c, uint16_t port)
{
    uint16_t lo = in8(c, port);
    return (uint16_t)(lo | in8(c, port) << 8);
}

/* ns for n PIT input clocks */
static uint64_t ticks(uint64_t n)
{
    return n * 1000000000ull / VPIT_HZ;
}

static void test_mode2_counts_and_interrupts(void **state)
{
    struct ctx *c = *state;
    out8(c, 0x43, 0x34);               /* ch0, lo/hi, mode 2 */
    out8(c, 0x40, 0xa9);
    out8(c, 0x40, 0x04);               /* 1193: ~1 ms */
    uint64_t t0 = c->f.now_ns;
    assert_true(c->f.timers[0] > t0);
    assert_true(c->f.timers[0] - t0 >= ticks(1193) && c->f.timers[0] - t0 <= ticks(1193) + 2);

    c->f.now_ns = t0 + ticks(100) + 1;
    out8(c, 0x43, 0x00);               /* latch ch0 */
    c->f.now_ns = t0 + ticks(600) + 1; /* the latch holds the old value */
    assert_int_equal(read16(c, 0x40), 1193 - 100);
    assert_int_equal(read16(c, 0x40), 1193 - 600);   /* live again */

    c->f.now_ns = c->f.timers[0];
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 1);
    assert_false(c->f.irq_level[0]);                  /* a pulse */
    assert_true(c->f.timers[0] > c->f.now_ns);
    c->f.now_ns = t0 + ticks(1193 * 10) + 5;          /* late: coalesced */
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 2);
    assert_true(c->f.timers[0] > c->f.now_ns);
    c->f.now_ns = c->f.timers[0] - 10;                /* early: nothing */
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 2);
}

static void test_mode3_square_wave(void **state)
{
    struct ctx *c = *state;
    out8(c, 0x43, 0x36);               /* ch0, lo/hi, mode 3 */
    out8(c, 0x40, 0x00);
    out8(c, 0x40, 0x01);               /* 256 */
    uint64_t t0 = c->f.now_ns;
    assert_true(vpit_out(&c->pit, 0));
    c->f.now_ns = t0 + ticks(10) + 1;
    assert_int_equal(vpit_count(&c->pit, 0), 256 - 20);   /* counts by two */
    c->f.now_ns = t0 + ticks(130) + 1;
    assert_false(vpit_out(&c->pit, 0));                    /* second half low */
    c->f.now_ns = t0 + ticks(256 + 5) + 1;
    assert_true(vpit_out(&c->pit, 0));
    out8(c, 0x43, 0xe2);               /* read-back status of ch0 only */
    uint8_t st = in8(c, 0x40);
    assert_int_equal(st & 0x3f, 0x36);
    assert_true(st & 0x80);
}

static void test_mode0_calibration_like_linux(void **state)
{
    struct ctx *c = *state;
    out8(c, 0x61, (uint8_t)((in8(c, 0x61) & ~0x02) | 0x01));   /* gate 2 on, speaker off */
    out8(c, 0x43, 0xb0);                                      /* ch2, lo/hi, mode 0 */
    assert_false(in8(c, 0x61) & 0x20);                        /* OUT low after control */
    out8(c, 0x42, 0xff);
    out8(c, 0x42, 0xff);
    uint64_t t0 = c->f.now_ns;
    c->f.now_ns = t0 + ticks(256) + 1;
    (void)in8(c, 0x42);
    assert_int_equal(in8(c, 0x42), 0xfe);                     /* MSB as in quick_pit_calibrate */
    assert_false(in8(c, 0x61) & 0x20);
    c->f.now_ns = t0 + ticks(0xffff) + 1;
    assert_true(in8(c, 0x61) & 0x20);                         /* terminal count reached */
    assert_int_equal(c->f.irq_count, 0);                      /* channel 2 has no IRQ */

    out8(c, 0x43, 0xb0);                                      /* gate low pauses mode 0 */
    out8(c, 0x42, 0x10);
    out8(c, 0x42, 0x00);
    uint64_t t1 = c->f.now_ns;
    c->f.now_ns = t1 + ticks(4) + 1;
    out8(c, 0x61, 0x00);
    c->f.now_ns += ticks(1000);
    assert_int_equal(vpit_count(&c->pit, 2), 16 - 4);
    out8(c, 0x61, 0x01);
    c->f.now_ns += ticks(2) + 1;
    assert_int_equal(vpit_count(&c->pit, 2), 16 - 6);
}

static void test_mode0_one_shot_irq(void **state)
{
    struct ctx *c = *state;
    out8(c, 0x43, 0x30);              /* Linux's pit_shutdown: mode 0, count 0 */
    out8(c, 0x40, 0);
    out8(c, 0x40, 0);
    uint64_t deadline = c->f.timers[0];
    assert_true(deadline > c->f.now_ns + ticks(65535));
    c->f.now_ns = deadline;
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 1);
    assert_int_equal(c->f.timers[0], 0);                 /* fires once */
    c->f.now_ns += 1000000000;
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 1);
}

static void test_byte_modes_and_hostile(void **state)
{
    struct ctx *c = *state;
    out8(c, 0x43, 0x14);              /* ch0, LSB, mode 2, count 2: clamped IRQ rate */
    out8(c, 0x40, 2);
    c->f.now_ns = c->f.timers[0];
    vpit_tick(&c->pit);
    assert_int_equal(c->f.irq_rises[0], 1);
    assert_true(c->f.timers[0] >= c->f.now_ns + VPIT_MIN_PERIOD_NS);
    out8(c, 0x43, 0x54);              /* ch1, LSB only, mode 2 */
    out8(c, 0x41, 100);
    c->f.now_ns += ticks(10) + 1;
    assert_int_equal(in8(c, 0x41), 90);
    assert_int_equal(in8(c, 0x41), 90);
    out8(c, 0x43, 0x64);              /* ch1, MSB only */
    out8(c, 0x41, 2);
    assert_int_equal(in8(c, 0x41), 2);
    out8(c, 0x43, 0xd2);              /* read-back count of ch0 (latched) */
    assert_int_equal(in8(c, 0x43), 0xff);   /* control is write-only */
    for (unsigned v = 0; v < 256; v++) {
        out8(c, 0x43, (uint8_t)v);
        out8(c, (uint16_t)(0x40 + (v % 3)), (uint8_t)(v * 13));
        c->f.now_ns += v * 997;
        (void)in8(c, (uint16_t)(0x40 + (v % 3)));
        vpit_tick(&c->pit);
    }
    c->f.now_ns = ~0ull - 5;
    vpit_tick(&c->pit);
    (void)in8(c, 0x40);
    uint32_t w = 0xffffffff;
    vdev_bus_io(&c->bus, 0x42, 4, true, &w);
    vdev_bus_io(&c->bus, 0x61, 4, false, &w);
    assert_int_equal(w >> 8, 0xffffff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_mode2_counts_and_interrupts, setup),
        cmocka_unit_test_setup(test_mode3_square_wave, setup),
        cmocka_unit_test_setup(test_mode0_calibration_like_linux, setup),
        cmocka_unit_test_setup(test_mode0_one_shot_irq, setup),
        cmocka_unit_test_setup(test_byte_modes_and_hostile, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
