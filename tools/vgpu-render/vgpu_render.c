/*
 * vgpu-render: the host's reference for the frames the vGPU test captures (issue 16).  It
 * builds the command buffers the vgpu_client guests send (guest/tests/vgpu_test_scene.h),
 * renders them through the portable proxy (guest/vsp, the engine the VSP runs) and through
 * pixman (an independent reading of the same buffers), checks the two agree within 1 per
 * channel, writes either as PNG on request, and compares a captured PNG: pixel-exact
 * against the proxy, within 1 per channel against pixman.
 *
 *   vgpu-render [-s WxH] [-c ID,ID...] [-o] [-e ENGINE.png] [-p PIXMAN.png] [CAPTURED.png]
 *
 * -o: the clients run the overlays scene too (vgpu_client's `overlays`, vgpu-three.cfg):
 * three source surfaces written by the client's stores and four overlays over its window.
 *
 * Defaults: 640x480 (the Bochs scenario's VBE mode), clients 2,3 (light and heavy in
 * vgpu.cfg; the hostile client presents nothing).  Exit 0: everything compared agrees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/lib/vgpu_cmdbuf.h"
#include "guest/tests/vgpu_test_scene.h"
#include "guest/vsp/vsp.h"
#include "hv/lib/png_write.h"
#include "tools/vgpu-render/png_read.h"
#include "tools/vgpu-render/pixman_replay.h"

#define MAX_CLIENTS 8
#define BUSY_BUFFERS 24
#define BACKGROUND 0x202020u                /* vgpu_service's */
#define SRC_GPA 81920u                     /* the overlay sources, past the window */
#define RAM_BYTES (SRC_GPA + VGPU_SCENE_SRC_BYTES)
#define BUFFERS (3 + BUSY_BUFFERS)

struct scene_client {
    uint32_t id;
    struct { uint8_t b[4096]; uint32_t len; } buf[BUFFERS];
    unsigned bufs;
    unsigned before_stripe;                 /* buffers sent before the stripe's stores */
};

static struct vsp vsp;
static bool overlays;

static uint8_t *map_ram(void *ctx, uint64_t gpa, uint64_t len)
{
    return gpa <= RAM_BYTES && len <= RAM_BYTES - gpa ? (uint8_t *)ctx + gpa : NULL;
}

static void add_buffer(struct scene_client *c, void (*build)(struct vgpu_cmdbuf *, struct scene_client *, uint64_t))
{
    struct vgpu_cmdbuf b;
    vgpu_cmdbuf_init(&b, c->buf[c->bufs].b, sizeof(c->buf[c->bufs].b));
    build(&b, c, c->bufs + 1);
    if (b.overflow) {
        fprintf(stderr, "vgpu-render: a scene buffer overflowed\n");
        exit(2);
    }
    c->buf[c->bufs++].len = b.len;
}

static void first(struct vgpu_cmdbuf *b, struct scene_client *c, uint64_t fence) { vgpu_scene_first(b, c->id, 0, fence); }
static void with_overlays(struct vgpu_cmdbuf *b, struct scene_client *c, uint64_t fence) { vgpu_scene_overlays(b, c->id, SRC_GPA, fence); }
static void busy(struct vgpu_cmdbuf *b, struct scene_client *c, uint64_t fence) { vgpu_scene_busy(b, c->id, fence); }
static void fence_only(struct vgpu_cmdbuf *b, struct scene_client *c, uint64_t fence) { (void)c; vgpu_cmd_fence(b, fence); }

/* The scene's buffers, in the order a client sends them (its refused command left out:
 * a refusal draws nothing). */
static void build_scene(struct scene_client *c, uint32_t id)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    add_buffer(c, first);
    if (overlays)
        add_buffer(c, with_overlays);
    for (unsigned i = 0; i < BUSY_BUFFERS; i++)
        add_buffer(c, busy);
    c->before_stripe = c->bufs;
    add_buffer(c, fence_only);
}

static void run_all(void)
{
    while (vsp_run(&vsp, 1 << 30) > 0)
        vsp_period(&vsp);
}

static void submit(int client, const void *buf, uint32_t len)
{
    enum vsp_err e;
    while ((e = vsp_submit(&vsp, client, buf, len)) == VSP_E_QUEUE_FULL) {
        vsp_run(&vsp, 1 << 30);
        vsp_period(&vsp);
    }
    if (e != VSP_OK) {
        fprintf(stderr, "vgpu-render: the proxy refused a buffer: %s\n", vsp_err_name(e));
        exit(2);
    }
}

