/* The "after" mode's unit map (hv/storage/storage_mig_remote.c): reads and partial writes
 * wait for absent units, whole-unit writes make them present, a fetch that arrives after
 * such a write is dropped, the link's loss puts outstanding READs back; and a random
 * workload against a model: the local copy always reads as the disk the guest wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/storage_mig_proto.h"
#include "hv/storage/storage_mig_remote.h"

#define MIB (1u << 20)

static void test_map(void **state)
{
    (void)state;
    struct smig_remote r;
    uint8_t map[8];
    uint64_t disk = 4 * MIB + MIB / 2;          /* 5 units, the last one short */
    assert_int_equal(smig_remote_map_bytes(disk), 5);
    assert_int_equal(smig_remote_init(&r, disk, map, 4), -1);
    assert_int_equal(smig_remote_init(&r, 0, map, sizeof(map)), -1);
    assert_int_equal(smig_remote_init(&r, disk, map, sizeof(map)), 0);
    assert_false(smig_remote_complete(&r));
    /* a read waits for its unit; one READ goes out for it */
    assert_int_equal(smig_remote_read_needs(&r, 512, 512), 0);
    assert_true(smig_remote_request(&r, 0));
    assert_false(smig_remote_request(&r, 0));
    assert_int_equal(r.fetching, 1);
    /* the background pull skips what is out */
    assert_int_equal(smig_remote_next_pull(&r), 1);
    assert_true(smig_remote_arrived(&r, 0));
    assert_int_equal(smig_remote_read_needs(&r, 512, 512), -1);
    assert_int_equal(smig_remote_read_needs(&r, MIB - 512, 1024), 1);     /* spans 0 and 1 */
    /* a partial write of an absent unit needs its other bytes first; a whole one does not */
    assert_int_equal(smig_remote_write_needs(&r, 2 * MIB + 512, 4096), 2);
    assert_int_equal(smig_remote_write_needs(&r, 2 * MIB, MIB), -1);
    assert_int_equal(smig_remote_write_needs(&r, 2 * MIB, MIB + 512), 3);
    /* units 3 and 4 (the short last one) written whole in one write */
    assert_int_equal(smig_remote_write_needs(&r, 3 * MIB, MIB + MIB / 2), -1);
    smig_remote_written(&r, 3 * MIB, MIB + MIB / 2);
    assert_int_equal(smig_remote_read_needs(&r, 3 * MIB, MIB + MIB / 2), -1);
    /* unit 2 pulled, then written whole here before the fetch arrives: the fetch is dropped */
    assert_int_equal(smig_remote_next_pull(&r), 2);
    smig_remote_written(&r, 2 * MIB, MIB);
    assert_false(smig_remote_arrived(&r, 2));
    assert_int_equal(r.dropped, 1);
    assert_int_equal(smig_remote_next_pull(&r), -1);     /* 1 is out, the rest present */
    /* the link is lost: unit 1's READ will not be answered, and is asked for again */
    smig_remote_link_lost(&r);
    assert_int_equal(r.fetching, 0);
    assert_int_equal(smig_remote_next_pull(&r), 1);
    assert_true(smig_remote_arrived(&r, 1));
    assert_true(smig_remote_complete(&r));
    /* out of range: nothing */
    assert_int_equal(smig_remote_read_needs(&r, disk, 512), -1);
    assert_false(smig_remote_request(&r, 5));
    assert_false(smig_remote_arrived(&r, 9));
}

/* A guest on the target does random reads and writes while units arrive from the source
 * in the background, out of order and late; the source's copy S never changes (the machine
 * runs here).  The truth T is what the guest wrote over S; the local copy L must read as T
 * wherever the map lets a read go on, and equal T once every unit is present. */
#define UNITS 6
#define DISK ((uint64_t)UNITS * SMIG_UNIT - 3 * 512)
static uint8_t S[UNITS * SMIG_UNIT], T[UNITS * SMIG_UNIT], L[UNITS * SMIG_UNIT];

static uint64_t unit_len(uint32_t u)
{
    uint64_t end = ((uint64_t)u + 1) * SMIG_UNIT;
    return (end < DISK ? end : DISK) - (uint64_t)u * SMIG_UNIT;
}

static void fetch_now(struct smig_remote *r, uint32_t u)
{
    smig_remote_request(r, u);
    if (smig_remote_arrived(r, u))
        memcpy(L + (uint64_t)u * SMIG_UNIT, S + (uint64_t)u * SMIG_UNIT, unit_len(u));
}

