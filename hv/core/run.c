/*
 * After bring-up: the manifest is read and checked as a whole, then every partition is
 * created, and only when all of them could be are they started.  Services (network,
 * control) start either way; the boot CPU then joins the scheduler.
 */
#include "hv/core/run.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/machine.h"
#include "hv/core/config/manifest.h"
#include "hv/core/partition_create.h"
#include "hv/core/sched.h"
#include "hv/core/script_run.h"
#include "hv/core/services.h"
#include "hv/core/worker.h"
#include "hv/mm/kmem.h"

static struct manifest manifest;
static char err[256];

static const struct boot_module *find_module(const struct boot_info *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count && i < BOOTINFO_MAX_MODS; i++)
        if (!strncmp(bi->modules[i].name, name, BOOTINFO_NAME_LEN))
            return &bi->modules[i];
    return NULL;
}

static bool read_manifest(const struct boot_info *bi, const char *file)
{
    const struct boot_module *m = find_module(bi, file);
    if (!m) {
        kprintf("atoll: manifest '%s' was not loaded; no partition starts\n", file);
        return false;
    }
    if (manifest_parse(&manifest, phys_to_virt(m->base), m->length, file, err, sizeof(err)) ||
        manifest_check_modules(&manifest, bi->modules, bi->module_count, file, err, sizeof(err)) ||
        manifest_check_memory(&manifest, kmem_free_bytes(), file, err, sizeof(err)) ||
        script_run_init(&manifest, file, err, sizeof(err))) {
        kprintf("%s\n", err);
        kprintf("atoll: manifest rejected; no partition starts\n");
        return false;
    }
    return true;
}

static enum partition_boot boot_of(enum manifest_boot b)
{
    switch (b) {
    case BOOT_FLAT: return PARTITION_BOOT_FLAT;
    case BOOT_MULTIBOOT: return PARTITION_BOOT_MULTIBOOT;
    case BOOT_LINUX: return PARTITION_BOOT_LINUX;
    default: return PARTITION_BOOT_ELF64;
    }
}

static const struct boot_info *boot_info;

/* What the manifest's section i says to create (its modules are loaded: checked before). */
static struct partition_spec spec_of(uint32_t i)
{
    const struct manifest_partition *mp = &manifest.partitions[i];
    const struct boot_module *image = find_module(boot_info, mp->image);
    const struct boot_module *initrd = mp->initrd[0] ? find_module(boot_info, mp->initrd) : NULL;
    return (struct partition_spec){
        .name = mp->name, .memory = mp->memory, .vcpus = mp->vcpus,
        .cpu_mask = mp->cpus_any ? 0 : mp->cpus[0],
        .boot = boot_of(mp->boot),
        .image = phys_to_virt(image->base), .image_len = image->length,
        .image_name = mp->image,
        .initrd = initrd ? phys_to_virt(initrd->base) : NULL,
        .initrd_len = initrd ? initrd->length : 0,
        .cmdline = mp->cmdline,
        .disks = mp->disks, .disk_count = mp->disk_count,
        .disk_iops = mp->disk_iops, .disk_mbps = mp->disk_mbps,
        .track_writes = mp->track_writes,
        .expect_end = mp->expect_end == END_KILLED ? PART_END_KILLED :
                      mp->expect_end == END_STOPPED ? PART_END_STOPPED : PART_END_EXIT,
        .expect_status = (int)mp->expect_status,
        .unassigned_kill = mp->unassigned == UNASSIGNED_KILL,
        .restart_on_reset = mp->on_reset == ON_RESET_RESTART,
        .vcpu_state_roundtrip = mp->vcpu_state_roundtrip,
        .manifest_index = i,
    };
}

static bool create_partitions(void)
{
    struct partition *created[MANIFEST_MAX_PARTITIONS];
    unsigned n = 0;
    for (uint32_t i = 0; i < manifest.partition_count; i++) {
        struct partition_spec spec = spec_of(i);
        struct partition *p = partition_create(&spec, err, sizeof(err));
        if (!p) {
            kprintf("atoll: %s\n", err);
            for (unsigned k = 0; k < n; k++)
                partition_kill(created[k], "another partition could not be created");
            return false;
        }
        created[n++] = p;
    }
    for (unsigned k = 0; k < n; k++)
        if (manifest.partitions[k].autostart)
            partition_start(created[k]);
    return true;
}

void partition_restarts_poll(void)
{
    for (unsigned i = 0; i < partition_count; i++) {
        struct partition *old = partitions[i];
        if (!old->finished || !old->restart_requested)
            continue;
        struct partition_spec spec = spec_of(old->manifest_index);
        spec.nvram = old->nvram;
        struct partition *fresh = partition_create(&spec, err, sizeof(err));
        if (!fresh) {
            kprintf("atoll: partition %s cannot restart: %s\n", old->name, err);
            old->restart_requested = false;
            continue;
        }
        partition_replace(old, fresh);
        kprintf("atoll: partition %s restarts after its reset\n", fresh->name);
        partition_start(fresh);
    }
}

struct partition *partition_create_restoring(const struct partition *old, char *why,
                                             size_t why_size)
{
    struct partition_spec spec = spec_of(old->manifest_index);
    spec.restoring = true;
    return partition_create(&spec, why, why_size);
}

void hv_run(const struct boot_info *bi, const struct boot_config *cfg, bool partitions_usable)
{
    bool ok = read_manifest(bi, cfg->manifest);
    if (ok && cfg->test_exit == false && manifest.hv.exit_when_done)
        machine_set_test_exit(true);
    /* Services first: partitions' disks live in the storage pool. */
    services_start(ok ? &manifest.hv : NULL, bi);
    worker_init(ok ? &manifest.hv : NULL);
    boot_info = bi;
    if (ok && partitions_usable)
        ok = create_partitions();
    if (cfg->worker_selftest)
        worker_selftest_start();
    if (!ok && !machine_test_exit())
        kprintf("atoll: nothing will run: fix the manifest (on a Linux host, `atoll check "
                "MANIFEST` finds such errors without a boot) and boot again\n");
    if (!ok)
        machine_finish(false, "manifest");
    sched_loop(true);
}
