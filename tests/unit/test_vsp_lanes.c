/* The CPU engine's operations split across lanes (vsp_engine_lanes.c) against the same
 * operations on one CPU: the same pixels and the same units for every built-in shader,
 * every source format, 1:1 and scaled, over an `under` surface and in place, an
 * interpreted shader, fills and blits; and the operations that must not be split (small,
 * already begun, a budget that cuts them, a source sharing the destination's memory) run
 * on one CPU, cut where one CPU cuts them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/vsp/vsp.h"
#include "guest/vsp/vsp_builtin.h"
#include "guest/vsp/vsp_engine.h"
#include "guest/vsp/vsp_engine_lanes.h"
#include "tests/unit/vsp_cmdbuf.h"
#include "tests/unit/vsp_host_lanes.h"

enum { SW = 640, SH = 240, DW = 600, DH = 210, DS = DW * 4 + 12 };

static uint8_t src_pix[SW * 4 * SH * 2], under_pix[DS * DH];
static uint8_t pix[2][DS * DH];
static struct vsp_host_lanes *host;

static uint32_t rng = 4242;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int setup(void **state)
{
    (void)state;
    host = vsp_host_lanes_start(3);
    return host ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    vsp_cpu_engine_set_lanes(NULL);
    vsp_host_lanes_stop(host);
    return 0;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* Runs op on pix[k] (k 0: one CPU, 1: three lanes) and returns the budget left. */
static int64_t draw_on(unsigned k, const struct vsp_draw *d, int64_t budget, struct vsp_pos *pos)
{
    struct vsp_surface dst = *d->dst;
    dst.pix = pix[k];
    struct vsp_draw dk = *d;
    dk.dst = &dst;
    vsp_cpu_engine_set_lanes(k ? vsp_host_lanes(host) : NULL);
    *pos = (struct vsp_pos){ 0, 0 };
    vsp_cpu_engine.draw(&dk, pos, &budget);
    vsp_cpu_engine_set_lanes(NULL);
    return budget;
}

static void split_draws_match_one_cpu(void **state)
{
    (void)state;
    const uint16_t formats[4] = { VGPU_FMT_XRGB8888, VGPU_FMT_ARGB8888, VGPU_FMT_YUY2, VGPU_FMT_NV12 };
    const uint32_t key = 0x10e020;
    const uint8_t kb[3] = { key & 0xff, key >> 8 & 0xff, key >> 16 & 0xff };
    unsigned compared = 0;
    for (uint32_t bits = 0; bits <= VSP_BUILTIN_BITS; bits++) {
        struct vsp_shader native, interp;
        if (!vsp_builtin_shader(bits, &native))
            continue;
        interp = native;
        interp.builtin = -1;
        for (unsigned round = 0; round < 8; round++) {
            bool scaled = (round & 4) || (bits & VSP_BUILTIN_BILINEAR), over = round & 1;
            bool argb = round & 2;
            struct vsp_surface src = { .live = true, .format = formats[(round + bits) % 4],
                                       .w = SW, .h = SH, .stride = SW * 4, .pix = src_pix,
                                       .bytes = sizeof(src_pix) };
            fill_random(src_pix, sizeof(src_pix));
            for (unsigned i = rnd() % 24; i < SW * SH; i += rnd() % 40)
                for (unsigned run = 1 + rnd() % 30; run-- && i < SW * SH; i++)
                    memcpy(src_pix + 4 * i, kb, 3);
            fill_random(under_pix, sizeof(under_pix));
            fill_random(pix[0], sizeof(pix[0]));
            memcpy(pix[1], pix[0], sizeof(pix[0]));
            uint16_t dfmt = argb ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888;
            struct vsp_surface dst = { .live = true, .format = dfmt, .w = DW, .h = DH,
                                       .stride = DS, .bytes = sizeof(pix[0]) };
            struct vsp_surface under = dst;
            under.pix = under_pix;
            uint32_t tw = scaled ? 400 : 590, th = scaled ? 150 : 205;
            struct vsp_draw d = { .dst = &dst, .rect = { 3, 2, 590 - round, 205 - round },
                                  .shader = (round % 3 == 2 && bits == VSP_BUILTIN_YUV) ? &interp : &native,
                                  .env.tex[0] = { &src, 5, 3, tw, th },
                                  .under = over ? &under : NULL, .under_x = 1, .under_y = 2 };
            vsp_builtin_uniforms(d.env.uniform, tw, th, scaled ? 590 : tw, scaled ? 205 : th,
                                 bits & VSP_BUILTIN_BILINEAR, round & 1, key,
                                 (uint8_t)(round & 2 ? 255 : 128));
            struct vsp_pos pos[2];
            int64_t left0 = draw_on(0, &d, INT64_MAX / 4, &pos[0]);
            unsigned long runs = vsp_host_lanes_runs(host);
            int64_t left1 = draw_on(1, &d, INT64_MAX / 4, &pos[1]);
            assert_int_equal(vsp_host_lanes_runs(host), runs + 1);      /* it was split */
            assert_memory_equal(pix[0], pix[1], sizeof(pix[0]));
            assert_true(left0 == left1);
            assert_true(pos[0].row == pos[1].row && pos[1].row == d.rect.h);
            compared++;
        }
    }
    assert_int_equal(compared, 24 * 8);
}

