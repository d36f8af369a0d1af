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

void vgpu_cmd_overlay_set(struct vgpu_cmdbuf *b, uint8_t overlay, uint8_t flags, int16_t z,
                          uint16_t surface, uint8_t alpha, uint8_t key_mode, struct vgpu_rect src,
                          int32_t dst_x, int32_t dst_y, uint32_t dst_w, uint32_t dst_h, uint32_t key)
{
    struct vgpu_cmd_overlay_set c = { .overlay = overlay, .flags = flags, .z = z,
                                      .surface = surface, .alpha = alpha, .key_mode = key_mode,
                                      .src = src, .dst_x = dst_x, .dst_y = dst_y, .dst_w = dst_w,
                                      .dst_h = dst_h, .key = key };
    put(b, &c, VGPU_OP_OVERLAY_SET, sizeof(c));
}

void vgpu_cmd_shader_upload(struct vgpu_cmdbuf *b, uint16_t shader, const void *insns,
                            uint16_t count)
{
    uint32_t size = sizeof(struct vgpu_cmd_shader_upload) + 8u * count;
    if (size > 0xffff || b->cap - b->len < size) {
        b->overflow = true;
        return;
    }
    struct vgpu_cmd_shader_upload c = { { VGPU_OP_SHADER_UPLOAD, (uint16_t)size }, shader, count };
    memcpy(b->buf + b->len, &c, sizeof(c));
    memcpy(b->buf + b->len + sizeof(c), insns, 8u * count);
    b->len += size;
}

void vgpu_cmd_draw(struct vgpu_cmdbuf *b, uint16_t dst, uint16_t shader, uint32_t x, uint32_t y,
                   uint32_t w, uint32_t h)
{
    struct vgpu_cmd_draw c = { .dst = dst, .shader = shader, .rect = { x, y, w, h } };
    for (unsigned i = 0; i < VGPU_TEXTURES; i++)
        c.texture[i] = VGPU_NO_SURFACE;
    put(b, &c, VGPU_OP_DRAW, sizeof(c));
}

void vgpu_cmd_raw(struct vgpu_cmdbuf *b, uint16_t op, const void *body, uint16_t len)
{
    uint32_t size = 4u + len;
    if (size > 0xffff || b->cap - b->len < size) {
        b->overflow = true;
        return;
    }
    struct vgpu_cmd_hdr h = { op, (uint16_t)size };
    memcpy(b->buf + b->len, &h, sizeof(h));
    memcpy(b->buf + b->len + sizeof(h), body, len);
    b->len += size;
}
