/*
 * The hypervisor's own services that run beside the partitions (network and control
 * server today).  Each is optional at link time: a build without it simply has none.
 */
#ifndef ATOLL_HV_CORE_SERVICES_H
#define ATOLL_HV_CORE_SERVICES_H
#include <stdbool.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/core/manifest.h"

/* hv is NULL when the manifest was rejected: services start with their defaults. */
void services_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);
#define SERVICES_NONE UINT64_MAX
/* Called from the boot CPU's scheduler loop.  Returns how long, in ns, the services may
 * wait for their next poll: 0 while they are moving data, SERVICES_NONE when none runs. */
uint64_t services_poll(void);

#endif
