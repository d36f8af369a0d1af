/*
 * FAT32 volume: boot sector checks, the FAT through a one-sector write-back cache that is
 * written to every FAT copy, cluster allocation and freeing, and the FSInfo free count.
 */
#include "hv/storage/fat32_internal.h"

#include <stdarg.h>
#include <string.h>
#include "hv/lib/format.h"

int fat_fail(struct fat_vol *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(v->err, sizeof(v->err), fmt, ap);
    va_end(ap);
    return status;
}

int fat_read_sectors(struct fat_vol *v, uint64_t lba, uint32_t n, void *buf)
{
    if (lba >= v->io.sectors || n > v->io.sectors - lba)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: sector %lu beyond the volume", (unsigned long)lba);
    if (v->io.read(v->io.ctx, lba, n, buf))
        return fat_fail(v, FAT_E_IO, "fat32: read error at sector %lu", (unsigned long)lba);
    return FAT_OK;
}

int fat_write_sectors(struct fat_vol *v, uint64_t lba, uint32_t n, const void *buf)
{
    if (lba >= v->io.sectors || n > v->io.sectors - lba)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: sector %lu beyond the volume", (unsigned long)lba);
    if (v->io.write(v->io.ctx, lba, n, buf))
        return fat_fail(v, FAT_E_IO, "fat32: write error at sector %lu", (unsigned long)lba);
    return FAT_OK;
}

uint64_t fat_cluster_sector(const struct fat_vol *v, uint32_t c)
{
    return v->data_start + (uint64_t)(c - 2) * v->sec_per_clus;
}

bool fat_cluster_valid(const struct fat_vol *v, uint32_t c)
{
    return c >= 2 && c - 2 < v->clusters;
}

uint32_t fat_now(const struct fat_vol *v)
{
    if (v->clock)
        return v->clock();
    return (uint32_t)(((2025 - 1980) << 9) | (1 << 5) | 1) << 16;
}

int fat_commit(struct fat_vol *v)
{
    if (!v->fat_dirty)
        return FAT_OK;
    for (uint32_t k = 0; k < v->fat_count; k++) {
        uint64_t lba = v->reserved + (uint64_t)k * v->fat_sectors + v->fat_buf_index;
        int rc = fat_write_sectors(v, lba, 1, v->fat_buf);
        if (rc)
            return rc;
    }
    v->fat_dirty = false;
    return FAT_OK;
}

int fat_barrier(struct fat_vol *v)
{
    int rc = fat_commit(v);
    if (rc)
        return rc;
    if (v->io.flush && v->io.flush(v->io.ctx))
        return fat_fail(v, FAT_E_IO, "fat32: flush failed");
    return FAT_OK;
}

static int fat_load(struct fat_vol *v, uint32_t c, uint8_t **entry)
{
    uint32_t index = c / (v->sector / 4);
    if (index != v->fat_buf_index) {
        int rc = fat_commit(v);
        if (rc)
            return rc;
        v->fat_buf_index = UINT32_MAX;
        rc = fat_read_sectors(v, v->reserved + index, 1, v->fat_buf);
        if (rc)
            return rc;
        v->fat_buf_index = index;
    }
    *entry = v->fat_buf + (c % (v->sector / 4)) * 4;
    return FAT_OK;
}

int fat_get(struct fat_vol *v, uint32_t c, uint32_t *val)
{
    uint8_t *e;
    if (!fat_cluster_valid(v, c))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: cluster %u out of range", c);
    int rc = fat_load(v, c, &e);
    if (!rc)
        *val = fat_le32(e) & FAT_MASK;
    return rc;
}

int fat_set(struct fat_vol *v, uint32_t c, uint32_t val)
{
    uint8_t *e;
    if (!fat_cluster_valid(v, c))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: cluster %u out of range", c);
    int rc = fat_load(v, c, &e);
    if (rc)
        return rc;
    fat_put32(e, (fat_le32(e) & ~FAT_MASK) | (val & FAT_MASK));
    v->fat_dirty = true;
    v->walk_valid = false;          /* a chain may have changed under the cursor */
    return FAT_OK;
}

int fat_next(struct fat_vol *v, uint32_t c, uint32_t *next)
{
    int rc = fat_get(v, c, next);
    if (rc)
        return rc;
    if (*next >= FAT_EOC)
        return FAT_OK;
    if (!fat_cluster_valid(v, *next))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: cluster %u links to bad cluster %#x", c, *next);
    return FAT_OK;
}

