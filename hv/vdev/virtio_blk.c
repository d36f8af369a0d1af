/* virtio-blk: request validation, backend dispatch, (asynchronous) completion. */
#include "hv/vdev/virtio_blk.h"
#include "hv/lib/format.h"

#include <string.h>

#define SECTOR 512u
#define HEADER_BYTES 16u
#define DISCARD_RANGE_BYTES 16u
#define TYPE_COPY 0xfe              /* r->type of VIRTIO_BLK_T_ATOLL_COPY */
#define TYPE_OFFLOAD_WRITE 0xfd     /* of VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE (a copy) */
/* The largest chain a request may have: a read or write of VIRTIO_BLK_MAX_REQUEST, its
 * header and status. */
#define VIRTIO_BLK_MAX_CHAIN ((uint64_t)VIRTIO_BLK_MAX_REQUEST + HEADER_BYTES + 1)

_Static_assert((uint64_t)VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX <= VIRTIO_BLK_MAX_REQUEST,
               "seg_max and size_max advertise more than a request may carry");

static struct virtio_blk pool[VIRTIO_BLK_POOL];

typedef enum vblk_status (*backend_op)(void *ctx, struct vblk_io *io);

struct budget {
    unsigned requests;
    uint64_t bytes;
    uint64_t start_ns;
};

static void process_queue(struct virtio_blk *b, unsigned qi);
static void arm_poll(struct virtio_blk *b);

static struct vblk_req *req_of(struct vblk_io *io)
{
    return (struct vblk_req *)((char *)io - offsetof(struct vblk_req, io));
}

