/* hv/mm/scrub_queue.c: dirty frames wait, come back in bounded runs oldest first, and are
 * counted; with the frame allocator, none is handed out before it is scrubbed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/mm/frame_alloc.h"
#include "hv/mm/scrub_queue.h"

#define K 1024ull
#define M (1024ull * 1024)

static struct scrub_queue q;

static struct frame_range take(uint64_t max)
{
    struct frame_range r = { 0, 0 };
    assert_true(scrub_queue_take(&q, max, &r));
    return r;
}

static void bounded_runs_in_order_test(void **state)
{
    scrub_queue_init(&q);
    assert_true(scrub_queue_push(&q, 64 * M, 2 * M));
    assert_int_equal(scrub_queue_pending(&q), 2 * M);
    for (uint64_t i = 0; i < 8; i++) {
        struct frame_range r = take(256 * K);
        assert_int_equal(r.base, 64 * M + i * 256 * K);
        assert_int_equal(r.length, 256 * K);
        assert_int_equal(scrub_queue_pending(&q), 2 * M - i * 256 * K);   /* taken counts */
        scrub_queue_done(&q, r.length);
        assert_int_equal(scrub_queue_pending(&q), 2 * M - (i + 1) * 256 * K);
    }
    struct frame_range r;
    assert_false(scrub_queue_take(&q, 256 * K, &r));
    assert_int_equal(scrub_queue_pending(&q), 0);
}

static void runs_stay_within_a_range_test(void **state)
{
    scrub_queue_init(&q);
    assert_true(scrub_queue_push(&q, 10 * M, 12 * K));
    assert_true(scrub_queue_push(&q, 20 * M, 8 * K));
    struct frame_range r = take(1 * M);             /* the rest of the oldest range only */
    assert_int_equal(r.base, 10 * M);
    assert_int_equal(r.length, 12 * K);
    r = take(5000);                                 /* rounded down to whole frames */
    assert_int_equal(r.base, 20 * M);
    assert_int_equal(r.length, 4 * K);
    r = take(100);                                  /* at least one frame */
    assert_int_equal(r.base, 20 * M + 4 * K);
    assert_int_equal(r.length, 4 * K);
    assert_int_equal(scrub_queue_pending(&q), 20 * K);
    scrub_queue_done(&q, 20 * K);
    assert_int_equal(scrub_queue_pending(&q), 0);
}

static void adjacent_ranges_merge_test(void **state)
{
    scrub_queue_init(&q);
    for (uint64_t i = 0; i < 32; i++)                /* a partition's chunks, in order */
        assert_true(scrub_queue_push(&q, 128 * M + i * 2 * M, 2 * M));
    assert_int_equal(q.count, 1);
    assert_true(scrub_queue_push(&q, 126 * M, 2 * M));    /* just below: merged too */
    assert_int_equal(q.count, 1);
    assert_true(scrub_queue_push(&q, 300 * M, 4 * K));    /* elsewhere: a new range */
    assert_int_equal(q.count, 2);
    assert_int_equal(scrub_queue_pending(&q), 66 * M + 4 * K);
    struct frame_range r = take(256 * M);
    assert_int_equal(r.base, 126 * M);
    assert_int_equal(r.length, 66 * M);
    /* A range half taken still merges what follows its end. */
    assert_true(scrub_queue_push(&q, 300 * M + 4 * K, 4 * K));
    r = take(4 * K);
    assert_true(scrub_queue_push(&q, 300 * M + 8 * K, 4 * K));
    r = take(1 * M);
    assert_int_equal(r.base, 300 * M + 4 * K);
    assert_int_equal(r.length, 8 * K);
}

static void bad_ranges_refused_test(void **state)
{
    scrub_queue_init(&q);
    assert_false(scrub_queue_push(&q, 4 * K, 0));
    assert_false(scrub_queue_push(&q, 4 * K + 1, 4 * K));
    assert_false(scrub_queue_push(&q, 4 * K, 4 * K + 8));
    assert_false(scrub_queue_push(&q, ~0ull & ~4095ull, 8 * K));  /* wraps */
    assert_int_equal(scrub_queue_pending(&q), 0);
    scrub_queue_done(&q, 4 * K);                    /* more than taken: no underflow */
    assert_int_equal(scrub_queue_pending(&q), 0);
}

static void full_ring_refuses_and_wraps_test(void **state)
{
    scrub_queue_init(&q);
    for (uint64_t i = 0; i < SCRUB_QUEUE_RANGES; i++)    /* every other frame: no merging */
        assert_true(scrub_queue_push(&q, 1 * M + i * 8 * K, 4 * K));
    assert_false(scrub_queue_push(&q, 900 * M, 4 * K));
    assert_int_equal(scrub_queue_pending(&q), SCRUB_QUEUE_RANGES * 4 * K);
    /* Round and round: the ring's slots are reused in order. */
    uint64_t next_pushed = SCRUB_QUEUE_RANGES, next_taken = 0;
    for (int round = 0; round < 3 * SCRUB_QUEUE_RANGES; round++) {
        struct frame_range r = take(64 * K);
        assert_int_equal(r.base, 1 * M + next_taken++ * 8 * K);
        scrub_queue_done(&q, r.length);
        assert_true(scrub_queue_push(&q, 1 * M + next_pushed++ * 8 * K, 4 * K));
    }
    assert_int_equal(q.count, SCRUB_QUEUE_RANGES);
}

