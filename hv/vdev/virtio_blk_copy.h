/*
 * Atoll's virtio-blk copy extension: a guest copies a range of one of its disks to
 * another without the data passing through its memory (issue 15, Deliver 4; the contract
 * is in hv/offload/TOKEN.md, "The guest side").
 *
 * Feature bit VIRTIO_BLK_F_ATOLL_COPY (23, device-specific range) and request type
 * VIRTIO_BLK_T_ATOLL_COPY: the usual 16-byte header (its sector: the destination's first
 * 512-byte sector on the disk the request is sent to), one device-readable 24-byte
 * segment, then the status byte.  The segment, little-endian:
 *     u32 source_disk   the partition's disk number (manifest order), this disk included
 *     u32 reserved      zero
 *     u64 source_sector first 512-byte sector of the source
 *     u64 sectors       512-byte sectors to copy, > 0
 *
 * Portable: the decoder and the checks a device and its backend make; hostile input
 * gives a reason (one line), never a crash.
 */
#ifndef ATOLL_HV_VDEV_VIRTIO_BLK_COPY_H
#define ATOLL_HV_VDEV_VIRTIO_BLK_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_BLK_F_ATOLL_COPY   (1ull << 23)
#define VIRTIO_BLK_T_ATOLL_COPY   0x41540001u     /* "AT" 0001 */
#define VIRTIO_BLK_COPY_SEG_BYTES 24u
#define VIRTIO_BLK_COPY_MAX_BYTES (64ull << 20)   /* one request, as a read or write */

struct vblk_copy {
    uint32_t source_disk;
    uint64_t source_sector, sectors;
};

/* Decodes the segment; NULL, or why it is refused (reserved bytes, no sectors, more than
 * VIRTIO_BLK_COPY_MAX_BYTES, a sector number whose byte offset overflows). */
const char *vblk_copy_decode(const uint8_t *seg, size_t len, struct vblk_copy *c);

/* One disk as the checks see it. */
struct vblk_copy_disk {
    uint64_t capacity;      /* bytes */
    uint32_t sector_size;   /* 512 or 4096 */
};

/*
 * The whole request against the disks: the destination `dst` (disk number dst_disk,
 * first sector dst_sector), the source `src` (NULL: c->source_disk is no disk of the
 * partition) and whether the destination is writable.  NULL, or why it is refused: no
 * such source disk, a read-only destination, sector sizes that differ, a range
 * misaligned or past either disk's end, or source and destination overlapping on one
 * disk.
 */
const char *vblk_copy_check(const struct vblk_copy *c, uint32_t dst_disk, uint64_t dst_sector,
                            const struct vblk_copy_disk *dst, bool dst_writable,
                            const struct vblk_copy_disk *src);

#endif
