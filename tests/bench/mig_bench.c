/*
 * Live migration's two pre-copy claims, host-level, each against its baseline in the same
 * run (issue 13, "Measured"):
 *
 *  1. Page groups: write faults per MiB a sequential writer dirties, with the migration's
 *     per-region groups (write_track_set_region_pages driven as hv/core/migrate_source.c
 *     drives them: per page until one of round 0's learning passes (mig_learn.h, the
 *     source's code) fits a region or lends it a size, then mig_group_next each round)
 *     against per-page protection (one fault per page), same writes.  Two rows: with a
 *     learning pass every eighth of round 0 whatever the passes find, and with round 0 as
 *     the source runs it (a pass every eighth, standing for MIGRATE_LEARN_NS, only while
 *     mig_learn_due: once a pass fits and lends nothing new, none till round 0's end).  A second region holds scattered
 *     one-page records; the note gives the share of pages sent that were unchanged (by the
 *     sender's hash) and the group sizes the regions ended at.  1b: the same on the
 *     records guest's layout (its buffer and records share a region) under a throttle:
 *     the buffer's faults both ways (the note: the share sent unchanged, both ways), with
 *     round 0 modelled both ways too.
 *  2. Compression: effective throughput (guest bytes over encode time plus wire time) of
 *     the per-batch choice among raw, LZ4 with acceleration and LZ4 (mig_choice.h) against
 *     sending raw, always LZ4 with acceleration and always LZ4, on
 *     the same pages encoded as PAGES batches (mig_batch_encode: the real wire format), for
 *     a binary image (the files given: the hypervisor and guest ELFs, repeated) and a
 *     random one, over simulated links of 100 Mbit/s, 1 Gbit/s and 10 Gbit/s (the wire
 *     time is bytes / rate; the encode time is measured, in this thread's CPU time).  Notes: bytes on the wire per
 *     guest byte, how often the choice took each codec.
 *
 * What it does not measure: a real network, TLS, the guest's exits (a fault here is a
 * call, its cost is the count), the target's decode.
 *
 * Prints `NAME OURS ANCHOR RATIO` rows for tools/build/run-benches.
 *   mig-bench [FILE...]
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/core/write_track.h"
#include "hv/migrate/mig_choice.h"
#include "hv/migrate/mig_converge.h"
#include "hv/migrate/mig_learn.h"
#include "hv/migrate/mig_proto.h"
#include "hv/snapshot/snap_codec.h"
#include "tests/bench/bench_cli.h"

#define PAGE 4096u

/* This thread's CPU time: the encode is CPU work, and on a shared host the wall clock
 * charges it with whatever else ran meanwhile. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- 1. page groups ---------------------------------------------------------------------- */
#define G_RAM     (32ull << 20)         /* 16 regions */
#define G_PAGES   (G_RAM / PAGE)
#define G_REGIONS (G_RAM >> 21)
#define SEQ_PAGES 2048u                 /* the sequential writer's buffer: 8 MiB, regions 0-3 */
#define REC_FIRST (8u * 512u)           /* scattered records: region 8, every 64th page */
#define REC_COUNT 8u

struct tracker {
    struct write_track t;
    uint64_t words[G_PAGES / 64];
    uint64_t carry[G_PAGES / 64];       /* the learning passes' map, for round 0's end */
    struct mig_learn learning;
    struct mig_region_size sizes[G_REGIONS];
    uint8_t shifts[G_REGIONS];
    uint64_t faults;
};

/* How round 0's learning passes are modelled: none (per page), one every eighth of round 0
 * whatever they fit, or as the source runs them (every eighth while mig_learn_due, one at
 * round 0's end). */
enum learning { LEARN_NONE, LEARN_EVERY, LEARN_AS_SOURCE };

static void set_region_pages(void *ctx, size_t region, uint32_t pages)
{
    write_track_set_region_pages(ctx, region, pages);
}

static uint8_t g_ram[G_PAGES][PAGE / 64];       /* the first 64 bytes of each page vary */
static uint64_t g_hash[G_PAGES];

