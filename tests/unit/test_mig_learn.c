/* Round 0's learning passes (mig_learn.h): fitting, lending a size to the region a run
 * is heading into, settling, and what round 0's end takes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/migrate/mig_converge.h"
#include "hv/migrate/mig_learn.h"

#define REGIONS 4u
#define PAGES   (REGIONS * MIG_REGION_PAGES)

static uint64_t map[PAGES / 64];
static struct mig_region_size sizes[REGIONS];
static struct mig_learn learning;
static uint32_t applied[REGIONS];       /* what set() was told, per region */
static unsigned set_calls;

static void set(void *ctx, size_t region, uint32_t pages)
{
    assert_ptr_equal(ctx, &learning);
    assert_true(region < REGIONS);
    applied[region] = pages;
    set_calls++;
}

static void written(uint64_t from, uint64_t to, uint64_t step)
{
    for (uint64_t g = from; g < to; g += step)
        map[g / 64] |= 1ull << (g % 64);
}

static uint32_t pass(void)
{
    return mig_learn_pass(&learning, sizes, REGIONS, map, PAGES, 1, set, &learning);
}

static int setup(void **state)
{
    (void)state;
    memset(map, 0, sizeof(map));
    memset(applied, 0, sizeof(applied));
    set_calls = 0;
    mig_learn_init(&learning, sizes, REGIONS, 1);
    return 0;
}

static void init_test(void **state)
{
    for (unsigned i = 0; i < REGIONS; i++) {
        assert_int_equal(sizes[i].group_pages, 1);
        assert_false(sizes[i].fitted);
        assert_false(sizes[i].lent);
    }
    assert_true(mig_learn_due(&learning));
    /* tracking groups wider than the widest page group start at the widest */
    mig_learn_init(&learning, sizes, REGIONS, 128);
    assert_int_equal(sizes[0].group_pages, MIG_GROUP_MAX_PAGES);
}

/* A buffer being filled in region 0: fitted on the first pass; a pass that fits and lends
 * nothing new settles them. */
static void fit_then_settle_test(void **state)
{
    written(0, 256, 1);
    written(1024, 1025, 1);                     /* one record in region 2 */
    assert_int_equal(pass(), 2);
    assert_int_equal(sizes[0].group_pages, 64);
    assert_true(sizes[0].fitted);
    assert_int_equal(applied[0], 64);
    assert_int_equal(sizes[2].group_pages, 1);  /* isolated: its own group */
    assert_true(sizes[2].fitted);
    assert_false(sizes[1].fitted || sizes[1].lent || sizes[3].fitted);
    assert_int_equal(set_calls, 1);
    assert_true(mig_learn_due(&learning));
    written(256, 300, 1);                       /* more of the same region */
    assert_int_equal(pass(), 0);
    assert_false(mig_learn_due(&learning));
    assert_int_equal(learning.passes, 2);
}

/* The first pass never settles, even with nothing written. */
static void first_pass_test(void **state)
{
    assert_int_equal(pass(), 0);
    assert_true(mig_learn_due(&learning));
    assert_int_equal(pass(), 0);
    assert_false(mig_learn_due(&learning));
}

/* A sequential writer reaching region 0's end: region 1 is lent 64 at once (it would fault
 * per page till the next pass), the next pass fits it, and so on region by region. */
static void lend_forward_test(void **state)
{
    written(0, 256, 1);
    assert_int_equal(pass(), 1);
    written(256, 512, 1);
    assert_int_equal(pass(), 1);                /* the lending is news: not settled */
    assert_true(sizes[1].lent);
    assert_false(sizes[1].fitted);
    assert_int_equal(sizes[1].group_pages, 64);
    assert_int_equal(applied[1], 64);
    assert_true(mig_learn_due(&learning));
    written(512, 700, 1);
    assert_int_equal(pass(), 1);
    assert_true(sizes[1].fitted);
    assert_false(sizes[1].lent);
    assert_int_equal(sizes[1].group_pages, 64);
    assert_int_equal(sizes[2].group_pages, 1);  /* not at region 1's end yet */
    written(700, 1024, 1);
    assert_int_equal(pass(), 1);
    assert_true(sizes[2].lent);
}

/* A writer going down lends to the region before. */
static void lend_backward_test(void **state)
{
    written(768, 1000, 1);                      /* from page 999 down */
    assert_int_equal(pass(), 1);
    assert_false(sizes[0].lent);
    written(512, 768, 1);
    assert_int_equal(pass(), 1);
    assert_true(sizes[0].lent);
    assert_int_equal(sizes[0].group_pages, 64);
    assert_int_equal(sizes[2].group_pages, 1);  /* region 1's last group never written */
}

/* Never to a fitted region, never narrower, never from a region fitted at the tracking's
 * own group; a lent region is fitted no wider than what it was lent. */
static void lend_limits_test(void **state)
{
    written(1024, 1536, 16);                    /* region 2: isolated records */
    written(0, 256, 1);
    assert_int_equal(pass(), 2);
    written(256, 512, 1);                       /* region 0's run reaches region 1 */
    written(1022, 1024, 1);                     /* region 1: a pair at its end */
    assert_int_equal(pass(), 1);                /* region 1 fitted (2), not lent */
    assert_true(sizes[1].fitted);
    assert_false(sizes[1].lent);
    assert_int_equal(sizes[1].group_pages, 2);
    assert_int_equal(sizes[2].group_pages, 1);  /* fitted: nothing lent to it */
    assert_false(sizes[2].lent);

    setup(state);
    written(0, 8, 1);                           /* pairs of pages: fitted 2 */
    written(8, 512, 16);
    written(9, 512, 16);
    written(510, 512, 1);
    assert_int_equal(pass(), 2);
    assert_int_equal(sizes[0].group_pages, 2);
    assert_true(sizes[1].lent);
    assert_int_equal(sizes[1].group_pages, 2);
    written(512, 1024, 1);                      /* region 1 filled: 64 fits, 2 was lent */
    assert_int_equal(pass(), 2);                /* fitted, and lent on to region 2 */
    assert_int_equal(sizes[1].group_pages, 2);
    assert_true(sizes[1].fitted);
}

/* Round 0's end: a lent size never written goes back; fitted ones stay. */
static void end_test(void **state)
{
    written(0, 512, 1);
    assert_int_equal(pass(), 2);                /* fitted and lent in one pass */
    assert_true(sizes[1].lent);
    mig_learn_end(&learning, sizes, REGIONS, 1, set, &learning);
    assert_false(sizes[1].lent);
    assert_int_equal(sizes[1].group_pages, 1);
    assert_int_equal(applied[1], 1);
    assert_int_equal(sizes[0].group_pages, 64);
    assert_true(sizes[0].fitted);
    assert_false(mig_learn_due(&learning));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(init_test, setup),
        cmocka_unit_test_setup(fit_then_settle_test, setup),
        cmocka_unit_test_setup(first_pass_test, setup),
        cmocka_unit_test_setup(lend_forward_test, setup),
        cmocka_unit_test_setup(lend_backward_test, setup),
        cmocka_unit_test_setup(lend_limits_test, setup),
        cmocka_unit_test_setup(end_test, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
