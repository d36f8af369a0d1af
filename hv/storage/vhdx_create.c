/* Creating dynamic and differencing images. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

struct layout {
    uint64_t disk_size;
    uint32_t block_size, lss, pss, log_size, bat_len;
    uint64_t log_off, meta_off, bat_off, file_size;
    struct guid disk_id, linkage;
    bool has_parent;
    struct vhdx *parent;
    const char *rel, *abs;
};

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi && !(v & (v - 1));
}

static int fill_from_params(const struct vhdx_env *env, const struct vhdx_create_params *p,
                            struct layout *l, struct vhdx_err *err)
{
    const struct vhdx *parent = p->parent;
    l->has_parent = parent != NULL;
    l->parent = p->parent;
    l->disk_size = parent ? parent->disk_size : p->disk_size;
    l->lss = parent ? parent->lss : (p->logical_sector_size ? p->logical_sector_size : 512);
    l->pss = parent ? parent->pss : (p->physical_sector_size ? p->physical_sector_size : 4096);
    l->block_size = p->block_size ? p->block_size : (parent ? 2 * VHDX_MIB : 32 * VHDX_MIB);
    l->log_size = p->log_size ? p->log_size : VHDX_MIB;
    l->rel = p->parent_relative_path;
    l->abs = p->parent_absolute_path;
    if (parent) {
        l->disk_id = parent->disk_id; /* virtual-disk metadata is inherited when forking */
        l->linkage = parent->hdr.data_write;
        if ((!l->rel || !l->rel[0]) && (!l->abs || !l->abs[0]))
            return vhdx_fail(err, VHDX_E_INVALID, "a differencing disk needs a parent path");
        if ((l->rel && strlen(l->rel) >= VHDX_PATH_MAX) ||
            (l->abs && strlen(l->abs) >= VHDX_PATH_MAX))
            return vhdx_fail(err, VHDX_E_INVALID, "parent path longer than %u characters",
                             VHDX_PATH_MAX - 1);
        if ((l->rel && !vhdx_utf8_valid(l->rel)) || (l->abs && !vhdx_utf8_valid(l->abs)))
            return vhdx_fail(err, VHDX_E_INVALID, "parent path is not valid UTF-8 (the "
                             "locator stores UTF-16)");
    } else {
        env->random_guid(env->ctx, &l->disk_id);
    }
    if (l->lss != 512 && l->lss != 4096)
        return vhdx_fail(err, VHDX_E_INVALID, "logical sector size %u: use 512 or 4096", l->lss);
    if (l->pss != 512 && l->pss != 4096)
        return vhdx_fail(err, VHDX_E_INVALID, "physical sector size %u: use 512 or 4096",
                         l->pss);
    if (l->disk_size == 0 || l->disk_size % l->lss || l->disk_size > VHDX_MAX_DISK_SIZE)
        return vhdx_fail(err, VHDX_E_INVALID, "disk size %llu: a multiple of %u up to 64 TiB",
                         (unsigned long long)l->disk_size, l->lss);
    if (!pow2_in(l->block_size, VHDX_MIN_BLOCK, VHDX_MAX_BLOCK))
        return vhdx_fail(err, VHDX_E_INVALID, "block size %u: a power of two, 1 to 256 MiB",
                         l->block_size);
    if (l->log_size % VHDX_MIB || l->log_size > VHDX_LOG_MAX)
        return vhdx_fail(err, VHDX_E_INVALID, "log size %u: a multiple of 1 MiB up to 64 MiB",
                         l->log_size);
    return VHDX_OK;
}

