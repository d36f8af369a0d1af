#include "hv/core/partition_disks.h"

#include <string.h>
#include "hv/arch/x86/spinlock.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/pool.h"
#include "hv/vdev/platform_devices.h"
#include "hv/vdev/virtio_blk.h"

#define BOUNCE_BYTES (64u << 10)

struct partition_disk {
    char path[128];
    struct fat_file file;
    struct vhdx_io io;
    struct vhdx *vhdx;          /* NULL: a raw file */
    uint64_t capacity;
    uint32_t sector;
    uint8_t *bounce;
    struct virtio_blk *dev;
};

/* The pool is one FAT32 volume for every partition on every CPU. */
static spinlock_t pool_lock = SPINLOCK_INIT;

static int disk_read(struct partition_disk *d, uint64_t off, void *buf, size_t len)
{
    struct vhdx_err err;
    if (d->vhdx)
        return vhdx_read(d->vhdx, off, buf, len, &err);
    return fat_read(&d->file, off, buf, len) == (long)len ? 0 : -1;
}

static int disk_write(struct partition_disk *d, uint64_t off, const void *buf, size_t len)
{
    struct vhdx_err err;
    if (d->vhdx)
        return vhdx_write(d->vhdx, off, buf, len, &err);
    return fat_write(&d->file, off, buf, len) == (long)len ? 0 : -1;
}

static enum vblk_status backend_read(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx;
    uint64_t f = spin_lock_irqsave(&pool_lock);
    enum vblk_status st = VBLK_OK;
    for (uint64_t pos = 0; pos < io->length && st == VBLK_OK; pos += BOUNCE_BYTES) {
        size_t n = io->length - pos < BOUNCE_BYTES ? (size_t)(io->length - pos) : BOUNCE_BYTES;
        if (disk_read(d, io->offset + pos, d->bounce, n) != 0 ||
            !vblk_io_to_guest(io, pos, d->bounce, n))
            st = VBLK_IOERR;
    }
    spin_unlock_irqrestore(&pool_lock, f);
    return st;
}

static enum vblk_status backend_write(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx;
    uint64_t f = spin_lock_irqsave(&pool_lock);
    enum vblk_status st = VBLK_OK;
    for (uint64_t pos = 0; pos < io->length && st == VBLK_OK; pos += BOUNCE_BYTES) {
        size_t n = io->length - pos < BOUNCE_BYTES ? (size_t)(io->length - pos) : BOUNCE_BYTES;
        if (!vblk_io_from_guest(io, pos, d->bounce, n) ||
            disk_write(d, io->offset + pos, d->bounce, n) != 0)
            st = VBLK_IOERR;
    }
    spin_unlock_irqrestore(&pool_lock, f);
    return st;
}

static enum vblk_status backend_flush(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx;
    struct vhdx_err err;
    uint64_t f = spin_lock_irqsave(&pool_lock);
    int rc = d->vhdx ? vhdx_flush(d->vhdx, &err) : fat_flush(&d->file);
    spin_unlock_irqrestore(&pool_lock, f);
    return rc == 0 ? VBLK_OK : VBLK_IOERR;
}

static enum vblk_status backend_discard(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx;
    struct vhdx_err err;
    if (!d->vhdx)
        return VBLK_OK;         /* a raw file keeps its bytes: discard is only a hint */
    uint64_t f = spin_lock_irqsave(&pool_lock);
    int rc = vhdx_trim(d->vhdx, io->offset, io->length, &err);
    spin_unlock_irqrestore(&pool_lock, f);
    return rc == 0 ? VBLK_OK : VBLK_IOERR;
}

static uint64_t backend_capacity(void *ctx) { return ((struct partition_disk *)ctx)->capacity; }
static uint32_t backend_sector(void *ctx) { return ((struct partition_disk *)ctx)->sector; }

