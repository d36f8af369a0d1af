/* virtio-blk: request validation, backend dispatch, (asynchronous) completion. */
#include "hv/vdev/virtio_blk.h"
#include "hv/lib/format.h"

#include <string.h>

#define SECTOR 512u
#define HEADER_BYTES 16u
#define DISCARD_RANGE_BYTES 16u

static struct virtio_blk pool[VIRTIO_BLK_POOL];

typedef enum vblk_status (*backend_op)(void *ctx, struct vblk_io *io);

static void process_queue(struct virtio_blk *b, unsigned qi);

static struct vblk_req *req_of(struct vblk_io *io)
{
    return (struct vblk_req *)((char *)io - offsetof(struct vblk_req, io));
}

static bool stale(const struct vblk_req *r)
{
    return !r->busy || r->io.reset_count != r->io.dev->vp.reset_count;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- completion ------------------------------------------------------------------------ */

static void release(struct virtio_blk *b, struct vblk_req *r)
{
    r->busy = false;
    b->inflight--;
}

static void count_status(struct virtio_blk *b, enum vblk_status st)
{
    if (st == VBLK_IOERR)
        b->stats.ioerr++;
    else if (st == VBLK_UNSUPP)
        b->stats.unsupp++;
}

static void finish(struct virtio_blk *b, struct vblk_req *r, enum vblk_status st)
{
    struct virtq *q = virtio_pci_queue(&b->vp, r->queue);
    if (st != VBLK_OK && st != VBLK_IOERR && st != VBLK_UNSUPP)
        st = VBLK_IOERR;
    if (st == VBLK_OK && r->io.copy_failed)
        st = VBLK_IOERR;
    count_status(b, st);
    uint8_t status = (uint8_t)st;
    uint32_t len = (st == VBLK_OK ? r->written : 0) + 1;
    const struct vdev_platform *p = b->vp.plat;
    if (!virtq_chain_write(&r->chain, p, r->chain.in_bytes - 1, &status, 1)) {
        virtio_pci_needs_reset(&b->vp, "status byte of request %u outside guest RAM", r->chain.head);
    } else if (!virtq_push(q, p, r->chain.head, len)) {
        virtio_pci_needs_reset(&b->vp, "used ring outside guest RAM");
    }
    release(b, r);
    if (b->in_notify)
        b->irq_pending = true;
    else
        virtio_pci_queue_interrupt(&b->vp, r->queue);
}

static void fail(struct virtio_blk *b, struct vblk_req *r, enum vblk_status st,
                 const char *why)
{
    virtio_pci_log(&b->vp, "request %u %s: %s", r->chain.head,
                   st == VBLK_UNSUPP ? "unsupported" : "failed", why);
    finish(b, r, st);
}

void vblk_io_complete(struct vblk_io *io, enum vblk_status status)
{
    struct vblk_req *r = req_of(io);
    struct virtio_blk *b = io->dev;
    if (!r->busy)
        return;
    if (stale(r)) {
        b->stats.stale_completions++;
        release(b, r);
    } else {
        finish(b, r, status == VBLK_PENDING ? VBLK_IOERR : status);
    }
    if (b->stalled && !b->in_notify && virtio_pci_driver_ok(&b->vp)) {
        b->stalled = false;
        process_queue(b, r->queue);
    }
}

/* ---- data helpers for the backend ----------------------------------------------------- */

bool vblk_io_to_guest(struct vblk_io *io, uint64_t pos, const void *buf, size_t len)
{
    struct vblk_req *r = req_of(io);
    bool ok = !stale(r) && r->type == VIRTIO_BLK_T_IN && pos <= io->length &&
              len <= io->length - pos &&
              virtq_chain_write(&r->chain, io->dev->vp.plat, pos, buf, len);
    if (!ok)
        io->copy_failed = true;
    return ok;
}

bool vblk_io_from_guest(struct vblk_io *io, uint64_t pos, void *buf, size_t len)
{
    struct vblk_req *r = req_of(io);
    bool ok = !stale(r) && r->type == VIRTIO_BLK_T_OUT && pos <= io->length &&
              len <= io->length - pos &&
              virtq_chain_read(&r->chain, io->dev->vp.plat, HEADER_BYTES + pos, buf, len);
    if (!ok)
        io->copy_failed = true;
    return ok;
}

/* ---- requests --------------------------------------------------------------------------- */

static void submit(struct virtio_blk *b, struct vblk_req *r, backend_op op)
{
    enum vblk_status st = op(b->backend_ctx, &r->io);
    if (st != VBLK_PENDING)
        finish(b, r, st);
}

static const char *range_error(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    if (bytes == 0)
        return "no data";
    if (bytes % SECTOR)
        return "length not a multiple of 512";
    if ((sector * SECTOR) % b->sector_size && sector <= b->capacity / SECTOR)
        return "sector not aligned to the disk's sector size";
    if (bytes % b->sector_size)
        return "length not a multiple of the disk's sector size";
    if (sector > b->capacity / SECTOR || bytes > b->capacity - sector * SECTOR)
        return "beyond the end of the disk";
    return NULL;
}

static void start_io(struct virtio_blk *b, struct vblk_req *r, uint64_t sector, uint64_t bytes,
                     backend_op op)
{
    const char *why = bytes > VIRTIO_BLK_MAX_REQUEST ? "request larger than 64 MiB"
                                                     : range_error(b, sector, bytes);
    if (why)
        return fail(b, r, VBLK_IOERR, why);
    r->io.offset = sector * SECTOR;
    r->io.length = bytes;
    if (r->type == VIRTIO_BLK_T_IN) {
        r->written = (uint32_t)bytes;
        b->stats.reads++;
        b->stats.bytes_read += bytes;
    } else if (r->type == VIRTIO_BLK_T_OUT) {
        b->stats.writes++;
        b->stats.bytes_written += bytes;
    } else {
        b->stats.discards++;
    }
    submit(b, r, op);
}

static void do_read(struct virtio_blk *b, struct vblk_req *r, uint64_t sector)
{
    const struct virtq_chain *c = &r->chain;
    if (c->out_bytes != HEADER_BYTES)
        return fail(b, r, VBLK_IOERR, "read request carries device-readable data");
    start_io(b, r, sector, c->in_bytes - 1, b->backend->read);
}

static void do_write(struct virtio_blk *b, struct vblk_req *r, uint64_t sector)
{
    const struct virtq_chain *c = &r->chain;
    if (!b->backend->write)
        return fail(b, r, VBLK_IOERR, "write to a read-only disk");
    if (c->in_bytes != 1)
        return fail(b, r, VBLK_IOERR, "write request carries device-writable data");
    start_io(b, r, sector, c->out_bytes - HEADER_BYTES, b->backend->write);
}

static void do_flush(struct virtio_blk *b, struct vblk_req *r)
{
    if (r->chain.in_bytes != 1 || r->chain.out_bytes != HEADER_BYTES)
        return fail(b, r, VBLK_IOERR, "flush request carries data");
    b->stats.flushes++;
    if (!b->backend->flush)
        return finish(b, r, VBLK_OK);
    submit(b, r, b->backend->flush);
}

static void do_get_id(struct virtio_blk *b, struct vblk_req *r)
{
    const struct virtq_chain *c = &r->chain;
    if (c->out_bytes != HEADER_BYTES || c->in_bytes < 2)
        return fail(b, r, VBLK_IOERR, "get-id request layout invalid");
    uint64_t n = c->in_bytes - 1 < VIRTIO_BLK_ID_BYTES ? c->in_bytes - 1 : VIRTIO_BLK_ID_BYTES;
    b->stats.get_ids++;
    if (!virtq_chain_write(c, b->vp.plat, 0, b->serial, n))
        return fail(b, r, VBLK_IOERR, "get-id buffer outside guest RAM");
    r->written = (uint32_t)n;
    finish(b, r, VBLK_OK);
}

static void do_discard(struct virtio_blk *b, struct vblk_req *r)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t range[DISCARD_RANGE_BYTES];
    if (!b->backend->discard)
        return fail(b, r, VBLK_UNSUPP, "discard not offered");
    if (c->in_bytes != 1 || c->out_bytes != HEADER_BYTES + DISCARD_RANGE_BYTES)
        return fail(b, r, VBLK_IOERR, "discard request must carry exactly one range");
    if (!virtq_chain_read(c, b->vp.plat, HEADER_BYTES, range, sizeof(range)))
        return fail(b, r, VBLK_IOERR, "discard range outside guest RAM");
    uint64_t sector = le(range, 8), count = le(range + 8, 4), flags = le(range + 12, 4);
    if (flags)
        return fail(b, r, VBLK_UNSUPP, "discard flags set");
    if (count > VIRTIO_BLK_MAX_DISCARD_SECTORS)
        return fail(b, r, VBLK_IOERR, "discard larger than max_discard_sectors");
    start_io(b, r, sector, count * SECTOR, b->backend->discard);
}

