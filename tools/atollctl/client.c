/* atollctl's side of the control protocol: connect, authenticate, one request at a time. */
#include "tools/atollctl/client.h"
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include "tools/atollctl/host_io.h"
#include "tools/atollctl/report.h"

#define PROG "atollctl"

static int connect_error(const struct client *c, int err)
{
    if (err == ETIMEDOUT) {
        report_error("timed out after %us connecting to %s\n", c->opts.timeout_s,
                c->opts.host);
        return EXIT_TIMEOUT;
    }
    report_error("cannot connect to %s: %s%s\n", c->opts.host, strerror(err),
            err == ECONNREFUSED ? " (is the control server running there?)" : "");
    return EXIT_CONNECT;
}

static int wait_connected(int fd, unsigned timeout_s)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int n = poll(&p, 1, (int)timeout_s * 1000);
    if (n == 0)
        return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

static int try_addr(struct client *c, const struct addrinfo *a)
{
    int fd = socket(a->ai_family, SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS)
        err = wait_connected(fd, c->opts.timeout_s);
    if (err) {
        close(fd);
        return err;
    }
    fcntl(fd, F_SETFL, 0);
    struct timeval tv = { .tv_sec = c->opts.timeout_s };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c->fd = fd;
    return 0;
}

static int tcp_connect(struct client *c)
{
    char host[256], port[16];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    if (!host_split(c->opts.host, host, sizeof host, port, sizeof port)) {
        report_error("bad --host '%s' (want HOST:PORT)\n", c->opts.host);
        return EXIT_USAGE;
    }
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        report_error("cannot resolve %s: %s\n", host, gai_strerror(rc));
        return EXIT_CONNECT;
    }
    int err = ECONNREFUSED;
    for (struct addrinfo *a = ai; a && (err = try_addr(c, a)) != 0; a = a->ai_next) {
    }
    freeaddrinfo(ai);
    return err ? connect_error(c, err) : EXIT_OK;
}

static int handshake_error(const struct client *c, int r)
{
    char seen[TLS_FP_HEX_SIZE], mine[TLS_FP_HEX_SIZE];
    int eerr = tls_conn_engine_error(&c->tls);
    tls_fingerprint_hex(c->tls.pin.fingerprint, seen);
    tls_fingerprint_hex(c->id.fingerprint, mine);
    if (c->tls.pin.seen && !c->tls.pin.trusted) {
        if (!c->opts.server_key)
            report_error("unauthenticated: server key not pinned; %s presented %s "
                    "(pass --server-key %s if that is the host you expect)\n",
                    c->opts.host, seen, seen);
        else
            report_error("unauthenticated: %s presented key %s, not the pinned "
                    "--server-key %s\n", c->opts.host, seen, c->opts.server_key);
        return EXIT_UNAUTHENTICATED;
    }
    if (r == TLS_IO_TIMEOUT) {
        report_error("timed out after %us in the TLS handshake with %s\n",
                c->opts.timeout_s, c->opts.host);
        return EXIT_TIMEOUT;
    }
    if (eerr >= BR_ERR_RECV_FATAL_ALERT && eerr < BR_ERR_RECV_FATAL_ALERT + 256) {
        report_error("TLS handshake with %s failed: the server sent alert %d\n",
                c->opts.host, eerr - BR_ERR_RECV_FATAL_ALERT);
        return EXIT_UNAUTHENTICATED;
    }
    if (eerr == BR_ERR_OK || r == TLS_IO_EOF) {
        report_error("unauthenticated: %s closed the connection during the TLS "
                "handshake (is this client's key %s on its allow list?)\n", c->opts.host, mine);
        return EXIT_UNAUTHENTICATED;
    }
    report_error("TLS handshake with %s failed (BearSSL error %d)\n", c->opts.host,
            eerr);
    return EXIT_PROTOCOL;
}

int client_open(struct client *c, const struct client_opts *opts)
{
    memset(c, 0, sizeof *c);
    c->opts = *opts;
    c->fd = -1;
    c->next_id = 1;
    size_t pins = 0;
    if (opts->server_key) {
        if (tls_fingerprint_parse(opts->server_key, c->pin[0]) != 0) {
            report_error("bad --server-key '%s' (64 hex digits)\n", opts->server_key);
            return EXIT_USAGE;
        }
        pins = 1;
    }
    if (!opts->key_path) {
        report_error("no client key: pass --key FILE (create one with "
                "'atollctl keygen FILE')\n");
        return EXIT_USAGE;
    }
    if (!host_load_identity(PROG, opts->key_path, &c->id))
        return EXIT_LOCAL;
    int rc = tcp_connect(c);
    if (rc != EXIT_OK)
        return rc;
    struct tls_raw_io io = host_socket_io(&c->fd);
    rc = tls_conn_client_init(&c->tls, &c->id, (const uint8_t(*)[TLS_FP_SIZE])c->pin, pins, &io,
                              host_entropy, NULL);
    if (rc != TLS_OK) {
        report_error("%s\n", tls_error_text(rc));
        return EXIT_PROTOCOL;
    }
    int r = tls_conn_handshake(&c->tls);
    return r == 1 ? EXIT_OK : handshake_error(c, r);
}

