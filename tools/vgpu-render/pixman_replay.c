#include "tools/vgpu-render/pixman_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vsp/vgpu_cmd.h"

static int refuse(char *err, size_t n, size_t at, const char *why)
{
    snprintf(err, n, "command at offset %zu: %s", at, why);
    return -1;
}

static pixman_color_t colour(uint32_t argb)
{
    uint16_t a = (uint16_t)(argb >> 24), r = (uint16_t)(argb >> 16 & 0xff),
             g = (uint16_t)(argb >> 8 & 0xff), b = (uint16_t)(argb & 0xff);
    return (pixman_color_t){ (uint16_t)(r * 0x101), (uint16_t)(g * 0x101), (uint16_t)(b * 0x101),
                             (uint16_t)(a * 0x101) };
}

int pixman_replay_buffer(struct replay_client *c, const uint8_t *buf, size_t len, char *err,
                         size_t err_size)
{
    size_t at = 0;
    while (at < len) {
        struct vgpu_cmd_hdr h;
        if (len - at < sizeof(h))
            return refuse(err, err_size, at, "truncated");
        memcpy(&h, buf + at, sizeof(h));
        if (h.size < sizeof(h) || h.size > len - at)
            return refuse(err, err_size, at, "bad size");
        const uint8_t *p = buf + at;
        switch (h.op) {
        case VGPU_OP_SURFACE_CREATE: {
            struct vgpu_cmd_surface_create s;
            if (h.size != sizeof(s))
                return refuse(err, err_size, at, "bad size");
            memcpy(&s, p, sizeof(s));
            if (s.surface >= REPLAY_SURFACES || c->surface[s.surface])
                return refuse(err, err_size, at, "bad or used surface id");
            bool yuy2 = s.format == VGPU_FMT_YUY2;
            if ((s.format != VGPU_FMT_XRGB8888 && !yuy2) || !s.width || !s.height ||
                s.stride < s.width * (yuy2 ? 2 : 4) || s.stride % 4 || (yuy2 && s.width % 2) ||
                s.gpa > c->ram_size || (uint64_t)s.stride * s.height > c->ram_size - s.gpa)
                return refuse(err, err_size, at, "surface not XRGB8888 or YUY2 inside the RAM");
            c->surface[s.surface] = pixman_image_create_bits(yuy2 ? PIXMAN_yuy2 : PIXMAN_x8r8g8b8, (int)s.width,
                                                             (int)s.height,
                                                             (uint32_t *)(c->ram + s.gpa), (int)s.stride);
            break;
        }
        case VGPU_OP_FILL: {
            struct vgpu_cmd_fill f;
            if (h.size != sizeof(f))
                return refuse(err, err_size, at, "bad size");
            memcpy(&f, p, sizeof(f));
            pixman_image_t *s = f.surface < REPLAY_SURFACES ? c->surface[f.surface] : NULL;
            if (!s)
                return refuse(err, err_size, at, "no such surface");
            uint64_t w = (uint64_t)pixman_image_get_width(s), hh = (uint64_t)pixman_image_get_height(s);
            if (!f.rect.w || !f.rect.h || f.rect.x + (uint64_t)f.rect.w > w ||
                f.rect.y + (uint64_t)f.rect.h > hh)
                return refuse(err, err_size, at, "rectangle outside the surface");
            pixman_color_t col = colour(f.argb);
            pixman_rectangle16_t r = { (int16_t)f.rect.x, (int16_t)f.rect.y, (uint16_t)f.rect.w,
                                       (uint16_t)f.rect.h };
            pixman_image_fill_rectangles(PIXMAN_OP_SRC, s, &col, 1, &r);
            break;
        }
        case VGPU_OP_PRESENT: {
            struct vgpu_cmd_present pr;
            if (h.size != sizeof(pr))
                return refuse(err, err_size, at, "bad size");
            memcpy(&pr, p, sizeof(pr));
            if (pr.surface == VGPU_NO_SURFACE) {
                c->shown = false;
                break;
            }
            if (pr.surface >= REPLAY_SURFACES || !c->surface[pr.surface])
                return refuse(err, err_size, at, "no such surface");
            c->shown = true;
            c->window = pr.surface;
            c->z = pr.z;
            c->x = pr.x;
            c->y = pr.y;
            break;
        }
        case VGPU_OP_OVERLAY_SET: {
            struct vgpu_cmd_overlay_set o;
            if (h.size != sizeof(o))
                return refuse(err, err_size, at, "bad size");
            memcpy(&o, p, sizeof(o));
            pixman_image_t *s = o.surface < REPLAY_SURFACES ? c->surface[o.surface] : NULL;
            if (o.overlay >= REPLAY_OVERLAYS || !s)
                return refuse(err, err_size, at, "bad overlay or no such surface");
            if (o.flags || o.src.x || o.src.y || !o.src.w || !o.src.h || !o.dst_w || !o.dst_h ||
                o.src.w > (uint32_t)pixman_image_get_width(s) ||
                o.src.h > (uint32_t)pixman_image_get_height(s) || o.key_mode > VGPU_KEY_SOURCE ||
                (o.key_mode && (o.alpha != 255 || o.dst_w != o.src.w || o.dst_h != o.src.h ||
                                pixman_image_get_format(s) != PIXMAN_x8r8g8b8)))
                return refuse(err, err_size, at, "an overlay option this reference does not draw");
            c->overlay[o.overlay] = (struct replay_overlay){
                .live = true, .surface = o.surface, .alpha = o.alpha, .key_mode = o.key_mode,
                .z = o.z, .key = o.key & 0xffffff, .src_w = o.src.w, .src_h = o.src.h,
                .x = o.dst_x, .y = o.dst_y, .w = o.dst_w, .h = o.dst_h,
            };
            break;
        }
        case VGPU_OP_FENCE:
            break;
        default:
            return refuse(err, err_size, at, "a command this reference does not draw");
        }
        at += h.size;
    }
    return 0;
}

