#include "hv/snapshot/snap_policy.h"

void snap_policy_init(struct snap_policy *p, enum snap_level start)
{
    p->lowest = SNAP_STORE;
    p->highest = SNAP_LZ4HC_9;
    p->level = start < SNAP_LEVELS ? start : SNAP_LZ4;
    p->up_pct = 75;
    p->down_pct = 25;
}

void snap_policy_fixed(struct snap_policy *p, enum snap_level level)
{
    snap_policy_init(p, level);
    p->lowest = p->highest = p->level;
}

enum snap_level snap_policy_next(struct snap_policy *p, uint64_t queued, uint64_t capacity)
{
    /* percent full, without overflow for any sizes */
    uint64_t pct = !capacity ? 0 : queued >= capacity ? 100 :
                   queued > UINT64_MAX / 100 ? queued / (capacity / 100 ? capacity / 100 : 1)
                                              : queued * 100 / capacity;
    if (pct > p->up_pct && p->level < p->highest)
        p->level++;
    else if (pct < p->down_pct && p->level > p->lowest)
        p->level--;
    return p->level;
}

const char *snap_level_name(enum snap_level l)
{
    static const char *const names[SNAP_LEVELS] = { "store", "lz4-fast", "lz4", "lz4hc-3",
                                                    "lz4hc-9" };
    return (unsigned)l < SNAP_LEVELS ? names[l] : "?";
}
