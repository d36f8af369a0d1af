/* uart8250: output, divisor latch, loopback, interrupts the way Linux drives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/uart8250.h"
#include "tests/unit/test_vdev_fake.h"

struct ctx { struct fake_platform f; struct vdev_bus bus; struct vuart u; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    vdev_bus_init(&c.bus);
    vuart_init(&c.u, &c.f.plat, VUART_COM1_BASE, VUART_COM1_IRQ);
    assert_true(vuart_register(&c.u, &c.bus));
    *state = &c;
    return 0;
}

static uint8_t in8(struct ctx *c, unsigned reg)
{
    uint32_t v = 0;
    vdev_bus_io(&c->bus, (uint16_t)(0x3f8 + reg), 1, false, &v);
    return (uint8_t)v;
}

static void out8(struct ctx *c, unsigned reg, uint8_t val)
{
    uint32_t v = val;
    vdev_bus_io(&c->bus, (uint16_t)(0x3f8 + reg), 1, true, &v);
}

static void test_output_reaches_console(void **state)
{
    struct ctx *c = *state;
    const char *msg = "hello\n";
    for (const char *p = msg; *p; p++) {
        assert_true(in8(c, 5) & 0x20);          /* THRE */
        out8(c, 0, (uint8_t)*p);
    }
    assert_string_equal(c->f.console, "hello\n");
    assert_int_equal(in8(c, 5) & 0x61, 0x60);   /* THRE | TEMT, no data */
    assert_int_equal(c->f.irq_count, 0);        /* no interrupts enabled */
}

static void test_divisor_latch(void **state)
{
    struct ctx *c = *state;
    out8(c, 3, 0x83);              /* DLAB, 8N1 */
    out8(c, 0, 0x01);
    out8(c, 1, 0x00);
    assert_int_equal(vuart_divisor(&c->u), 1);
    assert_int_equal(in8(c, 0), 0x01);
    assert_int_equal(in8(c, 1), 0x00);
    out8(c, 3, 0x03);
    assert_int_equal(in8(c, 3), 0x03);
    out8(c, 1, 0x0f);              /* now IER, not DLM */
    assert_int_equal(in8(c, 1), 0x0f);
    assert_int_equal(vuart_divisor(&c->u), 1);
    assert_int_equal(c->f.console_len, 0);      /* DLL writes are not output */
    out8(c, 7, 0x5a);
    assert_int_equal(in8(c, 7), 0x5a);
}

static void test_loopback_like_linux_autoconfig(void **state)
{
    struct ctx *c = *state;
    out8(c, 4, 0x1a);                           /* LOOP | OUT2 | RTS */
    assert_int_equal(in8(c, 6) & 0xf0, 0x90);   /* DCD | CTS */
    out8(c, 4, 0x1f);
    assert_int_equal(in8(c, 6) & 0xf0, 0xf0);
    out8(c, 0, 'x');
    assert_int_equal(c->f.console_len, 0);      /* looped back, not sent */
    assert_true(in8(c, 5) & 0x01);
    assert_int_equal(in8(c, 0), 'x');
    assert_false(in8(c, 5) & 0x01);
    for (unsigned i = 0; i < VUART_RX_QUEUE + 1; i++)
        out8(c, 0, (uint8_t)i);
    assert_true(in8(c, 5) & 0x02);              /* overrun reported once */
    assert_false(in8(c, 5) & 0x02);
    out8(c, 2, 0x03);                           /* FIFO enable + clear RX */
    assert_false(in8(c, 5) & 0x01);
    out8(c, 4, 0x0b);
    assert_int_equal(in8(c, 6) & 0xf0, 0xb0);   /* back to the "connected" lines */
}

static void test_thre_interrupt_like_linux(void **state)
{
    struct ctx *c = *state;
    out8(c, 2, 0x07);                           /* FIFO on */
    assert_int_equal(in8(c, 2), 0xc1);          /* 16550A FIFOs, no interrupt */
    out8(c, 1, 0x02);                           /* enable THRI: fires at once */
    assert_true(c->f.irq_level[4]);
    assert_int_equal(in8(c, 2), 0xc2);
    assert_false(c->f.irq_level[4]);            /* IIR read cleared it */
    assert_int_equal(in8(c, 2), 0xc1);
    out8(c, 0, 'a');                            /* transmitted: THR empty again */
    assert_true(c->f.irq_level[4]);
    out8(c, 0, 'b');                            /* THR write clears, then sets again */
    assert_true(c->f.irq_level[4]);
    out8(c, 1, 0x00);
    assert_false(c->f.irq_level[4]);
    assert_string_equal(c->f.console, "ab");
    assert_int_equal(c->f.irq_rises[4], 2);
}

static void test_receive_interrupt(void **state)
{
    struct ctx *c = *state;
    out8(c, 1, 0x01);                           /* RX data interrupt */
    assert_false(c->f.irq_level[4]);
    assert_int_equal(vuart_input(&c->u, "ok", 2), 2);
    assert_true(c->f.irq_level[4]);
    assert_int_equal(in8(c, 2) & 0x0f, 0x04);
    assert_int_equal(in8(c, 0), 'o');
    assert_true(c->f.irq_level[4]);
    assert_int_equal(in8(c, 0), 'k');
    assert_false(c->f.irq_level[4]);
    assert_int_equal(in8(c, 0), 0);             /* empty reads 0 */
    char big[300];
    memset(big, 'z', sizeof(big));
    assert_int_equal(vuart_input(&c->u, big, sizeof(big)), VUART_RX_QUEUE);
}

static void test_wide_and_hostile_accesses(void **state)
{
    struct ctx *c = *state;
    uint32_t v = 0x0000ff41;                    /* word write: THR='A', IER=0xff */
    vdev_bus_io(&c->bus, 0x3f8, 2, true, &v);
    assert_string_equal(c->f.console, "A");
    assert_int_equal(in8(c, 1), 0x0f);
    v = 0;
    vdev_bus_io(&c->bus, 0x3fe, 4, false, &v);  /* MSR, SCR, then past the end */
    assert_int_equal(v >> 16, 0xffff);
    v = 0xffffffff;
    vdev_bus_io(&c->bus, 0x3ff, 4, true, &v);   /* only SCR is written */
    assert_int_equal(in8(c, 7), 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_output_reaches_console, setup),
        cmocka_unit_test_setup(test_divisor_latch, setup),
        cmocka_unit_test_setup(test_loopback_like_linux_autoconfig, setup),
        cmocka_unit_test_setup(test_thre_interrupt_like_linux, setup),
        cmocka_unit_test_setup(test_receive_interrupt, setup),
        cmocka_unit_test_setup(test_wide_and_hostile_accesses, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
