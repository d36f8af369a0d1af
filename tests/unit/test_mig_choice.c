/* The compression decision: raw, LZ4 with acceleration or LZ4, whichever moves guest bytes
 * fastest: LZ4 when the link is slow and the data shrinks, LZ4 with acceleration when the
 * link is fast enough that LZ4's CPU time costs more than its extra shrinking saves, raw
 * when the CPU is the bottleneck or the data does not shrink; it learns each codec first
 * and probes the others now and then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/migrate/mig_choice.h"
#include "hv/snapshot/snap_codec.h"

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

/* LZ4 at 200 MB/s halving the data, LZ4 with acceleration at 1000 MB/s to 60 %. */
static const uint64_t bps[MIG_CODECS] = { 0, 1000 * MB, 200 * MB };
static const uint64_t ratio[MIG_CODECS] = { 0, 600, 500 };

static void best_of_three_test(void **state)
{
    /* a slow link (10 MB/s): LZ4 costs 0.05 + 0.5, accelerated 0.01 + 0.6: LZ4 */
    assert_int_equal(mig_choice_best(10 * MB, bps, ratio), MIG_LZ4);
    /* 100 MB/s: LZ4 costs 0.5 + 0.5 = 1 (no better than raw), accelerated 0.1 + 0.6:
     * LZ4 with acceleration is the best trade-off */
    assert_int_equal(mig_choice_best(100 * MB, bps, ratio), MIG_LZ4_ACCEL);
    /* 300 MB/s: accelerated 0.3 + 0.6 still under 1 */
    assert_int_equal(mig_choice_best(300 * MB, bps, ratio), MIG_LZ4_ACCEL);
    /* 1000 MB/s: both cost more than raw */
    assert_int_equal(mig_choice_best(1000 * MB, bps, ratio), MIG_RAW);
    /* the link not measured: the better ratio */
    assert_int_equal(mig_choice_best(0, bps, ratio), MIG_LZ4);
    /* a codec not measured is never best */
    const uint64_t only_accel[MIG_CODECS] = { 0, 1000 * MB, 0 };
    assert_int_equal(mig_choice_best(10 * MB, only_accel, ratio), MIG_LZ4_ACCEL);
    /* incompressible: raw */
    const uint64_t none[MIG_CODECS] = { 0, 1000, 1000 };
    assert_int_equal(mig_choice_best(1 * MB, bps, none), MIG_RAW);
    /* ties go to the cheaper CPU work */
    const uint64_t same_ratio[MIG_CODECS] = { 0, 500, 500 };
    const uint64_t same_bps[MIG_CODECS] = { 0, 400 * MB, 400 * MB };
    assert_int_equal(mig_choice_best(10 * MB, same_bps, same_ratio), MIG_LZ4_ACCEL);
    assert_int_equal(mig_codec_level(MIG_RAW), SNAP_STORE);
    assert_int_equal(mig_codec_level(MIG_LZ4_ACCEL), SNAP_LZ4_FAST);
    assert_int_equal(mig_codec_level(MIG_LZ4), SNAP_LZ4);
}

/* Feeds a measurement for whatever was chosen: codec k's rate and ratio as given. */
static enum mig_codec step(struct mig_choice *c, const uint64_t rate_bps[MIG_CODECS],
                           const uint64_t ratio_pm[MIG_CODECS], uint64_t link_bps)
{
    enum mig_codec k = mig_choice_next(c);
    uint64_t in = 65536, out = k == MIG_RAW ? in : in * ratio_pm[k] / 1000;
    if (k != MIG_RAW)
        mig_choice_codec(c, k, in, out, in * 1000000000ull / rate_bps[k]);
    mig_choice_link(c, out, out * 1000000000ull / link_bps);
    return k;
}

