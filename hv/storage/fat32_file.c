/*
 * FAT32 files: open and create, read, write (growing the chain as needed), truncate both
 * ways, and the directory-entry update that makes a new size visible.  A file's new
 * clusters are committed to the FAT before anything links them, and its directory entry
 * is written only after its data (fat_flush).
 */
#include "hv/storage/fat32_internal.h"
#include "hv/storage/pool_write_observer.h"

#include <string.h>

#define FAT_MAX_SIZE 0xffffffffull

static void file_from_entry(struct fat_file *f, struct fat_vol *v, const struct fat_found *fd)
{
    memset(f, 0, sizeof(*f));
    f->v = v;
    f->first_cluster = fat_ent_cluster(fd->ent);
    f->size = fat_le32(fd->ent + 28);
    f->is_dir = fd->ent[11] & ATTR_DIR;
    f->dirent_sector = fd->shortent.sector;
    f->dirent_off = fd->shortent.off;
    if (f->is_dir) {
        f->size = 0;
        if (!f->first_cluster)
            f->first_cluster = v->root_cluster;
    }
}

static int create(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
                  struct fat_file *f)
{
    struct fat_slot slot;
    int rc = fat_dir_add(v, dir, name, len, ATTR_ARCHIVE, 0, 0, &slot);
    if (rc)
        return rc;
    memset(f, 0, sizeof(*f));
    f->v = v;
    f->dirent_sector = slot.sector;
    f->dirent_off = slot.off;
    return FAT_OK;
}

int fat_open(struct fat_vol *v, const char *path, unsigned flags, struct fat_file *f)
{
    uint32_t dir;
    const char *name;
    size_t len;
    struct fat_found fd;
    int rc = fat_resolve_parent(v, path, &dir, &name, &len);
    if (rc)
        return rc;
    if (len == 0) {
        memset(f, 0, sizeof(*f));
        f->v = v;
        f->is_dir = true;
        f->first_cluster = v->root_cluster;
        return FAT_OK;
    }
    if (flags & FAT_O_TRUNC)
        pool_write_note(POOL_WRITE_FILE, path, 0, POOL_WRITE_ALL);
    rc = fat_dir_lookup(v, dir, name, len, &fd);
    if (rc == FAT_E_NOT_FOUND && (flags & FAT_O_CREATE))
        return create(v, dir, name, len, f);
    if (rc == FAT_E_NOT_FOUND)
        return fat_fail(v, rc, "fat32: '%s' not found", path);
    if (rc)
        return rc;
    if ((flags & FAT_O_CREATE) && (flags & FAT_O_EXCL))
        return fat_fail(v, FAT_E_EXISTS, "fat32: '%s' already exists", path);
    file_from_entry(f, v, &fd);
    if (f->first_cluster && !fat_cluster_valid(v, f->first_cluster))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: '%s' starts at bad cluster", path);
    if ((flags & FAT_O_TRUNC) && !f->is_dir)
        return fat_truncate(f, 0);
    return FAT_OK;
}

/* Appends n fresh clusters after last (0: the file has none yet). */
static int grow(struct fat_file *f, uint32_t last, uint32_t n, uint32_t *first_new)
{
    struct fat_vol *v = f->v;
    uint32_t first, end;
    int rc = fat_alloc_chain(v, n, false, &first, &end);
    if (rc)
        return rc;
    if (last) {
        rc = fat_set(v, last, first);
        if (!rc)
            rc = fat_commit(v);
    } else {
        f->first_cluster = first;
    }
    f->dirty = true;
    *first_new = first;
    return rc;
}

