/* Merging a differencing disk into its parent, block by block, each block durable. */
#include "hv/storage/vhdx_internal.h"

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

#define MERGE_CHUNK (1024u * 1024u)

static int copy_range(struct vhdx *child, uint64_t off, uint64_t len, uint8_t *buf,
                      struct vhdx_err *err)
{
    while (len) {
        uint64_t n = len < MERGE_CHUNK ? len : MERGE_CHUNK;
        int rc = vhdx_read(child, off, buf, (size_t)n, err);
        if (!rc)
            rc = vhdx_write(child->parent, off, buf, (size_t)n, err);
        if (rc)
            return rc;
        off += n, len -= n;
    }
    return VHDX_OK;
}

static int merge_block(struct vhdx *child, uint32_t b, uint8_t *buf, struct vhdx_err *err)
{
    uint64_t off = (uint64_t)b * child->block_size, end = off + child->block_size;
    if (end > child->disk_size)
        end = child->disk_size;
    while (off < end) {
        bool present;
        uint64_t run;
        int rc = vhdx_layer_extent(child, off, end - off, &present, &run, err);
        if (!rc && present)
            rc = copy_range(child, off, run, buf, err);
        if (rc)
            return rc;
        off += run;
    }
    return vhdx_flush(child->parent, err);
}

int vhdx_merge_into_parent(struct vhdx *child, vhdx_progress_fn progress, void *ctx,
                           struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    if (!child->parent || child->parent->read_only)
        return vhdx_fail(err, VHDX_E_INVALID, "%s: merge needs the parent opened writable",
                         child->name);
    uint8_t *buf = vhdx_alloc(&child->env, MERGE_CHUNK);
    if (!buf)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", child->name);
    int rc = VHDX_OK;
    for (uint32_t b = 0; !rc && b < child->payload_blocks; b++) {
        rc = merge_block(child, b, buf, err);
        if (!rc && progress)
            progress(ctx, b, child->payload_blocks);
    }
    vhdx_free(&child->env, buf);
    return rc;
}
