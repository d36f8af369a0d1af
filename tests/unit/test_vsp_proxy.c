/* The vGPU proxy end to end on flat client RAM: commands (and each refusal, which costs
 * only the refusing client its buffer), the engine's budget cuts, fences, composition of
 * windows and overlays from several clients, and damage turned into recomposed tiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "guest/vsp/vsp.h"
#include "guest/vsp/vsp_builtin.h"
#include "tests/unit/vsp_cmdbuf.h"

#define RAM (1u << 20)
#define SW 256
#define SH 192

static uint8_t ram[3][RAM];
static struct vsp v;
static struct cmdbuf cb;
static uint8_t fbmem[SH][SW * 4];
static const struct vsp_fb fb = { &fbmem[0][0], SW, SH, SW * 4 };

static uint8_t *map(void *ctx, uint64_t gpa, uint64_t len)
{
    uint8_t *base = ctx;
    return gpa <= RAM && len <= RAM - gpa ? base + gpa : NULL;
}

static int add(unsigned i, uint32_t weight)
{
    struct vsp_client_ram r = { ram[i], map };
    return vsp_client_add(&v, weight, &r);
}

static int setup(void **state)
{
    (void)state;
    struct vsp_config cfg = { SW, SH, 0x000040, 1000000, 50000 };
    assert_true(vsp_init(&v, &cfg));
    memset(ram, 0, sizeof(ram));
    memset(fbmem, 0, sizeof(fbmem));
    cb_reset(&cb);
    return 0;
}

static void submit(int c)
{
    assert_int_equal(vsp_submit(&v, c, cb.b, cb.n), VSP_OK);
    cb_reset(&cb);
}

static void run_all(void)
{
    for (int i = 0; i < 1000 && vsp_run(&v, 1 << 30) > 0; i++)
        vsp_period(&v);
}

static uint32_t px32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t screen(int x, int y)
{
    return px32(&fbmem[y][x * 4]) & 0xffffff;
}

static uint32_t at(unsigned c, uint64_t gpa)
{
    return px32(&ram[c][gpa]);
}

/* Submits one buffer: good commands, then bad, then a fill that must not run. */
static void expect_refusal(int c, enum vsp_err want, uint32_t bad_at)
{
    cb_fill(&cb, 0, 0, 0, 1, 1, 0xff000000 | bad_at);   /* marker: this runs */
    size_t before = cb.n;
    (void)before;
    submit(c);
    run_all();
    assert_int_equal(at(0, 0), 0xff000000 | bad_at);
    const struct vsp_client_error *e = vsp_client_last_error(&v, c);
    (void)e;
    (void)want;
}

static void check_error(int c, enum vsp_err want, uint32_t offset, uint16_t op)
{
    const struct vsp_client_error *e = vsp_client_last_error(&v, c);
    assert_int_equal(e->err, want);
    assert_int_equal(e->offset, offset);
    assert_int_equal(e->op, op);
}

/* bad command at offset 28 after a fill; the fill after it must not run */
static void refused(int c, void (*bad)(struct cmdbuf *), enum vsp_err want, uint16_t op)
{
    static uint32_t marker = 1;
    marker++;
    cb_fill(&cb, 0, 0, 0, 1, 1, marker);
    bad(&cb);
    cb_fill(&cb, 0, 1, 0, 1, 1, marker);
    uint64_t before = v.client[c].ctx.error.refusals;
    submit(c);
    run_all();
    assert_int_equal(at(0, 0) & 0xffffff, marker & 0xffffff);
    assert_int_not_equal(at(0, 4) & 0xffffff, marker & 0xffffff);
    check_error(c, want, 28, op);
    assert_int_equal(v.client[c].ctx.error.refusals, before + 1);
}

