/* vGPU proxy bench (make bench, host): composing a 1080p screen from damage tiles against
 * recomposing all of it; the time bank's shares against the weights 1:2:4; the engine's
 * overlay paths against pixman on the same pixels (YUY2 to RGB, NV12 720p scaled to 1080p,
 * colour key, alpha OVER at 1080p); and whole composes of a desktop under each overlay
 * through the compositor against pixman compositing the same layers. */
#include <pixman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest/vsp/vsp.h"
#include "guest/vsp/vsp_builtin.h"
#include "tests/bench/bench_cli.h"
#include "tests/unit/vsp_cmdbuf.h"
#include "tests/unit/vsp_host_lanes.h"

#define W 1920
#define H 1080
#define RAM (16u << 20)
#define REPEAT (lanes ? 40 : 5)     /* overlay rows: best of, ours and pixman alike (by the
                                     * wall clock, more: a thread may wait for a CPU) */

static struct vsp v;
static struct cmdbuf cb;
static uint8_t *ram[3];
static uint32_t *frame, *frame2;

static uint8_t *map(void *ctx, uint64_t gpa, uint64_t len)
{
    return gpa <= RAM && len <= RAM - gpa ? (uint8_t *)ctx + gpa : NULL;
}

/* How the overlay rows run: each side on one thread timed by its CPU time (the machine
 * may be shared), or the engine on lanes (and pixman on one thread, or on as many threads
 * a band each) timed by the wall clock, since lanes' time is the other threads' too. */
static struct vsp_host_lanes *lanes;        /* NULL: one thread */
static unsigned lanes_n;
static bool pixman_bands;
static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;

static double now(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void submit(int c)
{
    if (vsp_submit(&v, c, cb.b, cb.n) != VSP_OK) {
        fprintf(stderr, "vsp-bench: submit refused\n");
        exit(1);
    }
    cb_reset(&cb);
}

static void drain(void)
{
    for (int i = 0; i < 100000 && vsp_run(&v, INT64_MAX / 4) > 0; i++)
        vsp_period(&v);
}

static void row(const char *name, double ours, double anchor)
{
    printf("%-44s %16.3f %16.3f %8.3f\n", name, ours, anchor, ours / anchor);
}

/* A desktop window, a scaled bilinear YUY2 video overlay, an ARGB window and a keyed NV12
 * overlay from three clients. */
static int scene(void)
{
    struct vsp_config cfg = { W, H, 0x204060, 1 << 24, 1 << 20 };
    if (!vsp_init(&v, &cfg))
        return -1;
    int c[3];
    for (unsigned i = 0; i < 3; i++) {
        struct vsp_client_ram r = { ram[i], map };
        c[i] = vsp_client_add(&v, 1u << i, &r);
        for (uint32_t k = 0; k < RAM; k++)
            ram[i][k] = (uint8_t)(k * 2654435761u >> 13);
    }
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, W, H, W * 4, 0);
    cb_present(&cb, 0, 0, 0, 0, 0, 0, 0, 0);
    submit(c[0]);
    cb_surface(&cb, 0, VGPU_FMT_YUY2, 640, 360, 1280, 0);
    cb_overlay(&cb, 0, VGPU_OVERLAY_BILINEAR, 10, 0, 255, 0, 0, 0, 640, 360, 200, 150, 1280, 720, 0);
    submit(c[1]);
    cb_surface(&cb, 0, VGPU_FMT_ARGB8888, 400, 300, 1600, 0);
    cb_present(&cb, 0, 20, 1400, 700, 0, 0, 0, 0);
    cb_surface(&cb, 1, VGPU_FMT_NV12, 320, 180, 320, 0x100000);
    cb_overlay(&cb, 0, 0, 30, 1, 255, VGPU_KEY_SOURCE, 0, 0, 320, 180, 100, 800, 320, 180, 0x808080);
    submit(c[2]);
    drain();
    return 0;
}

static double compose_ms(const struct vsp_fb *fb, const struct vsp_screen_rect *d, size_t n,
                         bool all, uint32_t *tiles)
{
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        if (all)
            vsp_compose_damage_all(&v.comp);
        double t = now();
        *tiles = vsp_compose(&v, fb, d, n);
        t = now() - t;
        best = t < best ? t : best;
    }
    return best * 1e3;
}