static void dispatch(struct virtio_blk *b, struct vblk_req *r)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t hdr[HEADER_BYTES];
    if (c->error)
        return fail(b, r, VBLK_IOERR, c->error);
    if (!virtq_chain_in_ram(c, b->vp.plat))
        return fail(b, r, VBLK_IOERR, "buffer outside guest RAM");
    if (c->out_bytes < HEADER_BYTES || !virtq_chain_read(c, b->vp.plat, 0, hdr, sizeof(hdr)))
        return fail(b, r, VBLK_IOERR, "request header shorter than 16 bytes");
    uint32_t type = (uint32_t)le(hdr, 4);
    uint64_t sector = le(hdr + 8, 8);
    r->type = (uint8_t)(type <= 0xff ? type : 0xff);
    switch (type) {
    case VIRTIO_BLK_T_IN: return do_read(b, r, sector);
    case VIRTIO_BLK_T_OUT: return do_write(b, r, sector);
    case VIRTIO_BLK_T_FLUSH: return do_flush(b, r);
    case VIRTIO_BLK_T_GET_ID: return do_get_id(b, r);
    case VIRTIO_BLK_T_DISCARD: return do_discard(b, r);
    default: return fail(b, r, VBLK_UNSUPP, "unknown request type");
    }
}

static void start_request(struct virtio_blk *b, struct vblk_req *r, unsigned qi)
{
    r->busy = true;
    b->inflight++;
    r->queue = (uint16_t)qi;
    r->type = 0xff;
    r->written = 0;
    r->io = (struct vblk_io){ .dev = b, .reset_count = b->vp.reset_count };
    if (r->chain.in_bytes == 0) {
        virtio_pci_needs_reset(&b->vp, "request %u has no device-writable status byte",
                               r->chain.head);
        return release(b, r);
    }
    dispatch(b, r);
}

