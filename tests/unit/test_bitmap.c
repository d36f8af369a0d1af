#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/lib/bitmap.h"

#define BITS 200


static void set_clear_test(void **state)
{
    uint64_t w[4];
    struct bitmap bm;
    bitmap_init(&bm, w, BITS);
    assert_false(bitmap_test(&bm, 0));
    bitmap_set(&bm, 0);
    bitmap_set(&bm, 63);
    bitmap_set(&bm, 64);
    bitmap_set(&bm, 199);
    assert_true(bitmap_test(&bm, 0));
    assert_true(bitmap_test(&bm, 63));
    assert_true(bitmap_test(&bm, 64));
    assert_true(bitmap_test(&bm, 199));
    assert_false(bitmap_test(&bm, 1));
    assert_false(bitmap_test(&bm, 200));
    bitmap_set(&bm, 200);     /* out of range: ignored */
    bitmap_set(&bm, 100000);
    assert_int_equal(w[3] >> 8, 0);
    bitmap_clear(&bm, 63);
    assert_false(bitmap_test(&bm, 63));
    assert_int_equal(bitmap_count_set(&bm, 0, BITS), 3);
}

static void range_test(void **state)
{
    uint64_t w[4];
    struct bitmap bm;
    bitmap_init(&bm, w, BITS);
    bitmap_set_range(&bm, 10, 150);
    assert_int_equal(bitmap_count_set(&bm, 0, BITS), 150);
    assert_false(bitmap_test(&bm, 9));
    assert_true(bitmap_test(&bm, 10));
    assert_true(bitmap_test(&bm, 159));
    assert_false(bitmap_test(&bm, 160));
    assert_true(bitmap_range_is(&bm, 10, 150, true));
    assert_false(bitmap_range_is(&bm, 9, 2, true));
    assert_true(bitmap_range_is(&bm, 160, 40, false));
    assert_false(bitmap_range_is(&bm, 160, 41, false)); /* leaves the bitmap */
    bitmap_clear_range(&bm, 64, 64);
    assert_int_equal(bitmap_count_set(&bm, 0, BITS), 86);
    assert_int_equal(bitmap_count_set(&bm, 64, 64), 0);
    assert_int_equal(bitmap_count_set(&bm, 60, 10), 4);
    bitmap_set_range(&bm, 190, 1000); /* clipped */
    assert_int_equal(bitmap_count_set(&bm, 190, 1000), 10);
    assert_int_equal(w[3] >> 8, 0);
    bitmap_set_range(&bm, 0, 0);
    assert_false(bitmap_test(&bm, 0));
}

static void find_next_test(void **state)
{
    uint64_t w[4];
    struct bitmap bm;
    bitmap_init(&bm, w, BITS);
    assert_int_equal(bitmap_find_next(&bm, 0, BITS, true), BITMAP_NONE);
    assert_int_equal(bitmap_find_next(&bm, 5, BITS, false), 5);
    bitmap_set(&bm, 130);
    assert_int_equal(bitmap_find_next(&bm, 0, BITS, true), 130);
    assert_int_equal(bitmap_find_next(&bm, 130, BITS, true), 130);
    assert_int_equal(bitmap_find_next(&bm, 131, BITS, true), BITMAP_NONE);
    assert_int_equal(bitmap_find_next(&bm, 0, 130, true), BITMAP_NONE);
    bitmap_set_range(&bm, 0, BITS);
    assert_int_equal(bitmap_find_next(&bm, 0, BITS, false), BITMAP_NONE);
    assert_int_equal(bitmap_find_next(&bm, 0, 100000, false), BITMAP_NONE);
}

static void find_run_test(void **state)
{
    uint64_t w[4];
    struct bitmap bm;
    bitmap_init(&bm, w, BITS);
    /* zero runs in an empty map */
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 10, 1, false), 0);
    assert_int_equal(bitmap_find_run(&bm, 3, BITS, 10, 8, false), 8);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, BITS, 0, false), 0);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, BITS + 1, 0, false), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 0, 0, false), BITMAP_NONE);
    /* set runs: [5,9) [20,100) [150,200) */
    bitmap_set_range(&bm, 5, 4);
    bitmap_set_range(&bm, 20, 80);
    bitmap_set_range(&bm, 150, 50);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 4, 1, true), 5);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 5, 1, true), 20);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 16, 16, true), 32);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 64, 64, true), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 64, 32, true), 32);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 81, 1, true), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 50, 1, true), 20);
    assert_int_equal(bitmap_find_run(&bm, 60, BITS, 50, 1, true), 150);
    assert_int_equal(bitmap_find_run(&bm, 60, 199, 50, 1, true), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 3, 3, true), 6);
    /* clear runs around them */
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 11, 1, false), 9);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 12, 1, false), 100);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 50, 1, false), 100);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 51, 1, false), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 40, 128, false), BITMAP_NONE);
    assert_int_equal(bitmap_find_run(&bm, 0, BITS, 20, 128, false), 128);
}

/* Cross-checks the run search against a bit-by-bit model on pseudo-random maps. */
static size_t model_run(const struct bitmap *bm, size_t from, size_t limit, size_t count,
                        size_t align, bool value)
{
    if (count == 0)
        return BITMAP_NONE;
    for (size_t i = from; i + count <= limit; i++) {
        if (align > 1 && i % align)
            continue;
        size_t k = 0;
        while (k < count && bitmap_test(bm, i + k) == value)
            k++;
        if (k == count)
            return i;
    }
    return BITMAP_NONE;
}

static void find_run_model_test(void **state)
{
    uint64_t w[4];
    struct bitmap bm;
    uint64_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        bitmap_init(&bm, w, BITS);
        for (int k = 0; k < 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            w[k] = seed;
            if (round % 3 == 0)
                w[k] |= seed << 7 | seed >> 5;
        }
        w[3] &= (1ull << (BITS - 192)) - 1;
        size_t from = (seed >> 20) % BITS, limit = (seed >> 30) % (BITS + 20);
        size_t count = 1 + (seed >> 40) % 12, align = 1u << ((seed >> 50) % 4);
        bool value = (seed >> 60) & 1;
        assert_int_equal(bitmap_find_run(&bm, from, limit, count, align, value),
                         model_run(&bm, from, limit < BITS ? limit : BITS, count, align, value));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_clear_test),
        cmocka_unit_test(range_test),
        cmocka_unit_test(find_next_test),
        cmocka_unit_test(find_run_test),
        cmocka_unit_test(find_run_model_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
