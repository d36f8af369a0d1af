#include "hv/snapshot/snap_policy.h"

void snap_policy_init(struct snap_policy *p, enum snap_level start)
{
    p->lowest = SNAP_STORE;
    p->highest = SNAP_LZ4HC_9;
    p->level = start < SNAP_LEVELS ? start : SNAP_LZ4;
    p->hysteresis_pct = 5;
}

void snap_policy_fixed(struct snap_policy *p, enum snap_level level)
{
    snap_policy_init(p, level);
    p->lowest = p->highest = p->level;
}

/* Percent of capacity, in hundredths, without overflow for any sizes. */
static uint64_t fill_bp(uint64_t queued, uint64_t capacity)
{
    if (!capacity)
        return 0;
    if (queued >= capacity)
        return 10000;
    if (queued <= UINT64_MAX / 10000)
        return queued * 10000 / capacity;
    return queued / (capacity / 10000);     /* capacity > queued > 2^64 / 10^4 */
}

enum snap_level snap_policy_next(struct snap_policy *p, uint64_t queued, uint64_t capacity)
{
    unsigned rungs = (unsigned)(p->highest - p->lowest) + 1;
    uint64_t bp = fill_bp(queued, capacity);
    unsigned band = (unsigned)(bp * rungs / 10001);
    unsigned current = (unsigned)(p->level - p->lowest);
    if (band != current) {
        /* the current band widened by the hysteresis on both sides */
        uint64_t lo = current * 10000ull / rungs, hi = (current + 1) * 10000ull / rungs;
        uint64_t h = p->hysteresis_pct * 100ull;
        if (bp + h < lo || bp > hi + h)
            p->level = (enum snap_level)(p->lowest + band);
    }
    return p->level;
}

const char *snap_level_name(enum snap_level l)
{
    static const char *const names[SNAP_LEVELS] = { "store", "lz4-fast", "lz4", "lz4hc-3",
                                                    "lz4hc-9" };
    return (unsigned)l < SNAP_LEVELS ? names[l] : "?";
}
