/* An lwIP network interface on an e1000 NIC, polled (NO_SYS). */
#ifndef ATOLL_NET_LWIP_E1000_NETIF_H
#define ATOLL_NET_LWIP_E1000_NETIF_H
#include <stdbool.h>
#include "drivers/e1000/e1000.h"
#include "lwip/netif.h"

/* Adds the interface (addresses may be zero: DHCP fills them).  The netif's state is nic. */
bool e1000_netif_add(struct netif *netif, struct e1000 *nic, const ip4_addr_t *ip,
                     const ip4_addr_t *mask, const ip4_addr_t *gw);
/* Feeds up to `budget` received frames to lwIP; returns the count. */
unsigned e1000_netif_poll(struct netif *netif, unsigned budget);
/* Reads the NIC's link state into the netif (an MMIO read: call it now and then). */
void e1000_netif_track_link(struct netif *netif);

#endif
