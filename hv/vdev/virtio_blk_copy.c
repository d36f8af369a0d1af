/* Atoll's virtio-blk copy extension: the request's segment and its checks. */
#include "hv/vdev/virtio_blk_copy.h"

#define SECTOR 512u

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

const char *vblk_copy_decode(const uint8_t *seg, size_t len, struct vblk_copy *c)
{
    if (len != VIRTIO_BLK_COPY_SEG_BYTES)
        return "copy segment not 24 bytes";
    c->source_disk = (uint32_t)le(seg, 4);
    c->source_sector = le(seg + 8, 8);
    c->sectors = le(seg + 16, 8);
    if (le(seg + 4, 4))
        return "copy segment's reserved field not zero";
    if (c->sectors == 0)
        return "copy of no sectors";
    if (c->sectors > VIRTIO_BLK_COPY_MAX_BYTES / SECTOR)
        return "copy larger than 64 MiB";
    if (c->source_sector > UINT64_MAX / SECTOR)
        return "source sector out of range";
    return NULL;
}

/* Sector number and byte count on one disk: aligned and inside it. */
static bool range_ok(const struct vblk_copy_disk *d, uint64_t sector, uint64_t bytes)
{
    if (sector > d->capacity / SECTOR)
        return false;
    uint64_t off = sector * SECTOR;
    return off % d->sector_size == 0 && bytes % d->sector_size == 0 &&
           bytes <= d->capacity - off;
}

const char *vblk_copy_check(const struct vblk_copy *c, uint32_t dst_disk, uint64_t dst_sector,
                            const struct vblk_copy_disk *dst, bool dst_writable,
                            const struct vblk_copy_disk *src)
{
    if (!src)
        return "no such source disk";
    if (!dst_writable)
        return "copy to a read-only disk";
    if (src->sector_size != dst->sector_size)
        return "source and destination sector sizes differ";
    uint64_t bytes = c->sectors * SECTOR;
    if (!range_ok(dst, dst_sector, bytes))
        return "destination misaligned or beyond the end of the disk";
    if (!range_ok(src, c->source_sector, bytes))
        return "source misaligned or beyond the end of its disk";
    if (c->source_disk == dst_disk && c->source_sector < dst_sector + c->sectors &&
        dst_sector < c->source_sector + c->sectors)
        return "source and destination overlap";
    return NULL;
}