static const struct vblk_backend backend = {
    backend_read, backend_write, backend_flush, backend_discard, backend_capacity, backend_sector,
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static bool open_disk(struct partition_disk *d, const char *path, char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    strlcpy(d->path, path, sizeof(d->path));
    if (!v) {
        fmt_snprintf(err, err_size, "disk %s: no storage pool is mounted", path);
        return false;
    }
    if (fat_open(v, path, 0, &d->file) != 0) {
        fmt_snprintf(err, err_size, "disk %s: no such file in the pool", path);
        return false;
    }
    d->sector = 512;
    if (!ends_with(path, ".vhdx")) {
        d->capacity = d->file.size & ~511ull;
        return d->capacity > 0 || (fmt_snprintf(err, err_size, "disk %s: empty file", path), false);
    }
    struct vhdx_err verr;
    pool_vhdx_io(&d->file, &d->io);
    if (vhdx_open(pool_vhdx_env(), &d->io, path, 0, &d->vhdx, &verr) != 0) {
        fmt_snprintf(err, err_size, "disk %s: %s", path, verr.msg);
        d->vhdx = NULL;
        return false;
    }
    struct vhdx_info info;
    vhdx_get_info(d->vhdx, &info);
    d->capacity = info.disk_size;
    d->sector = info.logical_sector_size;
    return true;
}

static void close_disk(struct partition_disk *d)
{
    struct vhdx_err err;
    if (d->vhdx)
        vhdx_close(d->vhdx, &err);
    else if (d->file.v)
        fat_close(&d->file);
    kfree(d->bounce);
    kfree(d);
}

bool partition_disks_attach(struct partition *p, const char (*paths)[128], unsigned count,
                            char *err, size_t err_size)
{
    if (count == 0)
        return true;
    if (count > PARTITION_MAX_DISKS) {
        fmt_snprintf(err, err_size, "at most %d disks per partition", PARTITION_MAX_DISKS);
        return false;
    }
    const struct vdev_platform *fabric = platform_devices_platform(p->devices);
    p->pci = pci_host_create(&p->bus, fabric);
    if (!p->pci) {
        fmt_snprintf(err, err_size, "no PCI host bridge left for its disks");
        return false;
    }
    for (unsigned i = 0; i < count; i++) {
        struct partition_disk *d = kmalloc(sizeof(*d));
        if (!d || !(d->bounce = kmalloc(BOUNCE_BYTES))) {
            kfree(d);
            fmt_snprintf(err, err_size, "out of memory for disk %s", paths[i]);
            return false;
        }
        uint64_t f = spin_lock_irqsave(&pool_lock);
        bool ok = open_disk(d, paths[i], err, err_size);
        spin_unlock_irqrestore(&pool_lock, f);
        if (!ok) {
            close_disk(d);
            return false;
        }
        p->disks[p->disk_count++] = d;
        d->dev = virtio_blk_attach(p->pci, PARTITION_DISK_FIRST_SLOT + i, fabric, &backend, d);
        if (!d->dev) {
            fmt_snprintf(err, err_size, "disk %s: no virtio-blk device left", paths[i]);
            return false;
        }
        virtio_blk_set_poll_timer(d->dev, PARTITION_TIMER_DISKS);
    }
    return true;
}

void partition_disks_poll(struct partition *p, uint64_t now_ns)
{
    uint64_t due = p->timer_deadline[PARTITION_TIMER_DISKS];
    if (!due || due > now_ns)
        return;
    p->timer_deadline[PARTITION_TIMER_DISKS] = 0;
    for (unsigned i = 0; i < p->disk_count; i++)
        if (p->disks[i]->dev)
            virtio_blk_poll(p->disks[i]->dev);
}

void partition_disks_detach(struct partition *p)
{
    for (unsigned i = 0; i < p->disk_count; i++) {
        struct partition_disk *d = p->disks[i];
        if (d->dev)
            virtio_blk_detach(d->dev);
        uint64_t f = spin_lock_irqsave(&pool_lock);
        close_disk(d);
        spin_unlock_irqrestore(&pool_lock, f);
        p->disks[i] = NULL;
    }
    p->disk_count = 0;
    if (p->pci)
        pci_host_destroy(p->pci);
    p->pci = NULL;
}
