/* The per-partition test verdict: expected end against actual end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/end_verdict.h"

static char why[200];

static bool judge(struct end_record want, struct end_record got)
{
    why[0] = 0;
    return end_verdict("p", &want, &got, why, sizeof(why));
}

static void matches_test(void **state)
{
    (void)state;
    assert_true(judge((struct end_record){ END_KIND_EXIT, 1, NULL },
                      (struct end_record){ END_KIND_EXIT, 1, NULL }));
    assert_true(judge((struct end_record){ END_KIND_KILLED, 0, NULL },
                      (struct end_record){ END_KIND_KILLED, 0, "vcpu0: triple fault" }));
    assert_true(judge((struct end_record){ END_KIND_STOPPED, 0, NULL },
                      (struct end_record){ END_KIND_STOPPED, 0, "by the script" }));
    assert_string_equal(why, "");
}

static void mismatches_test(void **state)
{
    (void)state;
    assert_false(judge((struct end_record){ END_KIND_EXIT, 1, NULL },
                       (struct end_record){ END_KIND_EXIT, 3, NULL }));
    assert_string_equal(why, "p: expected exit 1, got exit 3");
    assert_false(judge((struct end_record){ END_KIND_EXIT, 1, NULL },
                       (struct end_record){ END_KIND_KILLED, 0, "vcpu0: triple fault" }));
    assert_string_equal(why, "p: expected exit 1, got killed: vcpu0: triple fault");
    assert_false(judge((struct end_record){ END_KIND_KILLED, 0, NULL },
                       (struct end_record){ END_KIND_EXIT, 1, NULL }));
    assert_string_equal(why, "p: expected killed, got exit 1");
    assert_false(judge((struct end_record){ END_KIND_KILLED, 0, NULL },
                       (struct end_record){ END_KIND_STOPPED, 0, "by the script" }));
    assert_string_equal(why, "p: expected killed, got stopped: by the script");
    assert_false(judge((struct end_record){ END_KIND_EXIT, 1, NULL },
                       (struct end_record){ END_KIND_NONE, 0, NULL }));
    assert_string_equal(why, "p: expected exit 1, got no end");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_test),
        cmocka_unit_test(mismatches_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
