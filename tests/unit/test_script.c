#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/config/script.h"

static struct manifest m;
static struct script s;
static char err[MANIFEST_ERR_LEN];

#define PARTS \
    "[partition a]\nmemory = 4M\nimage = a.elf\nboot = multiboot\n" \
    "[partition b]\nmemory = 4M\nimage = b.elf\nboot = multiboot\nautostart = no\n"

static int load(const char *text)
{
    err[0] = 0;
    assert_int_equal(manifest_parse(&m, text, strlen(text), "atoll.cfg", err, sizeof(err)), 0);
    return script_init(&s, &m, "atoll.cfg", err, sizeof(err));
}

static unsigned feed(const char *part, const char *line, uint32_t *ran)
{
    return script_feed(&s, part, line, strlen(line), ran, MANIFEST_MAX_RULES);
}

static void rules_run_in_order_once_each(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\n"
                          "on a prints \"READY\" => start b\n"
                          "on b prints \"PASS\" => stop a\n"
                          "on b prints \"PASS\" => stop\n"), 0);
    uint32_t ran[MANIFEST_MAX_RULES];
    assert_int_equal(s.actions[0], SCRIPT_START);
    assert_string_equal(s.targets[0], "b");
    assert_string_equal(s.targets[1], "a");
    assert_string_equal(s.targets[2], "b");         /* stop with no argument: its own */
    assert_true(script_watches(&s, "a"));
    assert_false(script_watches(&s, "b"));
    assert_int_equal(feed("b", "TEST RESULT: PASS", ran), 0);   /* rule 1 not armed yet */
    assert_int_equal(feed("a", "not yet", ran), 0);
    assert_int_equal(feed("b", "READY", ran), 0);               /* wrong partition */
    assert_int_equal(feed("a", "all READY now", ran), 1);
    assert_int_equal(ran[0], 0);
    assert_false(script_watches(&s, "a"));
    assert_true(script_watches(&s, "b"));
    assert_int_equal(feed("a", "READY", ran), 0);               /* runs once */
    assert_int_equal(feed("b", "xPASSx", ran), 2);              /* both armed in turn */
    assert_int_equal(ran[0], 1);
    assert_int_equal(ran[1], 2);
    assert_int_equal(feed("b", "PASS", ran), 0);
    assert_false(script_watches(&s, "b"));                      /* all have run */
}

static void feed_respects_its_bound_and_length(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\n"
                          "on a prints \"go\" => stop b\n"
                          "on a prints \"go\" => stop a\n"), 0);
    uint32_t ran[1];
    assert_int_equal(script_feed(&s, "a", "gox", 1, ran, 1), 0);  /* "g" only */
    assert_int_equal(script_feed(&s, "a", "go", 2, ran, 1), 1);
    assert_int_equal(script_feed(&s, "a", "go", 2, ran, 1), 1);
    assert_int_equal(ran[0], 1);
    assert_int_equal(script_feed(&s, "a", "go", 2, ran, 1), 0);
}

static void actions_not_built_are_refused(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => stop\n"
                          "on a prints \"READY\" => compare a b\n"), -1);
    assert_string_equal(err, "atoll.cfg:12: script: 'compare' is not available in this "
                             "build (start, stop, checkpoint, snapshot, restore, migrate, disk and capture are)");
}

static void capture_takes_one_file(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\non a prints \"drawn\" => capture frames/one.png\n"), 0);
    assert_int_equal(s.actions[0], SCRIPT_CAPTURE);
    assert_string_equal(s.files[0], "frames/one.png");
    assert_int_equal(load(PARTS "[script]\non a prints \"drawn\" => capture\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: expected: capture FILE");
    assert_int_equal(load(PARTS "[script]\non a prints \"drawn\" => capture a.png b.png\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: expected: capture FILE");
}

static void migrate_takes_a_partition_and_a_host(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\n"
                          "on a prints \"x\" => migrate a 10.0.3.2\n"
                          "on a prints \"y\" => migrate b 10.0.3.2:7500\n"), 0);
    assert_int_equal(s.actions[0], SCRIPT_MIGRATE);
    assert_string_equal(s.targets[0], "a");
    assert_string_equal(s.files[0], "10.0.3.2");
    assert_int_equal(s.actions[1], SCRIPT_MIGRATE);
    assert_string_equal(s.targets[1], "b");
    assert_string_equal(s.files[1], "10.0.3.2:7500");
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => migrate a\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: expected: migrate NAME HOST");
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => migrate a h extra\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: expected: migrate NAME HOST");
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => migrate zz 10.0.3.2\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: migrate: no partition is named 'zz'");
}

