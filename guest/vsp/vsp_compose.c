#include "guest/vsp/vsp_compose.h"

#include <string.h>

#include "guest/vsp/vsp_builtin.h"

_Static_assert(VSP_BAND_BYTES >= 4 * VSP_MAX_SCREEN_W, "a strip holds a screen row");

bool vsp_compose_init(struct vsp_compositor *c, uint32_t w, uint32_t h, uint32_t background,
                      const struct vsp_engine_ops *engine)
{
    if (w == 0 || h == 0 || w > VSP_MAX_SCREEN_W || h > VSP_MAX_SCREEN_H)
        return false;
    memset(c, 0, sizeof(*c));
    c->w = w;
    c->h = h;
    c->tiles_x = (w + VSP_TILE - 1) / VSP_TILE;
    c->tiles_y = (h + VSP_TILE - 1) / VSP_TILE;
    c->background = background & 0xffffff;
    c->engine = engine;
    c->fuse = true;
    c->stats.tiles_total = c->tiles_x * c->tiles_y;
    vsp_compose_damage_all(c);
    return true;
}

void vsp_compose_damage_all(struct vsp_compositor *c)
{
    for (uint32_t ty = 0; ty < c->tiles_y; ty++)
        c->dirty[ty] = c->tiles_x == 64 ? ~0ull : (1ull << c->tiles_x) - 1;
}

/* [lo, lo + len) clipped to [0, max): false when nothing is left. */
static bool clip(int64_t lo, uint64_t len, uint32_t max, uint32_t *from, uint32_t *to)
{
    int64_t hi = lo + (int64_t)(len > (1ull << 40) ? (1ull << 40) : len);
    if (lo < 0)
        lo = 0;
    if (hi > max)
        hi = max;
    if (lo >= hi)
        return false;
    *from = (uint32_t)lo;
    *to = (uint32_t)hi;
    return true;
}

void vsp_compose_damage(struct vsp_compositor *c, const struct vsp_screen_rect *r)
{
    uint32_t x0, x1, y0, y1;
    if (!clip(r->x, r->w, c->w, &x0, &x1) || !clip(r->y, r->h, c->h, &y0, &y1))
        return;
    uint32_t tx0 = x0 / VSP_TILE, tx1 = (x1 - 1) / VSP_TILE;
    uint64_t mask = (tx1 == 63 ? ~0ull : (1ull << (tx1 + 1)) - 1) & ~((1ull << tx0) - 1);
    for (uint32_t ty = y0 / VSP_TILE; ty <= (y1 - 1) / VSP_TILE; ty++)
        c->dirty[ty] |= mask;
}

static bool before(const struct vsp_layer *a, const struct vsp_layer *b)
{
    if (a->z != b->z)
        return a->z < b->z;
    if (a->client != b->client)
        return a->client < b->client;
    return a->order < b->order;
}

static void sort_layers(struct vsp_layer *l, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct vsp_layer t = l[i];
        size_t j = i;
        for (; j > 0 && before(&t, &l[j - 1]); j--)
            l[j] = l[j - 1];
        l[j] = t;
    }
}

/* Draws layer l into strip, a surface whose pixel (0, 0) is screen (sx, sy); with under (a
 * copy layer: see fused), what l shows over is read from under's surface, not strip. */
static void compose_layer(struct vsp_compositor *c, const struct vsp_surface *strip,
                          int32_t sx, int32_t sy, const struct vsp_layer *l,
                          const struct vsp_layer *under)
{
    uint32_t x0, x1, y0, y1;
    if (!clip((int64_t)l->dst.x - sx, l->dst.w, strip->w, &x0, &x1) ||
        !clip((int64_t)l->dst.y - sy, l->dst.h, strip->h, &y0, &y1))
        return;
    /* the part of the layer in this strip (at sx, sy on the screen), relative to the layer */
    uint32_t ox = (uint32_t)((int64_t)sx + x0 - l->dst.x);
    uint32_t oy = (uint32_t)((int64_t)sy + y0 - l->dst.y);
    struct vsp_pos pos = { 0, 0 };
    int64_t budget = INT64_MAX;
    if (!l->shader) {
        struct vgpu_rect sr = { l->src.x + ox, l->src.y + oy, x1 - x0, y1 - y0 };
        c->engine->blit(strip, x0, y0, l->surface, &sr, &pos, &budget);
        return;
    }
    struct vsp_draw d = {
        .dst = strip,
        .rect = { x0, y0, x1 - x0, y1 - y0 },
        .shader = l->shader,
        .env.tex[0] = { l->surface, l->src.x, l->src.y, l->src.w, l->src.h },
        .origin_x = (int32_t)ox,
        .origin_y = (int32_t)oy,
    };
    if (under) {
        d.under = under->surface;
        d.under_x = (uint32_t)((int64_t)under->src.x + sx + x0 - under->dst.x);
        d.under_y = (uint32_t)((int64_t)under->src.y + sy + y0 - under->dst.y);
    }
    memcpy(d.env.uniform, l->uniform, sizeof(d.env.uniform));
    c->engine->draw(&d, &pos, &budget);
}

