/* libFuzzer: hostile copy requests of Atoll's virtio-blk extension (hv/vdev/virtio_blk_copy.c):
 * the 24-byte segment, then the checks against fuzzed disk geometries; a request that
 * passes must lie inside both disks, aligned, and not overlap itself on one disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/vdev/virtio_blk_copy.h"

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

static void must(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vblk_copy c;
    (void)vblk_copy_decode(data, size, &c);     /* any length */
    if (size < VIRTIO_BLK_COPY_SEG_BYTES)
        return 0;
    if (vblk_copy_decode(data, VIRTIO_BLK_COPY_SEG_BYTES, &c))
        return 0;
    const uint8_t *p = data + VIRTIO_BLK_COPY_SEG_BYTES;
    size_t n = size - VIRTIO_BLK_COPY_SEG_BYTES;
    uint32_t dst_disk = (uint32_t)take(&p, &n, 1);
    uint64_t dst_sector = take(&p, &n, 8);
    uint8_t shape = (uint8_t)take(&p, &n, 1);
    struct vblk_copy_disk dst = { take(&p, &n, 8), shape & 1 ? 4096u : 512u };
    struct vblk_copy_disk src = { take(&p, &n, 8), shape & 2 ? 4096u : 512u };
    dst.capacity -= dst.capacity % dst.sector_size;
    src.capacity -= src.capacity % src.sector_size;
    if (c.source_disk == dst_disk)
        src = dst;
    if (vblk_copy_check(&c, dst_disk, dst_sector, &dst, shape & 4, shape & 8 ? NULL : &src))
        return 0;
    uint64_t bytes = c.sectors * 512;
    must(shape & 4 && !(shape & 8) && bytes > 0);
    must(dst_sector <= dst.capacity / 512 && bytes <= dst.capacity - dst_sector * 512);
    must(c.source_sector <= src.capacity / 512 && bytes <= src.capacity - c.source_sector * 512);
    must((dst_sector * 512) % dst.sector_size == 0 && bytes % dst.sector_size == 0);
    must((c.source_sector * 512) % src.sector_size == 0);
    must(c.source_disk != dst_disk || c.source_sector + c.sectors <= dst_sector ||
         dst_sector + c.sectors <= c.source_sector);
    return 0;
}