static void bad_op(struct cmdbuf *c) { c->b[c->n++] = 99; c->b[c->n++] = 0; c->b[c->n++] = 4; c->b[c->n++] = 0; }
static void bad_size(struct cmdbuf *c) { cb_fence(c, 1); c->b[c->n - 14] = 20; }
static void odd_size(struct cmdbuf *c) { cb_fence(c, 1); c->b[c->n - 14] = 15; }
static void truncated(struct cmdbuf *c) { cb_fence(c, 1); c->b[c->n - 14] = 0xf0; }
static void reserved(struct cmdbuf *c) { cb_fence(c, 1); c->b[c->n - 12] = 1; }
static void bad_id(struct cmdbuf *c) { cb_destroy(c, VGPU_MAX_SURFACES); }
static void in_use(struct cmdbuf *c) { cb_surface(c, 0, VGPU_FMT_XRGB8888, 8, 8, 32, 0); }
static void no_surface(struct cmdbuf *c) { cb_fill(c, 5, 0, 0, 1, 1, 0); }
static void bad_format(struct cmdbuf *c) { cb_surface(c, 3, 9, 8, 8, 32, 0); }
static void yuv_fill(struct cmdbuf *c) { cb_fill(c, 1, 0, 0, 2, 2, 0); }
static void bad_dims(struct cmdbuf *c) { cb_surface(c, 3, VGPU_FMT_XRGB8888, 8, 8, 31, 0); }
static void huge_dims(struct cmdbuf *c) { cb_surface(c, 3, VGPU_FMT_XRGB8888, 8192, 8, 32768, 0); }
static void odd_nv12(struct cmdbuf *c) { cb_surface(c, 3, VGPU_FMT_NV12, 8, 7, 8, 0); }
static void beyond_ram(struct cmdbuf *c) { cb_surface(c, 3, VGPU_FMT_XRGB8888, 8, 8, 32, RAM - 255); }
static void wrapping_gpa(struct cmdbuf *c) { cb_surface(c, 3, VGPU_FMT_XRGB8888, 8, 8, 32, ~0ull - 100); }
static void fill_outside(struct cmdbuf *c) { cb_fill(c, 0, 60, 0, 5, 1, 0); }
static void fill_wraps(struct cmdbuf *c) { cb_fill(c, 0, 0xffffffff, 0, 2, 1, 0); }
static void fill_empty(struct cmdbuf *c) { cb_fill(c, 0, 0, 0, 0, 1, 0); }
static void blit_outside(struct cmdbuf *c) { cb_blit(c, 0, 0, 63, 0, 0, 0, 2, 2); }
static void present_yuv(struct cmdbuf *c) { cb_present(c, 1, 0, 0, 0, 0, 0, 0, 0); }
static void overlay_scale(struct cmdbuf *c) { cb_overlay(c, 0, 0, 0, 0, 255, 0, 0, 0, 64, 64, 0, 0, 3, 64, 0); }
static void overlay_src(struct cmdbuf *c) { cb_overlay(c, 0, 0, 0, 0, 255, 0, 0, 0, 65, 64, 0, 0, 64, 64, 0); }
static void overlay_key(struct cmdbuf *c) { cb_overlay(c, 0, 0, 0, 0, 255, 3, 0, 0, 64, 64, 0, 0, 64, 64, 0); }
static void overlay_gone(struct cmdbuf *c) { cb_overlay_destroy(c, 7); }
static void no_shader(struct cmdbuf *c) { cb_draw(c, 0, 3, 0, 0, 1, 1, NULL, NULL, 0); }
static void unbound(struct cmdbuf *c) { cb_draw(c, 0, VGPU_BUILTIN_SHADER, 0, 0, 1, 1, NULL, NULL, 0); }
static void no_builtin(struct cmdbuf *c) { cb_draw(c, 0, VGPU_BUILTIN_SHADER | 0x40, 0, 0, 1, 1, NULL, NULL, 0); }
static void bad_shader(struct cmdbuf *c)
{
    struct vgpu_insn p[] = { { VSP_OP_ADDI, 1, 1, 0, 1 }, { VSP_OP_TEX, 1, 0, 0, 7 },
                             { VSP_OP_END, 0, 0, 0, 0 } };
    cb_shader(c, 2, p, 3);
}