static void render_engine(struct scene_client *sc, unsigned n, uint32_t w, uint32_t h, uint32_t *fb_px)
{
    static uint8_t ram[MAX_CLIENTS][RAM_BYTES];
    static struct vsp_client_ram r[MAX_CLIENTS];
    int id[MAX_CLIENTS];
    struct vsp_config cfg = { .screen_w = w, .screen_h = h, .background = BACKGROUND,
                              .period_units = 1 << 20, .slice_units = 1 << 16 };
    if (!vsp_init(&vsp, &cfg)) {
        fprintf(stderr, "vgpu-render: the proxy refuses a %ux%u screen\n", w, h);
        exit(2);
    }
    struct vsp_fb fb = { (uint8_t *)fb_px, w, h, w * 4 };
    for (unsigned i = 0; i < n; i++) {
        vgpu_scene_sources(ram[i] + SRC_GPA, sc[i].id);
        r[i] = (struct vsp_client_ram){ ram[i], map_ram };
        id[i] = vsp_client_add(&vsp, 1, &r[i]);
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < sc[i].before_stripe; k++)
            submit(id[i], sc[i].buf[k].b, sc[i].buf[k].len);
    run_all();
    vsp_compose(&vsp, &fb, NULL, 0);
    for (unsigned i = 0; i < n; i++) {
        vgpu_scene_stripe((uint32_t *)ram[i]);
        vsp_damage_gpa(&vsp, id[i], VGPU_TEST_STRIPE_Y * VGPU_TEST_W * 4, 8 * VGPU_TEST_W * 4);
        for (unsigned k = sc[i].before_stripe; k < sc[i].bufs; k++)
            submit(id[i], sc[i].buf[k].b, sc[i].buf[k].len);
    }
    run_all();
    vsp_compose(&vsp, &fb, NULL, 0);
    for (unsigned i = 0; i < n; i++) {
        const struct vsp_client_error *e = vsp_client_last_error(&vsp, id[i]);
        if (e->err != VSP_OK) {
            fprintf(stderr, "vgpu-render: client %u: the proxy refused a command: %s\n",
                    sc[i].id, vsp_err_name(e->err));
            exit(2);
        }
    }
}

static void render_pixman(struct scene_client *sc, unsigned n, uint32_t w, uint32_t h, uint32_t *px)
{
    static uint8_t ram[MAX_CLIENTS][RAM_BYTES];
    struct replay_client rc[MAX_CLIENTS];
    char err[160];
    memset(rc, 0, sizeof(rc));
    for (unsigned i = 0; i < n; i++) {
        vgpu_scene_sources(ram[i] + SRC_GPA, sc[i].id);
        rc[i].ram = ram[i];
        rc[i].ram_size = RAM_BYTES;
        for (unsigned k = 0; k < sc[i].bufs; k++) {
            if (k == sc[i].before_stripe)
                vgpu_scene_stripe((uint32_t *)ram[i]);
            if (pixman_replay_buffer(&rc[i], sc[i].buf[k].b, sc[i].buf[k].len, err, sizeof(err))) {
                fprintf(stderr, "vgpu-render: client %u, buffer %u: pixman: %s\n", sc[i].id, k, err);
                exit(2);
            }
        }
    }
    pixman_image_t *screen = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, px, (int)w * 4);
    pixman_replay_compose(rc, n, screen, BACKGROUND);
    pixman_image_unref(screen);
    for (unsigned i = 0; i < n; i++)
        pixman_replay_free(&rc[i]);
}

/* Pixels that differ by more than `tolerance` in some channel; prints the first few. */
static uint64_t compare(const char *what, const uint32_t *a, const uint32_t *b, uint32_t w, uint32_t h,
                        int tolerance)
{
    uint64_t off = 0;
    for (uint64_t i = 0; i < (uint64_t)w * h; i++) {
        for (unsigned k = 0; k < 24; k += 8) {
            int d = (int)(a[i] >> k & 0xff) - (int)(b[i] >> k & 0xff);
            if (d > tolerance || d < -tolerance) {
                if (off++ < 5)
                    printf("  %s: (%lu, %lu) %06x against %06x\n", what, i % w, i / w,
                           a[i] & 0xffffff, b[i] & 0xffffff);
                break;
            }
        }
    }
    return off;
}

static int to_file(void *ctx, const void *p, size_t len)
{
    return fwrite(p, 1, len, ctx) == len ? 0 : 1;
}

static void write_png(const char *path, const uint32_t *px, uint32_t w, uint32_t h)
{
    FILE *f = fopen(path, "wb");
    struct png_image img = { (const uint8_t *)px, w, h, w * 4, PNG_BGRX };
    if (!f || png_write(&img, to_file, f) || fclose(f)) {
        fprintf(stderr, "vgpu-render: cannot write %s\n", path);
        exit(2);
    }
    printf("wrote %s (%ux%u)\n", path, w, h);
}

