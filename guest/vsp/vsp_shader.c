#include "guest/vsp/vsp_shader.h"

#include <stddef.h>

/* Which fields an opcode uses. */
enum { F_D = 1, F_A = 2, F_B = 4 };
enum imm_kind { I_ZERO, I_ANY, I_SHIFT, I_SHIFT64, I_UNIFORM, I_SWIZZLE, I_TEXTURE, I_KIL, I_LOOP };

static const struct {
    uint8_t fields;
    uint8_t imm;
} shape[VSP_OP_COUNT] = {
    [VSP_OP_END] = { 0, I_ZERO },
    [VSP_OP_MOV] = { F_D | F_A, I_ZERO },
    [VSP_OP_LDI] = { F_D, I_ANY },
    [VSP_OP_LDU] = { F_D, I_UNIFORM },
    [VSP_OP_ADD] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_SUB] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_MUL] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_MULSHR] = { F_D | F_A | F_B, I_SHIFT64 },
    [VSP_OP_SHR] = { F_D | F_A, I_SHIFT },
    [VSP_OP_SHL] = { F_D | F_A, I_SHIFT },
    [VSP_OP_ADDI] = { F_D | F_A, I_ANY },
    [VSP_OP_MIN] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_MAX] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_AND] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_SLT] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_SEQ] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_SEL] = { F_D | F_A | F_B, I_ZERO },
    [VSP_OP_SWZ] = { F_D | F_A, I_SWIZZLE },
    [VSP_OP_TEX] = { F_D | F_A, I_TEXTURE },
    [VSP_OP_TEXB] = { F_D | F_A, I_TEXTURE },
    [VSP_OP_KIL] = { F_A, I_KIL },
    [VSP_OP_LOOP] = { 0, I_LOOP },
    [VSP_OP_ENDL] = { 0, I_ZERO },
};

static const char *const verify_names[VSP_V_COUNT] = {
    [VSP_V_OK] = "ok",
    [VSP_V_EMPTY] = "no instructions or too many",
    [VSP_V_BAD_OP] = "unknown opcode",
    [VSP_V_BAD_REG] = "register index above 15",
    [VSP_V_UNUSED_FIELD] = "register field the opcode does not use is not zero",
    [VSP_V_BAD_IMM] = "immediate out of range",
    [VSP_V_BAD_LOOP] = "loop count not 1..256, unmatched or nested above 4",
    [VSP_V_NO_END] = "does not end with END, or END inside a loop",
    [VSP_V_TOO_COSTLY] = "more than 4096 instructions per pixel",
};

const char *vsp_verify_err_name(enum vsp_verify_err e)
{
    return (unsigned)e < VSP_V_COUNT ? verify_names[e] : "unknown";
}

static bool imm_ok(uint8_t kind, int32_t imm)
{
    switch (kind) {
    case I_ZERO: return imm == 0;
    case I_ANY: return true;
    case I_SHIFT: return imm >= 0 && imm <= 31;
    case I_SHIFT64: return imm >= 0 && imm <= 62;
    case I_UNIFORM: return imm >= 0 && imm < 8;
    case I_SWIZZLE: return imm >= 0 && imm <= 255;
    case I_TEXTURE: return imm >= 0 && imm < 4;
    case I_KIL: return (imm & 15) != 0 && (imm & ~31) == 0;
    default: return imm >= 1 && imm <= VSP_SHADER_MAX_LOOP;     /* I_LOOP */
    }
}

static enum vsp_verify_err check_fields(const struct vgpu_insn *in)
{
    if (in->op >= VSP_OP_COUNT)
        return VSP_V_BAD_OP;
    uint8_t f = shape[in->op].fields;
    const uint8_t regs[3] = { in->d, in->a, in->b };
    for (unsigned i = 0; i < 3; i++) {
        if (!(f & (1u << i)) && regs[i])
            return VSP_V_UNUSED_FIELD;
        if (regs[i] >= VSP_SHADER_REGS)
            return VSP_V_BAD_REG;
    }
    return imm_ok(shape[in->op].imm, in->imm) ? VSP_V_OK : VSP_V_BAD_IMM;
}