static void tracker_init(struct tracker *k, uint32_t start)
{
    memset(k, 0, sizeof(*k));
    write_track_init(&k->t, G_RAM, 1, k->words);
    write_track_use_regions(&k->t, k->shifts);
    mig_learn_init(&k->learning, k->sizes, G_REGIONS, start);
    for (unsigned r = 0; r < G_REGIONS; r++)
        write_track_set_region_pages(&k->t, r, start);
}

static void protect_none(void *ctx, uint64_t base, uint64_t len)
{
    (void)ctx;
    (void)base;
    (void)len;
}

static void guest_write(struct tracker *k, uint64_t pfn, uint32_t v)
{
    memcpy(g_ram[pfn], &v, sizeof(v));
    if (k->words[pfn / 64] >> (pfn % 64) & 1)
        return;                                 /* open: no fault */
    uint64_t base, len;
    write_track_fault(&k->t, pfn * PAGE, &base, &len);
    k->faults++;
}

/* Harvest and "send": hashes what is sent; adapt: each region's next group size. */
static void end_round(struct tracker *k, bool adapt, uint64_t *sent, uint64_t *unchanged)
{
    static uint64_t out[G_PAGES / 64];
    static uint8_t page[PAGE];
    write_track_harvest(&k->t, out, protect_none, NULL);
    for (uint64_t w = 0; w < G_PAGES / 64; w++) {
        out[w] |= k->carry[w];
        k->carry[w] = 0;
    }
    uint32_t rs[G_REGIONS] = { 0 }, ru[G_REGIONS] = { 0 };
    for (uint64_t p = 0; p < G_PAGES; p++) {
        if (!(out[p / 64] >> (p % 64) & 1))
            continue;
        memcpy(page, g_ram[p], sizeof(g_ram[p]));
        bool same = mig_page_sent(&g_hash[p], page);
        rs[p / 512]++;
        ru[p / 512] += same;
        *sent += 1;
        *unchanged += same;
    }
    for (unsigned r = 0; adapt && r < G_REGIONS; r++) {
        struct mig_region_round rr;
        mig_region_scan(out, G_PAGES, 1, (uint64_t)r * 512, &rr);
        rr.sent = rs[r];
        rr.unchanged = ru[r];
        k->sizes[r].group_pages = (uint8_t)mig_group_next(k->sizes[r].group_pages, &rr);
        write_track_set_region_pages(&k->t, r, k->sizes[r].group_pages);
    }
}

static uint32_t value = 1;

/* A learning pass of round 0 (mig_learn.h, as the source's): the map of round 0 so far. */
static void learn(struct tracker *k)
{
    static uint64_t more[G_PAGES / 64];
    write_track_harvest(&k->t, more, protect_none, NULL);
    for (uint64_t w = 0; w < G_PAGES / 64; w++)
        k->carry[w] |= more[w];
    mig_learn_pass(&k->learning, k->sizes, G_REGIONS, k->carry, G_PAGES, 1, set_region_pages,
                   &k->t);
}

/* A learning pass is due at an eighth of round 0 (MIGRATE_LEARN_NS of it) or at its end. */
static bool learn_now(struct mig_learn *l, enum learning how, bool eighth, bool end)
{
    return how == LEARN_EVERY ? eighth || end
         : how == LEARN_AS_SOURCE ? end || (eighth && mig_learn_due(l)) : false;
}

/* The writes of one round: records interleaved with the buffer; learning passes in round
 * 0 as given, `passes` timed ones over the buffer (the writer's speed against
 * MIGRATE_LEARN_NS). */
static void one_round(struct tracker *k, enum learning how, unsigned passes)
{
    for (uint64_t p = 0; p < SEQ_PAGES; p++) {
        guest_write(k, p, value++);
        if (p % (SEQ_PAGES / REC_COUNT) == 0)
            guest_write(k, REC_FIRST + p / (SEQ_PAGES / REC_COUNT) * 64, value++);
        if (learn_now(&k->learning, how, p % (SEQ_PAGES / passes) == SEQ_PAGES / passes - 1,
                      p == SEQ_PAGES - 1))
            learn(k);
        if (how != LEARN_NONE && p == SEQ_PAGES - 1)
            mig_learn_end(&k->learning, k->sizes, G_REGIONS, 1, set_region_pages, &k->t);
    }
}

