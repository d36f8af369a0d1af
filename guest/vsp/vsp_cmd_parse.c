#include "guest/vsp/vsp_cmd_parse.h"

#include "guest/vsp/vsp_shader.h"

static uint16_t le16(const uint8_t *p, size_t o)
{
    return (uint16_t)(p[o] | p[o + 1] << 8);
}

static uint32_t le32(const uint8_t *p, size_t o)
{
    return (uint32_t)p[o] | (uint32_t)p[o + 1] << 8 | (uint32_t)p[o + 2] << 16 |
           (uint32_t)p[o + 3] << 24;
}

static uint64_t le64(const uint8_t *p, size_t o)
{
    return le32(p, o) | (uint64_t)le32(p, o + 4) << 32;
}

static struct vgpu_rect rect_at(const uint8_t *p, size_t o)
{
    return (struct vgpu_rect){ le32(p, o), le32(p, o + 4), le32(p, o + 8), le32(p, o + 12) };
}

/* The fixed size of each command; draw and shader upload add a counted tail. */
static const uint16_t fixed_size[] = {
    [VGPU_OP_SURFACE_CREATE] = 32, [VGPU_OP_SURFACE_DESTROY] = 8, [VGPU_OP_FILL] = 28,
    [VGPU_OP_BLIT] = 32, [VGPU_OP_DRAW] = 32, [VGPU_OP_PRESENT] = 32, [VGPU_OP_FENCE] = 16,
    [VGPU_OP_OVERLAY_SET] = 52, [VGPU_OP_OVERLAY_DESTROY] = 8, [VGPU_OP_SHADER_UPLOAD] = 8,
};

static enum vsp_err check_size(uint16_t op, uint16_t size, const uint8_t *p)
{
    uint16_t fixed = fixed_size[op];
    if (op == VGPU_OP_DRAW) {
        if (size < fixed || (size - fixed) % 16 || (uint32_t)(size - fixed) / 16 > VGPU_MAX_UNIFORMS)
            return VSP_E_BAD_SIZE;
        return VSP_OK;
    }
    if (op == VGPU_OP_SHADER_UPLOAD) {
        uint32_t count = le16(p, 6);
        if (count == 0 || count > VSP_SHADER_MAX_INSNS)
            return VSP_E_BAD_SIZE;
        return size == fixed + 8 * count ? VSP_OK : VSP_E_BAD_SIZE;
    }
    return size == fixed ? VSP_OK : VSP_E_BAD_SIZE;
}

