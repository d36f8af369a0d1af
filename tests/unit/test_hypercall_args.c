/* Unit tests: the argument checks every hypercall passes before it acts
 * (hv/core/hypercall_args.c), against the ABI of hv/core/hypercall_abi.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/core/channel_grants.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/hypercall_args.h"

#define RAM (16ull << 20)

static int64_t check(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    const uint64_t arg[4] = { a0, a1, a2, a3 };
    return hypercall_check_args(nr, arg, RAM);
}

static const uint64_t junk[] = { 0, 1, 0xfff, 0x1000, RAM, 1ull << 63, ~0ull };
#define JUNK_COUNT (sizeof(junk) / sizeof(junk[0]))

static void calls_without_arguments_ignore_the_registers(void **state)
{
    (void)state;
    const uint64_t nrs[] = { HC_VERSION, HC_PARTITION_INFO, HC_VCPU_ID, HC_TIME_NS, HC_EXIT };
    for (unsigned n = 0; n < 5; n++)
        for (unsigned i = 0; i < JUNK_COUNT; i++)
            assert_int_equal(check(nrs[n], junk[i], junk[JUNK_COUNT - 1 - i], junk[i], junk[i]), 0);
}

static void unknown_numbers_are_enosys(void **state)
{
    (void)state;
    const uint64_t nrs[] = { 0x6, 0x7, 0xf, 0x14, 0x15, 0x100, 0x10000, 1ull << 32,
                             1ull << 63, ~0ull, HC_CHANNEL_GRANT | (1ull << 32) };
    for (unsigned n = 0; n < sizeof(nrs) / sizeof(nrs[0]); n++)
        assert_int_equal(check(nrs[n], 0, 0, 0, 0), -HC_ENOSYS);
}

static void console_write_stays_in_ram(void **state)
{
    (void)state;
    assert_int_equal(check(HC_CONSOLE_WRITE, 0x1000, 0, 0, 0), 0);
    assert_int_equal(check(HC_CONSOLE_WRITE, 0x1000, 1, 0, 0), 0);
    assert_int_equal(check(HC_CONSOLE_WRITE, 0x1000, HC_CONSOLE_WRITE_MAX, 0, 0), 0);
    assert_int_equal(check(HC_CONSOLE_WRITE, 0x1000, HC_CONSOLE_WRITE_MAX + 1, 0, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CONSOLE_WRITE, 0x1000, ~0ull, 0, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CONSOLE_WRITE, RAM - 4096, 4096, 0, 0), 0);
    assert_int_equal(check(HC_CONSOLE_WRITE, RAM - 4095, 4096, 0, 0), -HC_EFAULT);
    assert_int_equal(check(HC_CONSOLE_WRITE, RAM - 1, 1, 0, 0), 0);
    assert_int_equal(check(HC_CONSOLE_WRITE, RAM, 1, 0, 0), -HC_EFAULT);
    assert_int_equal(check(HC_CONSOLE_WRITE, RAM, 0, 0, 0), -HC_EFAULT);
    /* Sums that would wrap past 2^64 back into RAM. */
    assert_int_equal(check(HC_CONSOLE_WRITE, ~0ull - 15, 32, 0, 0), -HC_EFAULT);
    assert_int_equal(check(HC_CONSOLE_WRITE, ~0ull, HC_CONSOLE_WRITE_MAX, 0, 0), -HC_EFAULT);
    assert_int_equal(check(HC_CONSOLE_WRITE, 1ull << 63, 16, 0, 0), -HC_EFAULT);
    const uint64_t arg[4] = { 0, 16, 0, 0 };
    assert_int_equal(hypercall_check_args(HC_CONSOLE_WRITE, arg, 0), -HC_EFAULT);
}

static void channel_grant_shape(void **state)
{
    (void)state;
    /* (gpa, pages, peer, vector): the peer is for the table to judge. */
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, 1, 77, 0x41), 0);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, CHANNEL_MAX_PAGES, ~0ull, 0x41), 0);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1001, 1, 2, 0x41), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, 0, 2, 0x41), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, CHANNEL_MAX_PAGES + 1, 2, 0x41), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, 1ull << 52, 2, 0x41), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, 1, 2, 31), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x1000, 1, 2, 256), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_GRANT, RAM, 1, 2, 0x41), -HC_EFAULT);
    assert_int_equal(check(HC_CHANNEL_GRANT, RAM - 4096, 2, 2, 0x41), -HC_EFAULT);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0xfffffffffffff000ull, 2, 2, 0x41), -HC_EFAULT);
    assert_int_equal(check(HC_CHANNEL_GRANT, 0x7fff0000000ull, 1, 2, 0x41), -HC_EFAULT);
}

static void channel_map_shape(void **state)
{
    (void)state;
    /* (handle, gpa, vector): the grant's size is for the table to judge. */
    assert_int_equal(check(HC_CHANNEL_MAP, 1, CHANNEL_WINDOW_BASE, 0x42, 0), 0);
    assert_int_equal(check(HC_CHANNEL_MAP, CHANNEL_HANDLE_MAX, CHANNEL_WINDOW_END - 4096, 255, 0), 0);
    assert_int_equal(check(HC_CHANNEL_MAP, 0, CHANNEL_WINDOW_BASE, 0x42, 0), -HC_ENOENT);
    assert_int_equal(check(HC_CHANNEL_MAP, CHANNEL_HANDLE_MAX + 1, CHANNEL_WINDOW_BASE, 0x42, 0), -HC_ENOENT);
    assert_int_equal(check(HC_CHANNEL_MAP, ~0ull, CHANNEL_WINDOW_BASE, 0x42, 0), -HC_ENOENT);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, 0xfffffffffffff000ull, 0x42, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, 0x1000, 0x42, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, CHANNEL_WINDOW_END, 0x42, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, CHANNEL_WINDOW_BASE + 1, 0x42, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, CHANNEL_WINDOW_BASE, 0x1f, 0), -HC_EINVAL);
    assert_int_equal(check(HC_CHANNEL_MAP, 1, CHANNEL_WINDOW_BASE, 0x142, 0), -HC_EINVAL);
}

static void channel_handles(void **state)
{
    (void)state;
    const uint64_t nrs[] = { HC_CHANNEL_NOTIFY, HC_CHANNEL_REVOKE };
    for (unsigned n = 0; n < 2; n++) {
        assert_int_equal(check(nrs[n], 1, ~0ull, ~0ull, ~0ull), 0);
        assert_int_equal(check(nrs[n], CHANNEL_HANDLE_MAX, 0, 0, 0), 0);
        assert_int_equal(check(nrs[n], 0, 0, 0, 0), -HC_ENOENT);
        assert_int_equal(check(nrs[n], CHANNEL_HANDLE_MAX + 1, 0, 0, 0), -HC_ENOENT);
        assert_int_equal(check(nrs[n], (1ull << 32) | 1, 0, 0, 0), -HC_ENOENT);
        assert_int_equal(check(nrs[n], ~0ull, 0, 0, 0), -HC_ENOENT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_without_arguments_ignore_the_registers),
        cmocka_unit_test(unknown_numbers_are_enosys),
        cmocka_unit_test(console_write_stays_in_ram),
        cmocka_unit_test(channel_grant_shape),
        cmocka_unit_test(channel_map_shape),
        cmocka_unit_test(channel_handles),
    };
    return cmocka_run_group_tests_name("hypercall_args", tests, NULL, NULL);
}
