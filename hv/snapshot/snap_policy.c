#include "hv/snapshot/snap_policy.h"

#include <stdbool.h>

#define LEARN_SHIFT      2          /* moving averages weigh a new block 1/4 */
#define PAYS_PERCENT     99         /* a rung must write at most 99% of the rung below it */
#define MIN_WINDOW_NS    50000ull   /* drain rate measured over 50 us at least */
#define MIN_WINDOW_BYTES (128u << 10) /* and 128 KiB (2 blocks: the disk finishes whole ones) */
#define BLOCK_KIB        64u        /* SNAP_BLOCK_SIZE / 1024 (snap_codec.h) */
#define BLOCK_BYTES      (BLOCK_KIB * 1024u)
#define MAX_QUEUED       (1ull << 43)
#define OUTLIER_TIMES    2          /* a time counts at most twice the average */
#define AFFORD_TURNS     4          /* a rung above the lowest: the work in hand covers 4 turns */
#define FULL_BLOCKS      2          /* a queue this many blocks from full may have made a
                                       worker wait for room */
#define START_BLOCKS     2          /* before the disk's speed is known: the lowest rung
                                       while fewer blocks than this are queued */
#define SPEED_BLOCKS     64         /* a worker's speed: sums that forget 1/64 a block */
#define MIN_SPEED_PM     20         /* and at least 1/50 */
#define DRY_HORIZON_NS   4000000ull /* the disk's dry share looks back about 4 ms */
#define DRY_AIM          2          /* dry all of that: the workers aim at twice its rate */
#define BOUND_BLOCKS     2          /* a busy disk wrote at most the drained and 2 blocks */
#define END_PERCENT      25         /* the queue kept: at most 1/4 of what is left to write */
#define END_FLOOR        8          /* and at 8 times that, the aim 1/8 of the disk's rate */
#define STEP             256        /* the effort's unit: a rung is STEP */

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
    p->seen += BLOCK_BYTES;
    p->seen_raw += raw_len < BLOCK_BYTES ? raw_len : BLOCK_BYTES;
    if (!raw_len || (unsigned)tried >= SNAP_LEVELS)
        return;
    p->last_raw = raw_len;
    p->last_tried = (uint8_t)tried;
    p->learned++;
    uint64_t permille = (uint64_t)(out_len < raw_len ? out_len : raw_len) * 1000 / raw_len;
    permille = average(p->out_permille[tried], permille ? permille : 1);
    p->out_permille[tried] = (uint16_t)(permille ? permille : 1);
    if (ns)
        learn_time(&p->ns_per_kib[tried], ns, raw_len,
                   OUTLIER_TIMES * block_ns(p, tried) / BLOCK_KIB, true);
}

static uint64_t turn_ns(const struct snap_policy *p, unsigned r);
static uint64_t raw_turn_ns(const struct snap_policy *p, unsigned r);

/* The turn of the block learned last: the time from its pick to this one.  With the
 * worker's CPU clock, the CPU time it spent (a worker waiting for a CPU, or for room in
 * the queue, spends none): the rungs are priced by the work alone.  Without it, the wall
 * time; not learned when the queue is within FULL_BLOCKS blocks of full, where putting
 * the block may have waited for the disk to make room (that time is the disk's, not the
 * rung's).  Turns are learned with outliers capped, so that a rung is not priced by a
 * worker descheduled once; but a worker that shares the CPUs with other work is
 * descheduled often, and gets less done than its turns say: its speed is what the turns
 * said its blocks would take over the wall time they took (the queue not near full), in
 * sums that forget 1/64 a block. */