static void every_refusal_ends_only_its_buffer(void **state)
{
    (void)state;
    int c = add(0, 1);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 64, 64, 256, 0);
    cb_surface(&cb, 1, VGPU_FMT_NV12, 16, 16, 16, 0x10000);
    submit(c);
    run_all();
    assert_int_equal(vsp_client_last_error(&v, c)->err, VSP_OK);
    refused(c, bad_op, VSP_E_BAD_OP, 99);
    refused(c, bad_size, VSP_E_BAD_SIZE, VGPU_OP_FENCE);
    refused(c, odd_size, VSP_E_BAD_SIZE, VGPU_OP_FENCE);
    refused(c, truncated, VSP_E_TRUNCATED, VGPU_OP_FENCE);
    refused(c, reserved, VSP_E_RESERVED, VGPU_OP_FENCE);
    refused(c, bad_id, VSP_E_BAD_ID, VGPU_OP_SURFACE_DESTROY);
    refused(c, in_use, VSP_E_IN_USE, VGPU_OP_SURFACE_CREATE);
    refused(c, no_surface, VSP_E_NO_SURFACE, VGPU_OP_FILL);
    refused(c, bad_format, VSP_E_BAD_FORMAT, VGPU_OP_SURFACE_CREATE);
    refused(c, yuv_fill, VSP_E_BAD_FORMAT, VGPU_OP_FILL);
    refused(c, bad_dims, VSP_E_BAD_DIMS, VGPU_OP_SURFACE_CREATE);
    refused(c, huge_dims, VSP_E_BAD_DIMS, VGPU_OP_SURFACE_CREATE);
    refused(c, odd_nv12, VSP_E_BAD_DIMS, VGPU_OP_SURFACE_CREATE);
    refused(c, beyond_ram, VSP_E_OUT_OF_RAM, VGPU_OP_SURFACE_CREATE);
    refused(c, wrapping_gpa, VSP_E_OUT_OF_RAM, VGPU_OP_SURFACE_CREATE);
    refused(c, fill_outside, VSP_E_OUT_OF_BOUNDS, VGPU_OP_FILL);
    refused(c, fill_wraps, VSP_E_OUT_OF_BOUNDS, VGPU_OP_FILL);
    refused(c, fill_empty, VSP_E_OUT_OF_BOUNDS, VGPU_OP_FILL);
    refused(c, blit_outside, VSP_E_OUT_OF_BOUNDS, VGPU_OP_BLIT);
    refused(c, present_yuv, VSP_E_BAD_FORMAT, VGPU_OP_PRESENT);
    refused(c, overlay_scale, VSP_E_BAD_SCALE, VGPU_OP_OVERLAY_SET);
    refused(c, overlay_src, VSP_E_OUT_OF_BOUNDS, VGPU_OP_OVERLAY_SET);
    refused(c, overlay_key, VSP_E_RESERVED, VGPU_OP_OVERLAY_SET);
    refused(c, overlay_gone, VSP_E_BAD_ID, VGPU_OP_OVERLAY_DESTROY);
    refused(c, no_shader, VSP_E_NO_SHADER, VGPU_OP_DRAW);
    refused(c, unbound, VSP_E_TEXTURE, VGPU_OP_DRAW);
    refused(c, no_builtin, VSP_E_NO_SHADER, VGPU_OP_DRAW);
    refused(c, bad_shader, VSP_E_SHADER_REFUSED, VGPU_OP_SHADER_UPLOAD);
    assert_int_equal(vsp_client_last_error(&v, c)->shader_insn, 1);
    assert_int_equal(vsp_client_last_error(&v, c)->shader_why, VSP_V_BAD_IMM);
    assert_string_equal(vsp_err_name(VSP_E_SHADER_REFUSED), "shader refused by the verifier");
    /* submissions themselves */
    assert_int_equal(vsp_submit(&v, c, cb.b, 0), VSP_E_BAD_SIZE);
    assert_int_equal(vsp_submit(&v, c, cb.b, 6), VSP_E_BAD_SIZE);
    assert_int_equal(vsp_submit(&v, 5, cb.b, 8), VSP_E_BAD_ID);
    assert_int_equal(vsp_submit(&v, -1, cb.b, 8), VSP_E_BAD_ID);
    (void)expect_refusal;
}

static void commands_draw_into_client_memory(void **state)
{
    (void)state;
    int c = add(0, 1);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 16, 8, 64, 0x1000);
    cb_surface(&cb, 1, VGPU_FMT_ARGB8888, 16, 8, 64, 0x2000);
    cb_fill(&cb, 0, 0, 0, 16, 8, 0x00112233);
    cb_fill(&cb, 0, 2, 1, 3, 2, 0x00aabbcc);
    cb_blit(&cb, 1, 0, 10, 5, 2, 1, 3, 2);              /* XRGB into ARGB: alpha 255 */
    cb_blit(&cb, 0, 0, 3, 1, 2, 1, 3, 2);               /* overlapping, same surface */
    /* a client shader: R1 = (x * 10, y * 10, 7, 255) */
    struct vgpu_insn p[] = { { VSP_OP_LDI, 2, 0, 0, 10 }, { VSP_OP_MUL, 1, 0, 2, 0 },
                             { VSP_OP_LDU, 3, 0, 0, 0 }, { VSP_OP_ADD, 1, 1, 3, 0 },
                             { VSP_OP_END, 0, 0, 0, 0 } };
    cb_shader(&cb, 4, p, 5);
    int32_t u[1][4] = { { 0, 0, 7, 255 } };
    cb_draw(&cb, 1, 4, 0, 0, 4, 4, NULL, u, 1);
    cb_fence(&cb, 42);
    submit(c);
    assert_true(vsp_client_busy(&v, c));
    assert_int_equal(vsp_fence_completed(&v, c), 0);
    run_all();
    assert_false(vsp_client_busy(&v, c));
    assert_int_equal(vsp_fence_completed(&v, c), 42);
    assert_int_equal(vsp_client_last_error(&v, c)->err, VSP_OK);
    assert_int_equal(at(0, 0x1000), 0xff112233);                    /* X byte written 0xff */
    assert_int_equal(at(0, 0x1000 + 64 * 1 + 4 * 2), 0xffaabbcc);
    assert_int_equal(at(0, 0x1000 + 64 * 1 + 4 * 5), 0xffaabbcc);   /* the blit moved right */
    assert_int_equal(at(0, 0x1000 + 64 * 2 + 4 * 4), 0xffaabbcc);
    assert_int_equal(at(0, 0x1000 + 64 * 3 + 4 * 4), 0xff112233);
    assert_int_equal(at(0, 0x2000 + 64 * 5 + 4 * 10), 0xffaabbcc);
    assert_int_equal(at(0, 0x2000 + 64 * 6 + 4 * 12), 0xffaabbcc);
    assert_int_equal(at(0, 0x2000 + 64 * 3 + 4 * 2), 0xff141e07);   /* (20, 30, 7, 255) */
    assert_int_equal(at(0, 0x2000 + 64 * 4 + 4 * 2), 0);             /* outside the draw */
}

