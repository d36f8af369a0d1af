#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/acpi_pm.h"
#include "tests/unit/test_vdev_fake.h"

static struct fake_platform fake;
static struct vdev_bus bus;
static struct acpi_pm pm;

static int setup(void **state)
{
    fake_platform_init(&fake);
    vdev_bus_init(&bus);
    acpi_pm_init(&pm, &fake.plat, 0x600);
    assert_true(acpi_pm_register(&pm, &bus));
    return 0;
}

static uint32_t in(uint16_t port, unsigned size)
{
    uint32_t v = 0;
    vdev_bus_io(&bus, port, size, false, &v);
    return v;
}

static void out(uint16_t port, unsigned size, uint32_t v) { vdev_bus_io(&bus, port, size, true, &v); }

static void enable_reads_back_and_sci_is_on(void **state)
{
    out(0x602, 2, 0x0521);
    assert_int_equal(in(0x602, 2), 0x0521);
    out(0x602, 2, 0);
    assert_int_equal(in(0x602, 2), 0);             /* Linux's "disable RTC events" */
    assert_int_equal(in(0x604, 2) & 1, 1);
    out(0x604, 2, 0);
    assert_int_equal(in(0x604, 2) & 1, 1);
}

static void status_is_write_one_to_clear(void **state)
{
    pm.status = 0x8401;
    out(0x600, 2, 0x0400);
    assert_int_equal(in(0x600, 2), 0x8001);
    out(0x601, 1, 0x80);
    assert_int_equal(in(0x600, 2), 0x0001);
}

static void s5_ends_the_partition(void **state)
{
    out(0x604, 2, (3u << 10) | (1u << 13));         /* another sleep type: nothing */
    assert_int_equal(fake.exit_count, 0);
    out(0x604, 2, (5u << 10) | (1u << 13));
    assert_int_equal(fake.exit_count, 1);
    assert_int_equal(fake.exit_status[0], 0);
}

static void odd_accesses_are_unclaimed(void **state)
{
    assert_int_equal(in(0x601, 2), 0xffff);         /* misaligned word */
    assert_int_equal(in(0x600, 4), 0xffffffff);     /* dword */
    assert_int_equal(in(0x606, 1), 0xff);           /* beyond the block */
}

/* ns at which the PM timer has counted ticks (rounded up). */
static uint64_t ns_for(uint64_t ticks)
{
    return (ticks * 1000000000ull + 3579544) / 3579545;
}

static void pm_timer_counts_at_3_58_mhz(void **state)
{
    fake.now_ns = 0;
    assert_int_equal(in(0x608, 4), 0);
    fake.now_ns = 1000000000;
    assert_int_equal(in(0x608, 4), 3579545);
    fake.now_ns = 10000000;                         /* 10 ms */
    assert_int_equal(in(0x608, 4), 35795);
    fake.now_ns = ns_for(0x12345678);
    assert_int_equal(in(0x608, 4), 0x12345678);
    assert_int_equal(in(0x608, 2), 0x5678);
    assert_int_equal(in(0x60a, 2), 0x1234);
    assert_int_equal(in(0x609, 1), 0x56);
    assert_int_equal(in(0x609, 2), 0xffff);         /* misaligned: unclaimed */
    out(0x608, 4, 0);                               /* read-only */
    assert_int_equal(in(0x608, 4), 0x12345678);
    fake.now_ns = ns_for((1ull << 32) + 5);         /* 32 bits wide: it wraps */
    assert_int_equal(in(0x608, 4), 5);
    fake.now_ns = 7ull * 24 * 3600 * 1000000000ull; /* a week: no overflow on the way */
    assert_int_equal(in(0x608, 4), (uint32_t)(7ull * 24 * 3600 * 3579545ull));
}

static void timer_status_follows_bit_31(void **state)
{
    fake.now_ns = ns_for(0x7fffff00);
    assert_int_equal(in(0x600, 2) & 1, 0);
    fake.now_ns = ns_for(0x80000000);
    assert_int_equal(in(0x600, 2) & 1, 1);          /* bit 31 went up */
    out(0x600, 2, 1);
    assert_int_equal(in(0x600, 2) & 1, 0);
    fake.now_ns = ns_for(0x100000000);
    assert_int_equal(in(0x600, 2) & 1, 1);          /* and down */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(enable_reads_back_and_sci_is_on, setup),
        cmocka_unit_test_setup(status_is_write_one_to_clear, setup),
        cmocka_unit_test_setup(s5_ends_the_partition, setup),
        cmocka_unit_test_setup(odd_accesses_are_unclaimed, setup),
        cmocka_unit_test_setup(pm_timer_counts_at_3_58_mhz, setup),
        cmocka_unit_test_setup(timer_status_follows_bit_31, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
