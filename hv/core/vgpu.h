/*
 * The virtual GPU's transport in the hypervisor (docs/vgpu.md): clients (`vgpu = yes`)
 * reach the video-service partition through channels (hv/core/channel.h) for their
 * command rings and doorbells, and share surfaces of their own RAM, which the service maps
 * (the engine draws into them) and whose damage from the client's own stores it learns
 * from the client's write tracking (its own drawing it knows).  The bookkeeping
 * and argument checks are hv/core/vgpu_surfaces.c; this file adds the lock, the page
 * tables, the write tracking and the partitions.
 */
#ifndef ATOLL_HV_CORE_VGPU_H
#define ATOLL_HV_CORE_VGPU_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

/* At p's creation (after its vCPUs, before it runs): the video service claims the display
 * (hv/core/display.h); a client has its writes tracked page by page (the groups of
 * `track-writes` when the manifest sets it) for damage.  False with one line in err. */
bool vgpu_partition_attach(struct partition *p, bool service, bool client, uint32_t weight,
                           char *err, size_t err_size);
/* p is ending, none of its vCPUs runs: its surfaces leave the service's page tables, or,
 * for the service, its mappings are forgotten and the display freed.  Before p's memory
 * and page tables go. */
void vgpu_partition_gone(struct partition *p);
/* HC_DISPLAY_INFO .. HC_DISPLAY_FRAME, arguments checked by vgpu_check_args. */
int64_t vgpu_hypercall(struct partition *p, uint64_t nr, const uint64_t arg[4]);
/* A capture: holds the display between two of the service's frames (hv/core/vgpu_frame.h),
 * waiting up to wait_ns for a compose in progress to end; false if it did not. */
bool vgpu_display_hold(uint64_t wait_ns);
void vgpu_display_release(void);

#endif
