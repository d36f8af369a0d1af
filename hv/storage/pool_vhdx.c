/* VHDX on the pool: the kernel as struct vhdx_env (a pool file as struct vhdx_io: pool_vhdx_io.c). */
#include "hv/storage/pool.h"

#include "hv/arch/x86/cpu.h"
#include "hv/mm/kmem.h"
#include "hv/storage/pool_write_observer.h"
#include "hv/storage/vhdx_parent_path.h"

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

/*
 * A differencing disk's parent: the pool file its locator names (relative_path from the
 * child's folder, else absolute_win32_path from the pool's root), opened as a pool file of
 * its own.  vhdx_open then checks the linkage against the parent's DataWriteGuid.  The
 * pool's lock is held (as for every VHDX open in the pool).
 */
static int env_open_parent(void *ctx, const char *child, const char *rel, const char *abs,
                           bool writable, struct vhdx_io *io, char *name, size_t name_size)
{
    struct fat_vol *v = pool_volume();
    struct fat_file *f = v ? kmalloc(sizeof(*f)) : NULL;
    if (!f)
        return -1;
    for (int relative = 1; relative >= 0; relative--) {
        if (!vhdx_parent_pool_path(child, relative ? rel : abs, relative, name, name_size) ||
            fat_open(v, name, 0, f) != 0)
            continue;
        if (writable)   /* a merge: its header and blocks change */
            pool_write_note(POOL_WRITE_FILE, name, 0, POOL_WRITE_ALL);
        pool_vhdx_io(f, io);
        return 0;
    }
    kfree(f);
    return -1;
}

static void env_close_parent(void *ctx, struct vhdx_io *io)
{
    struct fat_file *f = io->ctx;
    if (f) {
        fat_close(f);
        kfree(f);
    }
    io->ctx = NULL;
}

static const struct vhdx_env env = {
    .alloc = env_alloc, .free = env_free, .random_guid = env_guid,
    .open_parent = env_open_parent, .close_parent = env_close_parent,
};

const struct vhdx_env *pool_vhdx_env(void) { return &env; }
