/*
 * The hypervisor's storage service: finds ATA and NVMe disks, finds the pool (the GPT
 * partition named atoll-pool, or a disk that is one bare FAT32 volume) and mounts it.
 * Kernel only.  Started from services_start() on the boot CPU.
 */
#ifndef ATOLL_HV_STORAGE_POOL_H
#define ATOLL_HV_STORAGE_POOL_H
#include "boot/bootinfo.h"
#include "hv/core/config/manifest.h"
#include "hv/storage/fat32.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx.h"

#define POOL_PARTITION_NAME "atoll-pool"

void storage_service_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);

/* The mounted pool, or NULL; the name of the disk it is on. */
struct fat_vol *pool_volume(void);
const char *pool_disk_name(void);
/* The pool's window on its disk, for queued transfers (pool_io.h); NULL without a pool.
 * The disk takes submissions and polls from any CPU (its lock keeps interrupts on, so
 * PIO moves data with them on; never call into it holding a lock that turns them off). */
const struct block_window *pool_disk_window(void);
/* One line for the end of a run: the pool disk's requests and the most it held at once. */
void pool_disk_report(void);

/* VHDX images as pool files: the byte-addressed view of an open file (pool_vhdx_io.h), and
 * the platform. */
const struct vhdx_env *pool_vhdx_env(void);

/* The `storage-selftest` check; prints one PASS or FAIL line. */
bool pool_selftest(struct fat_vol *v);

#endif
