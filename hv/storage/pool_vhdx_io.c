#include "hv/storage/pool_vhdx_io.h"

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    long n = fat_read(ctx, off, buf, len);
    return n == (long)len ? 0 : -1;
}

static int file_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    long n = fat_write(ctx, off, buf, len);
    return n == (long)len ? 0 : -1;
}

static int file_flush(void *ctx) { return fat_flush(ctx) ? -1 : 0; }
static uint64_t file_size(void *ctx) { return ((struct fat_file *)ctx)->size; }
static int file_resize(void *ctx, uint64_t size) { return fat_truncate(ctx, size) ? -1 : 0; }

void pool_vhdx_io(struct fat_file *f, struct vhdx_io *io)
{
    io->ctx = f;
    io->read = file_read;
    io->write = file_write;
    io->flush = file_flush;
    io->size = file_size;
    io->resize = file_resize;
}
