#include "tests/unit/vsp_cmdbuf.h"

static void put8(struct cmdbuf *c, uint8_t v) { c->b[c->n++] = v; }
static void put16(struct cmdbuf *c, uint16_t v) { put8(c, (uint8_t)v); put8(c, (uint8_t)(v >> 8)); }
static void put32(struct cmdbuf *c, uint32_t v) { put16(c, (uint16_t)v); put16(c, (uint16_t)(v >> 16)); }
static void put64(struct cmdbuf *c, uint64_t v) { put32(c, (uint32_t)v); put32(c, (uint32_t)(v >> 32)); }
static void hdr(struct cmdbuf *c, uint16_t op, uint16_t size) { put16(c, op); put16(c, size); }
static void rect(struct cmdbuf *c, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    put32(c, x); put32(c, y); put32(c, w); put32(c, h);
}

void cb_reset(struct cmdbuf *c) { c->n = 0; }

void cb_surface(struct cmdbuf *c, uint16_t id, uint16_t fmt, uint32_t w, uint32_t h,
                uint32_t stride, uint64_t gpa)
{
    hdr(c, VGPU_OP_SURFACE_CREATE, 32);
    put16(c, id); put16(c, fmt); put32(c, w); put32(c, h); put32(c, stride); put32(c, 0);
    put64(c, gpa);
}

void cb_destroy(struct cmdbuf *c, uint16_t id)
{
    hdr(c, VGPU_OP_SURFACE_DESTROY, 8);
    put16(c, id); put16(c, 0);
}

void cb_fill(struct cmdbuf *c, uint16_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
             uint32_t argb)
{
    hdr(c, VGPU_OP_FILL, 28);
    put16(c, id); put16(c, 0); rect(c, x, y, w, h); put32(c, argb);
}

void cb_blit(struct cmdbuf *c, uint16_t dst, uint16_t src, uint32_t dx, uint32_t dy,
             uint32_t sx, uint32_t sy, uint32_t w, uint32_t h)
{
    hdr(c, VGPU_OP_BLIT, 32);
    put16(c, dst); put16(c, src); put32(c, dx); put32(c, dy); rect(c, sx, sy, w, h);
}

void cb_draw(struct cmdbuf *c, uint16_t dst, uint16_t shader, uint32_t x, uint32_t y,
             uint32_t w, uint32_t h, const uint16_t tex[4], const int32_t (*u)[4],
             unsigned uniforms)
{
    hdr(c, VGPU_OP_DRAW, (uint16_t)(32 + 16 * uniforms));
    put16(c, dst); put16(c, shader); rect(c, x, y, w, h);
    for (unsigned t = 0; t < 4; t++)
        put16(c, tex ? tex[t] : VGPU_NO_SURFACE);
    for (unsigned i = 0; i < uniforms; i++)
        for (unsigned l = 0; l < 4; l++)
            put32(c, (uint32_t)u[i][l]);
}

void cb_present(struct cmdbuf *c, uint16_t id, int16_t z, int32_t x, int32_t y,
                uint32_t dx, uint32_t dy, uint32_t dw, uint32_t dh)
{
    hdr(c, VGPU_OP_PRESENT, 32);
    put16(c, id); put16(c, (uint16_t)z); put32(c, (uint32_t)x); put32(c, (uint32_t)y);
    rect(c, dx, dy, dw, dh);
}

void cb_fence(struct cmdbuf *c, uint64_t value)
{
    hdr(c, VGPU_OP_FENCE, 16);
    put32(c, 0); put64(c, value);
}

void cb_overlay(struct cmdbuf *c, uint8_t id, uint8_t flags, int16_t z, uint16_t surface,
                uint8_t alpha, uint8_t key_mode, uint32_t sx, uint32_t sy, uint32_t sw,
                uint32_t sh, int32_t dx, int32_t dy, uint32_t dw, uint32_t dh, uint32_t key)
{
    hdr(c, VGPU_OP_OVERLAY_SET, 52);
    put8(c, id); put8(c, flags); put16(c, (uint16_t)z); put16(c, surface); put8(c, alpha);
    put8(c, key_mode); rect(c, sx, sy, sw, sh); put32(c, (uint32_t)dx); put32(c, (uint32_t)dy);
    put32(c, dw); put32(c, dh); put32(c, key); put32(c, 0);
}

void cb_overlay_destroy(struct cmdbuf *c, uint8_t id)
{
    hdr(c, VGPU_OP_OVERLAY_DESTROY, 8);
    put8(c, id); put8(c, 0); put16(c, 0);
}

void cb_shader(struct cmdbuf *c, uint16_t id, const struct vgpu_insn *insn, uint16_t count)
{
    hdr(c, VGPU_OP_SHADER_UPLOAD, (uint16_t)(8 + 8 * count));
    put16(c, id); put16(c, count);
    for (uint16_t i = 0; i < count; i++) {
        put8(c, insn[i].op); put8(c, insn[i].d); put8(c, insn[i].a); put8(c, insn[i].b);
        put32(c, (uint32_t)insn[i].imm);
    }
}