static void bench_groups(enum learning how, unsigned passes, const char *row, const char *what)
{
    static struct tracker grouped, paged;
    const unsigned rounds = 8;
    uint64_t sent = 0, unchanged = 0, junk = 0, junk2 = 0;
    /* per page: tracking per page, no region sizes */
    tracker_init(&paged, 1);
    memset(g_hash, 0, sizeof(g_hash));
    for (unsigned r = 0; r < rounds; r++) {
        one_round(&paged, LEARN_NONE, passes);
        end_round(&paged, false, &junk, &junk2);
    }
    /* groups: per page until round 0's learning passes fit, then adapting */
    tracker_init(&grouped, 1);
    memset(g_hash, 0, sizeof(g_hash));
    uint64_t faults0 = 0;
    for (unsigned r = 0; r < rounds; r++) {
        one_round(&grouped, r == 0 ? how : LEARN_NONE, passes);
        uint64_t s0 = sent, u0 = unchanged;
        end_round(&grouped, r > 0, &sent, &unchanged);
        if (r == 0) {                           /* round 0: everything is new */
            sent = s0;
            unchanged = u0;
            faults0 = grouped.faults;
        }
    }
    double mib = (double)rounds * (SEQ_PAGES + REC_COUNT) * PAGE / (1 << 20);
    double ours = (double)grouped.faults / mib, anchor = (double)paged.faults / mib;
    printf("%-44s %16.2f %16.2f %8.3f\n", row, ours, anchor, ours / anchor);
    unsigned sizes[7] = { 0 };
    for (unsigned r = 0; r < G_REGIONS; r++)
        sizes[mig_group_index(grouped.sizes[r].group_pages)]++;
    printf(" mig-bench: %s: %u rounds of a sequential writer (8 MiB) and 8 scattered one-page "
           "records: %llu faults with groups (%llu in round 0, %u learning passes), %llu per "
           "page (%.1fx fewer; goal >= 8x); sent "
           "unchanged %.1f%% of %llu pages after round 0 (goal <= 10%%); regions by group size "
           "1:%u 2:%u 4:%u 8:%u 16:%u 32:%u 64:%u (writer's regions %u %u %u %u pages, "
           "records' %u)\n", what,
           rounds, (unsigned long long)grouped.faults, (unsigned long long)faults0,
           grouped.learning.passes, (unsigned long long)paged.faults,
           anchor / ours, sent ? 100.0 * (double)unchanged / (double)sent : 0.0,
           (unsigned long long)sent, sizes[0], sizes[1], sizes[2], sizes[3], sizes[4],
           sizes[5], sizes[6], grouped.sizes[0].group_pages, grouped.sizes[1].group_pages,
           grouped.sizes[2].group_pages, grouped.sizes[3].group_pages,
           grouped.sizes[REC_FIRST / 512].group_pages);
}

/* ---- 1b. the records guest's layout (guest/tests/migrate_records.c, make test-net-migrate) --
 * 16 MiB: a sequential buffer of 128 pages at 2 MiB rewritten 16-byte record after record,
 * one record per 16 KiB over 4 MiB from 3 MiB in a shuffled order (so the buffer's region
 * also holds 64 scattered pages), a hot page at 7 MiB.  Each loop: 64 buffer records, one
 * scattered record, the hot page.  Loops per round follow the throttle of a run of the
 * scenario (0, 0, 50, 87.5, 96.9, 99, 99, 99 %); the buffer's writes are what the fault
 * row counts, both ways. */
#define R_RAM      (16ull << 20)
#define R_PAGES    (R_RAM / PAGE)
#define R_REGIONS  (R_RAM >> 21)
#define R_SEQ      512u                 /* first page of the buffer */
#define R_SEQ_N    128u
#define R_SCAT     768u                 /* every 4th page from here, 256 of them */
#define R_HOT      1792u
#define R_LOOPS    1024u                /* an unthrottled round */