static void bench_compose(void)
{
    if (scene() < 0)
        return;
    struct vsp_fb fb = { (uint8_t *)frame, W, H, W * 4 };
    uint32_t full_tiles, tiles;
    double full = compose_ms(&fb, NULL, 0, true, &full_tiles);
    /* a clock's worth of text on the desktop changes: the platform reports its rows */
    struct vsp_screen_rect text = { 1700, 10, 200, 24 };
    double small = compose_ms(&fb, &text, 1, false, &tiles);
    row("vsp compose text damage vs all: cost us", small * 1e3, full * 1e3);
    row("vsp compose text damage: tiles vs all", tiles, full_tiles);
    /* a video frame arrives: write tracking saw the overlay's whole surface written */
    double video = 1e9;
    for (int i = 0; i < 3; i++) {
        vsp_damage_gpa(&v, 1, 0, 1280 * 360);
        double t = now();
        tiles = vsp_compose(&v, &fb, NULL, 0);
        t = now() - t;
        video = t < video ? t : video;
    }
    row("vsp compose video damage vs all: cost us", video * 1e6, full * 1e3);
    row("vsp compose video damage: tiles vs all", tiles, full_tiles);
}

/* Shares over 1 s of engine time (taken as 10^9 units, 100 periods), all saturating. */
static void bench_shares(void)
{
    struct vsp_config cfg = { 64, 64, 0, 10000000, 250000 };
    vsp_init(&v, &cfg);
    int c[3];
    for (unsigned i = 0; i < 3; i++) {
        struct vsp_client_ram r = { ram[i], map };
        c[i] = vsp_client_add(&v, 1u << i, &r);
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 256, 256, 1024, 0);
        submit(c[i]);
    }
    for (int period = 0; period < 100; period++) {
        int64_t left = cfg.period_units;
        while (left > 0) {
            for (unsigned i = 0; i < 3; i++)
                while (v.client[c[i]].buffers < 4) {
                    for (int k = 0; k < 8; k++)
                        cb_fill(&cb, 0, 0, 0, 256, 256, (uint32_t)k);
                    submit(c[i]);
                }
            int64_t used = vsp_run(&v, left);
            if (!used)
                break;
            left -= used;
        }
        vsp_period(&v);
    }
    for (unsigned i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "vsp bank share vs weight, %u of 1:2:4 (%%)", 1u << i);
        row(name, vsp_timebank_share_ppm(&v.bank, (uint32_t)c[i]) / 1e4,
            vsp_timebank_weight_ppm(&v.bank, (uint32_t)c[i]) / 1e4);
    }
}

/* One overlay drawn by the engine's shader into a 1080p target, against pixman. */
static double engine_ms(uint32_t bits, struct vsp_surface *src, struct vsp_surface *dst,
                        uint32_t key)
{
    struct vsp_shader sh;
    vsp_builtin_shader(bits, &sh);
    struct vsp_draw d = { .dst = dst, .rect = { 0, 0, W, H }, .shader = &sh,
                          .env.tex[0] = { src, 0, 0, src->w, src->h } };
    vsp_builtin_uniforms(d.env.uniform, src->w, src->h, W, H, bits & VSP_BUILTIN_BILINEAR,
                         false, key, 255);
    double best = 1e9;
    vsp_cpu_engine_set_lanes(lanes ? vsp_host_lanes(lanes) : NULL);
    for (int i = 0; i < REPEAT; i++) {
        struct vsp_pos pos = { 0, 0 };
        int64_t budget = INT64_MAX;
        double t = now();
        vsp_cpu_engine.draw(&d, &pos, &budget);
        t = now() - t;
        best = t < best ? t : best;
    }
    vsp_cpu_engine_set_lanes(NULL);
    return best * 1e3;
}

/* pixman on a band of the frame's rows, one band a lane */
struct pixman_band {
    pixman_op_t op;
    pixman_image_t *s, *d;
    unsigned count;
};

static void pixman_band(void *arg, unsigned lane)
{
    struct pixman_band *b = arg;
    int y0 = H * (int)lane / (int)b->count, y1 = H * ((int)lane + 1) / (int)b->count;
    pixman_image_composite32(b->op, b->s, NULL, b->d, 0, y0, 0, 0, 0, y0, W, y1 - y0);
}

/* pixman composites s (sw x sh, scaled to the screen when smaller, with filter) onto the
 * 1080p target by op. */
