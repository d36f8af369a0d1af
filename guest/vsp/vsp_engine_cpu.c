/* The engine on the VSP's CPU. */
#include "guest/vsp/vsp_engine.h"

#include <string.h>

static bool cpu_fill(const struct vsp_surface *dst, const struct vgpu_rect *r, uint32_t argb,
                     struct vsp_pos *pos, int64_t *budget)
{
    uint8_t px[4] = { (uint8_t)argb, (uint8_t)(argb >> 8), (uint8_t)(argb >> 16),
                      dst->format == VGPU_FMT_XRGB8888 ? 0xff : (uint8_t)(argb >> 24) };
    for (; pos->row < r->h; pos->row++) {
        if (*budget <= 0)
            return false;
        uint8_t *p = dst->pix + (uint64_t)(r->y + pos->row) * dst->stride + (uint64_t)r->x * 4;
        for (uint32_t i = 0; i < r->w; i++)
            memcpy(p + 4 * i, px, 4);
        *budget -= r->w;
    }
    return true;
}

static bool cpu_blit(const struct vsp_surface *dst, uint32_t dx, uint32_t dy,
                     const struct vsp_surface *src, const struct vgpu_rect *sr,
                     struct vsp_pos *pos, int64_t *budget)
{
    bool upward = dst == src && dy > sr->y;     /* copy the last row first */
    bool force_x = dst->format == VGPU_FMT_XRGB8888 && src->format != VGPU_FMT_XRGB8888;
    bool force_a = dst->format == VGPU_FMT_ARGB8888 && src->format != VGPU_FMT_ARGB8888;
    for (; pos->row < sr->h; pos->row++) {
        if (*budget <= 0)
            return false;
        uint32_t row = upward ? sr->h - 1 - pos->row : pos->row;
        uint8_t *d = dst->pix + (uint64_t)(dy + row) * dst->stride + (uint64_t)dx * 4;
        const uint8_t *s = src->pix + (uint64_t)(sr->y + row) * src->stride + (uint64_t)sr->x * 4;
        memmove(d, s, (size_t)sr->w * 4);
        if (force_x || force_a)
            for (uint32_t i = 0; i < sr->w; i++)
                d[4 * i + 3] = 0xff;
        *budget -= sr->w;
    }
    return true;
}

static bool cpu_draw(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget)
{
    const struct vgpu_rect *r = &d->rect;
    for (; pos->row < r->h; pos->row++, pos->col = 0) {
        uint32_t y = r->y + pos->row;
        for (; pos->col < r->w; pos->col++) {
            if (*budget <= 0)
                return false;
            uint32_t x = r->x + pos->col;
            int32_t px[4];
            bool killed;
            vsp_texel(d->dst, x, y, px);
            uint32_t ran = vsp_shader_run(d->shader, &d->env, d->origin_x + (int32_t)pos->col,
                                          d->origin_y + (int32_t)pos->row, px, &killed);
            if (!killed)
                vsp_store_rgb(d->dst, x, y, px);
            *budget -= 1 + (int64_t)ran;
        }
    }
    return true;
}

const struct vsp_engine_ops vsp_cpu_engine = {
    .fill = cpu_fill,
    .blit = cpu_blit,
    .draw = cpu_draw,
};
