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

#define LOCATOR_MAX (64u * 1024u)

/*
 * The locator at loc (len bytes, its entries checked at open) with parent_linkage2 = g2:
 * every other key and value kept as it is (keys this module does not know included).
 * Returns its length in out, or 0 when it would not fit in LOCATOR_MAX bytes.
 */
static uint32_t locator_with_linkage2(const uint8_t *loc, uint32_t len, const struct guid *g2,
                                      uint8_t *out)
{
    static const char key2[] = "parent_linkage2";
    char val2[GUID_STR_LEN + 1];
    guid_format(g2, val2);
    uint32_t n = le16(loc + 18), keep = 0;
    uint64_t bytes = 20 + 2 * (sizeof(key2) - 1) + 2 * GUID_STR_LEN;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = loc + 20 + 12 * i;
        if (vhdx_utf16_is(loc + le32(e), le16(e + 8), key2))
            continue;
        keep++;
        bytes += 12ull + le16(e + 8) + le16(e + 10);
    }
    bytes += 12;
    if (bytes > LOCATOR_MAX || keep + 1 > 0xffff)
        return 0;
    memcpy(out, loc, 18);                       /* the locator type and reserved field */
    put_le16(out + 18, (uint16_t)(keep + 1));
    uint32_t pos = 20 + 12 * (keep + 1), k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = loc + 20 + 12 * i;
        uint16_t kl = le16(e + 8), vl = le16(e + 10);
        if (vhdx_utf16_is(loc + le32(e), kl, key2))
            continue;
        uint8_t *o = out + 20 + 12 * k++;
        memcpy(out + pos, loc + le32(e), kl);
        put_le32(o, pos);
        pos += kl;
        memcpy(out + pos, loc + le32(e + 4), vl);
        put_le32(o + 4, pos);
        pos += vl;
        put_le16(o + 8, kl);
        put_le16(o + 10, vl);
    }
    uint8_t *o = out + 20 + 12 * k;
    put_le32(o, pos);
    uint32_t kl = vhdx_utf8_to_utf16(out + pos, key2);
    pos += kl;
    put_le32(o + 4, pos);
    uint32_t vl = vhdx_utf8_to_utf16(out + pos, val2);
    pos += vl;
    put_le16(o + 8, (uint16_t)kl);
    put_le16(o + 10, (uint16_t)vl);
    (void)len;
    return pos;
}

/* Whether [off, off+len) of the metadata region is free of every item but entry `self`. */
static bool meta_space_free(const uint8_t *tbl, uint32_t self, uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i < le16(tbl + 10); i++) {
        const uint8_t *e = tbl + 32 + 32 * i;
        if (i != self && vhdx_ranges_overlap(off, len, le32(e + 16), le32(e + 20)))
            return false;
    }
    return true;
}

/*
 * Gives the child's parent locator parent_linkage2 = g2 in neu (a copy of its metadata
 * region): in place when it fits there, else after the last item.  Every other item (user
 * metadata too) stays where it is.
 */
static int put_linkage2(struct vhdx *c, uint8_t *neu, const struct guid *g2, struct vhdx_err *err)
{
    uint32_t n = le16(neu + 10), self = n, end = VHDX_META_TABLE_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = neu + 32 + 32 * i;
        if (guid_eq((const struct guid *)e, &vhdx_guid_parent_locator) &&
            !(le32(e + 24) & VHDX_META_IS_USER))
            self = i;
        if (le32(e + 16) + le32(e + 20) > end)
            end = le32(e + 16) + le32(e + 20);
    }
    if (self == n)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: no parent locator to update", c->name);
    uint8_t *e = neu + 32 + 32 * self, *loc = vhdx_alloc(&c->env, LOCATOR_MAX);
    if (!loc)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", c->name);
    uint32_t at = le32(e + 16);
    uint32_t len = locator_with_linkage2(neu + at, le32(e + 20), g2, loc);
    if (len && !(at + len <= c->meta_len && meta_space_free(neu, self, at, len)))
        at = end;                               /* no room in place: after the last item */
    int rc = VHDX_OK;
    if (!len || len > VHDX_META_ITEM_MAX || at > c->meta_len || len > c->meta_len - at) {
        rc = vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: no room in the metadata region for a "
                       "parent locator with parent_linkage2", c->name);
    } else {
        memset(neu + le32(e + 16), 0, le32(e + 20));
        memcpy(neu + at, loc, len);
        put_le32(e + 16, at);
        put_le32(e + 20, len);
    }
    vhdx_free(&c->env, loc);
    return rc;
}

/* Rewrites the child's metadata region with parent_linkage2 = g2, atomically via its log. */
static int set_linkage2(struct vhdx *c, const struct guid *g2, struct vhdx_err *err)
{
    if (c->meta_len > 32 * VHDX_MIB)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: metadata region too large", c->name);
    uint8_t *old = vhdx_alloc(&c->env, c->meta_len), *neu = vhdx_alloc(&c->env, c->meta_len);
    int rc = old && neu ? VHDX_OK : vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", c->name);
    if (!rc)
        rc = vhdx_pread(c, c->meta_off, old, c->meta_len, err);
    if (!rc) {
        memcpy(neu, old, c->meta_len);
        rc = put_linkage2(c, neu, g2, err);
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