static double pixman_image_ms(pixman_image_t *s, int sw, int sh, pixman_filter_t filter,
                              pixman_op_t op)
{
    pixman_image_t *d = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, frame, W * 4);
    if (sw != W || sh != H) {
        pixman_transform_t t;
        pixman_transform_init_scale(&t, pixman_int_to_fixed(sw) / W, pixman_int_to_fixed(sh) / H);
        pixman_image_set_transform(s, &t);
        pixman_image_set_filter(s, filter, NULL, 0);
    }
    double best = 1e9;
    struct pixman_band b = { op, s, d, lanes_n };
    for (int i = 0; i < REPEAT; i++) {
        double t = now();
        if (pixman_bands)
            vsp_host_lanes(lanes)->run(lanes, pixman_band, &b);
        else
            pixman_image_composite32(op, s, NULL, d, 0, 0, 0, 0, 0, 0, W, H);
        t = now() - t;
        best = t < best ? t : best;
    }
    pixman_image_unref(s);
    pixman_image_unref(d);
    return best * 1e3;
}

static double pixman_ms(pixman_format_code_t sf, void *sbits, int sstride, pixman_op_t op)
{
    return pixman_image_ms(pixman_image_create_bits(sf, W, H, sbits, sstride), W, H,
                           PIXMAN_FILTER_NEAREST, op);
}

#define KEY 0x10e020u

/* Reads the 1080p frame's worth of bytes at p less a line, from p's first whole 64-byte
 * line, with plain vector loads, by groups of four lines: all of each, or its last 3 when
 * skip_first; the fold is kept so no load is dropped. */
static uint64_t read_lines(const uint8_t *p, bool skip_first)
{
    typedef uint64_t v2 __attribute__((vector_size(16)));
    v2 a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
    const uint8_t *q = p + (-(uintptr_t)p & 63);
    for (size_t i = skip_first ? 64 : 0; i < (size_t)W * H * 4 - 64; i += 64) {
        v2 x[4];
        memcpy(x, q + i, 64);
        a ^= x[0], b ^= x[1], c ^= x[2], d ^= x[3];
        if (skip_first && (i & 255) == 192)
            i += 64;
    }
    v2 r = a ^ b ^ c ^ d;
    return r[0] ^ r[1];
}

static double read_ms(const uint8_t *p, bool skip_first)
{
    double best = 1e9;
    for (int i = 0; i < REPEAT; i++) {
        double t = now();
        volatile uint64_t fold = read_lines(p, skip_first);
        t = now() - t;
        (void)fold;
        best = t < best ? t : best;
    }
    return best * 1e3;
}

#define SW 1280
#define SH 720

/* The XRGB picture at xrgb gets a quarter of its pixels keyed, in runs of 16; keyed becomes
 * the same picture as ARGB, the keyed pixels clear, the others opaque. */
static void make_keyed(uint8_t *xrgb, uint8_t *keyed)
{
    for (uint32_t i = 0; i < (uint32_t)W * H; i++) {
        uint8_t *p = xrgb + 4 * i, *q = keyed + 4 * i;
        if ((i / 16) % 4 == 0) {
            p[0] = KEY & 0xff, p[1] = KEY >> 8 & 0xff, p[2] = KEY >> 16 & 0xff;
            memset(q, 0, 4);
        } else {
            if (p[0] == (KEY & 0xff))
                p[0] ^= 1;
            memcpy(q, p, 3);
            q[3] = 0xff;
        }
    }
}

static void premultiply(uint8_t *argb)
{
    for (uint32_t i = 0; i < (uint32_t)W * H; i++) {        /* valid premultiplied pixels */
        uint8_t a = argb[4 * i + 3];
        for (int k = 0; k < 3; k++)
            argb[4 * i + k] = (uint8_t)(argb[4 * i + k] * a / 255);
    }
}

/* pixman has no NV12: the same planes as YV12 (Y, then V, then U, each chroma plane at half
 * the stride), the nearest format it has. */
static void nv12_to_yv12(const uint8_t *nv12, uint8_t *yv12)
{
    memcpy(yv12, nv12, (size_t)SW * SH);
    for (uint32_t y = 0; y < SH / 2; y++)
        for (uint32_t x = 0; x < SW / 2; x++) {
            const uint8_t *uv = nv12 + SW * SH + y * SW + 2 * x;
            yv12[SW * SH + y * (SW / 2) + x] = uv[1];
            yv12[SW * SH + SW * SH / 4 + y * (SW / 2) + x] = uv[0];
        }
}

static void fill_hash(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)((k + seed) * 2654435761u >> 13);
}

