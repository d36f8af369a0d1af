#include "hv/core/snapshot_pool.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
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

/* Reaps the SNAPSHOT requests the disk finished and starts queued ones. */
static void poll_disk(struct snapshot_pool_file *pf)
{
    if (!pf->dev)
        return;
    partition_pool_lock();
    block_poll(pf->dev);
    partition_pool_unlock();
}

/* A request's end: from block_poll, on whichever CPU polls the pool's disk. */
static void chunk_done(struct block_request *r, int status)
{
    struct snapshot_chunk *ch = r->ctx;
    struct snapshot_pool_file *pf = ch->pf;
    if (status) {
        int none = 0;
        __atomic_compare_exchange_n(&pf->io_status, &none, status, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
    __atomic_sub_fetch(&pf->in_flight, (uint64_t)r->count * pf->dev->sector_size,
                       __ATOMIC_RELAXED);
    __atomic_sub_fetch(&ch->pending, 1, __ATOMIC_RELEASE);
}

static void wait_chunk(struct snapshot_pool_file *pf, struct snapshot_chunk *ch)
{
    while (__atomic_load_n(&ch->pending, __ATOMIC_ACQUIRE)) {
        poll_disk(pf);
        cpu_relax();
    }
}

/* Every chunk landed; then a failed request fails the file. */
static int drain(struct snapshot_pool_file *pf)
{
    for (unsigned i = 0; i < SNAPSHOT_WRITE_CHUNKS; i++)
        wait_chunk(pf, &pf->chunk[i]);
    int status = __atomic_load_n(&pf->io_status, __ATOMIC_RELAXED);
    if (status && !pf->failed) {
        pf->failed = true;
        fmt_snprintf(pf->err, sizeof(pf->err), "writing %s: %s", pf->tmp,
                     block_status_name(status));
    }
    return pf->failed ? -1 : 0;
}

static int write_failed(struct snapshot_pool_file *pf, long n)
{
    struct fat_vol *v = pool_volume();
    pf->failed = true;
    fmt_snprintf(pf->err, sizeof(pf->err), "writing %s: %s", pf->tmp,
                 n >= 0 ? "short write" : v && v->err[0] ? v->err : fat_status_name((int)n));
    return -1;
}

/* Writes what is gathered through the file system, after every chunk in flight. */
static int flush_gather(struct snapshot_pool_file *pf)
{
    if (drain(pf))
        return -1;
    if (!pf->gather_len)
        return 0;
    partition_pool_lock();
    long n = fat_write(&pf->f, pf->gather_off, pf->gather, pf->gather_len);
    partition_pool_unlock();
    if (n != (long)pf->gather_len)
        return write_failed(pf, n);
    pf->gather_len = 0;
    return 0;
}

/* Sends the full chunk being gathered to the disk as SNAPSHOT requests at the sectors the
 * file system places it, and moves on to the next chunk (waiting for it to have landed).
 * What the chunk's requests cannot cover (a file in more pieces than that) is written
 * through the file system once they are done. */
static int submit_chunk(struct snapshot_pool_file *pf)
{
    struct snapshot_chunk *ch = &pf->chunk[pf->cur];
    uint64_t off = pf->gather_off;
    size_t left = pf->gather_len;
    uint8_t *b = pf->gather;
    uint32_t sector = pf->dev->sector_size;
    unsigned n = 0;
    long fail = 0;
    partition_pool_lock();
    while (left && n < SNAPSHOT_CHUNK_REQUESTS && !fail) {
        uint64_t lba;
        uint32_t secs;
        int rc = fat_place(&pf->f, off, left, &lba, &secs);
        if (rc) {
            fail = rc;
            break;
        }
        if (secs > pf->dev->max_sectors)
            secs = pf->dev->max_sectors;
        size_t bytes = (size_t)secs * sector;
        struct block_request *r = &ch->req[n++];
        *r = (struct block_request){ .op = BLOCK_WRITE, .cls = BLOCK_CLASS_SNAPSHOT,
                                     .lba = pf->volume_start + lba, .count = secs, .buf = b,
                                     .done = chunk_done, .ctx = ch };
        __atomic_add_fetch(&ch->pending, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&pf->in_flight, bytes, __ATOMIC_RELAXED);
        int err;
        while ((err = block_submit(pf->dev, r)) == BLOCK_E_BUSY)
            block_poll(pf->dev);
        if (err) {
            __atomic_sub_fetch(&pf->in_flight, bytes, __ATOMIC_RELAXED);
            __atomic_sub_fetch(&ch->pending, 1, __ATOMIC_RELEASE);
            int none = 0;
            __atomic_compare_exchange_n(&pf->io_status, &none, err, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
            break;
        }
        __atomic_add_fetch(&pf->async_bytes, bytes, __ATOMIC_RELAXED);
        pf->async_requests++;
        off += bytes;
        b += bytes;
        left -= bytes;
    }
    block_kick(pf->dev);
    partition_pool_unlock();
    if (fail)
        return write_failed(pf, fail);
    if (left) {                         /* more pieces than requests, or a refused request */
        if (drain(pf))
            return -1;
        partition_pool_lock();
        long w = fat_write(&pf->f, off, b, left);
        partition_pool_unlock();
        if (w != (long)left)
            return write_failed(pf, w);
    }
    pf->cur = (pf->cur + 1) % SNAPSHOT_WRITE_CHUNKS;
    wait_chunk(pf, &pf->chunk[pf->cur]);
    pf->gather = pf->chunk[pf->cur].buf;
    __atomic_store_n(&pf->gather_len, 0, __ATOMIC_RELAXED);
    return __atomic_load_n(&pf->io_status, __ATOMIC_RELAXED) ? drain(pf) : 0;
}

static int pool_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct snapshot_pool_file *pf = ctx;
    const uint8_t *b = buf;
    while (len) {
        if (pf->gather_len && off != pf->gather_off + pf->gather_len)
            if (flush_gather(pf))
                return -1;
        if (!pf->gather_len)
            pf->gather_off = off;
        size_t k = SNAPSHOT_GATHER_BYTES - pf->gather_len;
        if (k > len)
            k = len;
        memcpy(pf->gather + pf->gather_len, b, k);
        __atomic_store_n(&pf->gather_len, pf->gather_len + k, __ATOMIC_RELAXED);
        b += k;
        off += k;
        len -= k;
        if (pf->gather_len == SNAPSHOT_GATHER_BYTES) {
            bool placed = pf->dev && pf->gather_off % pf->dev->sector_size == 0;
            if (placed ? submit_chunk(pf) : flush_gather(pf))
                return -1;
        }
    }
    return pf->failed ? -1 : 0;
}

uint64_t snapshot_pool_queued(const struct snapshot_pool_file *pf)
{
    return __atomic_load_n(&pf->in_flight, __ATOMIC_RELAXED) +
           __atomic_load_n(&pf->gather_len, __ATOMIC_RELAXED);
}

uint64_t snapshot_pool_drained(const struct snapshot_pool_file *pf)
{
    uint64_t in_flight = __atomic_load_n(&pf->in_flight, __ATOMIC_ACQUIRE);
    uint64_t sent = __atomic_load_n(&pf->async_bytes, __ATOMIC_ACQUIRE);
    return sent > in_flight ? sent - in_flight : 0;
}

uint64_t snapshot_pool_poll(struct snapshot_pool_file *pf)
{
    poll_disk(pf);
    return snapshot_pool_queued(pf);
}

/* Chain steps from cursor f to the cluster of off: forward from it, or from the start. */
static uint64_t walk_steps(const struct fat_file *f, uint64_t off)
{
    uint64_t idx = off / f->v->clus_bytes;
    return f->pos_cluster && f->pos_index <= idx ? idx - f->pos_index : idx;
}

static int pool_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct snapshot_pool_file *pf = ctx;
    partition_pool_lock();
    uint64_t a = walk_steps(&pf->f, off), b = walk_steps(&pf->cursor2, off);
    bool second = b < a || (b == a && !pf->cursor2_last);
    pf->cursor2_last = second;
    long n = fat_read(second ? &pf->cursor2 : &pf->f, off, buf, len);
    partition_pool_unlock();
    return n == (long)len ? 0 : -1;
}

/* Closes the file and frees the chunks, once none is in flight. */
static void release(struct snapshot_pool_file *pf)
{
    for (unsigned i = 0; i < SNAPSHOT_WRITE_CHUNKS; i++)
        wait_chunk(pf, &pf->chunk[i]);
    if (pf->open) {
        partition_pool_lock();
        fat_close(&pf->f);
        partition_pool_unlock();
    }
    pf->open = false;
    for (unsigned i = 0; i < SNAPSHOT_WRITE_CHUNKS; i++)
        if (pf->chunk[i].buf)
            kmem_free_pages(pf->chunk[i].buf, GATHER_PAGES);
    memset(pf->chunk, 0, sizeof(pf->chunk));
    pf->gather = NULL;
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
    for (unsigned i = 0; i < SNAPSHOT_WRITE_CHUNKS; i++) {
        pf->chunk[i].pf = pf;
        if (!(pf->chunk[i].buf = kmem_alloc_pages(GATHER_PAGES))) {
            release(pf);
            fmt_snprintf(err, err_size, "out of memory");
            return false;
        }
    }
    pf->gather = pf->chunk[0].buf;
    const struct block_window *w = pool_disk_window();
    pf->dev = w ? w->dev : NULL;
    pf->volume_start = w ? w->start : 0;
    partition_pool_lock();
    int rc = fat_open(v, pf->tmp, FAT_O_CREATE | FAT_O_TRUNC, &pf->f);
    if (rc)
        fmt_snprintf(err, err_size, "cannot create %s in the pool: %s", pf->tmp, v->err[0] ?
                     v->err : fat_status_name(rc));
    partition_pool_unlock();
    if (rc) {
        release(pf);
        return false;
    }
    pf->open = true;
    *io = (struct snap_io){ pf, 0, pool_read, pool_write };
    return true;
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
    pf->cursor2 = pf->f;
    *io = (struct snap_io){ pf, pf->f.size, pool_read, NULL };
    return true;
}

void snapshot_pool_close(struct snapshot_pool_file *pf)
{
    release(pf);
}
