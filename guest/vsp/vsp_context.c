#include "guest/vsp/vsp_context.h"

#include <string.h>

#include "guest/vsp/vsp_builtin.h"
#include "guest/vsp/vsp_cmd_parse.h"

void vsp_context_init(struct vsp_context *c, const struct vsp_client_ram *ram,
                      void (*damage)(void *arg, const struct vsp_screen_rect *r), void *arg)
{
    memset(c, 0, sizeof(*c));
    c->ram = *ram;
    c->damage = damage;
    c->damage_arg = arg;
    c->error.shader_insn = -1;
}

static void damage(struct vsp_context *c, int64_t x, int64_t y, uint64_t w, uint64_t h)
{
    if (x < INT32_MIN || x > INT32_MAX || y < INT32_MIN || y > INT32_MAX)
        return;
    struct vsp_screen_rect r = { (int32_t)x, (int32_t)y,
                                 (uint32_t)(w > UINT32_MAX ? UINT32_MAX : w),
                                 (uint32_t)(h > UINT32_MAX ? UINT32_MAX : h) };
    c->damage(c->damage_arg, &r);
}

static void damage_window(struct vsp_context *c)
{
    if (c->window.live) {
        const struct vsp_surface *s = &c->surface[c->window.surface];
        damage(c, c->window.x, c->window.y, s->w, s->h);
    }
}

static void damage_overlay(struct vsp_context *c, const struct vsp_overlay *o)
{
    if (o->live)
        damage(c, o->dst.x, o->dst.y, o->dst.w, o->dst.h);
}

void vsp_context_damage_all(struct vsp_context *c)
{
    damage_window(c);
    for (unsigned i = 0; i < VGPU_MAX_OVERLAYS; i++)
        damage_overlay(c, &c->overlay[i]);
}

/* [lo, hi) of the surface changed in rows y..y+h, columns x..x+w: damage where it shows. */
static void surface_damage(struct vsp_context *c, uint16_t sid, uint32_t x, uint32_t y,
                           uint32_t w, uint32_t h)
{
    if (c->window.live && c->window.surface == sid)
        damage(c, (int64_t)c->window.x + x, (int64_t)c->window.y + y, w, h);
    for (unsigned i = 0; i < VGPU_MAX_OVERLAYS; i++) {
        const struct vsp_overlay *o = &c->overlay[i];
        if (!o->live || o->surface != sid)
            continue;
        int64_t x0 = x > o->src.x ? x : o->src.x, y0 = y > o->src.y ? y : o->src.y;
        int64_t x1 = (int64_t)x + w, y1 = (int64_t)y + h;
        if (x1 > (int64_t)o->src.x + o->src.w)
            x1 = (int64_t)o->src.x + o->src.w;
        if (y1 > (int64_t)o->src.y + o->src.h)
            y1 = (int64_t)o->src.y + o->src.h;
        if (x0 >= x1 || y0 >= y1)
            continue;
        /* scaled to the screen, one pixel wider each side for bilinear filtering */
        int64_t dx0 = (x0 - o->src.x) * o->dst.w / o->src.w - 1;
        int64_t dx1 = ((x1 - o->src.x) * o->dst.w + o->src.w - 1) / o->src.w + 1;
        int64_t dy0 = (y0 - o->src.y) * o->dst.h / o->src.h - 1;
        int64_t dy1 = ((y1 - o->src.y) * o->dst.h + o->src.h - 1) / o->src.h + 1;
        damage(c, o->dst.x + dx0, o->dst.y + dy0, (uint64_t)(dx1 - dx0), (uint64_t)(dy1 - dy0));
    }
}

