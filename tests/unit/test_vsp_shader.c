/* The pixel-shader ISA: every refusal of the verifier, every instruction of the
 * interpreter, and the built-in overlay shaders against formulas written out here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "guest/vsp/vsp_builtin.h"
#include "guest/vsp/vsp_engine.h"
#include "guest/vsp/vsp_shader.h"

#define I(op, d, a, b, imm) ((struct vgpu_insn){ VSP_OP_##op, d, a, b, imm })

static struct vsp_shader sh;

static enum vsp_verify_err verify(const struct vgpu_insn *p, uint32_t n, int32_t *bad)
{
    return vsp_shader_verify_insns(p, n, &sh, bad);
}

static void expect_refused(const struct vgpu_insn *p, uint32_t n, enum vsp_verify_err why,
                           int32_t at)
{
    int32_t bad = 99;
    assert_int_equal(verify(p, n, &bad), why);
    assert_int_equal(bad, at);
    assert_false(sh.live);
}

static void verifier_refuses_each_fault(void **state)
{
    (void)state;
    struct vgpu_insn end = I(END, 0, 0, 0, 0);
    expect_refused(&end, 0, VSP_V_EMPTY, -1);
    static struct vgpu_insn many[VSP_SHADER_MAX_INSNS + 1];
    expect_refused(many, VSP_SHADER_MAX_INSNS + 1, VSP_V_EMPTY, -1);

    struct vgpu_insn bad_op[] = { I(MOV, 1, 0, 0, 0), { VSP_OP_COUNT, 0, 0, 0, 0 }, end };
    expect_refused(bad_op, 3, VSP_V_BAD_OP, 1);
    struct vgpu_insn bad_reg[] = { I(ADD, 1, 16, 0, 0), end };
    expect_refused(bad_reg, 2, VSP_V_BAD_REG, 0);
    struct vgpu_insn bad_dst[] = { I(MOV, 200, 0, 0, 0), end };
    expect_refused(bad_dst, 2, VSP_V_BAD_REG, 0);
    struct vgpu_insn unused[] = { I(MOV, 1, 2, 3, 0), end };        /* MOV has no b */
    expect_refused(unused, 2, VSP_V_UNUSED_FIELD, 0);
    struct vgpu_insn end_fields[] = { I(END, 1, 0, 0, 0) };
    expect_refused(end_fields, 1, VSP_V_UNUSED_FIELD, 0);

    struct vgpu_insn imms[][2] = {
        { I(SHR, 1, 1, 0, 32), end },      /* shift above 31 */
        { I(SHL, 1, 1, 0, -1), end },
        { I(MULSHR, 1, 1, 1, 63), end },
        { I(LDU, 1, 0, 0, 8), end },       /* uniform above 7 */
        { I(TEX, 1, 0, 0, 4), end },       /* texture above 3 */
        { I(TEXB, 1, 0, 0, -1), end },
        { I(SWZ, 1, 0, 0, 256), end },
        { I(KIL, 0, 1, 0, 0), end },       /* no lane */
        { I(KIL, 0, 1, 0, 32 | 1), end },  /* unknown bit */
        { I(ADD, 1, 1, 1, 5), end },       /* imm unused */
        { I(END, 0, 0, 0, 1), end },
    };
    for (unsigned i = 0; i < sizeof(imms) / sizeof(imms[0]); i++)
        expect_refused(imms[i], 2, VSP_V_BAD_IMM, 0);

    struct vgpu_insn loop0[] = { I(LOOP, 0, 0, 0, 0), I(ENDL, 0, 0, 0, 0), end };
    expect_refused(loop0, 3, VSP_V_BAD_IMM, 0);        /* count out of range is an imm fault */
    struct vgpu_insn loop_big[] = { I(LOOP, 0, 0, 0, 257), I(ENDL, 0, 0, 0, 0), end };
    expect_refused(loop_big, 3, VSP_V_BAD_IMM, 0);
    struct vgpu_insn stray_endl[] = { I(ENDL, 0, 0, 0, 0), end };
    expect_refused(stray_endl, 2, VSP_V_BAD_LOOP, 0);
    struct vgpu_insn open_loop[] = { I(LOOP, 0, 0, 0, 2), I(MOV, 1, 1, 0, 0), I(END, 0, 0, 0, 0) };
    expect_refused(open_loop, 3, VSP_V_NO_END, 2);     /* END inside the loop */
    struct vgpu_insn deep[] = {
        I(LOOP, 0, 0, 0, 2), I(LOOP, 0, 0, 0, 2), I(LOOP, 0, 0, 0, 2), I(LOOP, 0, 0, 0, 2),
        I(LOOP, 0, 0, 0, 2), end };
    expect_refused(deep, 6, VSP_V_BAD_LOOP, 4);
    struct vgpu_insn no_end[] = { I(MOV, 1, 1, 0, 0) };
    expect_refused(no_end, 1, VSP_V_NO_END, -1);
    struct vgpu_insn early_end[] = { end, I(MOV, 1, 1, 0, 0), end };
    expect_refused(early_end, 3, VSP_V_NO_END, 0);
    /* 256 x 256 iterations of one instruction: an "endless" shader */
    struct vgpu_insn costly[] = { I(LOOP, 0, 0, 0, 256), I(LOOP, 0, 0, 0, 256),
                                  I(ADDI, 2, 2, 0, 1), I(ENDL, 0, 0, 0, 0), I(ENDL, 0, 0, 0, 0), end };
    int32_t bad;
    assert_int_equal(verify(costly, 6, &bad), VSP_V_TOO_COSTLY);
    assert_true(bad >= 2 && bad <= 4);
    /* the same from bytes, as a client uploads it */
    uint8_t bytes[8] = { VSP_OP_LDU, 1, 0, 0, 9, 0, 0, 0 };
    assert_int_equal(vsp_shader_verify(bytes, 1, &sh, &bad), VSP_V_BAD_IMM);
    assert_int_equal(bad, 0);
    assert_string_equal(vsp_verify_err_name(VSP_V_TOO_COSTLY), "more than 4096 instructions per pixel");
}