struct rtracker {
    struct write_track t;
    uint64_t words[R_PAGES / 64], carry[R_PAGES / 64];
    struct mig_learn learning;
    struct mig_region_size sizes[R_REGIONS];
    uint8_t shifts[R_REGIONS];
    uint64_t faults, seq_faults, seq_faults0;   /* seq_faults0: in round 0 */
};

static uint8_t r_ram[R_PAGES][PAGE];
static uint64_t r_hash[R_PAGES];

static void rtracker_init(struct rtracker *k)
{
    memset(k, 0, sizeof(*k));
    write_track_init(&k->t, R_RAM, 1, k->words);
    write_track_use_regions(&k->t, k->shifts);
    mig_learn_init(&k->learning, k->sizes, R_REGIONS, 1);
}

static void rwrite(struct rtracker *k, uint64_t pfn, uint32_t off, uint64_t a, uint64_t b)
{
    memcpy(&r_ram[pfn][off], &a, 8);
    memcpy(&r_ram[pfn][off + 8], &b, 8);
    if (k->words[pfn / 64] >> (pfn % 64) & 1)
        return;
    uint64_t base, len;
    write_track_fault(&k->t, pfn * PAGE, &base, &len);
    k->faults++;
    k->seq_faults += pfn >= R_SEQ && pfn < R_SEQ + R_SEQ_N;
}

static void rlearn(struct rtracker *k)          /* as learn */
{
    static uint64_t more[R_PAGES / 64];
    write_track_harvest(&k->t, more, protect_none, NULL);
    for (uint64_t w = 0; w < R_PAGES / 64; w++)
        k->carry[w] |= more[w];
    mig_learn_pass(&k->learning, k->sizes, R_REGIONS, k->carry, R_PAGES, 1, set_region_pages,
                   &k->t);
}

static void rend_round(struct rtracker *k, bool adapt, uint64_t *sent, uint64_t *unchanged)
{
    static uint64_t out[R_PAGES / 64];
    write_track_harvest(&k->t, out, protect_none, NULL);
    for (uint64_t w = 0; w < R_PAGES / 64; w++) {
        out[w] |= k->carry[w];
        k->carry[w] = 0;
    }
    uint32_t rs[R_REGIONS] = { 0 }, ru[R_REGIONS] = { 0 };
    for (uint64_t p = 0; p < R_PAGES; p++) {
        if (!(out[p / 64] >> (p % 64) & 1))
            continue;
        bool same = mig_page_sent(&r_hash[p], r_ram[p]);
        rs[p / 512]++;
        ru[p / 512] += same;
        *sent += 1;
        *unchanged += same;
    }
    for (unsigned r = 0; adapt && r < R_REGIONS; r++) {
        struct mig_region_round rr;
        mig_region_scan(out, R_PAGES, 1, (uint64_t)r * 512, &rr);
        rr.sent = rs[r];
        rr.unchanged = ru[r];
        k->sizes[r].group_pages = (uint8_t)mig_group_next(k->sizes[r].group_pages, &rr);
        write_track_set_region_pages(&k->t, r, k->sizes[r].group_pages);
    }
}

struct rguest {
    uint64_t seq_pos, seq_gen, scat_n, hot_n;
};

static void rloops(struct rtracker *k, struct rguest *g, uint32_t loops, enum learning how)
{
    for (uint32_t i = 0; i < loops; i++) {
        for (int j = 0; j < 64; j++) {
            uint64_t at = g->seq_pos * 16;
            rwrite(k, R_SEQ + at / PAGE, (uint32_t)(at % PAGE), g->seq_gen, g->seq_pos);
            if (++g->seq_pos == R_SEQ_N * PAGE / 16) {
                g->seq_pos = 0;
                g->seq_gen++;
            }
        }
        uint32_t slot = (uint32_t)((g->scat_n % 256) * 97 + 13) % 256;
        rwrite(k, R_SCAT + slot * 4, 0, g->scat_n / 256 + 1, slot);
        g->scat_n++;
        g->hot_n++;
        rwrite(k, R_HOT, 0, g->hot_n, ~g->hot_n);
        if (learn_now(&k->learning, how, i % (R_LOOPS / 8) == R_LOOPS / 8 - 1, i == loops - 1))
            rlearn(k);
        if (how != LEARN_NONE && i == loops - 1)
            mig_learn_end(&k->learning, k->sizes, R_REGIONS, 1, set_region_pages, &k->t);
    }
}