int fat_chain_at(struct fat_vol *v, uint32_t first, uint32_t idx, uint32_t *out)
{
    uint32_t c = first, i = 0;
    if (!fat_cluster_valid(v, c))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: chain starts at bad cluster %#x", c);
    /* Walks that go forward (a directory slot after slot) resume where the last one ended,
     * so a long chain costs linear time, not quadratic. */
    if (v->walk_valid && v->walk_first == first && v->walk_index <= idx) {
        i = v->walk_index;
        c = v->walk_cluster;
    }
    for (; i < idx; i++) {
        uint32_t n;
        int rc = fat_next(v, c, &n);
        if (rc)
            return rc;
        if (n >= FAT_EOC)
            return FAT_E_NOT_FOUND;
        c = n;
    }
    v->walk_valid = true;
    v->walk_first = first;
    v->walk_index = idx;
    v->walk_cluster = c;
    *out = c;
    return FAT_OK;
}

int fat_zero_cluster(struct fat_vol *v, uint32_t c)
{
    static const uint8_t zero[FAT_SECTOR_MAX * 8];
    uint64_t s = fat_cluster_sector(v, c);
    uint32_t per = (uint32_t)sizeof(zero) / v->sector;
    for (uint32_t done = 0; done < v->sec_per_clus;) {
        uint32_t n = v->sec_per_clus - done < per ? v->sec_per_clus - done : per;
        int rc = fat_write_sectors(v, s + done, n, zero);
        if (rc)
            return rc;
        done += n;
    }
    return FAT_OK;
}

static int find_free(struct fat_vol *v, uint32_t *out)
{
    if (!v->free_count)
        return fat_fail(v, FAT_E_NOSPC, "fat32: volume full");
    uint32_t c = fat_cluster_valid(v, v->next_free) ? v->next_free : 2;
    for (uint32_t i = 0; i < v->clusters; i++) {
        uint32_t val;
        int rc = fat_get(v, c, &val);
        if (rc)
            return rc;
        if (val == 0) {
            *out = c;
            v->next_free = c + 1;
            return FAT_OK;
        }
        c = fat_cluster_valid(v, c + 1) ? c + 1 : 2;
    }
    v->free_count = 0;
    return fat_fail(v, FAT_E_NOSPC, "fat32: volume full");
}

int fat_alloc_chain(struct fat_vol *v, uint32_t n, bool zero, uint32_t *first, uint32_t *last)
{
    uint32_t prev = 0;
    *first = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = 0;
        int rc = find_free(v, &c);
        if (!rc && zero)
            rc = fat_zero_cluster(v, c);
        if (!rc)
            rc = fat_set(v, c, FAT_EOC_MARK);
        if (!rc && prev)
            rc = fat_set(v, prev, c);
        if (rc) {
            if (*first) {
                fat_free_chain(v, *first);
                fat_commit(v);
            }
            return rc;
        }
        v->free_count--;
        v->fsinfo_dirty = true;
        if (!prev)
            *first = c;
        prev = c;
    }
    *last = prev;
    return fat_commit(v);
}

int fat_free_chain(struct fat_vol *v, uint32_t c)
{
    for (uint32_t steps = 0; fat_cluster_valid(v, c); steps++) {
        uint32_t n;
        if (steps > v->clusters)
            return fat_fail(v, FAT_E_CORRUPT, "fat32: cluster chain loops");
        int rc = fat_get(v, c, &n);
        if (!rc)
            rc = fat_set(v, c, 0);
        if (rc)
            return rc;
        v->free_count++;
        v->fsinfo_dirty = true;
        if (c < v->next_free)
            v->next_free = c;
        c = n;
    }
    return FAT_OK;
}

/* ---- mount --------------------------------------------------------------------------- */