/* A heavy buffer gives the same pixels run in one go or cut into many small slices. */
static void budget_cuts_resume_where_they_stopped(void **state)
{
    (void)state;
    uint8_t once[64 * 64 * 4];
    for (int pass = 0; pass < 2; pass++) {
        setup(NULL);
        int c = add(0, 1);
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 64, 64, 256, 0);
        cb_surface(&cb, 1, VGPU_FMT_YUY2, 32, 32, 64, 0x10000);
        for (int i = 0; i < 32 * 64; i++)
            ram[0][0x10000 + i] = (uint8_t)(i * 7);
        cb_fill(&cb, 0, 0, 0, 64, 64, 0x334455);
        uint16_t tex[4] = { 1, VGPU_NO_SURFACE, VGPU_NO_SURFACE, VGPU_NO_SURFACE };
        int32_t u[8][4];
        vsp_builtin_uniforms(u, 32, 32, 64, 64, true, false, 0, 200);
        cb_draw(&cb, 0, VGPU_BUILTIN_SHADER | VSP_BUILTIN_YUV | VSP_BUILTIN_BILINEAR |
                VSP_BUILTIN_BLEND, 0, 0, 64, 64, tex, (const int32_t (*)[4])u, 8);
        cb_fence(&cb, 7);
        submit(c);
        if (pass == 0) {
            run_all();
            memcpy(once, ram[0], sizeof(once));
            continue;
        }
        int slices = 0;
        while (vsp_client_busy(&v, c)) {
            int64_t used = vsp_run(&v, 700);
            assert_true(used > 0 && used <= 700 + 64 + VSP_SHADER_MAX_COST);
            if (vsp_client_busy(&v, c))
                assert_int_equal(vsp_fence_completed(&v, c), 0);
            vsp_period(&v);
            slices++;
        }
        assert_true(slices > 100);
        assert_int_equal(vsp_fence_completed(&v, c), 7);
        assert_memory_equal(once, ram[0], sizeof(once));
    }
}

static void compose_all(void)
{
    vsp_compose_damage_all(&v.comp);
    vsp_compose(&v, &fb, NULL, 0);
}

/* Three clients, each a window and four overlays (RGB, YUY2, NV12 scaled, keyed, blended),
 * stacked by z across clients. */
static void three_clients_compose_by_z(void **state)
{
    (void)state;
    int id[3];
    for (unsigned i = 0; i < 3; i++) {
        id[i] = add(i, 1 + i);
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 40, 40, 160, 0);
        cb_fill(&cb, 0, 0, 0, 40, 40, 0x100000u * (4 + 4 * i));   /* red 0x40, 0x80, 0xc0 */
        cb_present(&cb, 0, (int16_t)(10 * i), 20 + 30 * (int32_t)i, 20, 0, 0, 0, 0);
        cb_surface(&cb, 1, VGPU_FMT_XRGB8888, 8, 8, 32, 0x1000);
        cb_fill(&cb, 1, 0, 0, 8, 8, 0x00ff00);
        cb_fill(&cb, 1, 0, 0, 4, 8, 0x0000ff);                    /* left half the key */
        cb_surface(&cb, 2, VGPU_FMT_YUY2, 8, 8, 16, 0x2000);
        cb_surface(&cb, 3, VGPU_FMT_NV12, 8, 8, 8, 0x3000);
        memset(ram[i] + 0x2000, 0x80, 8 * 16);                    /* grey: Y=U=V=128 */
        memset(ram[i] + 0x3000, 235, 64);                         /* white luma */
        memset(ram[i] + 0x3000 + 64, 128, 32);
        int32_t ox = 150 + 30 * (int32_t)i;
        cb_overlay(&cb, 0, 0, 100, 1, 255, VGPU_KEY_SOURCE, 0, 0, 8, 8, ox, 100, 16, 16, 0x0000ff);
        cb_overlay(&cb, 1, 0, 100, 2, 255, VGPU_KEY_NONE, 0, 0, 8, 8, ox, 120, 8, 8, 0);
        cb_overlay(&cb, 2, VGPU_OVERLAY_BILINEAR, 100, 3, 255, 0, 0, 0, 8, 8, ox, 140, 24, 24, 0);
        cb_overlay(&cb, 3, 0, 100, 1, 128, VGPU_KEY_NONE, 0, 0, 8, 8, ox, 170, 8, 8, 0);
        submit(id[i]);
    }
    run_all();
    uint32_t tiles = vsp_compose(&v, &fb, NULL, 0);
    assert_int_equal(tiles, v.comp.stats.tiles_total);
    assert_int_equal(tiles, 4 * 3);
    assert_int_equal(screen(0, 0), 0x000040);                       /* background */
    assert_int_equal(screen(25, 30), 0x400000);                     /* client 0 only */
    assert_int_equal(screen(55, 30), 0x800000);                     /* 1 above 0 (z 10 > 0) */
    assert_int_equal(screen(85, 30), 0xc00000);                     /* 2 above both */
    assert_int_equal(screen(119, 59), 0xc00000);
    assert_int_equal(screen(120, 30), 0x000040);
    for (unsigned i = 0; i < 3; i++) {
        int ox = 150 + 30 * (int)i;
        assert_int_equal(screen(ox + 2, 102), 0x000040);            /* keyed out: background */
        assert_int_equal(screen(ox + 12, 102), 0x00ff00);           /* 2x nearest scale */
        assert_int_equal(screen(ox + 3, 123), 0x828282);            /* grey: (128-16)*1.164 */
        assert_int_equal(screen(ox + 20, 160), 0xffffff);           /* NV12 white, scaled 3x */
        assert_int_equal(screen(ox + 6, 172), 0x008020);            /* green at alpha 128 */
    }
    /* later overlays of client 1 cover client 0's at the same z where they overlap */
    assert_int_equal(v.comp.stats.last_recomposed, 12);
}

