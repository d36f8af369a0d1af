/*
 * The secret isolation_a spreads over its RAM: 64-byte blocks of eight words derived from
 * a constant.  isolation_b looks for a whole block, so the constant it compares against
 * (which sits in its own code) never counts as a sighting.
 */
#ifndef ATOLL_GUEST_TESTS_ISOLATION_SECRET_H
#define ATOLL_GUEST_TESTS_ISOLATION_SECRET_H

#include <stdint.h>

#define SECRET_WORDS 8
#define SECRET_BLOCK (SECRET_WORDS * 8)
#define FOUR_GIB 0x100000000ull

static inline uint64_t secret_word(unsigned k)
{
    uint64_t x = 0x41746f6c6c536563ull + k * 0x9e3779b97f4a7c15ull; /* "AtollSec" */
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return x;
}

#endif
