#include "net/kernel/peer_probe.h"

#include <string.h>

#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "net/control/ctl_codec.h"
#include "hv/lib/format.h"
#include "net/kernel/tls_session.h"

#define PING_ID          0xa701
#define PING_INTERVAL_MS 500
#define PING_TRIES       20
#define STEP_TIMEOUT_MS  20000
#define BENCH_CHUNK      4096

enum stage { ST_OFF, ST_WAIT_NET, ST_PING, ST_TLS, ST_PARTS, ST_BENCH_PLAIN, ST_BENCH_TLS, ST_DONE };

static struct net_options opt;
static const struct tls_identity *identity;
static enum stage stage = ST_OFF;
static ip_addr_t peer;
static char peer_text[16];
static unsigned passed, failed;
static uint32_t step_start_ms;
static uint8_t zeros[BENCH_CHUNK];

/* ICMP */
static struct raw_pcb *icmp_pcb;
static uint16_t ping_seq;
static uint32_t ping_sent_ms;
static uint64_t ping_sent_ns, ping_rtt_ns;
static bool ping_replied;

/* TLS and bench */
static struct tls_session *session;
static struct tcp_stream plain;
static bool plain_open, handshake_timed;
static uint8_t request[CTL_HEADER_SIZE + CTL_TLV_HEADER_SIZE + CTL_NAME_MAX + 1];
static size_t request_len, request_off;
static uint32_t request_id;
static uint8_t reply[CTL_HEADER_SIZE + 2048];
static size_t reply_len;
static uint64_t bytes_total, bytes_sent, t0_ns, handshake_ns;
/* Two emulators on a shared host make one transfer's rate noisy: plain and TLS alternate
 * for BENCH_ROUNDS rounds and the medians are compared. */
#define BENCH_ROUNDS 5
static uint64_t rates_plain[BENCH_ROUNDS], rates_tls[BENCH_ROUNDS];    /* bytes per second */
static unsigned bench_round;

static void result(bool ok, const char *fmt, const char *detail)
{
    *(ok ? &passed : &failed) += 1;
    kprintf("net: %s %s: %s\n", ok ? "PASS" : "FAIL", fmt, detail);
}

static void next_stage(enum stage s)
{
    stage = s;
    step_start_ms = sys_now();
}

static bool step_timed_out(void)
{
    return sys_now() - step_start_ms > STEP_TIMEOUT_MS;
}

/* ---- ICMP echo ---------------------------------------------------------------------- */

static u8_t on_icmp(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    struct icmp_echo_hdr echo;
    if (p->tot_len < IP_HLEN + sizeof(echo))
        return 0;
    u8_t vhl;
    pbuf_copy_partial(p, &vhl, 1, 0);
    u16_t hlen = (u16_t)((vhl & 0x0f) * 4);
    if (pbuf_copy_partial(p, &echo, sizeof(echo), hlen) != sizeof(echo) ||
        echo.type != ICMP_ER || echo.id != lwip_htons(PING_ID) || !ip_addr_cmp(addr, &peer))
        return 0;
    if (!ping_replied) {
        ping_replied = true;
        ping_rtt_ns = time_ns() - ping_sent_ns;
    }
    pbuf_free(p);
    return 1;
}

static void send_ping(void)
{
    struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) + 32, PBUF_RAM);
    if (!p)
        return;
    struct icmp_echo_hdr *e = p->payload;
    memset(e, 0, p->len);
    e->type = ICMP_ECHO;
    e->id = lwip_htons(PING_ID);
    e->seqno = lwip_htons(++ping_seq);
    memcpy((uint8_t *)(e + 1), "atoll-ping-atoll-ping-atoll-ping", 32);
    e->chksum = inet_chksum(e, p->len);
    ping_sent_ns = time_ns();
    ping_sent_ms = sys_now();
    raw_sendto(icmp_pcb, p, &peer);
    pbuf_free(p);
}

static void poll_ping(void)
{
    char d[80];
    if (ping_replied) {
        fmt_snprintf(d, sizeof(d), "reply to echo %u in %lu us", ping_seq,
                     (unsigned long)(ping_rtt_ns / 1000));
        result(true, "ICMP echo to", peer_text);
        kprintf("net: ping %s: %s\n", peer_text, d);
        next_stage(ST_TLS);
        return;
    }
    if (ping_seq && sys_now() - ping_sent_ms < PING_INTERVAL_MS)
        return;
    if (ping_seq >= PING_TRIES) {
        result(false, "ICMP echo to", "no reply to 20 echo requests");
        next_stage(ST_TLS);
        return;
    }
    send_ping();
}

