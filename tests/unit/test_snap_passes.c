/* The live snapshot's pass rule: when to re-save again and when to pause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_passes.h"

static void nothing_written_pauses(void **s)
{
    (void)s;
    assert_int_equal(snap_passes_next(0, 0, 512), SNAP_PASS_PAUSE);
    assert_int_equal(snap_passes_next(3, 0, 40), SNAP_PASS_PAUSE);
}

static void first_pass_always_runs(void **s)
{
    (void)s;
    assert_int_equal(snap_passes_next(0, 1, 512), SNAP_PASS_AGAIN);
    assert_int_equal(snap_passes_next(0, 600, 512), SNAP_PASS_AGAIN);
}

static void shrinking_passes_go_on_until_small(void **s)
{
    (void)s;
    assert_int_equal(snap_passes_next(1, 200, 400), SNAP_PASS_AGAIN);
    assert_int_equal(snap_passes_next(2, 50, 200), SNAP_PASS_AGAIN);
    assert_int_equal(snap_passes_next(3, SNAP_PASSES_SMALL + 1, 50), SNAP_PASS_AGAIN);
    assert_int_equal(snap_passes_next(3, SNAP_PASSES_SMALL, 50), SNAP_PASS_PAUSE);
    assert_int_equal(snap_passes_next(3, 1, 50), SNAP_PASS_PAUSE);
}

static void passes_that_do_not_shrink_pause(void **s)
{
    (void)s;
    assert_int_equal(snap_passes_next(1, 400, 400), SNAP_PASS_PAUSE);
    assert_int_equal(snap_passes_next(2, 500, 400), SNAP_PASS_PAUSE);
}

static void the_limit_pauses(void **s)
{
    (void)s;
    assert_int_equal(snap_passes_next(SNAP_PASSES_MAX - 1, 100, 200), SNAP_PASS_AGAIN);
    assert_int_equal(snap_passes_next(SNAP_PASSES_MAX, 100, 200), SNAP_PASS_PAUSE);
    assert_int_equal(snap_passes_next(SNAP_PASSES_MAX + 5, 100, 200), SNAP_PASS_PAUSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_written_pauses),
        cmocka_unit_test(first_pass_always_runs),
        cmocka_unit_test(shrinking_passes_go_on_until_small),
        cmocka_unit_test(passes_that_do_not_shrink_pause),
        cmocka_unit_test(the_limit_pauses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
