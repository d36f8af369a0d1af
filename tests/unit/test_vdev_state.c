/* PIT and CMOS RTC save/restore through hv/state: a restored device behaves as the saved
 * one from then on, and state no device can be in is refused, leaving the device as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/cmos_rtc.h"
#include "hv/vdev/pit8254.h"
#include "tests/unit/test_vdev_fake.h"

/* Two copies of a device on two buses, sharing one fake platform (one time base). */
struct ctx {
    struct fake_platform f;
    struct vdev_bus bus_a, bus_b;
    struct vpit pit_a, pit_b;
    struct vrtc rtc_a, rtc_b;
    uint8_t stream[1024];
    size_t len;
};

static int setup(void **state)
{
    static struct ctx c;
    memset(&c, 0, sizeof(c));
    fake_platform_init(&c.f);
    c.f.now_ns = 5000000;
    vdev_bus_init(&c.bus_a);
    vdev_bus_init(&c.bus_b);
    vpit_init(&c.pit_a, &c.f.plat, 0, 0);
    vpit_init(&c.pit_b, &c.f.plat, 0, 0);
    vrtc_init(&c.rtc_a, &c.f.plat);
    vrtc_init(&c.rtc_b, &c.f.plat);
    assert_true(vpit_register(&c.pit_a, &c.bus_a) && vpit_register(&c.pit_b, &c.bus_b));
    assert_true(vrtc_register(&c.rtc_a, &c.bus_a) && vrtc_register(&c.rtc_b, &c.bus_b));
    *state = &c;
    return 0;
}

static void out8(struct vdev_bus *bus, uint16_t port, uint8_t val)
{
    uint32_t v = val;
    vdev_bus_io(bus, port, 1, true, &v);
}

static uint8_t in8(struct vdev_bus *bus, uint16_t port)
{
    uint32_t v = 0;
    vdev_bus_io(bus, port, 1, false, &v);
    return (uint8_t)v;
}

static void save_pit(struct ctx *c, const struct vpit *p)
{
    struct state_writer w;
    state_writer_init(&w, c->stream, sizeof(c->stream));
    assert_true(vpit_save(p, &w, 0));
    c->len = state_writer_finish(&w);
    assert_true(c->len > 0);
}

static void save_rtc(struct ctx *c, const struct vrtc *r)
{
    struct state_writer w;
    state_writer_init(&w, c->stream, sizeof(c->stream));
    assert_true(vrtc_save(r, &w, 0));
    c->len = state_writer_finish(&w);
    assert_true(c->len > 0);
}

/* Opens the saved stream for a reader of the PIT and the RTC; the first section. */
static void open_stream(struct ctx *c, struct state_section *s)
{
    struct state_kind kinds[] = { vpit_state_kind(), vrtc_state_kind() };
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, c->stream, c->len, kinds, 2), 0);
    assert_int_equal(state_reader_next(&r, s), 1);
}

static char pit_err[STATE_ERR_LEN];

static void restore_pit(struct ctx *c, struct vpit *p, int want)
{
    struct state_section s;
    open_stream(c, &s);
    pit_err[0] = 0;
    assert_int_equal(vpit_restore(p, &s, pit_err, sizeof(pit_err)), want);
}

/* Every channel's latched count and status, and port 0x61, read the same on both. */
static void expect_same_pit(struct ctx *c)
{
    out8(&c->bus_a, 0x43, 0xce);                      /* read-back: count+status, ch 0-2 */
    out8(&c->bus_b, 0x43, 0xce);
    for (uint16_t port = 0x40; port <= 0x42; port++)
        for (int byte = 0; byte < 3; byte++)
            assert_int_equal(in8(&c->bus_a, port), in8(&c->bus_b, port));
    assert_int_equal(in8(&c->bus_a, 0x61), in8(&c->bus_b, 0x61));
}

static void test_pit_round_trip(void **state)
{
    struct ctx *c = *state;
    struct vdev_bus *a = &c->bus_a;
    out8(a, 0x43, 0x34);                              /* ch0: lo/hi, mode 2 */
    out8(a, 0x40, 0xa9);
    out8(a, 0x40, 0x04);                              /* 1193: ~1 ms */
    out8(a, 0x43, 0x54);                              /* ch1: lsb, mode 2 */
    out8(a, 0x41, 0x12);
    out8(a, 0x61, 0x01);                              /* gate 2 high */
    out8(a, 0x43, 0xb0);                              /* ch2: lo/hi, mode 0 */
    out8(a, 0x42, 0x00);
    out8(a, 0x42, 0x10);
    c->f.now_ns += 777777;
    out8(a, 0x61, 0x00);                              /* gate 2 low: the count pauses */
    c->f.now_ns += 1500000;
    vpit_tick(&c->pit_a);                             /* an IRQ 0 pulse, re-armed */
    out8(a, 0x43, 0x00);                              /* latch ch0, read half of it */
    (void)in8(a, 0x40);
    assert_true(c->pit_a.irq_next_ns > c->f.now_ns);

    save_pit(c, &c->pit_a);
    c->f.timers[0] = 0;
    restore_pit(c, &c->pit_b, 0);
    assert_int_equal(c->f.timers[0], c->pit_a.irq_next_ns);
    assert_int_equal(in8(&c->bus_a, 0x40), in8(&c->bus_b, 0x40));   /* the latch's high byte */
    for (int step = 0; step < 20; step++) {
        c->f.now_ns += 123457;
        vpit_tick(&c->pit_a);
        vpit_tick(&c->pit_b);
        expect_same_pit(c);
        assert_int_equal(c->pit_a.irq_pulses, c->pit_b.irq_pulses);
        if (step == 10) {
            out8(&c->bus_a, 0x61, 0x01);              /* resume channel 2 on both */
            out8(&c->bus_b, 0x61, 0x01);
        }
    }
    assert_true(c->pit_b.irq_pulses > 2);
}

