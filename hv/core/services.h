/*
 * The hypervisor's own services that run beside the partitions (network and control
 * server today).  Each is optional at link time: a build without it simply has none.
 */
#ifndef ATOLL_HV_CORE_SERVICES_H
#define ATOLL_HV_CORE_SERVICES_H
#include <stdbool.h>
#include "boot/bootinfo.h"
#include "hv/core/manifest.h"

/* hv is NULL when the manifest was rejected: services start with their defaults. */
void services_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);
/* Called from the boot CPU's scheduler loop; returns whether any service is active. */
bool services_poll(void);

#endif