static bool meets(const struct vsp_layer *l, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    return (int64_t)l->dst.x < (int64_t)x + w && (int64_t)l->dst.x + l->dst.w > x &&
           (int64_t)l->dst.y < (int64_t)y + h && (int64_t)l->dst.y + l->dst.h > y;
}

/* Whether layer l sets every pixel of the rectangle, whatever lies below: it covers the
 * rectangle and draws without key or blending (a copy, or a built-in that never discards
 * and never reads the destination). */
static bool hides(const struct vsp_layer *l, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    if (l->dst.x > (int64_t)x || l->dst.y > (int64_t)y ||
        (int64_t)l->dst.x + l->dst.w < (int64_t)x + w ||
        (int64_t)l->dst.y + l->dst.h < (int64_t)y + h)
        return false;
    if (!l->shader)
        return true;
    int32_t bits = l->shader->builtin;
    return bits >= 0 && !(bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST | VSP_BUILTIN_BLEND));
}

/* How a rectangle of the screen is built (plan): in the band buffer, from layer from up,
 * then copied to fb; straight into fb by layer from alone (it hides the rest, nothing lies
 * above it); or straight into fb by a fused pass of layer from, a copy window that hides
 * the rest, and top, the one layer above it that meets the rectangle (a keyed or blended
 * overlay over a desktop): top drawn reading from's surface for what lies below it, from
 * copied where top is not, each pixel of fb written once. */
enum plan { PLAN_BAND, PLAN_DIRECT, PLAN_FUSED };

static enum plan plan(const struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t x,
                      uint32_t y, uint32_t w, uint32_t h, const struct vsp_layer *layers,
                      size_t n, size_t *from, size_t *top, bool *hidden_out)
{
    size_t above = 0;
    bool hidden = false;
    *from = 0;
    for (size_t i = n; i-- > 0 && !hidden;) {
        if (!meets(&layers[i], x, y, w, h))
            continue;
        if (hides(&layers[i], x, y, w, h)) {
            *from = i;
            hidden = true;
        } else if (above++ == 0) {
            *top = i;
        }
    }
    bool inside = x < fb->width && w <= fb->width - x && y < fb->height && h <= fb->height - y;
    *hidden_out = hidden;
    if (!hidden || !inside)
        return PLAN_BAND;
    if (above == 0)
        return PLAN_DIRECT;
    const struct vsp_layer *l = &layers[*from], *t = &layers[*top];
    if (c->fuse && above == 1 && !l->shader && l->surface->format == VGPU_FMT_XRGB8888 &&
        (!t->shader || t->shader->builtin >= 0))
        return PLAN_FUSED;
    return PLAN_BAND;
}

/* Layer l drawn straight into screen rectangle [x, x + w) x [y, y + h) of fb (inside it);
 * under as compose_layer takes it. */
static void compose_into_fb(struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h, const struct vsp_layer *l,
                            const struct vsp_layer *under)
{
    if (w == 0 || h == 0)
        return;
    struct vsp_surface out = {
        .live = true, .format = VGPU_FMT_XRGB8888, .w = w, .h = h, .stride = fb->pitch,
        .pix = fb->base + (uint64_t)y * fb->pitch + (uint64_t)x * 4,
    };
    compose_layer(c, &out, (int32_t)x, (int32_t)y, l, under);
}

/* PLAN_FUSED: below (a copy that hides the rectangle) outside top's part of it, then top
 * inside it reading below's pixels, all straight into fb. */
