/* virtio-blk backend over memory, optionally completing later. */
#include "hv/vdev/vblk_ram.h"

#include <string.h>

#define CHUNK 4096u

void vblk_ram_init(struct vblk_ram *r, void *data, uint64_t bytes, uint32_t sector_size)
{
    memset(r, 0, sizeof(*r));
    r->data = data;
    r->bytes = bytes;
    r->sector_size = sector_size;
}

static bool in_range(const struct vblk_ram *r, const struct vblk_io *io)
{
    return io->offset <= r->bytes && io->length <= r->bytes - io->offset;
}

static enum vblk_status do_read(struct vblk_ram *r, struct vblk_io *io)
{
    for (uint64_t pos = 0; pos < io->length; pos += CHUNK) {
        uint64_t n = io->length - pos < CHUNK ? io->length - pos : CHUNK;
        if (!vblk_io_to_guest(io, pos, r->data + io->offset + pos, n))
            return VBLK_IOERR;
    }
    return VBLK_OK;
}

/* Takes the whole request before touching the disk, so a refused guest buffer leaves
 * the disk as it was. */
static enum vblk_status do_write(struct vblk_ram *r, struct vblk_io *io)
{
    uint8_t chunk[512];
    for (uint64_t pos = 0; pos < io->length; pos += sizeof(chunk)) {
        uint64_t n = io->length - pos < sizeof(chunk) ? io->length - pos : sizeof(chunk);
        if (!vblk_io_from_guest(io, pos, chunk, n))
            return VBLK_IOERR;
    }
    for (uint64_t pos = 0; pos < io->length; pos += CHUNK) {
        uint64_t n = io->length - pos < CHUNK ? io->length - pos : CHUNK;
        vblk_io_from_guest(io, pos, r->data + io->offset + pos, n);
    }
    return VBLK_OK;
}

enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD };

static enum vblk_status run(struct vblk_ram *r, struct vblk_io *io, enum op op)
{
    if (r->fail_next) {
        r->fail_next = false;
        return VBLK_IOERR;
    }
    if (op != OP_FLUSH && !in_range(r, io))
        return VBLK_IOERR;
    switch (op) {
    case OP_READ: return do_read(r, io);
    case OP_WRITE: return do_write(r, io);
    case OP_FLUSH: r->flushes++; return VBLK_OK;
    case OP_DISCARD:
        r->discards++;
        memset(r->data + io->offset, 0, io->length);
        return VBLK_OK;
    }
    return VBLK_IOERR;
}

static enum vblk_status start(void *ctx, struct vblk_io *io, enum op op)
{
    struct vblk_ram *r = ctx;
    if (!r->async)
        return run(r, io, op);
    if (r->npending == VBLK_RAM_MAX_PENDING)
        return VBLK_IOERR;
    r->pending_op[r->npending] = (uint8_t)op;
    r->pending[r->npending++] = io;
    return VBLK_PENDING;
}

unsigned vblk_ram_complete(struct vblk_ram *r, unsigned max, bool newest_first)
{
    unsigned done = 0;
    while (done < max && r->npending) {
        unsigned i = newest_first ? r->npending - 1 : 0;
        struct vblk_io *io = r->pending[i];
        enum op op = (enum op)r->pending_op[i];
        r->npending--;
        memmove(&r->pending[i], &r->pending[i + 1], (r->npending - i) * sizeof(r->pending[0]));
        memmove(&r->pending_op[i], &r->pending_op[i + 1], r->npending - i);
        vblk_io_complete(io, run(r, io, op));
        done++;
    }
    return done;
}

static enum vblk_status ram_read(void *ctx, struct vblk_io *io) { return start(ctx, io, OP_READ); }
static enum vblk_status ram_write(void *ctx, struct vblk_io *io) { return start(ctx, io, OP_WRITE); }
static enum vblk_status ram_flush(void *ctx, struct vblk_io *io) { return start(ctx, io, OP_FLUSH); }
static enum vblk_status ram_discard(void *ctx, struct vblk_io *io) { return start(ctx, io, OP_DISCARD); }
static uint64_t ram_capacity(void *ctx) { return ((struct vblk_ram *)ctx)->bytes; }
static uint32_t ram_sector(void *ctx) { return ((struct vblk_ram *)ctx)->sector_size; }

const struct vblk_backend vblk_ram_backend = {
    .read = ram_read, .write = ram_write, .flush = ram_flush, .discard = ram_discard,
    .capacity = ram_capacity, .sector_size = ram_sector,
};

const struct vblk_backend vblk_ram_backend_ro = {
    .read = ram_read, .flush = ram_flush, .capacity = ram_capacity, .sector_size = ram_sector,
};
