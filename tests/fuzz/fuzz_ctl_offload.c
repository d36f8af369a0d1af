/*
 * Fuzz target: the offload control commands (net/control/ctl_offload.c) fed hostile
 * arguments.  The first input byte picks read, write, pull or pull status; the rest is the request's payload,
 * framed in a valid header so the effort goes into the TLV arguments.  The stub ops check
 * what the handlers pass on (a terminated path, a known kind), and the reply must be one
 * well-formed message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/control/ctl_commands.h"
#include "net/control/ctl_server.h"
#include "tests/net/fake_hv.h"

static uint8_t out[CTL_HEADER_SIZE + CTL_MAX_REPLY_PAYLOAD];
static size_t out_len;
static uint8_t in[CTL_HEADER_SIZE + CTL_MAX_REQUEST_PAYLOAD];
static size_t in_len, in_off;

static long s_read(void *s, void *buf, size_t len)
{
    (void)s;
    size_t n = in_len - in_off < len ? in_len - in_off : len;
    memcpy(buf, in + in_off, n);
    in_off += n;
    return n ? (long)n : CTL_IO_EOF;
}

static long s_write(void *s, const void *buf, size_t len)
{
    (void)s;
    if (len > sizeof out - out_len)
        abort(); /* more than one reply's worth */
    memcpy(out + out_len, buf, len);
    out_len += len;
    return (long)len;
}

static int s_flush(void *s) { (void)s; return 1; }
static const uint8_t fp[1][32] = { { 7 } };
static const uint8_t *s_peer(void *s) { (void)s; return fp[0]; }
static void s_close(void *s) { (void)s; }
static const struct ctl_stream_ops stream = { s_read, s_write, s_flush, s_peer, s_close };

static void check_range(const struct ctl_offload_range *r)
{
    if ((r->kind != 1 && r->kind != 2) || !memchr(r->file, 0, sizeof r->file) || !r->file[0])
        abort();
}

static uint16_t stub_read(void *ctx, const struct ctl_offload_range *src, uint32_t lifetime_ms,
                          uint8_t token[CTL_OFFLOAD_TOKEN_SIZE], uint64_t *covered, char *msg,
                          size_t msg_size)
{
    (void)ctx, (void)lifetime_ms, (void)msg, (void)msg_size;
    check_range(src);
    memset(token, 1, CTL_OFFLOAD_TOKEN_SIZE);
    *covered = src->length;
    return src->offset & 1 ? CTL_ERR_NOT_FOUND : CTL_OK;
}

static uint16_t stub_write(void *ctx, const uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                           uint64_t token_offset, uint64_t length, bool whole,
                           const struct ctl_offload_range *dst, uint64_t *written, char *msg,
                           size_t msg_size)
{
    (void)ctx, (void)token, (void)token_offset;
    check_range(dst);
    if (whole && (token_offset || dst->offset))
        abort();    /* the command refuses WHOLE off the start */
    *written = dst->offset & 4 && length < UINT64_MAX ? length + 1 : length;
    if (dst->offset & 1)
        memset(msg, 'x', msg_size - 1); /* a long line, not terminated by the stub */
    return dst->offset & 2 ? CTL_ERR_BAD_STATE : CTL_OK;
}

static uint16_t stub_pull(void *ctx, const uint8_t grant[CTL_OFFLOAD_GRANT_SIZE],
                          const char *host, uint64_t token_offset, uint64_t length,
                          const struct ctl_offload_range *dst, char *msg, size_t msg_size)
{
    (void)ctx, (void)grant, (void)token_offset, (void)length;
    check_range(dst);
    if (!host[0] || !memchr(host, 0, 32))
        abort();
    if (dst->offset & 1)
        memset(msg, 'x', msg_size - 1);
    return dst->offset & 2 ? CTL_ERR_BUSY : CTL_OK;
}

static uint16_t stub_pull_status(void *ctx, struct ctl_offload_pull_status *out)
{
    (void)ctx;
    memset(out->last, 'y', sizeof out->last); /* not terminated: the command must cope */
    return CTL_OK;
}

static uint16_t stub_fetch(void *ctx, const struct ctl_offload_range *r, uint8_t *buf,
                           size_t len, size_t *got, char *msg, size_t msg_size)
{
    (void)ctx;
    check_range(r);
    if (len > CTL_OFFLOAD_FETCH_MAX)
        abort();
    memset(buf, 'd', len);
    *got = r->offset & 4 ? len / 2 : len;
    if (r->offset & 1)
        memset(msg, 'x', msg_size - 1);
    return r->offset & 2 ? CTL_ERR_NOT_FOUND : CTL_OK;
}

static uint16_t stub_store(void *ctx, const struct ctl_offload_range *r, const uint8_t *buf,
                           size_t len, char *msg, size_t msg_size)
{
    (void)ctx;
    check_range(r);
    if (len > CTL_OFFLOAD_STORE_MAX || (len && !buf))
        abort();
    if (r->offset & 1)
        memset(msg, 'x', msg_size - 1);
    return r->offset & 2 ? CTL_ERR_BUSY : CTL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ctl_server srv;
    static struct ctl_commands cmds;
    static struct fake_hv hv;
    static struct ctl_hv_ops ops;
    if (size < 1 || size - 1 > CTL_MAX_REQUEST_PAYLOAD)
        return 0;
    struct ctl_server_config cfg = { fp, 1, 1000, 100 };
    ctl_server_init(&srv, &cfg);
    fake_hv_init(&hv);
    ops = fake_hv_ops;
    ops.offload_read = stub_read;
    ops.offload_write = stub_write;
    ops.offload_pull = stub_pull;
    ops.offload_pull_status = stub_pull_status;
    ops.offload_fetch = stub_fetch;
    ops.offload_store = stub_store;
    ctl_commands_register(&srv, &cmds, &ops, &hv);
    static const uint16_t types[8] = { CTL_MSG_OFFLOAD_READ, CTL_MSG_OFFLOAD_WRITE,
                                       CTL_MSG_OFFLOAD_PULL, CTL_MSG_OFFLOAD_PULL_STATUS,
                                       CTL_MSG_OFFLOAD_FETCH, CTL_MSG_OFFLOAD_STORE,
                                       CTL_MSG_OFFLOAD_FETCH, CTL_MSG_OFFLOAD_STORE };
    uint16_t type = types[data[0] & 7];
    in_len = ctl_message_build(in, sizeof in, type, 1, data + 1, size - 1);
    in_off = 0;
    out_len = 0;
    if (ctl_server_attach(&srv, &stream, NULL, 0x0a000301) < 0)
        abort();
    ctl_server_poll(&srv, 1);
    struct ctl_header h;
    if (out_len < CTL_HEADER_SIZE)
        abort();
    ctl_header_decode(out, &h);
    if (h.type != (type | CTL_REPLY_BIT) || CTL_HEADER_SIZE + h.length > out_len ||
        !ctl_tlv_valid(out + CTL_HEADER_SIZE, h.length))
        abort();
    ctl_server_close_all(&srv);
    return 0;
}