static void learn_cycle(struct snap_policy *p, uint64_t now_ns, uint64_t cpu_ns,
                        uint64_t queued, uint64_t capacity)
{
    bool full = capacity && queued + FULL_BLOCKS * (uint64_t)BLOCK_BYTES > capacity;
    bool cpu = cpu_ns && p->last_pick_cpu && cpu_ns >= p->last_pick_cpu;
    if (now_ns && p->last_pick_ns && p->last_raw && now_ns > p->last_pick_ns &&
        (!full || cpu) && p->last_tried < SNAP_LEVELS) {
        uint64_t took = now_ns - p->last_pick_ns;
        uint64_t turn = cpu ? cpu_ns - p->last_pick_cpu : took;
        uint64_t said = raw_turn_ns(p, p->last_tried) * p->last_raw / (BLOCK_KIB * 1024);
        took = took < (1ull << 40) ? took : 1ull << 40;
        turn = turn < (1ull << 40) ? turn : 1ull << 40;
        if (said && !full) {
            p->said_ns = p->said_ns - p->said_ns / SPEED_BLOCKS + said;
            p->took_ns = p->took_ns - p->took_ns / SPEED_BLOCKS + took;
            uint64_t pm = p->said_ns * 1000 / p->took_ns;
            p->speed_pm = pm < MIN_SPEED_PM ? MIN_SPEED_PM : pm > 1000 ? 1000 : (uint32_t)pm;
        }
        learn_time(&p->cycle_ns_per_kib[p->last_tried], turn, p->last_raw,
                   OUTLIER_TIMES * said / BLOCK_KIB + 1, false);
    }
    p->last_pick_ns = now_ns;
    p->last_pick_cpu = cpu_ns;
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

/* The time of a whole block's encoding at rung r: measured; or scaled by the prior from
 * the nearest measured rung below, doubled (how long a rung takes depends on the data, and
 * its first block must not starve the disk), or else above; 0 when nothing is known. */
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

/* A block's whole turn at rung r, pick to pick, where learned; at least its encoding. */
static uint64_t raw_turn_ns(const struct snap_policy *p, unsigned r)
{
    uint64_t ns = block_ns(p, r);
    uint64_t turn = (uint64_t)p->cycle_ns_per_kib[r] * BLOCK_KIB;
    return turn > ns ? turn : ns;
}

/* The same over the worker's speed: what it takes, descheduling included. */
static uint64_t turn_ns(const struct snap_policy *p, unsigned r)
{
    uint64_t turn = raw_turn_ns(p, r);
    return p->speed_pm ? turn * 1000 / p->speed_pm : turn;
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

/* The time the disk needs to write what is queued; 0 while its speed is not known. */
static uint64_t in_hand_ns(const struct snap_policy *p, uint64_t queued)
{
    if (p->drain_bps < 1000)
        return 0;
    return (queued < MAX_QUEUED ? queued : MAX_QUEUED) * 1000000 / (p->drain_bps / 1000);
}

/* The disk's speed, from windows of MIN_WINDOW_NS and MIN_WINDOW_BYTES or more: the bytes it
 * drained over the time.  Where it drained less than was queued at the window's start, it
 * never ran dry and wrote at its own speed throughout: the rate is its speed (averaged with
 * what was known, so that a disk slowing down is followed).  Otherwise it may have waited
 * for blocks, and the rate is only a bound below its speed: it raises a known speed, and
 * stands for an unknown one. */
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
    if (p->drain_bps && bytes < p->window_queued && dt >= MIN_WINDOW_NS) {
        /* the disk was busy all the window: it wrote at most what drained and the block
         * in hand; a disk slowing down is caught before a whole window drains */
        uint64_t bound = (bytes + BOUND_BLOCKS * (uint64_t)BLOCK_BYTES) * 1000000 / (dt / 1000);
        if (bound < p->drain_bps)
            p->drain_bps = bound;
    }
    if (dt < MIN_WINDOW_NS || bytes < MIN_WINDOW_BYTES)
        return;
    uint64_t rate = (bytes < MAX_QUEUED ? bytes : MAX_QUEUED) * 1000000 / (dt / 1000);
    if (bytes < p->window_queued)
        p->drain_bps = p->drain_bps ? (p->drain_bps + rate) / 2 : rate;
    else if (rate > p->drain_bps)
        p->drain_bps = rate;
    p->last_ns = q->now_ns;
    p->last_drained = q->drained;
    p->window_queued = queued;
}

/* A rung's point: its turn in ns and its output in bytes, per KiB of input. */
static uint64_t turn_per_kib(const struct snap_policy *p, unsigned r)
{
    uint64_t ns = turn_ns(p, r) / BLOCK_KIB;
    return ns < 1000000000 ? ns : 1000000000;
}

static uint64_t out_per_kib(const struct snap_policy *p, unsigned r)
{
    return est_permille(p, r) * 1024ull / 1000;
}

/* Keeps of rung[0..n) (the paying rungs, fastest first) those on the lower convex hull of
 * (turn, output): a rung that saves fewer bytes per ns of turn over the rung before it
 * than the rung after it saves over it is never part of the best mix (its two neighbours
 * mixed write as few bytes in less time), nor is a rung slower than a later one that
 * writes no more, nor one no faster than an earlier one that writes no more.  Returns the
 * new count. */
static unsigned hull(const struct snap_policy *p, unsigned *rung, unsigned n)
{
    unsigned h = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = turn_per_kib(p, rung[i]), o = out_per_kib(p, rung[i]);
        if (h >= 1 && turn_per_kib(p, rung[h - 1]) <= c && out_per_kib(p, rung[h - 1]) <= o)
            continue;           /* no faster than the last kept, and writes no less */
        while (h >= 1 && turn_per_kib(p, rung[h - 1]) >= c && out_per_kib(p, rung[h - 1]) >= o)
            h--;
        while (h >= 2) {
            uint64_t c0 = turn_per_kib(p, rung[h - 2]), o0 = out_per_kib(p, rung[h - 2]);
            uint64_t c1 = turn_per_kib(p, rung[h - 1]), o1 = out_per_kib(p, rung[h - 1]);
            if (c1 <= c0 || o1 > o0 || c <= c1 || o > o1)
                break;
            /* kept while (o0 - o1) / (c1 - c0) >= (o1 - o) / (c - c1) */
            if ((o0 - o1) * (c - c1) >= (o1 - o) * (c1 - c0))
                break;
            h--;
        }
        rung[h++] = rung[i];
    }
    return h;
}

