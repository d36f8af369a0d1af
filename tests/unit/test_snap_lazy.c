#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/crc32c.h"
#include "hv/snapshot/snap_lazy.h"

static uint32_t mem[4096];

static void arguments_are_checked(void **state)
{
    (void)state;
    struct snap_lazy_map m;
    assert_int_equal(snap_lazy_map_bytes(0), 0);
    assert_true(snap_lazy_map_bytes(5) >= 5 + 2 * 5 * 4);
    assert_false(snap_lazy_map_init(&m, 0, mem));
    assert_false(snap_lazy_map_init(&m, 4, NULL));
    assert_true(snap_lazy_map_init(&m, 4, mem));
    assert_false(snap_lazy_want(&m, 4));
    assert_false(snap_lazy_done(&m, 4, SNAP_LAZY_BY_WORKER, 0));
    assert_false(snap_lazy_done(&m, 0, SNAP_LAZY_CAUSES, 0));
    assert_false(snap_lazy_loaded(&m, 9));
    assert_int_equal(snap_lazy_ram_crc(&m, 16), 0);         /* not complete */
}

/* Without faults the loader goes in RAM order and each block is loaded once. */
static void loads_in_ram_order(void **state)
{
    (void)state;
    struct snap_lazy_map m;
    assert_true(snap_lazy_map_init(&m, 5, mem));
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t b;
        bool wanted = true;
        assert_true(snap_lazy_next(&m, &b, &wanted));
        assert_int_equal(b, i);
        assert_false(wanted);
        assert_false(snap_lazy_complete(&m));
        assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_WORKER, i));
        assert_false(snap_lazy_done(&m, b, SNAP_LAZY_BY_WORKER, i));   /* once */
    }
    uint32_t b;
    bool wanted;
    assert_false(snap_lazy_next(&m, &b, &wanted));
    assert_true(snap_lazy_complete(&m));
    assert_int_equal(m.by[SNAP_LAZY_BY_WORKER], 5);
}

/* Faults jump the queue, oldest first; a block faulted twice (two vCPUs) is queued once;
 * a block loaded meanwhile by a hypervisor access is not handed out again; the scan skips
 * what faults loaded. */
static void faults_come_first(void **state)
{
    (void)state;
    struct snap_lazy_map m;
    uint32_t b;
    bool wanted;
    assert_true(snap_lazy_map_init(&m, 8, mem));
    assert_true(snap_lazy_next(&m, &b, &wanted));       /* the worker starts on block 0 */
    assert_int_equal(b, 0);
    assert_true(snap_lazy_want(&m, 0));                 /* a fault on the block it loads */
    assert_true(snap_lazy_want(&m, 6));
    assert_false(snap_lazy_want(&m, 6));                /* a second vCPU, same block */
    assert_true(snap_lazy_want(&m, 3));
    assert_true(snap_lazy_want(&m, 5));
    assert_true(snap_lazy_done(&m, 0, SNAP_LAZY_BY_WORKER, 0));
    assert_false(snap_lazy_want(&m, 0));                /* in: nothing to queue */
    assert_true(snap_lazy_done(&m, 3, SNAP_LAZY_BY_ACCESS, 0));
    assert_true(snap_lazy_done(&m, 1, SNAP_LAZY_ZERO, 0));
    assert_true(snap_lazy_next(&m, &b, &wanted));       /* 0 and 3 are in: skipped */
    assert_int_equal(b, 6);
    assert_true(wanted);
    assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_FAULT, 0));
    assert_true(snap_lazy_next(&m, &b, &wanted));
    assert_int_equal(b, 5);
    assert_true(wanted);
    assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_FAULT, 0));
    static const uint32_t rest[] = { 2, 4, 7 };        /* 1 was there from the start */
    for (unsigned i = 0; i < 3; i++) {
        assert_true(snap_lazy_next(&m, &b, &wanted));
        assert_int_equal(b, rest[i]);
        assert_false(wanted);
        assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_WORKER, 0));
    }
    assert_false(snap_lazy_next(&m, &b, &wanted));
    assert_int_equal(m.by[SNAP_LAZY_BY_FAULT], 2);
    assert_int_equal(m.by[SNAP_LAZY_BY_WORKER], 4);
    assert_int_equal(m.by[SNAP_LAZY_BY_ACCESS], 1);
    assert_int_equal(m.by[SNAP_LAZY_ZERO], 1);
    assert_int_equal(m.loaded, 8);
}