/* The row's name in this mode: one thread each, or "short, N CPUs vs pixman[ on N]" */
static const char *pixman_row(const char *one, const char *short_name)
{
    static char name[64];
    if (!lanes)
        return one;
    if (pixman_bands)
        snprintf(name, sizeof(name), "%s, %u CPUs vs pixman on %u: ms", short_name, lanes_n,
                 lanes_n);
    else
        snprintf(name, sizeof(name), "%s, %u CPUs vs pixman: ms", short_name, lanes_n);
    return name;
}

static void bench_pixman(void)
{
    struct vsp_surface dst = { true, VGPU_FMT_XRGB8888, W, H, W * 4, 0, (uint64_t)W * H * 4,
                               (uint8_t *)frame };
    struct vsp_surface yuy2 = { true, VGPU_FMT_YUY2, W, H, W * 2, 0, (uint64_t)W * H * 2, ram[0] };
    row(pixman_row("vsp YUY2 to RGB 1080p vs pixman: ms", "vsp YUY2"), engine_ms(VSP_BUILTIN_YUV, &yuy2, &dst, 0),
        pixman_ms(PIXMAN_yuy2, ram[0], W * 2, PIXMAN_OP_SRC));

    /* NV12 720p scaled bilinear to 1080p, against YV12 (nv12_to_yv12) */
    uint8_t *nv12 = ram[2], *yv12 = ram[2] + (8u << 20);
    nv12_to_yv12(nv12, yv12);
    struct vsp_surface nv = { true, VGPU_FMT_NV12, SW, SH, SW, 0, (uint64_t)SW * SH * 3 / 2, nv12 };
    row(pixman_row("vsp NV12 720p->1080p bilinear vs pixman: ms", "vsp NV12 scaled"),
        engine_ms(VSP_BUILTIN_YUV | VSP_BUILTIN_BILINEAR, &nv, &dst, 0),
        pixman_image_ms(pixman_image_create_bits(PIXMAN_yv12, SW, SH, (uint32_t *)yv12, SW),
                        SW, SH, PIXMAN_FILTER_BILINEAR, PIXMAN_OP_SRC));

    /* Colour key: pixman has none; the same picture as ARGB with the keyed pixels clear
     * (alpha 0) and the rest opaque, composited OVER, is what a key does.  A quarter of the
     * pixels are keyed, in runs of 16. */
    uint8_t *xrgb = ram[0], *keyed = ram[0] + (8u << 20);
    make_keyed(xrgb, keyed);
    struct vsp_surface key = { true, VGPU_FMT_XRGB8888, W, H, W * 4, 0, (uint64_t)W * H * 4, xrgb };
    double pixman_key = pixman_ms(PIXMAN_a8r8g8b8, keyed, W * 4, PIXMAN_OP_OVER);
    row(pixman_row("vsp colour key 1080p vs pixman OVER: ms", "vsp key"), engine_ms(VSP_BUILTIN_KEY_SRC, &key, &dst, KEY),
        pixman_key);
    if (lanes)
        goto alpha;
    /* Near what a key costs: every source pixel read, every one written (the key: 3 in 4). */
    double copy = 1e9;
    for (int i = 0; i < REPEAT; i++) {
        double t = now();
        memcpy(frame, xrgb, (size_t)W * H * 4);
        t = now() - t;
        copy = t < copy ? t : copy;
    }
    row("memcpy of the 1080p frame vs pixman key: ms", copy * 1e3, pixman_key);
    /* The floor of any key that reads its source: that read alone, nothing written. */
    double all = read_ms(xrgb, false);
    row("read of the key's source vs pixman key: ms", all, pixman_key);
    /* What a map of the source's runs of unkeyed pixels (cached with the surface) could
     * save at most on reading: the lines it would skip, 1 in 4 were the keyed runs laid on
     * whole lines (with malloc's buffers off a line, as the note says, none is skipped). */
    row("read of 3 in 4 source lines vs all: ms", read_ms(xrgb, true), all);

alpha:;
    uint8_t *argb = ram[1];
    static bool premultiplied;
    if (!premultiplied)
        premultiply(argb);
    premultiplied = true;
    struct vsp_surface over = { true, VGPU_FMT_ARGB8888, W, H, W * 4, 0, (uint64_t)W * H * 4, argb };
    row(pixman_row("vsp alpha OVER 1080p vs pixman: ms", "vsp alpha"), engine_ms(VSP_BUILTIN_BLEND, &over, &dst, 0),
        pixman_ms(PIXMAN_a8r8g8b8, argb, W * 4, PIXMAN_OP_OVER));
}

