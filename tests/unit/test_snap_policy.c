/* The snapshot compression policy: the write queue's depth picks a rung, with hysteresis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/snapshot/snap_policy.h"

static void bands_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);
    /* five rungs, five bands of 20% each */
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_9);
    assert_int_equal(snap_policy_next(&p, 200, 100), SNAP_LZ4HC_9);     /* overfull */
    assert_int_equal(snap_policy_next(&p, 50, 100), SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 30, 100), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 70, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 10, 100), SNAP_STORE);
}

static void hysteresis_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_init(&p, SNAP_LZ4);             /* band 40-60% */
    assert_int_equal(snap_policy_next(&p, 62, 100), SNAP_LZ4);      /* within 5% above */
    assert_int_equal(snap_policy_next(&p, 36, 100), SNAP_LZ4);      /* within 5% below */
    assert_int_equal(snap_policy_next(&p, 65, 100), SNAP_LZ4);      /* the edge itself */
    assert_int_equal(snap_policy_next(&p, 66, 100), SNAP_LZ4HC_3);  /* beyond it */
    assert_int_equal(snap_policy_next(&p, 58, 100), SNAP_LZ4HC_3);  /* band 60-80% + 5% */
    assert_int_equal(snap_policy_next(&p, 54, 100), SNAP_LZ4);
}

static void fixed_and_edges_test(void **state)
{
    (void)state;
    struct snap_policy p;
    snap_policy_fixed(&p, SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 100, 100), SNAP_LZ4HC_3);
    assert_int_equal(snap_policy_next(&p, 0, 100), SNAP_LZ4HC_3);
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, 5, 0), SNAP_STORE);          /* no capacity: empty */
    snap_policy_init(&p, SNAP_LZ4);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX, UINT64_MAX - 1), SNAP_LZ4HC_9);
    snap_policy_init(&p, SNAP_STORE);
    assert_int_equal(snap_policy_next(&p, UINT64_MAX / 2, UINT64_MAX), SNAP_LZ4);  /* 50% */
    snap_policy_init(&p, SNAP_LEVELS);
    assert_int_equal(p.level, SNAP_LZ4);
    p.lowest = SNAP_LZ4_FAST;                   /* a narrowed ladder: three bands */
    p.highest = SNAP_LZ4HC_3;
    assert_int_equal(snap_policy_next(&p, 0, 90), SNAP_LZ4_FAST);
    assert_int_equal(snap_policy_next(&p, 90, 90), SNAP_LZ4HC_3);
    assert_string_equal(snap_level_name(SNAP_LZ4HC_9), "lz4hc-9");
    assert_string_equal(snap_level_name(SNAP_LEVELS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bands_test),
        cmocka_unit_test(hysteresis_test),
        cmocka_unit_test(fixed_and_edges_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
