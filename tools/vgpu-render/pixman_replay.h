/*
 * A second, independent reader of vGPU command buffers: it draws what SURFACE_CREATE
 * (XRGB8888), FILL, PRESENT and FENCE say with pixman, into its own copy of each client's
 * RAM, and composes the presented windows by z as the proxy's contract says (VGPU.md).
 * Other commands are refused: the reference covers what the test clients send.
 */
#ifndef ATOLL_TOOLS_VGPU_RENDER_PIXMAN_REPLAY_H
#define ATOLL_TOOLS_VGPU_RENDER_PIXMAN_REPLAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pixman.h>

#define REPLAY_SURFACES 32

struct replay_client {
    uint8_t *ram;
    size_t ram_size;
    pixman_image_t *surface[REPLAY_SURFACES];
    bool shown;                         /* a window is presented */
    uint16_t window;
    int16_t z;
    int32_t x, y;
};

/* Runs one buffer; 0, or -1 with the reason in err (nothing after that command runs). */
int pixman_replay_buffer(struct replay_client *c, const uint8_t *buf, size_t len, char *err,
                         size_t err_size);
/* The screen: background, then every client's window in z order (ties: by client index). */
void pixman_replay_compose(struct replay_client *clients, unsigned n, pixman_image_t *screen,
                           uint32_t background);
void pixman_replay_free(struct replay_client *c);

#endif
