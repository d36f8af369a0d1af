/*
 * The control server: a poll-driven state machine that reads requests from byte streams,
 * validates them, dispatches them to registered handlers and writes the replies.  Portable:
 * it knows neither sockets nor TLS, only the stream interface below, and allocates nothing.
 *
 * Kernel use (one instance, polled from the network task):
 *   ctl_server_init(&srv, &cfg);  ctl_commands_register(&srv, &hv_ops, hv_ctx);
 *   on accept:      ctl_server_attach(&srv, &stream_ops, stream, peer)   (-1: full, close it)
 *                   (ctl_server_make_room(&srv, peer) first where the caller's own sessions
 *                   are limited; peer: the client's IPv4 address, hv/lib/peer_slots.h)
 *   every tick:     ctl_server_poll(&srv, now_ms)
 * The server calls stream_ops->close(stream) exactly once for every attached stream.
 */
#ifndef ATOLL_NET_CONTROL_CTL_SERVER_H
#define ATOLL_NET_CONTROL_CTL_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/control/ctl_codec.h"

#define CTL_IO_EOF   (-1) /* the peer closed the stream */
#define CTL_IO_ERROR (-2) /* the stream failed */

/* A byte stream (normally a TLS connection).  read/write: >0 bytes moved, 0 would block. */
struct ctl_stream_ops {
    long (*read)(void *stream, void *buf, size_t len);
    long (*write)(void *stream, const void *buf, size_t len);
    int (*flush)(void *stream);                  /* 1 all sent, 0 pending, <0 error */
    const uint8_t *(*peer_key)(void *stream);    /* authenticated peer's fingerprint, or NULL */
    void (*close)(void *stream);
};

#define CTL_FINGERPRINT_SIZE 32

struct ctl_request {
    uint16_t type;
    uint32_t request_id;
    const uint8_t *payload;   /* well-formed TLV records, already checked */
    uint32_t length;
    const uint8_t *peer_key;  /* the authenticated client's fingerprint */
};

/* Handlers fill reply with records after the STATUS record; on failure they return a
 * status and may set *message.  A status for which CTL_STATUS_CLOSES holds ends the
 * connection. */
typedef uint16_t (*ctl_handler_fn)(void *ctx, const struct ctl_request *req,
                                   struct ctl_tlv_writer *reply, const char **message);

#define CTL_MAX_CONNECTIONS 4
#define CTL_MAX_HANDLERS    32

struct ctl_server_config {
    const uint8_t (*allowed)[CTL_FINGERPRINT_SIZE]; /* clients allowed in; NULL/0: nobody */
    size_t allowed_count;
    uint32_t idle_timeout_ms;     /* between requests; 0: 60 s */
    uint32_t message_timeout_ms;  /* for the handshake, the rest of a started message, or a
                                     reply; 0: 5 s */
};

enum ctl_conn_state { CTL_CONN_FREE, CTL_CONN_RECV, CTL_CONN_SEND };

struct ctl_conn {
    enum ctl_conn_state state;
    const struct ctl_stream_ops *ops;
    void *stream;
    bool close_after_send;
    bool authenticated;     /* the stream has shown a peer key on the allow list */
    uint32_t peer;          /* the client's IPv4 address */
    uint64_t attached;      /* attach order (peer_slots: the oldest makes way first) */
    uint64_t turn_ms;       /* since when its address has waited (peer_slots) */
    uint64_t deadline_ms;   /* 0 until the first poll sets it */
    size_t rx_len;          /* bytes of the current request received */
    size_t tx_len, tx_off;
    struct ctl_header hdr;
    uint8_t rx[CTL_HEADER_SIZE + CTL_MAX_REQUEST_PAYLOAD];
    uint8_t tx[CTL_HEADER_SIZE + CTL_MAX_REPLY_PAYLOAD];
};

struct ctl_handler_slot {
    uint16_t type;
    ctl_handler_fn fn;
    void *ctx;
};

struct ctl_server_stats {
    uint64_t accepted, refused_full, evicted, requests, errors, closed;
    uint32_t active;
};

struct ctl_server {
    struct ctl_server_config cfg;
    uint64_t now_ms;
    uint64_t attach_count;
    struct ctl_handler_slot handlers[CTL_MAX_HANDLERS];
    size_t handler_count;
    struct ctl_server_stats stats;
    struct { bool set; uint32_t peer; uint64_t turn_ms; } room;  /* made for the next attach */
    struct ctl_conn conns[CTL_MAX_CONNECTIONS];
};

void ctl_server_init(struct ctl_server *srv, const struct ctl_server_config *cfg);
/* 0, or -1 when the type is out of range, already taken or the table is full. */
int ctl_server_register(struct ctl_server *srv, uint16_t type, ctl_handler_fn fn, void *ctx);
/* True when a slot is free for a new stream from address peer, if need be by closing a
 * connection whose peer has not yet shown an allowed key, chosen fairly per address
 * (hv/lib/peer_slots.h: the address holding the most such slots makes way): peers that never
 * finish a handshake, or one address opening connection after connection, cannot keep an
 * allowed client out.  False when every slot is an authenticated client's, or when peer
 * already holds more than half the slots while another address waits. */
bool ctl_server_make_room(struct ctl_server *srv, uint32_t peer);
/* Takes a new stream from address peer (making room as above); returns its slot, or -1 when
 * there is no room for it (the caller closes the stream). */
int ctl_server_attach(struct ctl_server *srv, const struct ctl_stream_ops *ops, void *stream,
                      uint32_t peer);
/* Moves every connection forward as far as its stream allows; never blocks. */
void ctl_server_poll(struct ctl_server *srv, uint64_t now_ms);
/* Closes every connection (shutdown). */
void ctl_server_close_all(struct ctl_server *srv);
bool ctl_server_key_allowed(const struct ctl_server *srv, const uint8_t *fp);

#endif