static bool stale(const struct vblk_req *r)
{
    return !r->busy || r->cancelled || r->io.reset_count != r->io.dev->vp.reset_count;
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
    const struct vdev_platform *p = b->vp.plat;
    if (st == VBLK_OK && r->type == TYPE_OFFLOAD_WRITE) {
        uint8_t n[8];
        for (unsigned i = 0; i < 8; i++)
            n[i] = (uint8_t)(r->length >> (8 * i));
        if (!virtq_chain_write(&r->chain, p, 0, n, sizeof n))
            st = VBLK_IOERR, status = (uint8_t)st, count_status(b, st);
    }
    /* len: the bytes written from the first device-writable byte on, never more (2.7.8.2);
     * the status byte, last, counts only when everything before it was written too. */
    uint32_t data = st == VBLK_OK ? r->written : 0;
    uint32_t len = (uint64_t)data + 1 == r->chain.in_bytes ? data + 1 : data;
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

/* A request that changes the disk's data, when the driver did not accept
 * VIRTIO_BLK_F_FLUSH (offered): its completion says the data is on stable storage
 * (virtio 1.2, 5.2.6.2, the first case of a stable write), so the backend is flushed
 * before it is reported. */
static bool write_through(const struct virtio_blk *b, const struct vblk_req *r)
{
    return (r->type == VIRTIO_BLK_T_OUT || r->type == TYPE_COPY ||
            r->type == TYPE_OFFLOAD_WRITE) &&
           b->backend->flush && !(virtio_pci_features(&b->vp) & VIRTIO_BLK_F_FLUSH);
}

/* A read or write goes on with its next piece (at the next budget), or ends here, after
 * the flush a write-through write needs; any other request ends. */
static void piece_done(struct virtio_blk *b, struct vblk_req *r, enum vblk_status st)
{
    bool ok = st == VBLK_OK && !r->io.copy_failed;
    if (ok && !r->flushing && r->done + r->io.length < r->length) {
        r->done += r->io.length;
        r->resume = true;
        return;
    }
    if (ok && !r->flushing && write_through(b, r)) {
        r->flushing = true;
        b->stats.write_through_flushes++;
        r->io.offset = r->io.length = 0;
        st = b->backend->flush(b->backend_ctx, &r->io);
        if (st == VBLK_PENDING)
            return;
    }
    finish(b, r, st == VBLK_PENDING ? VBLK_IOERR : st);
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
        piece_done(b, r, status);
        if (r->resume)
            arm_poll(b);
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
              virtq_chain_write(&r->chain, io->dev->vp.plat, r->done + pos, buf, len);
    if (!ok)
        io->copy_failed = true;
    return ok;
}

bool vblk_io_from_guest(struct vblk_io *io, uint64_t pos, void *buf, size_t len)
{
    struct vblk_req *r = req_of(io);
    bool ok = !stale(r) && r->type == VIRTIO_BLK_T_OUT && pos <= io->length &&
              len <= io->length - pos &&
              virtq_chain_read(&r->chain, io->dev->vp.plat, HEADER_BYTES + r->done + pos, buf,
                               len);
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

static uint64_t now(const struct virtio_blk *b)
{
    const struct vdev_platform *p = b->vp.plat;
    return p->now_ns ? p->now_ns(p->ctx) : 0;
}

static bool budget_left(const struct virtio_blk *b, const struct budget *bg)
{
    return bg->bytes && now(b) - bg->start_ns < VIRTIO_BLK_BUDGET_NS;
}

/* Pieces of a read or write while the budget lasts, at least one (a whole number of
 * sectors each: every length, piece and budget here is one). */
static struct vblk_tokens *tokens_of(struct virtio_blk *b, uint32_t *self)
{
    *self = 0;
    return b->backend->tokens ? b->backend->tokens(b->backend_ctx, self) : NULL;
}

static void submit_pieces(struct virtio_blk *b, struct vblk_req *r, struct budget *bg)
{
    do {
        uint32_t self;
        struct vblk_tokens *tk = r->type == TYPE_OFFLOAD_WRITE ? tokens_of(b, &self) : NULL;
        if (tk && !vblk_tokens_live(tk, r->token_id)) {
            fail(b, r, VBLK_IOERR, "offload write: token no longer valid part way: its data "
                 "changed");
            return;
        }
        uint64_t n = r->length - r->done;
        n = n < bg->bytes ? n : bg->bytes;
        n = n < VIRTIO_BLK_PIECE_BYTES ? n : VIRTIO_BLK_PIECE_BYTES;
        bg->bytes -= n;
        r->resume = false;
        r->io.offset = r->offset + r->done;
        r->io.length = n;
        r->io.source_offset = r->source_offset + r->done;
        r->io.source_disk = r->source_disk;
        enum vblk_status st = r->op(b->backend_ctx, &r->io);
        if (st == VBLK_PENDING)
            return;
        piece_done(b, r, st);
    } while (r->busy && r->resume && budget_left(b, bg));
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
                     backend_op op, struct budget *bg)
{
    /* No data is a multiple of 512 too (5.2.6.1): nothing to do, at or before the end. */
    if (bytes == 0 && (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ||
                       r->type == VIRTIO_BLK_T_DISCARD)) {
        if (sector > b->capacity / SECTOR)
            return fail(b, r, VBLK_IOERR, "beyond the end of the disk");
        return finish(b, r, VBLK_OK);
    }
    /* a discard moves no data: it is bounded by max_discard_sectors (do_discard) */
    bool moves_data = r->type != VIRTIO_BLK_T_DISCARD;
    const char *why = moves_data && bytes > VIRTIO_BLK_MAX_REQUEST ? "request larger than 64 MiB"
                                                                   : range_error(b, sector, bytes);
    if (why)
        return fail(b, r, VBLK_IOERR, why);
    r->io.offset = sector * SECTOR;
    r->io.length = bytes;
    uint32_t self;
    struct vblk_tokens *tk = r->type != VIRTIO_BLK_T_IN ? tokens_of(b, &self) : NULL;
    if (tk)     /* a write, trim or copy here: the guest tokens on its range die first */
        vblk_tokens_note_write(tk, self, r->io.offset, bytes);
    if (r->type == VIRTIO_BLK_T_IN) {
        r->written = (uint32_t)bytes;
        b->stats.reads++;
        b->stats.bytes_read += bytes;
    } else if (r->type == VIRTIO_BLK_T_OUT) {
        b->stats.writes++;
        b->stats.bytes_written += bytes;
    } else if (r->type == TYPE_COPY || r->type == TYPE_OFFLOAD_WRITE) {
        b->stats.copies++;
        b->stats.bytes_copied += bytes;
    } else {
        b->stats.discards++;
        return submit(b, r, op);        /* no data moves: one piece */
    }
    r->op = op;
    r->offset = r->io.offset;
    r->length = bytes;
    r->done = 0;
    submit_pieces(b, r, bg);
}

static void do_read(struct virtio_blk *b, struct vblk_req *r, uint64_t sector, struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    if (c->out_bytes != HEADER_BYTES)
        return fail(b, r, VBLK_IOERR, "read request carries device-readable data");
    start_io(b, r, sector, c->in_bytes - 1, b->backend->read, bg);
}

static void do_write(struct virtio_blk *b, struct vblk_req *r, uint64_t sector, struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    if (!b->backend->write)
        return fail(b, r, VBLK_IOERR, "write to a read-only disk");
    if (c->in_bytes != 1)
        return fail(b, r, VBLK_IOERR, "write request carries device-writable data");
    start_io(b, r, sector, c->out_bytes - HEADER_BYTES, b->backend->write, bg);
}

/* Data beside a flush is ignored: the driver SHOULD NOT send any (5.2.6.1), so it may. */
static void do_flush(struct virtio_blk *b, struct vblk_req *r)
{
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

static void do_discard(struct virtio_blk *b, struct vblk_req *r, struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t range[DISCARD_RANGE_BYTES];
    if (!b->backend->discard)
        return fail(b, r, VBLK_UNSUPP, "discard not offered");
    if (!b->backend->write)
        return fail(b, r, VBLK_IOERR, "discard on a read-only disk");
    if (c->in_bytes != 1 || c->out_bytes != HEADER_BYTES + DISCARD_RANGE_BYTES)
        return fail(b, r, VBLK_IOERR, "discard request must carry exactly one range");
    if (!virtq_chain_read(c, b->vp.plat, HEADER_BYTES, range, sizeof(range)))
        return fail(b, r, VBLK_IOERR, "discard range outside guest RAM");
    uint64_t sector = le(range, 8), count = le(range + 8, 4), flags = le(range + 12, 4);
    if (flags)
        return fail(b, r, VBLK_UNSUPP, "discard flags set");
    if (count > VIRTIO_BLK_MAX_DISCARD_SECTORS)
        return fail(b, r, VBLK_IOERR, "discard larger than max_discard_sectors");
    start_io(b, r, sector, count * SECTOR, b->backend->discard, bg);
}

/* Atoll's copy extension: checked whole here and by the backend, then moved in pieces
 * like a write whose data comes from another disk instead of the guest. */
static void do_copy(struct virtio_blk *b, struct vblk_req *r, uint64_t sector, struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t seg[VIRTIO_BLK_COPY_SEG_BYTES];
    struct vblk_copy cp;
    if (!b->backend->copy || !(virtio_pci_features(&b->vp) & VIRTIO_BLK_F_ATOLL_COPY))
        return fail(b, r, VBLK_UNSUPP, "copy not negotiated");
    if (!b->backend->write)
        return fail(b, r, VBLK_IOERR, "copy to a read-only disk");
    if (c->in_bytes != 1 || c->out_bytes != HEADER_BYTES + VIRTIO_BLK_COPY_SEG_BYTES)
        return fail(b, r, VBLK_IOERR, "copy request must carry exactly one 24-byte segment");
    if (!virtq_chain_read(c, b->vp.plat, HEADER_BYTES, seg, sizeof(seg)))
        return fail(b, r, VBLK_IOERR, "copy segment outside guest RAM");
    const char *why = vblk_copy_decode(seg, sizeof(seg), &cp);
    if (!why)
        why = b->backend->copy_check(b->backend_ctx, &cp, sector);
    if (why)
        return fail(b, r, VBLK_IOERR, why);
    r->type = TYPE_COPY;
    r->source_disk = cp.source_disk;
    r->source_offset = cp.source_sector * SECTOR;
    start_io(b, r, sector, cp.sectors * SECTOR, b->backend->copy, bg);
}

/* The partition's guest tokens when offload is served and negotiated, else NULL. */
static struct vblk_tokens *offload_tokens(struct virtio_blk *b, uint32_t *self)
{
    if (!b->backend->copy || !(virtio_pci_features(&b->vp) & VIRTIO_BLK_F_ATOLL_COPY))
        return NULL;
    return tokens_of(b, self);
}

/* Offload read: a token for sectors of this disk, as they are now, into guest memory; no
 * data moves. */
static void do_offload_read(struct virtio_blk *b, struct vblk_req *r, uint64_t sector)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t seg[VBLK_OFFLOAD_READ_SEG], out[VBLK_OFFLOAD_READ_OUT];
    uint32_t self;
    struct vblk_tokens *tk = offload_tokens(b, &self);
    if (!tk)
        return fail(b, r, VBLK_UNSUPP, "offload not negotiated");
    if (c->out_bytes != HEADER_BYTES + VBLK_OFFLOAD_READ_SEG ||
        c->in_bytes != VBLK_OFFLOAD_READ_OUT + 1)
        return fail(b, r, VBLK_IOERR, "offload read must carry 8 bytes and take 520 and the status");
    if (!virtq_chain_read(c, b->vp.plat, HEADER_BYTES, seg, sizeof(seg)))
        return fail(b, r, VBLK_IOERR, "offload read segment outside guest RAM");
    uint64_t sectors = le(seg, 8);
    if (sectors == 0 || sectors > VBLK_OFFLOAD_READ_MAX_SECTORS)
        return fail(b, r, VBLK_IOERR, "offload read of no sectors or more than 2 TiB");
    if (sector >= b->capacity / SECTOR)
        return fail(b, r, VBLK_IOERR, "offload read at or beyond the end of the disk");
    uint64_t bytes = sectors * SECTOR, left = b->capacity - sector * SECTOR;
    if (bytes > left)
        bytes = left;                   /* covered: cut at the end */
    const char *why = range_error(b, sector, bytes);
    if (!why)
        why = vblk_tokens_issue(tk, self, sector * SECTOR, bytes, out);
    if (why)
        return fail(b, r, VBLK_IOERR, why);
    for (unsigned i = 0; i < 8; i++)
        out[TOKEN_SIZE + i] = (uint8_t)(bytes >> (8 * i));
    if (!virtq_chain_write(c, b->vp.plat, 0, out, sizeof(out))) {
        vblk_tokens_note_write(tk, self, sector * SECTOR, bytes); /* never seen: dead */
        return fail(b, r, VBLK_IOERR, "offload read buffer outside guest RAM");
    }
    b->stats.offload_reads++;
    r->written = VBLK_OFFLOAD_READ_OUT;
    finish(b, r, VBLK_OK);
}

/* Offload write: a token of this partition's disks, checked, then its data copied to
 * this disk at `sector` as a copy request's (pieces read from the source inside the host);
 * the token's liveness is checked again before each piece. */
static void do_offload_write(struct virtio_blk *b, struct vblk_req *r, uint64_t sector,
                             struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t seg[VBLK_OFFLOAD_WRITE_SEG];
    struct vblk_offload_src src = { 0 };
    uint32_t self;
    struct vblk_tokens *tk = offload_tokens(b, &self);
    if (!tk)
        return fail(b, r, VBLK_UNSUPP, "offload not negotiated");
    if (!b->backend->write)
        return fail(b, r, VBLK_IOERR, "offload write to a read-only disk");
    if (c->out_bytes != HEADER_BYTES + VBLK_OFFLOAD_WRITE_SEG ||
        c->in_bytes != VBLK_OFFLOAD_WRITE_OUT + 1)
        return fail(b, r, VBLK_IOERR, "offload write must carry 528 bytes and take 8 and the status");
    if (!virtq_chain_read(c, b->vp.plat, HEADER_BYTES, seg, sizeof(seg)))
        return fail(b, r, VBLK_IOERR, "offload write segment outside guest RAM");
    uint64_t len = le(seg + TOKEN_SIZE + 8, 8);
    if (len > VIRTIO_BLK_COPY_MAX_BYTES)
        len = VIRTIO_BLK_COPY_MAX_BYTES;   /* written says how much: the guest goes on */
    const char *why = vblk_tokens_redeem(tk, seg, TOKEN_SIZE,
                                         le(seg + TOKEN_SIZE, 8), len, &src);
    struct vblk_copy cp = { src.disk, src.offset / SECTOR, src.length / SECTOR };
    if (!why)
        why = b->backend->copy_check(b->backend_ctx, &cp, sector);
    if (why)
        return fail(b, r, VBLK_IOERR, why);
    b->stats.offload_writes++;
    r->type = TYPE_OFFLOAD_WRITE;
    r->source_disk = cp.source_disk;
    r->source_offset = src.offset;
    memcpy(r->token_id, src.id, sizeof r->token_id);
    r->written = VBLK_OFFLOAD_WRITE_OUT;
    start_io(b, r, sector, src.length, b->backend->copy, bg);
}

static void dispatch(struct virtio_blk *b, struct vblk_req *r, struct budget *bg)
{
    const struct virtq_chain *c = &r->chain;
    uint8_t hdr[HEADER_BYTES];
    if (c->error)
        return fail(b, r, VBLK_IOERR, c->error);
    /* Before the probe of every page: a chain of 64 segments of 4 GiB would take seconds
     * of it, under the partition's lock. */
    if (c->out_bytes > VIRTIO_BLK_MAX_CHAIN || c->in_bytes > VIRTIO_BLK_MAX_CHAIN - c->out_bytes)
        return fail(b, r, VBLK_IOERR, "request larger than 64 MiB");
    if (!virtq_chain_in_ram(c, b->vp.plat))
        return fail(b, r, VBLK_IOERR, "buffer outside guest RAM");
    if (c->out_bytes < HEADER_BYTES || !virtq_chain_read(c, b->vp.plat, 0, hdr, sizeof(hdr)))
        return fail(b, r, VBLK_IOERR, "request header shorter than 16 bytes");
    uint32_t type = (uint32_t)le(hdr, 4);
    uint64_t sector = le(hdr + 8, 8);
    r->type = (uint8_t)(type <= 0xff ? type : 0xff);
    switch (type) {
    case VIRTIO_BLK_T_IN: return do_read(b, r, sector, bg);
    case VIRTIO_BLK_T_OUT: return do_write(b, r, sector, bg);
    case VIRTIO_BLK_T_FLUSH: return do_flush(b, r);
    case VIRTIO_BLK_T_GET_ID: return do_get_id(b, r);
    case VIRTIO_BLK_T_DISCARD: return do_discard(b, r, bg);
    case VIRTIO_BLK_T_ATOLL_COPY: return do_copy(b, r, sector, bg);
    case VIRTIO_BLK_T_ATOLL_OFFLOAD_READ: return do_offload_read(b, r, sector);
    case VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE: return do_offload_write(b, r, sector, bg);
    default: return fail(b, r, VBLK_UNSUPP, "unknown request type");
    }
}

static void start_request(struct virtio_blk *b, struct vblk_req *r, unsigned qi,
                          struct budget *bg)
{
    r->busy = true;
    r->cancelled = false;
    r->seq = b->next_seq++;
    b->inflight++;
    r->queue = (uint16_t)qi;
    r->type = 0xff;
    r->written = 0;
    r->resume = false;
    r->flushing = false;
    r->length = r->done = 0;
    r->source_offset = r->source_disk = 0;
    r->io = (struct vblk_io){ .dev = b, .reset_count = b->vp.reset_count };
    if (r->chain.in_bytes == 0) {
        virtio_pci_needs_reset(&b->vp, "request %u has no device-writable status byte",
                               r->chain.head);
        return release(b, r);
    }
    dispatch(b, r, bg);
}

static struct vblk_req *free_req(struct virtio_blk *b)
{
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++) {
        if (!b->req[i].busy)
            return &b->req[i];
    }
    return NULL;
}

static void arm_poll(struct virtio_blk *b)
{
    const struct vdev_platform *p = b->vp.plat;
    if (b->poll_timer == VIRTIO_BLK_NO_TIMER || !p->timer_arm)
        return;
    uint64_t t = now(b);
    p->timer_arm(p->ctx, b->poll_timer, t ? t : 1);
}

/* Pieces of requests already started come first, oldest slot first. */
static void resume_requests(struct virtio_blk *b, struct budget *bg)
{
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE && budget_left(b, bg); i++) {
        struct vblk_req *r = &b->req[i];
        if (!r->busy || !r->resume)
            continue;
        if (stale(r)) {
            b->stats.stale_completions++;
            r->resume = false;
            release(b, r);
            continue;
        }
        submit_pieces(b, r, bg);
    }
}