static void bench_records(enum learning how, const char *row, const char *what)
{
    static struct rtracker grouped, paged;
    static const uint16_t share[] = { 0, 0, 500, 875, 969, 990, 990, 990 };  /* per mille */
    const unsigned rounds = sizeof(share) / sizeof(share[0]);
    uint64_t sent = 0, unchanged = 0, psent = 0, punchanged = 0;
    struct rguest gp = { 0, 1, 0, 0 }, gg = { 0, 1, 0, 0 };
    rtracker_init(&paged);
    memset(r_ram, 0, sizeof(r_ram));
    memset(r_hash, 0, sizeof(r_hash));
    for (unsigned r = 0; r < rounds; r++) {
        rloops(&paged, &gp, R_LOOPS * (1000u - share[r]) / 1000u, LEARN_NONE);
        uint64_t s0 = psent, u0 = punchanged;
        rend_round(&paged, false, &psent, &punchanged);
        if (r == 0) {
            psent = s0;
            punchanged = u0;
            paged.seq_faults0 = paged.seq_faults;
        }
    }
    rtracker_init(&grouped);
    memset(r_ram, 0, sizeof(r_ram));
    memset(r_hash, 0, sizeof(r_hash));
    for (unsigned r = 0; r < rounds; r++) {
        rloops(&grouped, &gg, R_LOOPS * (1000u - share[r]) / 1000u,
               r == 0 ? how : LEARN_NONE);
        uint64_t s0 = sent, u0 = unchanged;
        rend_round(&grouped, r > 0, &sent, &unchanged);
        if (r == 0) {
            sent = s0;
            unchanged = u0;
            grouped.seq_faults0 = grouped.seq_faults;
        }
    }
    double mib = (double)gg.seq_gen * R_SEQ_N * PAGE / (1 << 20) +
                 (double)gg.seq_pos * 16 / (1 << 20);
    double ours = (double)grouped.seq_faults / mib, anchor = (double)paged.seq_faults / mib;
    double pct = sent ? 100.0 * (double)unchanged / (double)sent : 0.0;
    printf("%-44s %16.2f %16.2f %8.3f\n", row, ours, anchor, ours / anchor);
    printf(" mig-bench: %s: records guest's layout (%u learning passes), %u throttled rounds: buffer faults %llu with "
           "groups, %llu per page (%.1fx fewer; after round 0, whose learning passes protect "
           "again what they harvest, %llu vs %llu); all faults %llu vs %llu; sent unchanged "
           "%.1f%% of %llu pages after round 0 (goal <= 10%%; per page %.1f%% of %llu); group "
           "sizes by "
           "region %u %u %u %u %u %u %u %u\n", what, grouped.learning.passes, rounds, (unsigned long long)grouped.seq_faults,
           (unsigned long long)paged.seq_faults,
           grouped.seq_faults ? (double)paged.seq_faults / (double)grouped.seq_faults : 0.0,
           (unsigned long long)(grouped.seq_faults - grouped.seq_faults0),
           (unsigned long long)(paged.seq_faults - paged.seq_faults0),
           (unsigned long long)grouped.faults, (unsigned long long)paged.faults, pct,
           (unsigned long long)sent, psent ? 100.0 * (double)punchanged / (double)psent : 0.0,
           (unsigned long long)psent, grouped.sizes[0].group_pages,
           grouped.sizes[1].group_pages, grouped.sizes[2].group_pages,
           grouped.sizes[3].group_pages, grouped.sizes[4].group_pages,
           grouped.sizes[5].group_pages, grouped.sizes[6].group_pages,
           grouped.sizes[7].group_pages);
}

