/*
 * atoll-control-hostd: the portable control server (net/control) over POSIX sockets and
 * BearSSL TLS (net/tls), in front of a fake hypervisor.  It exists so that the protocol,
 * TLS and key pinning are tested on the host exactly as the kernel will run them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "net/control/ctl_commands.h"
#include "net/control/ctl_server.h"
#include "net/tls/tls_conn.h"
#include "tests/net/fake_disk.h"
#include "tests/net/fake_hv.h"
#include "tests/net/fake_offload.h"
#include "tools/atollctl/host_io.h"

#define PROG "atoll-control-hostd"
#define MAX_ALLOWED 16

struct host_conn {
    int fd;
    bool used;
    struct tls_conn tls;
};

static struct tls_identity identity;
static uint8_t allowed[MAX_ALLOWED][TLS_FP_SIZE];
static size_t allowed_count;
static struct host_conn pool[CTL_MAX_CONNECTIONS];
static struct ctl_server server;
static struct ctl_commands commands;
static struct ctl_disk_commands disk_commands;
static struct fake_hv hv;
static volatile sig_atomic_t stop_requested;

/* Milliseconds since the daemon started (the fake host's uptime). */
static uint64_t now_ms(void)
{
    static uint64_t start;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (!start)
        start = t - 1;
    return t - start;
}

static long map_io(long n)
{
    return n >= 0 ? n : n == TLS_IO_EOF ? CTL_IO_EOF : CTL_IO_ERROR;
}

static long s_read(void *s, void *buf, size_t len)
{
    return map_io(tls_conn_read(&((struct host_conn *)s)->tls, buf, len));
}

static long s_write(void *s, const void *buf, size_t len)
{
    return map_io(tls_conn_write(&((struct host_conn *)s)->tls, buf, len));
}

static int s_flush(void *s)
{
    int r = tls_conn_flush(&((struct host_conn *)s)->tls);
    return r < 0 ? CTL_IO_ERROR : r;
}

static const uint8_t *s_peer_key(void *s)
{
    return tls_conn_peer_key(&((struct host_conn *)s)->tls);
}

static void s_close(void *s)
{
    struct host_conn *c = s;
    tls_conn_close(&c->tls);
    close(c->fd);
    c->fd = -1;
    c->used = false;
}

static const struct ctl_stream_ops stream_ops = { s_read, s_write, s_flush, s_peer_key, s_close };

static int listen_on(const char *hostport)
{
    char host[256], port[16];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    if (!host_split(hostport, host, sizeof host, port, sizeof port)) {
        fprintf(stderr, PROG ": bad --listen address '%s' (want HOST:PORT)\n", hostport);
        return -1;
    }
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, PROG ": %s: %s\n", hostport, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        fprintf(stderr, PROG ": cannot listen on %s: %s\n", hostport, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* The peer's address as the server's fairness counts it: IPv4 (also when v4-mapped), else
 * the IPv6 address folded to 32 bits. */
static uint32_t peer_address(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
    if (ss->ss_family != AF_INET6)
        return 0;
    uint32_t w[4], v = 0;
    memcpy(w, &((const struct sockaddr_in6 *)ss)->sin6_addr, sizeof w);
    if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr))
        return ntohl(w[3]);
    for (int i = 0; i < 4; i++)
        v ^= w[i];
    return v;
}

static void accept_one(int lfd)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof ss;
    int fd = accept(lfd, (struct sockaddr *)&ss, &len);
    if (fd < 0)
        return;
    uint32_t peer = peer_address(&ss);
    struct host_conn *c = NULL;
    if (ctl_server_make_room(&server, peer))   /* may close a peer still in its handshake */
        for (int i = 0; i < CTL_MAX_CONNECTIONS && !c; i++)
            if (!pool[i].used)
                c = &pool[i];
    if (!c) {
        close(fd);   /* every slot busy: refuse, the server goes on */
        return;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    c->fd = fd;
    struct tls_raw_io io = host_socket_io(&c->fd);
    int rc = tls_conn_server_init(&c->tls, &identity, (const uint8_t(*)[TLS_FP_SIZE])allowed,
                                  allowed_count, &io, host_entropy, NULL);
    if (rc != TLS_OK || ctl_server_attach(&server, &stream_ops, c, peer) < 0) {
        fprintf(stderr, PROG ": connection refused: %s\n", tls_error_text(rc));
        close(fd);
        return;
    }
    c->used = true;
}

static void serve(int lfd)
{
    struct pollfd pfd[1 + CTL_MAX_CONNECTIONS];
    while (!stop_requested) {
        int n = 0;
        pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (int i = 0; i < CTL_MAX_CONNECTIONS; i++)
            if (pool[i].used)
                pfd[n++] = (struct pollfd){ .fd = pool[i].fd, .events = POLLIN };
        poll(pfd, (nfds_t)n, 20);
        if (pfd[0].revents & POLLIN)
            accept_one(lfd);
        hv.now_ms = now_ms();
        ctl_server_poll(&server, hv.now_ms);
    }
}

