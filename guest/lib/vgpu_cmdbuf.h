/* Building a vGPU command buffer (guest/vsp/vgpu_cmd.h) for vgpu_client_submit. */
#ifndef ATOLL_GUEST_VGPU_CMDBUF_H
#define ATOLL_GUEST_VGPU_CMDBUF_H
#include <stdbool.h>
#include <stdint.h>
#include "guest/vsp/vgpu_cmd.h"

struct vgpu_cmdbuf {
    uint8_t *buf;
    uint32_t len, cap;
    bool overflow;              /* a command did not fit: the buffer is incomplete */
};

void vgpu_cmdbuf_init(struct vgpu_cmdbuf *b, void *buf, uint32_t cap);
void vgpu_cmd_surface_create(struct vgpu_cmdbuf *b, uint16_t surface, uint16_t format,
                             uint32_t width, uint32_t height, uint32_t stride, uint64_t gpa);
void vgpu_cmd_surface_destroy(struct vgpu_cmdbuf *b, uint16_t surface);
void vgpu_cmd_fill(struct vgpu_cmdbuf *b, uint16_t surface, uint32_t x, uint32_t y, uint32_t w,
                   uint32_t h, uint32_t argb);
/* damage_w == 0: the whole surface changed. */
void vgpu_cmd_present(struct vgpu_cmdbuf *b, uint16_t surface, int16_t z, int32_t x, int32_t y,
                      uint32_t damage_x, uint32_t damage_y, uint32_t damage_w, uint32_t damage_h);
void vgpu_cmd_fence(struct vgpu_cmdbuf *b, uint64_t value);
/* An overlay of surface's src rectangle at the screen rectangle dst (flags: 1 bilinear, 2 BT.709). */
void vgpu_cmd_overlay_set(struct vgpu_cmdbuf *b, uint8_t overlay, uint8_t flags, int16_t z,
                          uint16_t surface, uint8_t alpha, uint8_t key_mode, struct vgpu_rect src,
                          int32_t dst_x, int32_t dst_y, uint32_t dst_w, uint32_t dst_h, uint32_t key);
/* count instructions, 8 bytes each (struct vgpu_insn). */
void vgpu_cmd_shader_upload(struct vgpu_cmdbuf *b, uint16_t shader, const void *insns,
                            uint16_t count);
/* A draw with no textures and no uniforms. */
void vgpu_cmd_draw(struct vgpu_cmdbuf *b, uint16_t dst, uint16_t shader, uint32_t x, uint32_t y,
                   uint32_t w, uint32_t h);
/* Any bytes as one command with opcode op (size: 4 + len): what a hostile client sends. */
void vgpu_cmd_raw(struct vgpu_cmdbuf *b, uint16_t op, const void *body, uint16_t len);

#endif
