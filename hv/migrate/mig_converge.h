/*
 * What makes pre-copy converge, decided per round from what the last round measured
 * (portable, integer only; hv/core/migrate_source.c applies the decisions):
 *  - the throttle: when the guest dirties pages faster than the link sends them, its vCPUs
 *    are given a smaller share of their CPU (a duty cycle, hv/core/sched.h), one or two
 *    steps per round, capped; off again when the migration ends, however it ends;
 *  - a 64-bit hash of each page as last sent, to count the pages sent again unchanged;
 *  - a page-group size per 2 MiB region, the most a write that continues a run opens:
 *    doubled where long runs are written (a sequential writer), shrunk where more than
 *    1/16 of the pages sent as dirty were unchanged (runs stopping short of their groups'
 *    ends), from 1 to 64 pages.
 */
#ifndef ATOLL_HV_MIGRATE_MIG_CONVERGE_H
#define ATOLL_HV_MIGRATE_MIG_CONVERGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- throttle ---- */
#define MIG_THROTTLE_LEVELS 8u          /* level 0 (off) .. 7 (the cap) */
/* Share of the CPU taken from the vCPUs at a level, per mille: 0, 250, 500, 750, 875, 938,
 * 969, 990 (level 7 and above: 990). */
uint32_t mig_throttle_permille(uint32_t level);
/* The level for the next round, from the pages the guest dirtied during the round and the
 * pages the link sent in it (same time, so their ratio is the dirty rate over the link
 * rate): up two levels when the guest dirtied at least as much as was sent, one when it
 * dirtied at least half of it, unchanged below that; never above the cap. */
uint32_t mig_throttle_next(uint32_t level, uint64_t dirty_pages, uint64_t sent_pages);

/* ---- pages sent unchanged ---- */
/* A 64-bit hash of a 4 KiB page: for each 8-byte word w, h = rotl(h ^ w, 29) * K (K the
 * 64-bit golden-ratio constant), then a final avalanche (the murmur3 fmix64); never 0,
 * so 0 can mean "never sent".  Not cryptographic: used to count, never to skip a page. */
uint64_t mig_page_hash(const void *page);
/* The page is being sent: true when it equals what was last sent for it (by hash); the
 * slot then holds the new hash. */
bool mig_page_sent(uint64_t *slot, const void *page);

/* ---- group sizes per region ---- */
#define MIG_REGION_PAGES    512u        /* 2 MiB */
#define MIG_GROUP_MIN_PAGES 1u
#define MIG_GROUP_MAX_PAGES 64u

/* What one region saw in a round. */
struct mig_region_round {
    uint32_t runs;                      /* runs of two or more written tracking groups: a
                                         * writer moving through memory */
    uint32_t run_pages;                 /* pages in those runs */
    uint32_t sent, unchanged;           /* pages sent as dirty, of them unchanged */
};

/* The region's group size for the next round (1 .. 64 pages, a power of two).  Write
 * tracking opens a region's group only to a write that continues a run
 * (write_track_fault), so what a group too wide costs is the pages past where a run
 * stopped, sent unchanged:
 *  - more than 1/16 of the pages sent unchanged: cut to the share of the group that
 *    changed (group x changed / sent, down to a power of two), at most half;
 *  - doubled only on sequential evidence: runs written, and at most 1/32 of the pages
 *    sent unchanged (doubling about doubles the pages past the runs' ends: twice that
 *    still does not shrink it);
 *  - never above a quarter of the runs' average length (down to a power of two), so that
 *    wherever a run stops, little of what it opened goes unwritten; regions with no run
 *    have no such limit (their writes open one group each);
 *  - otherwise kept. */
uint32_t mig_group_next(uint32_t group_pages, const struct mig_region_round *r);
/* The widest group (a power of two, group_pages .. MIG_GROUP_MAX_PAGES) that the runs
 * written in a bitmap of group_pages-page groups fill in the region starting at page
 * first: at most 1/8 of the pages of the groups they touch unwritten.  Written groups with
 * no written neighbour are left out (a fault opens no more than its own group for them);
 * only such: group_pages.  0 when nothing in the region was written.  For a map taken
 * with the region's faults opening single tracking groups (its learning pass), where
 * every bit is a real write. */
uint32_t mig_group_fit(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                       uint64_t first);
/* Fills r's runs from a round's written-group bitmap (group_pages each) for the region
 * starting at page first (a multiple of MIG_REGION_PAGES); sent and unchanged are left to
 * the caller. */
void mig_region_scan(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                     uint64_t first, struct mig_region_round *r);
/* Index (0 for 1 page .. 6 for 64 pages) of a power-of-two group size, for histograms. */
unsigned mig_group_index(uint32_t group_pages);

#endif