static struct vsp_shader_env env;

/* Runs p at (x, y) over the destination px; returns the executed count. */
static uint32_t run(const struct vgpu_insn *p, uint32_t n, int32_t x, int32_t y, int32_t px[4],
                    bool *killed)
{
    int32_t bad;
    assert_int_equal(verify(p, n, &bad), VSP_V_OK);
    return vsp_shader_run(&sh, &env, x, y, px, killed);
}

/* R2 = a (LDI), R3 = b (LDI), op into R4, R1 = R4 + 100: the lanes of one result. */
static int32_t binop(uint8_t op, int32_t a, int32_t b, int32_t imm)
{
    struct vgpu_insn p[] = {
        I(LDI, 2, 0, 0, a), I(LDI, 3, 0, 0, b), { op, 4, 2, 3, imm }, I(ADDI, 1, 4, 0, 100),
        I(END, 0, 0, 0, 0) };
    int32_t px[4] = { 0, 0, 0, 0 };
    bool killed;
    assert_int_equal(run(p, 5, 0, 0, px, &killed), 5);
    assert_false(killed);
    return px[0] - 100;
}

static void every_instruction_computes(void **state)
{
    (void)state;
    assert_int_equal(binop(VSP_OP_ADD, 30, 12, 0), 42);
    assert_int_equal(binop(VSP_OP_SUB, 30, 42, 0), -12);
    assert_int_equal(binop(VSP_OP_MUL, 7, -6, 0), -42);
    assert_int_equal(binop(VSP_OP_MULSHR, 1 << 20, 3 << 16, 32), 3 * 16);   /* 64-bit product */
    assert_int_equal(binop(VSP_OP_MIN, -5, 9, 0), -5);
    assert_int_equal(binop(VSP_OP_MAX, -5, 9, 0), 9);
    assert_int_equal(binop(VSP_OP_AND, 0x3c, 0x0f, 0), 0x0c);
    assert_int_equal(binop(VSP_OP_SLT, 3, 4, 0), 1);
    assert_int_equal(binop(VSP_OP_SLT, 4, 4, 0), 0);
    assert_int_equal(binop(VSP_OP_SEQ, 4, 4, 0), 1);
    assert_int_equal(binop(VSP_OP_SEQ, 4, 5, 0), 0);
    /* wrapping, not undefined */
    assert_int_equal(binop(VSP_OP_ADD, INT32_MAX, INT32_MAX - 100 + 100, 0) + 2 - 2,
                     (int32_t)((uint32_t)INT32_MAX * 2));

    int32_t px[4];
    bool killed;
    struct vgpu_insn shifts[] = { I(LDI, 2, 0, 0, -64), I(SHR, 2, 2, 0, 3), I(ADDI, 1, 2, 0, 50),
                                  I(LDI, 3, 0, 0, 3), I(SHL, 3, 3, 0, 4), I(ADD, 1, 1, 3, 0),
                                  I(END, 0, 0, 0, 0) };
    run(shifts, 7, 0, 0, px, &killed);
    assert_int_equal(px[0], -8 + 50 + 48);             /* arithmetic right shift */

    /* MOV, LDU, SWZ, SEL lane by lane; R0 holds the coordinates */
    env.uniform[5][0] = 10; env.uniform[5][1] = 20; env.uniform[5][2] = 30; env.uniform[5][3] = 40;
    struct vgpu_insn lanes[] = { I(LDU, 2, 0, 0, 5), I(SWZ, 1, 2, 0, 0x1b) /* w z y x */,
                                 I(END, 0, 0, 0, 0) };
    run(lanes, 3, 0, 0, px, &killed);
    assert_int_equal(px[0], 40); assert_int_equal(px[1], 30);
    assert_int_equal(px[2], 20); assert_int_equal(px[3], 10);
    struct vgpu_insn coords[] = { I(MOV, 1, 0, 0, 0), I(END, 0, 0, 0, 0) };
    run(coords, 2, 17, 23, px, &killed);
    assert_int_equal(px[0], 17); assert_int_equal(px[1], 23);
    /* SEL: lanes where d is nonzero take a, the others b */
    env.uniform[0][0] = 1; env.uniform[0][1] = 0; env.uniform[0][2] = 5; env.uniform[0][3] = 0;
    struct vgpu_insn sel[] = { I(LDI, 2, 0, 0, 11), I(LDI, 3, 0, 0, 22), I(LDU, 1, 0, 0, 0),
                               I(SEL, 1, 2, 3, 0), I(END, 0, 0, 0, 0) };
    run(sel, 5, 0, 0, px, &killed);
    assert_int_equal(px[0], 11); assert_int_equal(px[1], 22);
    assert_int_equal(px[2], 11); assert_int_equal(px[3], 22);
    /* the result is clamped to 0..255; a shader that does nothing keeps the destination */
    struct vgpu_insn clamp[] = { I(LDI, 1, 0, 0, 1000), I(LDI, 2, 0, 0, -3), I(SWZ, 2, 2, 0, 0),
                                 I(END, 0, 0, 0, 0) };
    run(clamp, 4, 0, 0, px, &killed);
    assert_int_equal(px[0], 255);
    struct vgpu_insn nothing[] = { I(END, 0, 0, 0, 0) };
    int32_t keep[4] = { 1, 2, 3, 4 };
    run(nothing, 1, 0, 0, keep, &killed);
    assert_int_equal(keep[2], 3);
}

