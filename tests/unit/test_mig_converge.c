/* Pre-copy convergence decisions: the throttle steps, the page hash that counts pages sent
 * unchanged, and the per-region group-size rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/migrate/mig_converge.h"

static void throttle_levels_test(void **state)
{
    static const uint32_t want[] = { 0, 250, 500, 750, 875, 938, 969, 990, 990, 990 };
    for (uint32_t l = 0; l < 10; l++)
        assert_int_equal(mig_throttle_permille(l), want[l]);
}

static void throttle_steps_test(void **state)
{
    /* dirtying slower than half the link: no step */
    assert_int_equal(mig_throttle_next(0, 1200, 4096), 0);
    assert_int_equal(mig_throttle_next(3, 10, 1000), 3);
    /* at least half: one step; at least as fast as the link: two */
    assert_int_equal(mig_throttle_next(0, 500, 1000), 1);
    assert_int_equal(mig_throttle_next(0, 499, 1000), 0);
    assert_int_equal(mig_throttle_next(0, 1000, 1000), 2);
    assert_int_equal(mig_throttle_next(2, 5000, 1000), 4);
    /* capped */
    assert_int_equal(mig_throttle_next(6, 1200, 1200), MIG_THROTTLE_LEVELS - 1);
    assert_int_equal(mig_throttle_next(7, 1200, 1200), MIG_THROTTLE_LEVELS - 1);
    /* nothing dirtied, nothing sent: no step (no division, no surprise) */
    assert_int_equal(mig_throttle_next(1, 0, 0), 1);
    assert_int_equal(mig_throttle_next(1, 5, 0), 3);
    /* a guest that always dirties as much as is sent reaches the cap within 4 rounds */
    uint32_t l = 0;
    for (int r = 0; r < 4; r++)
        l = mig_throttle_next(l, 1200, 1200);
    assert_int_equal(mig_throttle_permille(l), 990);
}

static uint8_t page_a[4096] __attribute__((aligned(8))), page_b[4096] __attribute__((aligned(8)));

