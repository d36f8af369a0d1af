/*
 * Reads one command of a client's command buffer into a decoded struct, checking what
 * needs no context: the header, the exact size, reserved fields and the id ranges.  What
 * needs the context (does the surface exist, is the rectangle inside it) is checked when
 * the command runs (vsp_context.c).  The buffer is the VSP's own copy: the client cannot
 * change it between check and use.
 */
#ifndef ATOLL_GUEST_VSP_VSP_CMD_PARSE_H
#define ATOLL_GUEST_VSP_VSP_CMD_PARSE_H
#include <stddef.h>
#include <stdint.h>

#include "guest/vsp/vgpu_cmd.h"
#include "guest/vsp/vsp_err.h"

struct vsp_cmd {
    uint16_t op, size;
    union {
        struct { uint16_t surface, format; uint32_t w, h, stride; uint64_t gpa; } create;
        struct { uint16_t surface; } destroy;
        struct { uint16_t surface; struct vgpu_rect rect; uint32_t argb; } fill;
        struct { uint16_t dst, src; uint32_t dst_x, dst_y; struct vgpu_rect src_rect; } blit;
        struct {
            uint16_t dst, shader;
            struct vgpu_rect rect;
            uint16_t texture[VGPU_TEXTURES];
            uint32_t uniforms;
            int32_t uniform[VGPU_MAX_UNIFORMS][4];
        } draw;
        struct { uint16_t surface; int16_t z; int32_t x, y; struct vgpu_rect damage; } present;
        struct { uint64_t value; } fence;
        struct {
            uint8_t overlay, flags, alpha, key_mode;
            int16_t z;
            uint16_t surface;
            struct vgpu_rect src;
            int32_t dst_x, dst_y;
            uint32_t dst_w, dst_h, key;
        } overlay;
        struct { uint8_t overlay; } overlay_destroy;
        struct { uint16_t shader, count; const uint8_t *insns; } shader;
    } u;
};

/* Decodes the command at buf[off..len).  VSP_OK and *cmd filled (cmd->size bytes long), or
 * why not. */
enum vsp_err vsp_cmd_parse(const uint8_t *buf, size_t len, size_t off, struct vsp_cmd *cmd);

#endif