static void kil_discards_by_lanes(void **state)
{
    (void)state;
    int32_t px[4] = { 9, 9, 9, 9 };
    bool killed;
    env.uniform[1][0] = 1; env.uniform[1][1] = 1; env.uniform[1][2] = 0; env.uniform[1][3] = 1;
    struct vgpu_insn all_xy[] = { I(LDU, 2, 0, 0, 1), I(KIL, 0, 2, 0, 0x3), I(LDI, 1, 0, 0, 0),
                                  I(END, 0, 0, 0, 0) };
    assert_int_equal(run(all_xy, 4, 0, 0, px, &killed), 2);
    assert_true(killed);
    assert_int_equal(px[0], 9);                         /* left alone */
    struct vgpu_insn all_xyz[] = { I(LDU, 2, 0, 0, 1), I(KIL, 0, 2, 0, 0x7), I(END, 0, 0, 0, 0) };
    run(all_xyz, 3, 0, 0, px, &killed);
    assert_false(killed);
    struct vgpu_insn unless[] = { I(LDU, 2, 0, 0, 1), I(KIL, 0, 2, 0, 0x7 | VSP_KIL_UNLESS),
                                  I(END, 0, 0, 0, 0) };
    run(unless, 3, 0, 0, px, &killed);
    assert_true(killed);
}

static void loops_run_their_count(void **state)
{
    (void)state;
    int32_t px[4] = { 0, 0, 0, 0 };
    bool killed;
    struct vgpu_insn p[] = { I(LDI, 1, 0, 0, 0), I(LOOP, 0, 0, 0, 5), I(LOOP, 0, 0, 0, 7),
                             I(ADDI, 1, 1, 0, 1), I(ENDL, 0, 0, 0, 0), I(ADDI, 1, 1, 0, 10),
                             I(ENDL, 0, 0, 0, 0), I(END, 0, 0, 0, 0) };
    uint32_t ran = run(p, 8, 0, 0, px, &killed);
    assert_int_equal(px[0], 5 * 7 + 5 * 10 > 255 ? 255 : 5 * 7 + 5 * 10);
    assert_int_equal(px[0], 85);
    /* the verifier's worst cost is exactly what ran when nothing discards */
    assert_int_equal(sh.cost, ran);
    assert_int_equal(ran, 1 + 1 + 5 * (1 + 7 * 2 + 1 + 1) + 1);
}

static uint8_t texels[4 * 4 * 4];
static struct vsp_surface tex_surface = { .live = true, .format = VGPU_FMT_XRGB8888, .w = 4,
                                          .h = 4, .stride = 16, .pix = texels };

static void textures_clamp_to_their_window(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 16; i++) {           /* R = 10 * x, G = 10 * y */
        texels[4 * i + 2] = (uint8_t)(10 * (i % 4));
        texels[4 * i + 1] = (uint8_t)(10 * (i / 4));
        texels[4 * i + 0] = 0;
    }
    env.tex[2] = (struct vsp_texture){ &tex_surface, 1, 1, 2, 2 };   /* texels (1..2, 1..2) */
    int32_t px[4];
    bool killed;
    struct vgpu_insn p[] = { I(TEX, 1, 0, 0, 2), I(END, 0, 0, 0, 0) };
    run(p, 2, 0, 0, px, &killed);
    assert_int_equal(px[0], 10); assert_int_equal(px[1], 10); assert_int_equal(px[3], 255);
    run(p, 2, -100, 100, px, &killed);                  /* clamped to the window */
    assert_int_equal(px[0], 10); assert_int_equal(px[1], 20);
    run(p, 2, 1, 0, px, &killed);
    assert_int_equal(px[0], 20);
    assert_int_equal(sh.textures, 1u << 2);
    /* bilinear half way between window texels (0,0) and (1,0) in 24.8 */
    struct vgpu_insn b[] = { I(TEXB, 1, 0, 0, 2), I(END, 0, 0, 0, 0) };
    run(b, 2, 128, 0, px, &killed);
    assert_int_equal(px[0], 15); assert_int_equal(px[1], 10);
    run(b, 2, 64, 128, px, &killed);                    /* a quarter across, half down */
    assert_int_equal(px[0], 13); assert_int_equal(px[1], 15);
    run(b, 2, 10000, -10000, px, &killed);              /* far outside: the corner texel */
    assert_int_equal(px[0], 20); assert_int_equal(px[1], 10);
}

/* pixman's BT.601 YUV to RGB (its YUY2 fetcher), written out for comparison. */
static uint8_t clamp8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }
static void ref_601(int32_t y, int32_t u, int32_t v, int32_t out[3])
{
    y -= 16; u -= 128; v -= 128;
    out[0] = clamp8((0x012b27 * y + 0x019a2e * v) >> 16);
    out[1] = clamp8((0x012b27 * y - 0x00d0f2 * v - 0x00647e * u) >> 16);
    out[2] = clamp8((0x012b27 * y + 0x0206a2 * u) >> 16);
}

