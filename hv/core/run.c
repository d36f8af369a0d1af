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
#include "hv/core/display.h"
#include "hv/core/mem_scrub.h"
#include "hv/core/partition_create.h"
#include "hv/core/sched.h"
#include "hv/core/script_run.h"
#include "hv/core/services.h"
#include "hv/core/worker.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

static struct manifest manifest;
static char err[256];
static const char *manifest_text;       /* the module's bytes, for section texts */
static size_t manifest_len;
/* The manifest's own sections; those that came with a snapshot or a migration follow, their
 * texts here (partition_create_from_section), by manifest index. */
static uint32_t boot_sections;
static char *restored_text[MANIFEST_MAX_PARTITIONS];
static size_t restored_len[MANIFEST_MAX_PARTITIONS];

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
    manifest_text = phys_to_virt(m->base);
    manifest_len = m->length;
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
    /* A restored section's image may not be loaded: it is needed only to boot anew. */
    const struct boot_module *image = find_module(boot_info, mp->image);
    const struct boot_module *initrd = mp->initrd[0] ? find_module(boot_info, mp->initrd) : NULL;
    return (struct partition_spec){
        .name = mp->name, .memory = mp->memory, .vcpus = mp->vcpus,
        .cpu_mask = mp->cpus_any ? 0 : mp->cpus[0],
        .boot = boot_of(mp->boot),
        .image = image ? phys_to_virt(image->base) : NULL, .image_len = image ? image->length : 0,
        .image_name = mp->image,
        .initrd = initrd ? phys_to_virt(initrd->base) : NULL,
        .initrd_len = initrd ? initrd->length : 0,
        .cmdline = mp->cmdline,
        .disks = mp->disks, .disk_count = mp->disk_count,
        .disk_iops = mp->disk_iops, .disk_mbps = mp->disk_mbps,
        .track_writes = mp->track_writes,
        .video_service = mp->role == ROLE_VIDEO_SERVICE,
        .vgpu_client = mp->vgpu, .vgpu_weight = mp->vgpu_weight,
        .expect_end = mp->expect_end == END_KILLED ? PART_END_KILLED :
                      mp->expect_end == END_STOPPED ? PART_END_STOPPED : PART_END_EXIT,
        .expect_status = (int)mp->expect_status,
        .unassigned_kill = mp->unassigned == UNASSIGNED_KILL,
        .restart_on_reset = mp->on_reset == ON_RESET_RESTART,
        .no_debug_exit = !mp->debug_exit,
        .vcpu_state_roundtrip = mp->vcpu_state_roundtrip,
        .manifest_index = i,
    };
}

static bool create_partitions(void)
{
    struct partition *created[MANIFEST_MAX_PARTITIONS];
    unsigned n = 0;
    boot_sections = manifest.partition_count;
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
    mem_scrub_init();
    boot_info = bi;
    for (uint32_t i = 0; ok && i < manifest.partition_count; i++)
        if (manifest.partitions[i].role == ROLE_VIDEO_SERVICE)
            display_prepare(manifest.partitions[i].name);
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

/* ---- sections as text, for snapshots ----------------------------------------------------- */

static bool is_section_header(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < n && line[i] == '[';
}

size_t manifest_section_text(unsigned index, char *out, size_t size)
{
    if (index >= manifest.partition_count || !size)
        return 0;
    const char *text = restored_text[index] ? restored_text[index] : manifest_text;
    size_t len = restored_text[index] ? restored_len[index] : manifest_len;
    uint32_t first = restored_text[index] ? 1 : manifest.partitions[index].line;
    size_t n = 0;
    uint32_t line = 1;
    for (size_t at = 0; at < len;) {
        size_t end = at;
        while (end < len && text[end] != '\n')
            end++;
        if (line > first && is_section_header(text + at, end - at))
            break;
        if (line >= first) {
            size_t k = end - at + 1;
            if (n + k >= size)
                return 0;
            memcpy(out + n, text + at, end - at);
            out[n + k - 1] = '\n';
            n += k;
        }
        at = end + 1;
        line++;
    }
    out[n] = '\0';
    return n;
}

/* A slot for a section that came with a snapshot or a migration: past the manifest's own,
 * and no partition in the table made from it; -1 if none. */
static int free_section(void)
{
    for (uint32_t i = boot_sections; i < MANIFEST_MAX_PARTITIONS; i++) {
        bool used = false;
        for (unsigned k = 0; k < partition_count && !used; k++)
            used = partitions[k]->manifest_index == i;
        if (!used)
            return (int)i;
    }
    return -1;
}

struct partition *partition_create_from_section(const char *text, size_t len, const char *name,
                                                char *why, size_t why_size)
{
    static struct manifest one;
    if (manifest_parse(&one, text, len, "(snapshot)", why, why_size))
        return NULL;
    if (one.partition_count != 1 || one.rule_count) {
        fmt_snprintf(why, why_size, "the snapshot's manifest section holds %u partitions",
                     one.partition_count);
        return NULL;
    }
    int slot = free_section();
    if (slot < 0) {
        struct partition *gone = partition_oldest_ended(name, (int)boot_sections);
        if (gone) {
            slot = (int)gone->manifest_index;
            partition_forget(gone);
        }
    }
    if (slot < 0) {
        fmt_snprintf(why, why_size, "no room for another manifest section (at most %d, "
                     "and no partition made from one has ended)", MANIFEST_MAX_PARTITIONS);
        return NULL;
    }
    char *copy = kmalloc(len + 1);
    if (!copy) {
        fmt_snprintf(why, why_size, "out of memory");
        return NULL;
    }
    memcpy(copy, text, len);
    unsigned i = (unsigned)slot;
    struct manifest_partition was = manifest.partitions[i];
    manifest.partitions[i] = one.partitions[0];
    strlcpy(manifest.partitions[i].name, name, sizeof(manifest.partitions[i].name));
    struct partition_spec spec = spec_of(i);
    spec.restoring = true;
    struct partition *p = partition_create(&spec, why, why_size);
    if (!p) {
        manifest.partitions[i] = was;
        kfree(copy);
        return NULL;
    }
    kfree(restored_text[i]);
    restored_text[i] = copy;
    restored_len[i] = len;
    if (i >= manifest.partition_count)
        manifest.partition_count = i + 1;
    return p;
}
