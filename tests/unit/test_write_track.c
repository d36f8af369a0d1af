#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/write_track.h"

#define MIB (1ull << 20)

struct range { uint64_t base, len; };
static struct range protected[64];
static unsigned protected_count;

static void protect(void *ctx, uint64_t base, uint64_t len)
{
    (void)ctx;
    assert_true(protected_count < 64);
    protected[protected_count++] = (struct range){ base, len };
}

static uint64_t words[64];
static struct write_track t;

static void arguments_are_checked(void **state)
{
    (void)state;
    assert_int_equal(write_track_words(0, 16), 0);
    assert_int_equal(write_track_words(MIB + 1, 16), 0);       /* not whole pages */
    assert_int_equal(write_track_words(MIB, 0), 0);
    assert_int_equal(write_track_words(MIB, 3), 0);            /* not a power of two */
    assert_int_equal(write_track_words(MIB, 1024), 0);         /* above 2 MiB */
    assert_int_equal(write_track_words(MIB, 1), 4);            /* 256 groups */
    assert_int_equal(write_track_words(MIB, 16), 1);           /* 16 groups */
    assert_int_equal(write_track_words(4096ull << 20, 512), 32); /* 2048 groups of 2 MiB */
    assert_false(write_track_init(&t, MIB, 5, words));
}

static void one_fault_opens_its_whole_group(void **state)
{
    (void)state;
    assert_true(write_track_init(&t, 16 * MIB, 16, words));   /* groups of 64 KiB */
    uint64_t base, len;
    assert_true(write_track_fault(&t, 0x123456, &base, &len));
    assert_int_equal(base, 0x120000);
    assert_int_equal(len, 0x10000);
    assert_int_equal(t.written_now, 1);
    assert_false(write_track_fault(&t, 16 * MIB, &base, &len));  /* outside RAM */
    assert_int_equal(t.faults, 1);
    /* A second fault in the same group (another vCPU racing) counts but marks nothing new. */
    assert_true(write_track_fault(&t, 0x12f000, &base, &len));
    assert_int_equal(t.faults, 2);
    assert_int_equal(t.written_now, 1);
}

static void last_group_is_clipped_to_ram(void **state)
{
    (void)state;
    assert_true(write_track_init(&t, 0x30000, 16, words));    /* 192 KiB: 3 groups of 64 */
    uint64_t base, len;
    assert_true(write_track_init(&t, 0x31000, 16, words));    /* the 4th group is 4 KiB */
    assert_int_equal(t.group_count, 4);
    assert_true(write_track_fault(&t, 0x30fff, &base, &len));
    assert_int_equal(base, 0x30000);
    assert_int_equal(len, 0x1000);
    protected_count = 0;
    assert_int_equal(write_track_harvest(&t, NULL, protect, NULL), 1);
    assert_int_equal(protected[0].base, 0x30000);
    assert_int_equal(protected[0].len, 0x1000);
}

static void harvest_hands_over_runs_and_protects_them_again(void **state)
{
    (void)state;
    assert_true(write_track_init(&t, 4 * MIB, 1, words));     /* 1024 groups of one page */
    uint64_t base, len, out[16];
    for (uint64_t a = 0x10000; a < 0x13000; a += 0x1000)      /* pages 16, 17, 18 */
        assert_true(write_track_fault(&t, a + 8, &base, &len));
    assert_true(write_track_fault(&t, 0x3ff000, &base, &len));  /* the last page */
    write_track_note(&t, 0x20800, 0x1000);                    /* a device: pages 32, 33 */
    assert_int_equal(t.noted, 2);
    protected_count = 0;
    assert_int_equal(write_track_harvest(&t, out, protect, NULL), 6);
    assert_int_equal(protected_count, 3);
    assert_int_equal(protected[0].base, 0x10000);
    assert_int_equal(protected[0].len, 0x3000);
    assert_int_equal(protected[1].base, 0x20000);
    assert_int_equal(protected[1].len, 0x2000);
    assert_int_equal(protected[2].base, 0x3ff000);
    assert_int_equal(protected[2].len, 0x1000);
    assert_int_equal(out[0], (0x7ull << 16) | (0x3ull << 32));
    assert_int_equal(out[15], 1ull << 63);
    assert_int_equal(t.written_now, 0);
    /* The next pass starts clean: only what is written again comes back. */
    assert_true(write_track_fault(&t, 0x11000, &base, &len));
    protected_count = 0;
    assert_int_equal(write_track_harvest(&t, out, protect, NULL), 1);
    assert_int_equal(protected[0].base, 0x11000);
    assert_int_equal(t.passes, 2);
    assert_int_equal(t.harvested, 7);
    assert_int_equal(t.most_in_a_pass, 6);
    assert_int_equal(write_track_harvest(&t, NULL, protect, NULL), 0);
}

static void notes_are_clipped(void **state)
{
    (void)state;
    assert_true(write_track_init(&t, MIB, 16, words));
    write_track_note(&t, MIB - 1, UINT64_MAX);                 /* wraps: clipped to RAM */
    write_track_note(&t, MIB, 10);                             /* outside */
    write_track_note(&t, 0, 0);
    assert_int_equal(t.written_now, 1);
    write_track_note(&t, 0, MIB);
    assert_int_equal(t.written_now, 16);
    assert_int_equal(t.noted, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_are_checked),
        cmocka_unit_test(one_fault_opens_its_whole_group),
        cmocka_unit_test(last_group_is_clipped_to_ram),
        cmocka_unit_test(harvest_hands_over_runs_and_protects_them_again),
        cmocka_unit_test(notes_are_clipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
