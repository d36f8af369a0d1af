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

uint32_t mig_group_next(uint32_t group_pages, const struct mig_region_round *r)
{
    if (group_pages < MIG_GROUP_MIN_PAGES)
        group_pages = MIG_GROUP_MIN_PAGES;
    if (group_pages > MIG_GROUP_MAX_PAGES)
        group_pages = MIG_GROUP_MAX_PAGES;
    if (r->sent && (uint64_t)r->unchanged * 2 >= r->sent) {
        uint64_t changed = r->sent > r->unchanged ? r->sent - r->unchanged : 0;
        uint64_t want = (uint64_t)group_pages * changed / r->sent;
        uint32_t next = MIG_GROUP_MIN_PAGES;
        while ((uint64_t)next * 2 <= want && next * 2 <= group_pages / 2)
            next *= 2;
        return next;
    }
    if (r->written >= 2 && (uint64_t)r->neighbours * 2 >= r->written)
        return group_pages < MIG_GROUP_MAX_PAGES ? group_pages * 2 : group_pages;
    return group_pages;
}

void mig_region_scan(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                     uint64_t first, struct mig_region_round *r)
{
    r->written = r->neighbours = 0;
    if (!group_pages)
        return;
    uint64_t g0 = first / group_pages, g1 = (first + MIG_REGION_PAGES) / group_pages;
    if (g1 == g0)
        g1 = g0 + 1;                    /* groups wider than a region: the one holding it */
    if (g1 > group_count)
        g1 = group_count;
    bool prev = false;
    for (uint64_t g = g0; g < g1; g++) {
        bool w = written[g / 64] >> (g % 64) & 1;
        r->written += w;
        r->neighbours += w && prev;
        prev = w;
    }
}

void mig_region_scan_at(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                        uint32_t scan_pages, uint64_t first, struct mig_region_round *r)
{
    if (scan_pages <= group_pages || scan_pages % group_pages || scan_pages > MIG_REGION_PAGES) {
        mig_region_scan(written, group_count, group_pages, first, r);
        return;
    }
    r->written = r->neighbours = 0;
    uint32_t k = scan_pages / group_pages;
    uint64_t g0 = first / group_pages, g1 = (first + MIG_REGION_PAGES) / group_pages;
    if (g1 > group_count)
        g1 = group_count;
    bool prev = false;
    for (uint64_t c = g0; c < g1; c += k) {
        bool w = false;
        for (uint64_t g = c; g < c + k && g < g1 && !w; g++)
            w = written[g / 64] >> (g % 64) & 1;
        r->written += w;
        r->neighbours += w && prev;
        prev = w;
    }
}

static bool bit(const uint64_t *w, uint64_t g)
{
    return w[g / 64] >> (g % 64) & 1;
}

uint32_t mig_group_fit(const uint64_t *written, uint64_t group_count, uint32_t group_pages,
                       uint64_t first)
{
    if (!group_pages || group_pages > MIG_GROUP_MAX_PAGES)
        return 0;
    uint64_t g0 = first / group_pages, g1 = (first + MIG_REGION_PAGES) / group_pages;
    if (g1 > group_count)
        g1 = group_count;
    uint64_t w = 0;
    for (uint64_t g = g0; g < g1; g++)
        w += bit(written, g);
    if (!w)
        return 0;
    for (uint32_t size = MIG_GROUP_MAX_PAGES; size > group_pages; size /= 2) {
        uint32_t k = size / group_pages;
        uint64_t touched = 0;
        for (uint64_t c = g0; c < g1; c += k) {
            bool any = false;
            for (uint64_t g = c; g < c + k && g < g1 && !any; g++)
                any = bit(written, g);
            touched += any;
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
