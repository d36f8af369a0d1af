#include "hv/snapshot/snap_policy.h"

#include <stdbool.h>

#define LEARN_SHIFT      2          /* moving averages weigh a new block 1/4 */
#define PAYS_PERCENT     99         /* a rung must write at most 99% of the rung below it */
#define MIN_WINDOW_NS    50000ull   /* drain rate measured over 50 us at least */
#define MIN_WINDOW_BYTES (128u << 10) /* and 128 KiB (2 blocks: the disk finishes whole ones) */
#define BLOCK_KIB        64u        /* SNAP_BLOCK_SIZE / 1024 (snap_codec.h) */
#define MAX_QUEUED       (1ull << 43)
#define OUTLIER_TIMES    2          /* a turn counts at most twice the average */
#define MAX_STRETCH_PM   100000u    /* a turn counts at most 100 times its encoding */
#define AFFORD_TURNS     8          /* a rung above the floor: the work in hand covers 8 turns */
#define FLOOR_TURNS      2          /* the floor: while the work in hand covers 2 of its turns */
#define FULL_BLOCKS      2          /* a queue this many blocks from full may have made a
                                       worker wait for room */
#define BUSY_HORIZON_NS  4000000ull /* the disk's busy share looks back about 4 ms */
#define START_FILL       8          /* the start fills an eighth of the queue (see below) */

/* Relative cost per KiB of each rung on typical RAM (tests/bench: the Linux image), used
 * for a rung not yet measured: scaled from the nearest measured rung below it. */
static const uint8_t prior_cost[SNAP_LEVELS] = { 1, 4, 7, 30, 65 };
/* Bytes out per 1000 in of each rung on that image, for a rung whose output is not learned. */
static const uint16_t prior_out[SNAP_LEVELS] = { 1000, 610, 530, 470, 460 };

