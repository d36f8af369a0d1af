/*
 * The network side of storage migration (hv/core/storage_migrate.h): this host's listener
 * for incoming disks on TCP port control-port + 5 (7405 by default).  It takes only keys the
 * manifest pins (`control-clients`); outgoing connections and the stream itself are the
 * live-migration link's pinned TLS transport (migrate_transport), to port + 4.
 */
#ifndef ATOLL_NET_KERNEL_STORAGE_MIG_LINK_H
#define ATOLL_NET_KERNEL_STORAGE_MIG_LINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/storage/storage_mig_proto.h"
#include "net/tls/tls_identity.h"

/* Listens on port; false when it cannot. */
bool storage_mig_link_start(const struct tls_identity *id, const uint8_t (*pinned)[TLS_FP_SIZE],
                            size_t count, uint16_t port);

#endif