static void builtin_yuv_to_rgb_matches_the_formula(void **state)
{
    (void)state;
    static uint8_t yuy2[8 * 2 * 2];                     /* 8 x 2, YUY2 */
    static struct vsp_surface s = { .live = true, .format = VGPU_FMT_YUY2, .w = 8, .h = 2,
                                    .stride = 16, .pix = yuy2 };
    for (unsigned i = 0; i < sizeof(yuy2); i++)
        yuy2[i] = (uint8_t)(i * 37 + 11);
    assert_true(vsp_builtin_shader(VSP_BUILTIN_YUV, &sh));
    struct vsp_shader_env e = { .tex[0] = { &s, 0, 0, 8, 2 } };
    vsp_builtin_uniforms(e.uniform, 8, 2, 8, 2, false, false, 0, 255);
    for (int32_t y = 0; y < 2; y++)
        for (int32_t x = 0; x < 8; x++) {
            int32_t px[4] = { 0 }, t[4], want[3];
            bool killed;
            vsp_shader_run(&sh, &e, x, y, px, &killed);
            vsp_texel(&s, (uint32_t)x, (uint32_t)y, t);
            ref_601(t[0], t[1], t[2], want);
            assert_int_equal(px[0], want[0]);
            assert_int_equal(px[1], want[1]);
            assert_int_equal(px[2], want[2]);
            assert_int_equal(px[3], 255);
        }
    /* BT.709 gives other colours for the same chroma */
    struct vsp_shader s709;
    int32_t a[4] = { 0 }, b[4] = { 0 };
    bool killed;
    assert_true(vsp_builtin_shader(VSP_BUILTIN_YUV, &s709));
    vsp_shader_run(&sh, &e, 1, 0, a, &killed);
    vsp_builtin_uniforms(e.uniform, 8, 2, 8, 2, false, true, 0, 255);
    vsp_shader_run(&s709, &e, 1, 0, b, &killed);
    assert_true(a[0] != b[0] || a[1] != b[1] || a[2] != b[2]);
    assert_false(vsp_builtin_shader(VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST, &sh));
    assert_false(vsp_builtin_shader(0x20, &sh));
}

