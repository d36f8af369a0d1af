/* A small deterministic generator (xorshift64*) for junk values: same seed, same run. */
#ifndef ATOLL_GUEST_RAND_H
#define ATOLL_GUEST_RAND_H

#include <stdint.h>

struct rng {
    uint64_t state;
};

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->state ? r->state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545f4914f6cdd1dull;
}

#endif
