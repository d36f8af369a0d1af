/* The manifest's `[hypervisor] service-cpus` key (worker tasks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/config/manifest.h"

static struct manifest m;
static char err[MANIFEST_ERR_LEN];

static int parse(const char *text)
{
    err[0] = 0;
    return manifest_parse(&m, text, strlen(text), "atoll.cfg", err, sizeof(err));
}

static void test_list_and_ranges(void **state)
{
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 1,3, 5-6 ,200\n"), 0);
    assert_int_equal(m.hv.service_cpus[0], (1ull << 1) | (1ull << 3) | (1ull << 5) | (1ull << 6));
    assert_int_equal(m.hv.service_cpus[3], 1ull << (200 - 192));
}

static void test_default_and_empty_mean_none(void **state)
{
    assert_int_equal(parse("[hypervisor]\nexit-when-done = yes\n"), 0);
    for (unsigned i = 0; i < MANIFEST_MAX_CPUS / 64; i++)
        assert_int_equal(m.hv.service_cpus[i], 0);
    assert_int_equal(parse("[hypervisor]\nservice-cpus =\n"), 0);
    assert_int_equal(m.hv.service_cpus[0], 0);
}

static void test_bad_values_refused(void **state)
{
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 1,x\n"), -1);
    assert_string_equal(err, "atoll.cfg:2: service-cpus: 'x' is not a cpu number");
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 256\n"), -1);
    assert_string_equal(err, "atoll.cfg:2: service-cpus: cpu 256 is not below 256");
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 3-1\n"), -1);
    assert_string_equal(err, "atoll.cfg:2: service-cpus: range 3-1 runs backwards");
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 1\nservice-cpus = 2\n"), -1);
    assert_string_equal(err, "atoll.cfg:3: service-cpus: set twice (first at line 2)");
    assert_int_equal(parse("[partition a]\nmemory = 16M\nimage = a.elf\nservice-cpus = 1\n"), -1);
    assert_string_equal(err, "atoll.cfg:4: service-cpus: unknown key in [partition]");
}

/* A partition's own `cpus` list still parses into the partition (the shared helper). */
static void test_partition_cpus_unchanged(void **state)
{
    assert_int_equal(parse("[hypervisor]\nservice-cpus = 1\n[partition a]\nmemory = 16M\n"
                           "image = a.elf\nboot = elf64\ncpus = 0,2\n"), 0);
    assert_int_equal(m.partitions[0].cpus[0], 5);
    assert_int_equal(m.hv.service_cpus[0], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_ranges),
        cmocka_unit_test(test_default_and_empty_mean_none),
        cmocka_unit_test(test_bad_values_refused),
        cmocka_unit_test(test_partition_cpus_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