static void test_pit_impossible_state_refused(void **state)
{
    struct ctx *c = *state;
    struct vpit bad;
    static const char *const what[] = {
        "channel 1: count outside 1-0x10000",
        "channel 0: mode does not follow the programmed mode bits",
        "channel 2: access mode or byte state out of range",
        "channel 0: access mode or byte state out of range",
        "channel 0: latched count state out of range",
        "channel 1: gate of channel 0 or 1 low",
        "channel 2: port 0x61 does not match channel 2's gate",
    };
    for (unsigned i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
        bad = c->pit_a;
        switch (i) {
        case 0: bad.ch[1].count = 0; break;
        case 1: bad.ch[0].mode_bits = 6; bad.ch[0].mode = 6; break;
        case 2: bad.ch[2].rw_mode = 0; break;
        case 3: bad.ch[0].read_state = 1; break;      /* LSB state in word mode */
        case 4: bad.ch[0].count_latched = 9; break;
        case 5: bad.ch[1].gate = false; break;
        default: bad.port61 = 1; break;               /* gate 2 stays low */
        }
        save_pit(c, &bad);
        c->pit_b.ch[0].count = 0x1234;
        c->f.timers[0] = 99;
        restore_pit(c, &c->pit_b, -1);
        if (!strstr(pit_err, what[i]))
            fail_msg("case %u: got \"%s\"", i, pit_err);
        assert_int_equal(c->pit_b.ch[0].count, 0x1234);   /* untouched */
        assert_int_equal(c->f.timers[0], 99);
    }
}

static void test_pit_newer_version_refused(void **state)
{
    struct ctx *c = *state;
    struct state_writer w;
    state_writer_init(&w, c->stream, sizeof(c->stream));
    assert_true(state_begin(&w, vpit_state_kind().id, 0, 2, 0));
    assert_true(state_end(&w));
    c->len = state_writer_finish(&w);
    struct state_kind kinds[] = { vpit_state_kind() };
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, c->stream, c->len, kinds, 1), -1);
    assert_string_equal(r.err, "state: section 'PITC' version 2 not understood (this build "
                               "reads 1-1)");
}

static uint8_t cmos(struct vdev_bus *bus, uint8_t idx)
{
    out8(bus, 0x70, idx);
    return in8(bus, 0x71);
}

static void test_rtc_round_trip(void **state)
{
    struct ctx *c = *state;
    struct vdev_bus *a = &c->bus_a;
    out8(a, 0x70, 0x0b);
    out8(a, 0x71, 0x06);                              /* binary, 24 h */
    out8(a, 0x70, 0x09);
    out8(a, 0x71, 30);                                /* the guest sets year 2030 */
    out8(a, 0x70, 0x04);
    out8(a, 0x71, 17);                                /* and 17 o'clock */
    out8(a, 0x70, 0x40);
    out8(a, 0x71, 0xa5);                              /* an NVRAM byte */
    out8(a, 0x70, 0x80 | 0x40);                       /* NMI masked, index left at 0x40 */

    save_rtc(c, &c->rtc_a);
    struct state_section s;
    open_stream(c, &s);
    char err[STATE_ERR_LEN];
    assert_int_equal(vrtc_restore(&c->rtc_b, &s, err, sizeof(err)), 0);
    assert_true(vrtc_nmi_masked(&c->rtc_b));
    assert_int_equal(in8(&c->bus_b, 0x71), 0xa5);     /* the index came across */
    c->f.now_ns += 3600ull * 1000000000ull;
    assert_int_equal(vrtc_time(&c->rtc_a), vrtc_time(&c->rtc_b));
    static const uint8_t regs[] = { 0, 2, 4, 6, 7, 8, 9, 0x0b, 0x32, 0x40 };
    for (unsigned i = 0; i < sizeof(regs); i++)
        assert_int_equal(cmos(&c->bus_a, regs[i]), cmos(&c->bus_b, regs[i]));
    assert_int_equal(cmos(&c->bus_b, 0x09), 30);
    assert_int_equal(cmos(&c->bus_b, 0x04), 18);
}

static void test_rtc_impossible_state_refused(void **state)
{
    struct ctx *c = *state;
    struct vrtc bad = c->rtc_a;
    bad.index = 0x80;
    save_rtc(c, &bad);
    struct state_section s;
    open_stream(c, &s);
    char err[STATE_ERR_LEN];
    c->rtc_b.ram[0x40] = 0x5a;
    assert_int_equal(vrtc_restore(&c->rtc_b, &s, err, sizeof(err)), -1);
    assert_string_equal(err, "state: 'cmos' instance 0: index 0x80 or status A 0x26 out of "
                             "range");
    assert_int_equal(c->rtc_b.ram[0x40], 0x5a);

    /* A PIT section handed to the RTC is refused by the description. */
    save_pit(c, &c->pit_a);
    open_stream(c, &s);
    assert_int_equal(vrtc_restore(&c->rtc_b, &s, err, sizeof(err)), -1);
    assert_string_equal(err, "state: section 'PITC' version 1 is not 'cmos' versions 1-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pit_round_trip, setup),
        cmocka_unit_test_setup(test_pit_impossible_state_refused, setup),
        cmocka_unit_test_setup(test_pit_newer_version_refused, setup),
        cmocka_unit_test_setup(test_rtc_round_trip, setup),
        cmocka_unit_test_setup(test_rtc_impossible_state_refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