static void split_fills_and_blits_match_one_cpu(void **state)
{
    (void)state;
    struct vsp_surface src = { .live = true, .format = VGPU_FMT_ARGB8888, .w = SW, .h = SH,
                               .stride = SW * 4, .pix = src_pix, .bytes = sizeof(src_pix) };
    fill_random(src_pix, sizeof(src_pix));
    for (unsigned f = 0; f < 2; f++) {
        uint16_t dfmt = f ? VGPU_FMT_ARGB8888 : VGPU_FMT_XRGB8888;
        int64_t left[2];
        for (unsigned k = 0; k < 2; k++) {
            struct vsp_surface dst = { .live = true, .format = dfmt, .w = DW, .h = DH,
                                       .stride = DS, .pix = pix[k], .bytes = sizeof(pix[0]) };
            memset(pix[k], 0x33, sizeof(pix[k]));
            vsp_cpu_engine_set_lanes(k ? vsp_host_lanes(host) : NULL);
            unsigned long runs = vsp_host_lanes_runs(host);
            left[k] = 1000000;
            struct vsp_pos pos = { 0, 0 };
            struct vgpu_rect r = { 7, 1, 500, 200 };
            assert_true(vsp_cpu_engine.fill(&dst, &r, 0x80a0b0c0u, &pos, &left[k]));
            struct vgpu_rect sr = { 11, 13, 580, 190 };
            pos = (struct vsp_pos){ 0, 0 };
            assert_true(vsp_cpu_engine.blit(&dst, 9, 17, &src, &sr, &pos, &left[k]));
            assert_int_equal(vsp_host_lanes_runs(host), runs + 2 * k);
        }
        vsp_cpu_engine_set_lanes(NULL);
        assert_memory_equal(pix[0], pix[1], sizeof(pix[0]));
        assert_true(left[0] == left[1]);
    }
}

/* What is not split runs on one CPU: a rect under VSP_LANES_MIN_PIXELS, a draw already
 * begun, a budget short of the whole draw's worst cost (cut where one CPU cuts), a
 * texture, under surface or blit source sharing the destination's memory. */
