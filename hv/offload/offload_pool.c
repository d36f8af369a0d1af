/* Files and VHDX disks of the FAT32 pool as offload objects (hv/offload/offload_pool.h). */
#include "hv/offload/offload_pool.h"

#include <string.h>

#include "hv/lib/format.h"
#include "hv/storage/pool_clone.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/pool_write_observer.h"

struct pool_obj {
    struct fat_file f;
    struct vhdx_io vio;
    struct vhdx *d;
};

static int obj_file_read(void *h, uint64_t off, void *buf, size_t len)
{
    struct vhdx_io *io = &((struct pool_obj *)h)->vio;
    return io->read(io->ctx, off, buf, len);
}

static int obj_file_write(void *h, uint64_t off, const void *buf, size_t len)
{
    struct vhdx_io *io = &((struct pool_obj *)h)->vio;
    return io->write(io->ctx, off, buf, len);
}

static int obj_file_flush(void *h)
{
    struct vhdx_io *io = &((struct pool_obj *)h)->vio;
    return io->flush(io->ctx);
}

static int disk_read(void *h, uint64_t off, void *buf, size_t len)
{
    return vhdx_read(((struct pool_obj *)h)->d, off, buf, len, NULL) ? -1 : 0;
}

static int disk_write(void *h, uint64_t off, const void *buf, size_t len)
{
    return vhdx_write(((struct pool_obj *)h)->d, off, buf, len, NULL) ? -1 : 0;
}

static int disk_flush(void *h) { return vhdx_flush(((struct pool_obj *)h)->d, NULL) ? -1 : 0; }

/* Zero by metadata: not present in a disk without a parent (a differencing disk's absent
 * blocks are its parent's data). */
static int disk_zero_extent(void *h, uint64_t off, uint64_t len, bool *zero, uint64_t *run)
{
    struct vhdx *d = ((struct pool_obj *)h)->d;
    bool present;
    if (vhdx_layer_extent(d, off, len, &present, run, NULL))
        return -1;
    *zero = !present && !vhdx_parent(d);
    return 0;
}

static int disk_punch(void *h, uint64_t off, uint64_t len)
{
    return vhdx_trim(((struct pool_obj *)h)->d, off, len, NULL) ? -1 : 0;
}

static int pool_open(void *ctx, uint8_t kind, const char *name, bool writable,
                     struct offload_io *io, char *msg, size_t msg_size)
{
    struct offload_pool *pool = ctx;
    struct pool_obj *o = pool->env->alloc(pool->env->ctx, sizeof(*o));
    if (!o)
        return fmt_snprintf(msg, msg_size, "out of memory"), OFFLOAD_E_NOMEM;
    unsigned flags = writable && kind == TOKEN_RANGE_FILE ? FAT_O_CREATE : 0;
    int rc = fat_open(pool->vol, name, flags, &o->f);
    if (rc == FAT_OK && o->f.is_dir) {
        fat_close(&o->f);
        rc = FAT_E_IS_DIR;
    }
    if (rc != FAT_OK) {
        pool->env->free(pool->env->ctx, o);
        fmt_snprintf(msg, msg_size, "%s: %s", name, fat_status_name(rc));
        return rc == FAT_E_NOT_FOUND ? OFFLOAD_E_NOT_FOUND
             : rc == FAT_E_IO ? OFFLOAD_E_IO : OFFLOAD_E_INVALID;
    }
    memset(io, 0, sizeof(*io));
    io->h = o;
    pool_vhdx_io(&o->f, &o->vio);
    if (kind == TOKEN_RANGE_FILE) {
        io->size = o->f.size;
        io->granule = 1;
        io->read = obj_file_read, io->write = obj_file_write, io->flush = obj_file_flush;
        return OFFLOAD_OK;
    }
    struct vhdx_err err;
    rc = vhdx_open(pool->env, &o->vio, name, writable ? 0 : VHDX_OPEN_READ_ONLY, &o->d, &err);
    if (rc) {
        fat_close(&o->f);
        pool->env->free(pool->env->ctx, o);
        fmt_snprintf(msg, msg_size, "%s", err.msg);
        return rc == VHDX_E_IO ? OFFLOAD_E_IO : rc == VHDX_E_NOMEM ? OFFLOAD_E_NOMEM
                                                                   : OFFLOAD_E_INVALID;
    }
    struct vhdx_info info;
    vhdx_get_info(o->d, &info);
    io->size = info.disk_size;
    io->granule = info.logical_sector_size;
    io->data_write_guid = info.data_write_guid;
    io->read = disk_read, io->write = disk_write, io->flush = disk_flush;
    io->zero_extent = disk_zero_extent, io->punch = disk_punch;
    return OFFLOAD_OK;
}

static void pool_close(void *ctx, struct offload_io *io)
{
    struct offload_pool *pool = ctx;
    struct pool_obj *o = io->h;
    if (o->d)
        vhdx_close(o->d, NULL);
    fat_close(&o->f);
    pool->env->free(pool->env->ctx, o);
}

/* A whole disk onto a whole disk: a linked clone (hv/storage/pool_clone.h). */
static int pool_clone_disk(void *ctx, const struct offload_clone *c, char *msg, size_t msg_size)
{
    struct offload_pool *pool = ctx;
    struct pool_clone_req r = { .src = c->src, .dst = c->dst, .length = c->length,
                                .src_data_write_guid = &c->src_data_write_guid,
                                .still_valid = c->still_valid, .committed = c->committed,
                                .ctx = c->ctx };
    char why[200];
    switch (pool_clone(pool->vol, pool->env, &r, why, sizeof why)) {
    case POOL_CLONE_OK:       return OFFLOAD_OK;
    case POOL_CLONE_DECLINED: return OFFLOAD_CLONE_DECLINED;
    case POOL_CLONE_CHANGED:
        if (msg && msg_size && !msg[0])   /* the token's own check may have said why */
            fmt_snprintf(msg, msg_size, "token no longer valid: %s", why);
        return OFFLOAD_E_REVOKED;
    default:
        fmt_snprintf(msg, msg_size, "%s", why);
        return OFFLOAD_E_IO;
    }
}

static void *pool_alloc(void *ctx, size_t size)
{
    const struct vhdx_env *env = ((struct offload_pool *)ctx)->env;
    return env->alloc(env->ctx, size);
}

static void pool_free(void *ctx, void *p)
{
    const struct vhdx_env *env = ((struct offload_pool *)ctx)->env;
    env->free(env->ctx, p);
}

void offload_pool_platform(struct offload_pool *pool, struct offload_platform *pf)
{
    pf->io_ctx = pool;
    pf->open = pool_open;
    pf->close = pool_close;
    pf->alloc = pool_alloc;
    pf->free = pool_free;
    pf->clone = pool->share_blocks ? pool_clone_disk : NULL;
}

static void observed(void *ctx, enum pool_write_what what, const char *path, uint64_t off,
                     uint64_t len)
{
    offload_note_write(ctx, what == POOL_WRITE_DISK ? TOKEN_RANGE_DISK : TOKEN_RANGE_FILE, path,
                       off, len);
}

int offload_pool_observe(struct offload_provider *p)
{
    return pool_write_observer_add(observed, p);
}

void offload_pool_unobserve(struct offload_provider *p)
{
    pool_write_observer_remove(observed, p);
}
