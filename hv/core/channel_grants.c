#include "hv/core/channel_grants.h"

#include <string.h>
#include "hv/core/hypercall_abi.h"

static bool valid_vector(uint64_t v) { return v >= 32 && v <= 255; }

/* [gpa, gpa + pages pages) inside [base, end), with no sum that can wrap. */
static bool pages_within(uint64_t gpa, uint64_t pages, uint64_t base, uint64_t end)
{
    return gpa >= base && gpa < end && pages <= (end - gpa) / CHANNEL_PAGE_SIZE;
}

int64_t channel_check_grant_args(uint64_t gpa, uint64_t pages, uint64_t vector,
                                 uint64_t owner_ram_size)
{
    if ((gpa & (CHANNEL_PAGE_SIZE - 1)) || pages == 0 || pages > CHANNEL_MAX_PAGES ||
        !valid_vector(vector))
        return -HC_EINVAL;
    if (!pages_within(gpa, pages, 0, owner_ram_size))
        return -HC_EFAULT;
    return 0;
}

int64_t channel_check_map_args(uint64_t gpa, uint64_t vector)
{
    if ((gpa & (CHANNEL_PAGE_SIZE - 1)) || !valid_vector(vector) ||
        !pages_within(gpa, 1, CHANNEL_WINDOW_BASE, CHANNEL_WINDOW_END))
        return -HC_EINVAL;
    return 0;
}

static struct channel_grant *grant_of(struct channel_grants *t, uint64_t handle)
{
    if (handle == 0 || handle > CHANNEL_HANDLE_MAX)
        return NULL;
    uint64_t i = handle - 1;
    struct channel_grant *g = &t->slot[i / CHANNEL_GRANTS_PER_PARTITION][i % CHANNEL_GRANTS_PER_PARTITION];
    return g->used ? g : NULL;
}

int64_t channel_grants_add(struct channel_grants *t, unsigned owner, uint64_t owner_ram_size,
                           uint64_t gpa, uint64_t pages, uint64_t peer_id, bool peer_live,
                           uint64_t vector)
{
    if (!peer_live || peer_id == owner || peer_id > UINT32_MAX)
        return -HC_ENOENT;
    int64_t r = channel_check_grant_args(gpa, pages, vector, owner_ram_size);
    if (r)
        return r;
    if (owner == 0 || owner > CHANNEL_PARTITIONS)
        return -HC_ENOSPC;
    struct channel_grant *row = t->slot[owner - 1];
    for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++) {
        if (row[i].used)
            continue;
        row[i] = (struct channel_grant){ .used = true, .owner = owner, .peer = (unsigned)peer_id,
                                         .owner_gpa = gpa, .pages = (uint32_t)pages,
                                         .owner_vector = (uint8_t)vector };
        return (int64_t)((owner - 1) * CHANNEL_GRANTS_PER_PARTITION + i + 1);
    }
    return -HC_ENOSPC;
}

/* Does [gpa, gpa + pages pages) of peer's window overlap a grant it has mapped already? */
static bool overlaps_a_mapping(const struct channel_grants *t, unsigned peer, uint64_t gpa,
                               uint64_t pages)
{
    for (unsigned o = 0; o < CHANNEL_PARTITIONS; o++)
        for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++) {
            const struct channel_grant *m = &t->slot[o][i];
            if (m->used && m->mapped && m->peer == peer &&
                gpa < m->peer_gpa + CHANNEL_PAGE_SIZE * m->pages &&
                m->peer_gpa < gpa + CHANNEL_PAGE_SIZE * pages)
                return true;        /* both ranges lie in the window: no sum wraps */
        }
    return false;
}

int64_t channel_grants_check_map(struct channel_grants *t, unsigned peer, uint64_t handle,
                                 uint64_t gpa, uint64_t vector, struct channel_grant **out)
{
    struct channel_grant *g = grant_of(t, handle);
    if (!g || g->peer != peer || g->peer_gone)
        return -HC_ENOENT;
    if (g->mapped)
        return -HC_EPERM;
    int64_t r = channel_check_map_args(gpa, vector);
    if (r)
        return r;
    if (!pages_within(gpa, g->pages, CHANNEL_WINDOW_BASE, CHANNEL_WINDOW_END) ||
        overlaps_a_mapping(t, peer, gpa, g->pages))
        return -HC_EINVAL;
    *out = g;
    return 0;
}

void channel_grants_mapped(struct channel_grant *g, uint64_t gpa, uint64_t vector)
{
    g->mapped = true;
    g->peer_gpa = gpa;
    g->peer_vector = (uint8_t)vector;
}

int64_t channel_grants_other_side(const struct channel_grants *t, unsigned from,
                                  uint64_t handle, unsigned *to, uint8_t *vector)
{
    const struct channel_grant *g = grant_of((struct channel_grants *)t, handle);
    if (!g || !g->mapped)
        return -HC_ENOENT;
    if (g->owner == from) {
        *to = g->peer;
        *vector = g->peer_vector;
    } else if (g->peer == from) {
        *to = g->owner;
        *vector = g->owner_vector;
    } else {
        return -HC_ENOENT;
    }
    return 0;
}

int64_t channel_grants_revoke(struct channel_grants *t, unsigned owner, uint64_t handle,
                              struct channel_grant *was)
{
    struct channel_grant *g = grant_of(t, handle);
    if (!g || g->owner != owner)
        return -HC_ENOENT;
    *was = *g;
    memset(g, 0, sizeof(*g));
    return 0;
}

bool channel_grants_take_partition(struct channel_grants *t, unsigned p,
                                   struct channel_grant *was)
{
    for (unsigned o = 0; o < CHANNEL_PARTITIONS; o++)
        for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++) {
            struct channel_grant *g = &t->slot[o][i];
            if (!g->used || (g->owner != p && (g->peer != p || g->peer_gone)))
                continue;
            *was = *g;
            if (g->owner == p) {
                memset(g, 0, sizeof(*g));
            } else {
                g->mapped = false;
                g->peer_gone = true;
            }
            return true;
        }
    return false;
}

unsigned channel_grants_count(const struct channel_grants *t, unsigned owner)
{
    unsigned n = 0;
    if (owner == 0 || owner > CHANNEL_PARTITIONS)
        return 0;
    for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++)
        n += t->slot[owner - 1][i].used;
    return n;
}
