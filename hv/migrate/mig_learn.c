#include "hv/migrate/mig_learn.h"

#include "hv/migrate/mig_converge.h"

void mig_learn_init(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                    uint32_t start)
{
    if (start > MIG_GROUP_MAX_PAGES)
        start = MIG_GROUP_MAX_PAGES;
    l->passes = 0;
    l->settled = false;
    for (size_t i = 0; i < count; i++)
        sizes[i] = (struct mig_region_size){ .group_pages = (uint8_t)start };
}

static void resize(struct mig_region_size *s, size_t region, uint32_t pages,
                   void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx)
{
    if (pages != s->group_pages && set)
        set(ctx, region, pages);
    s->group_pages = (uint8_t)pages;
}

static bool bit(const uint64_t *w, uint64_t g)
{
    return w[g / 64] >> (g % 64) & 1;
}

/* The region's first (last: at_end) two groups written: a run reaching that edge. */
static bool run_at_edge(const uint64_t *map, uint64_t group_count, uint32_t group_pages,
                        size_t region, bool at_end)
{
    uint64_t per = MIG_REGION_PAGES / group_pages;
    uint64_t g0 = region * per, g1 = g0 + per;
    if (g1 > group_count)
        g1 = group_count;
    if (g1 < g0 + 2)
        return false;
    uint64_t g = at_end ? g1 - 2 : g0;
    return bit(map, g) && bit(map, g + 1);
}

/* A neighbour not fitted, never written and narrower gets the fitted region's size, for the
 * run on its way to it. */
static uint32_t lend(struct mig_region_size *sizes, size_t count, size_t from, size_t to,
                     void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx)
{
    if (to >= count || sizes[to].fitted || sizes[to].lent ||
        sizes[to].group_pages >= sizes[from].group_pages)
        return 0;
    resize(&sizes[to], to, sizes[from].group_pages, set, ctx);
    sizes[to].lent = true;
    return 1;
}

uint32_t mig_learn_pass(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                        const uint64_t *map, uint64_t group_count, uint32_t group_pages,
                        void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx)
{
    uint32_t news = 0;
    for (size_t i = 0; i < count; i++) {
        struct mig_region_size *s = &sizes[i];
        if (s->fitted)
            continue;
        uint32_t fit = mig_group_fit(map, group_count, group_pages, i * MIG_REGION_PAGES);
        if (!fit)
            continue;
        if (fit < group_pages)
            fit = group_pages;
        if (s->lent && fit > s->group_pages)    /* its map is in the lent groups */
            fit = s->group_pages;
        resize(s, i, fit, set, ctx);
        s->fitted = true;
        s->lent = false;
        news++;
    }
    for (size_t i = 0; i < count; i++) {
        if (!sizes[i].fitted || sizes[i].group_pages <= group_pages)
            continue;
        if (run_at_edge(map, group_count, group_pages, i, true))
            news += lend(sizes, count, i, i + 1, set, ctx);
        if (i > 0 && run_at_edge(map, group_count, group_pages, i, false))
            news += lend(sizes, count, i, i - 1, set, ctx);
    }
    if (l->passes++ && !news)
        l->settled = true;
    return news;
}

void mig_learn_end(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                   uint32_t group_pages,
                   void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx)
{
    l->settled = true;
    for (size_t i = 0; i < count; i++) {
        if (!sizes[i].lent)
            continue;
        resize(&sizes[i], i, group_pages < MIG_GROUP_MAX_PAGES ? group_pages
                                                               : MIG_GROUP_MAX_PAGES, set, ctx);
        sizes[i].lent = false;
    }
}

bool mig_learn_due(const struct mig_learn *l)
{
    return !l->settled;
}
