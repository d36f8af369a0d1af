/* lapic: reset state, priorities and EOI, timer modes, IPIs, x2APIC MSR rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/platform_devices.h"
#include "hv/vdev/vdev_util.h"
#include "tests/unit/test_vdev_fake.h"

struct ctx { struct fake_platform f; struct vdev_bus bus; struct platform_devices pd; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    c.f.plat.vcpu_count = 3;
    c.f.now_ns = 1000;
    vdev_bus_init(&c.bus);
    assert_true(platform_devices_init(&c.pd, &c.bus, &c.f.plat));
    *state = &c;
    return 0;
}

static uint32_t rd(struct ctx *c, unsigned vcpu, unsigned off)
{
    uint64_t v = 0;
    assert_true(platform_devices_mmio(&c->pd, vcpu, 0xfee00000ull + off, 4, false, &v));
    return (uint32_t)v;
}

static void wr(struct ctx *c, unsigned vcpu, unsigned off, uint32_t val)
{
    uint64_t v = val;
    assert_true(platform_devices_mmio(&c->pd, vcpu, 0xfee00000ull + off, 4, true, &v));
}

static int pending(struct ctx *c, unsigned vcpu)
{
    struct platform_intr in;
    if (!platform_devices_pending(&c->pd, vcpu, &in))
        return -1;
    return in.source == PLATFORM_INTR_LAPIC ? in.vector : 0x1000 + in.vector;
}

static void inject(struct ctx *c, unsigned vcpu, int vector)
{
    struct platform_intr in = { PLATFORM_INTR_LAPIC, (uint8_t)vector };
    assert_int_equal(platform_devices_ack(&c->pd, vcpu, &in), vector);
}

static void enable(struct ctx *c, unsigned vcpu)
{
    wr(c, vcpu, 0xf0, 0x1ff);
}

static void test_reset_state(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(rd(c, 0, 0x20), 0);
    assert_int_equal(rd(c, 2, 0x20), 2u << 24);
    assert_int_equal(rd(c, 1, 0x30), VLAPIC_VERSION);
    assert_int_equal(rd(c, 0, 0xf0), 0x1ff);           /* BSP left in virtual wire */
    assert_int_equal(rd(c, 0, 0x350), 0x700);
    assert_int_equal(rd(c, 1, 0xf0), 0xff);            /* APs as after reset */
    assert_int_equal(rd(c, 1, 0x320), 0x10000);
    assert_int_equal(rd(c, 1, 0xe0), 0xffffffff);
    uint64_t base;
    assert_int_equal(platform_devices_msr_read(&c->pd, 0, 0x1b, &base), VDEV_MSR_OK);
    assert_int_equal(base, 0xfee00000ull | VLAPIC_BASE_EN | VLAPIC_BASE_BSP);
    assert_int_equal(platform_devices_msr_read(&c->pd, 1, 0x1b, &base), VDEV_MSR_OK);
    assert_int_equal(base, 0xfee00000ull | VLAPIC_BASE_EN);
    assert_int_equal(platform_devices_msr_read(&c->pd, 1, 0x10, &base), VDEV_MSR_NOT_MINE);
    assert_int_equal(platform_devices_msr_read(&c->pd, 7, 0x1b, &base), VDEV_MSR_NOT_MINE);
    wr(c, 1, 0x320, 0x40);                             /* sw-disabled: stays masked */
    assert_int_equal(rd(c, 1, 0x320), 0x10040);
}

