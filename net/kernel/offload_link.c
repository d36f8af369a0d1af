/* Offload between two hosts: A's offload link and B's pull (net/kernel/offload_link.h). */
#include "net/kernel/offload_link.h"

#include <stdarg.h>
#include <string.h>

#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/lib/be.h"
#include "hv/lib/format.h"
#include "hv/lib/ipv4.h"
#include "hv/lib/peer_slots.h"
#include "hv/mm/kmem.h"
#include "hv/offload/grant.h"
#include "hv/offload/offload_ctl.h"
#include "hv/offload/offload_wire.h"
#include "lwip/tcp.h"
#include "net/kernel/kernel_offload.h"
#include "net/kernel/tcp_stream.h"
#include "net/kernel/tls_session.h"

#define REQ_SIZE      OFFLOAD_WIRE_REQUEST_SIZE
#define FRAME_HEADER  OFFLOAD_WIRE_HEADER
#define TEXT_MAX      OFFLOAD_WIRE_TEXT_MAX
#define BUF_SIZE      (FRAME_HEADER + OFFLOAD_CHUNK + FRAME_HEADER + TEXT_MAX)
#define BUF_PAGES     ((BUF_SIZE + 4095) / 4096)
#define SERVES_MAX    2
#define STALL_MS      30000u  /* no progress for this long: the link is given up */
#define REQUEST_MS    10000u  /* from accept to a whole request (TLS handshake included) */

static const struct tls_identity *identity;

static uint64_t now_ms(void) { return time_ns() / 1000000; }


/* Writes what it can of buf[*off, len); 1 all written and flushed, 0 pending, -1 failed. */
static int send_some(struct tls_session *s, const uint8_t *buf, size_t len, size_t *off)
{
    while (*off < len) {
        long w = tls_conn_write(&s->tls, buf + *off, len - *off);
        if (w < 0)
            return -1;
        if (w == 0)
            break;
        *off += (size_t)w;
    }
    int f = tls_conn_flush(&s->tls);
    if (f < 0)
        return -1;
    return *off >= len && f == 1 ? 1 : 0;
}

/* Reads into buf[*got, want); 1 complete, 0 pending, -1 closed or failed. */
static int recv_some(struct tls_session *s, uint8_t *buf, size_t want, size_t *got)
{
    while (*got < want) {
        long r = tls_conn_read(&s->tls, buf + *got, want - *got);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        *got += (size_t)r;
    }
    return 1;
}

/* ---- A: serving grants ------------------------------------------------------------- */

struct serve {
    bool used, ending;
    struct tls_session *s;
    uint8_t req[REQ_SIZE];
    size_t req_len;
    bool begun;
    struct token t;
    uint64_t off, len, sent;
    uint32_t granule;
    uint8_t *buf;             /* one 'D' frame and the 'E' frame after it: `small` until
                                 a grant is accepted (a stranger's connection holds no MiB) */
    bool big;
    uint8_t small[FRAME_HEADER + TEXT_MAX];
    size_t tx_len, tx_off;
    uint64_t accepted_ms, last_ms;
    uint32_t addr;            /* the peer's IPv4 address (hv/lib/peer_slots.h) */
    uint64_t order, turn_ms;
};

static struct serve serves[SERVES_MAX];
static uint64_t accept_count;

static void serve_free(struct serve *v)
{
    tls_session_free(v->s);
    if (v->big)
        kmem_free_pages(v->buf, BUF_PAGES);
    memset(v, 0, sizeof(*v));
}

/* The sink of offload_serve_range: the piece lands after the 'D' header. */
static int sink_write(void *h, uint64_t pos, const void *data, size_t len)
{
    struct serve *v = h;
    if (pos + len > OFFLOAD_CHUNK)
        return -1;
    memcpy(v->buf + FRAME_HEADER + pos, data, len);
    v->tx_len = FRAME_HEADER + (size_t)(pos + len);
    return 0;
}

static int sink_flush(void *h) { return 0; }

static void queue_end(struct serve *v, int status, const char *text)
{
    size_t n = strlen(text);
    if (n > TEXT_MAX)
        n = TEXT_MAX;
    uint8_t *e = v->buf + v->tx_len;
    offload_wire_end_header(e, status, n, v->sent);
    memcpy(e + FRAME_HEADER, text, n);
    v->tx_len += FRAME_HEADER + n;
    v->ending = true;
}

