#include "net/kernel/tls_session.h"

#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "net/kernel/hw_entropy.h"

struct tls_session *tls_session_accept(struct tcp_pcb *pcb, const struct tls_identity *id,
                                       const uint8_t (*allowed)[TLS_FP_SIZE], size_t count)
{
    struct tls_session *s = kmalloc(sizeof(*s));
    if (!s) {
        tcp_abort(pcb);
        return NULL;
    }
    tcp_stream_attach(&s->tcp, pcb);
    struct tls_raw_io io = tcp_stream_io(&s->tcp);
    if (tls_conn_server_init(&s->tls, id, allowed, count, &io, hw_entropy_fill, NULL) != TLS_OK) {
        tcp_arg(pcb, NULL);
        tcp_abort(pcb);
        kfree(s);
        return NULL;
    }
    return s;
}

err_t tls_session_accept_into(struct tcp_pcb *pcb, const struct tls_identity *id,
                              const uint8_t (*allowed)[TLS_FP_SIZE], size_t count,
                              bool (*take)(void *session, const char *peer))
{
    char peer[24];
    const ip_addr_t *r = &pcb->remote_ip;
    fmt_snprintf(peer, sizeof(peer), "%u.%u.%u.%u", ip4_addr1_16(ip_2_ip4(r)),
                 ip4_addr2_16(ip_2_ip4(r)), ip4_addr3_16(ip_2_ip4(r)), ip4_addr4_16(ip_2_ip4(r)));
    struct tls_session *s = tls_session_accept(pcb, id, allowed, count);
    if (!s)
        return ERR_ABRT;
    if (!take(s, peer)) {
        tcp_arg(pcb, NULL);
        tcp_abort(pcb);
        s->tcp.pcb = NULL;
        tls_session_free(s);
        return ERR_ABRT;
    }
    return ERR_OK;
}

struct tls_session *tls_session_connect(const ip_addr_t *ip, u16_t port,
                                        const struct tls_identity *id,
                                        const uint8_t pinned[TLS_FP_SIZE])
{
    struct tls_session *s = kmalloc(sizeof(*s));
    if (!s)
        return NULL;
    if (!tcp_stream_connect(&s->tcp, ip, port)) {
        kfree(s);
        return NULL;
    }
    struct tls_raw_io io = tcp_stream_io(&s->tcp);
    if (tls_conn_client_init(&s->tls, id, (const uint8_t(*)[TLS_FP_SIZE])pinned, 1, &io,
                             hw_entropy_fill, NULL) != TLS_OK) {
        tcp_stream_close(&s->tcp);
        kfree(s);
        return NULL;
    }
    return s;
}

void tls_session_free(struct tls_session *s)
{
    if (!s)
        return;
    tls_conn_close(&s->tls);
    tcp_stream_close(&s->tcp);
    kfree(s);
}
