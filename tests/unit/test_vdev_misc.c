/* debug_exit statuses and fw_cfg items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/debug_exit.h"
#include "hv/vdev/fw_cfg.h"
#include "tests/unit/test_vdev_fake.h"

static void test_debug_exit_statuses(void **state)
{
    struct fake_platform f;
    struct vdev_bus bus;
    struct debug_exit d;
    fake_platform_init(&f);
    vdev_bus_init(&bus);
    debug_exit_init(&d, &f.plat, DEBUG_EXIT_PORT);
    assert_true(debug_exit_register(&d, &bus));

    uint32_t v = 0;
    vdev_bus_io(&bus, 0xf4, 1, true, &v);
    v = 1;
    vdev_bus_io(&bus, 0xf4, 4, true, &v);
    v = 0x1234;
    vdev_bus_io(&bus, 0xf4, 1, true, &v);       /* byte write sees 0x34 */
    v = 0xffffffff;
    vdev_bus_io(&bus, 0xf4, 4, true, &v);
    assert_int_equal(f.exit_count, 4);
    assert_int_equal(f.exit_status[0], 1);
    assert_int_equal(f.exit_status[1], 3);
    assert_int_equal(f.exit_status[2], 0x69);
    assert_true(f.exit_status[3] > 0);
    assert_int_equal(debug_exit_status(0x3fffffff), 0x7fffffff);

    v = 0;
    vdev_bus_io(&bus, 0xf4, 1, false, &v);
    assert_int_equal(v, 0xff);
    assert_int_equal(f.exit_count, 4);
}

/* `debug-exit = no`: the port claims nothing, so a write neither ends the partition nor
 * counts as the device's; reads stay all-ones. */
static void test_debug_exit_hidden(void **state)
{
    struct fake_platform f;
    struct vdev_bus bus;
    struct debug_exit d;
    fake_platform_init(&f);
    vdev_bus_init(&bus);
    debug_exit_init(&d, &f.plat, DEBUG_EXIT_PORT);
    debug_exit_hide(&d);
    assert_true(debug_exit_register(&d, &bus));
    uint32_t v = 1;
    vdev_bus_io(&bus, 0xf4, 4, true, &v);
    v = 0;
    vdev_bus_io(&bus, 0xf7, 1, true, &v);
    assert_int_equal(f.exit_count, 0);
    assert_int_equal(bus.stats.unclaimed_port_writes, 2);
    vdev_bus_io(&bus, 0xf4, 2, false, &v);
    assert_int_equal(v, 0xffff);
}

static uint64_t read_item(struct vdev_bus *bus, uint16_t key, unsigned len)
{
    uint32_t v = key;
    vdev_bus_io(bus, FW_CFG_PORT_SEL, 2, true, &v);
    uint64_t r = 0;
    for (unsigned i = 0; i < len; i++) {
        vdev_bus_io(bus, FW_CFG_PORT_DATA, 1, false, &v);
        r |= (uint64_t)(v & 0xff) << (8 * i);
    }
    return r;
}

static void test_fw_cfg_items(void **state)
{
    struct fake_platform f;
    struct vdev_bus bus;
    struct fw_cfg fc;
    fake_platform_init(&f);
    f.plat.vcpu_count = 4;
    f.plat.ram_bytes = 0x123456789ull;
    vdev_bus_init(&bus);
    fw_cfg_init(&fc, &f.plat);
    assert_true(fw_cfg_register(&fc, &bus));

    assert_int_equal(read_item(&bus, FW_CFG_SIGNATURE, 4), 0x554d4551);  /* "QEMU" */
    assert_int_equal(read_item(&bus, FW_CFG_ID, 4), 1);
    assert_int_equal(read_item(&bus, FW_CFG_RAM_SIZE, 8), 0x123456789ull);
    assert_int_equal(read_item(&bus, FW_CFG_NB_CPUS, 2), 4);
    assert_int_equal(read_item(&bus, FW_CFG_NB_CPUS, 4), 4);            /* past end: 0 */
    assert_int_equal(read_item(&bus, FW_CFG_FILE_DIR, 4), 0);
    assert_int_equal(read_item(&bus, 0x7777, 8), 0);

    uint32_t v = 0;
    vdev_bus_io(&bus, FW_CFG_PORT_SEL, 2, false, &v);    /* not a valid access */
    assert_int_equal(v, 0xffff);
    vdev_bus_io(&bus, FW_CFG_PORT_DATA, 4, false, &v);
    assert_int_equal(v, 0xffffffff);
    v = 0;
    vdev_bus_io(&bus, FW_CFG_PORT_SEL, 1, true, &v);      /* ignored: selector stays */
    assert_int_equal(bus.stats.unclaimed_port_writes, 1);
    for (unsigned i = 0; i < 100; i++)                    /* reads far past the end */
        vdev_bus_io(&bus, FW_CFG_PORT_DATA, 1, false, &v);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_exit_statuses),
        cmocka_unit_test(test_debug_exit_hidden),
        cmocka_unit_test(test_fw_cfg_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
