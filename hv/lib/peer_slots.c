/* A listener's choice of slot for a newcomer, fair per peer address (hv/lib/peer_slots.h). */
#include "hv/lib/peer_slots.h"

#include "hv/lib/ipv4.h"

/* What one address holds of the waiting slots. */
struct tally {
    unsigned waiting;
    uint64_t since;         /* the earliest turn_ms of them */
    int oldest;             /* the slot taken first, -1 with none */
};

static bool waiting(const struct peer_slot *s)
{
    return s->used && !s->authenticated;
}

static struct tally tally_of(const struct peer_slot *s, size_t n, uint32_t addr)
{
    struct tally t = { 0, UINT64_MAX, -1 };
    for (size_t i = 0; i < n; i++) {
        if (!waiting(&s[i]) || s[i].addr != addr)
            continue;
        t.waiting++;
        if (s[i].turn_ms < t.since)
            t.since = s[i].turn_ms;
        if (t.oldest < 0 || s[i].order < s[t.oldest].order)
            t.oldest = (int)i;
    }
    return t;
}

/* Before b: more waiting slots, or as many and waiting longer (then taken first). */
static bool ahead(const struct peer_slot *s, const struct tally *a, const struct tally *b)
{
    if (a->waiting != b->waiting)
        return a->waiting > b->waiting;
    if (a->since != b->since)
        return a->since < b->since;
    return s[a->oldest].order < s[b->oldest].order;
}

struct peer_slots_choice peer_slots_choose(const struct peer_slot *slots, size_t n,
                                           uint32_t addr, uint64_t now_ms, uint64_t turn_ms)
{
    const struct peer_slots_choice refuse = { PEER_SLOT_REFUSE, -1, now_ms };
    for (size_t i = 0; i < n; i++)
        if (!slots[i].used)
            return (struct peer_slots_choice){ PEER_SLOT_FREE, (int)i, now_ms };
    struct tally x = tally_of(slots, n, addr), v = { 0, UINT64_MAX, -1 };
    for (size_t i = 0; i < n; i++) {
        if (!waiting(&slots[i]) || slots[i].addr == addr)
            continue;
        struct tally t = tally_of(slots, n, slots[i].addr);
        if (v.oldest < 0 || ahead(slots, &t, &v))
            v = t;
    }
    if (v.oldest >= 0 && 2 * (size_t)x.waiting > n)
        return refuse;          /* X has its share and another address waits */
    bool turn_over = now_ms >= v.since && now_ms - v.since >= turn_ms;
    if (v.oldest >= 0 &&
        (v.waiting > x.waiting + 1 || (v.waiting == x.waiting + 1 && turn_over)))
        return (struct peer_slots_choice){ PEER_SLOT_EVICT, v.oldest, now_ms };
    if (x.oldest >= 0)
        return (struct peer_slots_choice){ PEER_SLOT_EVICT, x.oldest, x.since };
    return refuse;
}

uint32_t peer_slots_ipv4(const char *text)
{
    uint32_t v;
    const char *end = ipv4_parse(text, &v);
    return end && *end == '\0' ? v : 0;
}