static void hash_test(void **state)
{
    memset(page_a, 0, sizeof(page_a));
    memcpy(page_b, page_a, sizeof(page_b));
    assert_int_not_equal(mig_page_hash(page_a), 0);
    assert_true(mig_page_hash(page_a) == mig_page_hash(page_b));
    /* every single-bit change anywhere in the page changes the hash */
    uint64_t h0 = mig_page_hash(page_a);
    for (unsigned bit = 0; bit < 4096 * 8; bit += 61) {
        page_b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(mig_page_hash(page_b) != h0);
        page_b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* two words swapped change it too (order matters) */
    page_b[0] = 1;
    page_b[8] = 2;
    uint64_t h1 = mig_page_hash(page_b);
    page_b[0] = 2;
    page_b[8] = 1;
    assert_true(mig_page_hash(page_b) != h1);
}

static void sent_unchanged_test(void **state)
{
    uint64_t slot = 0;                  /* never sent */
    memset(page_a, 0x5a, sizeof(page_a));
    assert_false(mig_page_sent(&slot, page_a));
    assert_true(mig_page_sent(&slot, page_a));
    page_a[4095] ^= 1;
    assert_false(mig_page_sent(&slot, page_a));
    assert_true(mig_page_sent(&slot, page_a));
    /* an all-zero page sent first is not "unchanged" (0 is never a hash) */
    uint64_t z = 0;
    memset(page_b, 0, sizeof(page_b));
    assert_false(mig_page_sent(&z, page_b));
    assert_true(mig_page_sent(&z, page_b));
}

static void group_rule_test(void **state)
{
    /* sequential writer: one run of 512 pages, nothing unchanged: doubles up to 64 */
    struct mig_region_round seq = { .runs = 1, .run_pages = 512, .sent = 512, .unchanged = 0 };
    assert_int_equal(mig_group_next(1, &seq), 2);
    assert_int_equal(mig_group_next(16, &seq), 32);
    assert_int_equal(mig_group_next(32, &seq), 64);
    assert_int_equal(mig_group_next(64, &seq), 64);
    /* never above a quarter of the runs' average length: 100 pages in 2 runs carry 8 */
    struct mig_region_round two = { .runs = 2, .run_pages = 100, .sent = 300 };
    assert_int_equal(mig_group_next(4, &two), 8);
    assert_int_equal(mig_group_next(8, &two), 8);
    assert_int_equal(mig_group_next(16, &two), 8);
    assert_int_equal(mig_group_next(64, &two), 8);
    /* a short run: to 1 at once (a 6-page run stopping in a 64-page group) */
    struct mig_region_round shortrun = { .runs = 1, .run_pages = 6, .sent = 70, .unchanged = 2 };
    assert_int_equal(mig_group_next(64, &shortrun), 1);
    /* no runs (scattered one-page writes), however many pages: kept */
    struct mig_region_round sc = { .runs = 0, .run_pages = 0, .sent = 128, .unchanged = 0 };
    assert_int_equal(mig_group_next(1, &sc), 1);
    assert_int_equal(mig_group_next(4, &sc), 4);
    /* more than 1/16 unchanged shrinks to the share that changed, at most half: 96 of 128
     * unchanged at 16 pages: 4; 1 of 8 at 64: 56 -> 32 */
    sc.unchanged = 96;
    assert_int_equal(mig_group_next(16, &sc), 4);
    assert_int_equal(mig_group_next(4, &sc), 1);
    assert_int_equal(mig_group_next(1, &sc), 1);
    sc.unchanged = 16;
    assert_int_equal(mig_group_next(64, &sc), 32);
    /* exactly 1/16 does not shrink; just above does (at 2 pages: to 1) */
    struct mig_region_round edge = { .runs = 0, .sent = 160, .unchanged = 10 };
    assert_int_equal(mig_group_next(2, &edge), 2);
    edge.unchanged = 11;
    assert_int_equal(mig_group_next(2, &edge), 1);
    /* everything unchanged: 1 */
    sc.unchanged = 128;
    assert_int_equal(mig_group_next(64, &sc), 1);
    /* shrinking wins over growing */
    seq.unchanged = 100;
    assert_int_equal(mig_group_next(16, &seq), 8);
    /* long runs but more than 1/32 unchanged (twice that would shrink it): kept */
    seq.unchanged = 17;
    assert_int_equal(mig_group_next(16, &seq), 16);
    seq.unchanged = 16;
    assert_int_equal(mig_group_next(16, &seq), 32);
    /* unchanged above sent (a caller's miscount) is taken as all of it */
    struct mig_region_round odd = { .runs = 1, .run_pages = 512, .sent = 4, .unchanged = 9 };
    assert_int_equal(mig_group_next(8, &odd), 1);
    /* nothing at all: kept; out-of-range sizes are brought into 1..64 first */
    struct mig_region_round none = { 0 };
    assert_int_equal(mig_group_next(4, &none), 4);
    assert_int_equal(mig_group_next(0, &none), 1);
    assert_int_equal(mig_group_next(512, &none), 64);
}

static void set_bits(uint64_t *w, uint64_t from, uint64_t to, uint64_t step)
{
    for (uint64_t g = from; g < to; g += step)
        w[g / 64] |= 1ull << (g % 64);
}

/* The learning pass's map, one bit a page: the widest group the writes fill. */
static void group_fit_test(void **state)
{
    static uint64_t w[1024 / 64];
    /* nothing written in the region: 0 (the caller keeps its size) */
    memset(w, 0, sizeof(w));
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 0);
    /* a sequential buffer of 128 pages: 64 */
    set_bits(w, 0, 128, 1);
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 64);
    /* one record every 4th page: no runs, so the tracking's own group (1) */
    memset(w, 0, sizeof(w));
    set_bits(w, 512, 1024, 4);
    assert_int_equal(mig_group_fit(w, 1024, 1, 512), 1);
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 0);
    /* the records guest's region: a 128-page buffer and, beside it, a record every 4th
     * page: the buffer's run fits 64, the records open their own page whatever the size */
    memset(w, 0, sizeof(w));
    set_bits(w, 0, 128, 1);
    set_bits(w, 256, 512, 4);
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 64);
    /* pairs of pages every 16: 2 */
    memset(w, 0, sizeof(w));
    set_bits(w, 0, 512, 16);
    set_bits(w, 1, 512, 16);
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 2);
    /* a run of 64 pages from page 8 and a hot page far away: at 8 pages 65 of 72 written
     * (7/8 or more), at 16 only 65 of 96 */
    memset(w, 0, sizeof(w));
    set_bits(w, 8, 72, 1);
    set_bits(w, 300, 301, 1);
    assert_int_equal(mig_group_fit(w, 1024, 1, 0), 8);
    /* a tracking map in groups of 4 pages: never below 4 */
    memset(w, 0, sizeof(w));
    set_bits(w, 0, 128, 4);
    assert_int_equal(mig_group_fit(w, 256, 4, 0), 4);
    memset(w, 0, sizeof(w));
    set_bits(w, 0, 32, 1);                      /* 128 pages in groups of 4 */
    assert_int_equal(mig_group_fit(w, 256, 4, 0), 64);
}

