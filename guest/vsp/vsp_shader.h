/*
 * The pixel-shader instruction set, its verifier and its interpreter (VGPU.md, "Shaders").
 * A shader runs once per output pixel on sixteen 4-lane int32 registers; on entry R0 holds
 * the pixel's (x, y, 0, 0) and R1 the destination pixel (R G B A), on END the pixel becomes
 * R1 (each lane clamped to 0..255) unless a KIL discarded it.  Loops have constant counts,
 * so the verifier knows every shader's worst cost per pixel before it runs; texture reads
 * clamp their coordinates to the bound texture window.  Integer only (no FPU in the VSP).
 */
#ifndef ATOLL_GUEST_VSP_VSP_SHADER_H
#define ATOLL_GUEST_VSP_VSP_SHADER_H
#include <stdbool.h>
#include <stdint.h>

#include "guest/vsp/vsp_surface.h"

enum vsp_opcode {
    VSP_OP_END = 0,     /* the pixel is R1 */
    VSP_OP_MOV,         /* d = a */
    VSP_OP_LDI,         /* d = imm in every lane */
    VSP_OP_LDU,         /* d = uniform[imm] */
    VSP_OP_ADD,         /* d = a + b (wrapping) */
    VSP_OP_SUB,         /* d = a - b (wrapping) */
    VSP_OP_MUL,         /* d = a * b (low 32 bits) */
    VSP_OP_MULSHR,      /* d = (a * b) >> imm, 64-bit product, arithmetic shift */
    VSP_OP_SHR,         /* d = a >> imm (arithmetic) */
    VSP_OP_SHL,         /* d = a << imm */
    VSP_OP_ADDI,        /* d = a + imm */
    VSP_OP_MIN,         /* d = min(a, b) */
    VSP_OP_MAX,         /* d = max(a, b) */
    VSP_OP_AND,         /* d = a & b */
    VSP_OP_SLT,         /* d = a < b ? 1 : 0 */
    VSP_OP_SEQ,         /* d = a == b ? 1 : 0 */
    VSP_OP_SEL,         /* d = d != 0 ? a : b */
    VSP_OP_SWZ,         /* d.lane[i] = a.lane[(imm >> 2i) & 3] */
    VSP_OP_TEX,         /* d = texel of texture imm at (a.x, a.y), nearest, clamped */
    VSP_OP_TEXB,        /* d = bilinear texel of texture imm at 24.8 (a.x, a.y), clamped */
    VSP_OP_KIL,         /* discard when every lane in imm & 15 of a is nonzero (imm & 16: unless) */
    VSP_OP_LOOP,        /* run the body up to the matching ENDL imm times (1..256) */
    VSP_OP_ENDL,
    VSP_OP_COUNT
};

#define VSP_SHADER_REGS 16u
#define VSP_SHADER_MAX_INSNS 256u
#define VSP_SHADER_MAX_LOOP 256
#define VSP_SHADER_MAX_DEPTH 4u
#define VSP_SHADER_MAX_COST 4096u       /* instructions per pixel, loops unrolled */
#define VSP_KIL_UNLESS 16

/* An instruction as it travels: 8 bytes, op d a b then imm (little-endian). */
struct vgpu_insn {
    uint8_t op, d, a, b;
    int32_t imm;
};

enum vsp_verify_err {
    VSP_V_OK = 0,
    VSP_V_EMPTY,            /* no instructions, or more than VSP_SHADER_MAX_INSNS */
    VSP_V_BAD_OP,
    VSP_V_BAD_REG,          /* a register index above 15 */
    VSP_V_UNUSED_FIELD,     /* a register field the opcode does not use is not zero */
    VSP_V_BAD_IMM,          /* shift above 31, uniform above 7, texture above 3, KIL mask */
    VSP_V_BAD_LOOP,         /* count not 1..256, unmatched ENDL/LOOP, nesting above 4 */
    VSP_V_NO_END,           /* the last instruction is not END, or END inside a loop */
    VSP_V_TOO_COSTLY,       /* more than VSP_SHADER_MAX_COST instructions per pixel */
    VSP_V_COUNT
};

struct vsp_shader {
    bool live;
    uint16_t count;
    uint8_t textures;               /* bit t: samples texture t */
    uint32_t cost;                  /* worst instructions per pixel */
    int32_t builtin;                /* the VSP's own (vsp_builtin.c): its bits; else -1 */
    struct vgpu_insn insn[VSP_SHADER_MAX_INSNS];
    uint16_t loop_end[VSP_SHADER_MAX_INSNS];   /* LOOP: index of its ENDL */
};

/* Verifies count instructions read from bytes (8 each, little-endian) into *out. On
 * refusal returns the reason and sets *bad_insn to the instruction (-1: the whole). */
enum vsp_verify_err vsp_shader_verify(const uint8_t *bytes, uint32_t count,
                                      struct vsp_shader *out, int32_t *bad_insn);
/* The same for instructions already in memory (the VSP's built-in shaders). */
enum vsp_verify_err vsp_shader_verify_insns(const struct vgpu_insn *insn, uint32_t count,
                                            struct vsp_shader *out, int32_t *bad_insn);
const char *vsp_verify_err_name(enum vsp_verify_err e);

/* A texture as a shader sees it: a window of a surface; coordinates are relative to it. */
struct vsp_texture {
    const struct vsp_surface *s;
    uint32_t x, y, w, h;            /* inside s, w and h at least 1 */
};

struct vsp_shader_env {
    struct vsp_texture tex[4];
    int32_t uniform[8][4];
};

/* Texture reads as TEX and TEXB do them (for engines that run a shader natively). */
static inline void vsp_tex_nearest(const struct vsp_texture *t, int32_t x, int32_t y, int32_t out[4])
{
    uint32_t cx = (uint32_t)(x < 0 ? 0 : x >= (int32_t)t->w ? (int32_t)t->w - 1 : x);
    uint32_t cy = (uint32_t)(y < 0 ? 0 : y >= (int32_t)t->h ? (int32_t)t->h - 1 : y);
    vsp_texel(t->s, t->x + cx, t->y + cy, out);
}
void vsp_tex_bilinear(const struct vsp_texture *t, int32_t fx, int32_t fy, int32_t out[4]);

/* Runs a verified shader for the pixel at (x, y); px: the destination pixel in, the
 * result out.  Returns the instructions executed; *killed when a KIL discarded it. */
uint32_t vsp_shader_run(const struct vsp_shader *sh, const struct vsp_shader_env *env,
                        int32_t x, int32_t y, int32_t px[4], bool *killed);

#endif
