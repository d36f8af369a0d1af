/*
 * hv_run for the network-only test kernel (make net-only-kernel): reads the manifest,
 * starts the network service and polls it forever.  It stands in for the kernel's own
 * run loop so the network service can be tested on its own.
 */
#include <string.h>

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/machine.h"
#include "hv/core/config/manifest.h"
#include "hv/core/partition_create.h"
#include "hv/core/run.h"
#include "hv/mm/kmem.h"
#include "net/kernel/net_service.h"

static struct manifest manifest;

static const struct boot_module *module_named(const struct boot_info *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count && i < BOOTINFO_MAX_MODS; i++)
        if (!strncmp(bi->modules[i].name, name, BOOTINFO_NAME_LEN))
            return &bi->modules[i];
    return NULL;
}

void hv_run(const struct boot_info *bi, const struct boot_config *cfg, bool partitions_usable)
{
    char err[MANIFEST_ERR_LEN];
    const struct boot_module *m = module_named(bi, cfg->manifest);
    if (!m)
        machine_fatal("no manifest module");
    if (manifest_parse(&manifest, phys_to_virt(m->base), m->length, cfg->manifest, err,
                       sizeof(err)) != 0) {
        kprintf("%s\n", err);
        machine_fatal("bad manifest");
    }
    kprintf("atoll: network-only kernel (tests/net/net_only_run.c)\n");
    net_service_start(&manifest.hv, bi);
    for (;;) {
        uint64_t wait = net_service_poll();
        if (wait)
            lapic_halt_ns(wait);
    }
}

/* run.c's other entry point: this kernel creates no partitions, so none restarts. */
void partition_restarts_poll(void)
{
}

/* Nor is any checkpointed. */
struct partition *partition_create_restoring(const struct partition *old, char *err,
                                             size_t err_size)
{
    return NULL;
}

/* Nor is any snapshotted or restored: no manifest sections to give. */
size_t manifest_section_text(unsigned index, char *out, size_t size)
{
    if (size)
        out[0] = '\0';
    return 0;
}

struct partition *partition_create_from_section(const char *text, size_t len, const char *name,
                                                char *why, size_t why_size)
{
    strlcpy(why, "this kernel runs no partitions", why_size);
    return NULL;
}
