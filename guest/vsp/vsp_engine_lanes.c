/* The CPU engine's large operations shared across the VSP's CPUs, a band of rows each. */
#include "guest/vsp/vsp_engine_lanes.h"

#include <stddef.h>

static const struct vsp_lanes *lanes;

void vsp_cpu_engine_set_lanes(const struct vsp_lanes *l)
{
    lanes = l && l->count > 1 && l->run ? l : NULL;
}

enum band_op { BAND_FILL, BAND_BLIT, BAND_DRAW };

struct bands {
    enum band_op op;
    const struct vsp_engine_ops *one;
    unsigned count;
    uint32_t h;                         /* rows to share */
    const struct vsp_surface *dst, *src;
    struct vgpu_rect r;                 /* fill: the rect; blit: the source rect */
    uint32_t argb, dx, dy;
    const struct vsp_draw *d;
    int64_t used[VSP_LANES_MAX];
};

/* No band is cut: each gets more than its worst cost and reports what it used. */
#define BAND_BUDGET (INT64_MAX / 2)

static void run_band(void *arg, unsigned lane)
{
    struct bands *b = arg;
    if (lane >= b->count)
        return;
    uint32_t first = (uint32_t)((uint64_t)b->h * lane / b->count);
    uint32_t rows = (uint32_t)((uint64_t)b->h * (lane + 1) / b->count) - first;
    int64_t budget = BAND_BUDGET;
    struct vsp_pos pos = { 0, 0 };
    if (rows) {
        struct vgpu_rect r = b->r;
        r.y += first;
        r.h = rows;
        switch (b->op) {
        case BAND_FILL:
            b->one->fill(b->dst, &r, b->argb, &pos, &budget);
            break;
        case BAND_BLIT:
            b->one->blit(b->dst, b->dx, b->dy + first, b->src, &r, &pos, &budget);
            break;
        case BAND_DRAW: {
            struct vsp_draw d = *b->d;
            d.rect = r;
            d.origin_y = (int32_t)((uint32_t)d.origin_y + first);
            d.under_y += first;
            b->one->draw(&d, &pos, &budget);
            break;
        }
        }
    }
    b->used[lane] = BAND_BUDGET - budget;
}

/* Whether the operation of w x h pixels, worst cost per pixel `per`, is split now. */
static bool worth_it(const struct vsp_pos *pos, uint32_t w, uint32_t h, uint64_t per,
                     int64_t budget)
{
    if (!lanes || pos->row || pos->col || h < 2)
        return false;
    if ((uint64_t)w * h < (lanes->min_pixels ? lanes->min_pixels : VSP_LANES_MIN_PIXELS))
        return false;
    uint64_t worst;
    return budget > 0 && !__builtin_mul_overflow((uint64_t)w * h, per, &worst) &&
           worst <= (uint64_t)budget;
}

static bool overlap(const struct vsp_surface *a, const struct vsp_surface *b)
{
    uintptr_t a0 = (uintptr_t)a->pix, b0 = (uintptr_t)b->pix;
    return a0 < b0 + b->bytes && b0 < a0 + a->bytes;
}

static void run(struct bands *b, struct vsp_pos *pos, int64_t *budget)
{
    b->count = lanes->count < VSP_LANES_MAX ? lanes->count : VSP_LANES_MAX;
    if (b->count > b->h)
        b->count = b->h;
    lanes->run(lanes->ctx, run_band, b);
    for (unsigned i = 0; i < b->count; i++)
        *budget -= b->used[i];
    pos->row = b->h;
    pos->col = 0;
}

bool vsp_lanes_fill(const struct vsp_engine_ops *one, const struct vsp_surface *dst,
                    const struct vgpu_rect *r, uint32_t argb, struct vsp_pos *pos,
                    int64_t *budget)
{
    if (!worth_it(pos, r->w, r->h, 1, *budget))
        return false;
    struct bands b = { .op = BAND_FILL, .one = one, .h = r->h, .dst = dst, .r = *r,
                       .argb = argb };
    run(&b, pos, budget);
    return true;
}

bool vsp_lanes_blit(const struct vsp_engine_ops *one, const struct vsp_surface *dst,
                    uint32_t dx, uint32_t dy, const struct vsp_surface *src,
                    const struct vgpu_rect *sr, struct vsp_pos *pos, int64_t *budget)
{
    if (!worth_it(pos, sr->w, sr->h, 1, *budget) || overlap(dst, src))
        return false;
    struct bands b = { .op = BAND_BLIT, .one = one, .h = sr->h, .dst = dst, .src = src,
                       .r = *sr, .dx = dx, .dy = dy };
    run(&b, pos, budget);
    return true;
}

bool vsp_lanes_draw(const struct vsp_engine_ops *one, const struct vsp_draw *d,
                    struct vsp_pos *pos, int64_t *budget)
{
    if (!worth_it(pos, d->rect.w, d->rect.h, 1 + (uint64_t)d->shader->cost, *budget))
        return false;
    for (unsigned t = 0; t < 4; t++)
        if (d->env.tex[t].s && overlap(d->dst, d->env.tex[t].s))
            return false;
    if (d->under && overlap(d->dst, d->under))
        return false;
    struct bands b = { .op = BAND_DRAW, .one = one, .h = d->rect.h, .d = d, .r = d->rect };
    run(&b, pos, budget);
    return true;
}