/* ---- control requests over a TLS session ---------------------------------------------- */

static void end_session(void)
{
    tls_session_free(session);
    session = NULL;
}

static void queue_request(uint16_t type, const void *payload, size_t len)
{
    request_len = ctl_message_build(request, sizeof(request), type, ++request_id, payload, len);
    request_off = 0;
    reply_len = 0;
}

static bool reply_complete(void)
{
    if (reply_len < CTL_HEADER_SIZE)
        return false;
    struct ctl_header h;
    ctl_header_decode(reply, &h);
    return reply_len >= CTL_HEADER_SIZE + h.length;
}

static bool reply_too_large(void)
{
    struct ctl_header h;
    if (reply_len < CTL_HEADER_SIZE)
        return false;
    ctl_header_decode(reply, &h);
    return h.length > sizeof(reply) - CTL_HEADER_SIZE;
}

/* Sends the queued request and collects its reply: 1 whole, 0 pending, -1 failed (*why). */
static int exchange(const char **why)
{
    while (request_off < request_len) {
        long w = tls_conn_write(&session->tls, request + request_off, request_len - request_off);
        if (w < 0)
            return *why = "handshake or write failed", -1;
        if (w == 0)
            return 0;
        request_off += (size_t)w;
    }
    if (tls_conn_flush(&session->tls) < 0)
        return *why = "flush failed", -1;
    long r = tls_conn_read(&session->tls, reply + reply_len, sizeof(reply) - reply_len);
    if (r < 0)
        return *why = "the peer closed the session", -1;
    reply_len += (size_t)r;
    if (reply_too_large())
        return *why = "reply too large", -1;
    return reply_complete() ? 1 : 0;
}

/* The reply's status, or 0xffff when the reply is not to `type`; its payload in *payload. */
static uint16_t reply_status(uint16_t type, const uint8_t **payload, uint32_t *len)
{
    struct ctl_header h;
    struct ctl_tlv t;
    uint16_t st = 0xffff;
    ctl_header_decode(reply, &h);
    *payload = reply + CTL_HEADER_SIZE;
    *len = h.length;
    if (h.type != (type | CTL_REPLY_BIT) || h.request_id != request_id ||
        !ctl_tlv_valid(*payload, h.length))
        return 0xffff;
    if (ctl_tlv_find(*payload, h.length, CTL_TAG_STATUS, &t))
        ctl_tlv_u16(&t, &st);
    return st;
}

static bool connect_control(void)
{
    if (!identity || !opt.peer_key_set)
        return false;
    session = tls_session_connect(&peer, 7400, identity, opt.peer_key);
    return session != NULL;
}

static void parts_begin(void);

/* ---- TLS session with the peer's control server: `status` ------------------------------- */

/* The partition steps go on in the same session when it worked (parts_begin). */
static void after_status(bool ok)
{
    if (!ok || !opt.peer_start[0])
        end_session();
    next_stage(opt.peer_start[0] ? ST_PARTS : opt.bench_mib ? ST_BENCH_PLAIN : ST_DONE);
    parts_begin();
}

static void tls_fail(const char *what)
{
    char d[120];
    int e = session ? tls_conn_engine_error(&session->tls) : 0;
    fmt_snprintf(d, sizeof(d), "%s (TLS error %d)", what, e);
    result(false, "TLS session with", d);
    after_status(false);
}

static void check_reply(void)
{
    const uint8_t *payload;
    uint32_t len;
    struct ctl_tlv t;
    char d[160], host[32] = "?", fp[TLS_FP_HEX_SIZE];
    uint16_t st = reply_status(CTL_MSG_STATUS, &payload, &len);
    if (ctl_tlv_find(payload, len, CTL_TAG_HOSTNAME, &t))
        ctl_tlv_text(&t, host, sizeof(host));
    tls_fingerprint_hex(tls_conn_peer_key(&session->tls), fp);
    fmt_snprintf(d, sizeof(d), "%s:%u, %s, peer key %.16s..., status %s (host %s)", peer_text,
                 7400, tls_conn_suite_name(&session->tls), fp, ctl_status_name(st), host);
    result(st == CTL_OK, "TLS session with", d);
    after_status(st == CTL_OK);
}

