/*
 * An lwIP raw-API TCP connection as a non-blocking byte stream (the shape of
 * struct tls_raw_io): received data queues as pbufs until read; writes go straight into
 * lwIP's send buffer.  Only the network service's CPU touches it.
 */
#ifndef ATOLL_NET_KERNEL_TCP_STREAM_H
#define ATOLL_NET_KERNEL_TCP_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include "lwip/tcp.h"
#include "net/tls/tls_conn.h"

struct tcp_stream {
    struct tcp_pcb *pcb;       /* NULL once closed, or freed by lwIP after an error */
    struct pbuf *rx;           /* received, not yet read */
    bool eof;                  /* the peer sent FIN */
    bool failed;               /* reset, aborted or timed out */
    bool connected;            /* for connect(): the handshake finished */
};

/* Takes an accepted (or connecting) pcb: sets its callbacks to feed this stream. */
void tcp_stream_attach(struct tcp_stream *s, struct tcp_pcb *pcb);
/* A listening pcb on port (any address) whose connections go to fn.  false: no pcb, or
 * the port is taken. */
bool tcp_stream_listen(u16_t port, tcp_accept_fn fn);
/* Opens a connection; tcp_stream_connected() says when it is up.  false: no pcb. */
bool tcp_stream_connect(struct tcp_stream *s, const ip_addr_t *ip, u16_t port);
/* >0 bytes moved, 0 would block, TLS_IO_EOF / TLS_IO_ERROR. */
long tcp_stream_recv(void *stream, void *buf, size_t len);
long tcp_stream_send(void *stream, const void *buf, size_t len);
/* Bytes written but not yet acknowledged by the peer. */
size_t tcp_stream_unacked(const struct tcp_stream *s);
/* Graceful close (abort if lwIP cannot queue the FIN); drops unread data.  Idempotent. */
void tcp_stream_close(struct tcp_stream *s);
/* The stream as the raw I/O under a TLS connection. */
struct tls_raw_io tcp_stream_io(struct tcp_stream *s);

#endif