static int io_error(const struct client *c, long r, const char *what)
{
    if (r == TLS_IO_TIMEOUT) {
        report_error("timed out after %us %s %s\n", c->opts.timeout_s, what,
                c->opts.host);
        return EXIT_TIMEOUT;
    }
    report_error("connection to %s lost %s (%s)\n", c->opts.host, what,
            r == TLS_IO_EOF ? "closed by the server" : "TLS or socket error");
    return EXIT_PROTOCOL;
}

static int send_all(struct client *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        long w = tls_conn_write(&c->tls, p, n);
        if (w <= 0)
            return io_error(c, w ? w : TLS_IO_ERROR, "sending to");
        p += w, n -= (size_t)w;
        c->app_bytes += (uint64_t)w;
    }
    int f = tls_conn_flush(&c->tls);
    return f == 1 ? EXIT_OK : io_error(c, f ? f : TLS_IO_ERROR, "sending to");
}

static int recv_all(struct client *c, uint8_t *p, size_t n)
{
    while (n > 0) {
        long r = tls_conn_read(&c->tls, p, n);
        if (r <= 0)
            return io_error(c, r ? r : TLS_IO_ERROR, "waiting for a reply from");
        p += r, n -= (size_t)r;
        c->app_bytes += (uint64_t)r;
    }
    return EXIT_OK;
}

static int check_reply_header(const struct client *c, const struct ctl_header *h, uint16_t type)
{
    if (h->magic != CTL_MAGIC) {
        report_error("%s does not speak the Atoll control protocol\n", c->opts.host);
        return EXIT_PROTOCOL;
    }
    if (h->version != CTL_VERSION) {
        report_error("version mismatch: %s speaks control protocol v%u, atollctl "
                "speaks v%u\n", c->opts.host, h->version, CTL_VERSION);
        return EXIT_VERSION;
    }
    if (h->length > CTL_MAX_REPLY_PAYLOAD || !(h->type & CTL_REPLY_BIT) ||
        ((h->type & ~CTL_REPLY_BIT) != type && (h->type & ~CTL_REPLY_BIT) != 0)) {
        report_error("bad reply from %s (type 0x%x, %u bytes)\n", c->opts.host,
                h->type, h->length);
        return EXIT_PROTOCOL;
    }
    return EXIT_OK;
}

static int parse_reply(const struct client *c, const uint8_t *p, uint32_t n,
                       struct client_reply *r)
{
    struct ctl_tlv t;
    memset(r, 0, sizeof *r);
    r->payload = p;
    r->length = n;
    if (!ctl_tlv_valid(p, n) || !ctl_tlv_find(p, n, CTL_TAG_STATUS, &t) ||
        !ctl_tlv_u16(&t, &r->status)) {
        report_error("malformed reply from %s\n", c->opts.host);
        return EXIT_PROTOCOL;
    }
    if (ctl_tlv_find(p, n, CTL_TAG_MESSAGE, &t) && !ctl_tlv_text(&t, r->message, sizeof r->message))
        strcpy(r->message, "(unprintable message)");
    return EXIT_OK;
}

int client_call(struct client *c, uint16_t type, const void *payload, size_t len,
                struct client_reply *r)
{
    uint8_t req[CTL_HEADER_SIZE + CTL_MAX_REQUEST_PAYLOAD];
    uint32_t id = c->next_id++;
    size_t n = ctl_message_build(req, sizeof req, type, id, payload, len);
    if (!n) {
        report_error("request too large\n");
        return EXIT_USAGE;
    }
    req[4] = (uint8_t)(c->opts.protocol_version >> 8);
    req[5] = (uint8_t)c->opts.protocol_version;
    int rc = send_all(c, req, n);
    if (rc == EXIT_OK)
        rc = recv_all(c, c->reply, CTL_HEADER_SIZE);
    struct ctl_header h;
    ctl_header_decode(c->reply, &h);
    if (rc == EXIT_OK)
        rc = check_reply_header(c, &h, type);
    if (rc == EXIT_OK)
        rc = recv_all(c, c->reply + CTL_HEADER_SIZE, h.length);
    if (rc == EXIT_OK)
        rc = parse_reply(c, c->reply + CTL_HEADER_SIZE, h.length, r);
    return rc;
}

int client_report_status(const struct client *c, const struct client_reply *r)
{
    const char *msg = r->message[0] ? r->message : ctl_status_name(r->status);
    switch (r->status) {
    case CTL_OK:
        return EXIT_OK;
    case CTL_ERR_VERSION:
        report_error("version mismatch: %s refused control protocol v%u: %s\n",
                c->opts.host, c->opts.protocol_version, msg);
        return EXIT_VERSION;
    case CTL_ERR_UNAUTHENTICATED:
        report_error("unauthenticated: %s\n", msg);
        return EXIT_UNAUTHENTICATED;
    default:
        report_error("%s: %s\n", ctl_status_name(r->status), msg);
        return CTL_STATUS_CLOSES(r->status) ? EXIT_PROTOCOL : EXIT_COMMAND;
    }
}

void client_close(struct client *c)
{
    if (c->fd >= 0) {
        if (c->tls.eng)
            tls_conn_close(&c->tls);
        close(c->fd);
        c->fd = -1;
    }
    tls_identity_wipe(&c->id);
}
