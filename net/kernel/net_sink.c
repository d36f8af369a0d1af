#include "net/kernel/net_sink.h"

#include "hv/arch/x86/console.h"
#include "lwip/stats.h"
#include "net/kernel/net_options.h"
#include "net/kernel/tcp_stream.h"
#include "net/kernel/tls_session.h"

static const struct tls_identity *identity;
static const uint8_t (*allowed_keys)[TLS_FP_SIZE];
static size_t allowed_count;
static struct tcp_stream plain;
static struct tls_session *secure;
static bool plain_busy;
static uint64_t plain_bytes, secure_bytes;
static uint8_t scratch[4096];

static err_t accept_plain(void *arg, struct tcp_pcb *pcb, err_t err)
{
    if (err != ERR_OK || plain_busy) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_stream_attach(&plain, pcb);
    plain_busy = true;
    plain_bytes = 0;
    return ERR_OK;
}

static err_t accept_tls(void *arg, struct tcp_pcb *pcb, err_t err)
{
    if (err != ERR_OK || secure) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    secure = tls_session_accept(pcb, identity, allowed_keys, allowed_count);
    secure_bytes = 0;
    return secure ? ERR_OK : ERR_ABRT;
}

void net_sink_start(const struct tls_identity *id, const uint8_t (*allowed)[TLS_FP_SIZE],
                    size_t count)
{
    identity = id;
    allowed_keys = allowed;
    allowed_count = count;
    if (tcp_stream_listen(NET_SINK_PLAIN_PORT, accept_plain) && tcp_stream_listen(NET_SINK_TLS_PORT, accept_tls))
        kprintf("net: bench sinks on ports %u (plain) and %u (TLS)\n", NET_SINK_PLAIN_PORT,
                NET_SINK_TLS_PORT);
    else
        kprintf("net: bench sinks could not listen\n");
}

void net_sink_poll(void)
{
    long n;
    if (plain_busy) {
        while ((n = tcp_stream_recv(&plain, scratch, sizeof(scratch))) > 0)
            plain_bytes += (uint64_t)n;
        if (n < 0) {
            kprintf("net: sink received %lu bytes (plain), %u link drops, %u TCP drops\n",
                    (unsigned long)plain_bytes, (unsigned)lwip_stats.link.drop,
                    (unsigned)lwip_stats.tcp.drop);
            tcp_stream_close(&plain);
            plain_busy = false;
        }
    }
    if (secure) {
        while ((n = tls_conn_read(&secure->tls, scratch, sizeof(scratch))) > 0)
            secure_bytes += (uint64_t)n;
        if (n < 0) {
            kprintf("net: sink received %lu bytes (TLS)\n", (unsigned long)secure_bytes);
            tls_session_free(secure);
            secure = NULL;
        }
    }
}
