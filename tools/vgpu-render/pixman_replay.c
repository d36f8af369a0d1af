#include "tools/vgpu-render/pixman_replay.h"

#include <stdio.h>
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
            if (s.format != VGPU_FMT_XRGB8888 || !s.width || !s.height || s.stride < s.width * 4 ||
                s.gpa > c->ram_size || (uint64_t)s.stride * s.height > c->ram_size - s.gpa)
                return refuse(err, err_size, at, "surface not XRGB8888 inside the RAM");
            c->surface[s.surface] = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)s.width,
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
        case VGPU_OP_FENCE:
            break;
        default:
            return refuse(err, err_size, at, "a command this reference does not draw");
        }
        at += h.size;
    }
    return 0;
}

void pixman_replay_compose(struct replay_client *clients, unsigned n, pixman_image_t *screen,
                           uint32_t background)
{
    pixman_color_t bg = colour(0xff000000u | background);
    pixman_rectangle16_t all = { 0, 0, (uint16_t)pixman_image_get_width(screen),
                                 (uint16_t)pixman_image_get_height(screen) };
    pixman_image_fill_rectangles(PIXMAN_OP_SRC, screen, &bg, 1, &all);
    bool drawn[64] = { false };
    for (unsigned k = 0; k < n && k < 64; k++) {
        int best = -1;
        for (unsigned i = 0; i < n && i < 64; i++)
            if (clients[i].shown && !drawn[i] && (best < 0 || clients[i].z < clients[best].z))
                best = (int)i;
        if (best < 0)
            break;
        drawn[best] = true;
        struct replay_client *c = &clients[best];
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
