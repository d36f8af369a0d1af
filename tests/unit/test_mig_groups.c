/* Page groups per region: write tracking's per-region fault size (write_track_set_region_pages:
 * opened only to a write that continues a run) and the migration's rule (mig_converge.h)
 * driving it round after round, as hv/core/migrate_source.c does: a sequential writer's
 * regions grow and it takes far fewer faults than with one page per fault, while scattered
 * records, alone or beside it in a region, are sent one page each and never unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/write_track.h"
#include "hv/migrate/mig_converge.h"

#define MIB (1ull << 20)
#define RAM (8 * MIB)                   /* 4 regions, 2048 pages */
#define PAGES (RAM / 4096)

static uint64_t words[PAGES / 64];
static uint8_t shifts[4];
static struct write_track t;
static unsigned protects;

static void protect(void *ctx, uint64_t base, uint64_t len)
{
    (void)ctx;
    (void)base;
    (void)len;
    protects++;
}

static void region_fault_opens_the_region_group(void **state)
{
    assert_true(write_track_init(&t, RAM, 1, words));
    assert_int_equal(write_track_regions(RAM), 4);
    assert_int_equal(write_track_regions(RAM + 4096), 5);
    uint64_t base, len;
    /* no region shifts: one group */
    assert_false(write_track_set_region_pages(&t, 0, 16));
    assert_true(write_track_fault(&t, 0x5123, &base, &len));
    assert_int_equal(base, 0x5000);
    assert_int_equal(len, 4096);
    write_track_use_regions(&t, shifts);
    assert_int_equal(shifts[3], 12);
    /* sizes: powers of two from the group size to 512 pages, regions inside RAM */
    assert_false(write_track_set_region_pages(&t, 4, 16));
    assert_false(write_track_set_region_pages(&t, 0, 24));
    assert_false(write_track_set_region_pages(&t, 0, 1024));
    assert_true(write_track_set_region_pages(&t, 1, 64));
    /* a write with no written neighbour: its own page only */
    const uint64_t r1 = 2 * MIB;
    assert_true(write_track_fault(&t, r1 + 70 * 4096 + 9, &base, &len));
    assert_int_equal(base, r1 + 70 * 4096);
    assert_int_equal(len, 4096);
    /* the next page continues the run: it and the rest of its 64-page group (71..127) */
    assert_true(write_track_fault(&t, r1 + 71 * 4096, &base, &len));
    assert_int_equal(base, r1 + 71 * 4096);
    assert_int_equal(len, (128 - 71) * 4096);
    /* the first page of the next group, its predecessor written: the whole group */
    assert_true(write_track_fault(&t, r1 + 128 * 4096, &base, &len));
    assert_int_equal(base, r1 + 128 * 4096);
    assert_int_equal(len, 64 * 4096);
    /* backwards: page 69, its successor written: the group's part before it, 64..69 */
    assert_true(write_track_fault(&t, r1 + 69 * 4096, &base, &len));
    assert_int_equal(base, r1 + 64 * 4096);
    assert_int_equal(len, 6 * 4096);
    assert_int_equal(t.written_now, 1 + 1 + 57 + 64 + 6);      /* and page 5, before */
    /* a page between two written ones: the whole group (here 256..319 around 300) */
    assert_true(write_track_fault(&t, r1 + 299 * 4096, &base, &len));
    assert_true(write_track_fault(&t, r1 + 301 * 4096, &base, &len));
    assert_true(write_track_fault(&t, r1 + 300 * 4096, &base, &len));
    assert_int_equal(base, r1 + 256 * 4096);
    assert_int_equal(len, 64 * 4096);
    assert_int_equal(t.faults, 8);
    /* a region whose size is the group size: one page, neighbours or not */
    assert_true(write_track_fault(&t, 6 * MIB, &base, &len));
    assert_true(write_track_fault(&t, 6 * MIB + 4096, &base, &len));
    assert_int_equal(len, 4096);
    /* the harvest hands over and protects every page the faults opened, a call per run */
    uint64_t out[PAGES / 64];
    protects = 0;
    assert_int_equal(write_track_harvest(&t, out, protect, NULL), 1 + 128 + 64 + 2);
    assert_int_equal(protects, 4);
    assert_int_equal(out[(512 + 64) / 64], ~0ull);
    assert_int_equal(out[(512 + 128) / 64], ~0ull);
    /* the last page of RAM continuing a run: clipped to RAM */
    assert_true(write_track_set_region_pages(&t, 3, 64));
    assert_true(write_track_fault(&t, RAM - 2 * 4096, &base, &len));
    assert_true(write_track_fault(&t, RAM - 4096, &base, &len));
    assert_int_equal(base, RAM - 4096);
    assert_int_equal(len, 4096);
    /* tracking in groups of 4 pages: a region cannot go below 4; a run of groups of 4 */
    uint64_t w4[PAGES / 4 / 64 + 1];
    assert_true(write_track_init(&t, RAM, 4, w4));
    write_track_use_regions(&t, shifts);
    assert_false(write_track_set_region_pages(&t, 0, 2));
    assert_true(write_track_set_region_pages(&t, 0, 32));
    assert_true(write_track_fault(&t, 36 * 4096, &base, &len));
    assert_int_equal(base, 36 * 4096);
    assert_int_equal(len, 4 * 4096);
    assert_true(write_track_fault(&t, 40 * 4096, &base, &len));
    assert_int_equal(base, 40 * 4096);
    assert_int_equal(len, 24 * 4096);
    assert_int_equal(t.written_now, 7);
}