static bool add_allowed(const char *fp)
{
    if (allowed_count == MAX_ALLOWED || tls_fingerprint_parse(fp, allowed[allowed_count]) != 0) {
        fprintf(stderr, PROG ": bad --allow fingerprint '%s' (64 hex digits)\n", fp);
        return false;
    }
    allowed_count++;
    return true;
}

static void on_signal(int sig) { stop_requested = 1; }

/* Every option but --help and --version takes a value. */
static bool takes_value(const char *opt)
{
    static const char *const opts[] = { "--listen", "--key", "--allow", "--pool", "--op-ms",
                                        "--idle-ms", "--message-ms" };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strcmp(opt, opts[i]))
            return true;
    return false;
}

/* 0 after --help (on stdout), 2 for a usage error (on stderr). */
static int usage(bool help)
{
    fprintf(help ? stdout : stderr,
            "usage: " PROG " --listen HOST:PORT --key FILE --allow FINGERPRINT...\n"
            "        [--op-ms N] [--idle-ms N] [--message-ms N] [--pool IMAGE]\n"
            "       " PROG " --help | --version\n"
            "\n"
            "The portable control server (net/control) over TCP and TLS with pinned keys, in\n"
            "front of a fake hypervisor (three partitions, disks, migrations), for host tests of\n"
            "atollctl and the protocol.  Prints a line when it listens and one when it stops\n"
            "(SIGTERM or SIGINT).\n"
            "\n"
            "  --listen HOST:PORT      the address to listen on\n"
            "  --key FILE              the host's key (atollctl keygen FILE)\n"
            "  --allow FINGERPRINT     a client key let in (64 hex digits; up to 16 --allow)\n"
            "  --op-ms N               how long the fake's start, stop and migrations take\n"
            "                          (default 1500; 0: at once)\n"
            "  --idle-ms N             a connection's idle timeout (default 60000)\n"
            "  --message-ms N          the handshake's, a message's, a reply's timeout\n"
            "                          (default 5000)\n"
            "  --pool IMAGE            offload commands on this FAT32 pool image\n"
            "\n"
            "exit status: 0 stopped cleanly, 1 the key, the address or the pool failed,\n"
            "2 a usage error\n");
    return help ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *listen_addr = NULL, *key = NULL, *pool_image = NULL;
    static struct ctl_hv_ops ops;
    struct ctl_server_config cfg = { 0 };
    uint64_t op_ms = 1500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(true);
        if (!strcmp(a, "--version")) {
            printf(PROG " (Atoll) %s\n", ATOLL_VERSION);
            return 0;
        }
        if (!takes_value(a) || !v) {
            fprintf(stderr, PROG ": %s '%s'\n", takes_value(a) ? "no value after" : "unknown option", a);
            return usage(false);
        }
        if (!strcmp(a, "--listen")) listen_addr = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--allow")) { if (!add_allowed(v)) return 2; }
        else if (!strcmp(a, "--pool")) pool_image = v;
        else if (!strcmp(a, "--op-ms")) op_ms = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--idle-ms")) cfg.idle_timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--message-ms")) cfg.message_timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        i++;
    }
    if (!listen_addr || !key || !allowed_count) {
        fprintf(stderr, PROG ": --listen, --key and one --allow at least are needed\n");
        return usage(false);
    }
    if (!host_load_identity(PROG, key, &identity))
        return 1;
    int lfd = listen_on(listen_addr);
    if (lfd < 0)
        return 1;
    cfg.allowed = (const uint8_t(*)[CTL_FINGERPRINT_SIZE])allowed;
    cfg.allowed_count = allowed_count;
    ctl_server_init(&server, &cfg);
    fake_hv_init(&hv);
    hv.op_duration_ms = op_ms;
    hv.now_ms = now_ms();
    ops = fake_hv_ops;
    if (pool_image && !fake_offload_attach(&ops, pool_image, identity.fingerprint))
        return 1;
    ctl_commands_register(&server, &commands, &ops, &hv);
    ctl_disk_register(&server, &disk_commands, &fake_disk_ops, NULL);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    char hex[TLS_FP_HEX_SIZE];
    tls_fingerprint_hex(identity.fingerprint, hex);
    printf(PROG ": listening on %s, host key %s, %zu client key(s) allowed\n", listen_addr, hex,
           allowed_count);
    fflush(stdout);
    serve(lfd);
    ctl_server_close_all(&server);
    printf(PROG ": stopped: accepted %llu, requests %llu, errors %llu, open %u\n",
           (unsigned long long)server.stats.accepted, (unsigned long long)server.stats.requests,
           (unsigned long long)server.stats.errors, server.stats.active);
    close(lfd);
    fake_offload_detach();
    tls_identity_wipe(&identity);
    return 0;
}