static void test_priority_and_eoi(void **state)
{
    struct ctx *c = *state;
    wr(c, 0, 0x300, 0x40052);                          /* self IPIs */
    wr(c, 0, 0x300, 0x40051);
    wr(c, 0, 0x300, 0x40031);
    assert_int_equal(rd(c, 0, 0x200 + 0x10 * (0x52 / 32)), (1u << (0x52 % 32)) | (1u << (0x51 % 32)));
    assert_int_equal(pending(c, 0), 0x52);
    inject(c, 0, 0x52);
    assert_int_equal(rd(c, 0, 0xa0), 0x50);            /* PPR */
    assert_int_equal(pending(c, 0), -1);               /* 0x51 is the same class */
    wr(c, 0, 0x300, 0x40061);
    assert_int_equal(pending(c, 0), 0x61);
    wr(c, 0, 0x80, 0x70);                              /* TPR above it */
    assert_int_equal(pending(c, 0), -1);
    wr(c, 0, 0x80, 0x00);
    inject(c, 0, 0x61);
    assert_int_equal(rd(c, 0, 0x100 + 0x10 * 3), 1u << 1);   /* ISR bit 0x61 */
    wr(c, 0, 0xb0, 0);                                 /* EOI 0x61 */
    assert_int_equal(pending(c, 0), -1);
    wr(c, 0, 0xb0, 0);                                 /* EOI 0x52 */
    assert_int_equal(pending(c, 0), 0x51);
    inject(c, 0, 0x51);
    wr(c, 0, 0xb0, 0);
    assert_int_equal(pending(c, 0), 0x31);
    struct platform_intr bogus = { PLATFORM_INTR_LAPIC, 0x99 };
    platform_devices_ack(&c->pd, 0, &bogus);           /* not pending: no effect */
    assert_int_equal(rd(c, 0, 0x100 + 0x10 * (0x99 / 32)), 0);
    assert_int_equal(vlapic_get_cr8(platform_devices_lapic(&c->pd, 0)), 0);
    vlapic_set_cr8(platform_devices_lapic(&c->pd, 0), 4);
    assert_int_equal(rd(c, 0, 0x80), 0x40);
    assert_int_equal(pending(c, 0), -1);
}

static void test_timer_one_shot(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x3e0, 0x0);                              /* divide by 2 */
    wr(c, 0, 0x320, 0x40);
    wr(c, 0, 0x380, 1000);
    assert_int_equal(vlapic_timer_deadline(l), 1000 + 2000);
    assert_int_equal(c->f.timers[PLATFORM_TIMER_LAPIC(0)], 3000);
    c->f.now_ns = 1500;
    assert_int_equal(rd(c, 0, 0x390), 750);
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), -1);
    c->f.now_ns = 3000;
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), 0x40);
    assert_int_equal(rd(c, 0, 0x390), 0);
    assert_int_equal(vlapic_timer_deadline(l), 0);
    assert_true(c->f.kicks[0] > 0);
    wr(c, 0, 0x380, 0);                                /* zero stops */
    assert_int_equal(c->f.timers[PLATFORM_TIMER_LAPIC(0)], 0);
}

static void test_timer_periodic_and_masked(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x3e0, 0xb);                              /* divide by 1 */
    wr(c, 0, 0x320, 0x20045);                          /* periodic, vector 0x45 */
    wr(c, 0, 0x380, 100000);                           /* 100 us */
    c->f.now_ns = 101000;
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), 0x45);
    assert_int_equal(vlapic_timer_deadline(l), 201000);
    inject(c, 0, 0x45);
    wr(c, 0, 0xb0, 0);
    c->f.now_ns = 451000;                              /* late: one interrupt, count restarts */
    platform_devices_tick(&c->pd);
    assert_int_equal(l->stats.timer_fires, 2);
    assert_int_equal(vlapic_timer_deadline(l), 551000);
    assert_int_equal(rd(c, 0, 0x390), 100000);
    wr(c, 0, 0x320, 0x30045);                          /* masked: counts, no IRR */
    inject(c, 0, 0x45);
    wr(c, 0, 0xb0, 0);
    c->f.now_ns = 551000;
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), -1);
    assert_int_equal(vlapic_timer_deadline(l), 651000);

    wr(c, 0, 0x380, 1);                                /* 1 ns period: clamped */
    c->f.now_ns += 1;
    platform_devices_tick(&c->pd);
    assert_true(vlapic_timer_deadline(l) >= c->f.now_ns + VLAPIC_MIN_PERIOD_NS);
}

