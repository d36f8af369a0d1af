/* Live disk operation requests: the verb parser and the progress arithmetic
 * (hv/storage/disk_op_request.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/disk_op_request.h"

static struct disk_op_request req;
static char err[200];

static int parse(const char *words)
{
    err[0] = '\0';
    return disk_op_parse(words, &req, err, sizeof(err));
}

static void test_jobs(void **state)
{
    (void)state;
    assert_int_equal(parse("live io.vhdx copy copy.vhdx mbps=8"), 0);
    assert_string_equal(req.partition, "live");
    assert_string_equal(req.disk, "io.vhdx");
    assert_int_equal(req.verb, DISK_VERB_COPY);
    assert_string_equal(req.dst, "copy.vhdx");
    assert_int_equal(req.format, DISK_FORMAT_VHDX);
    assert_int_equal(req.mbps, 8);
    assert_int_equal(req.iops, 0);
    assert_true(disk_op_verb_is_job(req.verb));
    assert_false(disk_op_verb_switches(req.verb));

    assert_int_equal(parse("  a   d/x.vhdx  move  e/y.raw  iops=50 mbps=2 "), 0);
    assert_int_equal(req.verb, DISK_VERB_MOVE);
    assert_int_equal(req.format, DISK_FORMAT_RAW);     /* from the ending */
    assert_int_equal(req.iops, 50);
    assert_int_equal(req.mbps, 2);
    assert_true(disk_op_verb_switches(req.verb));

    assert_int_equal(parse("p io.vhdx convert fixed.vhdx fixed"), 0);
    assert_int_equal(req.format, DISK_FORMAT_VHDX_FIXED);
    assert_int_equal(disk_op_job_op(req.verb), DISK_JOB_CONVERT);
    assert_int_equal(parse("p io.vhdx convert flat.img raw"), 0);
    assert_int_equal(req.format, DISK_FORMAT_RAW);

    assert_int_equal(parse("p io.vhdx compact"), 0);
    assert_int_equal(disk_op_job_op(req.verb), DISK_JOB_COMPACT);
    assert_int_equal(req.dst[0], 0);
    assert_int_equal(parse("p io.vhdx defrag mbps=1"), 0);
    assert_int_equal(parse("p io.vhdx merge"), 0);
    assert_int_equal(disk_op_job_op(req.verb), DISK_JOB_MERGE);
}

static void test_migrate(void **state)
{
    (void)state;
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2"), 0);
    assert_int_equal(req.verb, DISK_VERB_MIGRATE);
    assert_string_equal(req.host, "10.0.3.2");
    assert_string_equal(req.dst, "io.vhdx");            /* the same name on the target */
    assert_false(req.verify);
    assert_true(disk_op_verb_is_job(req.verb));
    assert_false(disk_op_verb_switches(req.verb));      /* the disk stays */
    assert_int_equal(disk_op_job_op(req.verb), DISK_JOB_COPY);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2:7999 there/io2.vhdx verify mbps=4 "
                           "link-mbps=2 iops=9"), 0);
    assert_string_equal(req.host, "10.0.3.2:7999");
    assert_string_equal(req.dst, "there/io2.vhdx");
    assert_true(req.verify);
    assert_int_equal(req.mbps, 4);
    assert_int_equal(req.link_mbps, 2);
    assert_int_equal(req.iops, 9);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 verify link-mbps=1"), 0);
    assert_string_equal(req.dst, "io.vhdx");
    assert_true(req.verify);
    assert_int_equal(req.link_mbps, 1);
    assert_false(req.after);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 after link-mbps=2"), 0);
    assert_string_equal(req.dst, "io.vhdx");
    assert_true(req.after);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 there.vhdx after"), 0);
    assert_string_equal(req.dst, "there.vhdx");
    assert_true(req.after);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 after after"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 around mbps=1 wait=30"), 0);
    assert_string_equal(req.dst, "io.vhdx");
    assert_true(req.around);
    assert_false(req.after);
    assert_int_equal(req.wait_s, 30);
    assert_int_equal(req.mbps, 1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 there.vhdx around"), 0);
    assert_string_equal(req.dst, "there.vhdx");
    assert_int_equal(req.wait_s, 0);                                   /* the default */
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 after wait=5"), 0);
    assert_int_equal(req.wait_s, 5);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 around after"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 around around"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 around verify"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 after verify"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 wait=5"), -1);  /* before: no wait */
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 around wait=0"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 idle=12"), 0);   /* the dead-peer timeout */
    assert_int_equal(req.idle_s, 12);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 after idle=3600"), 0);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 idle=0"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 idle=3601"), -1);
    assert_int_equal(parse("live io.vhdx copy x.vhdx idle=5"), -1);         /* migrate only */
    assert_int_equal(parse("live io.vhdx after"), -1);
    assert_int_equal(parse("live io.vhdx migrate"), -1);
    assert_int_equal(parse("live io.vhdx migrate host.example"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 out.raw"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 ../x.vhdx"), -1);
    assert_int_equal(parse("live io.vhdx migrate 10.0.3.2 verify verify"), -1);
    assert_int_equal(parse("live io.vhdx copy c.vhdx link-mbps=3"), -1);   /* migrate only */
}

