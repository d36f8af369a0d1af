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

uint32_t mig_learn_pass(struct mig_learn *l, struct mig_region_size *sizes, size_t count,
                        const uint64_t *map, uint64_t group_count, uint32_t group_pages,
                        void (*set)(void *ctx, size_t region, uint32_t pages), void *ctx)
{
    uint32_t fitted = 0;
    for (size_t i = 0; i < count; i++) {
        struct mig_region_size *s = &sizes[i];
        if (s->fitted)
            continue;
        uint32_t fit = mig_group_fit(map, group_count, group_pages, i * MIG_REGION_PAGES);
        if (!fit)
            continue;
        resize(s, i, fit < group_pages ? group_pages : fit, set, ctx);
        s->fitted = true;
        fitted++;
    }
    if (l->passes++ && !fitted)
        l->settled = true;
    return fitted;
}

bool mig_learn_due(const struct mig_learn *l)
{
    return !l->settled;
}