enum vsp_verify_err vsp_shader_verify_insns(const struct vgpu_insn *insn, uint32_t count,
                                            struct vsp_shader *out, int32_t *bad_insn)
{
    *bad_insn = -1;
    out->live = false;
    if (count == 0 || count > VSP_SHADER_MAX_INSNS)
        return VSP_V_EMPTY;
    uint16_t open[VSP_SHADER_MAX_DEPTH];
    uint64_t mult[VSP_SHADER_MAX_DEPTH + 1] = { 1 };
    unsigned depth = 0;
    uint64_t cost = 0;
    uint8_t textures = 0;
    for (uint32_t i = 0; i < count; i++) {
        const struct vgpu_insn *in = &insn[i];
        enum vsp_verify_err e = check_fields(in);
        if (e != VSP_V_OK) {
            *bad_insn = (int32_t)i;
            return e;
        }
        out->insn[i] = *in;
        out->loop_end[i] = 0;
        cost += mult[depth];
        if (in->op == VSP_OP_TEX || in->op == VSP_OP_TEXB)
            textures |= (uint8_t)(1u << in->imm);
        if (in->op == VSP_OP_LOOP) {
            if (depth == VSP_SHADER_MAX_DEPTH) {
                *bad_insn = (int32_t)i;
                return VSP_V_BAD_LOOP;
            }
            open[depth++] = (uint16_t)i;
            mult[depth] = mult[depth - 1] * (uint64_t)in->imm;
        } else if (in->op == VSP_OP_ENDL) {
            if (depth == 0) {
                *bad_insn = (int32_t)i;
                return VSP_V_BAD_LOOP;
            }
            out->loop_end[open[--depth]] = (uint16_t)i;
        } else if (in->op == VSP_OP_END && (depth || i != count - 1)) {
            *bad_insn = (int32_t)i;
            return VSP_V_NO_END;
        }
        if (cost > VSP_SHADER_MAX_COST) {
            *bad_insn = (int32_t)i;
            return VSP_V_TOO_COSTLY;
        }
    }
    if (depth)
        return VSP_V_BAD_LOOP;
    if (insn[count - 1].op != VSP_OP_END)
        return VSP_V_NO_END;
    out->count = (uint16_t)count;
    out->cost = (uint32_t)cost;
    out->textures = textures;
    out->builtin = -1;
    out->live = true;
    return VSP_V_OK;
}

enum vsp_verify_err vsp_shader_verify(const uint8_t *bytes, uint32_t count,
                                      struct vsp_shader *out, int32_t *bad_insn)
{
    if (count == 0 || count > VSP_SHADER_MAX_INSNS) {
        *bad_insn = -1;
        out->live = false;
        return VSP_V_EMPTY;
    }
    struct vgpu_insn insn[VSP_SHADER_MAX_INSNS];
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *p = bytes + 8 * i;
        insn[i] = (struct vgpu_insn){
            .op = p[0], .d = p[1], .a = p[2], .b = p[3],
            .imm = (int32_t)((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                             (uint32_t)p[7] << 24),
        };
    }
    return vsp_shader_verify_insns(insn, count, out, bad_insn);
}