static void builtin_blend_key_and_scale(void **state)
{
    (void)state;
    static uint8_t argb[2 * 2 * 4] = {
        0x00, 0x00, 0x80, 0x80,  0x10, 0x20, 0x30, 0xff,     /* premultiplied red half alpha */
        0x00, 0x00, 0x00, 0x00,  0x01, 0x02, 0x03, 0x40 };
    static struct vsp_surface s = { .live = true, .format = VGPU_FMT_ARGB8888, .w = 2, .h = 2,
                                    .stride = 8, .pix = argb };
    struct vsp_shader_env e = { .tex[0] = { &s, 0, 0, 2, 2 } };
    bool killed;
    /* OVER at alpha 255: d = s + d * (255 - sa) / 255, rounded as pixman does */
    assert_true(vsp_builtin_shader(VSP_BUILTIN_BLEND, &sh));
    vsp_builtin_uniforms(e.uniform, 2, 2, 2, 2, false, false, 0, 255);
    int32_t px[4] = { 100, 200, 50, 255 };
    vsp_shader_run(&sh, &e, 0, 0, px, &killed);
    assert_int_equal(px[0], 0x80 + (100 * 127 + 127) / 255);
    assert_int_equal(px[1], (200 * 127 + 127) / 255);
    assert_int_equal(px[3], 255);
    /* global alpha 0: the destination stays */
    vsp_builtin_uniforms(e.uniform, 2, 2, 2, 2, false, false, 0, 0);
    int32_t px2[4] = { 100, 200, 50, 255 };
    vsp_shader_run(&sh, &e, 1, 0, px2, &killed);
    assert_int_equal(px2[0], 100); assert_int_equal(px2[1], 200); assert_int_equal(px2[2], 50);
    /* source colour key 0x302010 (texel (1,0)) discards exactly that texel */
    assert_true(vsp_builtin_shader(VSP_BUILTIN_KEY_SRC, &sh));
    vsp_builtin_uniforms(e.uniform, 2, 2, 2, 2, false, false, 0x302010, 255);
    vsp_shader_run(&sh, &e, 1, 0, px, &killed);
    assert_true(killed);
    vsp_shader_run(&sh, &e, 0, 0, px, &killed);
    assert_false(killed);
    /* destination key: draws only where the destination is the key */
    assert_true(vsp_builtin_shader(VSP_BUILTIN_KEY_DST, &sh));
    vsp_builtin_uniforms(e.uniform, 2, 2, 2, 2, false, false, 0x0000ff, 255);
    int32_t blue[4] = { 0, 0, 255, 255 }, red[4] = { 255, 0, 0, 255 };
    vsp_shader_run(&sh, &e, 1, 0, blue, &killed);
    assert_false(killed);
    assert_int_equal(blue[0], 0x30);
    vsp_shader_run(&sh, &e, 1, 0, red, &killed);
    assert_true(killed);
    /* nearest 2x upscale: destination (0..1, y) shows texel 0, (2..3, y) texel 1 */
    assert_true(vsp_builtin_shader(0, &sh));
    vsp_builtin_uniforms(e.uniform, 2, 2, 4, 4, false, false, 0, 255);
    for (int32_t x = 0; x < 4; x++) {
        int32_t p[4] = { 0 }, t[4];
        vsp_shader_run(&sh, &e, x, 3, p, &killed);
        vsp_texel(&s, (uint32_t)x / 2, 1, t);
        assert_int_equal(p[0], t[0]);
        assert_int_equal(p[2], t[2]);
    }
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* The engine runs built-in shaders natively: pixel for pixel and unit for unit what the
 * interpreter gives, for every built-in, every source format, sane and hostile uniforms. */
static void native_builtins_match_the_interpreter(void **state)
{
    (void)state;
    static uint8_t src_pix[64 * 18], a_pix[24 * 20 * 4], b_pix[24 * 20 * 4];
    const uint16_t formats[4] = { VGPU_FMT_XRGB8888, VGPU_FMT_ARGB8888, VGPU_FMT_YUY2, VGPU_FMT_NV12 };
    unsigned compared = 0;
    for (uint32_t bits = 0; bits <= VSP_BUILTIN_BITS; bits++) {
        struct vsp_shader native, interp;
        if (!vsp_builtin_shader(bits, &native))
            continue;
        interp = native;
        interp.builtin = -1;
        for (unsigned round = 0; round < 12; round++) {
            struct vsp_surface src = { .live = true, .format = formats[round % 4], .w = 16, .h = 12,
                                       .stride = 64, .pix = src_pix };
            for (unsigned i = 0; i < sizeof(src_pix); i++)
                src_pix[i] = (uint8_t)rnd();
            for (unsigned i = 0; i < sizeof(a_pix); i++)
                a_pix[i] = b_pix[i] = (uint8_t)(round & 1 ? rnd() : (i % 4 == 3 ? 255 : rnd() % 3 * 127));
            struct vsp_surface a = { .live = true, .format = round & 2 ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888,
                                     .w = 24, .h = 20, .stride = 96, .pix = a_pix };
            struct vsp_surface b = a;
            b.pix = b_pix;
            struct vsp_draw da = { .dst = &a, .rect = { 1, 2, 22, 17 }, .shader = &native,
                                   .env.tex[0] = { &src, 2, 1, 13, 10 }, .origin_x = -3, .origin_y = 5 };
            if (round >= 8) {                   /* 1:1 inside the window: the engine's row path */
                da.rect = (struct vgpu_rect){ 1 + round % 3, 2, 12 - round % 3, 9 };
                da.origin_x = (int32_t)(round % 2);
                da.origin_y = 1;
                vsp_builtin_uniforms(da.env.uniform, 13, 10, 13, 10, bits & 1, round & 1,
                                     rnd() & 0xffffff, (uint8_t)(round == 9 ? 255 : rnd()));
                if (round == 10)                /* a key that matches */
                    for (unsigned l = 0; l < 3; l++)
                        da.env.uniform[7][l] = src_pix[64 * 2 + 4 * 3 + 2 - l];
            } else if (round < 4)
                vsp_builtin_uniforms(da.env.uniform, 13, 10, 22 + round * 7, 17 + round, bits & 1,
                                     round & 1, rnd() & 0xffffff, (uint8_t)rnd());
            else
                for (unsigned i = 0; i < 8; i++)
                    for (unsigned l = 0; l < 4; l++)
                        da.env.uniform[i][l] = (int32_t)(round == 4 ? rnd() : rnd() % 600 - 300);
            if (round == 5)                      /* a key that matches: keys get exercised */
                for (unsigned l = 0; l < 3; l++)
                    da.env.uniform[7][l] = src_pix[2 - l];
            struct vsp_draw db = da;
            db.dst = &b;
            db.shader = &interp;
            struct vsp_pos pa = { 0, 0 }, pb = { 0, 0 };
            int64_t ba = INT64_MAX / 2, bb = INT64_MAX / 2;
            if (round == 11) {                  /* cut into slices of 37 units: same stops */
                int64_t used = 0;
                for (bool done = false; !done;) {
                    int64_t slice = 37;
                    done = vsp_cpu_engine.draw(&da, &pa, &slice);
                    used += 37 - slice;
                }
                ba -= used;
            } else {
                assert_true(vsp_cpu_engine.draw(&da, &pa, &ba));
            }
            assert_true(vsp_cpu_engine.draw(&db, &pb, &bb));
            assert_memory_equal(a_pix, b_pix, sizeof(a_pix));
            assert_true(ba == bb);
            compared++;
        }
    }
    assert_int_equal(compared, 24 * 12);
}

/* The engine's SIMD rows (AVX2 where the host has it) against its scalar rows and the
 * interpreter: rows wider than a chunk, odd starts and widths (the SIMD groups of 8 and
 * the scalar tails, YUY2 pairs split), every built-in and source format, 1:1 and scaled,
 * whole and cut into slices; ARGB sources with runs of opaque and of clear pixels (OVER's
 * copy and skip paths). */
static void simd_rows_match_scalar_rows(void **state)
{
    (void)state;
    enum { SW = 150, SH = 7, DW = 141, DH = 6 };
    static uint8_t src_pix[SW * 4 * SH * 2], pix[3][DW * 4 * DH];
    const uint16_t formats[4] = { VGPU_FMT_XRGB8888, VGPU_FMT_ARGB8888, VGPU_FMT_YUY2, VGPU_FMT_NV12 };
    unsigned compared = 0;
    for (uint32_t bits = 0; bits <= VSP_BUILTIN_BITS; bits++) {
        struct vsp_shader native, interp;
        if (!vsp_builtin_shader(bits, &native))
            continue;
        interp = native;
        interp.builtin = -1;
        for (unsigned round = 0; round < 16; round++) {
            bool odd = round >> 2 & 1, argb = (round >> 1 & 1) ^ odd;
            struct vsp_surface src = { .live = true, .format = formats[round % 4], .w = SW, .h = SH,
                                       .stride = SW * 4, .pix = src_pix };
            for (unsigned i = 0; i < sizeof(src_pix); i++)
                src_pix[i] = (uint8_t)rnd();
            for (unsigned i = 0; i < sizeof(pix[0]); i++)
                pix[0][i] = pix[1][i] = pix[2][i] = (uint8_t)(i % 4 == 3 && !argb ? 255 : rnd() % 3 * 127);
            struct vsp_surface dst[3];
            for (unsigned k = 0; k < 3; k++)
                dst[k] = (struct vsp_surface){ .live = true, .w = DW, .h = DH, .stride = DW * 4, .pix = pix[k],
                                               .format = argb ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888 };
            bool scaled = round >> 3 || (bits & 1);
            uint32_t tw = scaled ? 97 : 140, th = scaled ? 5 : 6;
            struct vsp_draw d = { .dst = &dst[0], .rect = { 1, 0, 139 - odd, 6 }, .shader = &native,
                                  .env.tex[0] = { &src, 3, 1, tw, th }, .origin_x = odd, .origin_y = 0 };
            vsp_builtin_uniforms(d.env.uniform, tw, th, bits & 1 ? 131 : scaled ? 131 : 140,
                                 scaled ? 6 : 6, bits & 1, odd, 0, (uint8_t)(odd ? 255 : rnd()));
            uint8_t *kp = src.format == VGPU_FMT_YUY2 || src.format == VGPU_FMT_NV12 ? NULL
                          : src_pix + SW * 4 * 1 + 4 * 20;
            for (unsigned l = 0; l < 3; l++)        /* a key that matches here and there */
                d.env.uniform[7][l] = kp ? kp[2 - l] : (int32_t)(rnd() % 256);
            if (kp)
                for (unsigned i = 0; i < SW * SH; i += 7)
                    memcpy(src_pix + 4 * i, kp, 3);
            if (src.format == VGPU_FMT_ARGB8888 && !(bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST)))
                for (unsigned i = 0; i < SW * SH; i++) {
                    if (i / 40 % 3 == 0)
                        src_pix[4 * i + 3] = 255;
                    else if (i / 40 % 3 == 1)
                        memset(src_pix + 4 * i, 0, 4);
                }
            if (bits & VSP_BUILTIN_KEY_DST)
                for (unsigned i = 0; i < DW * DH; i += 3)
                    for (unsigned k = 0; k < 3; k++)
                        for (unsigned l = 0; l < 3; l++)
                            pix[k][4 * i + l] = (uint8_t)d.env.uniform[7][2 - l];
            int64_t budget[3];
            for (unsigned k = 0; k < 3; k++) {
                struct vsp_draw dk = d;
                dk.dst = &dst[k];
                dk.shader = k == 2 ? &interp : &native;
                vsp_cpu_engine_use_simd(k == 0);
                struct vsp_pos pos = { 0, 0 };
                budget[k] = INT64_MAX / 2;
                if (round == 6 || round == 15) {  /* cut into slices of 1000 units */
                    for (bool done = false; !done;) {
                        int64_t slice = 1000;
                        done = vsp_cpu_engine.draw(&dk, &pos, &slice);
                        budget[k] -= 1000 - slice;
                    }
                } else {
                    assert_true(vsp_cpu_engine.draw(&dk, &pos, &budget[k]));
                }
            }
            vsp_cpu_engine_use_simd(true);
            assert_memory_equal(pix[0], pix[2], sizeof(pix[0]));
            assert_memory_equal(pix[1], pix[2], sizeof(pix[0]));
            assert_true(budget[0] == budget[2] && budget[1] == budget[2]);
            compared++;
        }
    }
    assert_int_equal(compared, 24 * 16);
}

