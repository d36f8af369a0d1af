#include "hv/core/services.h"

#include "hv/core/partition_console.h"

static bool started;

void services_start(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    static const struct manifest_hypervisor defaults = { .control_port = 7400 };
    for (unsigned i = 0; i < service_table_count; i++)
        service_table[i].start(hv ? hv : &defaults, bi);
    started = true;
}

/* The partitions' consoles (and the hypervisor console's queue) first, then the table. */
uint64_t services_poll(void)
{
    uint64_t wait = partition_consoles_poll();
    for (unsigned i = 0; started && i < service_table_count; i++) {
        uint64_t w = service_table[i].poll ? service_table[i].poll() : SERVICES_NONE;
        wait = w < wait ? w : wait;
    }
    return wait;
}