static inline int32_t clampi(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void vsp_tex_bilinear(const struct vsp_texture *t, int32_t fx, int32_t fy, int32_t out[4])
{
    int32_t x0 = fx >> 8, y0 = fy >> 8;
    int32_t wx = fx & 0xff, wy = fy & 0xff;
    int32_t a[4], b[4], c[4], d[4];
    vsp_tex_nearest(t, x0, y0, a);
    vsp_tex_nearest(t, x0 + 1, y0, b);
    vsp_tex_nearest(t, x0, y0 + 1, c);
    vsp_tex_nearest(t, x0 + 1, y0 + 1, d);
    for (unsigned l = 0; l < 4; l++) {
        int32_t top = a[l] * (256 - wx) + b[l] * wx;
        int32_t bot = c[l] * (256 - wx) + d[l] * wx;
        out[l] = (top * (256 - wy) + bot * wy + 32768) >> 16;
    }
}

static inline int32_t wrap(uint32_t v)
{
    return (int32_t)v;
}

uint32_t vsp_shader_run(const struct vsp_shader *sh, const struct vsp_shader_env *env,
                        int32_t x, int32_t y, int32_t px[4], bool *killed)
{
    int32_t r[VSP_SHADER_REGS][4] = { { x, y, 0, 0 }, { px[0], px[1], px[2], px[3] } };
    struct { uint16_t start; int32_t left; } loop[VSP_SHADER_MAX_DEPTH];
    unsigned depth = 0;
    uint32_t executed = 0;
    *killed = false;
    for (uint32_t pc = 0;; pc++) {
        const struct vgpu_insn *in = &sh->insn[pc];
        int32_t *d = r[in->d];
        const int32_t *a = r[in->a], *b = r[in->b];
        int32_t t[4];
        executed++;
        switch (in->op) {
        case VSP_OP_END:
            for (unsigned l = 0; l < 4; l++)
                px[l] = clampi(r[1][l], 0, 255);
            return executed;
        case VSP_OP_MOV: for (unsigned l = 0; l < 4; l++) t[l] = a[l]; break;
        case VSP_OP_LDI: for (unsigned l = 0; l < 4; l++) t[l] = in->imm; break;
        case VSP_OP_LDU: for (unsigned l = 0; l < 4; l++) t[l] = env->uniform[in->imm][l]; break;
        case VSP_OP_ADD: for (unsigned l = 0; l < 4; l++) t[l] = wrap((uint32_t)a[l] + (uint32_t)b[l]); break;
        case VSP_OP_SUB: for (unsigned l = 0; l < 4; l++) t[l] = wrap((uint32_t)a[l] - (uint32_t)b[l]); break;
        case VSP_OP_MUL: for (unsigned l = 0; l < 4; l++) t[l] = wrap((uint32_t)a[l] * (uint32_t)b[l]); break;
        case VSP_OP_MULSHR:
            for (unsigned l = 0; l < 4; l++)
                t[l] = wrap((uint32_t)(uint64_t)(((int64_t)a[l] * b[l]) >> in->imm));
            break;
        case VSP_OP_SHR: for (unsigned l = 0; l < 4; l++) t[l] = a[l] >> in->imm; break;
        case VSP_OP_SHL: for (unsigned l = 0; l < 4; l++) t[l] = wrap((uint32_t)a[l] << in->imm); break;
        case VSP_OP_ADDI: for (unsigned l = 0; l < 4; l++) t[l] = wrap((uint32_t)a[l] + (uint32_t)in->imm); break;
        case VSP_OP_MIN: for (unsigned l = 0; l < 4; l++) t[l] = a[l] < b[l] ? a[l] : b[l]; break;
        case VSP_OP_MAX: for (unsigned l = 0; l < 4; l++) t[l] = a[l] > b[l] ? a[l] : b[l]; break;
        case VSP_OP_AND: for (unsigned l = 0; l < 4; l++) t[l] = a[l] & b[l]; break;
        case VSP_OP_SLT: for (unsigned l = 0; l < 4; l++) t[l] = a[l] < b[l]; break;
        case VSP_OP_SEQ: for (unsigned l = 0; l < 4; l++) t[l] = a[l] == b[l]; break;
        case VSP_OP_SEL: for (unsigned l = 0; l < 4; l++) t[l] = d[l] ? a[l] : b[l]; break;
        case VSP_OP_SWZ: for (unsigned l = 0; l < 4; l++) t[l] = a[(in->imm >> (2 * l)) & 3]; break;
        case VSP_OP_TEX: vsp_tex_nearest(&env->tex[in->imm], a[0], a[1], t); break;
        case VSP_OP_TEXB: vsp_tex_bilinear(&env->tex[in->imm], a[0], a[1], t); break;
        case VSP_OP_KIL: {
            bool all = true;
            for (unsigned l = 0; l < 4; l++)
                if ((in->imm >> l & 1) && !a[l])
                    all = false;
            if (all != ((in->imm & VSP_KIL_UNLESS) != 0)) {
                *killed = true;
                return executed;
            }
            continue;
        }
        case VSP_OP_LOOP:
            loop[depth].start = (uint16_t)(pc + 1);
            loop[depth++].left = in->imm - 1;
            continue;
        default:                /* VSP_OP_ENDL */
            if (loop[depth - 1].left-- > 0)
                pc = loop[depth - 1].start - 1u;
            else
                depth--;
            continue;
        }
        for (unsigned l = 0; l < 4; l++)
            d[l] = t[l];
    }
}
