/*
 * Fuzz target: the control server fed hostile bytes.  The first input byte picks how the
 * stream delivers (chunk size, whether it ends with EOF); the rest is what a client sent.
 * Every request goes through header checks, TLV validation and the built-in handlers in
 * front of the fake hypervisor; every reply must itself be a well-formed message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/control/ctl_commands.h"
#include "net/control/ctl_server.h"
#include "tests/net/fake_hv.h"

struct fuzz_stream {
    const uint8_t *in;
    size_t len, off, chunk;
    bool eof;
    size_t out_bytes;
    int closes;
    struct ctl_header hdr;      /* of the reply being written */
    size_t hdr_fill, body_left;
    uint8_t hdr_buf[CTL_HEADER_SIZE];
};

static long f_read(void *s, void *buf, size_t len)
{
    struct fuzz_stream *f = s;
    if (f->off == f->len)
        return f->eof ? CTL_IO_EOF : 0;
    size_t n = f->len - f->off;
    n = n < len ? n : len;
    n = n < f->chunk ? n : f->chunk;
    memcpy(buf, f->in + f->off, n);
    f->off += n;
    return (long)n;
}

/* Checks that the server writes a sequence of valid replies. */
static long f_write(void *s, const void *buf, size_t len)
{
    struct fuzz_stream *f = s;
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        if (f->body_left) {
            f->body_left--;
            continue;
        }
        f->hdr_buf[f->hdr_fill++] = p[i];
        if (f->hdr_fill == CTL_HEADER_SIZE) {
            ctl_header_decode(f->hdr_buf, &f->hdr);
            if (ctl_header_check(&f->hdr, CTL_MAX_REPLY_PAYLOAD) != CTL_OK ||
                !(f->hdr.type & CTL_REPLY_BIT))
                abort();
            f->body_left = f->hdr.length;
            f->hdr_fill = 0;
        }
    }
    f->out_bytes += len;
    return (long)len;
}

static int f_flush(void *s) { return 1; }
static const uint8_t fp[32] = { 7 };
static const uint8_t *f_peer_key(void *s) { return fp; }
static void f_close(void *s) { ((struct fuzz_stream *)s)->closes++; }

static const struct ctl_stream_ops ops = { f_read, f_write, f_flush, f_peer_key, f_close };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ctl_server srv;
    static struct ctl_commands cmds;
    static struct fake_hv hv;
    static const uint8_t allowed[1][32] = { { 7 } };
    if (size < 1)
        return 0;
    struct ctl_server_config cfg = { allowed, 1, 1000, 100 };
    ctl_server_init(&srv, &cfg);
    fake_hv_init(&hv);
    hv.op_duration_ms = 10;
    ctl_commands_register(&srv, &cmds, &fake_hv_ops, &hv);
    struct fuzz_stream f = { .in = data + 1, .len = size - 1, .chunk = (data[0] & 0x3f) + 1,
                             .eof = data[0] & 0x40 };
    if (ctl_server_attach(&srv, &ops, &f, 0x0a000301) != 0)
        abort();
    for (uint64_t t = 1; t < 5000 && f.closes == 0; t += 7) {
        hv.now_ms = t;
        ctl_server_poll(&srv, t);
    }
    if (f.closes != 1 || srv.stats.active != 0 || f.body_left != 0 || f.hdr_fill != 0)
        abort();   /* every stream is closed exactly once, after whole replies */
    return 0;
}