static void snapshot_and_restore_take_files(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\n"
                          "on a prints \"x\" => snapshot a snaps/a.snp\n"
                          "on a prints \"y\" => snapshot b b.snp stop\n"
                          "on a prints \"z\" => restore snaps/a.snp as a2\n"
                          "on a prints \"w\" => snapshot a2 a2.snp\n"
                          "on a prints \"v\" => restore b.snp\n"
                          "on a prints \"u\" => restore a.snp as a3 lazy\n"
                          "on a prints \"t\" => restore b.snp lazy\n"
                          "on a prints \"s\" => snapshot a l.snp live\n"
                          "on a prints \"r\" => snapshot b m.snp stop live\n"), 0);
    assert_int_equal(s.actions[0], SCRIPT_SNAPSHOT);
    assert_string_equal(s.targets[0], "a");
    assert_string_equal(s.files[0], "snaps/a.snp");
    assert_false(s.stop[0]);
    assert_true(s.stop[1]);
    assert_false(s.live[0]);
    assert_false(s.live[1]);
    assert_false(s.live[5]);
    assert_true(s.live[7]);
    assert_false(s.stop[7]);
    assert_true(s.live[8]);
    assert_true(s.stop[8]);
    assert_int_equal(s.actions[2], SCRIPT_RESTORE);
    assert_string_equal(s.files[2], "snaps/a.snp");
    assert_string_equal(s.targets[2], "a2");
    assert_string_equal(s.targets[3], "a2");        /* a partition a restore makes */
    assert_string_equal(s.targets[4], "");          /* the name in the file */
    assert_false(s.lazy[2]);
    assert_false(s.lazy[4]);
    assert_true(s.lazy[5]);
    assert_string_equal(s.files[5], "a.snp");
    assert_string_equal(s.targets[5], "a3");
    assert_true(s.lazy[6]);
    assert_string_equal(s.files[6], "b.snp");
    assert_string_equal(s.targets[6], "");
    static const char *const bad[] = {
        "snapshot a", "snapshot a f.snp later", "snapshot a f.snp live live",
        "snapshot a f.snp stop stop", "snapshot a f.snp live stop x", "snapshot c f.snp", "snapshot a2 f.snp",
        "restore", "restore f.snp as", "restore f.snp to b", "restore f.snp as b c",
        "restore f.snp as lazy", "restore f.snp lazy now", "restore f.snp as b lazy c",
        "restore f.snp lazy lazy",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), PARTS "[script]\non a prints \"x\" => %s\n", bad[i]);
        assert_int_equal(load(text), -1);
        if (!strstr(err, "atoll.cfg:11: script: "))
            fail_msg("%s: %s", bad[i], err);
    }
}

static void targets_are_checked(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => start\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: start needs the name of the partition to start");
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => stop c\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: stop: no partition is named 'c'");
    assert_int_equal(load(PARTS "[script]\non a prints \"x\" => start b a\n"), -1);
    assert_string_equal(err, "atoll.cfg:11: script: start: no partition is named 'b a'");
}

static void no_script_runs_nothing(void **state)
{
    (void)state;
    assert_int_equal(load(PARTS), 0);
    uint32_t ran[4];
    assert_int_equal(feed("a", "READY", ran), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_run_in_order_once_each),
        cmocka_unit_test(feed_respects_its_bound_and_length),
        cmocka_unit_test(actions_not_built_are_refused),
        cmocka_unit_test(capture_takes_one_file),
        cmocka_unit_test(migrate_takes_a_partition_and_a_host),
        cmocka_unit_test(snapshot_and_restore_take_files),
        cmocka_unit_test(targets_are_checked),
        cmocka_unit_test(no_script_runs_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