/* The effort that matches the workers' output to a disk writing `bps` bytes a second, in
 * STEPs along `rung[0..n)` (on the hull, fastest first).  At rung r the workers together
 * write W * out_r / turn_r bytes a second; the surplus s_r = W out_r - D turn_r (per KiB of
 * input) is positive while they outpace the disk.  The mix of the neighbours a (s_a >= 0)
 * and b (s_b < 0) with a share s_a / (s_a - s_b) of blocks at b writes exactly as fast as
 * the disk drains: any more effort and the disk waits for the workers, any less and it
 * writes bytes it need not. */
static int64_t matched_effort(const struct snap_policy *p, const unsigned *rung, unsigned n,
                              unsigned workers, uint64_t bps)
{
    uint64_t kbps = bps / 1000 < 1000000000 ? bps / 1000 : 1000000000;
    int64_t prev = 0;
    for (unsigned i = 0; i < n; i++) {
        int64_t s = (int64_t)(workers * out_per_kib(p, rung[i]) * 1000000ull) -
                    (int64_t)(kbps * turn_per_kib(p, rung[i]));
        if (s < 0)
            return i ? (int64_t)(i - 1) * STEP + prev * STEP / (prev - s) : 0;
        prev = s;
    }
    return (int64_t)(n - 1) * STEP;
}

/* Whether a block at rung r saves more of the disk's time than its turn takes longer than
 * one at rung `low`: then it is worth the disk's waiting for it. */
static bool pays_back(const struct snap_policy *p, unsigned r, unsigned low)
{
    uint64_t saved = out_per_kib(p, low) > out_per_kib(p, r) ?
                     out_per_kib(p, low) - out_per_kib(p, r) : 0;
    uint64_t longer = turn_ns(p, r) > turn_ns(p, low) ? turn_ns(p, r) - turn_ns(p, low) : 0;
    return longer < in_hand_ns(p, saved * BLOCK_KIB);
}

/* The bytes the workers keep queued: half the queue; but no more than END_PERCENT of what
 * the rest of RAM will write (its bytes not taken yet, times the share of non-zero RAM
 * this worker has seen, times the output of the rung it used last).  The queue is the
 * disk's work in hand against the workers' hiccups, and what is in it when the last block
 * is put only drains while the CPUs idle: towards the end it is spent, on harder rungs. */
static uint64_t target_bytes(const struct snap_policy *p, uint64_t capacity, uint64_t remaining,
                             bool *ending)
{
    uint64_t target = capacity / 2;
    *ending = false;
    if (!remaining || p->seen < BLOCK_BYTES)
        return target;
    uint64_t share_pm = p->seen_raw / (p->seen / 1000);
    share_pm = share_pm < 1000 ? share_pm : 1000;
    remaining = remaining < MAX_QUEUED ? remaining : MAX_QUEUED;
    uint64_t out = remaining / 1000 * share_pm / 1000 * est_permille(p, p->level);
    uint64_t end = out / 100 * END_PERCENT;
    *ending = end < target;
    return *ending ? end : target;
}

/* The rate the workers aim at: the disk's, scaled by the target work in hand over the work
 * in hand.  Twice the target in hand: half the disk's rate (the queue drains; towards the
 * end, down to an eighth, at eight times the target); less than the target: up to 5/4 of
 * it (the queue fills, gently, since the blocks that fill it are written with less
 * effort).  A queue near empty is the work-in-hand rule's. */