/* The cluster at chain index idx; grows the chain when allowed. */
static int cluster_at(struct fat_file *f, uint32_t idx, bool allocate, uint32_t *out)
{
    struct fat_vol *v = f->v;
    if (!f->first_cluster) {
        if (!allocate)
            return fat_fail(v, FAT_E_CORRUPT, "fat32: file data beyond its chain");
        int rc = grow(f, 0, idx + 1, out);
        if (rc)
            return rc;
        f->pos_index = 0;
        f->pos_cluster = f->first_cluster;
    }
    if (!f->pos_cluster || f->pos_index > idx) {
        f->pos_index = 0;
        f->pos_cluster = f->first_cluster;
    }
    while (f->pos_index < idx) {
        uint32_t n;
        int rc = fat_next(v, f->pos_cluster, &n);
        if (rc)
            return rc;
        if (n >= FAT_EOC) {
            if (!allocate)
                return fat_fail(v, FAT_E_CORRUPT, "fat32: chain shorter than the file size");
            rc = grow(f, f->pos_cluster, idx - f->pos_index, &n);
            if (rc)
                return rc;
        }
        f->pos_cluster = n;
        f->pos_index++;
    }
    *out = f->pos_cluster;
    return FAT_OK;
}

/*
 * Whole clusters following c in the chain that also follow it on disk, up to `sectors`
 * (from byte off, a cluster boundary): one I/O can cover them.  Advances the position.
 */
static uint32_t contiguous_sectors(struct fat_file *f, uint32_t c, uint64_t off,
                                   size_t sectors, bool write)
{
    struct fat_vol *v = f->v;
    uint32_t got = 0;
    while (sectors - got >= v->sec_per_clus && got < 1024) {
        uint32_t next;
        if (cluster_at(f, (uint32_t)(off / v->clus_bytes), write, &next) || next != c + 1)
            break;
        c = next;
        got += v->sec_per_clus;
        off += v->clus_bytes;
    }
    return got;
}

/* Reads or writes [off, off + len) inside the chain, a cluster (or a run of them) at a time. */
static int transfer(struct fat_file *f, uint64_t off, uint8_t *buf, size_t len, bool write)
{
    struct fat_vol *v = f->v;
    while (len) {
        uint32_t c, in = (uint32_t)(off % v->clus_bytes);
        int rc = cluster_at(f, (uint32_t)(off / v->clus_bytes), write, &c);
        if (rc)
            return rc;
        uint64_t lba = fat_cluster_sector(v, c) + in / v->sector;
        uint32_t in_sec = in % v->sector;
        size_t n;
        if (in_sec || len < v->sector) {
            n = v->sector - in_sec < len ? v->sector - in_sec : len;
            rc = fat_read_sectors(v, lba, 1, v->tmp);
            if (!rc && write) {
                memcpy(v->tmp + in_sec, buf, n);
                rc = fat_write_sectors(v, lba, 1, v->tmp);
            } else if (!rc) {
                memcpy(buf, v->tmp + in_sec, n);
            }
        } else {
            uint32_t secs = (uint32_t)((v->clus_bytes - in) / v->sector);
            if (secs > len / v->sector)
                secs = (uint32_t)(len / v->sector);
            secs += contiguous_sectors(f, c, off + (uint64_t)secs * v->sector,
                                       len / v->sector - secs, write);
            n = (size_t)secs * v->sector;
            rc = write ? fat_write_sectors(v, lba, secs, buf) : fat_read_sectors(v, lba, secs, buf);
        }
        if (rc)
            return rc;
        buf += n;
        off += n;
        len -= n;
    }
    return FAT_OK;
}

int fat_map(struct fat_file *f, uint64_t off, uint64_t len, struct fat_extent *out,
            unsigned max, unsigned *count)
{
    struct fat_vol *v = f->v;
    *count = 0;
    if (f->is_dir || !len || off % v->sector || len % v->sector || off > f->size ||
        len > f->size - off)
        return FAT_E_INVALID;
    unsigned n = 0;
    while (len) {
        uint32_t c, in = (uint32_t)(off % v->clus_bytes);
        int rc = cluster_at(f, (uint32_t)(off / v->clus_bytes), false, &c);
        if (rc)
            return rc;
        uint64_t run = v->clus_bytes - in < len ? v->clus_bytes - in : len;
        uint64_t lba = fat_cluster_sector(v, c) + in / v->sector;
        uint32_t secs = (uint32_t)(run / v->sector);
        if (n && out[n - 1].lba + out[n - 1].sectors == lba &&
            out[n - 1].sectors <= UINT32_MAX - secs) {
            out[n - 1].sectors += secs;
        } else {
            if (n == max)
                return FAT_E_INVALID;
            out[n++] = (struct fat_extent){ lba, secs };
        }
        off += run;
        len -= run;
    }
    *count = n;
    return FAT_OK;
}

long fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len)
{
    if (f->is_dir)
        return fat_fail(f->v, FAT_E_IS_DIR, "fat32: read of a directory");
    if (off >= f->size)
        return 0;
    if (len > f->size - off)
        len = (size_t)(f->size - off);
    int rc = transfer(f, off, buf, len, false);
    return rc ? rc : (long)len;
}

static int write_zeros(struct fat_file *f, uint64_t from, uint64_t to)
{
    static uint8_t zero[64 * 1024]; /* large runs: a new VHDX block is 32 MiB of them */
    while (from < to) {
        size_t n = to - from < sizeof(zero) ? (size_t)(to - from) : sizeof(zero);
        int rc = transfer(f, from, zero, n, true);
        if (rc)
            return rc;
        from += n;
    }
    return FAT_OK;
}

/* The chain grown through [off, off + len) and a gap after the size zeroed; the cursor is
 * then put back where it stood if that was at or before off's cluster (growing appends, so
 * the chain up to there is unchanged): a writer going forward walks the chain once, not
 * from its start at every write. */
static int extend(struct fat_file *f, uint64_t off, size_t len)
{
    uint32_t idx = (uint32_t)(off / f->v->clus_bytes);
    uint32_t keep_index = f->pos_index, keep_cluster = f->pos_cluster, c;
    int rc = cluster_at(f, (uint32_t)((off + len - 1) / f->v->clus_bytes), true, &c);
    if (!rc && off > f->size)
        rc = write_zeros(f, f->size, off);
    if (!rc && keep_cluster && keep_index <= idx && f->pos_index > idx) {
        f->pos_index = keep_index;
        f->pos_cluster = keep_cluster;
    }
    return rc;
}

long fat_write(struct fat_file *f, uint64_t off, const void *buf, size_t len)
{
    if (f->is_dir)
        return fat_fail(f->v, FAT_E_IS_DIR, "fat32: write to a directory");
    if (off > FAT_MAX_SIZE || len > FAT_MAX_SIZE - off)
        return fat_fail(f->v, FAT_E_TOO_BIG, "fat32: file would exceed 4 GiB - 1");
    if (!len)
        return 0;
    int rc = extend(f, off, len);
    if (!rc)
        rc = transfer(f, off, (uint8_t *)buf, len, true);
    if (rc)
        return rc;
    if (off + len > f->size) {
        f->size = (uint32_t)(off + len);
        f->dirty = true;
    }
    return (long)len;
}

int fat_place(struct fat_file *f, uint64_t off, size_t len, uint64_t *lba, uint32_t *sectors)
{
    struct fat_vol *v = f->v;
    if (f->is_dir)
        return fat_fail(v, FAT_E_IS_DIR, "fat32: write to a directory");
    if (!len || off % v->sector)
        return fat_fail(v, FAT_E_INVALID, "fat32: placing %lu bytes at %lu: not at a sector",
                        (unsigned long)len, (unsigned long)off);
    if (off > FAT_MAX_SIZE || len > FAT_MAX_SIZE - off)
        return fat_fail(v, FAT_E_TOO_BIG, "fat32: file would exceed 4 GiB - 1");
    uint32_t c;
    int rc = extend(f, off, len);
    if (!rc)
        rc = cluster_at(f, (uint32_t)(off / v->clus_bytes), false, &c);
    if (rc)
        return rc;
    uint32_t in = (uint32_t)(off % v->clus_bytes);
    size_t want = (len + v->sector - 1) / v->sector;
    size_t secs = (v->clus_bytes - in) / v->sector;
    if (secs >= want)
        secs = want;
    else
        secs += contiguous_sectors(f, c, off + secs * v->sector, want - secs, false);
    if (secs < want && secs * v->sector < len && (want - secs) < v->sec_per_clus) {
        /* the range ends inside the next cluster: take it too if it follows on disk */
        uint32_t next;
        uint64_t at = off + secs * v->sector;
        if (!cluster_at(f, (uint32_t)(at / v->clus_bytes), false, &next) &&
            next == c + (uint32_t)((secs * v->sector + in) / v->clus_bytes))
            secs = want;
    }
    *lba = fat_cluster_sector(v, c) + in / v->sector;
    *sectors = (uint32_t)secs;
    /* the caller may write less than placed: its next place starts at or after off */
    f->pos_index = (uint32_t)(off / v->clus_bytes);
    f->pos_cluster = c;
    if (off + len > f->size) {
        f->size = (uint32_t)(off + len);
        f->dirty = true;
    }
    return FAT_OK;
}

