/* The control server on a TCP port: each accepted connection becomes a TLS session
 * attached to the control server, which closes it (and so frees it) when done. */
#ifndef ATOLL_NET_KERNEL_CONTROL_LISTENER_H
#define ATOLL_NET_KERNEL_CONTROL_LISTENER_H
#include <stdbool.h>
#include "net/control/ctl_server.h"
#include "net/tls/tls_identity.h"

/* srv, id and allowed must outlive the listener.  false: the port could not be opened. */
bool control_listener_start(struct ctl_server *srv, const struct tls_identity *id,
                            const uint8_t (*allowed)[TLS_FP_SIZE], size_t count, uint16_t port);

#endif