static void region_scan_test(void **state)
{
    /* 4 MiB in groups of 16 pages: 64 groups, two regions of 32 groups */
    uint64_t w[1] = { 0 };
    struct mig_region_round r;
    w[0] = 0xffull;                     /* groups 0..7: a run in region 0 */
    mig_region_scan(w, 64, 16, 0, &r);
    assert_int_equal(r.runs, 1);
    assert_int_equal(r.run_pages, 128);
    mig_region_scan(w, 64, 16, 512, &r);
    assert_int_equal(r.runs, 0);
    w[0] = 0x5555ull << 32;             /* every other group in region 1: no run */
    mig_region_scan(w, 64, 16, 512, &r);
    assert_int_equal(r.runs, 0);
    assert_int_equal(r.run_pages, 0);
    /* two runs and a single group; a run reaching the region's end counts */
    w[0] = 0x7ull | 0x30ull << 8 | 1ull << 20 | 0x3ull << 30;
    mig_region_scan(w, 64, 16, 0, &r);
    assert_int_equal(r.runs, 3);
    assert_int_equal(r.run_pages, (3 + 2 + 2) * 16);
    /* a run across two regions is seen in each, clipped to it */
    w[0] = 0x3ull << 31;
    mig_region_scan(w, 64, 16, 0, &r);
    assert_int_equal(r.runs, 0);
    mig_region_scan(w, 64, 16, 512, &r);
    assert_int_equal(r.runs, 0);
    w[0] = 0xfull << 30;
    mig_region_scan(w, 64, 16, 512, &r);
    assert_int_equal(r.runs, 1);
    assert_int_equal(r.run_pages, 32);
    /* the last region is clipped to the groups there are */
    w[0] = 0x3ull << 1;                 /* groups of 256 pages: 2 is region 1's, 3 is not */
    mig_region_scan(w, 3, 256, 512, &r);
    assert_int_equal(r.runs, 0);
    w[0] = 0x7ull << 5;                 /* groups of 128 pages: 5 and 6 of region 1, 7 not */
    mig_region_scan(w, 7, 128, 512, &r);
    assert_int_equal(r.runs, 1);
    assert_int_equal(r.run_pages, 256);
    assert_int_equal(mig_group_index(1), 0);
    assert_int_equal(mig_group_index(16), 4);
    assert_int_equal(mig_group_index(64), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttle_levels_test), cmocka_unit_test(throttle_steps_test),
        cmocka_unit_test(hash_test),            cmocka_unit_test(sent_unchanged_test),
        cmocka_unit_test(group_rule_test),
        cmocka_unit_test(group_fit_test),      cmocka_unit_test(region_scan_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
