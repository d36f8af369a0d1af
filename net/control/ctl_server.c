/* The control server's per-connection state machine: receive, validate, dispatch, reply. */
#include "net/control/ctl_server.h"
#include <string.h>
#include "hv/lib/peer_slots.h"

#define DEFAULT_IDLE_MS    60000u
#define DEFAULT_MESSAGE_MS 5000u

void ctl_server_init(struct ctl_server *srv, const struct ctl_server_config *cfg)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    if (!srv->cfg.idle_timeout_ms)
        srv->cfg.idle_timeout_ms = DEFAULT_IDLE_MS;
    if (!srv->cfg.message_timeout_ms)
        srv->cfg.message_timeout_ms = DEFAULT_MESSAGE_MS;
}

static struct ctl_handler_slot *find_handler(struct ctl_server *srv, uint16_t type)
{
    for (size_t i = 0; i < srv->handler_count; i++)
        if (srv->handlers[i].type == type)
            return &srv->handlers[i];
    return NULL;
}

int ctl_server_register(struct ctl_server *srv, uint16_t type, ctl_handler_fn fn, void *ctx)
{
    if (type == 0 || type > CTL_MSG_TYPE_MAX || !fn || find_handler(srv, type) ||
        srv->handler_count == CTL_MAX_HANDLERS)
        return -1;
    srv->handlers[srv->handler_count++] = (struct ctl_handler_slot){ type, fn, ctx };
    return 0;
}

static void conn_close(struct ctl_server *srv, struct ctl_conn *c)
{
    c->ops->close(c->stream);
    c->state = CTL_CONN_FREE;
    c->stream = NULL;
    srv->stats.active--;
    srv->stats.closed++;
}

bool ctl_server_key_allowed(const struct ctl_server *srv, const uint8_t *fp)
{
    /* An empty list allows nobody: the server never relies on the TLS layer's pinning. */
    if (srv->cfg.allowed_count == 0 || !fp)
        return false;
    for (size_t i = 0; i < srv->cfg.allowed_count; i++)
        if (memcmp(srv->cfg.allowed[i], fp, CTL_FINGERPRINT_SIZE) == 0)
            return true;
    return false;
}

static bool conn_authenticated(const struct ctl_server *srv, const struct ctl_conn *c)
{
    return c->authenticated || ctl_server_key_allowed(srv, c->ops->peer_key(c->stream));
}

bool ctl_server_make_room(struct ctl_server *srv, uint32_t peer)
{
    struct peer_slot view[CTL_MAX_CONNECTIONS];
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++) {
        const struct ctl_conn *c = &srv->conns[i];
        bool used = c->state != CTL_CONN_FREE;
        view[i] = (struct peer_slot){ used, used && conn_authenticated(srv, c), c->peer,
                                      c->attached, c->turn_ms };
    }
    struct peer_slots_choice ch = peer_slots_choose(view, CTL_MAX_CONNECTIONS, peer, srv->now_ms,
                                                    PEER_SLOTS_TURN_MS);
    if (ch.verdict == PEER_SLOT_REFUSE)
        return false;
    /* A slot made free for this peer earlier (make_room, then attach) keeps the turn then
     * chosen: an address replacing its own connection goes on with its turn. */
    if (ch.verdict == PEER_SLOT_FREE && srv->room.set && srv->room.peer == peer)
        return true;
    srv->room.set = true;
    srv->room.peer = peer;
    srv->room.turn_ms = ch.turn_ms;
    if (ch.verdict == PEER_SLOT_EVICT) {
        srv->stats.evicted++;
        conn_close(srv, &srv->conns[ch.slot]);
    }
    return true;
}

int ctl_server_attach(struct ctl_server *srv, const struct ctl_stream_ops *ops, void *stream,
                      uint32_t peer)
{
    if (!ctl_server_make_room(srv, peer)) {
        srv->stats.refused_full++;
        return -1;
    }
    srv->room.set = false;
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++) {
        struct ctl_conn *c = &srv->conns[i];
        if (c->state != CTL_CONN_FREE)
            continue;
        c->state = CTL_CONN_RECV;
        c->ops = ops;
        c->stream = stream;
        c->close_after_send = false;
        c->authenticated = false;
        c->peer = peer;
        c->attached = ++srv->attach_count;
        c->turn_ms = srv->room.turn_ms;
        c->deadline_ms = 0;
        c->rx_len = c->tx_len = c->tx_off = 0;
        srv->stats.accepted++;
        srv->stats.active++;
        return i;
    }
    return -1;   /* not reached: make_room left a slot free */
}