/* A guest descheduled across many periods gets one interrupt when it runs again, then
 * whole periods: never a burst of the missed ones, never a short gap. */
static void test_timer_periodic_coalesces_missed_ticks(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x3e0, 0xb);                              /* divide by 1 */
    wr(c, 0, 0x320, 0x20045);                          /* periodic, vector 0x45 */
    wr(c, 0, 0x380, 1000000);                          /* 1 ms, started at 1000 */
    c->f.now_ns = 1001000 + 10766000;                  /* 10.766 periods late */
    platform_devices_tick(&c->pd);
    assert_int_equal(l->stats.timer_fires, 1);
    assert_int_equal(pending(c, 0), 0x45);
    assert_int_equal(vlapic_timer_deadline(l), c->f.now_ns + 1000000);
    inject(c, 0, 0x45);
    wr(c, 0, 0xb0, 0);
    uint64_t last = c->f.now_ns;
    for (int i = 0; i < 5; i++) {                      /* ticked again and again: still one */
        c->f.now_ns += 1000;
        platform_devices_tick(&c->pd);
    }
    assert_int_equal(l->stats.timer_fires, 1);
    assert_int_equal(pending(c, 0), -1);
    c->f.now_ns = last + 1000000 + 20000;              /* on time (2% late): the grid holds */
    platform_devices_tick(&c->pd);
    assert_int_equal(l->stats.timer_fires, 2);
    assert_int_equal(vlapic_timer_deadline(l), last + 2000000);
    c->f.now_ns = last + 2000000 + 999999;             /* almost a period late */
    platform_devices_tick(&c->pd);
    assert_int_equal(l->stats.timer_fires, 3);
    assert_true(vlapic_timer_deadline(l) - c->f.now_ns >= 1000000);
}

/* A tick the device fired on time but the vCPU took late (its partition did not hold the
 * CPU): the count restarts when it is taken, so the next tick is a whole period after it. */
static void test_timer_periodic_taken_late_restarts(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x3e0, 0xb);                              /* divide by 1 */
    wr(c, 0, 0x320, 0x20045);                          /* periodic, vector 0x45 */
    wr(c, 0, 0x380, 1000000);                          /* 1 ms, started at 1000 */
    c->f.now_ns = 1001000;                             /* on time */
    platform_devices_tick(&c->pd);
    assert_int_equal(vlapic_timer_deadline(l), 2001000);
    c->f.now_ns = 1001000 + 50000;                     /* taken 5% late: the grid holds */
    inject(c, 0, 0x45);
    wr(c, 0, 0xb0, 0);
    assert_int_equal(vlapic_timer_deadline(l), 2001000);
    c->f.now_ns = 2001000;
    platform_devices_tick(&c->pd);
    c->f.now_ns = 2001000 + 400000;                    /* taken 40% late: restarts now */
    inject(c, 0, 0x45);
    wr(c, 0, 0xb0, 0);
    assert_int_equal(vlapic_timer_deadline(l), 2401000 + 1000000);
    assert_int_equal(l->stats.timer_fires, 2);
}

/* devfuzz: periodic with count 1 and divide by 1.  The tick the vCPU takes is always
 * "late" against a 1 ns period, and the restart at its taking re-armed 1 ns on, past the
 * floor: the timer was due at every VM entry and no guest instruction ran but the handler. */
static void test_timer_periodic_count1_taken_keeps_floor(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    enable(c, 0);
    wr(c, 0, 0x3e0, 0xb);
    wr(c, 0, 0x320, 0x20045);
    wr(c, 0, 0x380, 1);
    for (int i = 0; i < 20; i++) {
        c->f.now_ns = vlapic_timer_deadline(l);
        platform_devices_tick(&c->pd);
        assert_int_equal(pending(c, 0), 0x45);
        c->f.now_ns += 300;                            /* the injection, a little later */
        inject(c, 0, 0x45);
        assert_true(vlapic_timer_deadline(l) >= c->f.now_ns + VLAPIC_MIN_PERIOD_NS);
        wr(c, 0, 0xb0, 0);
        assert_int_equal(pending(c, 0), -1);
    }
    assert_int_equal(l->stats.timer_fires, 20);
}

