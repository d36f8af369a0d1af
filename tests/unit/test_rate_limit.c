/* The token-bucket I/O limit (hv/storage/rate_limit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/storage/rate_limit.h"

#define MS 1000000ull
#define S  1000000000ull

static void unlimited_test(void **state)
{
    (void)state;
    struct rate_limit rl;
    rate_limit_init(&rl, 0, 0, 0);
    for (int i = 0; i < 100000; i++)
        assert_true(rate_limit_take(&rl, 1 << 20, 0));
    assert_int_equal(rate_limit_wait_ns(&rl, 1 << 30, 0), 0);
}

static void iops_test(void **state)
{
    (void)state;
    struct rate_limit rl;
    rate_limit_init(&rl, 100, 0, 0);
    int taken = 0;
    while (rate_limit_take(&rl, 4096, 0))
        taken++;
    assert_int_equal(taken, 100);              /* one second's burst */
    assert_int_equal(rl.throttled, 1);
    assert_int_equal(rl.delayed, 1);
    assert_int_equal(rate_limit_wait_ns(&rl, 4096, 0), 10 * MS);
    assert_false(rate_limit_take(&rl, 4096, 9 * MS));
    assert_int_equal(rl.throttled, 2);
    assert_int_equal(rl.delayed, 1);            /* the same request, asked about again */
    assert_true(rate_limit_take(&rl, 4096, 10 * MS));
    assert_false(rate_limit_take(&rl, 4096, 10 * MS));
    assert_int_equal(rl.delayed, 2);            /* the next one */
    assert_string_equal(rate_limit_note(&rl).text, ", throttled: 2 requests delayed");
    /* over 10 s at the limit's pace, about 100 a second */
    taken = 0;
    for (uint64_t t = 10 * MS; t < 10 * S + 10 * MS; t += MS)
        while (rate_limit_take(&rl, 4096, t))
            taken++;
    assert_in_range(taken, 999, 1001);
}

static void note_test(void **state)
{
    (void)state;
    struct rate_limit rl;
    assert_string_equal(rate_limit_note(NULL).text, "");
    rate_limit_init(&rl, 1, 0, 0);
    assert_string_equal(rate_limit_note(&rl).text, ", never throttled");
    assert_true(rate_limit_take(&rl, 0, 0));
    assert_false(rate_limit_take(&rl, 0, 0));
    assert_string_equal(rate_limit_note(&rl).text, ", throttled: 1 request delayed");
    rl.delayed = UINT64_MAX;
    assert_string_equal(rate_limit_note(&rl).text, ", throttled: 18446744073709551615 requests delayed");
}

static void bytes_test(void **state)
{
    (void)state;
    struct rate_limit rl;
    rate_limit_init(&rl, 0, 1 << 20, 0);       /* 1 MiB/s */
    assert_true(rate_limit_take(&rl, 1 << 20, 0));
    assert_false(rate_limit_take(&rl, 4096, 0));
    assert_int_equal(rate_limit_wait_ns(&rl, 512 * 1024, 0), S / 2);
    assert_true(rate_limit_take(&rl, 512 * 1024, S / 2));
    /* a request bigger than the bucket waits for a full bucket, then goes */
    assert_false(rate_limit_take(&rl, 64 << 20, S / 2 + 1));
    assert_true(rate_limit_take(&rl, 64 << 20, 2 * S));
}

static void clock_test(void **state)
{
    (void)state;
    struct rate_limit rl;
    rate_limit_init(&rl, 10, 1000, 5 * S);
    for (int i = 0; i < 10; i++)
        assert_true(rate_limit_take(&rl, 100, 5 * S));
    assert_false(rate_limit_take(&rl, 1, 4 * S));  /* time going backwards earns nothing */
    assert_true(rate_limit_take(&rl, 100, UINT64_MAX));  /* a huge gap: a full bucket, no overflow */
    rate_limit_init(&rl, UINT64_MAX / 1000000, UINT64_MAX, 0);
    assert_true(rate_limit_take(&rl, UINT64_MAX, 1));
    assert_int_equal(rate_limit_wait_ns(&rl, 1, UINT64_MAX / 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unlimited_test),
        cmocka_unit_test(iops_test),
        cmocka_unit_test(note_test),
        cmocka_unit_test(bytes_test),
        cmocka_unit_test(clock_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
