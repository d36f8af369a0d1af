/*
 * Merging a differencing disk into its parent, crash-safe and resumable:
 *   1. the child's parent locator gains parent_linkage2 = G, a fresh GUID (through the
 *      child's log);
 *   2. the parent's DataWriteGuid becomes G (a header update): siblings of the child see a
 *      changed parent from here on, the child still accepts it through parent_linkage2;
 *   3. every sector the child holds is copied into the parent (through the parent's log).
 * The child's view never changes (a merged sector equals the child's), so a cut at any
 * point leaves the chain whole; once step 3 is flushed the parent alone is the merged disk.
 * Opening a child whose parent_linkage2 is its parent's DataWriteGuid resumes at step 3.
 */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

#define MERGE_CHUNK (1024u * 1024u)

/* A parent locator with both linkages and the child's paths; returns its length. */
static uint32_t build_locator2(const struct vhdx *c, const struct guid *g2, uint8_t *loc)
{
    char l1[GUID_STR_LEN + 1], l2[GUID_STR_LEN + 1];
    guid_format(&c->parent_linkage, l1);
    guid_format(g2, l2);
    static const char *const keys[5] = { "parent_linkage", "parent_linkage2", "relative_path",
                                         "volume_path", "absolute_win32_path" };
    const char *vals[5] = { l1, l2, c->parent_rel, c->parent_vol, c->parent_abs };
    return vhdx_put_locator(loc, keys, vals, 5);
}

/* Rewrites the child's metadata region with parent_linkage2 = g2, atomically via its log. */
static int set_linkage2(struct vhdx *c, const struct guid *g2, struct vhdx_err *err)
{
    if (c->meta_len > 32 * VHDX_MIB)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: metadata region too large", c->name);
    if (c->meta_unknown)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: its metadata region holds %u item(s) "
                         "this module does not know (user metadata?); rewriting the parent "
                         "locator for the merge would drop them", c->name, c->meta_unknown);
    uint8_t *old = vhdx_alloc(&c->env, c->meta_len), *neu = vhdx_alloc(&c->env, c->meta_len);
    int rc = old && neu ? VHDX_OK : vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", c->name);
    if (!rc)
        rc = vhdx_pread(c, c->meta_off, old, c->meta_len, err);
    if (!rc) {
        vhdx_build_metadata(neu, c->meta_len, c->block_size, true, c->disk_size, &c->disk_id,
                            c->lss, c->pss, &c->parent_linkage, c->parent_rel, c->parent_abs);
        if (c->leave_allocated)
            vhdx_put32(neu + VHDX_META_TABLE_SIZE + 4,
                       VHDX_FP_HAS_PARENT | VHDX_FP_LEAVE_ALLOCATED);
        uint8_t *e = neu + 32 + 32 * (vhdx_le16(neu + 10) - 1); /* the locator is last */
        uint32_t at = vhdx_le32(e + 16);
        memset(neu + at, 0, vhdx_le32(e + 20));
        vhdx_put32(e + 20, build_locator2(c, g2, neu + at));
    }
    struct vhdx_txn t = { 0 };
    for (uint32_t s = 0; !rc && s < c->meta_len / VHDX_LOG_SECTOR; s++) {
        uint32_t o = s * VHDX_LOG_SECTOR;
        if (memcmp(old + o, neu + o, VHDX_LOG_SECTOR) == 0)
            continue;
        if (t.n == VHDX_TXN_MAX)
            rc = vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: metadata layout too scattered to "
                           "rewrite in one log entry", c->name);
        else
            vhdx_txn_add(&t, c->meta_off + o, neu + o);
    }
    if (!rc)
        rc = vhdx_begin_change(c, false, err);
    if (!rc && t.n)
        rc = vhdx_log_commit(c, &t, err);
    if (!rc)
        rc = vhdx_sync(c, err);
    if (!rc)
        c->parent_linkage2 = *g2, c->has_linkage2 = true;
    vhdx_free(&c->env, old);
    vhdx_free(&c->env, neu);
    return rc;
}

bool vhdx_merge_in_progress(const struct vhdx *child)
{
    return child->parent && child->has_linkage2 &&
           guid_eq(&child->parent->hdr.data_write, &child->parent_linkage2) &&
           !guid_eq(&child->parent->hdr.data_write, &child->parent_linkage);
}

int vhdx_merge_begin(struct vhdx *child, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    struct vhdx *p = child->parent;
    if (!p || p->read_only)
        return vhdx_fail(err, VHDX_E_INVALID, "%s: merge needs the parent opened writable",
                         child->name);
    struct guid g;
    bool resuming = vhdx_merge_in_progress(child);
    if (resuming) {
        g = p->hdr.data_write;
    } else {
        if (child->read_only)
            return vhdx_fail(err, VHDX_E_READ_ONLY, "%s: merge needs the child writable (its "
                             "parent locator gains parent_linkage2)", child->name);
        child->env.random_guid(child->env.ctx, &g);
        int rc = set_linkage2(child, &g, err);
        if (rc)
            return rc;
    }
    int rc = vhdx_begin_change(p, false, err);
    if (rc)
        return rc;
    p->hdr.data_write = g;
    p->data_guid_new = true; /* the parent's writes keep G: the child keeps accepting it */
    return resuming ? VHDX_OK : vhdx_update_header(p, err);
}

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

int vhdx_merge_range(struct vhdx *child, uint64_t off, uint64_t len, uint8_t *buf,
                     uint64_t *copied, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    uint64_t end = off + len;
    if (end > child->disk_size)
        end = child->disk_size;
    while (off < end) {
        bool present;
        uint64_t run;
        int rc = vhdx_layer_extent(child, off, end - off, &present, &run, err);
        if (!rc && present) {
            rc = copy_range(child, off, run, buf, err);
            if (copied)
                *copied += run;
        }
        if (rc)
            return rc;
        off += run;
    }
    return VHDX_OK;
}

int vhdx_merge_into_parent(struct vhdx *child, vhdx_progress_fn progress, void *ctx,
                           struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = vhdx_merge_begin(child, err);
    if (rc)
        return rc;
    uint8_t *buf = vhdx_alloc(&child->env, MERGE_CHUNK);
    if (!buf)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", child->name);
    for (uint32_t b = 0; !rc && b < child->payload_blocks; b++) {
        rc = vhdx_merge_range(child, (uint64_t)b * child->block_size, child->block_size, buf,
                              NULL, err);
        if (!rc)
            rc = vhdx_flush(child->parent, err);
        if (!rc && progress)
            progress(ctx, b, child->payload_blocks);
    }
    vhdx_free(&child->env, buf);
    return rc;
}
