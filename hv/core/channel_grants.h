/*
 * The bookkeeping of channels (hv/core/channel.h), portable and tested on the host: which
 * partition granted which pages of its RAM to whom, whether and where the peer mapped
 * them, and every check of the channel hypercalls' arguments.  Nothing here locks, maps
 * or rings: hv/core/channel.c holds its lock around each call and does what the results
 * ask for (map, unmap and flush the peer's page tables, ring a doorbell).
 *
 * Each partition has its own share of CHANNEL_GRANTS_PER_PARTITION grants: one that
 * grants without end runs out alone (-HC_ENOSPC) and every other can still grant.
 * A handle names a grant for both sides: (owner id - 1) * CHANNEL_GRANTS_PER_PARTITION
 * + slot + 1, so the first grant of partition 1 is handle 1.
 *
 * Results are the hypercall ABI's: >= 0, or -HC_E* (hv/core/hypercall_abi.h).  Every
 * range check is written so that no sum can wrap.
 */
#ifndef ATOLL_HV_CORE_CHANNEL_GRANTS_H
#define ATOLL_HV_CORE_CHANNEL_GRANTS_H
#include <stdbool.h>
#include <stdint.h>

#define CHANNEL_WINDOW_BASE  0x100000000ull   /* peers map grants in [4 GiB, 8 GiB) */
#define CHANNEL_WINDOW_END   0x200000000ull
#define CHANNEL_PAGE_SIZE    4096ull
#define CHANNEL_MAX_PAGES    256              /* per grant */
#define CHANNEL_PARTITIONS   16               /* partition ids 1..16 have a share */
#define CHANNEL_GRANTS_PER_PARTITION 16
#define CHANNEL_HANDLE_MAX   (CHANNEL_PARTITIONS * CHANNEL_GRANTS_PER_PARTITION)

struct channel_grant {
    bool used;
    bool mapped;                    /* the peer has it in its page tables */
    bool peer_gone;                 /* the peer has ended: the owner may only revoke it */
    unsigned owner, peer;           /* partition ids */
    uint64_t owner_gpa;             /* in the owner's RAM */
    uint64_t peer_gpa;              /* in the peer's channel window, while mapped */
    uint32_t pages;
    uint8_t owner_vector, peer_vector;
};

struct channel_grants {
    struct channel_grant slot[CHANNEL_PARTITIONS][CHANNEL_GRANTS_PER_PARTITION];
};

/* The argument checks that need no table (HC_CHANNEL_GRANT and HC_CHANNEL_MAP): the
 * hypercall dispatcher runs them before the call; the table functions below run them too. */
int64_t channel_check_grant_args(uint64_t gpa, uint64_t pages, uint64_t vector,
                                 uint64_t owner_ram_size);
int64_t channel_check_map_args(uint64_t gpa, uint64_t vector);

/* HC_CHANNEL_GRANT by `owner` (its RAM is [0, owner_ram_size)).  peer_live: `peer_id`
 * names a partition other than the owner that has not ended.  Returns the handle. */
int64_t channel_grants_add(struct channel_grants *t, unsigned owner, uint64_t owner_ram_size,
                           uint64_t gpa, uint64_t pages, uint64_t peer_id, bool peer_live,
                           uint64_t vector);

/* HC_CHANNEL_MAP by `peer`: 0 with *g the grant to map at gpa (g->pages pages, all inside
 * the channel window and clear of the peer's other mappings).  The caller maps them, then
 * calls channel_grants_mapped; when mapping fails it leaves the grant as it is. */
int64_t channel_grants_check_map(struct channel_grants *t, unsigned peer, uint64_t handle,
                                 uint64_t gpa, uint64_t vector, struct channel_grant **g);
void channel_grants_mapped(struct channel_grant *g, uint64_t gpa, uint64_t vector);

/* HC_CHANNEL_NOTIFY from `from`: 0 with the side to ring and its vector, once mapped. */
int64_t channel_grants_other_side(const struct channel_grants *t, unsigned from,
                                  uint64_t handle, unsigned *to, uint8_t *vector);

/* HC_CHANNEL_REVOKE by `owner`: the grant leaves the table; *was is what it was (when
 * was->mapped the caller unmaps it from the peer before the call returns). */
int64_t channel_grants_revoke(struct channel_grants *t, unsigned owner, uint64_t handle,
                              struct channel_grant *was);

/* Partition p has ended: the next grant it owns or was granted, into *was (as it was);
 * false when none is left.  A grant p owned leaves the table: when it was mapped, the
 * caller must unmap it from the peer, and wait until none of the peer's vCPUs can still
 * use the mapping, before p's memory is freed: whatever state the peer is in, since a
 * peer that is ending may still have vCPUs in guest mode.  A grant p was given stays its
 * owner's (unmapped, peer_gone) until the owner revokes it, so the owner's handle never
 * changes meaning under it. */
bool channel_grants_take_partition(struct channel_grants *t, unsigned p,
                                   struct channel_grant *was);

/* How many grants `owner` holds now. */
unsigned channel_grants_count(const struct channel_grants *t, unsigned owner);

#endif
