/*
 * Host-to-host checks driven from the command line (net_options.h): ICMP echo to the
 * peer, a TLS session to its control server with a `status` request, then optionally (in
 * the same session) the peer's partition net.peer-start driven by `list`, `start`, `list`,
 * `stop` (3 s after the start), `list`, then optionally the bulk bench (plain TCP, then
 * TLS, to the peer's sinks).  Each step prints one line; the last is
 * `net: peer checks done: N passed, N failed`.
 */
#ifndef ATOLL_NET_KERNEL_PEER_PROBE_H
#define ATOLL_NET_KERNEL_PEER_PROBE_H
#include <stddef.h>
#include <stdint.h>
#include "net/kernel/net_options.h"
#include "net/tls/tls_identity.h"

/* id: this host's key (NULL: no TLS steps).  Does nothing without net.peer. */
void peer_probe_start(const struct net_options *o, const struct tls_identity *id);
/* The interface has an address: the checks may begin. */
void peer_probe_network_up(void);
void peer_probe_poll(void);

#endif
