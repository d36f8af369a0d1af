/*
 * One TLS 1.2 connection (BearSSL) over a raw byte stream (a TCP connection in lwIP, a
 * POSIX socket on the host).  TLS 1.2 only; ECDHE-ECDSA with ChaCha20-Poly1305 or AES-GCM;
 * both sides authenticate with a P-256 key pinned by fingerprint (tls_pin).  Works with
 * non-blocking raw streams (the kernel, the host daemon: calls return 0 for "would
 * block") and blocking ones (atollctl).  Portable; about 34 KiB per connection.
 *
 * The read/write/flush/peer_key/close functions have the shapes that the control server's
 * stream interface (net/control/ctl_server.h) expects.
 */
#ifndef ATOLL_NET_TLS_TLS_CONN_H
#define ATOLL_NET_TLS_TLS_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bearssl.h"
#include "net/tls/tls_identity.h"
#include "net/tls/tls_pin.h"

#define TLS_IO_EOF     (-1)   /* peer closed */
#define TLS_IO_ERROR   (-2)   /* stream or TLS failure */
#define TLS_IO_TIMEOUT (-3)   /* a blocking raw stream timed out */

/* The raw stream under TLS.  recv/send: >0 bytes moved, 0 would block, TLS_IO_* errors. */
struct tls_raw_io {
    long (*recv)(void *ctx, void *buf, size_t len);
    long (*send)(void *ctx, const void *buf, size_t len);
    void *ctx;
};

struct tls_conn {
    union {
        br_ssl_server_context server;
        br_ssl_client_context client;
    } u;
    br_ssl_engine_context *eng;
    struct tls_pin pin;
    struct tls_raw_io io;
    int io_err;              /* 0, or the TLS_IO_* value the raw stream reported */
    bool handshake_done;
    uint8_t iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* Server side: the client must present a key on `allowed`.  TLS_OK or a TLS_ERR_*. */
int tls_conn_server_init(struct tls_conn *c, const struct tls_identity *id,
                         const uint8_t (*allowed)[TLS_FP_SIZE], size_t allowed_count,
                         const struct tls_raw_io *io, tls_entropy_fn entropy, void *ectx);
/* Client side: the server must present a key on `pinned` (empty: the handshake fails,
 * but c->pin records the key the server showed). */
int tls_conn_client_init(struct tls_conn *c, const struct tls_identity *id,
                         const uint8_t (*pinned)[TLS_FP_SIZE], size_t pinned_count,
                         const struct tls_raw_io *io, tls_entropy_fn entropy, void *ectx);

long tls_conn_read(struct tls_conn *c, void *buf, size_t len);
long tls_conn_write(struct tls_conn *c, const void *buf, size_t len);
int tls_conn_flush(struct tls_conn *c);          /* 1 sent, 0 pending, <0 TLS_IO_* */
/* Drives the handshake: 1 done, 0 pending (non-blocking), <0 TLS_IO_*. */
int tls_conn_handshake(struct tls_conn *c);
/* Sends close_notify as far as the stream takes it; does not close the raw stream. */
void tls_conn_close(struct tls_conn *c);
/* The authenticated peer's fingerprint once the handshake is done; NULL otherwise. */
const uint8_t *tls_conn_peer_key(const struct tls_conn *c);
/* BearSSL's error code (BR_ERR_*; BR_ERR_RECV_FATAL_ALERT + n for a received alert n). */
int tls_conn_engine_error(const struct tls_conn *c);
/* The cipher suite in use, as its standard name. */
const char *tls_conn_suite_name(const struct tls_conn *c);

#endif
