/*
 * The hypervisor's network service: the e1000 NIC, lwIP and the TLS control server, run
 * on the boot CPU.  The kernel calls exactly these two functions.
 */
#ifndef ATOLL_NET_KERNEL_NET_SERVICE_H
#define ATOLL_NET_KERNEL_NET_SERVICE_H
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/core/config/manifest.h"

/* Once, on the boot CPU, after the partitions exist: finds the NIC, brings up lwIP
 * (static or DHCP as the manifest says) and the control server.  Prints what it did, or
 * one line saying why not; never fails the boot. */
void net_service_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);
/* From the boot CPU's scheduler loop; never blocks, cheap when idle.  Returns how long, in
 * ns, the caller may halt before the next poll: 0 when this poll moved frames (poll again
 * at once, as a NIC driver under load does), a short wait shortly after traffic, a longer
 * one when the link has been quiet.  The NIC is polled, so this is its latency. */
uint64_t net_service_poll(void);

#endif