static void poll_tls(void)
{
    const char *why = NULL;
    if (!identity || !opt.peer_key_set) {
        result(false, "TLS session with", "needs this host's key and net.peer-key");
        next_stage(ST_DONE);
        return;
    }
    if (!session) {
        if (!connect_control())
            return tls_fail("cannot open a connection");
        queue_request(CTL_MSG_STATUS, NULL, 0);
    }
    if (step_timed_out())
        return tls_fail("timed out");
    int e = exchange(&why);
    if (e < 0)
        return tls_fail(why);
    if (e > 0)
        check_reply();
}

/* ---- the peer's partition net.peer-start: list, start, list, stop, list ------------------- */

enum part_step { PS_LIST_BEFORE, PS_START, PS_LIST_STARTED, PS_STOP, PS_LIST_STOPPED, PS_END };

static const struct {
    const char *label;
    uint16_t type;
    uint8_t want;                 /* list steps: the state NAME must show */
} part_steps[PS_END] = {
    [PS_LIST_BEFORE]  = { "peer list before start", CTL_MSG_LIST, CTL_PART_STOPPED },
    [PS_START]        = { "peer start",              CTL_MSG_START, 0 },
    [PS_LIST_STARTED] = { "peer list after start",  CTL_MSG_LIST, CTL_PART_RUNNING },
    [PS_STOP]         = { "peer stop",               CTL_MSG_STOP, 0 },
    [PS_LIST_STOPPED] = { "peer list after stop",   CTL_MSG_LIST, CTL_PART_STOPPED },
};

#define RELIST_MS 250
#define HOLD_MS   6000    /* the partition runs this long before `stop`: its guest shows
                           * (it fills its RAM first: on a loaded host 3 s were too few) */

static enum part_step part_step;
static uint32_t relist_at_ms;    /* nonzero: (re)send this step's request then */

static void queue_part_step(void)
{
    uint8_t payload[CTL_TLV_HEADER_SIZE + CTL_NAME_MAX + 1];
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, payload, sizeof(payload));
    if (part_steps[part_step].type != CTL_MSG_LIST)
        ctl_put_str(&w, CTL_TAG_NAME, opt.peer_start);
    queue_request(part_steps[part_step].type, payload, w.len);
}

static void part_result(bool ok, const char *detail)
{
    char label[64];
    fmt_snprintf(label, sizeof(label), "%s%s%s", part_steps[part_step].label,
                 part_steps[part_step].type == CTL_MSG_LIST ? "" : " ",
                 part_steps[part_step].type == CTL_MSG_LIST ? "" : opt.peer_start);
    result(ok, label, detail);
}

static void parts_end(void)
{
    end_session();
    next_stage(opt.bench_mib ? ST_BENCH_PLAIN : ST_DONE);
}

static void parts_fail(const char *why)
{
    part_result(false, why);
    parts_end();
}

/* NAME's record in a `list` reply: its state and memory; false when it is not listed. */
static bool listed(const uint8_t *payload, uint32_t len, uint8_t *state, uint64_t *memory)
{
    struct ctl_tlv_reader r;
    struct ctl_tlv t, f;
    char name[CTL_NAME_MAX + 1];
    ctl_tlv_reader_init(&r, payload, len);
    while (ctl_tlv_next(&r, &t) == 1) {
        if (t.tag != CTL_TAG_PARTITION || !ctl_tlv_find(t.value, t.len, CTL_TAG_NAME, &f) ||
            !ctl_tlv_name(&f, name) || strcmp(name, opt.peer_start))
            continue;
        *memory = 0;
        if (ctl_tlv_find(t.value, t.len, CTL_TAG_MEMORY, &f))
            ctl_tlv_u64(&f, memory);
        return ctl_tlv_find(t.value, t.len, CTL_TAG_STATE, &f) && ctl_tlv_u8(&f, state);
    }
    return false;
}

/* A list step: true once judged; false to list again (the partition is changing state). */
static bool judge_list(const uint8_t *payload, uint32_t len)
{
    char d[120];
    uint8_t state;
    uint64_t memory;
    if (!listed(payload, len, &state, &memory)) {
        fmt_snprintf(d, sizeof(d), "partition %s not listed", opt.peer_start);
        part_result(false, d);
        return true;
    }
    uint8_t want = part_steps[part_step].want;
    if (state != want && (state == CTL_PART_STARTING || state == CTL_PART_STOPPING))
        return false;
    fmt_snprintf(d, sizeof(d), "%s %s, %lu MiB (want %s)", opt.peer_start,
                 ctl_partition_state_name(state), (unsigned long)(memory >> 20),
                 ctl_partition_state_name(want));
    part_result(state == want, d);
    return true;
}

