#include "net/kernel/migrate_link.h"

#include <string.h>
#include "hv/core/migrate.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "lwip/tcp.h"
#include "net/kernel/hw_entropy.h"
#include "net/kernel/tcp_stream.h"
#include "net/kernel/tls_session.h"

static const struct tls_identity *identity;
static const uint8_t (*pinned_keys)[TLS_FP_SIZE];
static size_t pinned_count;

static long l_read(void *s, void *buf, size_t len)
{
    return tls_conn_read(&((struct tls_session *)s)->tls, buf, len);
}

static long l_write(void *s, const void *buf, size_t len)
{
    return tls_conn_write(&((struct tls_session *)s)->tls, buf, len);
}

static int l_flush(void *s)
{
    return tls_conn_flush(&((struct tls_session *)s)->tls);
}

static void l_why(void *v, char *out, size_t size)
{
    struct tls_session *s = v;
    int e = tls_conn_engine_error(&s->tls);
    if (e >= BR_ERR_SEND_FATAL_ALERT)
        fmt_snprintf(out, size, "TLS alert %d sent (the peer's key is not pinned here?)",
                     e - BR_ERR_SEND_FATAL_ALERT);
    else if (e >= BR_ERR_RECV_FATAL_ALERT)
        fmt_snprintf(out, size, "the peer sent TLS alert %d (it does not pin this host's "
                     "key?)", e - BR_ERR_RECV_FATAL_ALERT);
    else if (e == BR_ERR_X509_NOT_TRUSTED)
        fmt_snprintf(out, size, "the peer's key is not pinned here (TLS error %d)", e);
    else if (e)
        fmt_snprintf(out, size, "TLS error %d", e);
    else if (s->tcp.failed)
        fmt_snprintf(out, size, "the TCP connection was reset or refused");
    else if (s->tcp.eof && !s->tls.handshake_done)
        fmt_snprintf(out, size, "the peer closed it during the TLS handshake (does it pin "
                     "this host's key?)");
    else if (s->tcp.eof)
        fmt_snprintf(out, size, "the peer closed it");
    else
        out[0] = '\0';
}

static void l_close(void *s)
{
    tls_session_free(s);
}

static void *l_connect(uint32_t ip, uint16_t port, char *err, size_t err_size)
{
    ip_addr_t a;
    IP_ADDR4(&a, ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    struct tls_session *s = kmalloc(sizeof(*s));
    if (!s) {
        fmt_snprintf(err, err_size, "out of memory for a TLS connection");
        return NULL;
    }
    if (!tcp_stream_connect(&s->tcp, &a, port)) {
        kfree(s);
        fmt_snprintf(err, err_size, "no TCP connection could be started");
        return NULL;
    }
    struct tls_raw_io io = tcp_stream_io(&s->tcp);
    if (tls_conn_client_init(&s->tls, identity, pinned_keys, pinned_count, &io, hw_entropy_fill,
                             NULL) != TLS_OK) {
        tcp_stream_close(&s->tcp);
        kfree(s);
        fmt_snprintf(err, err_size, "TLS could not start");
        return NULL;
    }
    return s;
}

static const struct migrate_transport transport = {
    .connect = l_connect, .read = l_read, .write = l_write, .flush = l_flush, .why = l_why,
    .close = l_close,
};

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    return tls_session_accept_into(pcb, identity, pinned_keys, pinned_count, migrate_target_accept);
}

bool migrate_link_start(const struct tls_identity *id, const uint8_t (*pinned)[TLS_FP_SIZE],
                        size_t count, uint16_t port)
{
    identity = id;
    pinned_keys = pinned;
    pinned_count = count;
    if (!tcp_stream_listen(port, on_accept))
        return false;
    migrate_set_transport(&transport);
    return true;
}
