#include "guest/lib/vgpu_cmdbuf.h"

#include <string.h>

void vgpu_cmdbuf_init(struct vgpu_cmdbuf *b, void *buf, uint32_t cap)
{
    *b = (struct vgpu_cmdbuf){ .buf = buf, .cap = cap };
}

static void put(struct vgpu_cmdbuf *b, void *cmd, uint16_t op, uint16_t size)
{
    struct vgpu_cmd_hdr h = { op, size };
    memcpy(cmd, &h, sizeof(h));
    if (b->cap - b->len < size) {
        b->overflow = true;
        return;
    }
    memcpy(b->buf + b->len, cmd, size);
    b->len += size;
}

void vgpu_cmd_surface_create(struct vgpu_cmdbuf *b, uint16_t surface, uint16_t format,
                             uint32_t width, uint32_t height, uint32_t stride, uint64_t gpa)
{
    struct vgpu_cmd_surface_create c = { .surface = surface, .format = format, .width = width,
                                         .height = height, .stride = stride, .gpa = gpa };
    put(b, &c, VGPU_OP_SURFACE_CREATE, sizeof(c));
}

void vgpu_cmd_surface_destroy(struct vgpu_cmdbuf *b, uint16_t surface)
{
    struct vgpu_cmd_surface_destroy c = { .surface = surface };
    put(b, &c, VGPU_OP_SURFACE_DESTROY, sizeof(c));
}

void vgpu_cmd_fill(struct vgpu_cmdbuf *b, uint16_t surface, uint32_t x, uint32_t y, uint32_t w,
                   uint32_t h, uint32_t argb)
{
    struct vgpu_cmd_fill c = { .surface = surface, .rect = { x, y, w, h }, .argb = argb };
    put(b, &c, VGPU_OP_FILL, sizeof(c));
}

void vgpu_cmd_present(struct vgpu_cmdbuf *b, uint16_t surface, int16_t z, int32_t x, int32_t y,
                      uint32_t damage_x, uint32_t damage_y, uint32_t damage_w, uint32_t damage_h)
{
    struct vgpu_cmd_present c = { .surface = surface, .z = z, .x = x, .y = y,
                                  .damage = { damage_x, damage_y, damage_w, damage_h } };
    put(b, &c, VGPU_OP_PRESENT, sizeof(c));
}

void vgpu_cmd_fence(struct vgpu_cmdbuf *b, uint64_t value)
{
    struct vgpu_cmd_fence c = { .value = value };
    put(b, &c, VGPU_OP_FENCE, sizeof(c));
}
