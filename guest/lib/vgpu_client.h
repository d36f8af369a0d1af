/*
 * A vGPU client's side of the transport (docs/vgpu.md): find the video service, grant it
 * a command ring (a channel) and connect, share surfaces of this partition's RAM, write
 * command buffers (guest/vsp/vgpu_cmd.h) into the ring and ring the doorbell, and wait for
 * fences.  Only under Atoll, in a partition with `vgpu = yes`.
 */
#ifndef ATOLL_GUEST_VGPU_CLIENT_H
#define ATOLL_GUEST_VGPU_CLIENT_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/vgpu_abi.h"

#define VGPU_RING_PAGES 17u         /* the header and a 64 KiB data area */

struct vgpu_client {
    uint32_t service_id;            /* the video-service partition */
    uint32_t weight;                /* this client's manifest vgpu-weight */
    int64_t ring_handle;            /* the channel grant */
    struct vgpu_ring *ring;
    uint8_t *data;
    uint64_t head;                  /* our copy of ring->head */
};

/* ring: VGPU_RING_PAGES pages of this partition's RAM, page aligned.  vector: the
 * doorbell the service rings (fences, refusals).  0, or -HC_E* (-HC_EPERM: not a client). */
int64_t vgpu_client_open(struct vgpu_client *c, void *ring, uint8_t vector);
/* Shares [pixels, pixels + bytes) (page aligned; rounded up to whole pages) as a surface
 * and tells the service through the ring: the handle, or -HC_E*. */
int64_t vgpu_client_share(struct vgpu_client *c, const void *pixels, uint64_t bytes);
/* Queues one command buffer (bytes a multiple of 4) and rings the doorbell: 0, or
 * -HC_ENOSPC while the ring has no room (wait for the service), -HC_EINVAL. */
int64_t vgpu_client_submit(struct vgpu_client *c, const void *cmds, uint32_t bytes);
/* The last fence value the service completed. */
uint64_t vgpu_client_fence_done(const struct vgpu_client *c);
/* Waits until fence_done >= value, or ms pass: whether it got there. */
bool vgpu_client_wait_fence(const struct vgpu_client *c, uint64_t value, uint64_t ms);
/* Nothing more will come: rings the doorbell and waits up to ms for the service to have
 * handled everything (after which the ring may go): whether it did. */
bool vgpu_client_close(struct vgpu_client *c, uint64_t ms);

/* Maps [8 GiB, 9 GiB) and [12 GiB, 13 GiB) of guest-physical identity in the boot page
 * tables (2 MiB pages): the surface window and the display, for the service; a client
 * maps them too, to show that nothing is there for it. */
void vgpu_windows_map(void);

#endif