/* An overlay: scaled by a pixman transform (nearest), its key as an a8 mask of the source
 * (0 where the source is the key colour), its global alpha as a solid mask. */
static void draw_overlay(const struct replay_client *c, const struct replay_overlay *o,
                         pixman_image_t *screen)
{
    pixman_image_t *s = c->surface[o->surface], *mask = NULL;
    pixman_op_t op = PIXMAN_OP_SRC;
    uint8_t *bits = NULL;
    if (o->w != o->src_w || o->h != o->src_h) {
        pixman_transform_t t;
        pixman_transform_init_scale(&t, (pixman_fixed_t)((uint64_t)o->src_w * 65536 / o->w),
                                    (pixman_fixed_t)((uint64_t)o->src_h * 65536 / o->h));
        pixman_image_set_transform(s, &t);
        pixman_image_set_filter(s, PIXMAN_FILTER_NEAREST, NULL, 0);
    }
    if (o->key_mode == VGPU_KEY_SOURCE) {
        int stride = (int)((o->w + 3) & ~3u);
        bits = calloc((size_t)stride * o->h, 1);
        const uint32_t *px = pixman_image_get_data(s);
        int pitch = pixman_image_get_stride(s) / 4;
        for (uint32_t y = 0; y < o->h; y++)
            for (uint32_t x = 0; x < o->w; x++)
                bits[y * (uint32_t)stride + x] = (px[y * (uint32_t)pitch + x] & 0xffffff) == o->key ? 0 : 0xff;
        mask = pixman_image_create_bits(PIXMAN_a8, (int)o->w, (int)o->h, (uint32_t *)bits, stride);
        op = PIXMAN_OP_OVER;
    } else if (o->alpha != 255) {
        pixman_color_t a = { 0, 0, 0, (uint16_t)(o->alpha * 0x101) };
        mask = pixman_image_create_solid_fill(&a);
        op = PIXMAN_OP_OVER;
    }
    pixman_image_composite32(op, s, mask, screen, 0, 0, 0, 0, o->x, o->y, (int)o->w, (int)o->h);
    pixman_image_set_transform(s, NULL);
    if (mask)
        pixman_image_unref(mask);
    free(bits);
}

void pixman_replay_compose(struct replay_client *clients, unsigned n, pixman_image_t *screen,
                           uint32_t background)
{
    pixman_color_t bg = colour(0xff000000u | background);
    pixman_rectangle16_t all = { 0, 0, (uint16_t)pixman_image_get_width(screen),
                                 (uint16_t)pixman_image_get_height(screen) };
    pixman_image_fill_rectangles(PIXMAN_OP_SRC, screen, &bg, 1, &all);
    /* layer k of client i: 0 the window, 1 + j overlay j */
    enum { LAYERS = 1 + REPLAY_OVERLAYS };
    bool drawn[64][LAYERS] = { { false } };
    for (;;) {
        int bi = -1, bk = -1, bz = 0;
        for (unsigned i = 0; i < n && i < 64; i++)
            for (int k = 0; k < LAYERS; k++) {
                const struct replay_client *c = &clients[i];
                bool live = k ? c->overlay[k - 1].live : c->shown;
                int z = k ? c->overlay[k - 1].z : c->z;
                if (live && !drawn[i][k] && (bi < 0 || z < bz))
                    bi = (int)i, bk = k, bz = z;
            }
        if (bi < 0)
            break;
        drawn[bi][bk] = true;
        struct replay_client *c = &clients[bi];
        if (bk) {
            draw_overlay(c, &c->overlay[bk - 1], screen);
            continue;
        }
        pixman_image_t *s = c->surface[c->window];
        pixman_image_composite32(PIXMAN_OP_SRC, s, NULL, screen, 0, 0, 0, 0, c->x, c->y,
                                 pixman_image_get_width(s), pixman_image_get_height(s));
    }
}

void pixman_replay_free(struct replay_client *c)
{
    for (unsigned i = 0; i < REPLAY_SURFACES; i++)
        if (c->surface[i])
            pixman_image_unref(c->surface[i]);
    memset(c->surface, 0, sizeof(c->surface));
}