/* The copy built-ins (no key, source key, destination key) by the SIMD rows against the
 * scalar rows and the interpreter: the destination rows at every offset from a cache line
 * (whole pixels and odd bytes), widths around the vector and line sizes, runs of keyed
 * pixels of 1 to 20 starting anywhere (so crossing vectors and lines), keyed pixels with
 * any X or A byte (the key is R G B only), pixels a bit off the key, a key outside 0..255
 * that no pixel is, rows cut by slices anywhere; the bytes around the rectangle stay. */
static void copy_keys_at_every_alignment(void **state)
{
    (void)state;
    enum { SW = 80, SH = 3, DW = 90, DS = DW * 4, DH = 5, GUARD = 64 };
    static uint8_t src_pix[SW * 4 * SH], pix[3][GUARD + DS * DH + GUARD];
    const uint32_t widths[] = { 1, 3, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 48, 63, 71, 80 };
    const uint32_t offsets[] = { 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60,
                                 1, 2, 3, 6, 33 };
    const uint32_t modes[3] = { 0, VSP_BUILTIN_KEY_SRC, VSP_BUILTIN_KEY_DST };
    const uint32_t key = 0x10e020;
    const uint8_t kb[3] = { key & 0xff, key >> 8 & 0xff, key >> 16 & 0xff };     /* B G R */
    unsigned compared = 0, round = 0;
    for (unsigned m = 0; m < 3; m++)
        for (unsigned o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
            for (unsigned wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++, round++) {
                uint32_t bits = modes[m], off = offsets[o], w = widths[wi];
                uint32_t x = round % 3 ? rnd() % (DW - w + 1) : 0;
                uint16_t sfmt = round & 1 ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888;
                struct vsp_surface src = { .live = true, .format = sfmt, .w = SW, .h = SH,
                                           .stride = SW * 4, .pix = src_pix };
                for (unsigned i = 0; i < sizeof(src_pix); i++)
                    src_pix[i] = (uint8_t)rnd();
                for (unsigned i = rnd() % 24; i < SW * SH; i += rnd() % 24)
                    for (unsigned run = 1 + rnd() % 20; run-- && i < SW * SH; i++) {
                        memcpy(src_pix + 4 * i, kb, 3);
                        if (rnd() % 6 == 0)     /* a bit off the key: drawn */
                            src_pix[4 * i + rnd() % 3] ^= (uint8_t)(1u << rnd() % 8);
                    }
                memset(pix[0], 0x5a, sizeof(pix[0]));
                for (unsigned i = 0; i < DW * DH; i++) {
                    uint8_t *p = pix[0] + GUARD + off + 4 * i;
                    for (unsigned b = 0; b < 4; b++)
                        p[b] = (uint8_t)rnd();
                    if (bits == VSP_BUILTIN_KEY_DST && rnd() % 3)
                        memcpy(p, kb, 3);
                }
                memcpy(pix[1], pix[0], sizeof(pix[0]));
                memcpy(pix[2], pix[0], sizeof(pix[0]));
                struct vsp_shader native, interp;
                assert_true(vsp_builtin_shader(bits, &native));
                interp = native;
                interp.builtin = -1;
                struct vsp_draw d = { .rect = { x, 1 + round % 2, w, SH }, .shader = &native,
                                      .env.tex[0] = { &src, rnd() % (SW - w + 1), 0, w, SH } };
                vsp_builtin_uniforms(d.env.uniform, w, SH, w, SH, false, false, key, 255);
                if (round % 13 == 5)            /* a key no pixel can be */
                    d.env.uniform[7][round % 3] = round % 2 ? 256 : -1;
                int64_t budget[3];
                for (unsigned k = 0; k < 3; k++) {
                    struct vsp_surface dst = { .live = true, .w = DW, .h = DH, .stride = DS,
                                               .pix = pix[k] + GUARD + off,
                                               .format = round & 2 ? VGPU_FMT_ARGB8888
                                                                   : VGPU_FMT_XRGB8888 };
                    struct vsp_draw dk = d;
                    dk.dst = &dst;
                    dk.shader = k == 2 ? &interp : &native;
                    vsp_cpu_engine_use_simd(k == 0);
                    struct vsp_pos pos = { 0, 0 };
                    budget[k] = INT64_MAX / 2;
                    if (round % 4 == 3) {       /* slices of 29 units: rows split anywhere */
                        for (bool done = false; !done;) {
                            int64_t slice = 29;
                            done = vsp_cpu_engine.draw(&dk, &pos, &slice);
                            budget[k] -= 29 - slice;
                        }
                    } else {
                        assert_true(vsp_cpu_engine.draw(&dk, &pos, &budget[k]));
                    }
                }
                vsp_cpu_engine_use_simd(true);
                assert_memory_equal(pix[0], pix[2], sizeof(pix[0]));
                assert_memory_equal(pix[1], pix[2], sizeof(pix[0]));
                assert_true(budget[0] == budget[2] && budget[1] == budget[2]);
                compared++;
            }
    assert_int_equal(compared, 3 * 21 * 17);
}

/* A draw over an under surface (what the compositor's fused pass asks: dst only written, its
 * old pixels read from under) gives what copying under's rectangle into dst and drawing
 * there gives, pixel for pixel and unit for unit: every built-in and source format, 1:1 and
 * scaled, XRGB and ARGB destinations at odd offsets from a cache line and from under, keyed
 * runs in the source and in under, ARGB sources with runs of opaque and of clear pixels,
 * SIMD and scalar rows and the interpreter, whole and cut into slices; the bytes around
 * the rectangle stay. */
static void draws_over_under_match_drawn_in_place(void **state)
{
    (void)state;
    enum { SW = 120, SH = 6, DW = 110, DS = DW * 4, DH = 6, GUARD = 64 };
    static uint8_t src_pix[SW * 4 * SH * 2], under_pix[GUARD + DS * DH + GUARD];
    static uint8_t pix[4][GUARD + DS * DH + GUARD];
    const uint16_t formats[4] = { VGPU_FMT_XRGB8888, VGPU_FMT_ARGB8888, VGPU_FMT_YUY2, VGPU_FMT_NV12 };
    const uint32_t key = 0x10e020;
    const uint8_t kb[3] = { key & 0xff, key >> 8 & 0xff, key >> 16 & 0xff };     /* B G R */
    unsigned compared = 0;
    for (uint32_t bits = 0; bits <= VSP_BUILTIN_BITS; bits++) {
        struct vsp_shader native, interp;
        if (!vsp_builtin_shader(bits, &native))
            continue;
        interp = native;
        interp.builtin = -1;
        for (unsigned round = 0; round < 16; round++) {
            bool argb = round >> 2 & 1, scaled = round >> 3 || (bits & 1);
            uint32_t off = (round * 20) % 64, uoff = (round * 36 + 4) % 64, ux = round % 5;
            struct vsp_surface src = { .live = true, .format = formats[round % 4], .w = SW, .h = SH,
                                       .stride = SW * 4, .pix = src_pix };
            for (unsigned i = 0; i < sizeof(src_pix); i++)
                src_pix[i] = (uint8_t)rnd();
            bool rgb = src.format == VGPU_FMT_XRGB8888 || src.format == VGPU_FMT_ARGB8888;
            for (unsigned i = rnd() % 24; rgb && i < SW * SH; i += rnd() % 40)
                for (unsigned run = 1 + rnd() % 30; run-- && i < SW * SH; i++)
                    memcpy(src_pix + 4 * i, kb, 3);
            if (src.format == VGPU_FMT_ARGB8888 && !(bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST)))
                for (unsigned i = 0; i < SW * SH; i++) {
                    if (i / 40 % 3 == 0)
                        src_pix[4 * i + 3] = 255;
                    else if (i / 40 % 3 == 1)
                        memset(src_pix + 4 * i, 0, 4);
                }
            for (unsigned i = 0; i < sizeof(under_pix); i++)
                under_pix[i] = (uint8_t)rnd();
            for (unsigned i = rnd() % 24; i < DW * DH; i += rnd() % 40)
                for (unsigned run = 1 + rnd() % 30; run-- && i < DW * DH; i++)
                    memcpy(under_pix + GUARD + uoff + 4 * i, kb, 3);
            uint16_t dfmt = argb ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888;
            struct vsp_surface under = { .live = true, .format = dfmt, .w = DW, .h = DH,
                                         .stride = DS, .pix = under_pix + GUARD + uoff };
            uint32_t tw = scaled ? 70 : 100, th = scaled ? 4 : 5, rw = 100 - round % 3;
            struct vsp_draw d = { .rect = { 2 + round % 7, 1, rw, 5 }, .shader = &native,
                                  .env.tex[0] = { &src, 3, 1, tw, th }, .origin_x = (int32_t)(round % 3 == 2),
                                  .origin_y = 0, .under = &under, .under_x = ux, .under_y = 1 };
            vsp_builtin_uniforms(d.env.uniform, tw, th, scaled ? 93 : tw, scaled ? 5 : th, bits & 1,
                                 round & 1, key, (uint8_t)(round & 2 ? 255 : rnd()));
            int64_t budget[4];
            for (unsigned k = 0; k < 4; k++) {
                memset(pix[k], 0x5a, sizeof(pix[k]));
                struct vsp_surface dst = { .live = true, .format = dfmt, .w = DW, .h = DH,
                                           .stride = DS, .pix = pix[k] + GUARD + off };
                struct vsp_draw dk = d;
                dk.dst = &dst;
                dk.shader = k >= 2 ? &interp : &native;
                if (k == 3) {                   /* the reference: under copied in, drawn there */
                    for (uint32_t r = 0; r < d.rect.h; r++)
                        memcpy(dst.pix + (d.rect.y + r) * DS + d.rect.x * 4,
                               under.pix + (d.under_y + r) * DS + d.under_x * 4, d.rect.w * 4);
                    dk.under = NULL;
                }
                vsp_cpu_engine_use_simd(k == 0);
                struct vsp_pos pos = { 0, 0 };
                budget[k] = INT64_MAX / 2;
                if (round % 4 == 3) {           /* slices of 301 units: rows split anywhere */
                    for (bool done = false; !done;) {
                        int64_t slice = 301;
                        done = vsp_cpu_engine.draw(&dk, &pos, &slice);
                        budget[k] -= 301 - slice;
                    }
                } else {
                    assert_true(vsp_cpu_engine.draw(&dk, &pos, &budget[k]));
                }
            }
            vsp_cpu_engine_use_simd(true);
            for (unsigned k = 0; k < 3; k++) {
                assert_memory_equal(pix[k], pix[3], sizeof(pix[0]));
                assert_true(budget[k] == budget[3]);
            }
            compared++;
        }
    }
    assert_int_equal(compared, 24 * 16);
}