/* A tick injected on time whose delivery is cut short (the vCPU parked on a page not
 * loaded yet) goes back to the IRR; delivered after the wait, it is taken late and the
 * count restarts then, not at the injection that did not deliver it. */
static void test_timer_periodic_untaken_tick_taken_late_restarts(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x3e0, 0xb);                              /* divide by 1 */
    wr(c, 0, 0x320, 0x20045);                          /* periodic, vector 0x45 */
    wr(c, 0, 0x380, 1000000);                          /* 1 ms, started at 1000 */
    c->f.now_ns = 1001000;
    platform_devices_tick(&c->pd);
    inject(c, 0, 0x45);                                /* on time: the grid holds */
    assert_int_equal(vlapic_timer_deadline(l), 2001000);
    assert_false(platform_devices_untake(&c->pd, 0, 0x46));    /* not the one taken */
    assert_true(platform_devices_untake(&c->pd, 0, 0x45));
    assert_int_equal(rd(c, 0, 0x120), 0);              /* ISR 0x45 clear */
    assert_int_equal(rd(c, 0, 0x220), 1u << 5);        /* IRR 0x45 set */
    assert_false(platform_devices_untake(&c->pd, 0, 0x45));    /* once */
    c->f.now_ns = 1001000 + 700000;                    /* delivered 70% late */
    struct platform_intr in;
    assert_true(platform_devices_pending(&c->pd, 0, &in));
    assert_int_equal(in.vector, 0x45);
    inject(c, 0, 0x45);
    assert_int_equal(vlapic_timer_deadline(l), 1701000 + 1000000);
    wr(c, 0, 0xb0, 0);
    /* Untaken after a tick that fired while it waited, the older due stands. */
    c->f.now_ns = 2701000;
    platform_devices_tick(&c->pd);
    c->f.now_ns = 2701000 + 10000;
    inject(c, 0, 0x45);
    c->f.now_ns = 3701000;
    platform_devices_tick(&c->pd);                     /* fires while the vCPU waits */
    assert_true(platform_devices_untake(&c->pd, 0, 0x45));
    c->f.now_ns = 3701000 + 20000;                     /* 1% after the newer tick's due */
    inject(c, 0, 0x45);
    assert_int_equal(vlapic_timer_deadline(l), 3721000 + 1000000);
}

/* An interrupt the PIC gave is not the LAPIC's to take back. */
static void test_untake_after_pic_refused(void **state)
{
    struct ctx *c = *state;
    wr(c, 0, 0x320, 0x20045);
    c->f.now_ns = 0;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    vlapic_deliver(l, VLAPIC_DM_FIXED, 0x45, false);
    inject(c, 0, 0x45);
    struct platform_intr pic = { PLATFORM_INTR_PIC, 0x45 };
    platform_devices_ack(&c->pd, 0, &pic);
    assert_false(platform_devices_untake(&c->pd, 0, 0x45));
    assert_int_equal(rd(c, 0, 0x120), 1u << 5);        /* 0x45 still in service */
}

