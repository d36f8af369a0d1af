#include "hv/core/snapshot_pool.h"

#include <string.h>
#include "hv/core/partition_disks.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/pool.h"

#define GATHER_PAGES (SNAPSHOT_GATHER_BYTES / 4096)

bool snapshot_path_valid(const char *path)
{
    size_t n = strnlen(path, SNAPSHOT_PATH_LEN);
    if (!n || n >= SNAPSHOT_PATH_LEN || path[0] == '/' || path[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = path[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/'))
            return false;
    }
    return !(n >= 5 && !strcmp(path + n - 5, ".part"));
}

static int flush_gather(struct snapshot_pool_file *pf)
{
    if (!pf->gather_len || pf->failed)
        return pf->failed ? -1 : 0;
    partition_pool_lock();
    long n = fat_write(&pf->f, pf->gather_off, pf->gather, pf->gather_len);
    partition_pool_unlock();
    if (n != (long)pf->gather_len) {
        pf->failed = true;
        fmt_snprintf(pf->err, sizeof(pf->err), "writing %s: %s", pf->tmp,
                     n < 0 ? fat_status_name((int)n) : "short write");
        return -1;
    }
    pf->gather_len = 0;
    return 0;
}

static int pool_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct snapshot_pool_file *pf = ctx;
    const uint8_t *b = buf;
    while (len) {
        if (pf->gather_len && (off != pf->gather_off + pf->gather_len ||
                               pf->gather_len == SNAPSHOT_GATHER_BYTES))
            if (flush_gather(pf))
                return -1;
        if (!pf->gather_len)
            pf->gather_off = off;
        size_t k = SNAPSHOT_GATHER_BYTES - pf->gather_len;
        if (k > len)
            k = len;
        memcpy(pf->gather + pf->gather_len, b, k);
        pf->gather_len += k;
        b += k;
        off += k;
        len -= k;
    }
    return pf->failed ? -1 : 0;
}

static int pool_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct snapshot_pool_file *pf = ctx;
    partition_pool_lock();
    long n = fat_read(&pf->f, off, buf, len);
    partition_pool_unlock();
    return n == (long)len ? 0 : -1;
}

bool snapshot_pool_create(struct snapshot_pool_file *pf, const char *path, struct snap_io *io,
                          char *err, size_t err_size)
{
    memset(pf, 0, sizeof(*pf));
    struct fat_vol *v = pool_volume();
    if (!v) {
        fmt_snprintf(err, err_size, "no storage pool is mounted");
        return false;
    }
    strlcpy(pf->path, path, sizeof(pf->path));
    fmt_snprintf(pf->tmp, sizeof(pf->tmp), "%s.part", path);
    pf->gather = kmem_alloc_pages(GATHER_PAGES);
    if (!pf->gather) {
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    partition_pool_lock();
    int rc = fat_open(v, pf->tmp, FAT_O_CREATE | FAT_O_TRUNC, &pf->f);
    if (rc)
        fmt_snprintf(err, err_size, "cannot create %s in the pool: %s", pf->tmp, v->err[0] ?
                     v->err : fat_status_name(rc));
    partition_pool_unlock();
    if (rc) {
        kmem_free_pages(pf->gather, GATHER_PAGES);
        pf->gather = NULL;
        return false;
    }
    pf->open = true;
    *io = (struct snap_io){ pf, 0, pool_read, pool_write };
    return true;
}

static void release(struct snapshot_pool_file *pf)
{
    if (pf->open) {
        partition_pool_lock();
        fat_close(&pf->f);
        partition_pool_unlock();
    }
    pf->open = false;
    if (pf->gather)
        kmem_free_pages(pf->gather, GATHER_PAGES);
    pf->gather = NULL;
}

void snapshot_pool_abort(struct snapshot_pool_file *pf)
{
    release(pf);
    struct fat_vol *v = pool_volume();
    if (!v)
        return;
    partition_pool_lock();
    fat_unlink(v, pf->tmp);
    fat_sync(v);
    partition_pool_unlock();
}

bool snapshot_pool_commit(struct snapshot_pool_file *pf, char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    if (flush_gather(pf)) {
        fmt_snprintf(err, err_size, "%s", pf->err);
        snapshot_pool_abort(pf);
        return false;
    }
    partition_pool_lock();
    int rc = fat_flush(&pf->f);
    const char *step = "flushing";
    if (!rc) {
        fat_close(&pf->f);
        pf->open = false;
        struct fat_stat st;
        if (fat_stat(v, pf->path, &st) == 0) {
            step = "replacing";
            rc = fat_unlink(v, pf->path);
        }
        if (!rc) {
            step = "renaming";
            rc = fat_rename(v, pf->tmp, pf->path);
        }
        if (!rc) {
            step = "syncing";
            rc = fat_sync(v);
        }
    }
    if (rc)
        fmt_snprintf(err, err_size, "%s %s: %s", step, pf->tmp, v->err[0] ? v->err :
                     fat_status_name(rc));
    partition_pool_unlock();
    if (rc) {
        snapshot_pool_abort(pf);
        return false;
    }
    release(pf);
    return true;
}

bool snapshot_pool_open(struct snapshot_pool_file *pf, const char *path, struct snap_io *io,
                        char *err, size_t err_size)
{
    memset(pf, 0, sizeof(*pf));
    struct fat_vol *v = pool_volume();
    if (!v) {
        fmt_snprintf(err, err_size, "no storage pool is mounted");
        return false;
    }
    strlcpy(pf->path, path, sizeof(pf->path));
    partition_pool_lock();
    int rc = fat_open(v, path, 0, &pf->f);
    partition_pool_unlock();
    if (rc) {
        fmt_snprintf(err, err_size, "no such file in the pool (%s)", fat_status_name(rc));
        return false;
    }
    pf->open = true;
    *io = (struct snap_io){ pf, pf->f.size, pool_read, NULL };
    return true;
}

void snapshot_pool_close(struct snapshot_pool_file *pf)
{
    release(pf);
}
