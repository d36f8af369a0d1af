/* The services this build runs, in start order: storage first, since partitions' disks
 * live in the pool and the network's control server reports on them. */
#include "hv/core/disk_ops.h"
#include "hv/core/services.h"
#include "hv/storage/pool.h"
#include "net/kernel/net_service.h"

const struct service service_table[] = {
    { "storage", storage_service_start, NULL },
    { "network", net_service_start, net_service_poll },
    { "disk-ops", disk_ops_start, disk_ops_poll },
};
const unsigned service_table_count = sizeof(service_table) / sizeof(service_table[0]);