/* The compositor's real path: a full 1080p compose (every tile) of a desktop window and one
 * full-screen overlay of each kind, against pixman compositing the same layers into a frame
 * (the desktop by SRC, then the overlay as the pixman rows above do it). */
enum layer_kind { ONLY_DESKTOP, OVER_YUY2, OVER_NV12, OVER_KEY, OVER_ALPHA };

/* Largest difference of a channel (R, G, B) between two 1080p frames. */
static unsigned frame_diff(const uint32_t *a, const uint32_t *b)
{
    unsigned most = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        for (int s = 0; s < 24; s += 8) {
            int d = (int)(a[i] >> s & 0xff) - (int)(b[i] >> s & 0xff);
            unsigned m = (unsigned)(d < 0 ? -d : d);
            most = m > most ? m : most;
        }
    return most;
}

/* What any one-pass compose of two full-screen layers moves: both read whole, the frame
 * written whole (here a | b, 32 bytes a step where the host has AVX2, as the engine). */
typedef uint64_t v4u64 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static void one_pass_avx2(uint32_t *out, const uint8_t *a,
                                                          const uint8_t *b)
{
    for (size_t i = 0; i < (size_t)W * H * 4; i += 32) {
        v4u64 x, y;
        memcpy(&x, a + i, 32);
        memcpy(&y, b + i, 32);
        x |= y;
        memcpy((uint8_t *)out + i, &x, 32);
    }
}

static void one_pass(uint32_t *out, const uint8_t *a, const uint8_t *b)
{
    if (__builtin_cpu_supports("avx2")) {
        one_pass_avx2(out, a, b);
        return;
    }
    for (size_t i = 0; i < (size_t)W * H * 4; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        x |= y;
        memcpy((uint8_t *)out + i, &x, 8);
    }
}

