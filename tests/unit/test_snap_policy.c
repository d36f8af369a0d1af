/* The snapshot compression policy: queue depth to level, one rung at a time, with a dead band. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_policy.h"

static void climbs_and_falls_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    /* a full queue: harder one rung per block, up to the top and no further */
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 90, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_9);
    /* the dead band (25-75%) keeps the level */
    assert_int_equal(snap_policy_next(&p, 75, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 25, 100), SNAP_LZ4HC_9);
    /* an empty queue: easier one rung per block, down to store */
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 24, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 76, 100), SNAP_LZ4_FAST);
}

static void fixed_and_edges_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_fixed(&p, SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4HC_3);
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 5, 0), SNAP_LZ4_FAST);      /* no capacity: empty */
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX, UINT64_MAX - 1), SNAP_LZ4HC_3);
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX / 4 * 3, UINT64_MAX), SNAP_LZ4);  /* 74% */
    snap_policy_init(&p, SNAP_LEVELS);
    assert_int_equal(p.level, SNAP_LZ4);
    assert_string_equal(snap_level_name(SNAP_LZ4HC_9), "lz4hc-9");
    assert_string_equal(snap_level_name(SNAP_LEVELS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(climbs_and_falls_test),
        cmocka_unit_test(fixed_and_edges_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