/* ---- the rule driving tracking, round after round ---------------------------------------- */
struct sim {
    struct write_track t;
    uint64_t words[PAGES / 64];
    uint8_t shifts[4];
    uint8_t ram[PAGES][64];             /* the first bytes of each page: what changes */
    uint64_t sent_hash[PAGES];
    uint32_t group[4];                  /* per region */
    uint64_t faults, sent, unchanged;
};

static bool page_write(struct sim *s, uint64_t pfn, uint8_t v)
{
    s->ram[pfn][0] = v;
    uint64_t g = pfn;                   /* tracking per page */
    if (s->words[g / 64] >> (g % 64) & 1)
        return false;
    uint64_t base, len;
    assert_true(write_track_fault(&s->t, pfn * 4096, &base, &len));
    s->faults++;
    return true;
}

/* Harvest, send (hash what is sent), then each region's next size. */
static void end_round(struct sim *s, bool adapt)
{
    static uint64_t out[PAGES / 64];
    static uint8_t page[4096];
    write_track_harvest(&s->t, out, protect, NULL);
    uint32_t sent[4] = { 0 }, unchanged[4] = { 0 };
    for (uint64_t p = 0; p < PAGES; p++) {
        if (!(out[p / 64] >> (p % 64) & 1))
            continue;
        memset(page, 0, sizeof(page));
        memcpy(page, s->ram[p], sizeof(s->ram[p]));
        bool same = mig_page_sent(&s->sent_hash[p], page);
        sent[p / 512]++;
        unchanged[p / 512] += same;
        s->sent++;
        s->unchanged += same;
    }
    for (unsigned r = 0; adapt && r < 4; r++) {
        struct mig_region_round rr;
        mig_region_scan(out, PAGES, 1, r * 512ull, &rr);
        rr.sent = sent[r];
        rr.unchanged = unchanged[r];
        s->group[r] = mig_group_next(s->group[r], &rr);
        assert_true(write_track_set_region_pages(&s->t, r, s->group[r]));
    }
}

static struct sim *sim_new(uint32_t start)
{
    struct sim *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_true(write_track_init(&s->t, RAM, 1, s->words));
    write_track_use_regions(&s->t, s->shifts);
    for (unsigned r = 0; r < 4; r++) {
        s->group[r] = start;
        assert_true(write_track_set_region_pages(&s->t, r, start));
    }
    return s;
}