/* One BLIT of a w x 3 window to (at, at) of a 64 x 4 surface at off pixels into mem's second
 * KiB, from a surface of its own or (shared != 0) the destination's memory moved by shared
 * pixels; by vectors or not. */
static void blit_once(uint8_t *mem, bool simd, uint32_t w, uint32_t off, unsigned f,
                      int shared, uint32_t at)
{
    static const uint16_t fmt[2] = { VGPU_FMT_XRGB8888, VGPU_FMT_ARGB8888 };
    for (unsigned i = 0; i < 4096; i++)
        mem[i] = (uint8_t)(i * 151 + 7);
    struct vsp_surface d = { true, fmt[f & 1], 64, 4, 256, 0, 1024, mem + 1024 + 4 * off };
    struct vsp_surface s = { true, fmt[f >> 1], 64, 4, 256, 0, 1024,
                             shared ? d.pix + 4 * shared : mem + 2048 };
    struct vgpu_rect sr = { 0, 0, w, 3 };
    struct vsp_pos pos = { 0, 0 };
    int64_t budget = INT64_MAX;
    vsp_cpu_engine_use_simd(simd);
    assert_true(vsp_cpu_engine.blit(&d, at, at, &s, &sr, &pos, &budget));
    vsp_cpu_engine_use_simd(true);
}

