#include "net/kernel/control_listener.h"

#include "hv/lib/peer_slots.h"
#include "lwip/tcp.h"
#include "net/kernel/tcp_stream.h"
#include "net/kernel/tls_session.h"

static struct ctl_server *server;
static const struct tls_identity *identity;
static const uint8_t (*allowed_keys)[TLS_FP_SIZE];
static size_t allowed_count;
static unsigned open_sessions;

static long map_io(long n)
{
    return n >= 0 ? n : n == TLS_IO_EOF ? CTL_IO_EOF : CTL_IO_ERROR;
}

static long s_read(void *s, void *buf, size_t len)
{
    return map_io(tls_conn_read(&((struct tls_session *)s)->tls, buf, len));
}

static long s_write(void *s, const void *buf, size_t len)
{
    return map_io(tls_conn_write(&((struct tls_session *)s)->tls, buf, len));
}

static int s_flush(void *s)
{
    int r = tls_conn_flush(&((struct tls_session *)s)->tls);
    return r < 0 ? CTL_IO_ERROR : r;
}

static const uint8_t *s_peer_key(void *s)
{
    return tls_conn_peer_key(&((struct tls_session *)s)->tls);
}

static void s_close(void *s)
{
    tls_session_free(s);
    open_sessions--;
}

static const struct ctl_stream_ops stream_ops = { s_read, s_write, s_flush, s_peer_key, s_close };

static bool take(void *session, const char *peer)
{
    if (ctl_server_attach(server, &stream_ops, session, peer_slots_ipv4(peer)) < 0)
        return false;
    open_sessions++;
    return true;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    /* Full: a connection still in its handshake makes way, chosen fairly per address
     * (ctl_server_make_room); with every slot an authenticated client's, or this address
     * holding its share while another waits, refused before any TLS state is made. */
    uint32_t addr = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
    if (open_sessions >= CTL_MAX_CONNECTIONS && !ctl_server_make_room(server, addr)) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return tls_session_accept_into(pcb, identity, allowed_keys, allowed_count, take);
}

bool control_listener_start(struct ctl_server *srv, const struct tls_identity *id,
                            const uint8_t (*allowed)[TLS_FP_SIZE], size_t count, uint16_t port)
{
    server = srv;
    identity = id;
    allowed_keys = allowed;
    allowed_count = count;
    return tcp_stream_listen(port, on_accept);
}