static void sequential_writer_grows_and_takes_fewer_faults(void **state)
{
    /* region 0: a 1 MiB buffer written page by page each round; region 2: a record at every
     * 64th page (scattered) */
    struct sim *s = sim_new(16);
    struct sim *one = sim_new(1);
    uint64_t seq_faults_first = 0;
    for (unsigned round = 0; round < 6; round++) {
        uint64_t f0 = s->faults;
        for (uint64_t p = 0; p < 256; p++)
            page_write(s, p, (uint8_t)(round + 1));
        if (round == 0)
            seq_faults_first = s->faults - f0;
        for (uint64_t p = 1024; p < 1536; p += 64)
            page_write(s, p, (uint8_t)(round + 1));
        end_round(s, true);
    }
    /* 256 pages in groups of 16: the first page alone (nothing written before it), the
     * rest of its group, then a fault per group */
    assert_int_equal(seq_faults_first, 17);
    assert_int_equal(s->group[0], 64);                      /* grown to the cap */
    assert_int_equal(s->group[2], 16);                      /* no runs: kept, opening */
    assert_int_equal(s->group[1], 16);                      /* one page a record anyway */
    /* once adapted, a round of the sequential writer: 5 faults for 1 MiB (the first page
     * alone, then 4 groups); one page per fault: 256 */
    uint64_t f0 = s->faults;
    for (uint64_t p = 0; p < 256; p++)
        page_write(s, p, 0x77);
    uint64_t grouped = s->faults - f0;
    f0 = one->faults;
    for (uint64_t p = 0; p < 256; p++)
        page_write(one, p, 0x77);
    uint64_t per_page = one->faults - f0;
    assert_int_equal(grouped, 5);
    assert_int_equal(per_page, 256);
    assert_true(per_page >= 8 * grouped);
    /* the scattered records: one page sent per record, none unchanged */
    uint64_t sent0 = s->sent, unch0 = s->unchanged;
    for (uint64_t p = 1024; p < 1536; p += 64)
        page_write(s, p, 0x99);
    end_round(s, true);
    assert_int_equal(s->sent - sent0, 256 + 8);
    assert_int_equal(s->unchanged - unch0, 0);
    free(s);
    free(one);
}

/* The records guest's layout (make test-net-migrate): one region holds a sequential buffer
 * and one record every 4th page.  Groups that opened around each record sent its unwritten
 * neighbours unchanged (11 % of what was sent after round 0); opened only to runs, the
 * records go one page each while the buffer's group grows. */
static void records_beside_a_buffer(void **state)
{
    struct sim *s = sim_new(1);
    struct sim *one = sim_new(1);
    const uint64_t buf = 512, rec = 768;    /* region 1: 128 buffer pages, 64 records */
    for (unsigned round = 0; round < 6; round++) {
        for (uint64_t p = buf; p < buf + 128; p++)
            page_write(s, p, (uint8_t)(round + 1));
        for (uint64_t i = 0; i < 64; i++)
            page_write(s, rec + 4 * i, (uint8_t)(round + 1));
        end_round(s, round > 0);
    }
    assert_int_equal(s->group[1], 32);      /* a quarter of its one run of 128 pages */
    assert_int_equal(s->unchanged, 0);
    /* a round of it: the buffer's first page alone, the rest of its group, 3 groups */
    uint64_t f0 = s->faults, sent0 = s->sent;
    for (uint64_t p = buf; p < buf + 128; p++)
        page_write(s, p, 0x55);
    uint64_t grouped = s->faults - f0;
    for (uint64_t p = buf; p < buf + 128; p++)
        page_write(one, p, 0x55);
    assert_int_equal(grouped, 5);
    assert_int_equal(one->faults, 128);
    assert_true(one->faults >= 8 * grouped);
    for (uint64_t i = 0; i < 64; i++)
        page_write(s, rec + 4 * i, 0x55);
    end_round(s, true);
    assert_int_equal(s->sent - sent0, 128 + 64);
    assert_int_equal(s->unchanged, 0);
    assert_int_equal(s->group[1], 32);
    /* throttled: the buffer from page 10 to 49 and 16 records.  The run stops inside the
     * group 32..63: pages 50..63 go unchanged (14 of 40 + 14 + 16); too many, so it
     * shrinks: to a quarter of the run seen (pages 10..63: 13, so 8) */
    sent0 = s->sent;
    for (uint64_t p = buf + 10; p < buf + 50; p++)
        page_write(s, p, 0x66);
    for (uint64_t i = 0; i < 16; i++)
        page_write(s, rec + 4 * i, 0x66);
    end_round(s, true);
    assert_int_equal(s->sent - sent0, 40 + 14 + 16);
    assert_int_equal(s->unchanged, 14);
    assert_int_equal(s->group[1], 8);
    free(s);
    free(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(region_fault_opens_the_region_group),
        cmocka_unit_test(records_beside_a_buffer),
        cmocka_unit_test(sequential_writer_grows_and_takes_fewer_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