static enum vsp_err decode(const uint8_t *p, struct vsp_cmd *c)
{
    switch (c->op) {
    case VGPU_OP_SURFACE_CREATE:
        c->u.create.surface = le16(p, 4);
        c->u.create.format = le16(p, 6);
        c->u.create.w = le32(p, 8);
        c->u.create.h = le32(p, 12);
        c->u.create.stride = le32(p, 16);
        c->u.create.gpa = le64(p, 24);
        if (le32(p, 20))
            return VSP_E_RESERVED;
        return c->u.create.surface < VGPU_MAX_SURFACES ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_SURFACE_DESTROY:
        c->u.destroy.surface = le16(p, 4);
        if (le16(p, 6))
            return VSP_E_RESERVED;
        return c->u.destroy.surface < VGPU_MAX_SURFACES ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_FILL:
        c->u.fill.surface = le16(p, 4);
        c->u.fill.rect = rect_at(p, 8);
        c->u.fill.argb = le32(p, 24);
        if (le16(p, 6))
            return VSP_E_RESERVED;
        return c->u.fill.surface < VGPU_MAX_SURFACES ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_BLIT:
        c->u.blit.dst = le16(p, 4);
        c->u.blit.src = le16(p, 6);
        c->u.blit.dst_x = le32(p, 8);
        c->u.blit.dst_y = le32(p, 12);
        c->u.blit.src_rect = rect_at(p, 16);
        return c->u.blit.dst < VGPU_MAX_SURFACES && c->u.blit.src < VGPU_MAX_SURFACES
                   ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_DRAW: {
        c->u.draw.dst = le16(p, 4);
        c->u.draw.shader = le16(p, 6);
        c->u.draw.rect = rect_at(p, 8);
        for (unsigned t = 0; t < VGPU_TEXTURES; t++) {
            c->u.draw.texture[t] = le16(p, 24 + 2 * t);
            if (c->u.draw.texture[t] >= VGPU_MAX_SURFACES && c->u.draw.texture[t] != VGPU_NO_SURFACE)
                return VSP_E_BAD_ID;
        }
        c->u.draw.uniforms = (uint32_t)(c->size - 32) / 16;
        for (unsigned i = 0; i < VGPU_MAX_UNIFORMS; i++)
            for (unsigned l = 0; l < 4; l++)
                c->u.draw.uniform[i][l] = i < c->u.draw.uniforms ? (int32_t)le32(p, 32 + 16 * i + 4 * l) : 0;
        uint16_t sh = c->u.draw.shader;
        bool ok = c->u.draw.dst < VGPU_MAX_SURFACES &&
                  (sh < VGPU_MAX_SHADERS || sh >= VGPU_BUILTIN_SHADER);
        return ok ? VSP_OK : VSP_E_BAD_ID;
    }
    case VGPU_OP_PRESENT:
        c->u.present.surface = le16(p, 4);
        c->u.present.z = (int16_t)le16(p, 6);
        c->u.present.x = (int32_t)le32(p, 8);
        c->u.present.y = (int32_t)le32(p, 12);
        c->u.present.damage = rect_at(p, 16);
        return c->u.present.surface < VGPU_MAX_SURFACES || c->u.present.surface == VGPU_NO_SURFACE
                   ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_FENCE:
        c->u.fence.value = le64(p, 8);
        return le32(p, 4) ? VSP_E_RESERVED : VSP_OK;
    case VGPU_OP_OVERLAY_SET:
        c->u.overlay.overlay = p[4];
        c->u.overlay.flags = p[5];
        c->u.overlay.z = (int16_t)le16(p, 6);
        c->u.overlay.surface = le16(p, 8);
        c->u.overlay.alpha = p[10];
        c->u.overlay.key_mode = p[11];
        c->u.overlay.src = rect_at(p, 12);
        c->u.overlay.dst_x = (int32_t)le32(p, 28);
        c->u.overlay.dst_y = (int32_t)le32(p, 32);
        c->u.overlay.dst_w = le32(p, 36);
        c->u.overlay.dst_h = le32(p, 40);
        c->u.overlay.key = le32(p, 44);
        if (le32(p, 48) || (c->u.overlay.flags & ~(VGPU_OVERLAY_BILINEAR | VGPU_OVERLAY_BT709)) ||
            c->u.overlay.key_mode > VGPU_KEY_DEST || (c->u.overlay.key >> 24))
            return VSP_E_RESERVED;
        return c->u.overlay.overlay < VGPU_MAX_OVERLAYS && c->u.overlay.surface < VGPU_MAX_SURFACES
                   ? VSP_OK : VSP_E_BAD_ID;
    case VGPU_OP_OVERLAY_DESTROY:
        c->u.overlay_destroy.overlay = p[4];
        if (p[5] || p[6] || p[7])
            return VSP_E_RESERVED;
        return p[4] < VGPU_MAX_OVERLAYS ? VSP_OK : VSP_E_BAD_ID;
    default:                    /* VGPU_OP_SHADER_UPLOAD */
        c->u.shader.shader = le16(p, 4);
        c->u.shader.count = le16(p, 6);
        c->u.shader.insns = p + 8;
        return c->u.shader.shader < VGPU_MAX_SHADERS ? VSP_OK : VSP_E_BAD_ID;
    }
}

enum vsp_err vsp_cmd_parse(const uint8_t *buf, size_t len, size_t off, struct vsp_cmd *cmd)
{
    if (off > len || len - off < 4)
        return VSP_E_TRUNCATED;
    const uint8_t *p = buf + off;
    cmd->op = le16(p, 0);
    cmd->size = le16(p, 2);
    if (cmd->op == 0 || cmd->op > VGPU_OP_SHADER_UPLOAD)
        return VSP_E_BAD_OP;
    if (cmd->size < 4 || cmd->size % 4)
        return VSP_E_BAD_SIZE;
    if (cmd->size > len - off)
        return VSP_E_TRUNCATED;
    if (cmd->size < fixed_size[cmd->op])
        return VSP_E_BAD_SIZE;
    enum vsp_err e = check_size(cmd->op, cmd->size, p);
    if (e != VSP_OK)
        return e;
    return decode(p, cmd);
}