static void compose_fused(struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t x,
                          uint32_t y, uint32_t w, uint32_t h, const struct vsp_layer *below,
                          const struct vsp_layer *top)
{
    uint32_t x0, x1, y0, y1;            /* top's part, relative to (x, y) */
    if (!clip((int64_t)top->dst.x - x, top->dst.w, w, &x0, &x1) ||
        !clip((int64_t)top->dst.y - y, top->dst.h, h, &y0, &y1)) {
        compose_into_fb(c, fb, x, y, w, h, below, NULL);
        return;
    }
    compose_into_fb(c, fb, x, y, w, y0, below, NULL);
    compose_into_fb(c, fb, x, y + y1, w, h - y1, below, NULL);
    compose_into_fb(c, fb, x, y + y0, x0, y1 - y0, below, NULL);
    compose_into_fb(c, fb, x + x1, y + y0, w - x1, y1 - y0, below, NULL);
    compose_into_fb(c, fb, x + x0, y + y0, x1 - x0, y1 - y0, top, below);
}

/* Rebuilds screen rows [y, y + h) of columns [x, x + w) and puts them in fb by the plan;
 * false (nothing done) when that is the band buffer's and h is more than it holds. */
static bool compose_strip(struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t x,
                          uint32_t y, uint32_t w, uint32_t h, const struct vsp_layer *layers,
                          size_t n)
{
    size_t from, top = 0;
    bool hidden;
    enum plan p = plan(c, fb, x, y, w, h, layers, n, &from, &top, &hidden);
    if (p == PLAN_DIRECT) {
        compose_into_fb(c, fb, x, y, w, h, &layers[from], NULL);
        return true;
    }
    if (p == PLAN_FUSED) {
        c->stats.fused++;
        compose_fused(c, fb, x, y, w, h, &layers[from], &layers[top]);
        return true;
    }
    if ((uint64_t)w * 4 * h > VSP_BAND_BYTES)
        return false;
    struct vsp_surface band = {
        .live = true, .format = VGPU_FMT_XRGB8888, .w = w, .h = h, .stride = w * 4,
        .pix = c->band,
    };
    if (!hidden) {
        struct vgpu_rect all = { 0, 0, w, h };
        struct vsp_pos pos = { 0, 0 };
        int64_t budget = INT64_MAX;
        c->engine->fill(&band, &all, c->background, &pos, &budget);
    }
    for (size_t i = from; i < n; i++)
        compose_layer(c, &band, (int32_t)x, (int32_t)y, &layers[i], NULL);
    if (x >= fb->width || y >= fb->height)
        return true;
    uint32_t fw = fb->width - x < w ? fb->width - x : w;
    uint32_t fh = fb->height - y < h ? fb->height - y : h;
    for (uint32_t r = 0; r < fh; r++)
        memcpy(fb->base + (uint64_t)(y + r) * fb->pitch + (uint64_t)x * 4,
               c->band + (size_t)r * w * 4, (size_t)fw * 4);
    return true;
}

/* Tiles [tx0, tx1) of tile row ty, all dirty, as one band: at once when it needs no buffer,
 * else strips of whole rows of the band, as many as the buffer holds, so that every layer
 * reads its source along rows (a tile's 64 x 4 bytes per row are too short for the hardware
 * prefetcher). */
static void compose_run(struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t tx0,
                        uint32_t tx1, uint32_t ty, const struct vsp_layer *layers, size_t n)
{
    uint32_t x = tx0 * VSP_TILE, y = ty * VSP_TILE;
    uint32_t w = (tx1 * VSP_TILE < c->w ? tx1 * VSP_TILE : c->w) - x;
    uint32_t h = c->h - y < VSP_TILE ? c->h - y : VSP_TILE;
    if (compose_strip(c, fb, x, y, w, h, layers, n))
        return;
    uint32_t rows = VSP_BAND_BYTES / (w * 4);
    for (uint32_t r = 0; r < h; r += rows)
        compose_strip(c, fb, x, y + r, w, h - r < rows ? h - r : rows, layers, n);
}

uint32_t vsp_compose_tiles(struct vsp_compositor *c, const struct vsp_fb *fb,
                           struct vsp_layer *layers, size_t n)
{
    sort_layers(layers, n);
    uint32_t done = 0;
    for (uint32_t ty = 0; ty < c->tiles_y; ty++) {
        for (uint32_t tx = 0; tx < c->tiles_x;) {
            if (!(c->dirty[ty] >> tx & 1)) {
                tx++;
                continue;
            }
            uint32_t end = tx + 1;
            while (end < c->tiles_x && c->dirty[ty] >> end & 1)
                end++;
            compose_run(c, fb, tx, end, ty, layers, n);
            done += end - tx;
            tx = end;
        }
        c->dirty[ty] = 0;
    }
    c->stats.composes++;
    c->stats.tiles_recomposed += done;
    c->stats.tiles_offered += c->stats.tiles_total;
    c->stats.last_recomposed = done;
    return done;
}