/* The request is in: checks the grant (the peer's TLS key must be the one it names). */
static void serve_begin(struct serve *v)
{
    char msg[TEXT_MAX];
    struct offload_provider *p = kernel_offload_provider();
    const uint8_t *peer = tls_conn_peer_key(&v->s->tls);
    struct offload_wire_request req;
    v->tx_len = v->tx_off = 0;
    int rc;
    if (!offload_wire_request_decode(v->req, REQ_SIZE, &req) || !peer) {
        rc = OFFLOAD_E_INVALID, fmt_snprintf(msg, sizeof msg, "not an offload link request");
    } else if (!p) {
        rc = OFFLOAD_E_NOT_FOUND, fmt_snprintf(msg, sizeof msg, "no storage pool on this host");
    } else {
        v->off = req.token_offset, v->len = req.length, v->granule = req.granule;
        rc = offload_serve_begin(p, kernel_offload_grants(), req.grant, GRANT_SIZE, peer,
                                 &v->t, msg, sizeof msg);
    }
    if (rc == OFFLOAD_OK && v->off >= v->t.total)
        rc = OFFLOAD_E_INVALID, fmt_snprintf(msg, sizeof msg, "offset %llu is past the token's "
                                             "%llu bytes", (unsigned long long)v->off,
                                             (unsigned long long)v->t.total);
    if (rc != OFFLOAD_OK) {
        kprintf("offload: refused a grant: %s\n", msg);
        queue_end(v, rc, msg);
        return;
    }
    uint8_t *big = kmem_alloc_pages(BUF_PAGES);
    if (!big) {
        queue_end(v, OFFLOAD_E_NOMEM, "out of memory for the transfer: try again later");
        return;
    }
    v->buf = big;
    v->big = true;
    if (v->len > v->t.total - v->off)
        v->len = v->t.total - v->off;
    v->begun = true;
    kprintf("offload: grant accepted: serving %llu bytes\n", (unsigned long long)v->len);
}

/* The frame before has gone: the next piece, or the end. */
static void serve_next(struct serve *v)
{
    char msg[TEXT_MAX] = "";
    v->tx_len = v->tx_off = 0;
    if (v->sent >= v->len) {
        kprintf("offload: served %llu bytes\n", (unsigned long long)v->sent);
        queue_end(v, OFFLOAD_OK, "");
        return;
    }
    uint64_t ask = v->len - v->sent < OFFLOAD_CHUNK ? v->len - v->sent : OFFLOAD_CHUNK, got = 0;
    struct offload_io sink = { .h = v, .size = UINT64_MAX, .granule = v->granule,
                               .write = sink_write, .flush = sink_flush };
    int rc = offload_serve_range(kernel_offload_provider(), &v->t, v->off + v->sent, ask, &sink,
                                 &got, msg, sizeof msg);
    if (got) {
        offload_wire_data_header(v->buf, (uint32_t)got);
        v->tx_len = FRAME_HEADER + (size_t)got;
        v->sent += got;
    }
    if (rc != OFFLOAD_OK || got < ask) {
        kprintf("offload: serving stopped after %llu bytes: %s\n", (unsigned long long)v->sent,
                msg[0] ? msg : "short");
        queue_end(v, rc, msg);
    }
}

static void serve_poll(struct serve *v)
{
    int r = 1;
    if (!v->begun && !v->ending) {
        r = recv_some(v->s, v->req, REQ_SIZE, &v->req_len);
        if (r == 1)
            serve_begin(v);
    }
    while (r == 1 && (v->begun || v->ending)) {
        size_t before = v->tx_off;
        r = send_some(v->s, v->buf, v->tx_len, &v->tx_off);
        if (v->tx_off != before)
            v->last_ms = now_ms();
        if (r == 1 && v->ending) {
            serve_free(v);
            return;
        }
        if (r == 1)
            serve_next(v);
    }
    bool late = !v->begun && !v->ending && now_ms() - v->accepted_ms > REQUEST_MS;
    if (r < 0 || late || now_ms() - v->last_ms > STALL_MS)
        serve_free(v);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    /* Both busy: one still waiting for its request (a handshake, or a peer that says
     * nothing) makes way, chosen fairly per address (hv/lib/peer_slots.h), so that neither
     * silent peers nor one address opening connection after connection keeps a granted one
     * out; both serving: refused, the served ones go on. */
    struct peer_slot view[SERVES_MAX];
    for (int i = 0; i < SERVES_MAX; i++) {
        const struct serve *w = &serves[i];
        view[i] = (struct peer_slot){ w->used, w->begun || w->ending, w->addr, w->order,
                                      w->turn_ms };
    }
    uint32_t addr = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
    struct peer_slots_choice choice = peer_slots_choose(view, SERVES_MAX, addr, now_ms(),
                                                        PEER_SLOTS_TURN_MS);
    if (choice.verdict == PEER_SLOT_REFUSE) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    struct serve *v = &serves[choice.slot];
    if (choice.verdict == PEER_SLOT_EVICT)
        serve_free(v);
    /* Any key: grant_check compares it with the grant's destination. */
    struct tls_session *s = tls_session_accept(pcb, identity, NULL, 0);
    if (!s)
        return ERR_ABRT;
    s->tls.pin.any = true;
    memset(v, 0, sizeof(*v));
    v->used = true;
    v->s = s;
    v->buf = v->small;
    v->accepted_ms = v->last_ms = now_ms();
    v->addr = addr;
    v->order = ++accept_count;
    v->turn_ms = choice.turn_ms;
    return ERR_OK;
}

