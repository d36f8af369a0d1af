#include "net/kernel/storage_mig_link.h"

#include "hv/core/storage_migrate.h"
#include "lwip/tcp.h"
#include "net/kernel/tcp_stream.h"
#include "net/kernel/tls_session.h"

static const struct tls_identity *identity;
static const uint8_t (*pinned_keys)[TLS_FP_SIZE];
static size_t pinned_count;

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    return tls_session_accept_into(pcb, identity, pinned_keys, pinned_count,
                                   storage_migrate_target_accept);
}

bool storage_mig_link_start(const struct tls_identity *id, const uint8_t (*pinned)[TLS_FP_SIZE],
                            size_t count, uint16_t port)
{
    identity = id;
    pinned_keys = pinned;
    pinned_count = count;
    return tcp_stream_listen(port, on_accept);
}
