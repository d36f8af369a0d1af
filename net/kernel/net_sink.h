/* The bench sinks (command-line option net.sink): TCP port 7401 takes plain bytes and
 * TLS port 7402 takes bytes over TLS from an allowed key; both discard what they read and
 * print one line per connection. */
#ifndef ATOLL_NET_KERNEL_NET_SINK_H
#define ATOLL_NET_KERNEL_NET_SINK_H
#include <stddef.h>
#include <stdint.h>
#include "net/tls/tls_identity.h"

void net_sink_start(const struct tls_identity *id, const uint8_t (*allowed)[TLS_FP_SIZE],
                    size_t count);
void net_sink_poll(void);

#endif