static void what_is_not_split_runs_on_one_cpu(void **state)
{
    (void)state;
    struct vsp_shader sh;
    assert_true(vsp_builtin_shader(VSP_BUILTIN_BLEND, &sh));
    struct vsp_surface src = { .live = true, .format = VGPU_FMT_ARGB8888, .w = SW, .h = SH,
                               .stride = SW * 4, .pix = src_pix, .bytes = sizeof(src_pix) };
    struct vsp_surface dst = { .live = true, .format = VGPU_FMT_XRGB8888, .w = DW, .h = DH,
                               .stride = DS, .pix = pix[0], .bytes = sizeof(pix[0]) };
    fill_random(src_pix, sizeof(src_pix));
    struct vsp_draw d = { .dst = &dst, .rect = { 0, 0, 500, 200 }, .shader = &sh,
                          .env.tex[0] = { &src, 0, 0, 500, 200 } };
    vsp_builtin_uniforms(d.env.uniform, 500, 200, 500, 200, false, false, 0, 200);
    uint64_t whole = 500ull * 200 * (1 + sh.cost);

    /* a budget one unit short of the worst cost: not split (one CPU may finish or not) */
    struct vsp_pos pos[2];
    unsigned long runs = vsp_host_lanes_runs(host);
    draw_on(1, &d, (int64_t)whole - 1, &pos[1]);
    assert_int_equal(vsp_host_lanes_runs(host), runs);
    /* half of it: cut at the same row and column, the same pixels */
    fill_random(pix[0], sizeof(pix[0]));
    memcpy(pix[1], pix[0], sizeof(pix[0]));
    int64_t l0 = draw_on(0, &d, (int64_t)whole / 2, &pos[0]);
    int64_t l1 = draw_on(1, &d, (int64_t)whole / 2, &pos[1]);
    assert_int_equal(vsp_host_lanes_runs(host), runs);
    assert_true(l0 == l1 && pos[0].row == pos[1].row && pos[0].col == pos[1].col);
    assert_true(pos[0].row < d.rect.h);
    assert_memory_equal(pix[0], pix[1], sizeof(pix[0]));
    /* the rest, resumed with lanes: not split (begun), finishes as one CPU does */
    vsp_cpu_engine_set_lanes(vsp_host_lanes(host));
    int64_t more = (int64_t)whole;
    assert_true(vsp_cpu_engine.draw(&d, &pos[0], &more));
    vsp_cpu_engine_set_lanes(NULL);
    assert_int_equal(vsp_host_lanes_runs(host), runs);

    /* exactly the worst cost: split */
    assert_true(draw_on(1, &d, (int64_t)whole, &pos[1]) >= 0);
    assert_int_equal(vsp_host_lanes_runs(host), runs + 1);

    /* small */
    struct vsp_draw small = d;
    small.rect = (struct vgpu_rect){ 0, 0, 300, 200 };         /* 60000 pixels */
    draw_on(1, &small, INT64_MAX / 4, &pos[1]);
    assert_int_equal(vsp_host_lanes_runs(host), runs + 1);

    /* the texture is the destination's memory, or overlaps it */
    struct vsp_surface alias = dst;
    alias.pix = pix[1] + DS * 3;
    alias.bytes = DS * 10;
    struct vsp_draw self = d;
    self.env.tex[0].s = &alias;
    self.env.tex[0].h = 10;
    draw_on(1, &self, INT64_MAX / 4, &pos[1]);
    assert_int_equal(vsp_host_lanes_runs(host), runs + 1);
    struct vsp_draw under_self = d;
    under_self.under = &alias;
    draw_on(1, &under_self, INT64_MAX / 4, &pos[1]);
    assert_int_equal(vsp_host_lanes_runs(host), runs + 1);

    /* a blit within one surface, overlapping: one CPU's order (last row first) */
    struct vsp_surface one = dst;
    one.pix = pix[1];
    vsp_cpu_engine_set_lanes(vsp_host_lanes(host));
    struct vgpu_rect sr = { 0, 0, 500, 190 };
    struct vsp_pos bp = { 0, 0 };
    int64_t b = INT64_MAX / 4;
    assert_true(vsp_cpu_engine.blit(&one, 0, 5, &one, &sr, &bp, &b));
    vsp_cpu_engine_set_lanes(NULL);
    assert_int_equal(vsp_host_lanes_runs(host), runs + 1);
}

/* More lanes than rows: each row a lane, the others given nothing. */
static void more_lanes_than_rows(void **state)
{
    (void)state;
    struct vsp_host_lanes *many = vsp_host_lanes_start(16);
    assert_non_null(many);
    enum { W = 16000, H = 5 };
    static uint8_t a[2][W * 4 * H];
    int64_t left[2];
    for (unsigned k = 0; k < 2; k++) {
        memset(a[k], 0, sizeof(a[k]));
        struct vsp_surface s = { .live = true, .format = VGPU_FMT_XRGB8888, .w = W, .h = H,
                                 .stride = W * 4, .pix = a[k], .bytes = sizeof(a[k]) };
        vsp_cpu_engine_set_lanes(k ? vsp_host_lanes(many) : NULL);
        struct vsp_pos pos = { 0, 0 };
        left[k] = INT64_MAX / 4;
        assert_true(vsp_cpu_engine.fill(&s, &(struct vgpu_rect){ 1, 0, W - 2, H }, 0x123456,
                                        &pos, &left[k]));
        assert_int_equal(pos.row, H);
    }
    vsp_cpu_engine_set_lanes(NULL);
    assert_int_equal(vsp_host_lanes_runs(many), 1);
    assert_memory_equal(a[0], a[1], sizeof(a[0]));
    assert_true(left[0] == left[1]);
    vsp_host_lanes_stop(many);
}