/* BLIT by vectors (where the host has them) gives the bytes the scalar copy gives: every
 * width and alignment, each format pair (the alpha forced where they differ), and two
 * surfaces over the same memory, a row over its own source either way (as memmove). */
static void blit_simd_matches_scalar(void **state)
{
    (void)state;
    static uint8_t mem[2][4096];
    for (uint32_t w = 1; w <= 40; w++)
        for (uint32_t off = 0; off < 16; off += 3)
            for (unsigned f = 0; f < 4; f++)
                for (int shared = -2; shared <= 2; shared++)
                    for (uint32_t at = 0; at < 2; at++) {
                        blit_once(mem[0], true, w, off, f, shared, at);
                        blit_once(mem[1], false, w, off, f, shared, at);
                        assert_memory_equal(mem[0], mem[1], sizeof(mem[0]));
                    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verifier_refuses_each_fault),
        cmocka_unit_test(every_instruction_computes),
        cmocka_unit_test(kil_discards_by_lanes),
        cmocka_unit_test(loops_run_their_count),
        cmocka_unit_test(textures_clamp_to_their_window),
        cmocka_unit_test(builtin_yuv_to_rgb_matches_the_formula),
        cmocka_unit_test(builtin_blend_key_and_scale),
        cmocka_unit_test(native_builtins_match_the_interpreter),
        cmocka_unit_test(simd_rows_match_scalar_rows),
        cmocka_unit_test(copy_keys_at_every_alignment),
        cmocka_unit_test(draws_over_under_match_drawn_in_place),
        cmocka_unit_test(blit_simd_matches_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
