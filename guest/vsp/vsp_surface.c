#include "guest/vsp/vsp_surface.h"

bool vsp_format_is_rgb(uint32_t format)
{
    return format == VGPU_FMT_XRGB8888 || format == VGPU_FMT_ARGB8888;
}

bool vsp_format_is_opaque(uint32_t format)
{
    return format != VGPU_FMT_ARGB8888;
}

enum vsp_err vsp_surface_layout(uint32_t format, uint32_t w, uint32_t h, uint32_t stride,
                                uint64_t *bytes)
{
    uint64_t row;
    switch (format) {
    case VGPU_FMT_XRGB8888:
    case VGPU_FMT_ARGB8888: row = (uint64_t)w * 4; break;
    case VGPU_FMT_YUY2: row = (uint64_t)w * 2; break;
    case VGPU_FMT_NV12: row = w; break;
    default: return VSP_E_BAD_FORMAT;
    }
    if (w == 0 || h == 0 || w > VGPU_MAX_DIM || h > VGPU_MAX_DIM || stride < row ||
        stride > 4 * VGPU_MAX_DIM)
        return VSP_E_BAD_DIMS;
    if ((format == VGPU_FMT_YUY2 || format == VGPU_FMT_NV12) && (w & 1))
        return VSP_E_BAD_DIMS;
    if (format == VGPU_FMT_NV12 && (h & 1))
        return VSP_E_BAD_DIMS;
    *bytes = (uint64_t)stride * h + (format == VGPU_FMT_NV12 ? (uint64_t)stride * (h / 2) : 0);
    return VSP_OK;
}

bool vsp_rect_inside(const struct vsp_surface *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    return w && h && (uint64_t)x + w <= s->w && (uint64_t)y + h <= s->h;
}
