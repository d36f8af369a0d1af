#include "net/kernel/peer_probe.h"

#include <string.h>

#include "hv/arch/x86/tsc.h"
#include "hv/core/console.h"
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

enum stage { ST_OFF, ST_WAIT_NET, ST_PING, ST_TLS, ST_BENCH_PLAIN, ST_BENCH_TLS, ST_DONE };

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
static bool plain_open, request_sent, handshake_timed;
static uint8_t reply[CTL_HEADER_SIZE + 512];
static size_t reply_len;
static uint64_t bytes_total, bytes_sent, t0_ns, handshake_ns;
static uint64_t rate_plain, rate_tls;     /* bytes per second */

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

/* ---- TLS session with the peer's control server -------------------------------------- */

static void end_session(void)
{
    tls_session_free(session);
    session = NULL;
}

static void tls_fail(const char *what)
{
    char d[120];
    int e = session ? tls_conn_engine_error(&session->tls) : 0;
    fmt_snprintf(d, sizeof(d), "%s (TLS error %d)", what, e);
    result(false, "TLS session with", d);
    end_session();
    next_stage(opt.bench_mib ? ST_BENCH_PLAIN : ST_DONE);
}

static bool reply_complete(void)
{
    if (reply_len < CTL_HEADER_SIZE)
        return false;
    struct ctl_header h;
    ctl_header_decode(reply, &h);
    return h.length <= sizeof(reply) - CTL_HEADER_SIZE && reply_len >= CTL_HEADER_SIZE + h.length;
}

static void check_reply(void)
{
    struct ctl_header h;
    struct ctl_tlv t;
    char d[160], host[32] = "?", fp[TLS_FP_HEX_SIZE];
    uint16_t st = 0xffff;
    ctl_header_decode(reply, &h);
    const uint8_t *payload = reply + CTL_HEADER_SIZE;
    if (ctl_tlv_find(payload, h.length, CTL_TAG_STATUS, &t))
        ctl_tlv_u16(&t, &st);
    if (ctl_tlv_find(payload, h.length, CTL_TAG_HOSTNAME, &t))
        ctl_tlv_text(&t, host, sizeof(host));
    tls_fingerprint_hex(tls_conn_peer_key(&session->tls), fp);
    fmt_snprintf(d, sizeof(d), "%s:%u, %s, peer key %.16s..., status %s (host %s)", peer_text,
                 7400, tls_conn_suite_name(&session->tls), fp, ctl_status_name(st), host);
    result(h.type == (CTL_MSG_STATUS | CTL_REPLY_BIT) && st == CTL_OK, "TLS session with", d);
    end_session();
    next_stage(opt.bench_mib ? ST_BENCH_PLAIN : ST_DONE);
}

static void poll_tls(void)
{
    if (!identity || !opt.peer_key_set) {
        result(false, "TLS session with", "needs this host's key and net.peer-key");
        next_stage(ST_DONE);
        return;
    }
    if (!session) {
        session = tls_session_connect(&peer, 7400, identity, opt.peer_key);
        request_sent = false;
        reply_len = 0;
        if (!session)
            return tls_fail("cannot open a connection");
    }
    if (step_timed_out())
        return tls_fail("timed out");
    if (!request_sent) {
        uint8_t msg[CTL_HEADER_SIZE];
        size_t n = ctl_message_build(msg, sizeof(msg), CTL_MSG_STATUS, 1, NULL, 0);
        long w = tls_conn_write(&session->tls, msg, n);  /* a 16-byte message fits at once */
        if (w < 0)
            return tls_fail("handshake or write failed");
        request_sent = w == (long)n;
        return;
    }
    int f = tls_conn_flush(&session->tls);
    if (f < 0)
        return tls_fail("flush failed");
    long r = tls_conn_read(&session->tls, reply + reply_len, sizeof(reply) - reply_len);
    if (r < 0)
        return tls_fail("the peer closed the session");
    reply_len += (size_t)r;
    if (reply_complete())
        check_reply();
}

/* ---- bulk bench: plain TCP, then TLS ------------------------------------------------------ */

static uint64_t rate(uint64_t bytes, uint64_t ns)
{
    return ns ? bytes * 1000000000ull / ns : 0;
}

static void bench_line(const char *what, uint64_t bytes, uint64_t ns)
{
    kprintf("bench: %s %lu bytes in %lu us: %lu KiB/s\n", what, (unsigned long)bytes,
            (unsigned long)(ns / 1000), (unsigned long)(rate(bytes, ns) >> 10));
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
    rate_plain = rate(bytes_total, ns);
    bench_line("plain", bytes_total, ns);
    result(true, "bench plain TCP to", peer_text);
    tcp_stream_close(&plain);
    next_stage(ST_BENCH_TLS);
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
    rate_tls = rate(bytes_total, ns);
    bench_line("tls", bytes_total, ns);
    kprintf("bench: tls handshake %lu us\n", (unsigned long)(handshake_ns / 1000));
    if (rate_plain)
        kprintf("bench: tls/plain ratio %lu.%03lu\n", (unsigned long)(rate_tls / rate_plain),
                (unsigned long)(rate_tls % rate_plain * 1000 / rate_plain));
    result(true, "bench TLS to", peer_text);
    end_session();
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