static void test_model(void **state)
{
    (void)state;
    srand(7);
    for (size_t i = 0; i < sizeof(S); i++)
        S[i] = (uint8_t)rand();
    memcpy(T, S, sizeof(S));
    memset(L, 0xee, sizeof(L));
    struct smig_remote r;
    uint8_t map[UNITS];
    assert_int_equal(smig_remote_init(&r, DISK, map, sizeof(map)), 0);
    int64_t out[UNITS];                     /* pulled, arriving later */
    unsigned nout = 0;
    for (int step = 0; step < 4000; step++) {
        int what = rand() % 8;
        uint64_t off = (uint64_t)(rand() % (int)(DISK / 512)) * 512;
        uint64_t max = DISK - off < 2 * SMIG_UNIT ? DISK - off : 2 * SMIG_UNIT;
        uint64_t len = (rand() % 4 == 0 ? (uint64_t)SMIG_UNIT : (uint64_t)(1 + rand() % 64) * 512);
        len = len < max ? len : max;
        if (what == 0 && nout < UNITS) {
            int64_t u = smig_remote_next_pull(&r);
            if (u >= 0)
                out[nout++] = u;
        } else if (what == 1 && nout) {    /* a pulled unit arrives, any of them */
            unsigned k = (unsigned)rand() % nout;
            uint32_t u = (uint32_t)out[k];
            out[k] = out[--nout];
            if (smig_remote_arrived(&r, u))
                memcpy(L + (uint64_t)u * SMIG_UNIT, S + (uint64_t)u * SMIG_UNIT, unit_len(u));
        } else if (what < 5) {              /* a guest write */
            int64_t u;
            while ((u = smig_remote_write_needs(&r, off, len)) >= 0)
                fetch_now(&r, (uint32_t)u);
            for (uint64_t i = 0; i < len; i++)
                T[off + i] = L[off + i] = (uint8_t)rand();
            smig_remote_written(&r, off, len);
        } else {                            /* a guest read */
            int64_t u;
            while ((u = smig_remote_read_needs(&r, off, len)) >= 0)
                fetch_now(&r, (uint32_t)u);
            assert_memory_equal(L + off, T + off, len);
        }
    }
    while (nout) {                          /* late arrivals */
        uint32_t u = (uint32_t)out[--nout];
        if (smig_remote_arrived(&r, u))
            memcpy(L + (uint64_t)u * SMIG_UNIT, S + (uint64_t)u * SMIG_UNIT, unit_len(u));
    }
    int64_t u;
    while ((u = smig_remote_next_pull(&r)) >= 0)
        if (smig_remote_arrived(&r, (uint32_t)u))
            memcpy(L + (uint64_t)u * SMIG_UNIT, S + (uint64_t)u * SMIG_UNIT, unit_len(u));
    assert_true(smig_remote_complete(&r));
    assert_memory_equal(L, T, DISK);
}

/* The around mode's hand-over: the units named current become present; a unit already
 * present or being fetched stays as it is; the pull skips the present ones. */
static void test_preset(void **state)
{
    (void)state;
    struct smig_remote r;
    uint8_t map[16];
    uint64_t disk = 10ull * SMIG_UNIT + 512;                 /* 11 units, the last short */
    assert_int_equal(smig_remote_init(&r, disk, map, sizeof(map)), 0);
    assert_true(smig_remote_request(&r, 1));                 /* FETCHING: not touched */
    uint8_t current[2] = { 0x0b, 0x04 };                     /* units 0, 1, 3 and 10 */
    assert_int_equal(smig_remote_preset(&r, current), 3);
    assert_int_equal(r.present, 3);
    assert_int_equal(r.state[1], SMIG_UNIT_FETCHING);
    assert_int_equal(smig_remote_read_needs(&r, 0, 512), -1);
    assert_int_equal(smig_remote_read_needs(&r, 3 * SMIG_UNIT, 4096), -1);
    assert_int_equal(smig_remote_read_needs(&r, 10 * SMIG_UNIT, 512), -1);
    assert_int_equal(smig_remote_read_needs(&r, 2 * SMIG_UNIT, 512), 2);
    assert_int_equal(smig_remote_next_pull(&r), 2);
    assert_int_equal(smig_remote_next_pull(&r), 4);
    assert_int_equal(smig_remote_preset(&r, current), 0);    /* again: nothing new */
    uint8_t all[2] = { 0xff, 0x07 };
    assert_true(smig_remote_arrived(&r, 1));
    assert_true(smig_remote_arrived(&r, 2));
    assert_true(smig_remote_arrived(&r, 4));
    assert_int_equal(smig_remote_preset(&r, all), 5);        /* 5..9 */
    assert_true(smig_remote_complete(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map), cmocka_unit_test(test_model),
        cmocka_unit_test(test_preset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