/* A whole proxy: a client's large fills and blits run by vsp_run, then a full compose of
 * a desktop under a scaled YUY2 overlay, a keyed one and one at alpha 128: the same frame,
 * the same units used and fences, on lanes as on one CPU. */
enum { CW = 1280, CH = 720, CRAM = 8u << 20 };     /* a tile row: 80 Ki pixels */
static uint8_t client_ram[CRAM];
static uint32_t frame[2][CW * CH];
static struct vsp proxy;
static struct cmdbuf cb;

static uint8_t *map_client(void *ctx, uint64_t gpa, uint64_t len)
{
    return gpa <= CRAM && len <= CRAM - gpa ? (uint8_t *)ctx + gpa : NULL;
}

static void compose_on(unsigned k, uint64_t *used)
{
    rng = 777;
    fill_random(client_ram, sizeof(client_ram));
    struct vsp_config cfg = { CW, CH, 0x204060, 1 << 30, 1 << 28 };
    assert_true(vsp_init(&proxy, &cfg));
    struct vsp_client_ram r = { client_ram, map_client };
    int c = vsp_client_add(&proxy, 1, &r);
    assert_true(c >= 0);
    cb_reset(&cb);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, CW, CH, CW * 4, 0);
    cb_fill(&cb, 0, 10, 10, 700, 500, 0xff336699u);
    cb_surface(&cb, 1, VGPU_FMT_XRGB8888, 400, 300, 1600, 0x400000);
    cb_blit(&cb, 0, 1, 50, 250, 0, 0, 400, 300);
    cb_present(&cb, 0, 0, 0, 0, 0, 0, 0, 0);
    cb_surface(&cb, 2, VGPU_FMT_YUY2, 400, 300, 800, 0x600000);
    cb_overlay(&cb, 0, 0, 5, 2, 255, 0, 0, 0, 400, 300, 0, 0, CW, CH, 0);
    cb_overlay(&cb, 1, 0, 6, 1, 255, 1, 0, 0, 400, 300, 100, 100, 400, 300,
               client_ram[0x400000 + 2] << 16 | client_ram[0x400000 + 1] << 8 |
                   client_ram[0x400000]);
    cb_overlay(&cb, 2, 0, 7, 1, 128, 0, 0, 0, 400, 300, 300, 200, 400, 300, 0);
    cb_fence(&cb, 5);
    assert_int_equal(vsp_submit(&proxy, c, cb.b, cb.n), VSP_OK);
    vsp_cpu_engine_set_lanes(k ? vsp_host_lanes(host) : NULL);
    while (vsp_run(&proxy, 1 << 30) > 0)
        vsp_period(&proxy);
    struct vsp_fb fb = { (uint8_t *)frame[k], CW, CH, CW * 4 };
    assert_int_equal(vsp_compose(&proxy, &fb, NULL, 0), proxy.comp.stats.tiles_total);
    vsp_cpu_engine_set_lanes(NULL);
    assert_int_equal(vsp_fence_completed(&proxy, c), 5);
    assert_int_equal(vsp_client_last_error(&proxy, c)->err, VSP_OK);
    *used = proxy.bank.bank[c].used;
}

static void whole_compose_matches_one_cpu(void **state)
{
    (void)state;
    uint64_t used[2];
    compose_on(0, &used[0]);
    unsigned long runs = vsp_host_lanes_runs(host);
    compose_on(1, &used[1]);
    /* the fill, the blit, and the compositor's passes straight into the frame (tile rows of
     * 1280 x 64 where one or two layers show; the rest goes through its 16 KiB band) */
    assert_true(vsp_host_lanes_runs(host) >= runs + 3);
    assert_memory_equal(frame[0], frame[1], sizeof(frame[0]));
    assert_true(used[0] == used[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_draws_match_one_cpu),
        cmocka_unit_test(split_fills_and_blits_match_one_cpu),
        cmocka_unit_test(what_is_not_split_runs_on_one_cpu),
        cmocka_unit_test(more_lanes_than_rows),
        cmocka_unit_test(whole_compose_matches_one_cpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