static void test_timer_tsc_deadline(void **state)
{
    struct ctx *c = *state;
    c->f.plat.tsc_hz = 2000000000ull;
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat) == false);  /* ranges taken */
    vdev_bus_init(&c->bus);
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    uint64_t v;
    assert_int_equal(platform_devices_msr_write(&c->pd, 0, 0x6e0, 5000), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_read(&c->pd, 0, 0x6e0, &v), VDEV_MSR_OK);
    assert_int_equal(v, 0);                            /* not in deadline mode: ignored */
    wr(c, 0, 0x320, 0x40046);                          /* TSC-deadline, vector 0x46 */
    wr(c, 0, 0x380, 1234);                             /* initial count ignored */
    assert_int_equal(rd(c, 0, 0x380), 0);
    assert_int_equal(platform_devices_msr_write(&c->pd, 0, 0x6e0, 6000), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_read(&c->pd, 0, 0x6e0, &v), VDEV_MSR_OK);
    assert_int_equal(v, 6000);
    assert_int_equal(vlapic_timer_deadline(l), 3000);   /* tsc 2000 now, 2 ticks per ns */
    c->f.now_ns = 3000;
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), 0x46);
    assert_int_equal(platform_devices_msr_read(&c->pd, 0, 0x6e0, &v), VDEV_MSR_OK);
    assert_int_equal(v, 0);
    inject(c, 0, 0x46);
    wr(c, 0, 0xb0, 0);
    platform_devices_msr_write(&c->pd, 0, 0x6e0, 10);  /* already passed: fires now */
    assert_int_equal(pending(c, 0), 0x46);
    inject(c, 0, 0x46);
    wr(c, 0, 0xb0, 0);

    c->f.plat.guest_tsc = fake_guest_tsc;              /* the VT-x layer's own TSC */
    vdev_bus_init(&c->bus);
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    l = platform_devices_lapic(&c->pd, 0);
    wr(c, 0, 0x320, 0x40046);
    c->f.tsc = 1000000;
    platform_devices_msr_write(&c->pd, 0, 0x6e0, 1000000 + 4000);
    assert_int_equal(vlapic_timer_deadline(l), 3000 + 2000);
    wr(c, 0, 0x320, 0x00046);                          /* leaving deadline mode disarms */
    assert_int_equal(vlapic_timer_deadline(l), 0);
    platform_devices_msr_read(&c->pd, 0, 0x6e0, &v);
    assert_int_equal(v, 0);
}

static void test_ipis_and_startup(void **state)
{
    struct ctx *c = *state;
    enable(c, 1);
    enable(c, 2);
    wr(c, 0, 0x310, 1u << 24);
    wr(c, 0, 0x300, 0x4041);                           /* fixed 0x41 to APIC 1 */
    assert_int_equal(pending(c, 1), 0x41);
    assert_int_equal(pending(c, 2), -1);
    assert_true(c->f.kicks[1] > 0);
    assert_int_equal(rd(c, 0, 0x300) & (1u << 12), 0);  /* delivery status idle */

    wr(c, 0, 0x300, 0xc4042);                          /* all excluding self */
    assert_int_equal(pending(c, 0), -1);
    assert_int_equal(pending(c, 2), 0x42);
    wr(c, 0, 0x300, 0x84043);                          /* all including self */
    assert_int_equal(pending(c, 0), 0x43);

    wr(c, 0, 0x310, 2u << 24);
    wr(c, 0, 0x300, 0x4500);                           /* INIT to APIC 2 */
    assert_int_equal(pending(c, 2), -1);               /* its LAPIC was reset */
    assert_int_equal(rd(c, 2, 0xf0), 0xff);
    wr(c, 0, 0x300, 0x8500);                           /* INIT level de-assert: ignored */
    wr(c, 0, 0x300, 0x4608);                           /* SIPI, page 8 */
    assert_int_equal(c->f.startup_count, 2);
    assert_int_equal(c->f.startups[0].vcpu, 2);
    assert_false(c->f.startups[0].sipi);
    assert_true(c->f.startups[1].sipi);
    assert_int_equal(c->f.startups[1].vector, 8);
    wr(c, 0, 0x300, 0xc4600);                          /* SIPI to all others */
    assert_int_equal(c->f.startup_count, 4);

    wr(c, 0, 0x310, 1u << 24);
    wr(c, 0, 0x300, 0x4400);                           /* NMI */
    assert_true(platform_devices_take_nmi(&c->pd, 1));
    assert_false(platform_devices_take_nmi(&c->pd, 1));

    wr(c, 1, 0xd0, 0x02000000);                        /* logical flat: bit 1 */
    wr(c, 0, 0x310, 0x02000000);
    wr(c, 0, 0x300, 0x4851);                           /* logical, fixed 0x51 */
    assert_int_equal(pending(c, 1), 0x51);
    wr(c, 1, 0xe0, 0x0fffffff);                        /* cluster model */
    wr(c, 1, 0xd0, 0x31000000);                        /* cluster 3, bit 0 */
    wr(c, 0, 0x310, 0x31000000);
    wr(c, 0, 0x300, 0x4862);
    assert_int_equal(pending(c, 1), 0x62);
    wr(c, 0, 0x310, 0x21000000);                       /* another cluster */
    wr(c, 0, 0x300, 0x4873);
    assert_int_equal(pending(c, 1), 0x62);

    wr(c, 0, 0x300, 0x4005);                           /* illegal vector */
    wr(c, 0, 0x280, 0);
    assert_int_equal(rd(c, 0, 0x280), 0x20);
    wr(c, 0, 0x280, 0);
    assert_int_equal(rd(c, 0, 0x280), 0);
}