static uint64_t aimed_bps(const struct snap_policy *p, const struct snap_queue_view *q,
                          uint64_t queued)
{
    bool ending;
    uint64_t target = in_hand_ns(p, target_bytes(p, q->capacity, q->remaining, &ending));
    uint64_t in_hand = in_hand_ns(p, queued);
    uint64_t d = p->drain_bps, floor = ending ? END_FLOOR : 2;
    if (in_hand >= floor * target)
        return d / floor;
    if (in_hand * 5 <= target * 4)
        return d / 4 * 5;
    while (target > (1ull << 40)) {     /* in_hand > target * 4 / 5 > 0 */
        target >>= 1;
        in_hand >>= 1;
    }
    return d / 1000 * (target * 1000 / in_hand);
}

/* How much of the recent past the disk has spent dry, in hundredths of a per cent: the
 * time since this worker's previous pick counts as dry when this pick finds less than a
 * block queued, in moving sums that forget at DRY_HORIZON_NS.  Time-weighted, because a
 * worker that waited for a CPU picks nothing meanwhile, and finds the queue empty after;
 * without the disk's speed, because an error in it would read as idle time. */
static uint64_t measure_dry(struct snap_policy *p, uint64_t now_ns, uint64_t queued)
{
    if (p->dry_at_ns && now_ns > p->dry_at_ns) {
        uint64_t dt = now_ns - p->dry_at_ns;
        dt = dt < 16 * DRY_HORIZON_NS ? dt : 16 * DRY_HORIZON_NS;
        p->window_ns = p->window_ns * DRY_HORIZON_NS / (DRY_HORIZON_NS + dt) + dt;
        p->dry_ns = p->dry_ns * DRY_HORIZON_NS / (DRY_HORIZON_NS + dt) +
                    (queued < BLOCK_BYTES ? dt : 0);
    }
    p->dry_at_ns = now_ns;
    return p->window_ns ? p->dry_ns * 10000 / p->window_ns : 0;
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
    unsigned workers = !q->workers ? 1 : q->workers < 4096 ? q->workers : 4096;
    measure_drain(p, q);
    uint64_t dry = q->now_ns ? measure_dry(p, q->now_ns, queued) : 0;
    learn_cycle(p, q->now_ns, q->cpu_ns, queued, q->capacity);
    if (++p->picks % SNAP_POLICY_RETRY_PICKS == 0) {
        unsigned paying = paying_rungs(p);
        for (unsigned r = p->lowest + 1u; r <= (unsigned)p->highest; r++)
            if (!(paying & (1u << r))) {
                p->out_permille[r] = 0;
                break;
            }
    }
    unsigned mask = paying_rungs(p);
    unsigned rung[SNAP_LEVELS], n = 0;
    for (unsigned r = p->lowest; r <= (unsigned)p->highest; r++)
        if (mask & (1u << r))
            rung[n++] = r;
    unsigned r;
    if (!q->now_ns) {
        r = band_rung(p, bp);
        while (r > (unsigned)p->lowest && !(mask & (1u << r)))
            r--;
    } else if (p->drain_bps < 1000 || !block_ns(p, p->lowest)) {
        /* the disk's speed (or the lowest rung's time) not known yet: the lowest rung
         * while the queue holds less than START_BLOCKS blocks (the disk must not wait for
         * the first ones), then the starting rung or the paying rung below it */
        r = queued < START_BLOCKS * (uint64_t)BLOCK_BYTES ? p->lowest : p->start;
        while (r > (unsigned)p->lowest && !(mask & (1u << r)))
            r--;
    } else {
        n = hull(p, rung, n);
        /* a disk the workers have left dry lately waited for them, whatever the estimates
         * say: they aim higher, at up to DRY_AIM times the rate, with the dry share */
        uint64_t aim = aimed_bps(p, q, queued);
        aim += aim / 10000 * (dry < 10000 ? dry : 10000) * (DRY_AIM - 1);
        int64_t e = matched_effort(p, rung, n, workers, aim);
        e = e < 0 ? 0 : e > (int64_t)(n - 1) * STEP ? (int64_t)(n - 1) * STEP : e;
        p->effort = (uint32_t)e;
        unsigned i = (unsigned)(e / STEP);
        p->dither += (uint32_t)(e % STEP);
        if (p->dither >= STEP && i + 1 < n) {
            p->dither -= STEP;
            i++;
        }
        /* a rung above the lowest only while the disk has AFFORD_TURNS of its turns (at
         * the worker's speed) in hand (a slow rung on a fast disk must not leave it idle), or if the disk time
         * it saves over the lowest is more than the time it makes the disk wait */
        while (i > 0 && AFFORD_TURNS * turn_ns(p, rung[i]) > in_hand_ns(p, queued) &&
               !pays_back(p, rung[i], rung[0]))
            i--;
        r = rung[i];
    }
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
