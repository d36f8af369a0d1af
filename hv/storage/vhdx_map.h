/*
 * Where a range of a VHDX's virtual disk lies in its file, for callers that move the data
 * themselves (the pool's queued transfers, hv/storage/pool_io.h).  Portable.
 */
#ifndef ATOLL_HV_STORAGE_VHDX_MAP_H
#define ATOLL_HV_STORAGE_VHDX_MAP_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/storage/vhdx.h"

/* A run of the virtual disk: bytes at file_off in the image file, or zeros. */
struct vhdx_span {
    uint64_t file_off;
    uint32_t len;
    bool zero;
};

/*
 * [off, off + len) of d as at most max spans (out, *count).  Only what needs no change to
 * the image's metadata maps: a read of fully present blocks, of blocks that read as zero
 * (no parent below them); a write of fully present blocks only (after the image is marked
 * changing, as vhdx_write does first).  Anything else (allocation, sector bitmaps, a
 * parent's data) is VHDX_E_UNSUPPORTED: vhdx_read and vhdx_write do it.  A span stays
 * valid until that block is trimmed.
 */
int vhdx_map(struct vhdx *d, uint64_t off, uint64_t len, bool write, struct vhdx_span *out,
             unsigned max, unsigned *count, struct vhdx_err *err);

#endif
