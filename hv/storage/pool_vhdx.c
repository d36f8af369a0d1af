/* VHDX on the pool: a pool file as struct vhdx_io, and the kernel as struct vhdx_env. */
#include "hv/storage/pool.h"

#include "hv/arch/x86/cpu.h"
#include "hv/mm/kmem.h"

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

static void *env_alloc(void *ctx, size_t size) { return kmalloc(size); }  /* zeroed */
static void env_free(void *ctx, void *p) { kfree(p); }

/* Version-4 GUIDs from the TSC through splitmix64: unique, not secret. */
static void env_guid(void *ctx, struct guid *out)
{
    static uint64_t state;
    for (int half = 0; half < 2; half++) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull ^ rdtsc());
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (int i = 0; i < 8; i++)
            out->b[half * 8 + i] = (uint8_t)(z >> (8 * i));
    }
    out->b[7] = (uint8_t)((out->b[7] & 0x0f) | 0x40);
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

static const struct vhdx_env env = {
    .alloc = env_alloc, .free = env_free, .random_guid = env_guid,
};

const struct vhdx_env *pool_vhdx_env(void) { return &env; }