bool offload_link_start(const struct tls_identity *id, uint16_t port)
{
    identity = id;
    return tcp_stream_listen(port, on_accept);
}

/* ---- B: pulling a token from A ----------------------------------------------------- */

static struct {
    bool active;
    struct tls_session *s;
    struct offload_receiver r;
    struct offload_io sink;
    char host[32];
    uint8_t req[REQ_SIZE];
    size_t req_off;
    uint8_t hdr[FRAME_HEADER];
    size_t hdr_len;
    struct offload_wire_frame frame;
    uint8_t *buf;
    size_t want, got;
    uint64_t received, total, last_ms;
    uint16_t result;
    char last[200];
} pull;


static void pull_end(uint16_t result, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pull_end(uint16_t result, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(pull.last, sizeof pull.last, fmt, ap);
    va_end(ap);
    if (offload_receive_close(&pull.r) != OFFLOAD_OK && result == CTL_OK) {
        result = CTL_ERR_INTERNAL;
        fmt_snprintf(pull.last, sizeof pull.last, "flushing the destination failed");
    }
    tls_session_free(pull.s);
    pull.s = NULL;
    kmem_free_pages(pull.buf, BUF_PAGES);
    pull.buf = NULL;
    pull.result = result;
    pull.active = false;
    kprintf("offload: pull from %s: %s\n", pull.host, pull.last);
}

uint16_t offload_link_pull(void *ctx, const uint8_t grant[CTL_OFFLOAD_GRANT_SIZE],
                           const char *host, uint64_t token_offset, uint64_t length,
                           const struct ctl_offload_range *dst, char *msg, size_t msg_size)
{
    (void)ctx;
    uint32_t ip;
    uint16_t port;
    struct offload_provider *p = kernel_offload_provider();
    if (pull.active)
        return fmt_snprintf(msg, msg_size, "a pull from %s is under way", pull.host), CTL_ERR_BUSY;
    if (!ipv4_parse_host(host, CTL_DEFAULT_PORT + OFFLOAD_LINK_PORT_OFFSET,
                         &ip, &port))
        return fmt_snprintf(msg, msg_size, "%s: not A.B.C.D[:PORT]", host), CTL_ERR_BAD_ARGUMENT;
    if (!p || !identity)
        return fmt_snprintf(msg, msg_size, "no storage pool or no host key here"),
               CTL_ERR_UNSUPPORTED;
    /* The token's total, readable by anyone (TOKEN.md): what is asked, at most. */
    uint64_t total = be64(grant + 172 + 72);
    if (token_offset >= total)
        return fmt_snprintf(msg, msg_size, "offset %llu is past the token's %llu bytes",
                            (unsigned long long)token_offset, (unsigned long long)total),
               CTL_ERR_BAD_ARGUMENT;
    if (length > total - token_offset)
        length = total - token_offset;
    uint8_t *buf = kmem_alloc_pages(BUF_PAGES);
    if (!buf)
        return fmt_snprintf(msg, msg_size, "out of memory"), CTL_ERR_BUSY;
    int rc = offload_receive_open(&pull.r, p, dst->kind, dst->file, dst->offset, &pull.sink,
                                  msg, msg_size);
    if (rc != OFFLOAD_OK) {
        kmem_free_pages(buf, BUF_PAGES);
        return offload_ctl_status(rc);
    }
    ip_addr_t a;
    IP_ADDR4(&a, ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    /* The grant names A's key (bytes 84..116): the only key this connection accepts. */
    struct tls_session *s = tls_session_connect(&a, port, identity, grant + 84);
    if (!s) {
        offload_receive_close(&pull.r);
        kmem_free_pages(buf, BUF_PAGES);
        return fmt_snprintf(msg, msg_size, "no connection to %s could be started", host),
               CTL_ERR_BUSY;
    }
    pull.active = true;
    pull.s = s;
    pull.buf = buf;
    strlcpy(pull.host, host, sizeof pull.host);
    struct offload_wire_request req = { .token_offset = token_offset, .length = length,
                                        .granule = pull.sink.granule };
    memcpy(req.grant, grant, GRANT_SIZE);
    offload_wire_request_encode(&req, pull.req);
    pull.req_off = pull.hdr_len = pull.want = pull.got = 0;
    pull.received = 0;
    pull.total = length;
    pull.result = CTL_OK;
    pull.last_ms = now_ms();
    fmt_snprintf(pull.last, sizeof pull.last, "pulling %llu bytes from %s into %s",
                 (unsigned long long)length, host, dst->file);
    fmt_snprintf(msg, msg_size, "%s", pull.last);
    return CTL_OK;
}

static void why_failed(char *out, size_t size)
{
    int e = tls_conn_engine_error(&pull.s->tls);
    if (e == BR_ERR_X509_NOT_TRUSTED)
        fmt_snprintf(out, size, "%s did not show the key the grant names as the source",
                     pull.host);
    else if (pull.s->tcp.failed)
        fmt_snprintf(out, size, "the connection to %s was refused or reset", pull.host);
    else if (e)
        fmt_snprintf(out, size, "TLS error %d with %s", e, pull.host);
    else
        fmt_snprintf(out, size, "%s closed the connection", pull.host);
}

static void pull_link_failed(void)
{
    char why[120];
    why_failed(why, sizeof why);
    pull_end(CTL_ERR_INTERNAL, "%s", why);
}

/* A frame's text or data is in: writes the data, or ends the pull; false when it ended. */
static bool pull_frame(void)
{
    if (pull.frame.type == OFFLOAD_WIRE_DATA) {
        if (!pull.sink.write(pull.sink.h, pull.received, pull.buf, pull.want)) {
            pull.received += pull.want;
            return true;
        }
        pull_end(CTL_ERR_INTERNAL, "writing %s failed after %llu bytes", pull.r.name,
                 (unsigned long long)pull.received);
        return false;
    }
    char text[TEXT_MAX + 1];
    memcpy(text, pull.buf, pull.want);
    text[pull.want] = '\0';
    if (pull.frame.status != OFFLOAD_OK)
        pull_end(offload_ctl_status(pull.frame.status), "refused by %s after %llu bytes: %s",
                 pull.host, (unsigned long long)pull.received, text);
    else
        pull_end(CTL_OK, "pulled %llu of %llu bytes from %s into %s%s%s",
                 (unsigned long long)pull.received, (unsigned long long)pull.total, pull.host,
                 pull.r.name, text[0] ? ": " : "", text);
    return false;
}

/* The frame header is in: whether it is one B accepts. */
static bool header_ok(void)
{
    pull.got = 0;
    bool ok = offload_wire_frame_decode(pull.hdr, pull.received, pull.total, &pull.frame);
    pull.want = pull.frame.length;
    return ok;
}

static void pull_poll(void)
{
    if (pull.req_off < REQ_SIZE) {
        size_t before = pull.req_off;
        int r = send_some(pull.s, pull.req, REQ_SIZE, &pull.req_off);
        if (pull.req_off != before)
            pull.last_ms = now_ms();
        if (r < 0) {
            pull_link_failed();
            return;
        }
    }
    for (;;) {
        int r = 1;
        if (pull.hdr_len < FRAME_HEADER) {
            r = recv_some(pull.s, pull.hdr, FRAME_HEADER, &pull.hdr_len);
            if (r == 1 && !header_ok()) {
                pull_end(CTL_ERR_INTERNAL, "%s sent a malformed frame", pull.host);
                return;
            }
        }
        if (r == 1)
            r = recv_some(pull.s, pull.buf, pull.want, &pull.got);
        if (r < 0) {
            pull_link_failed();
            return;
        }
        if (r == 0)
            break;
        pull.last_ms = now_ms();
        pull.hdr_len = 0;
        if (!pull_frame())
            return;
    }
    if (now_ms() - pull.last_ms > STALL_MS)
        pull_end(CTL_ERR_INTERNAL, "%s stopped answering after %llu bytes", pull.host,
                 (unsigned long long)pull.received);
}

uint16_t offload_link_pull_status(void *ctx, struct ctl_offload_pull_status *out)
{
    (void)ctx;
    out->active = pull.active;
    out->received = pull.received;
    out->total = pull.total;
    out->result = pull.result;
    strlcpy(out->last, pull.last, sizeof out->last);
    return CTL_OK;
}

bool offload_link_poll(void)
{
    bool busy = false;
    for (int i = 0; i < SERVES_MAX; i++)
        if (serves[i].used) {
            serve_poll(&serves[i]);
            busy |= serves[i].used;
        }
    if (pull.active)
        pull_poll();
    return busy || pull.active;
}
