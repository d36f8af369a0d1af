/* Small arithmetic shared by the device models (portable, header-only). */
#ifndef ATOLL_HV_VDEV_VDEV_UTIL_H
#define ATOLL_HV_VDEV_VDEV_UTIL_H

#include <stdint.h>

#define VDEV_NS_PER_S 1000000000ull

/* All-ones in the low size bytes (size 1..8; anything else gives all 64 bits). */
static inline uint64_t vdev_size_mask(unsigned size)
{
    return size >= 1 && size < 8 ? (1ull << (size * 8)) - 1 : ~0ull;
}

/* a * b / c rounded down, saturating at UINT64_MAX; c == 0 gives UINT64_MAX.
 * Needs b * c < 2^64 (true for clock rates below ~4 THz), no 128-bit division. */
static inline uint64_t vdev_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    if (c == 0)
        return UINT64_MAX;
    uint64_t q = a / c, r = a % c;
    if (b != 0 && q > UINT64_MAX / b)
        return UINT64_MAX;
    uint64_t hi = q * b, lo = r * b / c;
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

/* Same, rounded up. */
static inline uint64_t vdev_muldiv_up(uint64_t a, uint64_t b, uint64_t c)
{
    if (c == 0)
        return UINT64_MAX;
    uint64_t q = a / c, r = a % c;
    if (b != 0 && q > UINT64_MAX / b)
        return UINT64_MAX;
    uint64_t hi = q * b, lo = (r * b + c - 1) / c;
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

static inline uint64_t vdev_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
