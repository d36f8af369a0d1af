#include "hv/core/channel.h"

#include <string.h>
#include "hv/core/hypercall_abi.h"
#include "hv/core/partition_writes.h"
#include "hv/core/platform_glue.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/virt.h"
#include "hv/vdev/platform_devices.h"

struct grant {
    bool used;
    struct partition *owner, *peer;
    uint64_t owner_gpa;
    uint32_t pages;
    uint8_t owner_vector, peer_vector;
    bool mapped;
    uint64_t peer_gpa;
};

static struct grant grants[CHANNEL_MAX_GRANTS];
static spinlock_t lock = SPINLOCK_INIT;

static struct partition *partition_by_id(uint64_t id)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i]->id == id)
            return partitions[i];
    return NULL;
}

/* Handles are 1-based indexes into the table. */
static struct grant *grant_of(uint64_t handle)
{
    if (handle == 0 || handle > CHANNEL_MAX_GRANTS || !grants[handle - 1].used)
        return NULL;
    return &grants[handle - 1];
}

static bool valid_vector(uint64_t v) { return v >= 32 && v <= 255; }

int64_t channel_grant(struct partition *owner, uint64_t gpa, uint64_t pages, uint64_t peer_id,
                      uint64_t vector)
{
    struct partition *peer = partition_by_id(peer_id);
    if (!peer || peer == owner || peer->state == PART_DEAD)
        return -HC_ENOENT;
    if ((gpa & 0xfff) || pages == 0 || pages > CHANNEL_MAX_PAGES || !valid_vector(vector))
        return -HC_EINVAL;
    if (!guest_mem_contains(&owner->mem, gpa, pages * 4096))
        return -HC_EFAULT;
    uint64_t f = spin_lock_irqsave(&lock);
    int64_t handle = -HC_EINVAL;
    for (unsigned i = 0; i < CHANNEL_MAX_GRANTS; i++) {
        if (grants[i].used)
            continue;
        grants[i] = (struct grant){ .used = true, .owner = owner, .peer = peer, .owner_gpa = gpa,
                                    .pages = (uint32_t)pages, .owner_vector = (uint8_t)vector };
        handle = i + 1;
        break;
    }
    spin_unlock_irqrestore(&lock, f);
    return handle;
}

static void unmap_from_peer(struct grant *g)
{
    for (uint32_t i = 0; i < g->pages; i++)
        virt_unmap_foreign(g->peer, g->peer_gpa + 4096ull * i);
    virt_flush_partition(g->peer);
    /* What the peer wrote since the owner's last tracking pass must still be handed over. */
    partition_writes_note(g->owner, g->owner_gpa, 4096ull * g->pages);
    g->mapped = false;
}

int64_t channel_map(struct partition *peer, uint64_t handle, uint64_t gpa, uint64_t vector)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct grant *g = grant_of(handle);
    int64_t r = 0;
    if (!g || g->peer != peer)
        r = -HC_ENOENT;
    else if (g->mapped)
        r = -HC_EPERM;
    else if ((gpa & 0xfff) || !valid_vector(vector) || gpa < CHANNEL_WINDOW_BASE ||
             gpa + 4096ull * g->pages > CHANNEL_WINDOW_END)
        r = -HC_EINVAL;
    for (uint32_t i = 0; r == 0 && i < g->pages; i++) {
        uint64_t hpa = guest_mem_hpa(&g->owner->mem, g->owner_gpa + 4096ull * i);
        if (!hpa || !virt_map_foreign(peer, gpa + 4096ull * i, hpa, true)) {
            for (uint32_t k = 0; k < i; k++)
                virt_unmap_foreign(peer, gpa + 4096ull * k);
            r = -HC_EFAULT;
        }
    }
    if (r == 0) {
        g->mapped = true;
        g->peer_gpa = gpa;
        g->peer_vector = (uint8_t)vector;
    }
    spin_unlock_irqrestore(&lock, f);
    return r;
}

void channel_shared_ranges(struct partition *owner,
                           void (*fn)(void *ctx, uint64_t gpa, uint64_t len), void *ctx)
{
    uint64_t f = spin_lock_irqsave(&lock);
    for (unsigned i = 0; i < CHANNEL_MAX_GRANTS; i++)
        if (grants[i].used && grants[i].mapped && grants[i].owner == owner)
            fn(ctx, grants[i].owner_gpa, 4096ull * grants[i].pages);
    spin_unlock_irqrestore(&lock, f);
}

/* A fixed interrupt to vCPU 0 of p, through its interrupt fabric. */
static void ring(struct partition *p, uint8_t vector)
{
    if (p->state != PART_RUNNING || !p->devices)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    const struct vdev_platform *plat = platform_devices_platform(p->devices);
    plat->msi_send(plat->ctx, 0xfee00000ull, vector);
    spin_unlock_irqrestore(&p->lock, f);
}

int64_t channel_notify(struct partition *from, uint64_t handle)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct grant *g = grant_of(handle);
    struct partition *to = NULL;
    uint8_t vector = 0;
    if (g && g->owner == from && g->mapped) {
        to = g->peer;
        vector = g->peer_vector;
    } else if (g && g->peer == from && g->mapped) {
        to = g->owner;
        vector = g->owner_vector;
    }
    spin_unlock_irqrestore(&lock, f);
    if (!to)
        return -HC_ENOENT;
    ring(to, vector);
    return 0;
}

int64_t channel_revoke(struct partition *owner, uint64_t handle)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct grant *g = grant_of(handle);
    int64_t r = (!g || g->owner != owner) ? -HC_ENOENT : 0;
    if (r == 0) {
        if (g->mapped)
            unmap_from_peer(g);
        memset(g, 0, sizeof(*g));
    }
    spin_unlock_irqrestore(&lock, f);
    return r;
}

void channel_partition_gone(struct partition *p)
{
    uint64_t f = spin_lock_irqsave(&lock);
    for (unsigned i = 0; i < CHANNEL_MAX_GRANTS; i++) {
        struct grant *g = &grants[i];
        if (!g->used || (g->owner != p && g->peer != p))
            continue;
        if (g->owner == p && g->mapped && g->peer->state != PART_DEAD)
            unmap_from_peer(g);
        memset(g, 0, sizeof(*g));
    }
    spin_unlock_irqrestore(&lock, f);
}
