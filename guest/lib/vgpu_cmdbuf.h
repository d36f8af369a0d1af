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

#endif