void vsp_context_damage_gpa(struct vsp_context *c, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa)
        return;
    for (uint16_t i = 0; i < VGPU_MAX_SURFACES; i++) {
        const struct vsp_surface *s = &c->surface[i];
        if (!s->live || gpa >= s->gpa + s->bytes || gpa + len <= s->gpa)
            continue;
        uint64_t o0 = (gpa > s->gpa ? gpa : s->gpa) - s->gpa;
        uint64_t o1 = (gpa + len < s->gpa + s->bytes ? gpa + len : s->gpa + s->bytes) - s->gpa;
        uint64_t plane = (uint64_t)s->stride * s->h;
        uint64_t y0 = UINT64_MAX, y1 = 0;       /* rows, inclusive */
        if (o0 < plane) {
            y0 = o0 / s->stride;
            y1 = ((o1 < plane ? o1 : plane) - 1) / s->stride;
        }
        if (o1 > plane) {                       /* NV12's chroma plane: two rows each */
            uint64_t c0 = ((o0 > plane ? o0 : plane) - plane) / s->stride * 2;
            uint64_t c1 = (o1 - 1 - plane) / s->stride * 2 + 1;
            y0 = c0 < y0 ? c0 : y0;
            y1 = c1 > y1 ? c1 : y1;
        }
        if (y1 >= s->h)
            y1 = s->h - 1;
        surface_damage(c, i, 0, (uint32_t)y0, s->w, (uint32_t)(y1 - y0 + 1));
    }
}

size_t vsp_context_layers(const struct vsp_context *c, uint8_t client, struct vsp_layer *out)
{
    size_t n = 0;
    if (c->window.live) {
        const struct vsp_surface *s = &c->surface[c->window.surface];
        out[n++] = (struct vsp_layer){
            .z = c->window.z, .client = client, .order = 0, .surface = s,
            .src = { 0, 0, s->w, s->h }, .dst = { c->window.x, c->window.y, s->w, s->h },
            .shader = c->window.shader, .uniform = c->window_uniform,
        };
    }
    for (unsigned i = 0; i < VGPU_MAX_OVERLAYS; i++) {
        const struct vsp_overlay *o = &c->overlay[i];
        if (!o->live)
            continue;
        out[n++] = (struct vsp_layer){
            .z = o->z, .client = client, .order = (uint8_t)(1 + i),
            .surface = &c->surface[o->surface], .src = o->src, .dst = o->dst,
            .shader = &o->shader, .uniform = o->uniform,
        };
    }
    return n;
}

static struct vsp_surface *live_surface(struct vsp_context *c, uint16_t id)
{
    return id < VGPU_MAX_SURFACES && c->surface[id].live ? &c->surface[id] : NULL;
}

static enum vsp_err surface_create(struct vsp_context *c, const struct vsp_cmd *cmd)
{
    struct vsp_surface *s = &c->surface[cmd->u.create.surface];
    uint64_t bytes;
    if (s->live)
        return VSP_E_IN_USE;
    enum vsp_err e = vsp_surface_layout(cmd->u.create.format, cmd->u.create.w, cmd->u.create.h,
                                        cmd->u.create.stride, &bytes);
    if (e != VSP_OK)
        return e;
    uint64_t gpa = cmd->u.create.gpa;
    uint8_t *pix = gpa + bytes < gpa ? NULL : c->ram.map(c->ram.ctx, gpa, bytes);
    if (!pix)
        return VSP_E_OUT_OF_RAM;
    *s = (struct vsp_surface){
        .live = true, .format = cmd->u.create.format, .w = cmd->u.create.w,
        .h = cmd->u.create.h, .stride = cmd->u.create.stride, .gpa = gpa, .bytes = bytes,
        .pix = pix,
    };
    return VSP_OK;
}

static enum vsp_err surface_destroy(struct vsp_context *c, const struct vsp_cmd *cmd)
{
    uint16_t id = cmd->u.destroy.surface;
    if (!live_surface(c, id))
        return VSP_E_NO_SURFACE;
    if (c->window.live && c->window.surface == id) {
        damage_window(c);
        c->window.live = false;
    }
    for (unsigned i = 0; i < VGPU_MAX_OVERLAYS; i++)
        if (c->overlay[i].live && c->overlay[i].surface == id) {
            damage_overlay(c, &c->overlay[i]);
            c->overlay[i].live = false;
        }
    c->surface[id].live = false;
    return VSP_OK;
}

