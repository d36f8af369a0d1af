/* Opening and closing an image and its parent chain; the identity check of the chain. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

static void free_disk(struct vhdx *d)
{
    const struct vhdx_env env = d->env;
    if (d->bitmaps)
        for (uint32_t i = 0; i < d->bitmap_blocks; i++)
            vhdx_free(&env, d->bitmaps[i]);
    vhdx_free(&env, d->bitmaps);
    vhdx_log_overlay_free(d);
    vhdx_free(&env, d->bat);
    vhdx_free(&env, d);
}

static void close_parent(struct vhdx *d)
{
    if (d->parent)
        vhdx_close(d->parent, NULL);
    if (d->parent_io_open && d->env.close_parent)
        d->env.close_parent(d->env.ctx, &d->parent_io);
    d->parent = NULL;
    d->parent_io_open = false;
}

static int check_linkage(struct vhdx *d, struct vhdx_err *err)
{
    const struct vhdx *p = d->parent;
    if (guid_eq(&p->hdr.data_write, &d->parent_linkage) ||
        (d->has_linkage2 && guid_eq(&p->hdr.data_write, &d->parent_linkage2))) {
        if (p->disk_size != d->disk_size || p->lss != d->lss)
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent '%s' has size %llu/sector %u, "
                             "the child %llu/%u", d->name, p->name,
                             (unsigned long long)p->disk_size, p->lss,
                             (unsigned long long)d->disk_size, d->lss);
        return VHDX_OK;
    }
    char want[GUID_STR_LEN + 1], have[GUID_STR_LEN + 1];
    guid_format(&d->parent_linkage, want);
    guid_format(&p->hdr.data_write, have);
    return vhdx_fail(err, VHDX_E_STALE_PARENT,
                     "stale parent: child '%s' records parent_linkage %s but parent '%s' has "
                     "DataWriteGuid %s (the parent changed after the child was made)",
                     d->name, want, p->name, have);
}

static int open_parent(struct vhdx *d, unsigned flags, struct vhdx_err *err)
{
    if (!d->env.open_parent)
        return vhdx_fail(err, VHDX_E_NO_PARENT, "%s: differencing disk, but no parent can be "
                         "opened here", d->name);
    bool rw = flags & VHDX_OPEN_PARENT_RW;
    /* relative_path, then absolute_win32_path, then volume_path (as an absolute path) */
    if (d->env.open_parent(d->env.ctx, d->name, d->parent_rel, d->parent_abs, rw,
                           &d->parent_io, d->parent_name, sizeof(d->parent_name)) < 0 &&
        (!d->parent_vol[0] ||
         d->env.open_parent(d->env.ctx, d->name, "", d->parent_vol, rw, &d->parent_io,
                            d->parent_name, sizeof(d->parent_name)) < 0))
        return vhdx_fail(err, VHDX_E_NO_PARENT, "%s: cannot open its parent (relative_path "
                         "'%s', absolute_win32_path '%s', volume_path '%s')", d->name,
                         d->parent_rel, d->parent_abs, d->parent_vol);
    d->parent_io_open = true;
    int rc = vhdx_open(&d->env, &d->parent_io, d->parent_name,
                       rw ? 0 : VHDX_OPEN_READ_ONLY, &d->parent, err);
    if (!rc)
        rc = check_linkage(d, err);
    if (rc)
        close_parent(d);
    return rc;
}

static int open_steps(struct vhdx *d, unsigned flags, struct vhdx_err *err)
{
    /* The log may update the region tables: they are read after it is replayed. */
    int rc = vhdx_read_headers(d, err);
    if (!rc)
        rc = vhdx_log_replay(d, err);
    if (!rc)
        rc = vhdx_read_regions(d, err);
    if (!rc)
        rc = vhdx_read_metadata(d, err);
    if (!rc)
        rc = vhdx_bat_load(d, err);
    if (!rc && d->has_parent && !(flags & VHDX_OPEN_NO_PARENT))
        rc = open_parent(d, flags, err);
    return rc;
}

int vhdx_open(const struct vhdx_env *env, const struct vhdx_io *io, const char *name,
              unsigned flags, struct vhdx **out, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    *out = NULL;
    struct vhdx *d = vhdx_alloc(env, sizeof(*d));
    if (!d)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", name);
    d->env = *env;
    d->io = *io;
    d->read_only = flags & VHDX_OPEN_READ_ONLY;
    size_t n = strnlen(name, sizeof(d->name) - 1);
    memcpy(d->name, name, n);
    if (io->size(io->ctx) < 2 * VHDX_MIB) {
        vhdx_free(env, d);
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: too small to be a VHDX file", name);
    }
    int rc = open_steps(d, flags, err);
    if (rc) {
        close_parent(d);
        free_disk(d);
        return rc;
    }
    *out = d;
    return VHDX_OK;
}

int vhdx_close(struct vhdx *d, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = VHDX_OK;
    if (!d)
        return rc;
    if (!d->read_only && d->file_guid_new) {
        rc = vhdx_sync(d, err);
        if (!rc && !d->broken) {
            /* Everything is in place: the log is empty from now on. */
            memset(&d->hdr.log_guid, 0, sizeof(d->hdr.log_guid));
            rc = vhdx_update_header(d, err);
        }
    }
    close_parent(d);
    free_disk(d);
    return rc;
}

struct vhdx *vhdx_parent(const struct vhdx *d)
{
    return d->parent;
}

static void count_blocks(const struct vhdx *d, struct vhdx_info *o)
{
    for (uint32_t i = 0; i < d->bat_entries; i++) {
        unsigned st = VHDX_BAT_STATE(vhdx_bat_get(d, i));
        if (i % (d->chunk_ratio + 1) == d->chunk_ratio)
            o->bitmap_blocks_present += st == VHDX_SB_PRESENT;
        else if (st == VHDX_PB_FULLY_PRESENT || st == VHDX_PB_PARTIALLY_PRESENT)
            o->blocks_present++;
        else if (st == VHDX_PB_ZERO)
            o->blocks_zero++;
    }
}

void vhdx_get_info(const struct vhdx *d, struct vhdx_info *o)
{
    memset(o, 0, sizeof(*o));
    o->disk_size = d->disk_size;
    o->file_size = vhdx_file_size(d);
    o->block_size = d->block_size;
    o->logical_sector_size = d->lss;
    o->physical_sector_size = d->pss;
    o->chunk_ratio = d->chunk_ratio;
    o->payload_blocks = d->payload_blocks;
    count_blocks(d, o);
    o->log_entries_replayed = d->replayed;
    o->has_parent = d->has_parent;
    o->read_only = d->read_only;
    o->header_sequence = d->hdr.seq;
    o->log_length = d->hdr.log_len;
    o->log_offset = d->hdr.log_off;
    o->file_write_guid = d->hdr.file_write;
    o->data_write_guid = d->hdr.data_write;
    o->log_guid = d->hdr.log_guid;
    o->virtual_disk_id = d->disk_id;
    o->parent_linkage = d->parent_linkage;
    memcpy(o->parent_relative_path, d->parent_rel, sizeof(o->parent_relative_path));
    memcpy(o->parent_absolute_path, d->parent_abs, sizeof(o->parent_absolute_path));
    memcpy(o->parent_volume_path, d->parent_vol, sizeof(o->parent_volume_path));
    if (d->parent)
        memcpy(o->parent_name, d->parent_name, sizeof(o->parent_name));
}
