/* The input of the VHDX fuzzers (fuzz_vhdx_open, fuzz_disk_job): patches applied to a copy
 * of a valid image, and the checksums recomputed afterwards where the input asks, so that
 * the parsers behind the CRC checks are reached too. */
#ifndef ATOLL_TESTS_FUZZ_VHDX_PATCH_H
#define ATOLL_TESTS_FUZZ_VHDX_PATCH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hv/storage/vhdx_internal.h"
#include "tests/unit/test_vhdx_mem_io.h"

/* Patches: (u32 little-endian offset, u8 length, bytes) until the input ends; an offset
 * wraps at the image's size, a length is clipped to the input and to the image. */
static inline void vhdx_patch_apply(struct mem_disk *m, const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i + 5 <= size) {
        uint32_t off = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 |
                       (uint32_t)data[i + 2] << 16 | (uint32_t)data[i + 3] << 24;
        size_t len = data[i + 4];
        i += 5;
        if (len > size - i)
            len = size - i;
        off %= (uint32_t)m->size;
        if (len > m->size - off)
            len = m->size - off;
        memcpy(m->data + off, data + i, len);
        i += len;
    }
}

/* The checksum of the structure of len bytes at off, where it lies inside the image. */
static inline void vhdx_patch_fix_crc(struct mem_disk *m, uint64_t off, uint32_t len)
{
    if (off + len <= m->size)
        put_le32(m->data + off + 4, vhdx_checksum(m->data + off, len, 4));
}

/* Both headers and both region tables. */
static inline void vhdx_patch_fix_header_crcs(struct mem_disk *m)
{
    vhdx_patch_fix_crc(m, VHDX_HEADER1_OFF, VHDX_HEADER_SIZE);
    vhdx_patch_fix_crc(m, VHDX_HEADER2_OFF, VHDX_HEADER_SIZE);
    vhdx_patch_fix_crc(m, VHDX_REGION1_OFF, VHDX_REGION_SIZE);
    vhdx_patch_fix_crc(m, VHDX_REGION2_OFF, VHDX_REGION_SIZE);
}

#endif