static void damage_recomposes_only_its_tiles(void **state)
{
    (void)state;
    int c = add(0, 1);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 128, 128, 512, 0x100000 - 0x10000 * 2);
    uint64_t gpa = 0x100000 - 0x10000 * 2;
    cb_fill(&cb, 0, 0, 0, 128, 128, 0x202020);
    cb_present(&cb, 0, 0, 64, 0, 0, 0, 0, 0);                      /* tiles x 1..2, y 0..1 */
    submit(c);
    run_all();
    compose_all();
    assert_int_equal(screen(64, 0), 0x202020);
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 0);             /* nothing damaged */
    /* the client writes one pixel at (70, 100) of its surface itself: write tracking */
    memcpy(&ram[0][gpa + 100 * 512 + 70 * 4], "\x01\x02\x03\xff", 4);
    memset(fbmem, 0xee, sizeof(fbmem));                             /* poison: what is not redrawn stays */
    vsp_damage_gpa(&v, c, gpa + 100 * 512 + 70 * 4, 4);             /* row 100 of the surface */
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 2);             /* screen row 100: 2 tiles */
    assert_int_equal(screen(64 + 70, 100), 0x030201);
    assert_int_equal(screen(64, 100), 0x202020);
    assert_int_equal(screen(0, 100), 0xeeeeee);                     /* tile 0 not recomposed */
    assert_int_equal(screen(64, 0), 0xeeeeee);
    /* a write outside any surface damages nothing */
    vsp_damage_gpa(&v, c, 0, 4096);
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 0);
    /* the engine's own drawing damages what it drew; present with a damage rectangle */
    cb_fill(&cb, 0, 0, 0, 1, 1, 0xffffff);
    cb_present(&cb, 0, 0, 64, 0, 0, 0, 1, 1);
    submit(c);
    run_all();
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 1);
    assert_int_equal(screen(64, 0), 0xffffff);
    /* a screen damage list from the caller, clipped */
    struct vsp_screen_rect d[2] = { { -50, -50, 60, 60 }, { SW - 1, SH - 1, 1000, 1000 } };
    assert_int_equal(vsp_compose(&v, &fb, d, 2), 2);
    assert_int_equal(screen(0, 0), 0x000040);
    /* stats add up */
    assert_int_equal(v.comp.stats.tiles_total, 12);
    assert_true(v.comp.stats.tiles_recomposed < v.comp.stats.tiles_offered);
    /* the client leaves: its window's tiles go back to the background */
    vsp_client_remove(&v, c);
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 2 * 2);
    assert_int_equal(screen(64 + 70, 100), 0x000040);
    assert_int_equal(vsp_submit(&v, c, cb.b, 4), VSP_E_BAD_ID);
}

/* The compositor rebuilds a run of damaged tiles side by side as one band, and draws a
 * layer that hides everything else straight into the framebuffer: a screen composed all
 * at once, tile by tile (a checkerboard of damage: every run one tile) and into a smaller
 * framebuffer gives the same pixels, and tiles not damaged are left alone. */
#define BW 200
#define BH 150
static uint8_t band_all[BH][BW * 4], band_part[BH][BW * 4];

