/*
 * A second, independent reader of vGPU command buffers: it draws what SURFACE_CREATE
 * (XRGB8888, YUY2), FILL, PRESENT, OVERLAY_SET (nearest scaling from the surface's corner,
 * BT.601, a source colour key at 1:1, a global alpha) and FENCE say with pixman, into its
 * own copy of each client's RAM, and composes the presented windows and overlays by z as
 * the proxy's contract says (VGPU.md).  Other commands and options are refused: the
 * reference covers what the test clients send.
 */
#ifndef ATOLL_TOOLS_VGPU_RENDER_PIXMAN_REPLAY_H
#define ATOLL_TOOLS_VGPU_RENDER_PIXMAN_REPLAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pixman.h>

#define REPLAY_SURFACES 32

#define REPLAY_OVERLAYS 8

struct replay_overlay {
    bool live;
    uint16_t surface;
    uint8_t alpha, key_mode;
    int16_t z;
    uint32_t key;
    uint32_t src_w, src_h;              /* from the surface's corner */
    int32_t x, y;
    uint32_t w, h;
};

struct replay_client {
    uint8_t *ram;
    size_t ram_size;
    pixman_image_t *surface[REPLAY_SURFACES];
    bool shown;                         /* a window is presented */
    uint16_t window;
    int16_t z;
    int32_t x, y;
    struct replay_overlay overlay[REPLAY_OVERLAYS];
};

/* Runs one buffer; 0, or -1 with the reason in err (nothing after that command runs). */
int pixman_replay_buffer(struct replay_client *c, const uint8_t *buf, size_t len, char *err,
                         size_t err_size);
/* The screen: background, then every client's window and overlays in z order (ties: by
 * client index, then the window before overlays 0..7). */
void pixman_replay_compose(struct replay_client *clients, unsigned n, pixman_image_t *screen,
                           uint32_t background);
void pixman_replay_free(struct replay_client *c);

#endif
