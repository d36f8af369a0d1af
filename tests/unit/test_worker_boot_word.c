/* The `worker-selftest` boot word is the core's: set in boot_config, not reported unknown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/core/config/boot_config.h"

static void test_word_sets_the_flag(void **state)
{
    struct boot_config cfg;
    char warn[160];
    boot_config_from_cmdline(&cfg, "test-exit worker-selftest", warn, sizeof(warn));
    assert_true(cfg.worker_selftest);
    assert_true(cfg.test_exit);
    assert_string_equal(warn, "");
    boot_config_from_cmdline(&cfg, "test-exit", warn, sizeof(warn));
    assert_false(cfg.worker_selftest);
    boot_config_from_cmdline(&cfg, "worker-selftest=1", warn, sizeof(warn));
    assert_false(cfg.worker_selftest);
    assert_non_null(warn[0] ? warn : NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_word_sets_the_flag) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
