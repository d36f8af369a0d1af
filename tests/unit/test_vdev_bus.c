/* vdev_bus: registration rules, dispatch, unclaimed accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/vdev.h"

struct recorder { uint16_t last_port; unsigned last_size; uint64_t last_off; uint64_t last_value; unsigned calls; };

static bool rec_port_read(void *dev, uint16_t port, unsigned size, uint32_t *v)
{
    struct recorder *r = dev;
    r->last_port = port; r->last_size = size; r->calls++;
    *v = 0x12345678;
    return true;
}

static bool rec_port_write(void *dev, uint16_t port, unsigned size, uint32_t v)
{
    struct recorder *r = dev;
    r->last_port = port; r->last_size = size; r->last_value = v; r->calls++;
    return port != 0x103;   /* refuses one port */
}

static bool rec_mmio_read(void *dev, uint64_t off, unsigned size, uint64_t *v)
{
    struct recorder *r = dev;
    r->last_off = off; r->last_size = size; r->calls++;
    *v = 0x1122334455667788ull;
    return true;
}

static bool rec_mmio_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct recorder *r = dev;
    r->last_off = off; r->last_size = size; r->last_value = v; r->calls++;
    return true;
}

static void test_port_registration_rules(void **state)
{
    struct vdev_bus bus;
    struct recorder rec = { 0 };
    vdev_bus_init(&bus);
    struct vdev_port_range r = { 0x100, 8, rec_port_read, rec_port_write, &rec };
    assert_true(vdev_bus_add_ports(&bus, &r));
    struct vdev_port_range overlap = { 0x107, 2, rec_port_read, rec_port_write, &rec };
    assert_false(vdev_bus_add_ports(&bus, &overlap));
    struct vdev_port_range empty = { 0x200, 0, rec_port_read, rec_port_write, &rec };
    assert_false(vdev_bus_add_ports(&bus, &empty));
    struct vdev_port_range wraps = { 0xfffe, 4, rec_port_read, rec_port_write, &rec };
    assert_false(vdev_bus_add_ports(&bus, &wraps));
    struct vdev_port_range top = { 0xfffe, 2, rec_port_read, rec_port_write, &rec };
    assert_true(vdev_bus_add_ports(&bus, &top));
    for (unsigned i = 2; i < VDEV_MAX_PORT_RANGES; i++) {
        struct vdev_port_range x = { (uint16_t)(0x1000 + i * 4), 4, NULL, NULL, NULL };
        assert_true(vdev_bus_add_ports(&bus, &x));
    }
    struct vdev_port_range full = { 0x3000, 1, NULL, NULL, NULL };
    assert_false(vdev_bus_add_ports(&bus, &full));
}

static void test_port_dispatch_and_unclaimed(void **state)
{
    struct vdev_bus bus;
    struct recorder rec = { 0 };
    vdev_bus_init(&bus);
    struct vdev_port_range r = { 0x100, 8, rec_port_read, rec_port_write, &rec };
    assert_true(vdev_bus_add_ports(&bus, &r));

    uint32_t v = 0;
    vdev_bus_io(&bus, 0x102, 2, false, &v);
    assert_int_equal(v, 0x5678);
    assert_int_equal(rec.last_port, 0x102);
    v = 0xabcdef12;
    vdev_bus_io(&bus, 0x101, 1, true, &v);
    assert_int_equal(rec.last_value, 0x12);

    v = 0;
    vdev_bus_io(&bus, 0x300, 4, false, &v);
    assert_int_equal(v, 0xffffffff);
    vdev_bus_io(&bus, 0x300, 1, false, &v);
    assert_int_equal(v, 0xff);
    vdev_bus_io(&bus, 0x300, 2, true, &v);
    vdev_bus_io(&bus, 0x103, 1, true, &v);      /* refused by the device */
    assert_int_equal(bus.stats.unclaimed_port_reads, 2);
    assert_int_equal(bus.stats.unclaimed_port_writes, 2);

    unsigned calls = rec.calls;
    vdev_bus_io(&bus, 0x100, 3, false, &v);     /* odd size never reaches a device */
    assert_int_equal(v, 0xffffffff);
    vdev_bus_io(&bus, 0x100, 0, true, &v);
    vdev_bus_io(&bus, 0x100, 99, false, &v);
    assert_int_equal(rec.calls, calls);
    assert_int_equal(bus.stats.unclaimed_port_reads, 4);
}