static enum vsp_err fill(struct vsp_context *c, const struct vsp_engine_ops *eng,
                         const struct vsp_cmd *cmd, int64_t *budget, bool *done)
{
    struct vsp_surface *s = live_surface(c, cmd->u.fill.surface);
    const struct vgpu_rect *r = &cmd->u.fill.rect;
    if (!s)
        return VSP_E_NO_SURFACE;
    if (!vsp_format_is_rgb(s->format))
        return VSP_E_BAD_FORMAT;
    if (!vsp_rect_inside(s, r->x, r->y, r->w, r->h))
        return VSP_E_OUT_OF_BOUNDS;
    *done = eng->fill(s, r, cmd->u.fill.argb, &c->pos, budget);
    if (*done)
        surface_damage(c, cmd->u.fill.surface, r->x, r->y, r->w, r->h);
    return VSP_OK;
}

static enum vsp_err blit(struct vsp_context *c, const struct vsp_engine_ops *eng,
                         const struct vsp_cmd *cmd, int64_t *budget, bool *done)
{
    struct vsp_surface *d = live_surface(c, cmd->u.blit.dst);
    struct vsp_surface *s = live_surface(c, cmd->u.blit.src);
    const struct vgpu_rect *r = &cmd->u.blit.src_rect;
    if (!d || !s)
        return VSP_E_NO_SURFACE;
    if (!vsp_format_is_rgb(d->format) || !vsp_format_is_rgb(s->format))
        return VSP_E_BAD_FORMAT;
    if (!vsp_rect_inside(s, r->x, r->y, r->w, r->h) ||
        !vsp_rect_inside(d, cmd->u.blit.dst_x, cmd->u.blit.dst_y, r->w, r->h))
        return VSP_E_OUT_OF_BOUNDS;
    *done = eng->blit(d, cmd->u.blit.dst_x, cmd->u.blit.dst_y, s, r, &c->pos, budget);
    if (*done)
        surface_damage(c, cmd->u.blit.dst, cmd->u.blit.dst_x, cmd->u.blit.dst_y, r->w, r->h);
    return VSP_OK;
}

static enum vsp_err draw(struct vsp_context *c, const struct vsp_engine_ops *eng,
                         const struct vsp_cmd *cmd, int64_t *budget, bool *done)
{
    struct vsp_surface *d = live_surface(c, cmd->u.draw.dst);
    const struct vgpu_rect *r = &cmd->u.draw.rect;
    const struct vsp_shader *sh;
    if (!d)
        return VSP_E_NO_SURFACE;
    if (!vsp_format_is_rgb(d->format))
        return VSP_E_BAD_FORMAT;
    if (!vsp_rect_inside(d, r->x, r->y, r->w, r->h))
        return VSP_E_OUT_OF_BOUNDS;
    if (cmd->u.draw.shader >= VGPU_BUILTIN_SHADER) {
        if (!vsp_builtin_shader(cmd->u.draw.shader - VGPU_BUILTIN_SHADER, &c->scratch))
            return VSP_E_NO_SHADER;
        sh = &c->scratch;
    } else {
        sh = &c->shader[cmd->u.draw.shader];
        if (!sh->live)
            return VSP_E_NO_SHADER;
    }
    struct vsp_draw dr = { .dst = d, .rect = *r, .shader = sh };
    for (unsigned t = 0; t < VGPU_TEXTURES; t++) {
        uint16_t id = cmd->u.draw.texture[t];
        if (id == VGPU_NO_SURFACE) {
            if (sh->textures >> t & 1)
                return VSP_E_TEXTURE;
            continue;
        }
        const struct vsp_surface *ts = live_surface(c, id);
        if (!ts)
            return VSP_E_NO_SURFACE;
        dr.env.tex[t] = (struct vsp_texture){ ts, 0, 0, ts->w, ts->h };
    }
    memcpy(dr.env.uniform, cmd->u.draw.uniform, sizeof(dr.env.uniform));
    *done = eng->draw(&dr, &c->pos, budget);
    if (*done)
        surface_damage(c, cmd->u.draw.dst, r->x, r->y, r->w, r->h);
    return VSP_OK;
}

