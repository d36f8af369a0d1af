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

#endif
