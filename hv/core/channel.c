#include "hv/core/channel.h"

#include "hv/core/hypercall_abi.h"
#include "hv/core/config/manifest.h"
#include "hv/core/partition_writes.h"
#include "hv/core/platform_glue.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/virt.h"
#include "hv/vdev/platform_devices.h"

/* Taken before a partition's lock (doorbells), its write tracker and its EPT lock.  A
 * partition's end clears its grants under this lock before its memory, page tables and
 * devices are freed, so while it is held a grant in the table keeps both sides' alive. */
static spinlock_t lock = SPINLOCK_INIT;
static struct channel_grants table;

_Static_assert(CHANNEL_PARTITIONS >= MANIFEST_MAX_PARTITIONS,
               "every partition a manifest can name has its share of grants");

static struct partition *partition_by_id(uint64_t id)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i]->id == id)
            return partitions[i];
    return NULL;
}

int64_t channel_grant(struct partition *owner, uint64_t gpa, uint64_t pages, uint64_t peer_id,
                      uint64_t vector)
{
    uint64_t f = spin_lock_irqsave(&lock);
    /* Read under the lock: a peer that ends after this clears the new grant with its own. */
    struct partition *peer = partition_by_id(peer_id);
    bool live = peer && peer->state != PART_DEAD;
    int64_t r = channel_grants_add(&table, owner->id, owner->mem.size, gpa, pages, peer_id, live,
                                   vector);
    spin_unlock_irqrestore(&lock, f);
    return r;
}

/* Takes g's pages out of the peer's page tables and returns once none of the peer's vCPUs,
 * running or ending, can still use a translation of them. */
static void unmap_from_peer(const struct channel_grant *g)
{
    struct partition *peer = partition_by_id(g->peer);
    for (uint32_t i = 0; i < g->pages; i++)
        virt_unmap_foreign(peer, g->peer_gpa + CHANNEL_PAGE_SIZE * i);
    virt_flush_partition(peer);
    /* What the peer wrote since the owner's last tracking pass must still be handed over. */
    partition_writes_note(partition_by_id(g->owner), g->owner_gpa, CHANNEL_PAGE_SIZE * g->pages);
}

int64_t channel_map(struct partition *peer, uint64_t handle, uint64_t gpa, uint64_t vector)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct channel_grant *g = NULL;
    int64_t r = channel_grants_check_map(&table, peer->id, handle, gpa, vector, &g);
    if (r == 0) {
        const struct partition *owner = partition_by_id(g->owner);
        for (uint32_t i = 0; i < g->pages; i++) {
            uint64_t hpa = guest_mem_hpa(&owner->mem, g->owner_gpa + CHANNEL_PAGE_SIZE * i);
            if (!hpa || !virt_map_foreign(peer, gpa + CHANNEL_PAGE_SIZE * i, hpa, true,
                                            VIRT_MEMTYPE_WB)) {
                for (uint32_t k = 0; k < i; k++)
                    virt_unmap_foreign(peer, gpa + CHANNEL_PAGE_SIZE * k);
                virt_flush_partition(peer);     /* another vCPU may have used them already */
                r = -HC_EFAULT;
                break;
            }
        }
        if (r == 0)
            channel_grants_mapped(g, gpa, vector);
    }
    spin_unlock_irqrestore(&lock, f);
    return r;
}

bool channel_grant_is(uint64_t handle, unsigned owner, unsigned peer)
{
    if (owner == 0 || owner > CHANNEL_PARTITIONS || handle == 0 || handle > CHANNEL_HANDLE_MAX)
        return false;
    uint64_t f = spin_lock_irqsave(&lock);
    bool is = false;
    const struct channel_grant *row = table.slot[owner - 1];
    for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++)
        if (row[i].used && !row[i].peer_gone && row[i].owner == owner && row[i].peer == peer &&
            (uint64_t)(owner - 1) * CHANNEL_GRANTS_PER_PARTITION + i + 1 == handle)
            is = true;
    spin_unlock_irqrestore(&lock, f);
    return is;
}

void channel_shared_ranges(struct partition *owner,
                           void (*fn)(void *ctx, uint64_t gpa, uint64_t len), void *ctx)
{
    if (owner->id == 0 || owner->id > CHANNEL_PARTITIONS)
        return;
    uint64_t f = spin_lock_irqsave(&lock);
    const struct channel_grant *row = table.slot[owner->id - 1];
    for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++)
        if (row[i].used && row[i].mapped)
            fn(ctx, row[i].owner_gpa, CHANNEL_PAGE_SIZE * row[i].pages);
    spin_unlock_irqrestore(&lock, f);
}

/* A fixed interrupt to vCPU 0 of p, through its interrupt fabric.  Under the channels'
 * lock, with a grant naming p in the table: p's devices are not freed before it is gone. */
static void ring(struct partition *p, uint8_t vector)
{
    uint64_t f = spin_lock_irqsave(&p->lock);
    if (p->state == PART_RUNNING && p->devices) {
        const struct vdev_platform *plat = platform_devices_platform(p->devices);
        plat->msi_send(plat->ctx, 0xfee00000ull, vector);
    }
    spin_unlock_irqrestore(&p->lock, f);
}

int64_t channel_notify(struct partition *from, uint64_t handle)
{
    uint64_t f = spin_lock_irqsave(&lock);
    unsigned to = 0;
    uint8_t vector = 0;
    int64_t r = channel_grants_other_side(&table, from->id, handle, &to, &vector);
    struct partition *p = r == 0 ? partition_by_id(to) : NULL;
    if (p)
        ring(p, vector);
    spin_unlock_irqrestore(&lock, f);
    return r;
}

int64_t channel_revoke(struct partition *owner, uint64_t handle)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct channel_grant was;
    int64_t r = channel_grants_revoke(&table, owner->id, handle, &was);
    if (r == 0 && was.mapped)
        unmap_from_peer(&was);
    spin_unlock_irqrestore(&lock, f);
    return r;
}

void channel_partition_gone(struct partition *p)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct channel_grant g;
    while (channel_grants_take_partition(&table, p->id, &g)) {
        if (!g.mapped)
            continue;
        if (g.owner == p->id)
            unmap_from_peer(&g);    /* even from a peer that is ending: see channel_grants.h */
        else                        /* p's page tables go with it; what it wrote stays noted */
            partition_writes_note(partition_by_id(g.owner), g.owner_gpa,
                                  CHANNEL_PAGE_SIZE * g.pages);
    }
    spin_unlock_irqrestore(&lock, f);
}
