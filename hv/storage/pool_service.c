/*
 * Storage service: drivers probe, each disk is searched for the pool, the first one found
 * is mounted and announced; `storage-selftest` on the kernel command line runs the check,
 * and `ata-pio` keeps ATA disks off bus-master DMA.
 */
#include "hv/storage/pool.h"
#include "hv/storage/pool_clone.h"

#include <string.h>
#include "drivers/ata/ata.h"
#include "drivers/nvme/nvme.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/lib/cmdline.h"
#include "hv/mm/kmem.h"
#include "hv/storage/gpt.h"

static struct fat_vol pool;
static struct block_window pool_window;
static struct block_device *pool_dev;

struct fat_vol *pool_volume(void) { return pool_dev ? &pool : NULL; }
const char *pool_disk_name(void) { return pool_dev ? pool_dev->name : ""; }
const struct block_window *pool_disk_window(void) { return pool_dev ? &pool_window : NULL; }

void pool_disk_report(void)
{
    if (pool_dev)
        kprintf("atoll: %s: %lu requests, %lu errors, at most %u commands outstanding\n",
                pool_dev->name, (unsigned long)pool_dev->completed,
                (unsigned long)pool_dev->errors, pool_dev->max_inflight);
}

/* The pool disk's lock: a plain spinlock, interrupts stay on (see pool.h). */
static spinlock_t pool_dev_lock = SPINLOCK_INIT;

static uint64_t dev_lock(void *l)
{
    spin_lock(l);
    return 0;
}

static void dev_unlock(void *l, uint64_t token)
{
    (void)token;
    spin_unlock(l);
}

static const struct block_lock_ops dev_lock_ops = { dev_lock, dev_unlock };

static void *map_phys(uint64_t phys) { return phys_to_virt(phys); }

/* Mounts the pool on d if d has one; prints why not when d looks like it should. */
static bool try_disk(struct block_device *d)
{
    struct block_io whole, io;
    struct block_window w;
    struct gpt_part p;
    char err[96];
    block_io_window(&whole, &w, d, 0, d->sectors);
    int rc = gpt_find(&whole, POOL_PARTITION_NAME, NULL, &p, err, sizeof(err));
    bool bare = rc == GPT_E_NONE;
    if (rc == GPT_OK) {
        block_io_window(&io, &pool_window, d, p.first_lba, p.last_lba - p.first_lba + 1);
    } else if (bare) {
        block_io_window(&io, &pool_window, d, 0, d->sectors);
    } else {
        kprintf("storage: %s: %s\n", d->name, err);
        return false;
    }
    rc = fat_mount(&pool, &io);
    if (rc) {
        kprintf("storage: %s: no Atoll pool on this disk (%s)\n", d->name, pool.err);
        return false;
    }
    struct fat_stat st;
    if (bare && fat_stat(&pool, "/EFI", &st) == FAT_OK) {
        kprintf("storage: %s: a boot volume (has /EFI), not a pool\n", d->name);
        return false;
    }
    block_set_lock(d, &dev_lock_ops, &pool_dev_lock);
    pool_dev = d;
    return true;
}

void storage_service_start(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    block_phys_map = map_phys;
    block_clock_ns = time_ns;
    uint64_t t0 = time_ns();
    unsigned disks = ata_probe(!cmdline_has(bi->cmdline, "ata-pio")) + nvme_probe();
    if (!disks) {
        kprintf("storage: no disks\n");
        return;
    }
    for (struct block_device *d = block_first(); d && !pool_dev; d = d->next_dev)
        try_disk(d);
    if (!pool_dev) {
        kprintf("storage: no pool found\n");
        return;
    }
    kprintf("storage: pool on %s (%lu MiB, %lu MiB free) in %lu ms\n", pool_dev->name,
            (unsigned long)(fat_total_bytes(&pool) >> 20),
            (unsigned long)(fat_free_bytes(&pool) >> 20),
            (unsigned long)((time_ns() - t0) / 1000000));
    int settled = pool_clone_recover(&pool, pool_vhdx_env());
    if (settled)
        kprintf("storage: %d linked-clone file(s) %s\n", settled,
                settled > 0 ? "settled after a cut (work files, bases left with no child)"
                            : "could not be settled");
    if (cmdline_has(bi->cmdline, "storage-selftest"))
        pool_selftest(&pool);
}
