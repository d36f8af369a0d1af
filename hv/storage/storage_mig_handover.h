/*
 * The "around" mode's HANDOVER message (hv/storage/storage_migration.md): once the machine
 * has moved, the source tells the target which of the units it copied are still current
 * (copied and not written since); the target's unit map starts from them, the rest is
 * pulled with READ as in the after mode.  Portable: no I/O, no allocation.
 *
 * Payload, little-endian:  0 u32 units   4 u32 0   8 bitmap, (units + 7) / 8 bytes, bit u of
 * byte u / 8 (LSB first) set: the target's copy of unit u is current; the bits past the last
 * unit are 0.
 */
#ifndef ATOLL_HV_STORAGE_STORAGE_MIG_HANDOVER_H
#define ATOLL_HV_STORAGE_STORAGE_MIG_HANDOVER_H
#include <stddef.h>
#include <stdint.h>

#define SMIG_HANDOVER_HEAD 8u

/* The payload's size for a disk of `units` units. */
size_t smig_handover_size(uint32_t units);
/* Writes the payload (the bitmap copied); its length, 0 when cap is too small. */
size_t smig_handover_encode(uint32_t units, const uint8_t *bitmap, uint8_t *out, size_t cap);
/* Checks a payload against the disk's unit count: 0 with *bitmap pointing into in, or -1
 * with one line in err (another unit count, a wrong length, reserved bits or spare bits). */
int smig_handover_decode(const uint8_t *in, uint32_t len, uint32_t units,
                         const uint8_t **bitmap, char *err, size_t err_size);
/* Bit u of a bitmap. */
static inline int smig_handover_bit(const uint8_t *bitmap, uint32_t u)
{
    return (bitmap[u >> 3] >> (u & 7)) & 1;
}

#endif