static int check_boot_sector(struct fat_vol *v, const uint8_t *bs)
{
    uint16_t bps = fat_le16(bs + 11);
    uint8_t spc = bs[13];
    uint32_t total = fat_le16(bs + 19) ? fat_le16(bs + 19) : fat_le32(bs + 32);
    if (bs[510] != 0x55 || bs[511] != 0xaa || fat_le16(bs + 22) != 0 || fat_le32(bs + 36) == 0)
        return fat_fail(v, FAT_E_NOT_FAT32, "fat32: no FAT32 boot sector");
    if (bps != v->sector)
        return fat_fail(v, FAT_E_NOT_FAT32, "fat32: the volume's %u-byte sectors are not the "
                        "disk's %u", bps, v->sector);
    if (!spc || (spc & (spc - 1)) || spc > 128 || !fat_le16(bs + 14) || !bs[16] || bs[16] > 2 ||
        fat_le16(bs + 17) != 0 || fat_le16(bs + 42) != 0)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: boot sector fields out of range");
    v->sec_per_clus = spc;
    v->clus_bytes = spc * v->sector;
    v->reserved = fat_le16(bs + 14);
    v->fat_count = bs[16];
    v->fat_sectors = fat_le32(bs + 36);
    v->root_cluster = fat_le32(bs + 44);
    v->fsinfo_sector = fat_le16(bs + 48);
    if (total > v->io.sectors)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: volume (%u sectors) larger than its disk", total);
    uint64_t meta = v->reserved + (uint64_t)v->fat_count * v->fat_sectors;
    if (meta + spc > total)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: FATs larger than the volume");
    v->data_start = meta;
    uint64_t clusters = (total - meta) / spc;
    uint64_t fat_room = (uint64_t)v->fat_sectors * (v->sector / 4) - 2;
    if (clusters > fat_room)
        clusters = fat_room;
    if (clusters > 0x0ffffff5u - 2 || clusters < 1)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: cluster count out of range");
    v->clusters = (uint32_t)clusters;
    if (!fat_cluster_valid(v, v->root_cluster))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: root cluster %u out of range", v->root_cluster);
    if (v->fsinfo_sector == 0 || v->fsinfo_sector >= v->reserved)
        v->fsinfo_sector = 0;
    return FAT_OK;
}

static int count_free(struct fat_vol *v)
{
    uint8_t buf[FAT_SECTOR_MAX];
    uint32_t per_sector = v->sector / 4, per_read = sizeof(buf) / v->sector;
    uint32_t sectors = (uint32_t)(((uint64_t)v->clusters + 2 + per_sector - 1) / per_sector);
    v->free_count = 0;
    v->next_free = 0;
    for (uint32_t s = 0; s < sectors; s += per_read) {
        uint32_t n = sectors - s < per_read ? sectors - s : per_read;
        int rc = fat_read_sectors(v, v->reserved + s, n, buf);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < n * per_sector; i++) {
            uint32_t c = s * per_sector + i;
            if (fat_cluster_valid(v, c) && (fat_le32(buf + 4 * i) & FAT_MASK) == 0) {
                v->free_count++;
                if (!v->next_free)
                    v->next_free = c;
            }
        }
    }
    return FAT_OK;
}

int fat_mount(struct fat_vol *v, const struct block_io *io)
{
    memset(v, 0, sizeof(*v));
    v->io = *io;
    v->sector = io->sector_size;
    v->fat_buf_index = UINT32_MAX;
    v->dir_buf_sector = UINT64_MAX;
    if (v->sector < FAT_SECTOR_MIN || v->sector > FAT_SECTOR_MAX || (v->sector & (v->sector - 1)))
        return fat_fail(v, FAT_E_NOT_FAT32, "fat32: %u-byte disk sectors unsupported",
                        io->sector_size);
    int rc = fat_read_sectors(v, 0, 1, v->tmp);
    if (!rc)
        rc = check_boot_sector(v, v->tmp);
    if (!rc)
        rc = count_free(v);
    return rc;
}

static int write_fsinfo(struct fat_vol *v)
{
    uint8_t *s = v->tmp;
    if (!v->fsinfo_dirty || !v->fsinfo_sector)
        return FAT_OK;
    int rc = fat_read_sectors(v, v->fsinfo_sector, 1, s);
    if (rc)
        return rc;
    if (fat_le32(s) == 0x41615252 && fat_le32(s + 484) == 0x61417272) {
        fat_put32(s + 488, v->free_count);
        fat_put32(s + 492, v->next_free);
        rc = fat_write_sectors(v, v->fsinfo_sector, 1, s);
    }
    v->fsinfo_dirty = false;
    return rc;
}

int fat_sync(struct fat_vol *v)
{
    int rc = fat_commit(v);
    if (!rc)
        rc = write_fsinfo(v);
    if (!rc)
        rc = fat_barrier(v);
    return rc;
}

uint64_t fat_total_bytes(const struct fat_vol *v) { return (uint64_t)v->clusters * v->clus_bytes; }
uint64_t fat_free_bytes(const struct fat_vol *v) { return (uint64_t)v->free_count * v->clus_bytes; }

const char *fat_status_name(int status)
{
    static const char *const names[] = {
        "ok", "I/O error", "corrupt volume", "not found", "already exists", "no space",
        "invalid argument", "not a directory", "is a directory", "directory not empty",
        "file too big", "not FAT32",
    };
    unsigned i = (unsigned)-status;
    return status <= 0 && i < sizeof(names) / sizeof(names[0]) ? names[i] : "unknown error";
}
