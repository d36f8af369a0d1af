#include "guest/vsp/vsp_builtin.h"

struct prog {
    struct vgpu_insn insn[64];
    uint32_t n;
};

static void emit(struct prog *p, uint8_t op, uint8_t d, uint8_t a, uint8_t b, int32_t imm)
{
    p->insn[p->n++] = (struct vgpu_insn){ op, d, a, b, imm };
}

/* x * 257 / 65536 rounding, exact x / 255 for products of two bytes: t = x + 128; (t + (t >> 8)) >> 8.
 * Divides reg by 255 in place, using tmp. */
static void div255(struct prog *p, uint8_t reg, uint8_t tmp)
{
    emit(p, VSP_OP_ADDI, reg, reg, 0, 0x80);
    emit(p, VSP_OP_SHR, tmp, reg, 0, 8);
    emit(p, VSP_OP_ADD, reg, reg, tmp, 0);
    emit(p, VSP_OP_SHR, reg, reg, 0, 8);
}

bool vsp_builtin_shader(uint32_t bits, struct vsp_shader *out)
{
    if (bits > VSP_BUILTIN_BITS || ((bits & VSP_BUILTIN_KEY_SRC) && (bits & VSP_BUILTIN_KEY_DST)))
        return false;
    struct prog p = { .n = 0 };
    /* R2 = source position in 24.8: x * step (16.16) >> 8 + start */
    emit(&p, VSP_OP_LDU, 2, 0, 0, 0);
    emit(&p, VSP_OP_MULSHR, 2, 0, 2, 8);
    emit(&p, VSP_OP_LDU, 3, 0, 0, 1);
    emit(&p, VSP_OP_ADD, 2, 2, 3, 0);
    if (bits & VSP_BUILTIN_BILINEAR) {
        emit(&p, VSP_OP_TEXB, 3, 2, 0, 0);
    } else {
        emit(&p, VSP_OP_SHR, 2, 2, 0, 8);
        emit(&p, VSP_OP_TEX, 3, 2, 0, 0);
    }
    if (bits & VSP_BUILTIN_YUV) {       /* R3 = clamp((Y'*cy + U'*cu + V'*cv) >> 16) */
        emit(&p, VSP_OP_LDU, 4, 0, 0, 2);
        emit(&p, VSP_OP_ADD, 3, 3, 4, 0);
        emit(&p, VSP_OP_SWZ, 5, 3, 0, 0x00);
        emit(&p, VSP_OP_LDU, 4, 0, 0, 3);
        emit(&p, VSP_OP_MUL, 5, 5, 4, 0);
        emit(&p, VSP_OP_SWZ, 6, 3, 0, 0x55);
        emit(&p, VSP_OP_LDU, 4, 0, 0, 4);
        emit(&p, VSP_OP_MUL, 6, 6, 4, 0);
        emit(&p, VSP_OP_ADD, 5, 5, 6, 0);
        emit(&p, VSP_OP_SWZ, 6, 3, 0, 0xaa);
        emit(&p, VSP_OP_LDU, 4, 0, 0, 5);
        emit(&p, VSP_OP_MUL, 6, 6, 4, 0);
        emit(&p, VSP_OP_ADD, 5, 5, 6, 0);
        emit(&p, VSP_OP_SHR, 5, 5, 0, 16);
        emit(&p, VSP_OP_LDI, 4, 0, 0, 0);
        emit(&p, VSP_OP_MAX, 5, 5, 4, 0);
        emit(&p, VSP_OP_LDI, 4, 0, 0, 255);
        emit(&p, VSP_OP_MIN, 5, 5, 4, 0);
        emit(&p, VSP_OP_LDU, 4, 0, 0, 6);
        emit(&p, VSP_OP_ADD, 3, 5, 4, 0);
    }
    if (bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST)) {
        bool src = bits & VSP_BUILTIN_KEY_SRC;
        emit(&p, VSP_OP_LDU, 4, 0, 0, 7);
        emit(&p, VSP_OP_SEQ, 4, src ? 3 : 1, 4, 0);
        emit(&p, VSP_OP_KIL, 0, 4, 0, src ? 0x7 : 0x7 | VSP_KIL_UNLESS);
    }
    if (bits & VSP_BUILTIN_BLEND) {     /* R1 = R3 * ga / 255 + R1 * (255 - sa') / 255 */
        emit(&p, VSP_OP_LDU, 4, 0, 0, 7);
        emit(&p, VSP_OP_SWZ, 4, 4, 0, 0xff);
        emit(&p, VSP_OP_MUL, 3, 3, 4, 0);
        div255(&p, 3, 5);
        emit(&p, VSP_OP_SWZ, 4, 3, 0, 0xff);
        emit(&p, VSP_OP_LDI, 5, 0, 0, 255);
        emit(&p, VSP_OP_SUB, 4, 5, 4, 0);
        emit(&p, VSP_OP_MUL, 4, 1, 4, 0);
        div255(&p, 4, 5);
        emit(&p, VSP_OP_ADD, 1, 3, 4, 0);
    } else {
        emit(&p, VSP_OP_MOV, 1, 3, 0, 0);
    }
    emit(&p, VSP_OP_END, 0, 0, 0, 0);
    int32_t bad;
    if (vsp_shader_verify_insns(p.insn, p.n, out, &bad) != VSP_V_OK)
        return false;
    out->builtin = (int32_t)bits;
    return true;
}

/* 16.16 coefficients: BT.601 as pixman's YUY2 fetcher has them, BT.709 likewise scaled. */
static const int32_t matrix[2][5] = {
    /*  cy       crv      cgv      cgu      cbu */
    { 0x012b27, 0x019a2e, 0x00d0f2, 0x00647e, 0x0206a2 },
    { 0x012b27, 0x01cb02, 0x008873, 0x003687, 0x021cac },
};

void vsp_builtin_uniforms(int32_t u[8][4], uint32_t src_w, uint32_t src_h, uint32_t dst_w,
                          uint32_t dst_h, bool bilinear, bool bt709, uint32_t key, uint8_t alpha)
{
    int32_t sx = (int32_t)(((uint64_t)src_w << 16) / dst_w);
    int32_t sy = (int32_t)(((uint64_t)src_h << 16) / dst_h);
    int32_t bias = bilinear ? 0x8000 : 0;
    const int32_t *m = matrix[bt709];
    int32_t v[8][4] = {
        { sx, sy, 0, 0 },
        { (sx / 2 - bias) >> 8, (sy / 2 - bias) >> 8, 0, 0 },
        { -16, -128, -128, 0 },
        { m[0], m[0], m[0], 0 },
        { 0, -m[3], m[4], 0 },
        { m[1], -m[2], 0, 0 },
        { 0, 0, 0, 255 },
        { (int32_t)(key >> 16 & 0xff), (int32_t)(key >> 8 & 0xff), (int32_t)(key & 0xff), alpha },
    };
    for (unsigned i = 0; i < 8; i++)
        for (unsigned l = 0; l < 4; l++)
            u[i][l] = v[i][l];
}
