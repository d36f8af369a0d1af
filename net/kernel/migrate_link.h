/*
 * The network side of live migration (hv/core/migrate.h): pinned TLS connections to
 * other hosts' migration listeners, and this host's listener (TCP port
 * control-port + 3, 7403 by default).  Both ends accept only keys the manifest pins
 * (`control-clients`): a source migrates only to a host it pins, a target takes
 * partitions only from a host it pins.
 */
#ifndef ATOLL_NET_KERNEL_MIGRATE_LINK_H
#define ATOLL_NET_KERNEL_MIGRATE_LINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/tls/tls_identity.h"

#define MIGRATE_PORT_OFFSET 3u

/* Listens on port and registers the transport; false when it cannot listen. */
bool migrate_link_start(const struct tls_identity *id, const uint8_t (*pinned)[TLS_FP_SIZE],
                        size_t count, uint16_t port);

#endif