static void test_x2apic_msr_rules(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    struct platform_devices *pd = &c->pd;
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x802, &v), VDEV_MSR_GP);  /* xAPIC mode */
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x808, 0), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfee00000ull | VLAPIC_BASE_EXTD), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfee00000ull | VLAPIC_BASE_EN | 1), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, (1ull << 40) | VLAPIC_BASE_EN), VDEV_MSR_GP);
    for (unsigned i = 1; i < 3; i++)
        assert_int_equal(platform_devices_msr_write(pd, i, 0x1b,
                         0xfee00000ull | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x802, &v), VDEV_MSR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x80d, &v), VDEV_MSR_OK);
    assert_int_equal(v, 0x2);                          /* cluster 0, bit 1 */
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x803, &v), VDEV_MSR_OK);
    assert_int_equal(v, VLAPIC_VERSION);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x802, 5), VDEV_MSR_GP);   /* RO */
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x80d, 5), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x80b, &v), VDEV_MSR_GP);   /* WO */
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x83f, &v), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x80b, 1), VDEV_MSR_GP);   /* EOI != 0 */
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x828, 1), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x80e, &v), VDEV_MSR_GP);   /* no DFR */
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x831, &v), VDEV_MSR_GP);   /* no ICR2 */
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x800, &v), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x8ff, &v), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x808, 1ull << 32), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x83f, 0x100), VDEV_MSR_GP);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfee00000ull | VLAPIC_BASE_EN), VDEV_MSR_GP);

    assert_int_equal(platform_devices_msr_write(pd, 1, 0x80f, 0x1ff), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_write(pd, 2, 0x80f, 0x1ff), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x83f, 0x55), VDEV_MSR_OK);  /* self IPI */
    assert_int_equal(pending(c, 1), 0x55);
    inject(c, 1, 0x55);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x80b, 0), VDEV_MSR_OK);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x830, (2ull << 32) | 0x4066), VDEV_MSR_OK);
    assert_int_equal(pending(c, 2), 0x66);
    assert_int_equal(platform_devices_msr_read(pd, 1, 0x830, &v), VDEV_MSR_OK);
    assert_int_equal(v, (2ull << 32) | 0x4066);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x830, (0x4ull << 32) | 0x4877), VDEV_MSR_OK);
    assert_int_equal(pending(c, 2), 0x77);             /* x2APIC logical: cluster 0, bit 2 */

    v = 0x1234;
    assert_false(platform_devices_mmio(pd, 1, 0xfee00020, 4, false, &v));  /* page is gone */
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfee00000ull), VDEV_MSR_OK);  /* disable */
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfee00000ull | VLAPIC_BASE_EN), VDEV_MSR_OK);
    assert_int_equal(rd(c, 1, 0x20), 1u << 24);
    assert_int_equal(platform_devices_msr_write(pd, 1, 0x1b, 0xfed00000ull | VLAPIC_BASE_EN), VDEV_MSR_OK);
    uint64_t id = 0;
    assert_true(platform_devices_mmio(pd, 1, 0xfed00020, 4, false, &id));  /* moved page */
    assert_int_equal(id, 1u << 24);
}

