#include "net/kernel/tcp_stream.h"

#include <string.h>

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct tcp_stream *s = arg;
    if (!s) {                       /* closed under lwIP's feet: nobody reads */
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        s->eof = true;
        return ERR_OK;
    }
    if (s->rx)
        pbuf_cat(s->rx, p);
    else
        s->rx = p;
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    struct tcp_stream *s = arg;
    if (s) {
        s->pcb = NULL;              /* lwIP has freed it */
        s->failed = true;
    }
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct tcp_stream *s = arg;
    if (s)
        s->connected = true;
    return ERR_OK;
}

void tcp_stream_attach(struct tcp_stream *s, struct tcp_pcb *pcb)
{
    memset(s, 0, sizeof(*s));
    s->pcb = pcb;
    s->connected = true;
    tcp_arg(pcb, s);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
    tcp_nagle_disable(pcb);
}

bool tcp_stream_listen(u16_t port, tcp_accept_fn fn)
{
    struct tcp_pcb *pcb = tcp_new();
    if (!pcb)
        return false;
    if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
        tcp_close(pcb);
        return false;
    }
    struct tcp_pcb *lpcb = tcp_listen(pcb);
    if (!lpcb)
        return false;
    tcp_accept(lpcb, fn);
    return true;
}

bool tcp_stream_connect(struct tcp_stream *s, const ip_addr_t *ip, u16_t port)
{
    memset(s, 0, sizeof(*s));
    struct tcp_pcb *pcb = tcp_new();
    if (!pcb)
        return false;
    tcp_stream_attach(s, pcb);
    s->connected = false;
    if (tcp_connect(pcb, ip, port, on_connected) != ERR_OK) {
        tcp_stream_close(s);
        return false;
    }
    return true;
}

long tcp_stream_recv(void *stream, void *buf, size_t len)
{
    struct tcp_stream *s = stream;
    if (s->rx && len) {
        u16_t n = (u16_t)(len < s->rx->tot_len ? len : s->rx->tot_len);
        pbuf_copy_partial(s->rx, buf, n, 0);
        s->rx = pbuf_free_header(s->rx, n);
        if (s->pcb)
            tcp_recved(s->pcb, n);
        return n;
    }
    if (s->failed || !s->pcb)
        return TLS_IO_ERROR;
    return s->eof ? TLS_IO_EOF : 0;
}

long tcp_stream_send(void *stream, const void *buf, size_t len)
{
    struct tcp_stream *s = stream;
    if (s->failed || !s->pcb)
        return TLS_IO_ERROR;
    if (!s->connected)
        return 0;
    size_t room = tcp_sndbuf(s->pcb);
    size_t n = len < room ? len : room;
    if (n > 0xffff)
        n = 0xffff;
    if (n == 0 || tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 1)
        return 0;
    err_t e = tcp_write(s->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
    if (e == ERR_MEM)
        return 0;
    if (e != ERR_OK)
        return TLS_IO_ERROR;
    tcp_output(s->pcb);
    return (long)n;
}

size_t tcp_stream_unacked(const struct tcp_stream *s)
{
    return s->pcb ? TCP_SND_BUF - tcp_sndbuf(s->pcb) : 0;
}

void tcp_stream_close(struct tcp_stream *s)
{
    if (s->pcb) {
        struct tcp_pcb *pcb = s->pcb;
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_err(pcb, NULL);
        if (tcp_close(pcb) != ERR_OK)
            tcp_abort(pcb);
        s->pcb = NULL;
    }
    if (s->rx) {
        pbuf_free(s->rx);
        s->rx = NULL;
    }
}

struct tls_raw_io tcp_stream_io(struct tcp_stream *s)
{
    return (struct tls_raw_io){ tcp_stream_recv, tcp_stream_send, s };
}