static void place_regions(struct layout *l)
{
    struct vhdx g = { 0 };
    g.disk_size = l->disk_size, g.block_size = l->block_size, g.lss = l->lss;
    g.has_parent = l->has_parent;
    vhdx_geometry(&g);
    uint64_t bat = (uint64_t)g.bat_entries * 8;
    l->bat_len = (uint32_t)((bat + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB);
    l->log_off = VHDX_MIB;
    l->meta_off = l->log_off + l->log_size;
    l->bat_off = l->meta_off + VHDX_MIB;
    l->file_size = l->bat_off + l->bat_len;
}

static void encode_region_table(const struct layout *l, uint8_t *buf)
{
    memset(buf, 0, VHDX_REGION_SIZE);
    put_le32(buf, VHDX_SIG_REGI);
    put_le32(buf + 8, 2);
    uint8_t *e = buf + 16;
    memcpy(e, vhdx_guid_bat_region.b, 16);
    put_le64(e + 16, l->bat_off);
    put_le32(e + 24, l->bat_len);
    put_le32(e + 28, 1);
    e += 32;
    memcpy(e, vhdx_guid_metadata_region.b, 16);
    put_le64(e + 16, l->meta_off);
    put_le32(e + 24, VHDX_MIB);
    put_le32(e + 28, 1);
    put_le32(buf + 4, vhdx_checksum(buf, VHDX_REGION_SIZE, 4));
}

static void encode_file_id(uint8_t *buf)
{
    static const char creator[] = "Atoll VHDX";
    memset(buf, 0, VHDX_HEADER_SIZE);
    put_le64(buf, VHDX_SIG_FILE);
    for (size_t i = 0; creator[i]; i++)
        put_le16(buf + 8 + 2 * i, (uint8_t)creator[i]);
}

static int write_all(const struct vhdx_env *env, const struct vhdx_io *io, const struct layout *l,
                     uint8_t *buf, struct vhdx_err *err)
{
    struct vhdx_header h = { 0 };
    env->random_guid(env->ctx, &h.file_write);
    env->random_guid(env->ctx, &h.data_write);
    h.version = 1;
    h.log_len = l->log_size;
    h.log_off = l->log_off;
    int rc = io->resize(io->ctx, 0) < 0 || io->resize(io->ctx, l->file_size) < 0;
    encode_file_id(buf);
    rc = rc || io->write(io->ctx, VHDX_FILE_ID_OFF, buf, VHDX_HEADER_SIZE) < 0;
    for (int i = 0; i < 2; i++) {
        h.seq = (uint64_t)i + 1;
        vhdx_encode_header(&h, buf);
        rc = rc || io->write(io->ctx, i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF, buf,
                             VHDX_HEADER_SIZE) < 0;
    }
    encode_region_table(l, buf);
    rc = rc || io->write(io->ctx, VHDX_REGION1_OFF, buf, VHDX_REGION_SIZE) < 0;
    rc = rc || io->write(io->ctx, VHDX_REGION2_OFF, buf, VHDX_REGION_SIZE) < 0;
    memset(buf, 0, VHDX_MIB);
    size_t used = vhdx_build_metadata(buf, VHDX_MIB, l->block_size, l->has_parent, l->disk_size,
                                      &l->disk_id, l->lss, l->pss, &l->linkage, l->rel, l->abs);
    if (!rc && l->parent) {
        int crc = vhdx_copy_vdisk_items(l->parent, buf, VHDX_MIB, &used, err);
        if (crc)
            return crc;
    }
    rc = rc || io->write(io->ctx, l->meta_off, buf, used) < 0;
    rc = rc || io->flush(io->ctx) < 0;
    return rc ? vhdx_fail(err, VHDX_E_IO, "writing the new image failed") : VHDX_OK;
}

int vhdx_create(const struct vhdx_env *env, const struct vhdx_io *io,
                const struct vhdx_create_params *p, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    struct layout l = { 0 };
    int rc = fill_from_params(env, p, &l, err);
    if (rc)
        return rc;
    place_regions(&l);
    uint8_t *buf = vhdx_alloc(env, VHDX_MIB);
    if (!buf)
        return vhdx_fail(err, VHDX_E_NOMEM, "out of memory");
    rc = write_all(env, io, &l, buf, err);
    vhdx_free(env, buf);
    return rc;
}