static struct vblk_req *free_req(struct virtio_blk *b)
{
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++) {
        if (!b->req[i].busy)
            return &b->req[i];
    }
    return NULL;
}

static void process_queue(struct virtio_blk *b, unsigned qi)
{
    struct virtq *q = virtio_pci_queue(&b->vp, qi);
    b->in_notify = true;
    while (q && q->enabled && !virtio_pci_broken(&b->vp)) {
        struct vblk_req *r = free_req(b);
        if (!r) {
            b->stalled = true;
            break;
        }
        const char *why;
        enum virtq_pop_result res = virtq_pop(q, b->vp.plat, &r->chain, &why);
        if (res == VIRTQ_EMPTY)
            break;
        if (res == VIRTQ_BROKEN) {
            virtio_pci_needs_reset(&b->vp, "%s", why);
            break;
        }
        start_request(b, r, qi);
    }
    b->in_notify = false;
    if (b->irq_pending) {
        b->irq_pending = false;
        virtio_pci_queue_interrupt(&b->vp, qi);
    }
}

/* ---- transport callbacks ---------------------------------------------------------------- */

static void notify_cb(void *dev, unsigned q)
{
    process_queue(dev, q);
}

static void reset_cb(void *dev)
{
    struct virtio_blk *b = dev;
    b->irq_pending = false;
    b->stalled = false;
}

