/* The command-line tokenizer and the core's words (hv/lib/cmdline.c, hv/core/config/boot_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/config/boot_config.h"
#include "hv/lib/cmdline.h"

static void tokens_test(void **state)
{
    (void)state;
    const char *c = "  a  b=1\tc= manifest=x.cfg ";
    struct cmdline_word w;
    assert_true(cmdline_next(&c, &w));
    assert_true(cmdline_key_is(&w, "a"));
    assert_null(w.value);
    assert_true(cmdline_next(&c, &w));
    assert_true(cmdline_key_is(&w, "b"));
    assert_int_equal(w.value_len, 1);
    assert_memory_equal(w.value, "1", 1);
    assert_true(cmdline_next(&c, &w));
    assert_true(cmdline_key_is(&w, "c"));
    assert_non_null(w.value);
    assert_int_equal(w.value_len, 0);
    assert_true(cmdline_next(&c, &w));
    assert_true(cmdline_key_is(&w, "manifest"));
    assert_false(cmdline_next(&c, &w));
    assert_false(cmdline_next(&c, &w));
    const char *none = NULL;
    assert_false(cmdline_next(&none, &w));
    assert_true(cmdline_has("x ata-pio y", "ata-pio"));
    assert_false(cmdline_has("no-ata-pio", "ata-pio"));
    assert_false(cmdline_has("ata-pio=1", "ata-pio"));
    assert_false(cmdline_has("", "ata-pio"));
}

static void boot_config_test(void **state)
{
    (void)state;
    struct boot_config cfg;
    char warn[160];
    boot_config_from_cmdline(&cfg, "test-exit manifest=m.cfg net.peer=10.0.2.2 ata-pio", warn,
                             sizeof(warn));
    assert_true(cfg.test_exit);
    assert_false(cfg.no_smp);
    assert_string_equal(cfg.manifest, "m.cfg");
    assert_string_equal(warn, "");
    boot_config_from_cmdline(&cfg, "", warn, sizeof(warn));
    assert_string_equal(cfg.manifest, "atoll.cfg");
    assert_false(cfg.test_exit);
    boot_config_from_cmdline(&cfg, "nosmp test-exti", warn, sizeof(warn));
    assert_true(cfg.no_smp);
    assert_false(cfg.test_exit);
    assert_string_equal(warn, "command line: 'test-exti' is not a word Atoll knows "
                              "(see README: the hypervisor's command line); ignored");
    boot_config_from_cmdline(&cfg, "manifest=", warn, sizeof(warn));
    assert_string_equal(cfg.manifest, "atoll.cfg");
    assert_string_equal(warn, "command line: 'manifest=' is not a word Atoll knows "
                              "(see README: the hypervisor's command line); ignored");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_test),
        cmocka_unit_test(boot_config_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
