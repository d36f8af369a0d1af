/* A differencing disk's parent locator as a pool path (hv/storage/vhdx_parent_path.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/storage/vhdx_parent_path.h"

static void expect_path(const char *child, const char *loc, bool rel, const char *want)
{
    char out[64];
    if (!vhdx_parent_pool_path(child, loc, rel, out, sizeof(out)))
        fail_msg("%s + %s: refused", child, loc);
    assert_string_equal(out, want);
}

static void expect_refused(const char *child, const char *loc, bool rel, size_t size)
{
    char out[64];
    assert_true(size <= sizeof(out));
    assert_false(vhdx_parent_pool_path(child, loc, rel, out, size));
}

static void test_relative_from_the_childs_folder(void **state)
{
    expect_path("io.vhdx", "base.vhdx", true, "base.vhdx");
    expect_path("/io.vhdx", ".\\base.vhdx", true, "base.vhdx");
    expect_path("vm/a/io.vhdx", "base.vhdx", true, "vm/a/base.vhdx");
    expect_path("vm/a/io.vhdx", "..\\gold\\base.vhdx", true, "vm/gold/base.vhdx");
    expect_path("vm/a/io.vhdx", "..\\..\\base.vhdx", true, "base.vhdx");
    expect_path("vm/io.vhdx", "sub/./p.vhdx", true, "vm/sub/p.vhdx");
}

static void test_absolute_from_the_pools_root(void **state)
{
    expect_path("vm/io.vhdx", "C:\\gold\\base.vhdx", false, "gold/base.vhdx");
    expect_path("vm/io.vhdx", "\\base.vhdx", false, "base.vhdx");
    /* Win32 file namespace prefixes and volume GUID paths (volume_path): the pool is one
     * volume, so what names the volume goes. */
    expect_path("vm/io.vhdx", "\\\\?\\C:\\gold\\base.vhdx", false, "gold/base.vhdx");
    expect_path("vm/io.vhdx", "\\\\.\\D:\\base.vhdx", false, "base.vhdx");
    expect_path("vm/io.vhdx",
                "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\gold\\b.vhdx", false,
                "gold/b.vhdx");
}

static void test_refusals(void **state)
{
    expect_refused("io.vhdx", "", true, 64);
    expect_refused("io.vhdx", "..\\base.vhdx", true, 64);       /* above the root */
    expect_refused("a/io.vhdx", "..\\..\\x.vhdx", true, 64);
    expect_refused("io.vhdx", ".", true, 64);                   /* names no file */
    expect_refused("dir/io.vhdx", "base.vhdx", true, 8);        /* too long for out */
    expect_refused("io.vhdx", "C:", false, 64);
    expect_refused("io.vhdx", "\\\\server\\share\\b.vhdx", false, 64); /* network paths */
    expect_refused("io.vhdx", "\\\\?\\UNC\\server\\share\\b.vhdx", false, 64);
    expect_refused("io.vhdx", "\\\\?\\Volume{26a21bda", false, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative_from_the_childs_folder),
        cmocka_unit_test(test_absolute_from_the_pools_root),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
