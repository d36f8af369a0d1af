/* Page groups per region: write tracking's per-region fault size (write_track_set_region_pages)
 * and the migration's rule (mig_converge.h) driving it round after round, as
 * hv/core/migrate_source.c does: a sequential writer's regions grow, a scattered writer's
 * shrink, and a sequential writer takes far fewer faults than with one page per fault. */
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
    assert_true(write_track_fault(&t, 2 * MIB + 70 * 4096 + 9, &base, &len));
    assert_int_equal(base, 2 * MIB + 64 * 4096);            /* aligned to 64 pages */
    assert_int_equal(len, 64 * 4096);
    assert_int_equal(t.written_now, 1 + 64);                /* every page of it marked */
    assert_int_equal(t.faults, 2);
    /* a region whose size is the group size: one page, as before */
    assert_true(write_track_fault(&t, 6 * MIB, &base, &len));
    assert_int_equal(len, 4096);
    /* the harvest hands over and protects every page the fault opened, in one run */
    uint64_t out[PAGES / 64];
    protects = 0;
    assert_int_equal(write_track_harvest(&t, out, protect, NULL), 66);
    assert_int_equal(protects, 3);
    assert_int_equal(out[(512 + 64) / 64], ~0ull);
    /* tracking in groups of 4 pages: a region cannot go below 4 */
    uint64_t w4[PAGES / 4 / 64 + 1];
    assert_true(write_track_init(&t, RAM, 4, w4));
    write_track_use_regions(&t, shifts);
    assert_false(write_track_set_region_pages(&t, 0, 2));
    assert_true(write_track_set_region_pages(&t, 0, 32));
    assert_true(write_track_fault(&t, 40 * 4096, &base, &len));
    assert_int_equal(base, 32 * 4096);
    assert_int_equal(t.written_now, 8);
}

/* A scattered writer's faults, each opening 16 pages, are runs in the page bitmap: seen at
 * one page they look like neighbours (a sequential writer); at the region's size they do not. */
static void region_scan_at_the_region_size(void **state)
{
    static uint64_t w[PAGES / 64];
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < 8; i++)                        /* 16 pages at every 64th */
        w[i] = 0xffffull;
    struct mig_region_round r;
    mig_region_scan(w, PAGES, 1, 0, &r);
    assert_int_equal(r.written, 128);
    assert_int_equal(r.neighbours, 120);
    mig_region_scan_at(w, PAGES, 1, 16, 0, &r);
    assert_int_equal(r.written, 8);
    assert_int_equal(r.neighbours, 0);
    /* a sequential run of 8 groups of 16 pages */
    memset(w, 0, sizeof(w));
    w[0] = w[1] = ~0ull;
    mig_region_scan_at(w, PAGES, 1, 16, 0, &r);
    assert_int_equal(r.written, 8);
    assert_int_equal(r.neighbours, 7);
    /* coarser than nothing: as mig_region_scan */
    mig_region_scan_at(w, PAGES, 4, 2, 0, &r);
    struct mig_region_round plain;
    mig_region_scan(w, PAGES / 4, 4, 0, &plain);
    assert_int_equal(r.written, plain.written);
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
        mig_region_scan_at(out, PAGES, 1, s->group[r], r * 512ull, &rr);
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
    assert_int_equal(seq_faults_first, 16);                 /* 256 pages in groups of 16 */
    assert_int_equal(s->group[0], 64);                      /* grown to the cap */
    assert_int_equal(s->group[2], 1);                       /* shrunk to a page */
    assert_int_equal(s->group[1], 16);                      /* untouched: kept */
    /* once adapted, a round of the sequential writer: 4 faults for 1 MiB; one page per
     * fault: 256 */
    uint64_t f0 = s->faults;
    for (uint64_t p = 0; p < 256; p++)
        page_write(s, p, 0x77);
    uint64_t grouped = s->faults - f0;
    f0 = one->faults;
    for (uint64_t p = 0; p < 256; p++)
        page_write(one, p, 0x77);
    uint64_t per_page = one->faults - f0;
    assert_int_equal(grouped, 4);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(region_fault_opens_the_region_group),
        cmocka_unit_test(region_scan_at_the_region_size),
        cmocka_unit_test(sequential_writer_grows_and_takes_fewer_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
