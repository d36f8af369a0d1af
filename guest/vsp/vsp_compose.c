#include "guest/vsp/vsp_compose.h"

#include <string.h>

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

static void compose_layer(struct vsp_compositor *c, const struct vsp_surface *tile,
                          int32_t tx, int32_t ty, const struct vsp_layer *l)
{
    uint32_t x0, x1, y0, y1;
    if (!clip((int64_t)l->dst.x - tx, l->dst.w, tile->w, &x0, &x1) ||
        !clip((int64_t)l->dst.y - ty, l->dst.h, tile->h, &y0, &y1))
        return;
    /* the part of the layer in this tile, relative to the layer */
    uint32_t ox = (uint32_t)((int64_t)tx + x0 - l->dst.x);
    uint32_t oy = (uint32_t)((int64_t)ty + y0 - l->dst.y);
    struct vsp_pos pos = { 0, 0 };
    int64_t budget = INT64_MAX;
    if (!l->shader) {
        struct vgpu_rect sr = { l->src.x + ox, l->src.y + oy, x1 - x0, y1 - y0 };
        c->engine->blit(tile, x0, y0, l->surface, &sr, &pos, &budget);
        return;
    }
    struct vsp_draw d = {
        .dst = tile,
        .rect = { x0, y0, x1 - x0, y1 - y0 },
        .shader = l->shader,
        .env.tex[0] = { l->surface, l->src.x, l->src.y, l->src.w, l->src.h },
        .origin_x = (int32_t)ox,
        .origin_y = (int32_t)oy,
    };
    memcpy(d.env.uniform, l->uniform, sizeof(d.env.uniform));
    c->engine->draw(&d, &pos, &budget);
}

static void compose_tile(struct vsp_compositor *c, const struct vsp_fb *fb, uint32_t tx,
                         uint32_t ty, const struct vsp_layer *layers, size_t n)
{
    int32_t x = (int32_t)(tx * VSP_TILE), y = (int32_t)(ty * VSP_TILE);
    struct vsp_surface tile = {
        .live = true, .format = VGPU_FMT_XRGB8888,
        .w = c->w - (uint32_t)x < VSP_TILE ? c->w - (uint32_t)x : VSP_TILE,
        .h = c->h - (uint32_t)y < VSP_TILE ? c->h - (uint32_t)y : VSP_TILE,
        .stride = VSP_TILE * 4, .pix = c->tile,
    };
    struct vgpu_rect all = { 0, 0, tile.w, tile.h };
    struct vsp_pos pos = { 0, 0 };
    int64_t budget = INT64_MAX;
    c->engine->fill(&tile, &all, c->background, &pos, &budget);
    for (size_t i = 0; i < n; i++)
        compose_layer(c, &tile, x, y, &layers[i]);
    if ((uint32_t)x >= fb->width || (uint32_t)y >= fb->height)
        return;
    uint32_t w = fb->width - (uint32_t)x < tile.w ? fb->width - (uint32_t)x : tile.w;
    uint32_t h = fb->height - (uint32_t)y < tile.h ? fb->height - (uint32_t)y : tile.h;
    for (uint32_t r = 0; r < h; r++)
        memcpy(fb->base + (uint64_t)(y + (int32_t)r) * fb->pitch + (uint64_t)x * 4,
               c->tile + r * VSP_TILE * 4, (size_t)w * 4);
}

uint32_t vsp_compose_tiles(struct vsp_compositor *c, const struct vsp_fb *fb,
                           struct vsp_layer *layers, size_t n)
{
    sort_layers(layers, n);
    uint32_t done = 0;
    for (uint32_t ty = 0; ty < c->tiles_y; ty++) {
        for (uint32_t tx = 0; tx < c->tiles_x; tx++) {
            if (!(c->dirty[ty] >> tx & 1))
                continue;
            compose_tile(c, fb, tx, ty, layers, n);
            done++;
        }
        c->dirty[ty] = 0;
    }
    c->stats.composes++;
    c->stats.tiles_recomposed += done;
    c->stats.tiles_offered += c->stats.tiles_total;
    c->stats.last_recomposed = done;
    return done;
}
