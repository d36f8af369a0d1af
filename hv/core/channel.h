/*
 * Channels between partitions: a partition grants some of its pages to one named peer,
 * the peer maps them at a guest-physical address of its choosing in the channel window
 * (above its RAM), and either side rings the other's doorbell, which raises the vector the
 * other side chose on its vCPU 0.  Nothing is shared without a grant; revoking a grant, or
 * the end of either partition, unmaps it from the peer, and waits until no vCPU of the
 * peer can still reach it, before the memory can be reused.  The bookkeeping and the
 * argument checks are hv/core/channel_grants.c (each partition has its own share of
 * grants); this file adds the lock, the peer's page tables and the doorbells.
 */
#ifndef ATOLL_HV_CORE_CHANNEL_H
#define ATOLL_HV_CORE_CHANNEL_H
#include <stdint.h>
#include "hv/core/channel_grants.h"
#include "hv/core/partition.h"

/* Hypercall bodies: results as the ABI returns them (>= 0, or -HC_E*). */
int64_t channel_grant(struct partition *owner, uint64_t gpa, uint64_t pages, uint64_t peer_id,
                      uint64_t vector);
int64_t channel_map(struct partition *peer, uint64_t handle, uint64_t gpa, uint64_t vector);
int64_t channel_notify(struct partition *from, uint64_t handle);
int64_t channel_revoke(struct partition *owner, uint64_t handle);

/* Whether handle is a grant from partition owner to partition peer (the vGPU's command
 * ring, hv/core/vgpu.c). */
bool channel_grant_is(uint64_t handle, unsigned owner, unsigned peer);

/* For write tracking: fn(ctx, gpa, len) for each range of owner's RAM that a peer has
 * mapped now.  The peer writes it through its own page tables, which the owner's tracking
 * does not see; a range is also marked written when it is unmapped. */
void channel_shared_ranges(struct partition *owner,
                           void (*fn)(void *ctx, uint64_t gpa, uint64_t len), void *ctx);

/* p is ending and none of its vCPUs runs any more: its grants are unmapped from their
 * peers (dying or not) and its mappings forgotten.  Called before p's memory, page tables
 * and devices are freed; a grant still in the table proves both sides still have them. */
void channel_partition_gone(struct partition *p);

#endif