/* The ring wraps: every block faulted in turn, more faults than the ring's first lap. */
static void ring_wraps(void **state)
{
    (void)state;
    struct snap_lazy_map m;
    uint32_t b;
    bool wanted;
    assert_true(snap_lazy_map_init(&m, 3, mem));
    assert_true(snap_lazy_want(&m, 2));
    assert_true(snap_lazy_want(&m, 1));
    assert_true(snap_lazy_next(&m, &b, &wanted));
    assert_int_equal(b, 2);
    assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_FAULT, 0));
    assert_true(snap_lazy_want(&m, 0));
    assert_true(snap_lazy_next(&m, &b, &wanted));
    assert_int_equal(b, 1);
    assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_FAULT, 0));
    assert_true(snap_lazy_next(&m, &b, &wanted));
    assert_int_equal(b, 0);
    assert_true(wanted);
    assert_true(snap_lazy_done(&m, b, SNAP_LAZY_BY_FAULT, 0));
    assert_false(snap_lazy_next(&m, &b, &wanted));
    assert_true(snap_lazy_complete(&m));
}

static void combine_matches_crc_of_the_whole(void **state)
{
    (void)state;
    static uint8_t buf[3 * 4096 + 17];
    srand(7);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    static const size_t cuts[] = { 0, 1, 4096, 5000, sizeof(buf) - 1, sizeof(buf) };
    for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t a = cuts[i];
        uint32_t ca = crc32c(0, buf, a), cb = crc32c(0, buf + a, sizeof(buf) - a);
        assert_int_equal(snap_crc32c_combine(ca, cb, sizeof(buf) - a),
                         crc32c(0, buf, sizeof(buf)));
    }
}

/* Blocks loaded in any order give the RAM's CRC-32C in order. */
static void ram_crc_from_blocks_in_any_order(void **state)
{
    (void)state;
    enum { BLOCKS = 6, SIZE = 1024 };
    static uint8_t ram[BLOCKS * SIZE];
    for (size_t i = 0; i < sizeof(ram); i++)
        ram[i] = (uint8_t)(i * 131 + (i >> 7));
    memset(ram + 2 * SIZE, 0, SIZE);            /* a zero block among them */
    struct snap_lazy_map m;
    assert_true(snap_lazy_map_init(&m, BLOCKS, mem));
    static const uint32_t order[BLOCKS] = { 4, 1, 5, 0, 2, 3 };
    for (unsigned i = 0; i < BLOCKS; i++) {
        uint32_t b = order[i];
        assert_int_equal(snap_lazy_ram_crc(&m, SIZE), 0);
        assert_true(snap_lazy_done(&m, b, i & 1 ? SNAP_LAZY_BY_FAULT : SNAP_LAZY_BY_WORKER,
                                   crc32c(0, ram + (size_t)b * SIZE, SIZE)));
    }
    assert_int_equal(snap_lazy_ram_crc(&m, SIZE), crc32c(0, ram, sizeof(ram)));
    /* one block of a whole: its own CRC */
    assert_true(snap_lazy_map_init(&m, 1, mem));
    assert_true(snap_lazy_done(&m, 0, SNAP_LAZY_BY_WORKER, 0x1234));
    assert_int_equal(snap_lazy_ram_crc(&m, SIZE), 0x1234);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_are_checked),
        cmocka_unit_test(loads_in_ram_order),
        cmocka_unit_test(faults_come_first),
        cmocka_unit_test(ring_wraps),
        cmocka_unit_test(combine_matches_crc_of_the_whole),
        cmocka_unit_test(ram_crc_from_blocks_in_any_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