static unsigned compose_vs_pixman(const char *name, enum layer_kind kind)
{
    struct vsp_config cfg = { W, H, 0x204060, 1 << 24, 1 << 20 };
    if (!vsp_init(&v, &cfg))
        return ~0u;
    int c[2];
    for (unsigned i = 0; i < 2; i++) {
        struct vsp_client_ram r = { ram[i], map };
        c[i] = vsp_client_add(&v, 1, &r);
    }
    fill_hash(ram[0], (size_t)W * H * 4, 0);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, W, H, W * 4, 0);
    cb_present(&cb, 0, 0, 0, 0, 0, 0, 0, 0);
    submit(c[0]);
    pixman_image_t *ov = NULL;
    pixman_op_t op = PIXMAN_OP_OVER;    /* SRC: the overlay is opaque and covers the screen */
    uint8_t *src = ram[1], *ref = ram[2];
    fill_hash(src, (size_t)W * H * 4, 7);
    switch (kind) {
    case ONLY_DESKTOP:
        ov = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, (uint32_t *)ram[0], W * 4);
        op = PIXMAN_OP_SRC;
        break;
    case OVER_YUY2:
        cb_surface(&cb, 0, VGPU_FMT_YUY2, W, H, W * 2, 0);
        cb_overlay(&cb, 0, 0, 10, 0, 255, 0, 0, 0, W, H, 0, 0, W, H, 0);
        ov = pixman_image_create_bits(PIXMAN_yuy2, W, H, (uint32_t *)src, W * 2);
        op = PIXMAN_OP_SRC;
        break;
    case OVER_NV12: {
        cb_surface(&cb, 0, VGPU_FMT_NV12, SW, SH, SW, 0);
        cb_overlay(&cb, 0, VGPU_OVERLAY_BILINEAR, 10, 0, 255, 0, 0, 0, SW, SH, 0, 0, W, H, 0);
        nv12_to_yv12(src, ref);
        ov = pixman_image_create_bits(PIXMAN_yv12, SW, SH, (uint32_t *)ref, SW);
        pixman_transform_t t;
        pixman_transform_init_scale(&t, pixman_int_to_fixed(SW) / W, pixman_int_to_fixed(SH) / H);
        pixman_image_set_transform(ov, &t);
        pixman_image_set_filter(ov, PIXMAN_FILTER_BILINEAR, NULL, 0);
        pixman_image_set_repeat(ov, PIXMAN_REPEAT_PAD);     /* edges clamped, as ours */
        op = PIXMAN_OP_SRC;
        break;
    }
    case OVER_KEY:
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, W, H, W * 4, 0);
        cb_overlay(&cb, 0, 0, 10, 0, 255, VGPU_KEY_SOURCE, 0, 0, W, H, 0, 0, W, H, KEY);
        make_keyed(src, ref);
        ov = pixman_image_create_bits(PIXMAN_a8r8g8b8, W, H, (uint32_t *)ref, W * 4);
        break;
    case OVER_ALPHA:
        cb_surface(&cb, 0, VGPU_FMT_ARGB8888, W, H, W * 4, 0);
        cb_overlay(&cb, 0, 0, 10, 0, 255, 0, 0, 0, W, H, 0, 0, W, H, 0);
        premultiply(src);
        ov = pixman_image_create_bits(PIXMAN_a8r8g8b8, W, H, (uint32_t *)src, W * 4);
        break;
    }
    if (cb.n)
        submit(c[1]);
    drain();
    struct vsp_fb fb = { (uint8_t *)frame, W, H, W * 4 };
    pixman_image_t *desk = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, (uint32_t *)ram[0],
                                                    W * 4);
    pixman_image_t *d = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, frame2, W * 4);
    double ours = 1e9, theirs = 1e9, pass = 1e9;
    for (int i = 0; i < REPEAT; i++) {        /* in turns, so both meet the same load */
        if (kind == OVER_KEY) {         /* the bytes of one pass: both sources read, frame written */
            double t = now();
            one_pass(frame, ram[0], src);
            t = now() - t;
            pass = t < pass ? t : pass;
        }
        vsp_compose_damage_all(&v.comp);
        double t = now();
        uint32_t tiles = vsp_compose(&v, &fb, NULL, 0);
        t = now() - t;
        ours = t < ours ? t : ours;
        if (tiles != v.comp.stats.tiles_total)
            fprintf(stderr, "vsp-bench: %u of %u tiles composed\n", tiles,
                    v.comp.stats.tiles_total);
        t = now();
        if (op != PIXMAN_OP_SRC)        /* an opaque overlay hides the desktop: skipped */
            pixman_image_composite32(PIXMAN_OP_SRC, desk, NULL, d, 0, 0, 0, 0, 0, 0, W, H);
        pixman_image_composite32(op, ov, NULL, d, 0, 0, 0, 0, 0, 0, W, H);
        t = now() - t;
        theirs = t < theirs ? t : theirs;
    }
    row(name, ours * 1e3, theirs * 1e3);
    if (kind == OVER_KEY)
        row("one pass over desktop and key vs pixman: ms", pass * 1e3, theirs * 1e3);
    pixman_image_unref(ov);
    pixman_image_unref(desk);
    pixman_image_unref(d);
    return frame_diff(frame, frame2);
}

static void bench_compose_layers(void)
{
    unsigned diff[5];
    diff[0] = compose_vs_pixman("vsp compose desktop 1080p vs pixman: ms", ONLY_DESKTOP);
    diff[1] = compose_vs_pixman("vsp compose +YUY2 1:1 1080p vs pixman: ms", OVER_YUY2);
    diff[2] = compose_vs_pixman("vsp compose +NV12 720p->1080p vs pixman: ms", OVER_NV12);
    diff[3] = compose_vs_pixman("vsp compose +colour key 1080p vs pixman: ms", OVER_KEY);
    diff[4] = compose_vs_pixman("vsp compose +alpha OVER 1080p vs pixman: ms", OVER_ALPHA);
    printf(" vsp-bench: compose vs pixman rows: vsp_compose of every tile of a 1080p screen "
           "(a desktop window, XRGB, alone or under one full-screen overlay: YUY2 1:1, NV12 720p bilinear, "
           "XRGB with a source key, ARGB at alpha 255), through the compositor as the VSP runs "
           "it, against pixman compositing what shows of the same layers into a 1080p frame: "
           "the desktop by SRC, then the keyed overlay (as ARGB, keyed pixels clear) or the "
           "alpha one by OVER; the YUY2 and NV12 overlays are opaque and hide the desktop, so "
           "both sides draw only them (pixman by SRC, NV12 as YV12 with its edges padded); CPU "
           "time, best of %d, ours and pixman's in turns (and the one-pass row: a loop reading "
           "the desktop and the keyed source whole and writing the frame whole, the bytes the "
           "compositor's fused pass moves for that pair); the frames differ by at most %u, %u, "
           "%u, %u, %u per channel (NV12: pixman filters RGB, the engine YUV, then converts: on "
           "these random pixels, which clamp, far apart; on smooth ones within 2).\n",
           REPEAT, diff[0], diff[1], diff[2], diff[3], diff[4]);
}