/* ---- with the frame allocator, as hv/mm/kmem.c uses the two ------------------------------ */

#define RAM_BASE (1 * M)
#define RAM_SIZE (40 * M)
static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static void *ram_at(uint64_t phys)
{
    assert_true(phys >= RAM_BASE && phys < RAM_BASE + RAM_SIZE);
    return ram + (phys - RAM_BASE);
}

static struct frame_alloc fa;

/* kmem_alloc_pages_aligned's loop: when nothing is free, scrub queued frames and retry. */
static uint64_t alloc_reclaiming(uint64_t count, uint64_t align, unsigned *runs)
{
    for (;;) {
        uint64_t phys = frame_alloc_pages(&fa, count, align, 0);
        if (phys)
            return phys;
        struct frame_range r;
        if (!scrub_queue_take(&q, count * FRAME_SIZE > 2 * M ? count * FRAME_SIZE : 2 * M, &r))
            return 0;
        memset(ram_at(r.base), 0, r.length);
        assert_int_equal(frame_free_pages(&fa, r.base, r.length / FRAME_SIZE), FA_OK);
        scrub_queue_done(&q, r.length);
        (*runs)++;
    }
}

static bool queued(uint64_t phys)
{
    for (unsigned i = 0; i < q.count; i++) {
        const struct frame_range *r = &q.ranges[(q.head + i) % SCRUB_QUEUE_RANGES];
        if (phys >= r->base && phys - r->base < r->length)
            return true;
    }
    return false;
}

static void nothing_handed_out_unscrubbed_test(void **state)
{
    struct boot_mem_range map[] = { { .base = RAM_BASE, .length = RAM_SIZE, .type = BOOT_MEM_USABLE } };
    struct frame_alloc_config cfg = { map, 1, NULL, 0, ram_at };
    assert_int_equal(frame_alloc_init(&fa, &cfg), FA_OK);
    scrub_queue_init(&q);
    uint64_t total_free = frame_alloc_free_bytes(&fa);

    /* A "partition" takes every 2 MiB chunk there is, writes its data, and ends. */
    uint64_t chunks[32];
    unsigned n = 0, runs = 0;
    while (n < 32 && (chunks[n] = frame_alloc_pages(&fa, 512, 512, 0)) != 0)
        memset(ram_at(chunks[n++]), 0xa5, 2 * M);
    assert_true(n >= 8);
    for (unsigned i = 0; i < n; i++)
        assert_true(scrub_queue_push(&q, chunks[i], 2 * M));
    assert_int_equal(frame_alloc_free_bytes(&fa) + scrub_queue_pending(&q), total_free);

    /* Single frames come from what is free, never from the queue, until only the queue is
     * left; then from scrubbed frames only. */
    static uint64_t singles[1024];
    unsigned nsingles = 0;
    while (nsingles < 1024 && (singles[nsingles] = alloc_reclaiming(1, 1, &runs)) != 0) {
        uint64_t got = singles[nsingles++];
        assert_false(queued(got));
        for (unsigned b = 0; b < 4096; b++)
            if (((uint8_t *)ram_at(got))[b] == 0xa5)
                fail_msg("frame %#llx handed out with guest data", (unsigned long long)got);
        if (runs)
            break;
    }
    assert_int_equal(runs, 1);                       /* one bounded run, not all of them */
    assert_int_equal(scrub_queue_pending(&q), (n - 1) * 2 * M);
    assert_int_equal(frame_alloc_free_bytes(&fa) + scrub_queue_pending(&q),
                     total_free - nsingles * 4 * K);

    /* A 2 MiB chunk comes back whole from a reclaiming run (the scrubbed one has a frame
     * taken from it). */
    uint64_t chunk = alloc_reclaiming(512, 512, &runs);
    assert_true(chunk != 0);
    assert_int_equal(runs, 2);
    for (uint64_t b = 0; b < 2 * M; b++)
        if (((uint8_t *)ram_at(chunk))[b])
            fail_msg("byte %#llx of a reused chunk not scrubbed", (unsigned long long)b);
    assert_int_equal(frame_free_pages(&fa, chunk, 512), FA_OK);
    for (unsigned i = 0; i < nsingles; i++)
        assert_int_equal(frame_free_pages(&fa, singles[i], 1), FA_OK);

    /* Drained in bounded steps, everything is free and zero. */
    struct frame_range r;
    while (scrub_queue_take(&q, 256 * K, &r)) {
        assert_true(r.length <= 256 * K);
        memset(ram_at(r.base), 0, r.length);
        assert_int_equal(frame_free_pages(&fa, r.base, r.length / FRAME_SIZE), FA_OK);
        scrub_queue_done(&q, r.length);
    }
    assert_int_equal(scrub_queue_pending(&q), 0);
    assert_int_equal(frame_alloc_free_bytes(&fa), total_free);
    for (unsigned i = 0; i < n; i++)
        for (uint64_t b = 0; b < 2 * M; b += 64)
            assert_int_equal(((uint8_t *)ram_at(chunks[i]))[b], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounded_runs_in_order_test),
        cmocka_unit_test(runs_stay_within_a_range_test),
        cmocka_unit_test(adjacent_ranges_merge_test),
        cmocka_unit_test(bad_ranges_refused_test),
        cmocka_unit_test(full_ring_refuses_and_wraps_test),
        cmocka_unit_test(nothing_handed_out_unscrubbed_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
