/* Host-side plumbing shared by atollctl and atoll-control-hostd. */
#include "tools/atollctl/host_io.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

int host_entropy(void *ctx, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n, len -= (size_t)n;
    }
    return 0;
}

bool host_split(const char *hostport, char *host, size_t cap, char *port, size_t pcap)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || !colon[1] || strlen(colon + 1) >= pcap)
        return false;
    const char *h = hostport;
    size_t hl = (size_t)(colon - hostport);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl >= cap)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    for (const char *c = port; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

static long sock_recv(void *ctx, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n > 0)
            return (long)n;
        if (n == 0)
            return TLS_IO_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int fl = fcntl(fd, F_GETFL);
            return (fl >= 0 && (fl & O_NONBLOCK)) ? 0 : TLS_IO_TIMEOUT;
        }
        return errno == ECONNRESET ? TLS_IO_EOF : TLS_IO_ERROR;
    }
}

static long sock_send(void *ctx, const void *buf, size_t len)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int fl = fcntl(fd, F_GETFL);
            return (fl >= 0 && (fl & O_NONBLOCK)) ? 0 : TLS_IO_TIMEOUT;
        }
        return TLS_IO_ERROR;
    }
}

struct tls_raw_io host_socket_io(int *fd)
{
    return (struct tls_raw_io){ sock_recv, sock_send, fd };
}

static void (*error_sink)(const char *line);

void host_io_set_error_sink(void (*sink)(const char *line)) { error_sink = sink; }

static void __attribute__((format(printf, 2, 3))) host_error(const char *prog, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (error_sink)
        error_sink(line);
    else
        fprintf(stderr, "%s: %s\n", prog, line);
}

bool host_load_identity(const char *prog, const char *path, struct tls_identity *id)
{
    char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) {
        host_error(prog, "cannot open key file %s: %s", path, strerror(errno));
        return false;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int rc = tls_identity_load(id, buf, n);
    memset(buf, 0, sizeof buf);
    if (rc != TLS_OK) {
        host_error(prog, "key file %s: %s", path, tls_error_text(rc));
        return false;
    }
    return true;
}

bool host_write_key(const char *prog, const char *path, const struct tls_identity *id, bool force)
{
    char pem[TLS_KEY_PEM_MAX];
    size_t n = tls_identity_to_pem(id, pem, sizeof pem);
    int fd = n ? open(path, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), 0600) : -1;
    if (fd < 0) {
        host_error(prog, "cannot create %s: %s%s", path,
                n ? strerror(errno) : "key encoding failed",
                errno == EEXIST ? " (use --force to replace it)" : "");
        return false;
    }
    bool ok = write(fd, pem, n) == (ssize_t)n;
    ok = (close(fd) == 0) && ok;
    memset(pem, 0, sizeof pem);
    if (!ok)
        host_error(prog, "writing %s failed: %s", path, strerror(errno));
    return ok;
}