/* Every offset, size and x2APIC MSR with junk, then time at its end: the model answers
 * within the access's width, read-only and other vCPUs' registers keep their values,
 * MSRs of x2APIC mode fault in xAPIC mode, the deadline does not wrap, and the LAPIC
 * still delivers. */
static void test_hostile_mmio(void **state)
{
    struct ctx *c = *state;
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    for (uint64_t off = 0; off < 0x1010; off += 3) {
        for (unsigned size = 0; size <= 9; size++) {
            uint64_t v = 0xdeadbeefcafef00dull ^ off;
            bool mine = platform_devices_mmio(&c->pd, 0, 0xfee00000ull + off, size, false, &v);
            assert_true(mine == (off < 0x1000));
            if (mine && (size < 8 || (off & 0xf) >= 4))
                assert_int_equal(v & ~vdev_size_mask(size), 0);
            if (mine && (off & 0xf) >= 4)
                assert_int_equal(v, 0);               /* bytes 4-15 of a slot read as zero */
            if (off != 0x300 && off != 0xf0 && off != 0x320)
                platform_devices_mmio(&c->pd, 0, 0xfee00000ull + off, size, true, &v);
        }
    }
    assert_int_equal(rd(c, 0, 0x20), 0);               /* ID, version: read-only */
    assert_int_equal(rd(c, 0, 0x30), VLAPIC_VERSION);
    assert_int_equal(rd(c, 0, 0xf0), 0x1ff);
    assert_int_equal(rd(c, 1, 0x20), 1u << 24);        /* the other vCPUs untouched */
    assert_int_equal(rd(c, 1, 0xf0), 0xff);
    assert_int_equal(rd(c, 2, 0x320), 0x10000);
    for (uint32_t msr = 0x7f0; msr < 0x910; msr++) {
        uint64_t v;
        enum vdev_msr_result want = msr >= 0x800 && msr < 0x900 ? VDEV_MSR_GP : VDEV_MSR_NOT_MINE;
        assert_int_equal(platform_devices_msr_read(&c->pd, 2, msr, &v), want);
        assert_int_equal(platform_devices_msr_write(&c->pd, 2, msr, ~0ull), want);
    }
    assert_int_equal(rd(c, 2, 0x20), 2u << 24);
    assert_int_equal(rd(c, 2, 0xf0), 0xff);
    wr(c, 0, 0x3e0, 0xb);                              /* a periodic timer at the end of time */
    wr(c, 0, 0x320, 0x20047);
    wr(c, 0, 0x380, 0xffffffff);
    c->f.now_ns = ~0ull - 1;
    platform_devices_tick(&c->pd);
    assert_int_equal(l->stats.timer_fires, 1);
    assert_true(vlapic_timer_deadline(l) == 0 || vlapic_timer_deadline(l) >= c->f.now_ns);
    (void)rd(c, 0, 0x390);
    platform_devices_tick(&c->pd);                     /* saturated, not wrapped: no second */
    assert_int_equal(l->stats.timer_fires, 1);
    inject(c, 0, 0x47);
    wr(c, 0, 0xb0, 0);
    wr(c, 0, 0x300, 0x40052);                          /* still delivers a self-IPI */
    assert_int_equal(pending(c, 0), 0x52);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_priority_and_eoi, setup),
        cmocka_unit_test_setup(test_timer_one_shot, setup),
        cmocka_unit_test_setup(test_timer_periodic_and_masked, setup),
        cmocka_unit_test_setup(test_timer_periodic_coalesces_missed_ticks, setup),
        cmocka_unit_test_setup(test_timer_periodic_taken_late_restarts, setup),
        cmocka_unit_test_setup(test_timer_periodic_untaken_tick_taken_late_restarts, setup),
        cmocka_unit_test_setup(test_timer_periodic_count1_taken_keeps_floor, setup),
        cmocka_unit_test_setup(test_untake_after_pic_refused, setup),
        cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
        cmocka_unit_test_setup(test_ipis_and_startup, setup),
        cmocka_unit_test_setup(test_x2apic_msr_rules, setup),
        cmocka_unit_test_setup(test_hostile_mmio, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
