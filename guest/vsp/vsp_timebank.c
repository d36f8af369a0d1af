#include "guest/vsp/vsp_timebank.h"

#include <string.h>

bool vsp_timebank_init(struct vsp_timebank *tb, int64_t period, int64_t slice)
{
    if (period <= 0 || slice <= 0 || slice > period || period > (INT64_MAX >> 12))
        return false;
    memset(tb, 0, sizeof(*tb));
    tb->period = period;
    tb->slice = slice;
    return true;
}

static uint64_t total_weight(const struct vsp_timebank *tb)
{
    uint64_t w = 0;
    for (uint32_t i = 0; i < VSP_TIMEBANK_MAX; i++)
        if (tb->bank[i].present)
            w += tb->bank[i].weight;
    return w;
}

static int64_t refill_of(const struct vsp_timebank *tb, uint32_t id)
{
    uint64_t w = total_weight(tb);
    return w ? (int64_t)((uint64_t)tb->period * tb->bank[id].weight / w) : 0;
}

bool vsp_timebank_add(struct vsp_timebank *tb, uint32_t id, uint32_t weight)
{
    if (id >= VSP_TIMEBANK_MAX || weight == 0 || weight > VSP_MAX_WEIGHT)
        return false;
    tb->bank[id] = (struct vsp_bank){ .present = true, .weight = weight };
    for (uint32_t i = 0; i < VSP_TIMEBANK_MAX; i++) {      /* the shares shrank: so do the caps */
        int64_t cap = refill_of(tb, i);
        if (tb->bank[i].present && (i == id || tb->bank[i].balance > cap))
            tb->bank[i].balance = cap;
    }
    return true;
}

void vsp_timebank_remove(struct vsp_timebank *tb, uint32_t id)
{
    if (id < VSP_TIMEBANK_MAX)
        tb->bank[id] = (struct vsp_bank){ .present = false };
}

void vsp_timebank_refill(struct vsp_timebank *tb)
{
    for (uint32_t i = 0; i < VSP_TIMEBANK_MAX; i++) {
        struct vsp_bank *b = &tb->bank[i];
        if (!b->present)
            continue;
        int64_t add = refill_of(tb, i);
        b->balance = b->balance + add > add ? add : b->balance + add;
    }
    tb->periods++;
}

int vsp_timebank_pick(struct vsp_timebank *tb, uint32_t ready)
{
    for (uint32_t k = 0; k < VSP_TIMEBANK_MAX; k++) {
        uint32_t i = (tb->next + k) % VSP_TIMEBANK_MAX;
        struct vsp_bank *b = &tb->bank[i];
        if (!b->present || !(ready >> i & 1))
            continue;
        if (b->balance <= 0) {
            b->waits++;
            continue;
        }
        tb->next = (i + 1) % VSP_TIMEBANK_MAX;
        b->slices++;
        return (int)i;
    }
    return -1;
}

int64_t vsp_timebank_slice(const struct vsp_timebank *tb, uint32_t id)
{
    int64_t bal = tb->bank[id].balance;
    return bal < tb->slice ? bal : tb->slice;
}

void vsp_timebank_charge(struct vsp_timebank *tb, uint32_t id, int64_t used)
{
    tb->bank[id].balance -= used;
    tb->bank[id].used += (uint64_t)used;
}

uint32_t vsp_timebank_share_ppm(const struct vsp_timebank *tb, uint32_t id)
{
    uint64_t all = 0;
    for (uint32_t i = 0; i < VSP_TIMEBANK_MAX; i++)
        all += tb->bank[i].used;
    return all ? (uint32_t)(tb->bank[id].used * 1000000u / all) : 0;
}

uint32_t vsp_timebank_weight_ppm(const struct vsp_timebank *tb, uint32_t id)
{
    uint64_t w = total_weight(tb);
    return w && tb->bank[id].present ? (uint32_t)(tb->bank[id].weight * 1000000ull / w) : 0;
}