static const char usage[] =
    "usage: vsp-bench\n"
    "\n"
    "The vGPU proxy on the host, CPU time (wall-clock time where several CPUs draw): composing\n"
    "a 1080p screen from damage tiles against recomposing all of it; the time bank's shares\n"
    "against the weights 1:2:4; the engine's overlay paths against pixman on the same pixels\n"
    "(YUY2 to RGB, NV12 720p scaled to 1080p, colour key, alpha OVER at 1080p); whole\n"
    "composes of a desktop under each overlay through the compositor against pixman\n"
    "compositing the same layers; and the overlays again with the engine on up to 4 CPUs\n"
    "(the machine's) against pixman on one and on as many.  Rows:\n"
    "NAME OURS ANCHOR RATIO, and notes.\n"
    "\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!bench_cli_option("vsp-bench", usage, argv[i]))
            bench_cli_usage_error("vsp-bench", usage, "takes no arguments, only options");
    for (int i = 0; i < 3; i++)
        ram[i] = malloc(RAM);
    frame = malloc((size_t)W * H * 4);
    frame2 = malloc((size_t)W * H * 4);
    if (!ram[0] || !ram[1] || !ram[2] || !frame || !frame2)
        return 1;
    bench_compose();
    bench_shares();
    bench_pixman();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    lanes_n = cpus < 2 ? 2 : cpus > 4 ? 4 : (unsigned)cpus;
    lanes = vsp_host_lanes_start(lanes_n);
    if (lanes) {
        clock_id = CLOCK_MONOTONIC;
        bench_pixman();
        pixman_bands = true;
        bench_pixman();
        pixman_bands = false;
        vsp_host_lanes_stop(lanes);
        lanes = NULL;
        clock_id = CLOCK_THREAD_CPUTIME_ID;
        printf(" vsp-bench: CPUs rows: the same overlays with the engine on %u lanes (as the VSP "
               "draws on its vCPUs: each large draw split into bands of rows, one a CPU), against "
               "pixman on one thread (it has no threads of its own), then against pixman on as "
               "many threads, a band each: wall-clock time, best of 40, so they need a quiet "
               "machine with %u CPUs free.\n", lanes_n, lanes_n);
    }
    uintptr_t off = (uintptr_t)ram[0] & 63;     /* the key's source (bench_pixman) */
    printf(" vsp-bench: compose rows: damage-driven compose against recomposing every tile of "
           "the same scene (3 clients: window, bilinear YUY2 overlay 2x, ARGB window, keyed NV12); "
           "shares over 100 periods of 10^7 units; pixman rows: one full-screen overlay drawn by the "
           "engine on one thread (built-in shaders run natively a row at a time, AVX2 where the host "
           "has it) against pixman on the same pixels: YUY2 by PIXMAN_OP_SRC; NV12 (pixman has none) "
           "against the same planes as YV12 scaled bilinear by SRC; colour key (pixman has none) "
           "against OVER of the same picture as ARGB with the keyed pixels clear and the rest opaque "
           "(memcpy of the frame: every pixel read and written; a key reads every source pixel "
           "too but writes only the 3 in 4 not keyed, a 64-byte line of the destination whole or "
           "not at all but where a key's edge falls: about the memcpy's cost, both bound by "
           "moving the bytes); the key's floor rows: its 8 MB source read alone, nothing "
           "written (any key reads that much: what the key costs beyond it is writing the "
           "frame), and that source read by whole 64-byte lines but every 4th, against all "
           "(the most a cached map of the source's runs of unkeyed pixels could save reading, "
           "were the keyed runs laid on whole lines; here the source and the frame start %u and "
           "%u bytes into a line%s); alpha by OVER.  CPU time, best of 5 per run, ours and "
           "pixman's alike.\n",
           (unsigned)off, (unsigned)((uintptr_t)frame & 63),
           off && off == ((uintptr_t)frame & 63)
               ? ", so no source line is wholly keyed and the key writes to every line of "
                 "the frame, 2 in 4 in part"
               : "");
    bench_compose_layers();
    return 0;
}
