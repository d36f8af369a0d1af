/*
 * A surface: pixels in a client's RAM (mapped into the VSP) in one of the vgpu formats,
 * with its geometry checked once at creation.  Texel reads give four lanes: R G B A for
 * the RGB formats, Y U V 255 for the YUV ones.
 */
#ifndef ATOLL_GUEST_VSP_VSP_SURFACE_H
#define ATOLL_GUEST_VSP_VSP_SURFACE_H
#include <stdbool.h>
#include <stdint.h>

#include "guest/vsp/vgpu_cmd.h"
#include "guest/vsp/vsp_err.h"

struct vsp_surface {
    bool live;
    uint16_t format;            /* enum vgpu_format */
    uint32_t w, h, stride;
    uint64_t gpa, bytes;        /* where in the client's RAM, how many bytes */
    uint8_t *pix;               /* the VSP's mapping of [gpa, gpa + bytes) */
};

/* A surface's size in bytes, or VSP_E_BAD_FORMAT / VSP_E_BAD_DIMS. */
enum vsp_err vsp_surface_layout(uint32_t format, uint32_t w, uint32_t h, uint32_t stride,
                                uint64_t *bytes);
bool vsp_format_is_rgb(uint32_t format);
bool vsp_format_is_opaque(uint32_t format);     /* alpha always 255 */
/* Whether rect lies inside the surface (64-bit sums: no wrap). */
bool vsp_rect_inside(const struct vsp_surface *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

/* The texel at (x, y), which must be inside the surface. */
static inline void vsp_texel(const struct vsp_surface *s, uint32_t x, uint32_t y, int32_t out[4])
{
    const uint8_t *row = s->pix + (uint64_t)y * s->stride;
    switch (s->format) {
    case VGPU_FMT_XRGB8888:
    case VGPU_FMT_ARGB8888: {
        const uint8_t *p = row + (uint64_t)x * 4;
        out[0] = p[2];
        out[1] = p[1];
        out[2] = p[0];
        out[3] = s->format == VGPU_FMT_ARGB8888 ? p[3] : 255;
        return;
    }
    case VGPU_FMT_YUY2: {
        const uint8_t *p = row + (uint64_t)(x >> 1) * 4;
        out[0] = p[(x & 1) * 2];
        out[1] = p[1];
        out[2] = p[3];
        out[3] = 255;
        return;
    }
    default: {                  /* NV12 */
        const uint8_t *uv = s->pix + (uint64_t)s->stride * s->h +
                            (uint64_t)(y >> 1) * s->stride + (x & ~1u);
        out[0] = row[x];
        out[1] = uv[0];
        out[2] = uv[1];
        out[3] = 255;
        return;
    }
    }
}
/* Stores lanes R G B A (each 0..255) at (x, y) of an RGB surface. */
static inline void vsp_store_rgb(const struct vsp_surface *s, uint32_t x, uint32_t y,
                                 const int32_t c[4])
{
    uint8_t *p = s->pix + (uint64_t)y * s->stride + (uint64_t)x * 4;
    p[0] = (uint8_t)c[2];
    p[1] = (uint8_t)c[1];
    p[2] = (uint8_t)c[0];
    p[3] = s->format == VGPU_FMT_XRGB8888 ? 0xff : (uint8_t)c[3];
}

#endif