/* Requests between two pieces (nothing at the backend) of a device that was reset or
 * broke: dropped, as a completion after a reset is. */
static void drop_resumable(struct virtio_blk *b)
{
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++) {
        struct vblk_req *r = &b->req[i];
        if (r->busy && r->resume) {
            r->resume = false;
            b->stats.stale_completions++;
            release(b, r);
        }
    }
}

static bool resume_left(const struct virtio_blk *b)
{
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
        if (b->req[i].busy && b->req[i].resume)
            return true;
    return false;
}

unsigned virtio_blk_cancel(struct virtio_blk *b)
{
    b->intake_paused = true;
    unsigned n = 0;
    for (;;) {                          /* the oldest not yet cancelled, until none is left */
        struct vblk_req *oldest = NULL;
        for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++) {
            struct vblk_req *r = &b->req[i];
            if (!stale(r) && (!oldest || (int32_t)(r->seq - oldest->seq) < 0))
                oldest = r;
        }
        if (!oldest || b->reissue_count >= VIRTQ_MAX_SIZE)
            break;
        b->reissue[b->reissue_count++] = oldest->chain.head;
        oldest->cancelled = true;
        if (oldest->resume) {           /* between two pieces: nothing at the backend */
            oldest->resume = false;
            release(b, oldest);
        }
        n++;
    }
    b->stats.cancelled += n;
    return n;
}

