/*
 * The time bank: engine time shared between clients by weight.  Each period every bank
 * is refilled by period x weight / total weight (capped at that amount, so an idle client
 * cannot hoard; a debt is paid off first).  A client runs in slices of at most `slice`
 * units and never more than its balance; what a slice overshoots becomes debt.  A client
 * whose bank is empty waits for the next refill even when the engine is idle.  Units are
 * the engine's (vsp_engine.h); the caller decides how many a period holds.
 */
#ifndef ATOLL_GUEST_VSP_VSP_TIMEBANK_H
#define ATOLL_GUEST_VSP_VSP_TIMEBANK_H
#include <stdbool.h>
#include <stdint.h>

#define VSP_TIMEBANK_MAX 8u
#define VSP_MAX_WEIGHT 1000u

struct vsp_bank {
    bool present;
    uint32_t weight;
    int64_t balance;                /* negative: debt */
    uint64_t used;                  /* units charged since the client came */
    uint64_t slices;                /* slices granted */
    uint64_t waits;                 /* picks it had work for but an empty bank */
};

struct vsp_timebank {
    struct vsp_bank bank[VSP_TIMEBANK_MAX];
    int64_t period, slice;
    uint32_t next;                  /* round robin: where the next pick starts */
    uint64_t periods;
};

bool vsp_timebank_init(struct vsp_timebank *tb, int64_t period, int64_t slice);
/* Client id joins with weight 1..VSP_MAX_WEIGHT and a full bank; false if out of range. */
bool vsp_timebank_add(struct vsp_timebank *tb, uint32_t id, uint32_t weight);
void vsp_timebank_remove(struct vsp_timebank *tb, uint32_t id);
/* A period ended. */
void vsp_timebank_refill(struct vsp_timebank *tb);
/* The next client, round robin, among those with bit id set in ready and a positive
 * balance; -1 when none (those with work wait for the refill). */
int vsp_timebank_pick(struct vsp_timebank *tb, uint32_t ready);
/* The slice a picked client may run now. */
int64_t vsp_timebank_slice(const struct vsp_timebank *tb, uint32_t id);
/* What the client's slice used (may exceed the slice: debt). */
void vsp_timebank_charge(struct vsp_timebank *tb, uint32_t id, int64_t used);
/* The client's share of all units charged so far, in parts per million. */
uint32_t vsp_timebank_share_ppm(const struct vsp_timebank *tb, uint32_t id);
/* Its weight's share of the present clients' weights, in parts per million. */
uint32_t vsp_timebank_weight_ppm(const struct vsp_timebank *tb, uint32_t id);

#endif