static enum vsp_err present(struct vsp_context *c, const struct vsp_cmd *cmd)
{
    uint16_t id = cmd->u.present.surface;
    if (id == VGPU_NO_SURFACE) {
        damage_window(c);
        c->window.live = false;
        return VSP_OK;
    }
    const struct vsp_surface *s = live_surface(c, id);
    const struct vgpu_rect *dm = &cmd->u.present.damage;
    if (!s)
        return VSP_E_NO_SURFACE;
    if (!vsp_format_is_rgb(s->format))
        return VSP_E_BAD_FORMAT;
    if (dm->w && !vsp_rect_inside(s, dm->x, dm->y, dm->w, dm->h))
        return VSP_E_OUT_OF_BOUNDS;
    bool same = c->window.live && c->window.surface == id && c->window.z == cmd->u.present.z &&
                c->window.x == cmd->u.present.x && c->window.y == cmd->u.present.y;
    if (!same)
        damage_window(c);
    c->window = (struct vsp_window){ .live = true, .surface = id, .z = cmd->u.present.z,
                                     .x = cmd->u.present.x, .y = cmd->u.present.y };
    if (s->format == VGPU_FMT_ARGB8888) {
        vsp_builtin_shader(VSP_BUILTIN_BLEND, &c->window_blend);
        vsp_builtin_uniforms(c->window_uniform, s->w, s->h, s->w, s->h, false, false, 0, 255);
        c->window.shader = &c->window_blend;
    }
    if (same && dm->w)
        surface_damage(c, id, dm->x, dm->y, dm->w, dm->h);
    else
        damage_window(c);
    return VSP_OK;
}

static enum vsp_err overlay_set(struct vsp_context *c, const struct vsp_cmd *cmd)
{
    const struct vsp_surface *s = live_surface(c, cmd->u.overlay.surface);
    const struct vgpu_rect *r = &cmd->u.overlay.src;
    uint64_t dw = cmd->u.overlay.dst_w, dh = cmd->u.overlay.dst_h;
    if (!s)
        return VSP_E_NO_SURFACE;
    if (!vsp_rect_inside(s, r->x, r->y, r->w, r->h))
        return VSP_E_OUT_OF_BOUNDS;
    if (dw * 16 < r->w || dw > (uint64_t)r->w * 16 || dh * 16 < r->h || dh > (uint64_t)r->h * 16)
        return VSP_E_BAD_SCALE;
    struct vsp_overlay *o = &c->overlay[cmd->u.overlay.overlay];
    damage_overlay(c, o);
    bool bilinear = cmd->u.overlay.flags & VGPU_OVERLAY_BILINEAR;
    uint32_t bits = (bilinear ? VSP_BUILTIN_BILINEAR : 0) |
                    (vsp_format_is_rgb(s->format) ? 0 : VSP_BUILTIN_YUV) |
                    (cmd->u.overlay.key_mode == VGPU_KEY_SOURCE ? VSP_BUILTIN_KEY_SRC : 0) |
                    (cmd->u.overlay.key_mode == VGPU_KEY_DEST ? VSP_BUILTIN_KEY_DST : 0) |
                    (cmd->u.overlay.alpha < 255 || !vsp_format_is_opaque(s->format)
                         ? VSP_BUILTIN_BLEND : 0);
    *o = (struct vsp_overlay){
        .live = true, .surface = cmd->u.overlay.surface, .flags = cmd->u.overlay.flags,
        .alpha = cmd->u.overlay.alpha, .key_mode = cmd->u.overlay.key_mode,
        .z = cmd->u.overlay.z, .key = cmd->u.overlay.key, .src = *r,
        .dst = { cmd->u.overlay.dst_x, cmd->u.overlay.dst_y, (uint32_t)dw, (uint32_t)dh },
    };
    vsp_builtin_shader(bits, &o->shader);
    vsp_builtin_uniforms(o->uniform, r->w, r->h, (uint32_t)dw, (uint32_t)dh, bilinear,
                         cmd->u.overlay.flags & VGPU_OVERLAY_BT709, o->key, o->alpha);
    damage_overlay(c, o);
    return VSP_OK;
}

