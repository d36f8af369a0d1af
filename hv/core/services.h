/*
 * The hypervisor's own services that run beside the partitions (the storage pool, the
 * network and control server), started in the order of one explicit table.  The table
 * belongs to the layer above the core (services/service_table.c), which names them.
 */
#ifndef ATOLL_HV_CORE_SERVICES_H
#define ATOLL_HV_CORE_SERVICES_H
#include <stdbool.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/core/config/manifest.h"

#define SERVICES_NONE UINT64_MAX

struct service {
    const char *name;
    /* hv is never NULL: the manifest's [hypervisor], or the defaults when it was rejected. */
    void (*start)(const struct manifest_hypervisor *hv, const struct boot_info *bi);
    /* NULL when it needs no polling; otherwise as services_poll(). */
    uint64_t (*poll)(void);
};

extern const struct service service_table[];
extern const unsigned service_table_count;

/* hv is NULL when the manifest was rejected: services start with their defaults. */
void services_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);
/* Called from the boot CPU's scheduler loop.  Returns how long, in ns, the services may
 * wait for their next poll: 0 while they are moving data, SERVICES_NONE when none runs. */
uint64_t services_poll(void);

#endif
