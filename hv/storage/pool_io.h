/*
 * Queued transfers to and from pool files: a range of a file (raw, or a VHDX's virtual
 * disk) is mapped to device LBAs under the pool's lock (VHDX BAT -> file offset, FAT chain
 * -> volume sectors -> the pool disk's LBAs), then moved as block requests on the pool
 * disk's queue with no lock held, so transfers of several pieces, disks and partitions
 * are outstanding on the device at once (NVMe: one command per slot; ATA: one at a time).
 * Only ranges whose mapping needs no metadata change are mapped: a write that allocates
 * (a VHDX block, a sector bitmap) or a read of a parent's data goes through fat32.h and
 * vhdx.h under the pool's lock as before, so allocation is as crash-safe as it was.
 * Portable; the caller orders transfers that overlap (this layer starts what it is given).
 */
#ifndef ATOLL_HV_STORAGE_POOL_IO_H
#define ATOLL_HV_STORAGE_POOL_IO_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/storage/block.h"
#include "hv/storage/fat32.h"
#include "hv/storage/vhdx.h"

#define POOL_IO_RUNS 8          /* block requests per transfer; more fragmented: not mapped */

struct pool_io;
typedef void (*pool_io_done_fn)(struct pool_io *x);

struct pool_io {
    struct block_device *dev;
    enum block_op op;
    unsigned runs;
    struct block_request req[POOL_IO_RUNS];
    uint32_t pending;           /* requests not finished, plus one while starting (atomic) */
    int status;                 /* the first error, a block_status (atomic) */
    pool_io_done_fn done;
    void *ctx;
};

/*
 * The pool's lock held: maps [off, off + len) of the file (through vhdx when not NULL) on
 * the volume inside window w to x's requests of class cls over buf (len bytes; a read's
 * zero ranges are filled here).  BLOCK_OK: start it with pool_io_start.  Otherwise it is
 * not mappable (or not valid): do it through fat_read/fat_write or vhdx_read/vhdx_write.
 */
int pool_io_map(struct pool_io *x, const struct block_window *w, struct fat_file *f,
                struct vhdx *vhdx, enum block_op op, enum block_class cls, uint64_t off,
                uint32_t len, void *buf);

/* No lock held: queues x's requests and starts them (polling the device while its queue
 * is full).  done(x) is called once, when all have finished (x->status says how), from
 * whoever polls the device (block_poll), or from here. */
void pool_io_start(struct pool_io *x, pool_io_done_fn done, void *ctx);

/*
 * Order between transfers of one disk: a request waits for one in transfer when both touch
 * a 4 KiB unit (the largest pool sector, so a read-modify-write of a shared sector is
 * covered too) and either writes (a write or a trim); a flush waits for everything.
 */
#define POOL_IO_ORDER_GRAIN 4096u

struct pool_io_range {
    uint64_t from, to;          /* bytes, rounded out to POOL_IO_ORDER_GRAIN */
    bool writes;
};

void pool_io_range(struct pool_io_range *g, enum block_op op, uint64_t off, uint64_t len);
/* Whether the later of two must wait for the earlier. */
bool pool_io_ranges_conflict(const struct pool_io_range *a, const struct pool_io_range *b);

#endif