static int write_dirent(struct fat_file *f)
{
    struct fat_vol *v = f->v;
    if (!f->dirent_sector)
        return FAT_OK;
    struct fat_slot slot = { f->dirent_sector, f->dirent_off };
    uint8_t *e = fat_dir_load(v, &slot);
    if (!e)
        return FAT_E_IO;
    uint32_t now = fat_now(v);
    fat_ent_set_cluster(e, f->first_cluster);
    if (!f->is_dir)
        fat_put32(e + 28, f->size);
    fat_put16(e + 18, (uint16_t)(now >> 16));
    fat_put16(e + 22, (uint16_t)now);
    fat_put16(e + 24, (uint16_t)(now >> 16));
    e[11] |= f->is_dir ? 0 : ATTR_ARCHIVE;
    return fat_dir_store(v, &slot);
}

/* Makes the entry match the file: its data and chain first, then the entry. */
static int publish(struct fat_file *f)
{
    int rc = fat_barrier(f->v);
    if (!rc)
        rc = write_dirent(f);
    if (!rc)
        f->dirty = false;
    return rc;
}

static int shrink(struct fat_file *f, uint32_t size)
{
    struct fat_vol *v = f->v;
    uint32_t keep = (uint32_t)(((uint64_t)size + v->clus_bytes - 1) / v->clus_bytes);
    uint32_t old_first = f->first_cluster, last = 0, rest;
    int rc = FAT_OK;
    if (keep && old_first)
        rc = fat_chain_at(v, old_first, keep - 1, &last);
    if (rc == FAT_E_NOT_FOUND)
        return fat_fail(v, FAT_E_CORRUPT, "fat32: chain shorter than the file size");
    if (rc)
        return rc;
    f->size = size;
    if (!keep)
        f->first_cluster = 0;
    f->pos_cluster = 0;
    rc = publish(f);
    if (!rc)
        rc = fat_barrier(v);
    if (rc || !old_first)
        return rc;
    if (!keep)
        return fat_free_chain(v, old_first) ?: fat_commit(v);
    rc = fat_next(v, last, &rest);
    if (!rc && rest < FAT_EOC) {
        rc = fat_set(v, last, FAT_EOC_MARK);
        if (!rc)
            rc = fat_commit(v);
        if (!rc)
            rc = fat_free_chain(v, rest);
    }
    return rc ?: fat_commit(v);
}

int fat_truncate(struct fat_file *f, uint64_t size)
{
    if (f->is_dir)
        return fat_fail(f->v, FAT_E_IS_DIR, "fat32: truncate of a directory");
    if (size > FAT_MAX_SIZE)
        return fat_fail(f->v, FAT_E_TOO_BIG, "fat32: file would exceed 4 GiB - 1");
    if (size < f->size)
        return shrink(f, (uint32_t)size);
    if (size > f->size) {
        uint32_t c;   /* the whole chain at once: one FAT write per FAT sector, not per cluster */
        int rc = cluster_at(f, (uint32_t)((size - 1) / f->v->clus_bytes), true, &c);
        if (!rc)
            rc = write_zeros(f, f->size, size);
        if (rc)
            return rc;
        f->size = (uint32_t)size;
        f->dirty = true;
    }
    return FAT_OK;
}

int fat_flush(struct fat_file *f)
{
    int rc = f->dirty ? publish(f) : FAT_OK;
    return rc ? rc : fat_sync(f->v);
}

int fat_close(struct fat_file *f)
{
    int rc = fat_flush(f);
    f->v = NULL;
    return rc;
}
