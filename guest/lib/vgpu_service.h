/*
 * The video service partition's side of the transport (docs/vgpu.md): the display, the
 * clients and their weights, each client's command ring mapped from the channel window,
 * its records read with every field checked (the client is hostile), its surfaces mapped
 * in the surface window (the engine draws into them), and their damage from the hypervisor's write
 * tracking.  Independent of the engine (guest/vsp), which the caller feeds.
 */
#ifndef ATOLL_GUEST_VGPU_SERVICE_H
#define ATOLL_GUEST_VGPU_SERVICE_H
#include <stdbool.h>
#include <stdint.h>
#include "guest/lib/vgpu_client.h"
#include "hv/core/vgpu_abi.h"

#define VGPU_SERVICE_RING_VECTOR 0x51   /* the doorbell clients ring */

struct vgpu_service_surface {
    uint32_t handle, pages;
    uint64_t gpa;                       /* in the client's RAM */
    uint8_t *at;                        /* mapped here */
};

struct vgpu_service_client {
    struct vgpu_client_info info;
    bool connected;                     /* its ring is mapped */
    bool broken;                        /* its ring held garbage: no more is read */
    struct vgpu_ring *ring;
    const uint8_t *data;
    uint64_t tail;
    unsigned surfaces;
    struct vgpu_service_surface surface[VGPU_SURFACES_PER_CLIENT];
    uint8_t record[VGPU_RING_PAGES * 4096];     /* the record being handed out, copied */
};

/* HC_DISPLAY_INFO, and the display window mapped: 0 or -HC_E*. */
int64_t vgpu_service_display(struct vgpu_display *d);
/* HC_VGPU_CLIENTS into out[max]: how many clients there are, or -HC_E*. */
int64_t vgpu_service_clients(struct vgpu_client_info *out, unsigned max);
/* Maps the ring of client sc (info filled, ring handle known) as ring number index in
 * the channel window: 0 or -HC_E*. */
int64_t vgpu_service_connect(struct vgpu_service_client *sc, unsigned index);

enum vgpu_next { VGPU_NEXT_NONE, VGPU_NEXT_RECORD, VGPU_NEXT_BROKEN };
/* The next record of the client, copied (kind, payload, bytes); it is consumed at once.
 * Surfaces (VGPU_REC_SURFACE) are mapped here and not handed out.  BROKEN: the ring
 * held something no client writes (sc->broken, the reason in why); nothing more is read. */
enum vgpu_next vgpu_service_next(struct vgpu_service_client *sc, uint32_t *kind,
                                 const uint8_t **payload, uint32_t *bytes, char *why,
                                 unsigned why_size);
/* The client's RAM [gpa, gpa + len) as mapped here, or NULL when no surface it shared
 * covers it all. */
uint8_t *vgpu_service_ram(const struct vgpu_service_client *sc, uint64_t gpa, uint64_t len);
/* Damage of every surface of the client since the last call: fn(ctx, gpa, len) per run of
 * written pages.  Returns the pages written, or -HC_E*. */
int64_t vgpu_service_damage(struct vgpu_service_client *sc,
                            void (*fn)(void *ctx, uint64_t gpa, uint64_t len), void *ctx);
/* Brackets one compose into the display (HC_DISPLAY_FRAME), so that a capture reads only
 * completed frames: begin returns 0, or -HC_EBUSY while a capture reads (compose on the
 * next round); end after the compose. */
int64_t vgpu_service_frame_begin(void);
void vgpu_service_frame_end(void);
/* The client closed its ring and everything in it was handled: tells it so (it may end). */
void vgpu_service_finish(struct vgpu_service_client *sc);
/* Tells the client: fence_done, and the last refusal (code 0: none); rings its doorbell
 * when anything changed. */
void vgpu_service_tell(struct vgpu_service_client *sc, uint64_t fence_done, uint32_t errors,
                       uint32_t error, uint32_t error_offset, const char *text);

#endif
