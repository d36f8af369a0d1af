/*
 * The offload provider's files and disks on the FAT32 pool: a pool file is a file object,
 * a VHDX image in the pool is also a disk object (its guest-visible contents).  Portable:
 * the kernel passes the mounted pool and pool_vhdx_env(), host tests a volume in memory.
 * Differencing disks open their parents through env->open_parent (none in the kernel yet).
 */
#ifndef ATOLL_HV_OFFLOAD_OFFLOAD_POOL_H
#define ATOLL_HV_OFFLOAD_OFFLOAD_POOL_H
#include "hv/offload/offload.h"
#include "hv/storage/fat32.h"
#include "hv/storage/vhdx.h"

struct offload_pool {
    struct fat_vol *vol;
    const struct vhdx_env *env;   /* with open_parent, for sources that are clones already */
    /* An offload write of a whole disk onto a whole disk makes a linked clone (the blocks
     * shared, hv/storage/pool_clone.h) where it can; false: always copies. */
    bool share_blocks;
};

/* Fills the io half of *pf (open, close, alloc, free) with pool's; the caller adds the
 * sec half (mac, random, now_ms). */
void offload_pool_platform(struct offload_pool *pool, struct offload_platform *pf);

/*
 * Registers p with the pool's write observers (hv/storage/pool_write_observer.h): every
 * writer that notes a write there revokes p's tokens it touches (offload_note_write).
 * 0, or -1 when the observer table is full.  Unregister before p goes.
 */
int offload_pool_observe(struct offload_provider *p);
void offload_pool_unobserve(struct offload_provider *p);

#endif
