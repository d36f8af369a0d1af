#include "hv/storage/rate_limit.h"
#include <stddef.h>

#define NS_PER_S   1000000000ull
#define OP_UNIT    1000000ull           /* op_tokens per operation */

void rate_limit_init(struct rate_limit *rl, uint64_t iops, uint64_t bytes_per_s, uint64_t now_ns)
{
    rl->iops = iops;
    rl->bytes_per_s = bytes_per_s;
    rl->op_tokens = iops * OP_UNIT;     /* a full bucket: one second's burst */
    rl->byte_tokens = bytes_per_s;
    rl->last_ns = now_ns;
    rl->throttled = 0;
    rl->delayed = 0;
    rl->waiting = false;
}

/* rate per second * elapsed_ns (below a second), without overflow: with rate = q s + r,
 * q * elapsed_ns < rate and r * elapsed_ns < 10^18. */
static uint64_t earned(uint64_t rate, uint64_t elapsed_ns)
{
    return rate / NS_PER_S * elapsed_ns + rate % NS_PER_S * elapsed_ns / NS_PER_S;
}

static uint64_t add_capped(uint64_t tokens, uint64_t more, uint64_t cap)
{
    return more >= cap || tokens >= cap - more ? cap : tokens + more;
}

static void refill(struct rate_limit *rl, uint64_t now_ns)
{
    if (now_ns <= rl->last_ns)
        return;
    uint64_t dt = now_ns - rl->last_ns;
    if (dt >= NS_PER_S)
        dt = NS_PER_S;                  /* a second fills the bucket */
    if (rl->iops)
        rl->op_tokens = add_capped(rl->op_tokens, earned(rl->iops * OP_UNIT, dt),
                                   rl->iops * OP_UNIT);
    if (rl->bytes_per_s)
        rl->byte_tokens = add_capped(rl->byte_tokens, earned(rl->bytes_per_s, dt),
                                     rl->bytes_per_s);
    rl->last_ns = now_ns;
}

/* A request bigger than a whole bucket waits for a full one, then takes it all. */
static uint64_t byte_cost(const struct rate_limit *rl, uint64_t bytes)
{
    return bytes < rl->bytes_per_s ? bytes : rl->bytes_per_s;
}

bool rate_limit_take(struct rate_limit *rl, uint64_t bytes, uint64_t now_ns)
{
    refill(rl, now_ns);
    bool ops_ok = !rl->iops || rl->op_tokens >= OP_UNIT;
    bool bytes_ok = !rl->bytes_per_s || rl->byte_tokens >= byte_cost(rl, bytes);
    if (!ops_ok || !bytes_ok) {
        rl->throttled++;
        if (!rl->waiting)
            rl->delayed++;
        rl->waiting = true;
        return false;
    }
    rl->waiting = false;
    if (rl->iops)
        rl->op_tokens -= OP_UNIT;
    if (rl->bytes_per_s)
        rl->byte_tokens -= byte_cost(rl, bytes);
    return true;
}

/* Nanoseconds to earn `missing` at `rate` per second, rounded up; missing <= rate. */
static uint64_t time_for(uint64_t missing, uint64_t rate)
{
    while (missing > UINT64_MAX / NS_PER_S) {    /* keep missing * 10^9 in 64 bits */
        missing >>= 1;
        rate >>= 1;
    }
    return (missing * NS_PER_S + rate - 1) / rate;
}

uint64_t rate_limit_wait_ns(const struct rate_limit *rl, uint64_t bytes, uint64_t now_ns)
{
    struct rate_limit copy = *rl;
    refill(&copy, now_ns);
    uint64_t wait = 0, need;
    if (copy.iops && copy.op_tokens < OP_UNIT)
        wait = time_for(OP_UNIT - copy.op_tokens, copy.iops * OP_UNIT);
    if (copy.bytes_per_s && copy.byte_tokens < (need = byte_cost(&copy, bytes))) {
        uint64_t w = time_for(need - copy.byte_tokens, copy.bytes_per_s);
        wait = w > wait ? w : wait;
    }
    return wait;
}

static size_t put(char *out, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        out[at++] = *s++;
    out[at] = 0;
    return at;
}

struct rate_limit_note rate_limit_note(const struct rate_limit *rl)
{
    struct rate_limit_note n = { "" };
    if (!rl)
        return n;
    if (!rl->delayed) {
        put(n.text, 0, sizeof(n.text), ", never throttled");
        return n;
    }
    char digits[21];
    unsigned i = sizeof(digits) - 1;
    digits[i] = 0;
    uint64_t v = rl->delayed;
    do
        digits[--i] = (char)('0' + v % 10);
    while (v /= 10);
    size_t at = put(n.text, 0, sizeof(n.text), ", throttled: ");
    at = put(n.text, at, sizeof(n.text), digits + i);
    put(n.text, at, sizeof(n.text), rl->delayed == 1 ? " request delayed" : " requests delayed");
    return n;
}
