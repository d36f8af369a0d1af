#include "net/kernel/storage_mig_link.h"

#include "hv/core/storage_migrate.h"
#include "hv/lib/format.h"
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
    char peer[24];
    const ip_addr_t *r = &pcb->remote_ip;
    fmt_snprintf(peer, sizeof(peer), "%u.%u.%u.%u", ip4_addr1_16(ip_2_ip4(r)),
                 ip4_addr2_16(ip_2_ip4(r)), ip4_addr3_16(ip_2_ip4(r)), ip4_addr4_16(ip_2_ip4(r)));
    struct tls_session *s = tls_session_accept(pcb, identity, pinned_keys, pinned_count);
    if (!s)
        return ERR_ABRT;
    if (!storage_migrate_target_accept(s, peer)) {     /* one disk in at a time */
        tcp_arg(pcb, NULL);
        tcp_abort(pcb);
        s->tcp.pcb = NULL;
        tls_session_free(s);
        return ERR_ABRT;
    }
    return ERR_OK;
}

bool storage_mig_link_start(const struct tls_identity *id, const uint8_t (*pinned)[TLS_FP_SIZE],
                            size_t count, uint16_t port)
{
    identity = id;
    pinned_keys = pinned;
    pinned_count = count;
    return tcp_stream_listen(port, on_accept);
}