static void judge_part_reply(void)
{
    const uint8_t *payload;
    uint32_t len;
    struct ctl_tlv t;
    char d[120], msg[80] = "";
    uint16_t st = reply_status(part_steps[part_step].type, &payload, &len);
    if (st != CTL_OK) {
        if (st != 0xffff && ctl_tlv_find(payload, len, CTL_TAG_MESSAGE, &t))
            ctl_tlv_text(&t, msg, sizeof(msg));
        fmt_snprintf(d, sizeof(d), "status %s %s", st == 0xffff ? "(bad reply)" : ctl_status_name(st), msg);
        return parts_fail(d);
    }
    if (part_steps[part_step].type == CTL_MSG_LIST) {
        if (!judge_list(payload, len)) {
            relist_at_ms = sys_now() + RELIST_MS;
            return;
        }
    } else {
        part_result(true, "status ok");
    }
    if (++part_step == PS_END)
        return parts_end();
    next_stage(ST_PARTS);
    if (part_step == PS_STOP)
        relist_at_ms = sys_now() + HOLD_MS;
    else
        queue_part_step();
}

static void parts_begin(void)
{
    part_step = PS_LIST_BEFORE;
    relist_at_ms = 0;
    if (session)
        queue_part_step();
}

static void poll_parts(void)
{
    const char *why = NULL;
    if (!session) {
        if (!connect_control())
            return parts_fail("cannot open a TLS session (needs this host's key and net.peer-key)");
        queue_part_step();
    }
    if (step_timed_out())
        return parts_fail("timed out");
    if (relist_at_ms) {
        if ((int32_t)(sys_now() - relist_at_ms) < 0)
            return;
        relist_at_ms = 0;
        queue_part_step();
    }
    int e = exchange(&why);
    if (e < 0)
        return parts_fail(why);
    if (e > 0)
        judge_part_reply();
}

/* ---- bulk bench: plain TCP, then TLS ------------------------------------------------------ */

static uint64_t rate(uint64_t bytes, uint64_t ns)
{
    return ns ? bytes * 1000000000ull / ns : 0;
}

static void bench_line(const char *what, uint64_t bytes, uint64_t ns)
{
    kprintf("bench: round %u %s %lu bytes in %lu us: %lu KiB/s\n", bench_round + 1, what,
            (unsigned long)bytes, (unsigned long)(ns / 1000),
            (unsigned long)(rate(bytes, ns) >> 10));
    kprintf("bench: so far: %u TCP segments sent, %u retransmitted, %u link drops\n",
            (unsigned)lwip_stats.tcp.xmit, (unsigned)lwip_stats.mib2.tcpretranssegs,
            (unsigned)lwip_stats.link.drop);
}

static void poll_bench_plain(void)
{
    if (!plain_open) {
        bytes_total = (uint64_t)opt.bench_mib << 20;
        bytes_sent = 0;
        plain_open = tcp_stream_connect(&plain, &peer, NET_SINK_PLAIN_PORT);
        t0_ns = 0;
        if (!plain_open) {
            result(false, "bench plain TCP to", "cannot open a connection");
            return next_stage(ST_BENCH_TLS);
        }
    }
    if (plain.failed || step_timed_out()) {
        kprintf("bench: plain stalled at %lu of %lu bytes, %lu unacked, %u retransmitted, "
                "%u link drops\n", (unsigned long)bytes_sent, (unsigned long)bytes_total,
                (unsigned long)tcp_stream_unacked(&plain), (unsigned)lwip_stats.mib2.tcpretranssegs,
                (unsigned)lwip_stats.link.drop);
        result(false, "bench plain TCP to", plain.failed ? "connection failed" : "timed out");
        tcp_stream_close(&plain);
        return next_stage(ST_BENCH_TLS);
    }
    if (!plain.connected)
        return;
    if (!t0_ns)
        t0_ns = time_ns();
    while (bytes_sent < bytes_total) {
        uint64_t left = bytes_total - bytes_sent;
        long n = tcp_stream_send(&plain, zeros, left < BENCH_CHUNK ? left : BENCH_CHUNK);
        if (n <= 0)
            break;
        bytes_sent += (uint64_t)n;
    }
    if (bytes_sent < bytes_total || tcp_stream_unacked(&plain))
        return;
    uint64_t ns = time_ns() - t0_ns;
    rates_plain[bench_round] = rate(bytes_total, ns);
    bench_line("plain", bytes_total, ns);
    tcp_stream_close(&plain);
    plain_open = false;
    next_stage(ST_BENCH_TLS);
}

