/* reset_ctl: port 0x92 fast reset and the 0xCF9 reset control register call the
 * platform's guest_reset with the port's name; the other bits read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/reset_ctl.h"
#include "tests/unit/test_vdev_fake.h"

static struct fake_platform fake;
static struct vdev_bus bus;
static struct reset_ctl rc;
static const char *sources[8];
static unsigned reset_count;

static void on_reset(void *ctx, const char *source)
{
    (void)ctx;
    if (reset_count < 8)
        sources[reset_count] = source;
    reset_count++;
}

static int setup(void **state)
{
    fake_platform_init(&fake);
    fake.plat.guest_reset = on_reset;
    reset_count = 0;
    vdev_bus_init(&bus);
    reset_ctl_init(&rc, &fake.plat);
    assert_true(reset_ctl_register(&rc, &bus));
    return 0;
}

static uint32_t in(uint16_t port, unsigned size)
{
    uint32_t v = 0;
    vdev_bus_io(&bus, port, size, false, &v);
    return v;
}

static void out(uint16_t port, unsigned size, uint32_t v) { vdev_bus_io(&bus, port, size, true, &v); }

static void port_a_gate_a20_is_no_reset(void **state)
{
    assert_int_equal(in(0x92, 1), 0x02);            /* A20 on */
    out(0x92, 1, (in(0x92, 1) | 0x02) & ~1u);       /* how firmware turns A20 on */
    out(0x92, 1, 0xc2);
    assert_int_equal(in(0x92, 1), 0xc2);
    out(0x92, 1, 0x00);                             /* A20 cannot be turned off */
    assert_int_equal(in(0x92, 1), 0x02);
    assert_int_equal(reset_count, 0);
}

static void port_a_fast_reset(void **state)
{
    out(0x92, 1, in(0x92, 1) | 1);
    assert_int_equal(reset_count, 1);
    assert_string_equal(sources[0], "port 0x92");
    assert_int_equal(in(0x92, 1) & 1, 0);
}

static void rcr_resets_on_rst_cpu(void **state)
{
    out(0xcf9, 1, 0x02);                            /* Linux: select hard reset first */
    assert_int_equal(reset_count, 0);
    assert_int_equal(in(0xcf9, 1), 0x02);
    out(0xcf9, 1, 0x06);
    assert_int_equal(reset_count, 1);
    assert_string_equal(sources[0], "port 0xcf9");
    out(0xcf9, 1, 0x0e);                            /* full reset */
    assert_int_equal(reset_count, 2);
    assert_int_equal(in(0xcf9, 1), 0x0a);           /* RST_CPU reads 0 */
}

static void other_sizes_are_not_resets(void **state)
{
    out(0xcf9, 2, 0x0606);
    out(0x92, 4, 0xffffffff);
    assert_int_equal(reset_count, 0);
    assert_int_equal(in(0xcf9, 2), 0xffff);
    assert_int_equal(bus.stats.unclaimed_port_writes, 2);
}

static void no_callback_no_crash(void **state)
{
    fake.plat.guest_reset = NULL;
    out(0xcf9, 1, 0x06);
    assert_int_equal(rc.resets, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(port_a_gate_a20_is_no_reset, setup),
        cmocka_unit_test_setup(port_a_fast_reset, setup),
        cmocka_unit_test_setup(rcr_resets_on_rst_cpu, setup),
        cmocka_unit_test_setup(other_sizes_are_not_resets, setup),
        cmocka_unit_test_setup(no_callback_no_crash, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