/* ---- 2. compression ------------------------------------------------------------------------ */
#define C_BYTES (16ull << 20)
#define C_PAGES (C_BYTES / PAGE)

enum mode { RAW, ACCEL, LZ4, CHOICE };

struct result {
    uint64_t wire, encode_ns, batches, chose[MIG_CODECS];
    double seconds;
};

static void *codec;
static uint8_t gather[MIG_BATCH_PAGES * PAGE], out[MIG_BATCH_MAX];

static struct result send_image(const uint8_t *img, enum mode m, uint64_t link_bps)
{
    static const enum mig_codec fixed[] = { [RAW] = MIG_RAW, [ACCEL] = MIG_LZ4_ACCEL,
                                            [LZ4] = MIG_LZ4 };
    struct result r = { 0 };
    struct mig_choice c;
    mig_choice_init(&c);
    uint32_t pfn[MIG_BATCH_PAGES];
    double wire_s = 0;
    for (uint64_t p = 0; p < C_PAGES; p += MIG_BATCH_PAGES) {
        for (uint32_t i = 0; i < MIG_BATCH_PAGES; i++)
            pfn[i] = (uint32_t)(p + i);
        enum mig_codec k = m == CHOICE ? mig_choice_next(&c) : fixed[m];
        uint64_t t0 = now_ns();
        memcpy(gather, img + p * PAGE, sizeof(gather));     /* as queue_batch gathers */
        struct mig_batch b;
        size_t len = mig_batch_encode(codec, mig_codec_level(k), pfn, MIG_BATCH_PAGES, gather,
                                      out, &b);
        uint64_t ns = now_ns() - t0;
        uint64_t wire = MIG_HEADER_SIZE + len;
        if (m == CHOICE) {
            if (k != MIG_RAW && b.raw_len)
                mig_choice_codec(&c, k, b.raw_len, b.data_len, ns);
            mig_choice_link(&c, wire, wire * 1000000000ull / link_bps);
        }
        r.encode_ns += ns;
        r.wire += wire;
        r.batches++;
        r.chose[k]++;
        wire_s += (double)wire / (double)link_bps;
    }
    r.seconds = wire_s + (double)r.encode_ns / 1e9;
    return r;
}

static void bench_compression(const char *label, const uint8_t *img)
{
    static const struct { const char *name; uint64_t bps; } links[] = {
        { "100Mb", 12500000ull }, { "1Gb", 125000000ull }, { "10Gb", 1250000000ull },
    };
    for (unsigned l = 0; l < sizeof(links) / sizeof(links[0]); l++) {
        struct result raw = send_image(img, RAW, links[l].bps);
        struct result acc = send_image(img, ACCEL, links[l].bps);
        struct result lz4 = send_image(img, LZ4, links[l].bps);
        struct result ch = send_image(img, CHOICE, links[l].bps);
        double mib = (double)C_BYTES / (1 << 20);
        double t_raw = mib / raw.seconds, t_acc = mib / acc.seconds, t_lz4 = mib / lz4.seconds;
        double t_ch = mib / ch.seconds;
        char name[64];
        snprintf(name, sizeof(name), "mig %s %s choice MiB/s vs raw", label, links[l].name);
        printf("%-44s %12.1f MiB/s %12.1f MiB/s %8.3f\n", name, t_ch, t_raw, t_ch / t_raw);
        snprintf(name, sizeof(name), "mig %s %s choice MiB/s vs lz4-accel", label,
                 links[l].name);
        printf("%-44s %12.1f MiB/s %12.1f MiB/s %8.3f\n", name, t_ch, t_acc, t_ch / t_acc);
        snprintf(name, sizeof(name), "mig %s %s choice MiB/s vs lz4", label, links[l].name);
        printf("%-44s %12.1f MiB/s %12.1f MiB/s %8.3f\n", name, t_ch, t_lz4, t_ch / t_lz4);
        printf(" mig-bench: %s image over %s: wire/RAM raw %.3f, lz4-accel %.3f, lz4 %.3f, "
               "choice %.3f; the choice took raw %llu, lz4-accel %llu, lz4 %llu of %llu "
               "batches; effective MiB/s raw %.1f, lz4-accel %.1f, lz4 %.1f, choice %.1f "
               "(%.2fx raw); codec MiB/s lz4-accel %.0f, lz4 %.0f\n", label, links[l].name,
               (double)raw.wire / C_BYTES, (double)acc.wire / C_BYTES,
               (double)lz4.wire / C_BYTES, (double)ch.wire / C_BYTES,
               (unsigned long long)ch.chose[MIG_RAW], (unsigned long long)ch.chose[MIG_LZ4_ACCEL],
               (unsigned long long)ch.chose[MIG_LZ4], (unsigned long long)ch.batches, t_raw,
               t_acc, t_lz4, t_ch, t_ch / t_raw,
               acc.encode_ns ? mib / ((double)acc.encode_ns / 1e9) : 0.0,
               lz4.encode_ns ? mib / ((double)lz4.encode_ns / 1e9) : 0.0);
    }
}

