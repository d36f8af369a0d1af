/* Builds vgpu command buffers for the tests, fuzz seeds and bench (little-endian, as the
 * contract in guest/vsp/vgpu_cmd.h lays them out). */
#ifndef ATOLL_TESTS_UNIT_VSP_CMDBUF_H
#define ATOLL_TESTS_UNIT_VSP_CMDBUF_H
#include <stddef.h>
#include <stdint.h>

#include "guest/vsp/vgpu_cmd.h"
#include "guest/vsp/vsp_shader.h"

struct cmdbuf {
    uint8_t b[65536];
    size_t n;
};

void cb_reset(struct cmdbuf *c);
void cb_surface(struct cmdbuf *c, uint16_t id, uint16_t fmt, uint32_t w, uint32_t h,
                uint32_t stride, uint64_t gpa);
void cb_destroy(struct cmdbuf *c, uint16_t id);
void cb_fill(struct cmdbuf *c, uint16_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
             uint32_t argb);
void cb_blit(struct cmdbuf *c, uint16_t dst, uint16_t src, uint32_t dx, uint32_t dy,
             uint32_t sx, uint32_t sy, uint32_t w, uint32_t h);
void cb_draw(struct cmdbuf *c, uint16_t dst, uint16_t shader, uint32_t x, uint32_t y,
             uint32_t w, uint32_t h, const uint16_t tex[4], const int32_t (*u)[4],
             unsigned uniforms);
void cb_present(struct cmdbuf *c, uint16_t id, int16_t z, int32_t x, int32_t y,
                uint32_t dx, uint32_t dy, uint32_t dw, uint32_t dh);
void cb_fence(struct cmdbuf *c, uint64_t value);
void cb_overlay(struct cmdbuf *c, uint8_t id, uint8_t flags, int16_t z, uint16_t surface,
                uint8_t alpha, uint8_t key_mode, uint32_t sx, uint32_t sy, uint32_t sw,
                uint32_t sh, int32_t dx, int32_t dy, uint32_t dw, uint32_t dh, uint32_t key);
void cb_overlay_destroy(struct cmdbuf *c, uint8_t id);
void cb_shader(struct cmdbuf *c, uint16_t id, const struct vgpu_insn *insn, uint16_t count);

#endif