static void learns_both_then_decides_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    /* learning: LZ4 with acceleration first, then LZ4 */
    assert_int_equal(step(&c, bps, ratio, 10 * MB), MIG_LZ4_ACCEL);
    assert_int_equal(step(&c, bps, ratio, 10 * MB), MIG_LZ4);
    /* a slow link: LZ4 from then on, but for the probes */
    unsigned n[MIG_CODECS] = { 0 };
    for (unsigned i = 0; i < 4 * MIG_CHOICE_PROBE_EVERY; i++)
        n[step(&c, bps, ratio, 10 * MB)]++;
    assert_int_equal(n[MIG_RAW], 0);
    assert_int_equal(n[MIG_LZ4_ACCEL], 4);              /* probes: raw needs none */
    assert_int_equal(n[MIG_LZ4], 4 * MIG_CHOICE_PROBE_EVERY - 4);
    assert_int_equal(c.chose[MIG_LZ4], 4 * MIG_CHOICE_PROBE_EVERY - 4 + 1);
}

static void middle_link_chooses_accelerated_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    unsigned n[MIG_CODECS] = { 0 };
    for (unsigned i = 0; i < 8 * MIG_CHOICE_PROBE_EVERY; i++)
        n[step(&c, bps, ratio, 100 * MB)]++;
    /* LZ4 with acceleration but for LZ4's learning batch and probes */
    assert_int_equal(n[MIG_RAW], 0);
    assert_int_equal(n[MIG_LZ4], 1 + 7);
    assert_int_equal(n[MIG_LZ4_ACCEL], 8 * MIG_CHOICE_PROBE_EVERY - 8);
}

static void fast_link_goes_raw_and_probes_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    /* a fast link (1 GB/s); slow codecs that shrink little */
    const uint64_t slow[MIG_CODECS] = { 0, 200 * MB, 65 * MB };
    const uint64_t little[MIG_CODECS] = { 0, 950, 900 };
    unsigned n[MIG_CODECS] = { 0 };
    for (unsigned i = 0; i < 2 + 4 * MIG_CHOICE_PROBE_EVERY; i++)
        n[step(&c, slow, little, 1000 * MB)]++;
    /* the two learning batches, then raw but for the probes, taking turns */
    assert_int_equal(n[MIG_LZ4_ACCEL], 1 + 2);
    assert_int_equal(n[MIG_LZ4], 1 + 2);
    assert_int_equal(n[MIG_RAW], 4 * MIG_CHOICE_PROBE_EVERY - 4);
}

static void incompressible_goes_raw_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    mig_choice_link(&c, 1 * MB, 1000000000ull);          /* 1 MB/s */
    mig_choice_codec(&c, MIG_LZ4_ACCEL, 65536, 65536, 20000);
    mig_choice_codec(&c, MIG_LZ4, 65536, 65536, 50000);  /* fast, but nothing shrinks */
    assert_int_equal(mig_choice_next(&c), MIG_RAW);
}

static void link_slows_down_test(void **state)
{
    struct mig_choice c;
    mig_choice_init(&c);
    mig_choice_link(&c, 100 * MB, 100000000ull);         /* 1 GB/s */
    mig_choice_codec(&c, MIG_LZ4_ACCEL, 65536, 45875, 200000);  /* 328 MB/s, 0.7 */
    mig_choice_codec(&c, MIG_LZ4, 65536, 32768, 500000);        /* 131 MB/s, 0.5 */
    assert_int_equal(mig_choice_next(&c), MIG_RAW);
    /* the link drops to ~1 MB/s for seconds: the old fast samples decay away */
    for (int i = 0; i < 40; i++)
        mig_choice_link(&c, 100000, 100000000ull);
    assert_int_equal(mig_choice_next(&c), MIG_LZ4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_test),
        cmocka_unit_test(best_of_three_test),
        cmocka_unit_test(learns_both_then_decides_test),
        cmocka_unit_test(middle_link_chooses_accelerated_test),
        cmocka_unit_test(fast_link_goes_raw_and_probes_test),
        cmocka_unit_test(incompressible_goes_raw_test),
        cmocka_unit_test(link_slows_down_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