static void bands_and_tiles_agree(void **state)
{
    (void)state;
    struct vsp_config cfg = { BW, BH, 0x123456, 1000000, 50000 };
    assert_true(vsp_init(&v, &cfg));
    uint32_t seed = 7;
    for (unsigned c = 0; c < 3; c++)
        for (unsigned i = 0; i < RAM; i++) {
            seed = seed * 1103515245u + 12345u;
            ram[c][i] = (uint8_t)(seed >> 16);
        }
    for (unsigned i = 0; i < 64 * 64; i += 5)                     /* runs of the key colour */
        memcpy(&ram[2][0x10000 + 4 * i], "\x30\x20\x10", 3);
    for (unsigned i = 0; i < 50 * 40; i++)                        /* premultiplied ARGB */
        for (unsigned k = 0; k < 3; k++)
            ram[2][0x20000 + 4 * i + k] = (uint8_t)(ram[2][0x20000 + 4 * i + k] *
                                                    ram[2][0x20000 + 4 * i + 3] / 255);
    int id[3] = { add(0, 1), add(1, 1), add(2, 1) };
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, BW, BH, BW * 4, 0);      /* the desktop */
    cb_present(&cb, 0, 0, 0, 0, 0, 0, 0, 0);
    submit(id[0]);
    cb_surface(&cb, 0, VGPU_FMT_YUY2, 80, 60, 160, 0x40000);        /* opaque, bilinear */
    cb_overlay(&cb, 0, VGPU_OVERLAY_BILINEAR, 5, 0, 255, 0, 0, 0, 80, 60, 30, 20, 130, 100, 0);
    submit(id[1]);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 64, 64, 256, 0x10000);
    cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, 64, 64, -10, 90, 64, 64, 0x102030);
    cb_surface(&cb, 1, VGPU_FMT_ARGB8888, 50, 40, 200, 0x20000);
    cb_present(&cb, 1, 12, 150, 120, 0, 0, 0, 0);                 /* beyond the bottom */
    cb_surface(&cb, 2, VGPU_FMT_NV12, 30, 20, 32, 0x30000);
    cb_overlay(&cb, 1, 0, 7, 2, 255, 0, 0, 0, 30, 20, 101, 5, 60, 40, 0);
    cb_overlay(&cb, 2, 0, 8, 0, 100, 0, 3, 5, 40, 30, 60, 60, 40, 30, 0);  /* alpha 100 */
    submit(id[2]);
    run_all();
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(vsp_client_last_error(&v, id[i])->err, VSP_OK);
    struct vsp_fb all = { &band_all[0][0], BW, BH, BW * 4 };
    assert_int_equal(vsp_compose(&v, &all, NULL, 0), 4 * 3);
    struct vsp_fb part = { &band_part[0][0], BW, BH, BW * 4 };
    memset(band_part, 0xee, sizeof(band_part));
    for (int half = 0; half < 2; half++) {
        for (int ty = 0; ty < 3; ty++)
            for (int tx = (ty + half) % 2; tx < 4; tx += 2) {
                struct vsp_screen_rect r = { tx * 64 + 3, ty * 64 + 5, 1, 1 };
                vsp_damage_screen(&v, &r);
            }
        assert_int_equal(vsp_compose(&v, &part, NULL, 0), 6);
        for (int y = 0; y < BH; y++)
            for (int x = 0; x < BW; x++) {
                bool done = half || (x / 64 + y / 64) % 2 == 0;
                uint32_t want = done ? px32(&band_all[y][4 * x]) : 0xeeeeeeee;
                assert_int_equal(px32(&band_part[y][4 * x]), want);
            }
    }
    /* a framebuffer smaller than the screen (its pitch the screen's): only its part */
    memset(band_part, 0xee, sizeof(band_part));
    struct vsp_fb small = { &band_part[0][0], BW - 9, BH - 30, BW * 4 };
    vsp_compose_damage_all(&v.comp);
    assert_int_equal(vsp_compose(&v, &small, NULL, 0), 4 * 3);
    for (int y = 0; y < BH; y++)
        for (int x = 0; x < BW; x++) {
            bool in = x < BW - 9 && y < BH - 30;
            assert_int_equal(px32(&band_part[y][4 * x]),
                             in ? px32(&band_all[y][4 * x]) : 0xeeeeeeee);
        }
}

/* The fused pass (a copy window that hides a band, and the one keyed or blended layer over
 * it, drawn in one pass straight into the framebuffer) gives the pixels of the layered
 * compose (fuse off): source and destination keys with their edges, alpha 255 and below,
 * ARGB runs opaque and clear, overlays clipped at every screen edge and across bands,
 * scaled ones (nearest and bilinear, RGB and YUV), a window or an ARGB window as the top
 * layer, a third layer over the pair (those strips fall back to the buffer), a desktop
 * that does not cover the screen; with SIMD and without, composed at once and by a
 * checkerboard of tiles.  Over an opaque overlay (not a copy) nothing is fused. */
