#include "hv/snapshot/snap_policy.h"

#include <stdbool.h>

#define LEARN_SHIFT      2          /* moving averages weigh a new block 1/4 */
#define PAYS_PERCENT     99         /* a rung must write at most 99% of the rung below it */
#define MIN_WINDOW_NS    100000ull  /* drain rate measured over 100 us at least */
#define BLOCK_KIB        64u        /* SNAP_BLOCK_SIZE / 1024 (snap_codec.h) */
#define MAX_QUEUED       (1ull << 43)
#define OUTLIER_TIMES    2          /* a turn counts at most twice the average */
#define AFFORD_TURNS     8          /* a rung above the floor: the work in hand covers 8 turns */
#define FLOOR_TURNS      2          /* the floor: while the work in hand covers 2 of its turns */
#define FULL_BLOCKS      2
#define START_BLOCKS     2          /* blocks put before an empty queue counts (see below) */          /* a queue this many blocks from full may have made a
                                       worker wait for room */

/* Relative cost per KiB of each rung on typical RAM (tests/bench: the Linux image), used
 * for a rung not yet measured: scaled from the nearest measured rung below it. */
static const uint8_t prior_cost[SNAP_LEVELS] = { 1, 4, 7, 30, 65 };

void snap_policy_init(struct snap_policy *p, enum snap_level start)
{
    *p = (struct snap_policy){ 0 };
    p->lowest = SNAP_STORE;
    p->highest = SNAP_LZ4HC_9;
    p->level = start < SNAP_LEVELS ? start : SNAP_LZ4;
    p->start = p->level;
    p->band = (unsigned)p->level;
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

/* A moving average of time per KiB; with `capped`, one sample counts at most OUTLIER_TIMES
 * the average (a worker descheduled mid-turn says little about the rung). */
static void learn_time(uint32_t *avg, uint64_t ns, uint32_t raw_len, bool capped)
{
    uint64_t per_kib = ns < UINT64_MAX / 1024 ? ns * 1024 / raw_len : UINT32_MAX;
    uint64_t old = *avg;
    if (capped && old && per_kib > OUTLIER_TIMES * old)
        per_kib = OUTLIER_TIMES * old;
    per_kib = average(old, per_kib < UINT32_MAX ? per_kib : UINT32_MAX);
    *avg = (uint32_t)(per_kib ? per_kib : 1);
}

void snap_policy_learn(struct snap_policy *p, enum snap_level tried, uint32_t raw_len,
                       uint32_t out_len, uint64_t ns)
{
    if (!raw_len || (unsigned)tried >= SNAP_LEVELS)
        return;
    p->last_raw = raw_len;
    p->last_tried = (uint8_t)tried;
    p->learned++;
    uint64_t permille = (uint64_t)(out_len < raw_len ? out_len : raw_len) * 1000 / raw_len;
    permille = average(p->out_permille[tried], permille ? permille : 1);
    p->out_permille[tried] = (uint16_t)(permille ? permille : 1);
    if (ns)
        learn_time(&p->ns_per_kib[tried], ns, raw_len, false);
}

/* The turn of the block learned last: the time from its pick to this one; not learned
 * when the queue is within FULL_BLOCKS blocks of full, where putting the block may have
 * waited for the disk to make room (that time is the disk's, not the rung's). */
static void learn_cycle(struct snap_policy *p, uint64_t now_ns, uint64_t queued,
                        uint64_t capacity)
{
    bool full = capacity && queued + FULL_BLOCKS * BLOCK_KIB * 1024ull > capacity;
    if (now_ns && p->last_pick_ns && p->last_raw && now_ns > p->last_pick_ns && !full &&
        p->last_tried < SNAP_LEVELS)
        learn_time(&p->cycle_ns_per_kib[p->last_tried], now_ns - p->last_pick_ns, p->last_raw,
                   true);
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

/* Wall time of a whole block at rung r: measured, or scaled from a measured rung below by
 * the prior and doubled (how long a rung takes depends on the data, and its first block
 * must not starve the disk); 0 when nothing is known. */
static uint64_t block_ns(const struct snap_policy *p, unsigned r)
{
    if (p->ns_per_kib[r])
        return (uint64_t)p->ns_per_kib[r] * BLOCK_KIB;
    for (unsigned b = r; b-- > 0;)
        if (p->ns_per_kib[b])
            return (uint64_t)p->ns_per_kib[b] * BLOCK_KIB * 2 * prior_cost[r] / prior_cost[b];
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
        if (!(paying & (1u << r)) || !p->ns_per_kib[r] || FLOOR_TURNS * turn_ns(p, r) > in_hand)
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

/* The drain rate over windows of MIN_WINDOW_NS or more in which the queue was never seen
 * empty at a block (the disk had work throughout, so it wrote at its own speed). */
static void measure_drain(struct snap_policy *p, const struct snap_queue_view *q)
{
    if (!q->now_ns || !q->drained)
        return;
    if (!p->last_ns || q->now_ns < p->last_ns || q->drained < p->last_drained || !q->queued) {
        p->last_ns = q->queued ? q->now_ns : 0;         /* an empty queue restarts the window */
        p->last_drained = q->drained;
        return;
    }
    uint64_t dt = q->now_ns - p->last_ns;
    if (dt < MIN_WINDOW_NS)
        return;
    uint64_t bytes = q->drained - p->last_drained;
    uint64_t rate = (bytes < MAX_QUEUED ? bytes : MAX_QUEUED) * 1000000 / (dt / 1000);
    p->drain_bps = p->drain_bps ? (p->drain_bps + rate) / 2 : rate;
    p->last_ns = q->now_ns;
    p->last_drained = q->drained;
}

/* The band of the queue's depth, one per rung from lowest to highest, emptiest first.
 * The current band is kept while the depth stays within the hysteresis of it, and while
 * the queue moves the other way: a queue still filling (as it does from empty at the
 * start) does not lower the band, nor does one already draining raise it.  The empty
 * queue the first block sees says nothing yet: the starting band is kept. */
static unsigned depth_band(struct snap_policy *p, uint64_t queued, uint64_t capacity)
{
    unsigned rungs = (unsigned)(p->highest - p->lowest) + 1;
    uint64_t bp = fill_bp(queued, capacity);
    unsigned band = (unsigned)(bp * rungs / 10001);
    unsigned current = p->band < rungs ? p->band : band;
    uint64_t lo = current * 10000ull / rungs, hi = (current + 1) * 10000ull / rungs;
    uint64_t h = p->hysteresis_pct * 100ull;
    /* empty because nothing was put yet (the first block), or too little for the disk to
     * have caught up with it: while the disk's speed is not measured, an empty queue says
     * something only once this worker has put START_BLOCKS blocks with data */
    bool unproven = !queued && (p->picks == 1 || (!p->drain_bps && p->learned < START_BLOCKS));
    if (!unproven && ((bp + h < lo && queued <= p->last_queued) ||
                   (bp > hi + h && queued >= p->last_queued)))
        current = band;
    p->last_queued = queued;
    return p->band = current;
}

enum snap_level snap_policy_pick(struct snap_policy *p, const struct snap_queue_view *q)
{
    if (p->lowest == p->highest)
        return p->level = p->lowest;
    uint64_t queued = q->capacity ? q->queued : 0;
    unsigned workers = q->workers ? q->workers : 1;
    measure_drain(p, q);
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
    unsigned r = p->lowest + depth_band(p, queued, q->capacity);
    /* with a clock, nothing above the starting rung until the disk's speed is measured:
     * a queue filled at the start by fast rungs says nothing yet of the disk, and a slow
     * rung then may starve a fast one */
    unsigned start = p->start > p->lowest ? p->start : p->lowest;
    if (q->now_ns && p->drain_bps < 1000 && r > start)
        r = start;
    unsigned floor = time_floor(p, mask, workers, queued);
    if (r < floor)
        r = floor;
    /* the floor keeps the disk fed whatever the depth: only rungs above it must be afforded */
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
