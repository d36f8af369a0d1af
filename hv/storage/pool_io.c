/* Pool file ranges as block requests: mapping under the pool's lock, transfer without it. */
#include "hv/storage/pool_io.h"

#include <string.h>
#include "hv/storage/vhdx_map.h"

/* Adds the volume runs of file bytes [foff, foff + len) at buf to x's requests. */
static int add_runs(struct pool_io *x, const struct block_window *w, struct fat_file *f,
                    enum block_class cls, uint64_t foff, uint32_t len, uint8_t *buf)
{
    struct fat_extent ext[POOL_IO_RUNS];
    unsigned n;
    if (fat_map(f, foff, len, ext, POOL_IO_RUNS - x->runs, &n))
        return BLOCK_E_UNSUPPORTED;
    uint32_t ss = w->dev->sector_size;
    for (unsigned i = 0; i < n; i++) {
        uint64_t lba = ext[i].lba;
        uint32_t left = ext[i].sectors;
        if (lba >= w->sectors || left > w->sectors - lba)
            return BLOCK_E_RANGE;
        while (left) {
            uint32_t k = left < w->dev->max_sectors ? left : w->dev->max_sectors;
            if (x->runs == POOL_IO_RUNS)
                return BLOCK_E_UNSUPPORTED;
            x->req[x->runs++] = (struct block_request){
                .op = x->op, .cls = cls, .lba = w->start + lba, .count = k, .buf = buf,
            };
            buf += (size_t)k * ss;
            lba += k;
            left -= k;
        }
    }
    return BLOCK_OK;
}

int pool_io_map(struct pool_io *x, const struct block_window *w, struct fat_file *f,
                struct vhdx *vhdx, enum block_op op, enum block_class cls, uint64_t off,
                uint32_t len, void *buf)
{
    x->dev = w->dev;
    x->op = op;
    x->runs = 0;
    x->status = BLOCK_OK;
    if ((op != BLOCK_READ && op != BLOCK_WRITE) || !len || f->v->sector != w->dev->sector_size)
        return BLOCK_E_UNSUPPORTED;
    if (!vhdx)
        return add_runs(x, w, f, cls, off, len, buf);
    struct vhdx_span span[POOL_IO_RUNS];
    unsigned n;
    if (vhdx_map(vhdx, off, len, op == BLOCK_WRITE, span, POOL_IO_RUNS, &n, NULL))
        return BLOCK_E_UNSUPPORTED;
    uint8_t *p = buf;
    for (unsigned i = 0; i < n; i++) {
        if (span[i].zero) {
            memset(p, 0, span[i].len);
        } else {
            int rc = add_runs(x, w, f, cls, span[i].file_off, span[i].len, p);
            if (rc)
                return rc;
        }
        p += span[i].len;
    }
    return BLOCK_OK;
}

void pool_io_range(struct pool_io_range *g, enum block_op op, uint64_t off, uint64_t len)
{
    g->writes = op != BLOCK_READ;
    if (op == BLOCK_FLUSH || off > UINT64_MAX - POOL_IO_ORDER_GRAIN ||
        len > UINT64_MAX - POOL_IO_ORDER_GRAIN - off) {
        g->from = 0;
        g->to = UINT64_MAX;
        return;
    }
    g->from = off / POOL_IO_ORDER_GRAIN * POOL_IO_ORDER_GRAIN;
    g->to = (off + len + POOL_IO_ORDER_GRAIN - 1) / POOL_IO_ORDER_GRAIN * POOL_IO_ORDER_GRAIN;
}

bool pool_io_ranges_conflict(const struct pool_io_range *a, const struct pool_io_range *b)
{
    return (a->writes || b->writes) && a->from < b->to && b->from < a->to;
}

static void finish_one(struct pool_io *x)
{
    if (__atomic_sub_fetch(&x->pending, 1, __ATOMIC_ACQ_REL) == 0)
        x->done(x);             /* x is the owner's from here on */
}

static void note_error(struct pool_io *x, int status)
{
    int ok = BLOCK_OK;
    __atomic_compare_exchange_n(&x->status, &ok, status, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
}

static void request_done(struct block_request *r, int status)
{
    struct pool_io *x = r->ctx;
    if (status)
        note_error(x, status);
    finish_one(x);
}

void pool_io_start(struct pool_io *x, pool_io_done_fn done, void *ctx)
{
    x->done = done;
    x->ctx = ctx;
    __atomic_store_n(&x->pending, x->runs + 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < x->runs; i++) {
        struct block_request *r = &x->req[i];
        r->done = request_done;
        r->ctx = x;
        int rc;
        while ((rc = block_submit(x->dev, r)) == BLOCK_E_BUSY)
            block_poll(x->dev);
        if (rc) {
            note_error(x, rc);
            finish_one(x);
        }
    }
    if (x->runs)
        block_kick(x->dev);
    finish_one(x);
}
