#include "hv/migrate/mig_converge.h"

static const uint16_t throttle_permille[MIG_THROTTLE_LEVELS] = { 0, 250, 500, 750, 875, 938,
                                                                 969, 990 };

uint32_t mig_throttle_permille(uint32_t level)
{
    return throttle_permille[level < MIG_THROTTLE_LEVELS ? level : MIG_THROTTLE_LEVELS - 1];
}

uint32_t mig_throttle_next(uint32_t level, uint64_t dirty_pages, uint64_t sent_pages)
{
    uint32_t step = dirty_pages >= sent_pages ? 2 : dirty_pages * 2 >= sent_pages ? 1 : 0;
    if (!dirty_pages)
        step = 0;
    level += step;
    return level < MIG_THROTTLE_LEVELS ? level : MIG_THROTTLE_LEVELS - 1;
}

#define HASH_K 0x9e3779b97f4a7c15ull

uint64_t mig_page_hash(const void *page)
{
    const uint64_t *w = page;
    uint64_t h = 0x243f6a8885a308d3ull;
    for (unsigned i = 0; i < 4096 / 8; i++) {
        h ^= w[i];
        h = (h << 29 | h >> 35) * HASH_K;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h ? h : 1;
}

bool mig_page_sent(uint64_t *slot, const void *page)
{
    uint64_t h = mig_page_hash(page);
    bool same = *slot == h;
    *slot = h;
    return same;
}

/* Shrink above 1/16 of the pages sent unchanged; grow only at 1/32 or less (doubling the
 * group about doubles the pages past the runs' ends). */
#define SHRINK_ABOVE 16u
#define GROW_AT_MOST 32u
/* A group at most 1/4 of the runs' average length: a run stopping anywhere leaves at most
 * about 1/8 of what it opened unwritten. */
#define RUN_GROUPS   4u

static uint32_t pow2_at_most(uint64_t v, uint32_t cap)
{
    uint32_t p = MIG_GROUP_MIN_PAGES;
    while ((uint64_t)p * 2 <= v && p * 2 <= cap)
        p *= 2;
    return p;
}

uint32_t mig_group_next(uint32_t group_pages, const struct mig_region_round *r)
{
    if (group_pages < MIG_GROUP_MIN_PAGES)
        group_pages = MIG_GROUP_MIN_PAGES;
    if (group_pages > MIG_GROUP_MAX_PAGES)
        group_pages = MIG_GROUP_MAX_PAGES;
    uint64_t sent = r->sent, unchanged = r->unchanged < r->sent ? r->unchanged : r->sent;
    /* the widest group the runs carry (none written: no limit from them) */
    uint32_t runs_carry = r->runs ? pow2_at_most(r->run_pages / ((uint64_t)r->runs * RUN_GROUPS),
                                                 MIG_GROUP_MAX_PAGES)
                                  : MIG_GROUP_MAX_PAGES;
    uint32_t next = group_pages;
    if (unchanged * SHRINK_ABOVE > sent)
        next = pow2_at_most((uint64_t)group_pages * (sent - unchanged) / sent, group_pages / 2);
    else if (r->runs && runs_carry >= group_pages * 2 && unchanged * GROW_AT_MOST <= sent)
        next = group_pages * 2;
    return next < runs_carry ? next : runs_carry;
}

static bool bit(const uint64_t *w, uint64_t g)
{
    return w[g / 64] >> (g % 64) & 1;
}

void mig_region_scan(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                     uint64_t first, struct mig_region_round *r)
{
    r->runs = r->run_pages = 0;
    if (!group_pages)
        return;
    uint64_t g0 = first / group_pages, g1 = (first + MIG_REGION_PAGES) / group_pages;
    if (g1 > group_count)
        g1 = group_count;
    uint64_t run = 0;
    for (uint64_t g = g0; g <= g1; g++) {
        if (g < g1 && bit(written, g)) {
            run++;
            continue;
        }
        if (run >= 2) {
            r->runs++;
            r->run_pages += (uint32_t)(run * group_pages);
        }
        run = 0;
    }
}

/* Group g is written and so is a neighbour within [g0, g1): part of a run. */
static bool in_run(const uint64_t *w, uint64_t g, uint64_t g0, uint64_t g1)
{
    return bit(w, g) && ((g > g0 && bit(w, g - 1)) || (g + 1 < g1 && bit(w, g + 1)));
}

uint32_t mig_group_fit(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                       uint64_t first)
{
    if (!group_pages || group_pages > MIG_GROUP_MAX_PAGES)
        return 0;
    uint64_t g0 = first / group_pages, g1 = (first + MIG_REGION_PAGES) / group_pages;
    if (g1 > group_count)
        g1 = group_count;
    uint64_t any = 0, w = 0;
    for (uint64_t g = g0; g < g1; g++) {
        any += bit(written, g);
        w += in_run(written, g, g0, g1);
    }
    if (!any)
        return 0;
    if (!w)                             /* isolated writes only: no group opens for them */
        return group_pages;
    for (uint32_t size = MIG_GROUP_MAX_PAGES; size > group_pages; size /= 2) {
        uint32_t k = size / group_pages;
        uint64_t touched = 0;
        for (uint64_t c = g0; c < g1; c += k) {
            bool hit = false;
            for (uint64_t g = c; g < c + k && g < g1 && !hit; g++)
                hit = in_run(written, g, g0, g1);
            touched += hit;
        }
        if ((touched * k - w) * 8 <= touched * k)
            return size;
    }
    return group_pages;
}

unsigned mig_group_index(uint32_t group_pages)
{
    unsigned i = 0;
    while (i < 6 && (1u << i) < group_pages)
        i++;
    return i;
}
