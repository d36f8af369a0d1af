/* The "after" mode's unit map (storage_mig_remote.h). */
#include "hv/storage/storage_mig_remote.h"

#include <string.h>

#include "hv/storage/storage_mig_proto.h"

size_t smig_remote_map_bytes(uint64_t disk_size)
{
    return (size_t)((disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
}

int smig_remote_init(struct smig_remote *r, uint64_t disk_size, uint8_t *map, size_t map_size)
{
    memset(r, 0, sizeof(*r));
    if (!disk_size || disk_size > SMIG_MAX_DISK || !map ||
        map_size < smig_remote_map_bytes(disk_size))
        return -1;
    r->disk_size = disk_size;
    r->units = (uint32_t)smig_remote_map_bytes(disk_size);
    r->state = map;
    memset(map, SMIG_UNIT_ABSENT, r->units);
    return 0;
}

static bool inside(const struct smig_remote *r, uint64_t off, uint64_t len)
{
    return len && off < r->disk_size && len <= r->disk_size - off;
}

static uint64_t unit_end(const struct smig_remote *r, uint32_t u)
{
    uint64_t end = ((uint64_t)u + 1) * SMIG_UNIT;
    return end < r->disk_size ? end : r->disk_size;
}

int64_t smig_remote_read_needs(const struct smig_remote *r, uint64_t off, uint64_t len)
{
    if (!inside(r, off, len))
        return -1;
    for (uint64_t u = off / SMIG_UNIT; u <= (off + len - 1) / SMIG_UNIT; u++)
        if (r->state[u] != SMIG_UNIT_PRESENT)
            return (int64_t)u;
    return -1;
}

/* Unit u is covered whole by [off, off+len). */
static bool covers(const struct smig_remote *r, uint32_t u, uint64_t off, uint64_t len)
{
    return off <= (uint64_t)u * SMIG_UNIT && off + len >= unit_end(r, u);
}

int64_t smig_remote_write_needs(const struct smig_remote *r, uint64_t off, uint64_t len)
{
    if (!inside(r, off, len))
        return -1;
    uint32_t first = (uint32_t)(off / SMIG_UNIT), last = (uint32_t)((off + len - 1) / SMIG_UNIT);
    uint32_t edge[2] = { first, last };
    for (unsigned i = 0; i < 2; i++)
        if (r->state[edge[i]] != SMIG_UNIT_PRESENT && !covers(r, edge[i], off, len))
            return edge[i];
    return -1;
}

static void set(struct smig_remote *r, uint32_t u, enum smig_unit_state s)
{
    enum smig_unit_state old = r->state[u];
    r->present -= old == SMIG_UNIT_PRESENT;
    r->fetching -= old == SMIG_UNIT_FETCHING;
    r->present += s == SMIG_UNIT_PRESENT;
    r->fetching += s == SMIG_UNIT_FETCHING;
    r->state[u] = (uint8_t)s;
}

void smig_remote_written(struct smig_remote *r, uint64_t off, uint64_t len)
{
    if (!inside(r, off, len))
        return;
    for (uint64_t u = off / SMIG_UNIT; u <= (off + len - 1) / SMIG_UNIT; u++)
        if (covers(r, (uint32_t)u, off, len))
            set(r, (uint32_t)u, SMIG_UNIT_PRESENT);
}

bool smig_remote_request(struct smig_remote *r, uint32_t u)
{
    if (u >= r->units || r->state[u] != SMIG_UNIT_ABSENT)
        return false;
    set(r, u, SMIG_UNIT_FETCHING);
    return true;
}

int64_t smig_remote_next_pull(struct smig_remote *r)
{
    for (; r->pull_next < r->units; r->pull_next++)
        if (r->state[r->pull_next] == SMIG_UNIT_ABSENT) {
            set(r, r->pull_next, SMIG_UNIT_FETCHING);
            return r->pull_next++;
        }
    /* Units the link's loss put back behind the cursor. */
    for (uint32_t u = 0; u < r->units; u++)
        if (r->state[u] == SMIG_UNIT_ABSENT) {
            set(r, u, SMIG_UNIT_FETCHING);
            return u;
        }
    return -1;
}

bool smig_remote_arrived(struct smig_remote *r, uint32_t u)
{
    if (u >= r->units)
        return false;
    if (r->state[u] == SMIG_UNIT_PRESENT) {
        r->dropped++;
        return false;
    }
    set(r, u, SMIG_UNIT_PRESENT);
    return true;
}

void smig_remote_link_lost(struct smig_remote *r)
{
    for (uint32_t u = 0; u < r->units; u++)
        if (r->state[u] == SMIG_UNIT_FETCHING)
            set(r, u, SMIG_UNIT_ABSENT);
}

bool smig_remote_complete(const struct smig_remote *r)
{
    return r->units && r->present == r->units;
}

uint32_t smig_remote_preset(struct smig_remote *r, const uint8_t *current)
{
    uint32_t n = 0;
    for (uint32_t u = 0; u < r->units; u++)
        if (r->state[u] == SMIG_UNIT_ABSENT && ((current[u >> 3] >> (u & 7)) & 1)) {
            set(r, u, SMIG_UNIT_PRESENT);
            n++;
        }
    return n;
}
