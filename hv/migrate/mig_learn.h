/*
 * Round 0's learning passes (portable, integer only; hv/core/migrate_source.c runs them
 * every MIGRATE_LEARN_NS of round 0 and once at its end, tests/bench/mig_bench.c models
 * them).  Until a region is fitted its faults open the tracking's own groups, so the map a
 * pass gets (every group written since round 0 began) is exact there: a region that shows
 * writes is fitted to them (mig_group_fit) and keeps that size for round 0; one that shows
 * none stays as it is (a region never written costs nothing).  A writer moving through
 * memory crosses into regions not fitted yet: where a fitted region's run reaches its last
 * group (its first, for a writer going down), the next region (the one before), not
 * fitted and never written, is lent the fitted region's size, so the writer goes on at
 * one fault a group there instead of one a page until the next pass; that pass fits the
 * lent region to its map (never wider than the lent size: the map is in lent groups there).
 * Each pass protects again what the guest wrote, so once a pass (after the first) fits
 * and lends nothing new the writes have settled and no further pass is due till round 0's
 * end.  At round 0's end a size lent and never written is taken back.
 */
#ifndef ATOLL_HV_MIGRATE_MIG_LEARN_H
#define ATOLL_HV_MIGRATE_MIG_LEARN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 2 MiB region's group size (the most a fault that continues a run opens). */
struct mig_region_size {
    uint8_t group_pages;
    bool fitted;                        /* by a learning pass */
    bool lent;                          /* a fitted neighbour's size, not fitted yet */
};

struct mig_learn {
    uint32_t passes;
    bool settled;                       /* a pass after the first fitted nothing new */
};

/* Every region at start pages (the tracking's own group, at most MIG_GROUP_MAX_PAGES). */
void mig_learn_init(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                    uint32_t start);
/* One pass over map (group_pages-page groups, group_count of them: every group written in
 * round 0 so far).  set(ctx, region, pages) is called for each region whose size changes;
 * never below group_pages.  Returns how many regions it fitted or lent a size to. */
uint32_t mig_learn_pass(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                        const uint64_t *map, uint64_t group_count, uint32_t group_pages,
                        void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx);
/* Round 0's last pass has run: the sizes lent and never written go back to group_pages
 * (at most MIG_GROUP_MAX_PAGES); no further pass is due. */
void mig_learn_end(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                   uint32_t group_pages,
                   void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx);
/* Whether a pass is due before round 0's end (the caller times them). */
bool mig_learn_due(const struct mig_learn *l);

#endif