/* Exit 0 after --help (on stdout), 2 for a usage error (on stderr). */
static void usage(bool help)
{
    fprintf(help ? stdout : stderr,
            "usage: vgpu-render [-s WxH] [-c ID,ID...] [-o] [-e ENGINE.png] [-p PIXMAN.png]\n"
            "                   [CAPTURED.png]\n"
            "       vgpu-render --help | --version\n"
            "\n"
            "The host's reference for the frames the vGPU test captures: builds the command\n"
            "buffers the vgpu_client guests send, renders them through the proxy the VSP runs\n"
            "and through pixman, and checks the two agree within 1 per channel; compares\n"
            "CAPTURED.png pixel-exact against the proxy and within 1 per channel against pixman.\n"
            "\n"
            "  -s WxH         the screen, up to 4096x4096 (default 640x480, the Bochs VBE mode)\n"
            "  -c ID,ID...    the clients, 2 to 32 (default 2,3: light and heavy in vgpu.cfg)\n"
            "  -o             the clients run the overlays scene too (vgpu-three.cfg)\n"
            "  -e ENGINE.png  write the proxy's frame\n"
            "  -p PIXMAN.png  write pixman's frame\n"
            "\n"
            "exit status: 0 everything compared agrees (MATCH), 1 a mismatch or an unreadable\n"
            "capture, 2 a usage error, a scene the proxy or pixman refuses, or a PNG that\n"
            "cannot be written\n");
    exit(help ? 0 : 2);
}

int main(int argc, char **argv)
{
    uint32_t w = 640, h = 480, ids[MAX_CLIENTS] = { 2, 3 };
    unsigned n = 2;
    const char *engine_out = NULL, *pixman_out = NULL, *captured = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(true);
        } else if (!strcmp(argv[i], "--version")) {
            printf("vgpu-render (Atoll) %s\n", ATOLL_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            if (sscanf(argv[++i], "%ux%u", &w, &h) != 2 || !w || !h || w > 4096 || h > 4096)
                usage(false);
        } else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            char *p = argv[++i];
            for (n = 0; *p && n < MAX_CLIENTS; n++) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p || v < 2 || v > 32)
                    usage(false);
                ids[n] = (uint32_t)v;
                p = *end == ',' ? end + 1 : end;
            }
            if (*p)
                usage(false);
        } else if (!strcmp(argv[i], "-o")) {
            overlays = true;
        } else if (!strcmp(argv[i], "-e") && i + 1 < argc) {
            engine_out = argv[++i];
        } else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            pixman_out = argv[++i];
        } else if (argv[i][0] != '-' && !captured) {
            captured = argv[i];
        } else {
            usage(false);
        }
    }
    static struct scene_client sc[MAX_CLIENTS];
    for (unsigned i = 0; i < n; i++)
        build_scene(&sc[i], ids[i]);
    uint32_t *ours = calloc((size_t)w * h, 4), *ref = calloc((size_t)w * h, 4);
    render_engine(sc, n, w, h, ours);
    render_pixman(sc, n, w, h, ref);
    for (uint64_t i = 0; i < (uint64_t)w * h; i++) {
        ours[i] &= 0xffffff;
        ref[i] &= 0xffffff;
    }
    if (engine_out)
        write_png(engine_out, ours, w, h);
    if (pixman_out)
        write_png(pixman_out, ref, w, h);
    int bad = 0;
    uint64_t off = compare("proxy vs pixman", ours, ref, w, h, 1);
    printf("proxy against pixman: %lu of %lu pixels beyond 1 per channel\n", off, (uint64_t)w * h);
    bad |= off != 0;
    if (captured) {
        struct png_pixels cap;
        char err[160];
        if (png_read_file(captured, &cap, err, sizeof(err))) {
            printf("%s: %s\n", captured, err);
            return 1;
        }
        if (cap.width != w || cap.height != h) {
            printf("%s: %ux%u, the reference is %ux%u\n", captured, cap.width, cap.height, w, h);
            return 1;
        }
        off = compare("captured vs proxy", cap.xrgb, ours, w, h, 0);
        printf("%s against the proxy: %lu of %lu pixels differ\n", captured, off, (uint64_t)w * h);
        bad |= off != 0;
        off = compare("captured vs pixman", cap.xrgb, ref, w, h, 1);
        printf("%s against pixman: %lu of %lu pixels beyond 1 per channel\n", captured, off,
               (uint64_t)w * h);
        bad |= off != 0;
        free(cap.xrgb);
    }
    free(ours);
    free(ref);
    printf("%s\n", bad ? "MISMATCH" : "MATCH");
    return bad;
}