static void put(uint8_t *img, unsigned off, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++)
        img[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t config_read_cb(void *dev, unsigned off, unsigned size)
{
    struct virtio_blk *b = dev;
    uint8_t img[VIRTIO_BLK_CONFIG_LEN] = { 0 };
    put(img, 0x00, 8, b->capacity / SECTOR);
    put(img, 0x0c, 4, VIRTIO_BLK_SEG_MAX);
    put(img, 0x14, 4, b->sector_size);
    put(img, 0x22, 2, 1);
    if (b->backend->discard) {
        put(img, 0x24, 4, VIRTIO_BLK_MAX_DISCARD_SECTORS);
        put(img, 0x28, 4, 1);
        put(img, 0x2c, 4, b->sector_size / SECTOR);
    }
    return (uint32_t)le(img + off, size);
}

/* ---- set-up --------------------------------------------------------------------------- */

static uint64_t device_features(const struct vblk_backend *be)
{
    uint64_t f = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
                 VIRTIO_BLK_F_MQ;
    if (!be->write)
        f |= VIRTIO_BLK_F_RO;
    if (be->discard)
        f |= VIRTIO_BLK_F_DISCARD;
    return f;
}

bool virtio_blk_init(struct virtio_blk *b, struct pci_host *host, unsigned slot,
                     const struct vdev_platform *plat, const struct vblk_backend *backend,
                     void *backend_ctx)
{
    if (!backend->read || !backend->capacity || !backend->sector_size)
        return false;
    uint32_t ss = backend->sector_size(backend_ctx);
    if (ss != 512 && ss != 4096)
        return false;
    bool in_use = b->in_use;
    memset(b, 0, sizeof(*b));
    b->in_use = in_use;
    b->backend = backend;
    b->backend_ctx = backend_ctx;
    b->sector_size = ss;
    b->capacity = backend->capacity(backend_ctx) / ss * ss;
    fmt_snprintf(b->serial, sizeof(b->serial), "atoll-vblk-%02x", slot);
    b->ops = (struct virtio_device_ops){
        .name = "virtio-blk", .device_type = VIRTIO_ID_BLOCK,
        .features = device_features(backend), .num_queues = 1, .queue_max = VIRTQ_MAX_SIZE,
        .config_len = VIRTIO_BLK_CONFIG_LEN, .config_read = config_read_cb,
        .queue_notify = notify_cb, .reset = reset_cb,
    };
    return virtio_pci_init(&b->vp, host, slot, plat, &b->ops, b);
}

struct virtio_blk *virtio_blk_attach(struct pci_host *host, unsigned slot,
                                     const struct vdev_platform *plat,
                                     const struct vblk_backend *backend, void *backend_ctx)
{
    for (unsigned i = 0; i < VIRTIO_BLK_POOL; i++) {
        if (__atomic_exchange_n(&pool[i].in_use, true, __ATOMIC_ACQUIRE))
            continue;
        if (virtio_blk_init(&pool[i], host, slot, plat, backend, backend_ctx))
            return &pool[i];
        virtio_blk_detach(&pool[i]);
        return NULL;
    }
    return NULL;
}

void virtio_blk_detach(struct virtio_blk *b)
{
    if (b >= pool && b < pool + VIRTIO_BLK_POOL)
        __atomic_store_n(&b->in_use, false, __ATOMIC_RELEASE);
}

void virtio_blk_set_serial(struct virtio_blk *b, const char *serial)
{
    size_t n = strlen(serial);
    memset(b->serial, 0, sizeof(b->serial));
    memcpy(b->serial, serial, n < sizeof(b->serial) ? n : sizeof(b->serial));
}

void virtio_blk_capacity_changed(struct virtio_blk *b)
{
    b->capacity = b->backend->capacity(b->backend_ctx) / b->sector_size * b->sector_size;
    virtio_pci_config_changed(&b->vp);
}

unsigned virtio_blk_inflight(const struct virtio_blk *b)
{
    return b->inflight;
}
