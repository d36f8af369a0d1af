/*
 * The virtual GPU's surface bookkeeping, portable and host-tested: which pages of a
 * client's RAM it shares as surfaces (HC_VGPU_SURFACE_SHARE), where the video service
 * mapped each one (HC_VGPU_SURFACE_MAP), and the damage a surface collected, as a bitmap
 * of its pages, out of the client's write tracking (hv/core/write_track.h).  Every argument
 * a guest passes is checked here; hv/core/vgpu.c adds the lock, the page tables and the
 * partitions.  Clients are numbered by partition id, 1..VGPU_MAX_CLIENTS; a surface handle
 * is 1..VGPU_SURFACES_PER_CLIENT within its client.
 */
#ifndef ATOLL_HV_CORE_VGPU_SURFACES_H
#define ATOLL_HV_CORE_VGPU_SURFACES_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/vgpu_abi.h"

struct vgpu_surface {
    bool used;
    bool mapped;                /* in the video service's window at vsp_gpa */
    bool seen;                  /* damage was asked once: later calls report writes only */
    uint64_t gpa;               /* in the client's RAM, page aligned */
    uint32_t pages;
    uint64_t vsp_gpa;
};

struct vgpu_surfaces {
    struct vgpu_surface s[VGPU_MAX_CLIENTS][VGPU_SURFACES_PER_CLIENT];
};

/* The argument checks hypercall_check_args makes for HC_DISPLAY_INFO..HC_VGPU_DAMAGE: 0
 * or -HC_E*; what needs the tables is checked by the calls below. */
int64_t vgpu_check_args(uint64_t nr, const uint64_t arg[4], uint64_t ram_size);

/* A new surface of client's RAM: the handle, -HC_EINVAL when it overlaps one the client
 * shares already, -HC_ENOSPC when the client's table is full. */
int64_t vgpu_surfaces_share(struct vgpu_surfaces *t, unsigned client, uint64_t ram_size,
                            uint64_t gpa, uint64_t pages);
/* The surface, or NULL (no such client or handle, or not shared). */
struct vgpu_surface *vgpu_surfaces_get(struct vgpu_surfaces *t, unsigned client, uint64_t handle);
/* Forgets it: 0 with what it was in *was (to unmap it when was->mapped), or -HC_ENOENT. */
int64_t vgpu_surfaces_unshare(struct vgpu_surfaces *t, unsigned client, uint64_t handle,
                              struct vgpu_surface *was);
/* May the service map this surface at gpa?  0 with the surface in *out; -HC_ENOENT (no
 * such surface), -HC_EINVAL (mapped already, or not wholly in the window, or over another
 * mapped surface or [VGPU_DISPLAY_GPA, +display_bytes)). */
int64_t vgpu_surfaces_check_map(struct vgpu_surfaces *t, unsigned client, uint64_t handle,
                                uint64_t gpa, struct vgpu_surface **out);
/* Takes client's surfaces out one by one (its end): true with one in *out. */
bool vgpu_surfaces_take_client(struct vgpu_surfaces *t, unsigned client, struct vgpu_surface *out);
/* The service ended: no surface is mapped any more (they stay shared). */
void vgpu_surfaces_forget_mappings(struct vgpu_surfaces *t);

/* The surface's damage out of written, the client's bitmap of written groups (group_shift
 * is log2 of the group size in bytes): bit i of out (pages/8 bytes, rounded up) is set
 * when page i of the surface lies in a written group, or for every page the first time
 * (s->seen false).  The groups wholly inside the surface are cleared in written; a group
 * it shares with other memory stays set for whoever else asks.  Returns the pages set. */
uint32_t vgpu_damage_take(struct vgpu_surface *s, uint64_t *written, unsigned group_shift,
                          uint8_t *out);

#endif
