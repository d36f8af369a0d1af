/* The engine on the VSP's CPU. */
#include "guest/vsp/vsp_engine.h"

#include "guest/vsp/vsp_builtin.h"

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

static inline int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t mul(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static inline int32_t clamp255(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }
static inline int32_t div255(int32_t v)
{
    v = add(v, 0x80);
    return add(v, v >> 8) >> 8;
}

/* A built-in shader (vsp_builtin.c) run natively: the same operations on the same
 * integers as its instructions, so the same pixels (test_vsp_shader checks); returns
 * false when the pixel is discarded. */
/* What a built-in shader does to a sampled texel r3 over the destination r1. */
static inline bool builtin_math(uint32_t bits, const int32_t (*u)[4], int32_t r3[4], int32_t r1[4])
{
    if (bits & VSP_BUILTIN_YUV) {
        int32_t yuv[3] = { add(r3[0], u[2][0]), add(r3[1], u[2][1]), add(r3[2], u[2][2]) };
        for (unsigned l = 0; l < 4; l++) {
            int32_t v = add(add(mul(yuv[0], u[3][l]), mul(yuv[1], u[4][l])), mul(yuv[2], u[5][l]));
            r3[l] = add(clamp255(v >> 16), u[6][l]);
        }
    }
    if (bits & VSP_BUILTIN_KEY_SRC) {
        if (r3[0] == u[7][0] && r3[1] == u[7][1] && r3[2] == u[7][2])
            return false;
    } else if (bits & VSP_BUILTIN_KEY_DST) {
        if (!(r1[0] == u[7][0] && r1[1] == u[7][1] && r1[2] == u[7][2]))
            return false;
    }
    if (bits & VSP_BUILTIN_BLEND) {
        for (unsigned l = 0; l < 4; l++)
            r3[l] = div255(mul(r3[l], u[7][3]));
        int32_t inv = add(255, -r3[3]);
        for (unsigned l = 0; l < 4; l++)
            r1[l] = clamp255(add(r3[l], div255(mul(r1[l], inv))));
    } else {
        for (unsigned l = 0; l < 4; l++)
            r1[l] = clamp255(r3[l]);
    }
    return true;
}

/* A built-in shader (vsp_builtin.c) run natively: the same operations on the same
 * integers as its instructions, so the same pixels (test_vsp_shader checks); returns
 * false when the pixel is discarded. */
static bool builtin_pixel(uint32_t bits, const struct vsp_shader_env *e, int32_t x, int32_t y,
                          int32_t r1[4])
{
    const int32_t (*u)[4] = e->uniform;
    int32_t sx = add((int32_t)(uint32_t)(uint64_t)(((int64_t)x * u[0][0]) >> 8), u[1][0]);
    int32_t sy = add((int32_t)(uint32_t)(uint64_t)(((int64_t)y * u[0][1]) >> 8), u[1][1]);
    int32_t r3[4];
    if (bits & VSP_BUILTIN_BILINEAR)
        vsp_tex_bilinear(&e->tex[0], sx, sy, r3);
    else
        vsp_tex_nearest(&e->tex[0], sx >> 8, sy >> 8, r3);
    return builtin_math(bits, u, r3, r1);
}

/* Whether a nearest built-in maps the rectangle's pixels 1:1 onto texels inside the
 * texture window: then texel (origin + col, origin + row) is what it samples. */
static bool one_to_one(const struct vsp_draw *d)
{
    const int32_t (*u)[4] = d->env.uniform;
    const struct vsp_texture *t = &d->env.tex[0];
    return !(d->shader->builtin & VSP_BUILTIN_BILINEAR) && u[0][0] == 0x10000 &&
           u[0][1] == 0x10000 && u[1][0] >= 0 && u[1][0] < 0x100 && u[1][1] >= 0 &&
           u[1][1] < 0x100 && d->origin_x >= 0 && d->origin_y >= 0 &&
           (int64_t)d->origin_x + d->rect.w <= t->w && (int64_t)d->origin_y + d->rect.h <= t->h;
}

/* n pixels of row y from column x, texels from (tx, ty) of the window on: the 1:1 case
 * with the formats constant (one copy per format pair, the switches folded). */
static inline void row_1to1(uint32_t bits, uint16_t sfmt, uint16_t dfmt, const struct vsp_draw *d,
                            uint32_t x, uint32_t y, uint32_t tx, uint32_t ty, uint32_t n,
                            uint32_t *killed)
{
    struct vsp_surface src = *d->env.tex[0].s, dst = *d->dst;
    src.format = sfmt;
    dst.format = dfmt;
    tx += d->env.tex[0].x;
    ty += d->env.tex[0].y;
    for (uint32_t i = 0; i < n; i++) {
        int32_t r1[4], r3[4];
        vsp_texel(&src, tx + i, ty, r3);
        vsp_texel(&dst, x + i, y, r1);
        if (builtin_math(bits, d->env.uniform, r3, r1))
            vsp_store_rgb(&dst, x + i, y, r1);
        else
            (*killed)++;
    }
}

static void row_any(uint32_t bits, const struct vsp_draw *d, uint32_t x, uint32_t y, uint32_t tx,
                    uint32_t ty, uint32_t n, uint32_t *killed)
{
    bool argb = d->dst->format == VGPU_FMT_ARGB8888;
    switch (d->env.tex[0].s->format) {
#define ROW(F) argb ? row_1to1(bits, F, VGPU_FMT_ARGB8888, d, x, y, tx, ty, n, killed) \
                    : row_1to1(bits, F, VGPU_FMT_XRGB8888, d, x, y, tx, ty, n, killed)
    case VGPU_FMT_XRGB8888: ROW(VGPU_FMT_XRGB8888); break;
    case VGPU_FMT_ARGB8888: ROW(VGPU_FMT_ARGB8888); break;
    case VGPU_FMT_YUY2: ROW(VGPU_FMT_YUY2); break;
    default: ROW(VGPU_FMT_NV12); break;
#undef ROW
    }
}

static uint32_t kil_cost(const struct vsp_shader *sh)
{
    for (uint32_t i = 0; i < sh->count; i++)
        if (sh->insn[i].op == VSP_OP_KIL)
            return i + 1;
    return sh->cost;
}

static bool cpu_draw(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget)
{
    if (d->shader->builtin >= 0) {
        const struct vgpu_rect *r = &d->rect;
        uint32_t bits = (uint32_t)d->shader->builtin, cost = d->shader->cost;
        uint32_t killed_cost = kil_cost(d->shader);
        bool fast = one_to_one(d);
        for (; pos->row < r->h; pos->row++, pos->col = 0) {
            uint32_t y = r->y + pos->row;
            if (fast) {                 /* as many pixels as the per-pixel check would run */
                while (pos->col < r->w) {
                    if (*budget <= 0)
                        return false;
                    uint64_t per = 1 + (uint64_t)cost;
                    uint64_t n = ((uint64_t)*budget + per - 1) / per;
                    if (n > r->w - pos->col)
                        n = r->w - pos->col;
                    uint32_t killed = 0;
                    row_any(bits, d, r->x + pos->col, y, (uint32_t)d->origin_x + pos->col,
                            (uint32_t)d->origin_y + pos->row, (uint32_t)n, &killed);
                    *budget -= (int64_t)(n * per) - (int64_t)killed * (cost - killed_cost);
                    pos->col += (uint32_t)n;
                }
                continue;
            }
            for (; pos->col < r->w; pos->col++) {
                if (*budget <= 0)
                    return false;
                uint32_t x = r->x + pos->col;
                int32_t px[4];
                vsp_texel(d->dst, x, y, px);
                bool drawn = builtin_pixel(bits, &d->env, d->origin_x + (int32_t)pos->col,
                                           d->origin_y + (int32_t)pos->row, px);
                if (drawn)
                    vsp_store_rgb(d->dst, x, y, px);
                *budget -= 1 + (int64_t)(drawn ? cost : killed_cost);
            }
        }
        return true;
    }
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