static void test_control_and_delete(void **state)
{
    (void)state;
    assert_int_equal(parse("p io.vhdx pause"), 0);
    assert_int_equal(req.verb, DISK_VERB_PAUSE);
    assert_false(disk_op_verb_is_job(req.verb));
    assert_int_equal(parse("p io.vhdx resume"), 0);
    assert_int_equal(parse("p io.vhdx cancel"), 0);
    assert_int_equal(parse("- old.vhdx delete"), 0);
    assert_int_equal(req.verb, DISK_VERB_DELETE);
    assert_string_equal(req.partition, "");
    assert_string_equal(disk_op_verb_name(DISK_VERB_DELETE), "delete");
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                      /* nothing */
        "p",                                     /* no disk */
        "p io.vhdx",                             /* no verb */
        "p io.vhdx shred",                       /* unknown verb */
        "P io.vhdx compact",                     /* partition names are lower case */
        "p io.vhdx copy",                        /* no destination */
        "p io.vhdx copy io.vhdx",                /* onto itself */
        "p io.vhdx copy ../x.vhdx",              /* out of the pool */
        "p io.vhdx copy x.img dynamic",          /* a VHDX format on a raw name */
        "p io.vhdx copy x.vhdx raw",             /* and the other way */
        "p io.vhdx convert x.vhdx",              /* convert names its format */
        "p io.vhdx compact mbps=",               /* empty number */
        "p io.vhdx compact mbps=12x",
        "p io.vhdx compact mbps=99999999",       /* out of range */
        "p io.vhdx compact fixed",               /* no format without a destination */
        "p io.vhdx pause mbps=3",                /* no throttle on a control verb */
        "p io.vhdx compact extra",
        "p io.img compact",                      /* live jobs need a VHDX */
        "p io.vhdx delete",                      /* delete is for detached disks: '-' */
        "- io.vhdx compact",                     /* '-' is for delete only */
        "p io.vhdx copy a.vhdx fixed dynamic",   /* two formats */
        "p io.vhdx copy a\x01.vhdx",             /* unprintable */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != -1)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_true(!strncmp(err, "disk: ", 6));
    }
    /* A word longer than any field is refused, not cut. */
    char longer[400];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "p io.vhdx copy ", 15);
    strcpy(longer + sizeof(longer) - 6, ".vhdx");
    assert_int_equal(parse(longer), -1);
}

static void test_progress(void **state)
{
    (void)state;
    assert_int_equal(disk_op_permille(0, 0), 0);
    assert_int_equal(disk_op_permille(0, 100), 0);
    assert_int_equal(disk_op_permille(50, 100), 500);
    assert_int_equal(disk_op_permille(99999, 100000), 999);   /* never 1000 before done */
    assert_int_equal(disk_op_permille(100, 100), 1000);
    assert_int_equal(disk_op_permille(17ull << 20, 16ull << 20), 1000);
    /* ETA: unknown before anything is done, 0 when done, proportional otherwise. */
    assert_true(disk_op_eta_ms(0, 16 << 20, 1000) == UINT64_MAX);
    assert_true(disk_op_eta_ms(1 << 20, 16 << 20, 0) == UINT64_MAX);
    assert_int_equal(disk_op_eta_ms(16 << 20, 16 << 20, 5000), 0);
    assert_int_equal(disk_op_eta_ms(4 << 20, 16 << 20, 1000), 3000);
    assert_int_equal(disk_op_eta_ms(8ull << 30, 16ull << 40, 3600000), 7369200000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_migrate), cmocka_unit_test(test_control_and_delete),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