static uint64_t median(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned k = i; k > 0 && v[k - 1] > v[k]; k--) {
            uint64_t t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    return v[n / 2];
}

static void bench_report(void)
{
    uint64_t p = median(rates_plain, BENCH_ROUNDS), t = median(rates_tls, BENCH_ROUNDS);
    kprintf("bench: plain median of %u rounds: %lu KiB/s\n", BENCH_ROUNDS, (unsigned long)(p >> 10));
    kprintf("bench: tls median of %u rounds: %lu KiB/s\n", BENCH_ROUNDS, (unsigned long)(t >> 10));
    if (p)
        kprintf("bench: tls/plain ratio %lu.%03lu\n", (unsigned long)(t / p),
                (unsigned long)(t % p * 1000 / p));
}

static void bench_tls_fail(const char *why)
{
    result(false, "bench TLS to", why);
    end_session();
    next_stage(ST_DONE);
}

static void poll_bench_tls(void)
{
    if (!identity || !opt.peer_key_set)
        return bench_tls_fail("needs this host's key and net.peer-key");
    if (!session) {
        session = tls_session_connect(&peer, NET_SINK_TLS_PORT, identity, opt.peer_key);
        bytes_sent = 0;
        handshake_timed = false;
        t0_ns = time_ns();
        if (!session)
            return bench_tls_fail("cannot open a connection");
    }
    if (step_timed_out())
        return bench_tls_fail("timed out");
    if (!handshake_timed) {
        int h = tls_conn_handshake(&session->tls);
        if (h < 0)
            return bench_tls_fail("handshake failed");
        if (h == 0)
            return;
        handshake_timed = true;
        handshake_ns = time_ns() - t0_ns;
        t0_ns = time_ns();
    }
    while (bytes_sent < bytes_total) {
        uint64_t left = bytes_total - bytes_sent;
        long n = tls_conn_write(&session->tls, zeros, left < BENCH_CHUNK ? left : BENCH_CHUNK);
        if (n < 0)
            return bench_tls_fail("write failed");
        if (n == 0)
            return;
        bytes_sent += (uint64_t)n;
    }
    int f = tls_conn_flush(&session->tls);
    if (f < 0)
        return bench_tls_fail("flush failed");
    if (f == 0 || tcp_stream_unacked(&session->tcp))
        return;
    uint64_t ns = time_ns() - t0_ns;
    rates_tls[bench_round] = rate(bytes_total, ns);
    bench_line("tls", bytes_total, ns);
    kprintf("bench: tls handshake %lu us, %s\n", (unsigned long)(handshake_ns / 1000),
            tls_conn_suite_name(&session->tls));
    end_session();
    if (++bench_round < BENCH_ROUNDS)
        return next_stage(ST_BENCH_PLAIN);
    bench_report();
    result(true, "bench plain TCP to", peer_text);
    result(true, "bench TLS to", peer_text);
    next_stage(ST_DONE);
}

/* ---- driver -------------------------------------------------------------------------------- */

void peer_probe_start(const struct net_options *o, const struct tls_identity *id)
{
    if (!o->peer)
        return;
    opt = *o;
    identity = id;
    ip_addr_set_ip4_u32(&peer, lwip_htonl(o->peer_ip));
    ip4addr_ntoa_r(ip_2_ip4(&peer), peer_text, sizeof(peer_text));
    icmp_pcb = raw_new(IP_PROTO_ICMP);
    if (icmp_pcb) {
        raw_recv(icmp_pcb, on_icmp, NULL);
        raw_bind(icmp_pcb, IP_ADDR_ANY);
    }
    stage = ST_WAIT_NET;
}

void peer_probe_network_up(void)
{
    if (stage == ST_WAIT_NET)
        next_stage(icmp_pcb ? ST_PING : ST_TLS);
}

void peer_probe_poll(void)
{
    switch (stage) {
    case ST_PING:        poll_ping(); break;
    case ST_TLS:         poll_tls(); break;
    case ST_PARTS:       poll_parts(); break;
    case ST_BENCH_PLAIN: poll_bench_plain(); break;
    case ST_BENCH_TLS:   poll_bench_tls(); break;
    case ST_DONE:
        kprintf("net: peer checks done: %u passed, %u failed\n", passed, failed);
        stage = ST_OFF;
        break;
    default:
        break;
    }
}
