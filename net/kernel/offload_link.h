/*
 * Offload between two hosts (issue 15, item 5; hv/offload/TOKEN.md "Between two
 * providers"): the source provider A's offload link, and the destination B's pull.
 *
 * A listens on TCP port control-port + 4 (7404 by default) and, unlike the control and
 * migration listeners, accepts a TLS client with *any* P-256 key: the key alone admits
 * nothing; the client must present a grant, signed by an initiator A pins
 * (control-clients), that names the very key it authenticated with (grant_check).  Then
 * A sends the grant's token data, piece by piece, with the provider's immutability checks.
 *
 * B starts a pull when its control server is asked (CTL_MSG_OFFLOAD_PULL, from the
 * initiator): it opens the destination, connects to A pinning the key the grant names as
 * the source, presents the grant, and writes what arrives.  The data never passes
 * through the initiator.  Both sides are polled from the network service; one pull at a
 * time on B, two grants served at a time on A.
 *
 * Wire (big-endian), after the TLS handshake:
 *   B -> A  request, 800 bytes: "ATOLLOFR", grant (768), u64 token offset, u64 length,
 *           u32 granule (the destination's sector size: pieces are whole multiples), u32 0
 *   A -> B  frames, a 16-byte header each: u8 type, u8 status, u16 text length,
 *           u32 data length, u64 bytes sent so far; then the data or the text.
 *           'D': data_len bytes of the token's data (at most 1 MiB) follow;
 *           'E': the end: status is -(enum offload_status) (0: all asked, or as much as
 *           whole sectors allow), the text says why it stopped; A closes.
 */
#ifndef ATOLL_NET_KERNEL_OFFLOAD_LINK_H
#define ATOLL_NET_KERNEL_OFFLOAD_LINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/control/ctl_hv_ops.h"
#include "net/tls/tls_identity.h"

#define OFFLOAD_LINK_PORT_OFFSET 4u

/* Listens on port for grants; false when it cannot listen. */
bool offload_link_start(const struct tls_identity *id, uint16_t port);
/* Moves the served grants and the pull forward; true while any is under way. */
bool offload_link_poll(void);

/* The control server's ops (struct ctl_hv_ops offload_pull, offload_pull_status). */
uint16_t offload_link_pull(void *ctx, const uint8_t grant[CTL_OFFLOAD_GRANT_SIZE],
                           const char *host, uint64_t token_offset, uint64_t length,
                           const struct ctl_offload_range *dst, char *msg, size_t msg_size);
uint16_t offload_link_pull_status(void *ctx, struct ctl_offload_pull_status *out);

#endif
