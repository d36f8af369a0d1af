#include "hv/core/services.h"

#include "hv/core/partition_console.h"


static bool started;

/* Weak: the network service is linked only when its fragment adds it. */
__attribute__((weak)) void net_service_start(const struct manifest_hypervisor *hv,
                                             const struct boot_info *bi);
__attribute__((weak)) uint64_t net_service_poll(void);
__attribute__((weak)) void storage_service_start(const struct manifest_hypervisor *hv,
                                                 const struct boot_info *bi);

void services_start(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    static const struct manifest_hypervisor defaults = { .control_port = 7400 };
    if (storage_service_start)
        storage_service_start(hv ? hv : &defaults, bi);
    if (net_service_start) {
        net_service_start(hv ? hv : &defaults, bi);
        started = true;
    }
}

uint64_t services_poll(void)
{
    uint64_t console = partition_consoles_poll();
    uint64_t net = started && net_service_poll ? net_service_poll() : SERVICES_NONE;
    return console < net ? console : net;
}