/* Counted every time; reported once per range of nearby pages, for the first 8 ranges. */
static void test_unassigned_reported_once_per_range(void **state)
{
    struct vdev_bus bus;
    vdev_bus_init(&bus);
    assert_int_equal(vdev_bus_unassigned(&bus, 0xd0000000, false), VDEV_UNASSIGNED_REPORT);
    assert_int_equal(vdev_bus_unassigned(&bus, 0xd0000004, true), VDEV_UNASSIGNED_QUIET);
    assert_int_equal(vdev_bus_unassigned(&bus, 0xd0010000, false), VDEV_UNASSIGNED_QUIET);  /* 16 pages on */
    assert_int_equal(vdev_bus_unassigned(&bus, 0xd0020000, false), VDEV_UNASSIGNED_QUIET);  /* the range grew */
    assert_int_equal(vdev_bus_unassigned(&bus, 0xcfff0000, false), VDEV_UNASSIGNED_QUIET);
    assert_int_equal(vdev_bus_unassigned(&bus, 0xcffdf000, false), VDEV_UNASSIGNED_REPORT); /* 17 below */
    for (unsigned i = 2; i < 7; i++)
        assert_int_equal(vdev_bus_unassigned(&bus, (uint64_t)i << 32, false), VDEV_UNASSIGNED_REPORT);
    assert_int_equal(vdev_bus_unassigned(&bus, 7ull << 32, true), VDEV_UNASSIGNED_LAST_REPORT);
    assert_int_equal(vdev_bus_unassigned(&bus, 9ull << 32, true), VDEV_UNASSIGNED_QUIET);
    assert_int_equal(vdev_bus_unassigned(&bus, ~0ull, true), VDEV_UNASSIGNED_QUIET);
    assert_int_equal(bus.stats.unclaimed_mmio_reads, 10);
    assert_int_equal(bus.stats.unclaimed_mmio_writes, 4);
}

static void test_mmio_dispatch(void **state)
{
    struct vdev_bus bus;
    struct recorder rec = { 0 };
    vdev_bus_init(&bus);
    struct vdev_mmio_range r = { 0xfec00000, 0x1000, rec_mmio_read, rec_mmio_write, &rec };
    assert_true(vdev_bus_add_mmio(&bus, &r));
    struct vdev_mmio_range overlap = { 0xfec00fff, 1, NULL, NULL, NULL };
    assert_false(vdev_bus_add_mmio(&bus, &overlap));
    struct vdev_mmio_range wraps = { ~0ull - 10, 100, NULL, NULL, NULL };
    assert_false(vdev_bus_add_mmio(&bus, &wraps));

    uint64_t v = 0;
    assert_true(vdev_bus_mmio(&bus, 0xfec00010, 4, false, &v));
    assert_int_equal(v, 0x55667788);
    assert_int_equal(rec.last_off, 0x10);
    v = ~0ull;
    assert_true(vdev_bus_mmio(&bus, 0xfec00ff8, 8, true, &v));
    assert_int_equal(rec.last_value, ~0ull);

    assert_false(vdev_bus_mmio(&bus, 0x1000, 4, false, &v));   /* nobody there */
    unsigned calls = rec.calls;
    assert_true(vdev_bus_mmio(&bus, 0xfec00ffc, 8, false, &v)); /* crosses the end */
    assert_int_equal(v, ~0ull);
    assert_true(vdev_bus_mmio(&bus, 0xfec00000, 3, true, &v));  /* odd size */
    assert_int_equal(rec.calls, calls);
    assert_int_equal(bus.stats.unclaimed_mmio_reads, 1);
    assert_int_equal(bus.stats.unclaimed_mmio_writes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_registration_rules),
        cmocka_unit_test(test_port_dispatch_and_unclaimed),
        cmocka_unit_test(test_mmio_dispatch),
        cmocka_unit_test(test_unassigned_reported_once_per_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
