/* The compression decision: LZ4 when the link is the bottleneck and the data shrinks, raw
 * when the CPU is or the data does not shrink; it learns first and probes while raw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/migrate/mig_choice.h"

#define MB 1000000ull

static void rule_test(void **state)
{
    /* slow link (10 MB/s), fast codec (400 MB/s), halves the data: pays */
    assert_true(mig_choice_pays(10 * MB, 400 * MB, 500));
    /* fast link (1000 MB/s), slower codec (400 MB/s): 2.5 + 0.5 > 1, raw */
    assert_false(mig_choice_pays(1000 * MB, 400 * MB, 500));
    /* incompressible data never pays */
    assert_false(mig_choice_pays(1 * MB, 400 * MB, 1000));
    assert_false(mig_choice_pays(1 * MB, 400 * MB, 1004));
    /* the boundary: link/codec + ratio = 1 does not pay, just under does */
    assert_false(mig_choice_pays(500 * MB, 1000 * MB, 500));
    assert_true(mig_choice_pays(499 * MB, 1000 * MB, 500));
    /* a codec never measured does not pay; a link never measured: compress */
    assert_false(mig_choice_pays(10 * MB, 0, 100));
    assert_true(mig_choice_pays(0, 10 * MB, 100));
}

static void learns_then_decides_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    assert_true(mig_choice_compress(&c));                /* nothing measured: learn */
    /* a slow link: 1 MB in 100 ms; a fast codec: 64 KiB -> 16 KiB in 100 us */
    mig_choice_link(&c, 1 * MB, 100000000ull);
    mig_choice_codec(&c, 65536, 16384, 100000);
    for (int i = 0; i < 100; i++)
        assert_true(mig_choice_compress(&c));
    assert_int_equal(c.chose_raw, 0);
}

static void fast_link_goes_raw_and_probes_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    /* a fast link: 100 MB in 100 ms (1 GB/s); a slow codec: 64 KiB in 1 ms, ratio 0.9 */
    mig_choice_link(&c, 100 * MB, 100000000ull);
    mig_choice_codec(&c, 65536, 58982, 1000000);
    unsigned lz4 = 0;
    for (unsigned i = 0; i < 4 * MIG_CHOICE_PROBE_EVERY; i++)
        lz4 += mig_choice_compress(&c);
    assert_int_equal(lz4, 4);                            /* only the probes */
    assert_int_equal(c.chose_lz4, 4);
    assert_int_equal(c.chose_raw, 4 * MIG_CHOICE_PROBE_EVERY - 4);
}

static void incompressible_goes_raw_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    mig_choice_link(&c, 1 * MB, 1000000000ull);          /* 1 MB/s */
    mig_choice_codec(&c, 65536, 65536, 50000);           /* fast, but nothing shrinks */
    assert_false(mig_choice_compress(&c));
}

static void link_slows_down_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    mig_choice_link(&c, 100 * MB, 100000000ull);         /* 1 GB/s */
    mig_choice_codec(&c, 65536, 32768, 500000);          /* 131 MB/s, ratio 0.5 */
    assert_false(mig_choice_compress(&c));
    /* the link drops to ~1 MB/s for seconds: the old fast samples decay away */
    for (int i = 0; i < 40; i++)
        mig_choice_link(&c, 100000, 100000000ull);
    assert_true(mig_choice_compress(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_test),
        cmocka_unit_test(learns_then_decides_test),
        cmocka_unit_test(fast_link_goes_raw_and_probes_test),
        cmocka_unit_test(incompressible_goes_raw_test),
        cmocka_unit_test(link_slows_down_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