/* Requests cancelled in flight start again, oldest first, before the ring's next ones. */
static void reissue_requests(struct virtio_blk *b, struct virtq *q, struct budget *bg,
                             bool *more)
{
    while (b->reissue_count && !b->intake_paused && q && q->enabled &&
           !virtio_pci_broken(&b->vp)) {
        if (!bg->requests || !budget_left(b, bg)) {
            *more = true;
            return;
        }
        struct vblk_req *r = free_req(b);
        if (!r) {
            b->stalled = true;
            return;
        }
        uint16_t head = b->reissue[0];
        b->reissue_count--;
        memmove(b->reissue, b->reissue + 1, b->reissue_count * sizeof(b->reissue[0]));
        const char *why;
        if (virtq_walk(q, b->vp.plat, head, &r->chain, &why) == VIRTQ_BROKEN) {
            virtio_pci_needs_reset(&b->vp, "request %u started again: %s", head, why);
            return;
        }
        bg->requests--;
        b->stats.reissued++;
        start_request(b, r, 0, bg);
    }
}

/* One budget of work: pieces left over, requests cancelled earlier, then new requests
 * from the ring. */
static void process_queue(struct virtio_blk *b, unsigned qi)
{
    struct virtq *q = virtio_pci_queue(&b->vp, qi);
    struct budget bg = { VIRTIO_BLK_BUDGET_REQUESTS, VIRTIO_BLK_BUDGET_BYTES, now(b) };
    bool more = false;
    b->in_notify = true;
    resume_requests(b, &bg);
    reissue_requests(b, q, &bg, &more);
    while (!more && !b->reissue_count && !b->intake_paused && q && q->enabled &&
           !virtio_pci_broken(&b->vp)) {
        if (!bg.requests || !budget_left(b, &bg)) {
            more = virtq_has_work(q, b->vp.plat);
            break;
        }
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
        bg.requests--;
        start_request(b, r, qi, &bg);
    }
    b->in_notify = false;
    if (b->irq_pending) {
        b->irq_pending = false;
        virtio_pci_queue_interrupt(&b->vp, qi);
    }
    if (more || resume_left(b)) {
        b->stats.budget_stops++;
        arm_poll(b);
    }
}

