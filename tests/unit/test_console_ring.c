/* console_ring: bounded, never blocks, counts what it drops and says where, once per episode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/console_ring.h"

static struct console_ring ring;

static size_t take_all(char *out, size_t max, uint64_t *lost_total, unsigned *episodes)
{
    size_t got = 0;
    for (;;) {
        uint64_t lost;
        size_t n = console_ring_take(&ring, out + got, max - got, &lost);
        got += n;
        if (lost) {
            *lost_total += lost;
            (*episodes)++;
        }
        if (!n && !lost)
            return got;
    }
}

static void test_round_trip_and_wrap(void **state)
{
    console_ring_init(&ring);
    char out[64];
    uint64_t lost;
    for (unsigned i = 0; i < 3 * CONSOLE_RING_BYTES / 10; i++) {
        assert_int_equal(console_ring_put(&ring, "0123456789", 10), 10);
        assert_int_equal(console_ring_take(&ring, out, sizeof(out), &lost), 10);
        assert_int_equal(lost, 0);
        assert_memory_equal(out, "0123456789", 10);
    }
    assert_int_equal(console_ring_used(&ring), 0);
    assert_int_equal(console_ring_take(&ring, out, sizeof(out), &lost), 0);
    assert_int_equal(lost, 0);
    assert_int_equal(console_ring_put(&ring, "a\0b", 3), 2);      /* NUL is not output */
    assert_int_equal(console_ring_take(&ring, out, sizeof(out), &lost), 2);
    assert_memory_equal(out, "ab", 2);
}

/* 24 writes of 4 KiB into a 4 KiB ring: one episode, every byte accounted for, the
 * loss reported after the bytes kept before it. */
static void test_flood_is_bounded_and_counted(void **state)
{
    console_ring_init(&ring);
    static char chunk[4096], out[2 * CONSOLE_RING_BYTES];
    memset(chunk, 'x', sizeof(chunk));
    size_t kept = 0;
    for (int i = 0; i < 24; i++)
        kept += console_ring_put(&ring, chunk, sizeof(chunk));
    assert_int_equal(kept, CONSOLE_RING_BYTES - 1);
    assert_true(console_ring_used(&ring) <= CONSOLE_RING_BYTES);
    uint64_t lost = 0;
    unsigned episodes = 0;
    size_t got = take_all(out, sizeof(out), &lost, &episodes);
    assert_int_equal(got, kept);
    assert_int_equal(lost, 24 * sizeof(chunk) - kept);
    assert_int_equal(episodes, 1);
    assert_int_equal(console_ring_used(&ring), 0);
}

/* Once full, the ring drops everything until the consumer reaches the mark: one clean
 * gap per episode, reported where it is, with the exact count; then a second episode. */
static void test_episodes_in_place(void **state)
{
    console_ring_init(&ring);
    static char big[CONSOLE_RING_BYTES + 100], out[CONSOLE_RING_BYTES];
    memset(big, 'a', sizeof(big));
    console_ring_put(&ring, big, sizeof(big));                    /* 101 lost */
    uint64_t lost;
    assert_int_equal(console_ring_take(&ring, out, 100, &lost), 100);
    assert_int_equal(console_ring_put(&ring, "dropped", 7), 0);   /* room, but mark not reached */
    size_t n = console_ring_take(&ring, out, sizeof(out), &lost);
    assert_int_equal(n, CONSOLE_RING_BYTES - 1 - 100);
    assert_int_equal(lost, 0);
    assert_int_equal(console_ring_take(&ring, out, sizeof(out), &lost), 0);
    assert_int_equal(lost, 108);                                  /* the mark */
    assert_int_equal(console_ring_put(&ring, "after", 5), 5);
    assert_int_equal(console_ring_take(&ring, out, sizeof(out), &lost), 5);
    assert_int_equal(lost, 0);
    assert_memory_equal(out, "after", 5);
    memset(big, 'b', sizeof(big));
    console_ring_put(&ring, big, sizeof(big));
    uint64_t total = 0;
    unsigned episodes = 0;
    take_all(out, sizeof(out), &total, &episodes);
    assert_int_equal(episodes, 1);
    assert_int_equal(total, sizeof(big) - (CONSOLE_RING_BYTES - 1));
}

/* A producer writing one byte at a time into a ring drained a little at a time: every
 * episode reports its own count, none is 0, and the counts add up. */
static void test_trickle(void **state)
{
    console_ring_init(&ring);
    char out[16];
    uint64_t put = 0, kept = 0, got = 0, lost_total = 0;
    for (int i = 0; i < 200000; i++) {
        kept += console_ring_put(&ring, "z", 1);
        put++;
        if (i % 3 == 0) {
            uint64_t lost;
            got += console_ring_take(&ring, out, 1, &lost);
            if (lost) {
                lost_total += lost;
            } else {
                assert_true(ring.lost == 0 || ring.losing);
            }
        }
    }
    unsigned episodes = 0;
    char rest[CONSOLE_RING_BYTES];
    got += take_all(rest, sizeof(rest), &lost_total, &episodes);
    assert_int_equal(got, kept);
    assert_int_equal(kept + lost_total, put);
}

/* A consumer that never comes: the producer still returns at once, forever. */
static void test_never_drained(void **state)
{
    console_ring_init(&ring);
    uint64_t lost;
    char out[8];
    for (int i = 0; i < 100000; i++)
        console_ring_put(&ring, "0123456789abcdef", 16);
    assert_true(console_ring_used(&ring) <= CONSOLE_RING_BYTES);
    while (console_ring_take(&ring, out, sizeof(out), &lost) || lost)
        if (lost)
            assert_int_equal(lost, 100000ull * 16 - (CONSOLE_RING_BYTES - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_wrap),
        cmocka_unit_test(test_flood_is_bounded_and_counted),
        cmocka_unit_test(test_episodes_in_place),
        cmocka_unit_test(test_trickle),
        cmocka_unit_test(test_never_drained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
