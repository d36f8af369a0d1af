/*
 * What a vgpu_client draws, as portable functions: the client guest sends these commands,
 * and the host's reference renderer (tools/vgpu-render) replays the same ones through the
 * proxy and through pixman to check a frame the hypervisor captured.  The window surface
 * ends as the client's colour with the marker stripe its own stores wrote.
 */
#ifndef ATOLL_GUEST_TESTS_VGPU_TEST_SCENE_H
#define ATOLL_GUEST_TESTS_VGPU_TEST_SCENE_H
#include <stdint.h>
#include "guest/lib/vgpu_cmdbuf.h"
#include "guest/tests/vgpu_test.h"

#define VGPU_SCENE_FILLS_PER_BUFFER 8
#define VGPU_SCENE_SURFACE 0

/* The first buffer: the window surface at gpa, filled with the client's colour, presented
 * at its place with z = its partition id, then fence. */
static inline void vgpu_scene_first(struct vgpu_cmdbuf *b, uint32_t id, uint64_t gpa, uint64_t fence)
{
    vgpu_cmd_surface_create(b, VGPU_SCENE_SURFACE, VGPU_FMT_XRGB8888, VGPU_TEST_W, VGPU_TEST_H,
                            VGPU_TEST_W * 4, gpa);
    vgpu_cmd_fill(b, VGPU_SCENE_SURFACE, 0, 0, VGPU_TEST_W, VGPU_TEST_H, 0xff000000u | vgpu_test_colour(id));
    vgpu_cmd_present(b, VGPU_SCENE_SURFACE, (int16_t)id, vgpu_test_x(id), VGPU_TEST_Y, 0, 0, 0, 0);
    vgpu_cmd_fence(b, fence);
}

/* One buffer of the busy phase: fills that flicker the top 64 rows, then the whole window
 * in the client's colour again, then fence. */
static inline void vgpu_scene_busy(struct vgpu_cmdbuf *b, uint32_t id, uint64_t fence)
{
    uint32_t colour = vgpu_test_colour(id);
    for (unsigned k = 0; k < VGPU_SCENE_FILLS_PER_BUFFER; k++)
        vgpu_cmd_fill(b, VGPU_SCENE_SURFACE, 0, 0, VGPU_TEST_W, 64,
                      0xff000000u | (colour ^ (k & 1 ? 0x101010 : 0)));
    vgpu_cmd_fill(b, VGPU_SCENE_SURFACE, 0, 0, VGPU_TEST_W, VGPU_TEST_H, 0xff000000u | colour);
    vgpu_cmd_fence(b, fence);
}

/* The stripe the client writes with plain stores into its window's pixels (no command). */
static inline void vgpu_scene_stripe(uint32_t *pixels)
{
    for (unsigned y = VGPU_TEST_STRIPE_Y; y < VGPU_TEST_STRIPE_Y + 8; y++)
        for (unsigned x = 0; x < VGPU_TEST_W; x++)
            pixels[y * VGPU_TEST_W + x] = VGPU_TEST_MARKER;
}

/* Overlays (the `overlays` scene, vgpu-three.cfg): three source surfaces in a block of
 * VGPU_SCENE_SRC_BYTES the client writes with its own stores before it shares it, and four
 * overlays over its window: the YUY2 source at 1:1 and scaled 2x (nearest), the XRGB
 * source with a source colour key, the other XRGB source at alpha 128. */
#define VGPU_SCENE_SRC_BYTES 12288
#define VGPU_SCENE_SRC_W 32
#define VGPU_SCENE_SRC_H 24
#define VGPU_SCENE_KEY 0x0000ff00u
enum { VGPU_SCENE_YUY2 = 1, VGPU_SCENE_KEYED = 2, VGPU_SCENE_BLEND = 3 };
static const uint32_t vgpu_scene_src_offset[4] = { 0, 0, 4096, 8192 };

static inline void vgpu_scene_sources(uint8_t *src, uint32_t id)
{
    for (uint32_t y = 0; y < VGPU_SCENE_SRC_H; y++) {
        uint8_t *yuy2 = src + y * VGPU_SCENE_SRC_W * 2;
        for (uint32_t x = 0; x < VGPU_SCENE_SRC_W; x += 2) {
            yuy2[x * 2 + 0] = (uint8_t)(16 + (x * 6 + y * 4 + id * 40) % 220);
            yuy2[x * 2 + 1] = (uint8_t)(40 + (x * 5 + id * 50) % 176);
            yuy2[x * 2 + 2] = (uint8_t)(16 + ((x + 1) * 6 + y * 4 + id * 40) % 220);
            yuy2[x * 2 + 3] = (uint8_t)(40 + (y * 7 + id * 20) % 176);
        }
        uint32_t *keyed = (uint32_t *)(src + vgpu_scene_src_offset[VGPU_SCENE_KEYED]) + y * VGPU_SCENE_SRC_W;
        uint32_t *blend = (uint32_t *)(src + vgpu_scene_src_offset[VGPU_SCENE_BLEND]) + y * VGPU_SCENE_SRC_W;
        for (uint32_t x = 0; x < VGPU_SCENE_SRC_W; x++) {
            keyed[x] = (x / 4 + y / 4) & 1 ? 0xff000000u | VGPU_SCENE_KEY
                                           : 0xff000000u | x * 8 << 16 | y * 10 << 8 | (id * 50 & 0xff);
            blend[x] = 0xff000000u | (255 - x * 6) << 16 | y * 9 << 8 | ((x * 3 + y * 3 + id * 20) & 0xff);
        }
    }
}

/* The source surfaces at src_gpa (the block above), the four overlays, then fence. */
static inline void vgpu_scene_overlays(struct vgpu_cmdbuf *b, uint32_t id, uint64_t src_gpa, uint64_t fence)
{
    const uint32_t w = VGPU_SCENE_SRC_W, h = VGPU_SCENE_SRC_H;
    int32_t x = vgpu_test_x(id), y = VGPU_TEST_Y;
    int16_t z = (int16_t)id;
    struct vgpu_rect all = { 0, 0, w, h };
    vgpu_cmd_surface_create(b, VGPU_SCENE_YUY2, VGPU_FMT_YUY2, w, h, w * 2,
                            src_gpa + vgpu_scene_src_offset[VGPU_SCENE_YUY2]);
    vgpu_cmd_surface_create(b, VGPU_SCENE_KEYED, VGPU_FMT_XRGB8888, w, h, w * 4,
                            src_gpa + vgpu_scene_src_offset[VGPU_SCENE_KEYED]);
    vgpu_cmd_surface_create(b, VGPU_SCENE_BLEND, VGPU_FMT_XRGB8888, w, h, w * 4,
                            src_gpa + vgpu_scene_src_offset[VGPU_SCENE_BLEND]);
    vgpu_cmd_overlay_set(b, 0, 0, z, VGPU_SCENE_YUY2, 255, VGPU_KEY_NONE, all, x + 8, y + 8, w, h, 0);
    vgpu_cmd_overlay_set(b, 1, 0, z, VGPU_SCENE_YUY2, 255, VGPU_KEY_NONE, all, x + 48, y + 8, 2 * w, 2 * h, 0);
    vgpu_cmd_overlay_set(b, 2, 0, z, VGPU_SCENE_KEYED, 255, VGPU_KEY_SOURCE, all, x + 8, y + 64, w, h,
                         VGPU_SCENE_KEY);
    vgpu_cmd_overlay_set(b, 3, 0, z, VGPU_SCENE_BLEND, 128, VGPU_KEY_NONE, all, x + 120, y + 64, w, h, 0);
    vgpu_cmd_fence(b, fence);
}

#endif