static void fused_pass_matches_the_layered_compose(void **state)
{
    (void)state;
    const uint32_t key = 0x102030;
    struct vsp_fb all = { &band_all[0][0], BW, BH, BW * 4 };
    struct vsp_fb part = { &band_part[0][0], BW, BH, BW * 4 };
    for (unsigned scene = 0; scene < 12; scene++) {
        struct vsp_config cfg = { BW, BH, 0x123456, 1000000, 50000 };
        assert_true(vsp_init(&v, &cfg));
        uint32_t seed = 11 + scene;
        for (unsigned c = 0; c < 3; c++)
            for (unsigned i = 0; i < RAM; i++) {
                seed = seed * 1103515245u + 12345u;
                ram[c][i] = (uint8_t)(seed >> 16);
            }
        for (unsigned c = 0; c < 2; c++)                              /* runs of the key colour */
            for (unsigned i = 0; i < BW * BH; i += 1 + i % 37)
                for (unsigned run = i % 23; run-- && i < BW * BH; i++)
                    memcpy(&ram[c][4 * i], "\x30\x20\x10", 3);
        for (unsigned i = 0; i < 0x40000 / 4; i++) {                  /* ARGB at 0x80000 */
            uint8_t *p = &ram[1][0x80000 + 4 * i];
            if (i / 20 % 3 == 0)
                p[3] = 255;
            else if (i / 20 % 3 == 1)
                memset(p, 0, 4);
            for (unsigned k = 0; k < 3; k++)
                p[k] = (uint8_t)(p[k] * p[3] / 255);
        }
        int id[2] = { add(0, 1), add(1, 1) };
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, BW, BH, BW * 4, 0);      /* the desktop */
        cb_present(&cb, 0, 0, scene == 9 ? 20 : 0, scene == 9 ? 10 : 0, 0, 0, 0, 0);
        submit(id[0]);
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, BW, BH, BW * 4, 0);      /* keyed RGB */
        cb_surface(&cb, 1, VGPU_FMT_ARGB8888, 160, 100, 640, 0x80000);
        cb_surface(&cb, 2, VGPU_FMT_YUY2, 100, 80, 200, 0xc0000);
        cb_surface(&cb, 3, VGPU_FMT_XRGB8888, 30, 30, 120, 0xd0000);
        switch (scene) {
        case 0:         /* source key, clipped left, across two tile rows */
        case 9:
            cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, 120, 50, -10, 37, 120, 50, key);
            break;
        case 1:         /* ARGB OVER, clipped right and bottom */
            cb_overlay(&cb, 0, 0, 10, 1, 255, 0, 0, 0, 100, 60, 130, 100, 100, 60, 0);
            break;
        case 2:         /* RGB at alpha 100, clipped top */
            cb_overlay(&cb, 0, 0, 10, 0, 100, 0, 3, 5, 150, 100, 7, -20, 150, 100, 0);
            break;
        case 3:         /* destination key */
            cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_DEST, 0, 0, BW, BH, 0, 0, BW, BH, key);
            break;
        case 4:         /* source key scaled 2x, nearest */
            cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 10, 10, 60, 40, 33, 71, 120, 80, key);
            break;
        case 5:         /* ARGB bilinear 3x over the whole screen, and YUY2 keyed */
            cb_overlay(&cb, 0, VGPU_OVERLAY_BILINEAR, 10, 1, 255, 0, 0, 0, 70, 50, 0, 0, BW, BH, 0);
            cb_overlay(&cb, 1, 0, 11, 2, 255, VGPU_KEY_SOURCE, 0, 0, 100, 80, 90, 60, 100, 80, 0x808080);
            break;
        case 6:         /* a third layer over the pair: a window on top */
            cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, BW, BH, 0, 0, BW, BH, key);
            cb_present(&cb, 3, 20, 60, 50, 0, 0, 0, 0);
            break;
        case 7:         /* an ARGB window over the desktop */
            cb_present(&cb, 1, 5, 45, 20, 0, 0, 0, 0);
            break;
        case 8:         /* an XRGB window over the desktop: a copy on a copy */
            cb_present(&cb, 3, 5, 185, 140, 0, 0, 0, 0);
            break;
        case 10:        /* an opaque YUY2 overlay hides the desktop: the key over it is not fused */
            cb_overlay(&cb, 0, 0, 5, 2, 255, 0, 0, 0, 100, 80, 0, 0, BW, BH, 0);
            cb_overlay(&cb, 1, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, BW, BH, 0, 0, BW, BH, key);
            break;
        default:        /* a keyed and an alpha overlay over the same band: not fused there */
            cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, BW, 60, 0, 0, BW, 60, key);
            cb_overlay(&cb, 1, 0, 11, 1, 255, 0, 0, 0, 160, 100, 20, 30, 160, 100, 0);
            break;
        }
        submit(id[1]);
        run_all();
        for (unsigned i = 0; i < 2; i++)
            assert_int_equal(vsp_client_last_error(&v, id[i])->err, VSP_OK);
        v.comp.fuse = false;                                          /* the reference */
        vsp_compose_damage_all(&v.comp);
        assert_int_equal(vsp_compose(&v, &all, NULL, 0), 4 * 3);
        assert_true(v.comp.stats.fused == 0);
        v.comp.fuse = true;
        for (int way = 0; way < 3; way++) {
            vsp_cpu_engine_use_simd(way != 1);
            memset(band_part, 0xee, sizeof(band_part));
            if (way < 2) {
                vsp_compose_damage_all(&v.comp);
                assert_int_equal(vsp_compose(&v, &part, NULL, 0), 4 * 3);
            } else {
                for (int half = 0; half < 2; half++) {
                    for (int ty = 0; ty < 3; ty++)
                        for (int tx = (ty + half) % 2; tx < 4; tx += 2) {
                            struct vsp_screen_rect r = { tx * 64 + 3, ty * 64 + 5, 1, 1 };
                            vsp_damage_screen(&v, &r);
                        }
                    assert_int_equal(vsp_compose(&v, &part, NULL, 0), 6);
                }
            }
            vsp_cpu_engine_use_simd(true);
            for (int y = 0; y < BH; y++)
                assert_memory_equal(band_part[y], band_all[y], BW * 4);
        }
        if (scene == 10)
            assert_true(v.comp.stats.fused == 0);
        else
            assert_true(v.comp.stats.fused > 0);
        for (unsigned i = 0; i < 2; i++)
            vsp_client_remove(&v, id[i]);
    }
}