static void begin_reply(struct ctl_server *srv, struct ctl_conn *c, uint16_t type, size_t len)
{
    ctl_header_encode(c->tx, (uint16_t)(type | CTL_REPLY_BIT), c->hdr.request_id, (uint32_t)len);
    c->tx_len = CTL_HEADER_SIZE + len;
    c->tx_off = 0;
    c->state = CTL_CONN_SEND;
    c->deadline_ms = srv->now_ms + srv->cfg.message_timeout_ms;
}

static void reply_error(struct ctl_server *srv, struct ctl_conn *c, uint16_t status,
                        const char *message)
{
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, c->tx + CTL_HEADER_SIZE, CTL_MAX_REPLY_PAYLOAD);
    ctl_put_u16(&w, CTL_TAG_STATUS, status);
    ctl_put_str(&w, CTL_TAG_MESSAGE, message ? message : ctl_status_name(status));
    if (CTL_STATUS_CLOSES(status))
        c->close_after_send = true;
    srv->stats.errors++;
    begin_reply(srv, c, c->hdr.type, w.len);
}

static uint16_t admit(struct ctl_server *srv, struct ctl_conn *c, const char **msg)
{
    if (!ctl_server_key_allowed(srv, c->ops->peer_key(c->stream))) {
        *msg = "client key is not on this host's allow list";
        return CTL_ERR_UNAUTHENTICATED;
    }
    if (!ctl_tlv_valid(c->rx + CTL_HEADER_SIZE, c->hdr.length)) {
        *msg = "payload is not a well-formed TLV sequence";
        return CTL_ERR_MALFORMED;
    }
    if (c->hdr.type == 0 || c->hdr.type > CTL_MSG_TYPE_MAX || !find_handler(srv, c->hdr.type)) {
        *msg = "unknown message type";
        return CTL_ERR_UNKNOWN_TYPE;
    }
    return CTL_OK;
}

static void dispatch(struct ctl_server *srv, struct ctl_conn *c)
{
    const char *msg = NULL;
    srv->stats.requests++;
    uint16_t st = admit(srv, c, &msg);
    if (st != CTL_OK) {
        reply_error(srv, c, st, msg);
        return;
    }
    struct ctl_handler_slot *h = find_handler(srv, c->hdr.type);
    struct ctl_request req = {
        .type = c->hdr.type, .request_id = c->hdr.request_id,
        .payload = c->rx + CTL_HEADER_SIZE, .length = c->hdr.length,
        .peer_key = c->ops->peer_key(c->stream),
    };
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, c->tx + CTL_HEADER_SIZE, CTL_MAX_REPLY_PAYLOAD);
    ctl_put_u16(&w, CTL_TAG_STATUS, CTL_OK);
    st = h->fn(h->ctx, &req, &w, &msg);
    if (st == CTL_OK && w.overflow) {
        st = CTL_ERR_INTERNAL;
        msg = "reply does not fit in one message";
    }
    if (st != CTL_OK)
        reply_error(srv, c, st, msg);
    else
        begin_reply(srv, c, c->hdr.type, w.len);
}

/* The header is complete: reject it at once if it is bad, before reading any payload. */
static bool header_ok(struct ctl_server *srv, struct ctl_conn *c)
{
    ctl_header_decode(c->rx, &c->hdr);
    uint16_t st = ctl_header_check(&c->hdr, CTL_MAX_REQUEST_PAYLOAD);
    if (st == CTL_OK)
        return true;
    if (st == CTL_ERR_MALFORMED)
        c->hdr.type = 0;
    reply_error(srv, c, st, st == CTL_ERR_MALFORMED ? "bad magic: not an Atoll control message"
                      : st == CTL_ERR_VERSION ? "unsupported protocol version (server speaks 1)"
                                              : "payload length exceeds the limit");
    return false;
}

static void on_stream_end(struct ctl_server *srv, struct ctl_conn *c, long n)
{
    if (n == CTL_IO_EOF && c->rx_len > 0) {
        if (c->rx_len < CTL_HEADER_SIZE)
            c->hdr.type = 0, c->hdr.request_id = 0;
        reply_error(srv, c, CTL_ERR_TRUNCATED, "stream ended inside a message");
        return;
    }
    conn_close(srv, c);
}