static enum vsp_err shader_upload(struct vsp_context *c, const struct vsp_cmd *cmd,
                                  int64_t *budget)
{
    int32_t bad;
    *budget -= cmd->u.shader.count;             /* verifying costs per instruction */
    enum vsp_verify_err v = vsp_shader_verify(cmd->u.shader.insns, cmd->u.shader.count,
                                              &c->scratch, &bad);
    if (v != VSP_V_OK) {
        c->error.shader_insn = bad;
        c->error.shader_why = v;
        return VSP_E_SHADER_REFUSED;
    }
    c->shader[cmd->u.shader.shader] = c->scratch;
    return VSP_OK;
}

static enum vsp_err run(struct vsp_context *c, const struct vsp_engine_ops *eng,
                        const struct vsp_cmd *cmd, int64_t *budget, bool *done)
{
    *done = true;
    switch (cmd->op) {
    case VGPU_OP_SURFACE_CREATE: return surface_create(c, cmd);
    case VGPU_OP_SURFACE_DESTROY: return surface_destroy(c, cmd);
    case VGPU_OP_FILL: return fill(c, eng, cmd, budget, done);
    case VGPU_OP_BLIT: return blit(c, eng, cmd, budget, done);
    case VGPU_OP_DRAW: return draw(c, eng, cmd, budget, done);
    case VGPU_OP_PRESENT: return present(c, cmd);
    case VGPU_OP_FENCE: c->fence = cmd->u.fence.value; return VSP_OK;
    case VGPU_OP_OVERLAY_SET: return overlay_set(c, cmd);
    case VGPU_OP_OVERLAY_DESTROY:
        if (!c->overlay[cmd->u.overlay_destroy.overlay].live)
            return VSP_E_BAD_ID;
        damage_overlay(c, &c->overlay[cmd->u.overlay_destroy.overlay]);
        c->overlay[cmd->u.overlay_destroy.overlay].live = false;
        return VSP_OK;
    default: return shader_upload(c, cmd, budget);
    }
}

static enum vsp_exec refuse(struct vsp_context *c, enum vsp_err e, size_t off, uint16_t op)
{
    if (e != VSP_E_SHADER_REFUSED) {
        c->error.shader_insn = -1;
        c->error.shader_why = 0;
    }
    c->error.err = e;
    c->error.offset = (uint32_t)off;
    c->error.op = op;
    c->error.refusals++;
    c->in_command = false;
    return VSP_EXEC_REFUSED;
}

enum vsp_exec vsp_context_exec(struct vsp_context *c, const struct vsp_engine_ops *eng,
                               const uint8_t *buf, size_t len, size_t *off, int64_t *budget)
{
    while (*off < len) {
        struct vsp_cmd cmd;
        cmd.op = 0;
        enum vsp_err e = vsp_cmd_parse(buf, len, *off, &cmd);
        if (e != VSP_OK)
            return refuse(c, e, *off, cmd.op);
        if (!c->in_command) {
            if (*budget <= 0)
                return VSP_EXEC_CUT;
            *budget -= VSP_COST_COMMAND;
            c->in_command = true;
            c->pos = (struct vsp_pos){ 0, 0 };
        }
        bool done;
        e = run(c, eng, &cmd, budget, &done);
        if (e != VSP_OK)
            return refuse(c, e, *off, cmd.op);
        if (!done)
            return VSP_EXEC_CUT;
        c->in_command = false;
        c->commands++;
        *off += cmd.size;
    }
    return VSP_EXEC_DONE;
}
