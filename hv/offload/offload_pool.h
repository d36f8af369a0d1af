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
    const struct vhdx_env *env;
};

/* Fills the io half of *pf (open, close, alloc, free) with pool's; the caller adds the
 * sec half (mac, random, now_ms). */
void offload_pool_platform(struct offload_pool *pool, struct offload_platform *pf);

#endif