bool virtio_blk_poll(struct virtio_blk *b)
{
    if (b->in_notify)
        return false;
    if (!virtio_pci_driver_ok(&b->vp) || virtio_pci_broken(&b->vp)) {
        drop_resumable(b);
        return false;
    }
    b->stalled = false;
    process_queue(b, 0);
    struct virtq *q = virtio_pci_queue(&b->vp, 0);
    return resume_left(b) ||
           (!b->intake_paused && q && q->enabled &&
            (b->reissue_count || virtq_has_work(q, b->vp.plat)));
}

void virtio_blk_pause_intake(struct virtio_blk *b, bool paused)
{
    b->intake_paused = paused;
    if (!paused)
        arm_poll(b);
}

void virtio_blk_set_poll_timer(struct virtio_blk *b, unsigned timer_id)
{
    b->poll_timer = timer_id;
}

/* ---- transport callbacks ---------------------------------------------------------------- */

/* With a poll timer the exit only arms it: the work runs when it is due, at the vCPU's
 * next entry, one budget per poll; without one, one budget now. */
static void notify_cb(void *dev, unsigned q)
{
    struct virtio_blk *b = dev;
    if (b->poll_timer != VIRTIO_BLK_NO_TIMER && b->vp.plat->timer_arm)
        return arm_poll(b);
    process_queue(b, q);
}

static void reset_cb(void *dev)
{
    struct virtio_blk *b = dev;
    b->irq_pending = false;
    b->stalled = false;
    b->reissue_count = 0;               /* dropped, as requests in flight at a reset are */
    drop_resumable(b);
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
    put(img, 0x08, 4, VIRTIO_BLK_SIZE_MAX);
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
    uint64_t f = VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
                 VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_MQ;
    if (!be->write)
        f |= VIRTIO_BLK_F_RO;
    if (be->discard)
        f |= VIRTIO_BLK_F_DISCARD;
    if (be->copy && be->copy_check)
        f |= VIRTIO_BLK_F_ATOLL_COPY;
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
    b->poll_timer = VIRTIO_BLK_NO_TIMER;
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