/* Returns true while progress is being made. */
static bool recv_step(struct ctl_server *srv, struct ctl_conn *c)
{
    size_t want = c->rx_len < CTL_HEADER_SIZE ? CTL_HEADER_SIZE - c->rx_len
                                              : CTL_HEADER_SIZE + c->hdr.length - c->rx_len;
    long n = want ? c->ops->read(c->stream, c->rx + c->rx_len, want) : 0;
    if (n < 0) {
        on_stream_end(srv, c, n);
        return c->state == CTL_CONN_SEND;
    }
    if (want && n == 0)
        return false;
    if (c->rx_len == 0)
        c->deadline_ms = srv->now_ms + srv->cfg.message_timeout_ms;
    c->rx_len += (size_t)n;
    if (c->rx_len == CTL_HEADER_SIZE && n > 0 && !header_ok(srv, c))
        return true;
    if (c->rx_len >= CTL_HEADER_SIZE && c->rx_len == CTL_HEADER_SIZE + c->hdr.length)
        dispatch(srv, c);
    return true;
}

static bool send_step(struct ctl_server *srv, struct ctl_conn *c)
{
    if (c->tx_off < c->tx_len) {
        long n = c->ops->write(c->stream, c->tx + c->tx_off, c->tx_len - c->tx_off);
        if (n < 0) {
            conn_close(srv, c);
            return false;
        }
        c->tx_off += (size_t)n;
        return n > 0;
    }
    int f = c->ops->flush(c->stream);
    if (f < 0 || (f > 0 && c->close_after_send)) {
        conn_close(srv, c);
        return false;
    }
    if (f == 0)
        return false;
    c->state = CTL_CONN_RECV;
    c->rx_len = 0;
    c->deadline_ms = srv->now_ms + srv->cfg.idle_timeout_ms;
    return true;
}

/* True when a stalled message earned a TRUNCATED reply that still has to go out. */
static bool check_deadline(struct ctl_server *srv, struct ctl_conn *c)
{
    if (c->state == CTL_CONN_FREE || srv->now_ms < c->deadline_ms)
        return false;
    if (c->state == CTL_CONN_RECV && c->rx_len > 0) {
        if (c->rx_len < CTL_HEADER_SIZE)
            c->hdr.type = 0, c->hdr.request_id = 0;
        reply_error(srv, c, CTL_ERR_TRUNCATED, "timed out inside a message");
        return true;
    }
    conn_close(srv, c);
    return false;
}

static void conn_advance(struct ctl_server *srv, struct ctl_conn *c)
{
    for (int rounds = 0; rounds < 64 && c->state != CTL_CONN_FREE; rounds++) {
        bool progress = c->state == CTL_CONN_RECV ? recv_step(srv, c) : send_step(srv, c);
        if (!progress)
            break;
    }
}

/* Until the stream shows an allowed peer key, a connection gets only the short message
 * timeout: an unauthenticated peer cannot hold a slot for the idle time. */
static void note_authentication(struct ctl_server *srv, struct ctl_conn *c)
{
    if (c->authenticated || c->state != CTL_CONN_RECV || !conn_authenticated(srv, c))
        return;
    c->authenticated = true;
    if (c->rx_len == 0)
        c->deadline_ms = srv->now_ms + srv->cfg.idle_timeout_ms;
}

static void conn_poll(struct ctl_server *srv, struct ctl_conn *c)
{
    if (c->deadline_ms == 0)
        c->deadline_ms = srv->now_ms + srv->cfg.message_timeout_ms;
    conn_advance(srv, c);
    note_authentication(srv, c);
    if (check_deadline(srv, c))
        conn_advance(srv, c);
}

void ctl_server_poll(struct ctl_server *srv, uint64_t now_ms)
{
    srv->now_ms = now_ms;
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++)
        if (srv->conns[i].state != CTL_CONN_FREE)
            conn_poll(srv, &srv->conns[i]);
}

void ctl_server_close_all(struct ctl_server *srv)
{
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++)
        if (srv->conns[i].state != CTL_CONN_FREE)
            conn_close(srv, &srv->conns[i]);
}