static uint8_t *binary_image(int argc, char **argv)
{
    uint8_t *img = calloc(1, C_BYTES);
    size_t at = 0;
    for (int round = 0; img && at < C_BYTES && argc > 1; round++) {
        size_t before = at;
        for (int i = 1; i < argc && at < C_BYTES; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f)
                continue;
            size_t n = fread(img + at, 1, C_BYTES - at, f);
            at += n;
            fclose(f);
        }
        if (at == before)
            break;
    }
    if (at < C_BYTES && img) {
        fprintf(stderr, "mig-bench: no binary image (give files)\n");
        free(img);
        return NULL;
    }
    return img;
}

static const char usage[] =
    "usage: mig-bench [FILE...]\n"
    "\n"
    "Live migration's pre-copy claims, host-level, each against its baseline in the same run:\n"
    "write faults per MiB a writer dirties with the migration's per-region page groups\n"
    "against per-page protection (also on the records guest's layout), and the throughput of\n"
    "the per-batch compression choice against raw, always LZ4 with acceleration and always\n"
    "LZ4, over simulated links of 100 Mbit/s, 1 and 10 Gbit/s, for a binary image (16 MiB\n"
    "of the FILEs, read in turn and repeated: make bench gives the hypervisor's and a\n"
    "guest's ELF) and a random one.  Rows: NAME OURS ANCHOR RATIO, and notes.  Without a\n"
    "readable FILE the binary rows are missing and the exit status is 1.\n"
    "\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)         /* FILEs are read later; options end here */
        bench_cli_option("mig-bench", usage, argv[i]);
    codec = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
    uint8_t *rnd = malloc(C_BYTES);
    if (!codec || !rnd)
        return 1;
    bench_groups(LEARN_EVERY, 8, "mig write faults per MiB cost: groups/page",
                 "learning every eighth of round 0");
    bench_groups(LEARN_AS_SOURCE, 8, "mig write faults/MiB cost, round 0 as source",
                 "round 0 as the source runs it");
    bench_groups(LEARN_AS_SOURCE, 2, "mig write faults/MiB cost, 4x faster writer",
                 "round 0 as the source runs it, the writer 4x faster (2 regions a pass)");
    bench_records(LEARN_EVERY, "mig records-guest buffer faults/MiB cost",
                  "learning every eighth of round 0");
    bench_records(LEARN_AS_SOURCE, "mig records buffer faults/MiB cost as source",
                  "round 0 as the source runs it");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < C_BYTES / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(rnd + i * 8, &x, 8);
    }
    uint8_t *bin = binary_image(argc, argv);
    if (bin)
        bench_compression("binary", bin);
    bench_compression("random", rnd);
    printf(" mig-bench: throughput = guest bytes / (measured encode time + wire bytes / link "
           "rate), one CPU doing both, as mig_choice.h models it; 16 MiB per image\n");
    free(bin);
    free(rnd);
    free(codec);
    return bin ? 0 : 1;
}
