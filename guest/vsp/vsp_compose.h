/*
 * The compositor: the screen is cut into 64 x 64 tiles; damage marks tiles, and a compose
 * rebuilds only the marked ones.  A run of marked tiles side by side in a tile row is
 * rebuilt as one band, a few whole rows of it at a time, so layers read their sources
 * along rows: in a private buffer (background, then every layer by z from the topmost
 * one that hides what lies below), copied to the framebuffer once; where one layer
 * that only writes hides all else, it draws straight into the framebuffer; where a copied
 * window hides all else but one layer over it (a keyed or blended overlay on a desktop),
 * the two are drawn in one pass straight into the framebuffer (the overlay reading the
 * window for what lies below it); each pixel written once either way.  Layers are the
 * clients' presented windows
 * (copied, or blended when they carry alpha) and overlays (drawn by their pixel shaders);
 * all go through the engine, so a GPU engine would compose too.
 */
#ifndef ATOLL_GUEST_VSP_VSP_COMPOSE_H
#define ATOLL_GUEST_VSP_VSP_COMPOSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vsp/vsp_engine.h"

#define VSP_TILE 64u
#define VSP_MAX_SCREEN_W 4096u
#define VSP_MAX_SCREEN_H 4096u
#define VSP_BAND_BYTES (16u << 10)     /* a screen row at least (4 * VSP_MAX_SCREEN_W) */

struct vsp_screen_rect {
    int32_t x, y;
    uint32_t w, h;
};

/* 32 bits per pixel, bytes B G R X. */
struct vsp_fb {
    uint8_t *base;
    uint32_t width, height, pitch;
};

struct vsp_layer {
    int16_t z;
    uint8_t client, order;              /* ties of z: by client, then order */
    const struct vsp_surface *surface;
    struct vgpu_rect src;               /* the part of the surface shown */
    struct vsp_screen_rect dst;         /* where, at which size */
    const struct vsp_shader *shader;    /* NULL: a 1:1 copy of an RGB surface */
    const int32_t (*uniform)[4];        /* the shader's eight uniforms */
};

struct vsp_compose_stats {
    uint64_t composes;
    uint64_t tiles_recomposed;          /* summed over composes */
    uint64_t tiles_offered;             /* tiles on the screen, summed over composes */
    uint64_t fused;                     /* rectangles built by the fused pass, summed */
    uint32_t last_recomposed, tiles_total;
};

struct vsp_compositor {
    uint32_t w, h, tiles_x, tiles_y;
    uint32_t background;                /* 0x00RRGGBB */
    const struct vsp_engine_ops *engine;
    bool fuse;                          /* the fused pass allowed (default; tests compare) */
    uint64_t dirty[VSP_MAX_SCREEN_H / VSP_TILE];    /* bit tx of row ty */
    struct vsp_compose_stats stats;
    uint8_t band[VSP_BAND_BYTES];       /* the rows being rebuilt (compose_strip) */
};

bool vsp_compose_init(struct vsp_compositor *c, uint32_t w, uint32_t h, uint32_t background,
                      const struct vsp_engine_ops *engine);
/* Marks the tiles r touches (clipped to the screen). */
void vsp_compose_damage(struct vsp_compositor *c, const struct vsp_screen_rect *r);
void vsp_compose_damage_all(struct vsp_compositor *c);
/* Rebuilds the marked tiles from the layers (any order: sorted here, in place) into fb
 * and clears the marks.  Returns the tiles rebuilt. */
uint32_t vsp_compose_tiles(struct vsp_compositor *c, const struct vsp_fb *fb,
                           struct vsp_layer *layers, size_t n);

#endif