static void nv12_chroma_writes_damage_two_rows_each(void **state)
{
    (void)state;
    int c = add(0, 1);
    cb_surface(&cb, 0, VGPU_FMT_NV12, 64, 256, 64, 0);
    cb_overlay(&cb, 0, 0, 0, 0, 255, 0, 0, 0, 64, 256, 0, 0, 64, 256, 0);
    submit(c);
    run_all();
    vsp_compose(&v, &fb, NULL, 0);
    vsp_damage_gpa(&v, c, 64 * 256 + 64 * 70, 1);                  /* chroma row 70: rows 140, 141 */
    /* tile row 2 (128..191); the damage is one pixel wider than the overlay each side (for
     * bilinear filtering), so column 1 too */
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 2);
    vsp_damage_gpa(&v, c, 64 * 20, 64 * 2);                         /* luma rows 20, 21 */
    assert_int_equal(vsp_compose(&v, &fb, NULL, 0), 2);
    assert_int_equal(v.comp.dirty[0], 0);
}

static void hostile_client_leaves_others_alone(void **state)
{
    (void)state;
    int good = add(0, 1), bad = add(1, 1);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 32, 32, 128, 0);
    cb_fill(&cb, 0, 0, 0, 32, 32, 0x00ff00);
    cb_present(&cb, 0, 0, 0, 0, 0, 0, 0, 0);
    submit(good);
    /* the hostile one: surfaces outside its RAM, a refused shader, garbage, endless work */
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 4096, 4096, 16384, 0);
    submit(bad);
    bad_shader(&cb);
    submit(bad);
    for (int i = 0; i < 64; i++)
        cb.b[cb.n++] = (uint8_t)(i * 13);
    submit(bad);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 512, 512, 2048, 0);
    submit(bad);
    for (int i = 0; i < 40; i++) {
        cb_fill(&cb, 0, 0, 0, 512, 512, (uint32_t)i);
        if (vsp_submit(&v, bad, cb.b, cb.n) != VSP_OK)
            break;
        cb_reset(&cb);
    }
    cb_reset(&cb);
    run_all();
    compose_all();
    assert_int_equal(screen(5, 5), 0x00ff00);
    assert_int_equal(vsp_client_last_error(&v, good)->refusals, 0);
    assert_true(vsp_client_last_error(&v, bad)->refusals >= 3);
    /* its queue fills up: it is told so, and nothing else happens */
    cb_fill(&cb, 0, 0, 0, 1, 1, 0);
    int full = 0;
    for (int i = 0; i < 200; i++)
        full += vsp_submit(&v, bad, cb.b, cb.n) == VSP_E_QUEUE_FULL;
    assert_true(full > 0);
    cb_reset(&cb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_refusal_ends_only_its_buffer, setup),
        cmocka_unit_test_setup(commands_draw_into_client_memory, setup),
        cmocka_unit_test_setup(budget_cuts_resume_where_they_stopped, setup),
        cmocka_unit_test_setup(three_clients_compose_by_z, setup),
        cmocka_unit_test_setup(damage_recomposes_only_its_tiles, setup),
        cmocka_unit_test_setup(bands_and_tiles_agree, setup),
        cmocka_unit_test_setup(fused_pass_matches_the_layered_compose, setup),
        cmocka_unit_test_setup(nv12_chroma_writes_damage_two_rows_each, setup),
        cmocka_unit_test_setup(hostile_client_leaves_others_alone, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
