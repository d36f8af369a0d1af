/* pic8259: Linux's init sequence, masks, priorities, EOI, cascade, edge/level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/pic8259.h"
#include "tests/unit/test_vdev_fake.h"
#include "tests/unit/test_vdev_port.h"

struct ctx { struct vdev_bus bus; struct vpic pic; unsigned rises; };

static void on_intr(void *ctx, bool level)
{
    struct ctx *c = ctx;
    if (level)
        c->rises++;
}

static int setup(void **state)
{
    static struct ctx c;
    vdev_bus_init(&c.bus);
    vpic_init(&c.pic, on_intr, &c);
    c.rises = 0;
    assert_true(vpic_register(&c.pic, &c.bus));
    *state = &c;
    return 0;
}

static void out8(struct ctx *c, uint16_t port, uint8_t val) { port_out8(&c->bus, port, val); }
static uint8_t in8(struct ctx *c, uint16_t port) { return port_in8(&c->bus, port); }

/* The sequence of Linux's init_8259A(): vectors 0x30 and 0x38, slave on IRQ 2. */
static void linux_init(struct ctx *c)
{
    out8(c, 0x21, 0xff);
    out8(c, 0xa1, 0xff);
    out8(c, 0x20, 0x11);
    out8(c, 0x21, 0x30);
    out8(c, 0x21, 0x04);
    out8(c, 0x21, 0x01);
    out8(c, 0xa0, 0x11);
    out8(c, 0xa1, 0x38);
    out8(c, 0xa1, 0x02);
    out8(c, 0xa1, 0x01);
    out8(c, 0x21, 0xfb);   /* everything masked but the cascade */
    out8(c, 0xa1, 0xff);
}

static void test_masked_by_default(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(in8(c, 0x21), 0xff);
    assert_int_equal(in8(c, 0xa1), 0xff);
    vpic_set_irq(&c->pic, 4, true);
    assert_false(vpic_output(&c->pic));
    assert_int_equal(vpic_peek(&c->pic), -1);
    assert_int_equal(in8(c, 0x20), 0x10);        /* but requested in IRR */
}

static void test_init_sequence_and_priority(void **state)
{
    struct ctx *c = *state;
    linux_init(c);
    assert_int_equal(in8(c, 0x21), 0xfb);
    out8(c, 0x21, 0xea);                         /* unmask 0, 2, 4 */
    vpic_set_irq(&c->pic, 4, true);
    assert_true(vpic_output(&c->pic));
    assert_int_equal(c->rises, 1);
    vpic_set_irq(&c->pic, 0, true);
    assert_int_equal(vpic_peek(&c->pic), 0x30);
    assert_int_equal(vpic_ack(&c->pic), 0x30);  /* IRQ 0 beats IRQ 4 */
    assert_false(vpic_output(&c->pic));         /* 4 waits behind 0 in service */
    out8(c, 0x20, 0x0b);                           /* OCW3: read ISR */
    assert_int_equal(in8(c, 0x20), 0x01);
    out8(c, 0x20, 0x20);                           /* non-specific EOI */
    assert_int_equal(in8(c, 0x20), 0x00);
    assert_true(vpic_output(&c->pic));
    assert_int_equal(vpic_ack(&c->pic), 0x34);
    out8(c, 0x20, 0x0a);                           /* back to IRR */
    assert_int_equal(in8(c, 0x20) & 0x10, 0);      /* edge request consumed */
    out8(c, 0x20, 0x64);                           /* specific EOI for 4 */
    assert_false(vpic_output(&c->pic));
}

static void test_higher_priority_nests(void **state)
{
    struct ctx *c = *state;
    linux_init(c);
    out8(c, 0x21, 0x00);
    vpic_set_irq(&c->pic, 5, true);
    assert_int_equal(vpic_ack(&c->pic), 0x35);
    vpic_set_irq(&c->pic, 1, true);              /* higher priority nests */
    assert_int_equal(vpic_peek(&c->pic), 0x31);
    vpic_set_irq(&c->pic, 6, true);
    assert_int_equal(vpic_ack(&c->pic), 0x31);
    assert_int_equal(vpic_peek(&c->pic), -1);    /* 6 waits for both EOIs */
    out8(c, 0x20, 0x20);
    assert_int_equal(vpic_peek(&c->pic), -1);
    out8(c, 0x20, 0x20);
    assert_int_equal(vpic_peek(&c->pic), 0x36);
}

static void test_cascade_and_level(void **state)
{
    struct ctx *c = *state;
    linux_init(c);
    out8(c, 0xa1, 0xef);                          /* unmask IRQ 12 */
    out8(c, 0x4d1, 0x10);                         /* IRQ 12 level-triggered */
    assert_int_equal(in8(c, 0x4d1), 0x10);
    vpic_set_irq(&c->pic, 12, true);
    assert_int_equal(vpic_ack(&c->pic), 0x3c);
    out8(c, 0xa0, 0x20);
    out8(c, 0x20, 0x20);
    assert_int_equal(vpic_peek(&c->pic), 0x3c);  /* still high: requested again */
    vpic_set_irq(&c->pic, 12, false);
    assert_int_equal(vpic_peek(&c->pic), -1);
    out8(c, 0x4d0, 0xff);                         /* IRQ 0-2 cannot be level */
    assert_int_equal(in8(c, 0x4d0), 0xf8);
}

static void test_spurious_and_auto_eoi(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(vpic_ack(&c->pic), 7);    /* no request: spurious IRQ 7 */
    out8(c, 0x20, 0x13);                          /* single, ICW4 */
    out8(c, 0x21, 0x08);
    out8(c, 0x21, 0x03);                          /* auto EOI */
    out8(c, 0x21, 0x00);
    vpic_set_irq(&c->pic, 3, true);
    assert_int_equal(vpic_ack(&c->pic), 0x0b);
    out8(c, 0x20, 0x0b);
    assert_int_equal(in8(c, 0x20), 0);            /* nothing left in service */
    vpic_set_irq(&c->pic, 3, false);
    vpic_set_irq(&c->pic, 3, true);
    out8(c, 0x20, 0x0c);                          /* poll */
    assert_int_equal(in8(c, 0x20), 0x83);
}

static void test_hostile_writes(void **state)
{
    struct ctx *c = *state;
    for (unsigned v = 0; v < 256; v++) {
        out8(c, 0x20, (uint8_t)v);
        out8(c, 0x21, (uint8_t)(v * 7));
        out8(c, 0xa0, (uint8_t)(v ^ 0x5a));
        out8(c, 0xa1, (uint8_t)v);
        vpic_set_irq(&c->pic, v & 15, v & 1);
        (void)vpic_ack(&c->pic);
        (void)in8(c, 0x20);
    }
    vpic_set_irq(&c->pic, 99, true);
    uint32_t w = 0xffffffff;
    vdev_bus_io(&c->bus, 0x21, 4, true, &w);
    vdev_bus_io(&c->bus, 0x4d1, 2, false, &w);
    assert_int_equal(w >> 8, 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_masked_by_default, setup),
        cmocka_unit_test_setup(test_init_sequence_and_priority, setup),
        cmocka_unit_test_setup(test_higher_priority_nests, setup),
        cmocka_unit_test_setup(test_cascade_and_level, setup),
        cmocka_unit_test_setup(test_spurious_and_auto_eoi, setup),
        cmocka_unit_test_setup(test_hostile_writes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
