/*
 * The rendering engine: what executes validated drawing work.  Here it is the VSP's CPU
 * (vsp_cpu_engine); a real GPU would implement the same three operations.  Each takes
 * arguments the proxy has already checked (surfaces live, rectangles inside them, shader
 * verified, textures bound), does work while *budget is positive, subtracts the units it
 * used (one per pixel written, plus the shader instructions run) and returns true once
 * the operation is complete.  *pos (zero at the start) carries the progress, so an
 * operation cut at a slice's end resumes in the next slice where it stopped.
 */
#ifndef ATOLL_GUEST_VSP_VSP_ENGINE_H
#define ATOLL_GUEST_VSP_VSP_ENGINE_H
#include <stdbool.h>
#include <stdint.h>

#include "guest/vsp/vsp_shader.h"
#include "guest/vsp/vsp_surface.h"

struct vsp_pos {
    uint32_t row, col;
};

struct vsp_draw {
    const struct vsp_surface *dst;
    struct vgpu_rect rect;              /* inside dst */
    const struct vsp_shader *shader;
    struct vsp_shader_env env;
    int32_t origin_x, origin_y;         /* R0 of the rect's top-left pixel */
    /* NULL, or the surface (dst's format) whose pixels stand for dst's before the draw, as
     * if copied into rect first: rect pixel (col, row) takes the pixel at (under_x + col,
     * under_y + row) of under where the shader discards it, and reads it as its
     * destination; dst is then only written, each pixel of rect once.  Units as without. */
    const struct vsp_surface *under;
    uint32_t under_x, under_y;
};

struct vsp_engine_ops {
    bool (*fill)(const struct vsp_surface *dst, const struct vgpu_rect *r, uint32_t argb,
                 struct vsp_pos *pos, int64_t *budget);
    /* src and dst both RGB; they may be the same surface, overlapping */
    bool (*blit)(const struct vsp_surface *dst, uint32_t dx, uint32_t dy,
                 const struct vsp_surface *src, const struct vgpu_rect *sr,
                 struct vsp_pos *pos, int64_t *budget);
    bool (*draw)(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget);
};

extern const struct vsp_engine_ops vsp_cpu_engine;
/* Whether the CPU engine may use the host's SIMD (AVX2, found by CPUID) where it has it;
 * on by default.  Either way the pixels and units are the same (tests compare). */
void vsp_cpu_engine_use_simd(bool on);

/*
 * The VSP's other CPUs, as lanes the CPU engine splits large operations across
 * (vsp_engine_lanes.c), as a GPU's cores share a draw.  run(ctx, job, arg) calls
 * job(arg, lane) once for every lane in 0 .. count - 1, lane 0 on the calling CPU, and
 * returns once every call has returned.  Jobs share nothing but what they are given.
 */
struct vsp_lanes {
    unsigned count;
    void (*run)(void *ctx, void (*job)(void *arg, unsigned lane), void *arg);
    void *ctx;
    uint32_t min_pixels;        /* smaller operations stay on one CPU; 0: 64 Ki */
};

/* The lanes the CPU engine may use from now on; NULL (the default): the calling CPU
 * alone.  Pixels and units are the same either way (tests compare); the caller keeps
 * *lanes alive while the engine may use it, and sets it while no operation runs. */
void vsp_cpu_engine_set_lanes(const struct vsp_lanes *lanes);

#endif