void snap_policy_init(struct snap_policy *p, enum snap_level start)
{
    *p = (struct snap_policy){ 0 };
    p->lowest = SNAP_STORE;
    p->highest = SNAP_LZ4HC_9;
    p->level = start < SNAP_LEVELS ? start : SNAP_LZ4;
    p->start = p->level;
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

static uint64_t average(uint64_t old, uint64_t now)
{
    return old ? old - (old >> LEARN_SHIFT) + (now >> LEARN_SHIFT) : now;
}

/* A moving average of time per KiB, one sample counting at most OUTLIER_TIMES the average
 * (a worker descheduled mid-block says little about the rung), or `first_cap` where there
 * is no average yet (0: none).  With `fast_down` a sample below the average weighs half:
 * descheduling only ever adds time, so the cheapest blocks say most about the work. */
static void learn_time(uint32_t *avg, uint64_t ns, uint32_t raw_len, uint64_t first_cap,
                       bool fast_down)
{
    uint64_t per_kib = ns < UINT64_MAX / 1024 ? ns * 1024 / raw_len : UINT32_MAX;
    uint64_t old = *avg;
    uint64_t cap = old ? OUTLIER_TIMES * old : first_cap;
    if (cap && per_kib > cap)
        per_kib = cap;
    per_kib = per_kib < UINT32_MAX ? per_kib : UINT32_MAX;
    per_kib = fast_down && old && per_kib < old ? (old + per_kib) / 2 : average(old, per_kib);
    *avg = (uint32_t)(per_kib ? per_kib : 1);
}

static uint64_t block_ns(const struct snap_policy *p, unsigned r);

void snap_policy_learn(struct snap_policy *p, enum snap_level tried, uint32_t raw_len,
                       uint32_t out_len, uint64_t ns)
{
    if (!raw_len || (unsigned)tried >= SNAP_LEVELS)
        return;
    p->last_raw = raw_len;
    p->last_tried = (uint8_t)tried;
    p->last_encode_ns = ns;
    p->learned++;
    uint64_t permille = (uint64_t)(out_len < raw_len ? out_len : raw_len) * 1000 / raw_len;
    permille = average(p->out_permille[tried], permille ? permille : 1);
    p->out_permille[tried] = (uint16_t)(permille ? permille : 1);
    if (ns)
        learn_time(&p->ns_per_kib[tried], ns, raw_len,
                   OUTLIER_TIMES * block_ns(p, tried) / BLOCK_KIB, true);
}

/* The turn of the block learned last: the time from its pick to this one; not learned
 * when the queue is within FULL_BLOCKS blocks of full, where putting the block may have
 * waited for the disk to make room (that time is the disk's, not the rung's). */
static void learn_cycle(struct snap_policy *p, uint64_t now_ns, uint64_t queued,
                        uint64_t capacity)
{
    bool full = capacity && queued + FULL_BLOCKS * BLOCK_KIB * 1024ull > capacity;
    if (now_ns && p->last_pick_ns && p->last_raw && now_ns > p->last_pick_ns && !full &&
        p->last_tried < SNAP_LEVELS) {
        uint64_t turn = now_ns - p->last_pick_ns;
        learn_time(&p->cycle_ns_per_kib[p->last_tried], turn, p->last_raw, 0, false);
        if (p->last_encode_ns && turn < UINT64_MAX / 1000) {
            uint64_t old = p->stretch_pm, pm = turn * 1000 / p->last_encode_ns;
            pm = pm < 1000 ? 1000 : pm > MAX_STRETCH_PM ? MAX_STRETCH_PM : pm;
            if (old && pm > OUTLIER_TIMES * old)
                pm = OUTLIER_TIMES * old;
            p->stretch_pm = (uint32_t)average(old, pm);
        }
    }
    p->last_pick_ns = now_ns;
    p->last_raw = 0;
}

static unsigned permille_or_all(const struct snap_policy *p, unsigned r)
{
    return p->out_permille[r] ? p->out_permille[r] : 1000;
}

/* The rungs that pay, as a bit mask: the lowest always; above it, a measured rung that
 * writes at most PAYS_PERCENT of the last rung that pays, and an unmeasured rung (to be
 * tried) only directly above a rung that pays and was measured to compress (or stores). */
static unsigned paying_rungs(const struct snap_policy *p)
{
    unsigned prev = p->lowest, mask = 1u << prev;
    for (unsigned r = p->lowest + 1u; r <= (unsigned)p->highest; r++) {
        unsigned base = permille_or_all(p, prev);
        bool pays;
        if (p->out_permille[r])
            pays = p->out_permille[r] * 100u <= base * PAYS_PERCENT;
        else
            pays = r - 1 == prev && (prev == SNAP_STORE ||
                                     (p->out_permille[prev] && base * 100u < 1000u * PAYS_PERCENT));
        if (pays) {
            mask |= 1u << r;
            prev = r;
        }
    }
    return mask;
}

/* Wall time of a whole block at rung r: measured; or scaled by the prior from the nearest
 * measured rung below, doubled (how long a rung takes depends on the data, and its first
 * block must not starve the disk), or else above; 0 when nothing is known. */
static uint64_t block_ns(const struct snap_policy *p, unsigned r)
{
    if (p->ns_per_kib[r])
        return (uint64_t)p->ns_per_kib[r] * BLOCK_KIB;
    for (unsigned b = r; b-- > 0;)
        if (p->ns_per_kib[b])
            return (uint64_t)p->ns_per_kib[b] * BLOCK_KIB * 2 * prior_cost[r] / prior_cost[b];
    for (unsigned a = r + 1; a < SNAP_LEVELS; a++)
        if (p->ns_per_kib[a])
            return (uint64_t)p->ns_per_kib[a] * BLOCK_KIB * prior_cost[r] / prior_cost[a] + 1;
    return 0;
}

/* The time the disk needs to write what is queued; 0 while its speed is not known. */
static uint64_t in_hand_ns(const struct snap_policy *p, uint64_t queued)
{
    if (p->drain_bps < 1000)
        return 0;
    return (queued < MAX_QUEUED ? queued : MAX_QUEUED) * 1000000 / (p->drain_bps / 1000);
}

/* A block's whole turn at rung r, pick to pick, where learned; at least its encoding. */
static uint64_t turn_ns(const struct snap_policy *p, unsigned r)
{
    uint64_t ns = block_ns(p, r);
    uint64_t turn = (uint64_t)p->cycle_ns_per_kib[r] * BLOCK_KIB;
    return turn > ns ? turn : ns;
}

/* Whether the disk's work in hand covers AFFORD_TURNS turns at rung r. */
static bool affordable(const struct snap_policy *p, unsigned r, uint64_t queued)
{
    if (p->drain_bps < 1000)
        return true;                /* the disk's speed is not known: the queue alone steers */
    return AFFORD_TURNS * turn_ns(p, r) <= in_hand_ns(p, queued);
}

/* The highest paying timed rung at which the `workers` workers together (each at this
 * worker's learned output per block over its learned turn) write at least as fast as the
 * disk drains, or whose fewer bytes save the disk at least the worker time its longer
 * turns cost; and whose FLOOR_TURNS turns the work in hand covers (the rates are
 * estimates: a floor that does not keep the disk fed lets the queue run dry, and then it
 * is no floor).  Below it a rung would only write more bytes than the disk can afford.
 * The lowest rung while the disk's speed is not known. */
static unsigned time_floor(const struct snap_policy *p, unsigned paying, unsigned workers,
                           uint64_t queued)
{
    uint64_t in_hand = in_hand_ns(p, queued);
    unsigned floor = p->lowest;
    for (unsigned r = p->lowest + 1u; in_hand && r <= (unsigned)p->highest; r++) {
        if (!(paying & (1u << r)) || !p->ns_per_kib[r] || !p->out_permille[r] ||
            FLOOR_TURNS * turn_ns(p, r) > in_hand)
            continue;
        /* a worker's rate at r: per its blocks' whole turns where known */
        uint64_t out = (uint64_t)permille_or_all(p, r) * BLOCK_KIB * 1024 / 1000;
        uint64_t turn = turn_ns(p, r);
        if (workers * (out * 1000000000ull / turn) >= p->drain_bps) {
            floor = r;
            continue;
        }
        /* or the exchange pays: the disk time r's fewer bytes save (over the drain rate)
         * is at least the worker time its longer turns cost (shared by the workers) */
        uint64_t out_floor = (uint64_t)permille_or_all(p, floor) * BLOCK_KIB * 1024 / 1000;
        uint64_t turn_floor = turn_ns(p, floor);
        uint64_t saved_ns = out_floor > out ? (out_floor - out) * 1000000000ull / p->drain_bps : 0;
        if (turn <= turn_floor || saved_ns * workers >= turn - turn_floor)
            floor = r;
    }
    return floor;
}

/* The disk's speed, from windows of MIN_WINDOW_NS and MIN_WINDOW_BYTES or more: the bytes it
 * drained over the time.  Where it drained less than was queued at the window's start, it
 * never ran dry and wrote at its own speed throughout: the rate is its speed (averaged with
 * what was known, so that a disk slowing down is followed).  Otherwise it may have waited
 * for blocks, and the rate is only a bound below its speed. */
static void measure_drain(struct snap_policy *p, const struct snap_queue_view *q)
{
    uint64_t queued = q->capacity ? q->queued : 0;
    if (!q->now_ns)
        return;
    if (!p->last_ns || q->now_ns < p->last_ns || q->drained < p->last_drained) {
        p->last_ns = q->now_ns;
        p->last_drained = q->drained;
        p->window_queued = queued;
        return;
    }
    uint64_t dt = q->now_ns - p->last_ns;
    uint64_t bytes = q->drained - p->last_drained;
    if (dt < MIN_WINDOW_NS || bytes < MIN_WINDOW_BYTES)
        return;
    uint64_t rate = (bytes < MAX_QUEUED ? bytes : MAX_QUEUED) * 1000000 / (dt / 1000);
    if (bytes < p->window_queued)
        p->drain_bps = p->drain_bps ? (p->drain_bps + rate) / 2 : rate;
    else if (p->drain_bps && rate > p->drain_bps)
        p->drain_bps = rate;
    p->last_ns = q->now_ns;
    p->last_drained = q->drained;
    p->window_queued = queued;
}

/* How busy the disk has been lately, in hundredths of a per cent: the bytes it drained
 * between this worker's blocks over its measured speed, against the time, in moving sums
 * that forget at BUSY_HORIZON_NS.  The disk is idle exactly while the queue is empty, so
 * this is the share of the recent past in which the workers kept it fed. */
static void measure_busy(struct snap_policy *p, const struct snap_queue_view *q)
{
    if (p->busy_at_ns && q->now_ns > p->busy_at_ns && q->drained >= p->busy_drained &&
        p->drain_bps >= 1000) {
        uint64_t dt = q->now_ns - p->busy_at_ns;
        dt = dt < 16 * BUSY_HORIZON_NS ? dt : 16 * BUSY_HORIZON_NS;
        uint64_t bytes = q->drained - p->busy_drained;
        uint64_t busy = (bytes < MAX_QUEUED ? bytes : MAX_QUEUED) * 1000000 / (p->drain_bps / 1000);
        busy = busy < dt ? busy : dt;
        p->window_ns = p->window_ns * BUSY_HORIZON_NS / (BUSY_HORIZON_NS + dt) + dt;
        p->busy_ns = p->busy_ns * BUSY_HORIZON_NS / (BUSY_HORIZON_NS + dt) + busy;
    }
    p->busy_at_ns = q->now_ns;
    p->busy_drained = q->drained;
}

/* Bytes out per 1000 in at rung r: learned; or from the nearest learned rung by the prior
 * (below it first: a rung not tried is tried just above one that was); storing writes all. */
static unsigned est_permille(const struct snap_policy *p, unsigned r)
{
    if (r == SNAP_STORE)
        return 1000;
    if (p->out_permille[r])
        return p->out_permille[r];
    for (unsigned b = r; b-- > 0;)
        if (p->out_permille[b])
            return p->out_permille[b] * prior_out[r] / prior_out[b];
    for (unsigned a = r + 1; a < SNAP_LEVELS; a++)
        if (p->out_permille[a]) {
            unsigned est = p->out_permille[a] * prior_out[r] / prior_out[a];
            return est < 1000 ? est : 1000;
        }
    return prior_out[r];
}

/* What a KiB of input at rung r costs the snapshot, the disk busy `bp` (hundredths of a
 * per cent) of the time: the disk's time for its bytes weighed by that share, the workers'
 * time for its encoding (shared by `workers`) by the rest.  A disk always busy is the
 * bottleneck (the workers' time is free: they would wait for room on the queue); a disk
 * often idle is not (its time is free: it waits for the workers). */
static uint64_t cost(const struct snap_policy *p, unsigned r, uint64_t bp, unsigned workers)
{
    uint64_t disk_ns = est_permille(p, r) * 1024000000ull / p->drain_bps;
    uint64_t stretch = p->stretch_pm ? p->stretch_pm : 1000;
    uint64_t cpu_ns = block_ns(p, r) / BLOCK_KIB * stretch / 1000 / workers;
    return bp * disk_ns + (10000 - bp) * cpu_ns;
}

/* The paying rung from `floor` up that costs least at busy share `bp` (the lowest of equals). */
static unsigned cheapest(const struct snap_policy *p, unsigned paying, unsigned floor,
                         uint64_t bp, unsigned workers)
{
    unsigned best = floor;
    uint64_t best_cost = cost(p, floor, bp, workers);
    for (unsigned r = floor + 1; r <= (unsigned)p->highest; r++) {
        uint64_t c = (paying & (1u << r)) ? cost(p, r, bp, workers) : UINT64_MAX;
        if (c < best_cost) {
            best = r;
            best_cost = c;
        }
    }
    return best;
}

/* The cheapest rung at share `bp`, but the current rung is kept while it costs at most
 * the hysteresis (per cent) more: a share hovering where two rungs cost about the same does
 * not flip the level every block. */
static unsigned priced_rung(const struct snap_policy *p, unsigned paying, uint64_t bp,
                            unsigned workers)
{
    unsigned best = cheapest(p, paying, p->lowest, bp, workers);
    unsigned cur = (unsigned)p->level;
    if (cur != best && cur >= (unsigned)p->lowest && cur <= (unsigned)p->highest &&
        (paying & (1u << cur)) &&
        cost(p, cur, bp, workers) / (100 + p->hysteresis_pct) <=
            cost(p, best, bp, workers) / 100)
        return cur;
    return best;
}

/* Without a clock, the depth alone: one band of the queue per rung, emptiest band fastest,
 * the current rung kept while the depth is within the hysteresis of its band. */
static unsigned band_rung(const struct snap_policy *p, uint64_t bp)
{
    unsigned rungs = (unsigned)(p->highest - p->lowest) + 1;
    unsigned cur = (unsigned)p->level - (unsigned)p->lowest;
    uint64_t h = p->hysteresis_pct * 100ull;
    if (cur < rungs && bp + h >= cur * 10000ull / rungs && bp <= (cur + 1) * 10000ull / rungs + h)
        return (unsigned)p->level;
    return (unsigned)p->lowest + (unsigned)(bp * rungs / 10001);
}

enum snap_level snap_policy_pick(struct snap_policy *p, const struct snap_queue_view *q)
{
    if (p->lowest == p->highest)
        return p->level = p->lowest;
    uint64_t queued = q->capacity ? q->queued : 0;
    uint64_t bp = fill_bp(queued, q->capacity);
    unsigned workers = q->workers ? q->workers : 1;
    measure_drain(p, q);
    if (q->now_ns)
        measure_busy(p, q);
    learn_cycle(p, q->now_ns, queued, q->capacity);
    if (++p->picks % SNAP_POLICY_RETRY_PICKS == 0) {
        unsigned paying = paying_rungs(p);
        for (unsigned r = p->lowest + 1u; r <= (unsigned)p->highest; r++)
            if (!(paying & (1u << r))) {
                p->out_permille[r] = 0;
                break;
            }
    }
    unsigned mask = paying_rungs(p);
    unsigned start = p->start < p->lowest ? p->lowest : p->start > p->highest ? p->highest
                                                                                : p->start;
    unsigned r, floor = p->lowest;
    if (!q->now_ns) {
        r = band_rung(p, bp);
    } else if (p->drain_bps < 1000 || !block_ns(p, start)) {
        /* the disk's speed (or any rung's time) not known yet: the lowest rung until an
         * eighth of the queue is filled, enough to measure the disk, then the starting rung */
        r = queued < q->capacity / START_FILL ? p->lowest : start;
    } else {
        uint64_t busy = p->window_ns ? p->busy_ns * 10000 / p->window_ns : 10000;
        r = priced_rung(p, mask, bp < busy ? bp : busy, workers);
        /* the floor's rung needs only FLOOR_TURNS in hand, but not above the priced rung */
        floor = time_floor(p, mask, workers, queued);
        floor = floor < r ? floor : r;
    }
    /* a rung above the floor must pay, and the disk must have the work in hand for it */
    while (r > floor && (!(mask & (1u << r)) || !affordable(p, r, queued)))
        r--;
    p->level = (enum snap_level)r;
    return p->level;
}

enum snap_level snap_policy_next(struct snap_policy *p, uint64_t queued, uint64_t capacity)
{
    return snap_policy_pick(p, &(struct snap_queue_view){ .queued = queued,
                                                          .capacity = capacity });
}

const char *snap_level_name(enum snap_level l)
{
    static const char *const names[SNAP_LEVELS] = { "store", "lz4-fast", "lz4", "lz4hc-3",
                                                    "lz4hc-9" };
    return (unsigned)l < SNAP_LEVELS ? names[l] : "?";
}
