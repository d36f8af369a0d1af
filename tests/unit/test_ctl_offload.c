/* Unit tests: the offload control commands (net/control/ctl_offload.c) over an in-memory
 * stream, with stub offload ops that record what they were asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "net/control/ctl_commands.h"
#include "net/control/ctl_server.h"
#include "tests/net/fake_hv.h"

struct mem_stream {
    uint8_t in[8192];
    size_t in_len, in_off;
    uint8_t out[CTL_HEADER_SIZE + CTL_MAX_REPLY_PAYLOAD + 64];
    size_t out_len;
    bool closed;
};

static long ms_read(void *s, void *buf, size_t len)
{
    struct mem_stream *m = s;
    size_t n = m->in_len - m->in_off < len ? m->in_len - m->in_off : len;
    memcpy(buf, m->in + m->in_off, n);
    m->in_off += n;
    return (long)n;
}

static long ms_write(void *s, const void *buf, size_t len)
{
    struct mem_stream *m = s;
    memcpy(m->out + m->out_len, buf, len);
    m->out_len += len;
    return (long)len;
}

static const uint8_t good_fp[1][32] = { { 1, 2, 3 } };
static int ms_flush(void *s) { (void)s; return 1; }
static const uint8_t *ms_peer_key(void *s) { (void)s; return good_fp[0]; }
static void ms_close(void *s) { ((struct mem_stream *)s)->closed = true; }
static const struct ctl_stream_ops ms_ops = { ms_read, ms_write, ms_flush, ms_peer_key, ms_close };

/* What the stubs saw, and what they answer. */
static struct {
    struct ctl_offload_range range;
    uint32_t lifetime;
    uint64_t token_offset, length, written;
    bool whole;
    uint8_t token[CTL_OFFLOAD_TOKEN_SIZE];
    uint8_t grant[CTL_OFFLOAD_GRANT_SIZE];
    char host[32];
    uint16_t answer;
    const char *msg;
} seen;

static uint16_t stub_read(void *ctx, const struct ctl_offload_range *src, uint32_t lifetime_ms,
                          uint8_t token[CTL_OFFLOAD_TOKEN_SIZE], uint64_t *covered, char *msg,
                          size_t msg_size)
{
    (void)ctx;
    seen.range = *src;
    seen.lifetime = lifetime_ms;
    memset(token, 0xab, CTL_OFFLOAD_TOKEN_SIZE);
    *covered = 777;
    if (seen.msg)
        strncpy(msg, seen.msg, msg_size - 1);
    return seen.answer;
}

static uint16_t stub_write(void *ctx, const uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                           uint64_t token_offset, uint64_t length, bool whole,
                           const struct ctl_offload_range *dst, uint64_t *written, char *msg,
                           size_t msg_size)
{
    (void)ctx;
    memcpy(seen.token, token, CTL_OFFLOAD_TOKEN_SIZE);
    seen.token_offset = token_offset;
    seen.length = length;
    seen.whole = whole;
    seen.range = *dst;
    *written = seen.written ? seen.written : 4096;
    if (seen.msg)
        strncpy(msg, seen.msg, msg_size - 1);
    return seen.answer;
}

static uint16_t stub_pull(void *ctx, const uint8_t grant[CTL_OFFLOAD_GRANT_SIZE],
                          const char *host, uint64_t token_offset, uint64_t length,
                          const struct ctl_offload_range *dst, char *msg, size_t msg_size)
{
    (void)ctx;
    memcpy(seen.grant, grant, CTL_OFFLOAD_GRANT_SIZE);
    strncpy(seen.host, host, sizeof seen.host - 1);
    seen.token_offset = token_offset;
    seen.length = length;
    seen.range = *dst;
    if (seen.msg)
        strncpy(msg, seen.msg, msg_size - 1);
    return seen.answer;
}

static uint16_t stub_pull_status(void *ctx, struct ctl_offload_pull_status *out)
{
    (void)ctx;
    out->active = false;
    out->received = out->total = 3000000;
    out->result = CTL_OK;
    strcpy(out->last, "pulled 3000000 of 3000000 bytes");
    return CTL_OK;
}

static uint8_t stored[CTL_OFFLOAD_STORE_MAX + 1];
static size_t stored_len;

static uint16_t stub_fetch(void *ctx, const struct ctl_offload_range *r, uint8_t *buf,
                           size_t len, size_t *got, char *msg, size_t msg_size)
{
    (void)ctx;
    seen.range = *r;
    seen.length = len;
    *got = len > 100 ? 100 : len; /* the end of the file after 100 bytes */
    memset(buf, 0x5a, *got);
    if (seen.msg)
        strncpy(msg, seen.msg, msg_size - 1);
    return seen.answer;
}

static uint16_t stub_store(void *ctx, const struct ctl_offload_range *r, const uint8_t *buf,
                           size_t len, char *msg, size_t msg_size)
{
    (void)ctx;
    seen.range = *r;
    memcpy(stored, buf, len);
    stored_len = len;
    if (seen.msg)
        strncpy(msg, seen.msg, msg_size - 1);
    return seen.answer;
}

struct fixture {
    struct ctl_server srv;
    struct ctl_commands cmds;
    struct ctl_hv_ops ops;
    struct fake_hv hv;
    struct mem_stream ms;
};

static int setup_with(void **state, bool offload)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct ctl_server_config cfg = { good_fp, 1, 1000, 100 };
    ctl_server_init(&f->srv, &cfg);
    fake_hv_init(&f->hv);
    f->ops = fake_hv_ops;
    if (offload)
        f->ops.offload_read = stub_read, f->ops.offload_write = stub_write,
        f->ops.offload_pull = stub_pull, f->ops.offload_pull_status = stub_pull_status,
        f->ops.offload_fetch = stub_fetch, f->ops.offload_store = stub_store;
    assert_int_equal(ctl_commands_register(&f->srv, &f->cmds, &f->ops, &f->hv), 0);
    assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &f->ms, 0x0a000301), 0);
    memset(&seen, 0, sizeof seen);
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_with(state, true); }
static int setup_plain(void **state) { return setup_with(state, false); }
static int teardown(void **state) { free(*state); return 0; }

/* Sends one request, polls, returns the reply's status; *p, *n: its payload. */
static uint16_t ask(struct fixture *f, uint16_t type, const void *args, size_t len,
                    const uint8_t **p, uint32_t *n)
{
    size_t before = f->ms.out_len;
    f->ms.in_len += ctl_message_build(f->ms.in + f->ms.in_len, sizeof f->ms.in - f->ms.in_len,
                                      type, 7, args, len);
    ctl_server_poll(&f->srv, 1);
    struct ctl_header h;
    assert_true(f->ms.out_len > before);
    ctl_header_decode(f->ms.out + before, &h);
    assert_int_equal(h.type, type | CTL_REPLY_BIT);
    *p = f->ms.out + before + CTL_HEADER_SIZE;
    *n = h.length;
    struct ctl_tlv t;
    uint16_t st;
    assert_true(ctl_tlv_find(*p, *n, CTL_TAG_STATUS, &t) && ctl_tlv_u16(&t, &st));
    return st;
}

static void message_is(const uint8_t *p, uint32_t n, const char *want)
{
    struct ctl_tlv t;
    char text[400];
    assert_true(ctl_tlv_find(p, n, CTL_TAG_MESSAGE, &t) && ctl_tlv_text(&t, text, sizeof text));
    assert_string_equal(text, want);
}

static void unsupported_without_ops(void **state)
{
    struct fixture *f = *state;
    const uint8_t *p;
    uint32_t n;
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL_STATUS, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_FETCH, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_STORE, NULL, 0, &p, &n), CTL_ERR_UNSUPPORTED);
    assert_false(f->ms.closed);
}

static void read_request(void **state)
{
    struct fixture *f = *state;
    uint8_t a[512];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    uint64_t covered;
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "vm/disk.vhdx");
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, 2);
    ctl_put_u64(&w, CTL_TAG_OFFSET, 1 << 20);
    ctl_put_u32(&w, CTL_TAG_LIFETIME_MS, 5000);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, a, w.len, &p, &n), CTL_OK);
    assert_string_equal(seen.range.file, "vm/disk.vhdx");
    assert_int_equal(seen.range.kind, 2);
    assert_int_equal(seen.range.offset, 1 << 20);
    assert_true(seen.range.length == UINT64_MAX); /* absent: to the end */
    assert_int_equal(seen.lifetime, 5000);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_TOKEN, &t));
    assert_int_equal(t.len, CTL_OFFLOAD_TOKEN_SIZE);
    assert_int_equal(t.value[0], 0xab);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_COVERED, &t) && ctl_tlv_u64(&t, &covered));
    assert_int_equal(covered, 777);
}

static void read_refusals_keep_connection(void **state)
{
    struct fixture *f = *state;
    uint8_t a[512];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, NULL, 0, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing or bad FILE (a pool path of at most 255 bytes)");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "f");
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, 3);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "bad OBJ_KIND (1: pool file, 2: VHDX contents)");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "f");
    ctl_put_u32(&w, CTL_TAG_LENGTH, 5);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "OFFSET and LENGTH must be u64");
    /* the provider's refusal and its line pass through */
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "gone.bin");
    seen.answer = CTL_ERR_NOT_FOUND;
    seen.msg = "offload read: gone.bin: not found";
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_READ, a, w.len, &p, &n), CTL_ERR_NOT_FOUND);
    message_is(p, n, "offload read: gone.bin: not found");
    assert_false(f->ms.closed);
}

static void write_request(void **state)
{
    struct fixture *f = *state;
    uint8_t a[1024], token[CTL_OFFLOAD_TOKEN_SIZE];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    uint64_t written;
    for (size_t i = 0; i < sizeof token; i++)
        token[i] = (uint8_t)i;
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_TOKEN, token, sizeof token);
    ctl_put_str(&w, CTL_TAG_FILE, "dst.bin");
    ctl_put_u64(&w, CTL_TAG_OFFSET, 10);
    ctl_put_u64(&w, CTL_TAG_TOKEN_OFFSET, 4096);
    ctl_put_u64(&w, CTL_TAG_LENGTH, 8192);
    seen.msg = "stopped after 4096 of 8192 bytes: the rest does not fill whole sectors of d";
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_OK);
    assert_memory_equal(seen.token, token, sizeof token);
    assert_string_equal(seen.range.file, "dst.bin");
    assert_int_equal(seen.range.kind, 1);
    assert_int_equal(seen.range.offset, 10);
    assert_int_equal(seen.token_offset, 4096);
    assert_int_equal(seen.length, 8192);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_WRITTEN, &t) && ctl_tlv_u64(&t, &written));
    assert_int_equal(written, 4096);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_TEXT, &t)); /* why it stopped short */
}

/* The plain path a client copying through itself takes: fetch and store. */
static void fetch_request_and_refusals(void **state)
{
    struct fixture *f = *state;
    uint8_t a[512];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "src.bin");
    ctl_put_u64(&w, CTL_TAG_OFFSET, 12288);
    ctl_put_u64(&w, CTL_TAG_LENGTH, CTL_OFFLOAD_FETCH_MAX);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_FETCH, a, w.len, &p, &n), CTL_OK);
    assert_string_equal(seen.range.file, "src.bin");
    assert_int_equal(seen.range.offset, 12288);
    assert_int_equal(seen.length, CTL_OFFLOAD_FETCH_MAX);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_DATA, &t));
    assert_int_equal(t.len, 100); /* short: the end */
    assert_int_equal(t.value[99], 0x5a);
    /* no LENGTH, or more than a reply carries */
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "src.bin");
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_FETCH, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "LENGTH must be given, at most 12288");
    ctl_put_u64(&w, CTL_TAG_LENGTH, CTL_OFFLOAD_FETCH_MAX + 1);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_FETCH, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "gone.bin");
    ctl_put_u64(&w, CTL_TAG_LENGTH, 10);
    seen.answer = CTL_ERR_NOT_FOUND;
    seen.msg = "fetch: gone.bin: not found";
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_FETCH, a, w.len, &p, &n), CTL_ERR_NOT_FOUND);
    message_is(p, n, "fetch: gone.bin: not found");
    assert_false(f->ms.closed);
}

static void store_request_and_refusals(void **state)
{
    struct fixture *f = *state;
    static uint8_t a[CTL_MAX_REQUEST_PAYLOAD], data[CTL_OFFLOAD_STORE_MAX + 1];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    uint64_t written;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "disk.vhdx");
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, 2);
    ctl_put_u64(&w, CTL_TAG_OFFSET, 512);
    ctl_put_bytes(&w, CTL_TAG_DATA, data, CTL_OFFLOAD_STORE_MAX);
    assert_false(w.overflow);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_STORE, a, w.len, &p, &n), CTL_OK);
    assert_string_equal(seen.range.file, "disk.vhdx");
    assert_int_equal(seen.range.kind, 2);
    assert_int_equal(seen.range.offset, 512);
    assert_int_equal(stored_len, CTL_OFFLOAD_STORE_MAX);
    assert_memory_equal(stored, data, CTL_OFFLOAD_STORE_MAX);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_WRITTEN, &t) && ctl_tlv_u64(&t, &written));
    assert_int_equal(written, CTL_OFFLOAD_STORE_MAX);
    /* one byte more than allowed; no DATA at all */
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "d");
    ctl_put_bytes(&w, CTL_TAG_DATA, data, CTL_OFFLOAD_STORE_MAX + 1);
    stored_len = 0;
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_STORE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing DATA, or over 3584 bytes");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_str(&w, CTL_TAG_FILE, "d");
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_STORE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    assert_int_equal(stored_len, 0);
    assert_false(f->ms.closed);
}

static void write_refusals(void **state)
{
    struct fixture *f = *state;
    uint8_t a[1024], token[CTL_OFFLOAD_TOKEN_SIZE] = { 0 };
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_TOKEN, token, sizeof token - 1);
    ctl_put_str(&w, CTL_TAG_FILE, "dst.bin");
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing TOKEN, or not 512 bytes");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_TOKEN, token, sizeof token);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing or bad FILE (a pool path of at most 255 bytes)");
    ctl_put_str(&w, CTL_TAG_FILE, "dst.bin");
    seen.answer = CTL_ERR_BAD_STATE;
    seen.msg = "offload write: token no longer valid: its data changed since issue (0 bytes written)";
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_STATE);
    message_is(p, n, seen.msg);
    assert_false(f->ms.closed);
}

/* WHOLE: the first request of a write of the whole token into the whole destination, which
 * the provider may answer with all of it written at once. */
static void whole_write_request_and_refusals(void **state)
{
    struct fixture *f = *state;
    uint8_t a[1024], token[CTL_OFFLOAD_TOKEN_SIZE] = { 7 };
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    uint64_t written;
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_TOKEN, token, sizeof token);
    ctl_put_str(&w, CTL_TAG_FILE, "e.vhdx");
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, 2);
    ctl_put_u64(&w, CTL_TAG_LENGTH, 64u << 20);
    size_t plain = w.len;
    ctl_put_u8(&w, CTL_TAG_WHOLE, 1);
    seen.written = 256u << 20;     /* a clone: the whole token at once */
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_OK);
    assert_true(seen.whole);
    assert_int_equal(seen.length, 64u << 20);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_WRITTEN, &t) && ctl_tlv_u64(&t, &written));
    assert_int_equal(written, 256u << 20);
    /* more than LENGTH without WHOLE is the provider's fault, not passed on */
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, plain, &p, &n), CTL_ERR_INTERNAL);
    assert_false(seen.whole);
    seen.written = 0;
    /* WHOLE 0 is no hint */
    w.len = plain;
    ctl_put_u8(&w, CTL_TAG_WHOLE, 0);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_OK);
    assert_false(seen.whole);
    /* a value other than 0 or 1, another width */
    w.len = plain;
    ctl_put_u8(&w, CTL_TAG_WHOLE, 2);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "WHOLE must be a u8, 0 or 1");
    w.len = plain;
    ctl_put_u64(&w, CTL_TAG_WHOLE, 1);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "WHOLE must be a u8, 0 or 1");
    /* not from the start of the token or of the destination */
    w.len = plain;
    ctl_put_u8(&w, CTL_TAG_WHOLE, 1);
    size_t hinted = w.len;
    ctl_put_u64(&w, CTL_TAG_TOKEN_OFFSET, 512);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "WHOLE needs TOKEN_OFFSET and OFFSET 0");
    w.len = hinted;
    ctl_put_u64(&w, CTL_TAG_OFFSET, 512);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_WRITE, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "WHOLE needs TOKEN_OFFSET and OFFSET 0");
    assert_false(f->ms.closed);
}

static void pull_request_and_status(void **state)
{
    struct fixture *f = *state;
    uint8_t a[2048], grant[CTL_OFFLOAD_GRANT_SIZE];
    struct ctl_tlv_writer w;
    const uint8_t *p;
    uint32_t n;
    struct ctl_tlv t;
    uint64_t v;
    uint8_t active;
    for (size_t i = 0; i < sizeof grant; i++)
        grant[i] = (uint8_t)(i * 3);
    /* refusals: no grant, a short one, no host */
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL, NULL, 0, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing GRANT, or not 768 bytes");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_GRANT, grant, sizeof grant - 1);
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing GRANT, or not 768 bytes");
    ctl_tlv_writer_init(&w, a, sizeof a);
    ctl_put_bytes(&w, CTL_TAG_GRANT, grant, sizeof grant);
    ctl_put_str(&w, CTL_TAG_FILE, "got.bin");
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL, a, w.len, &p, &n), CTL_ERR_BAD_ARGUMENT);
    message_is(p, n, "missing or bad HOST (A.B.C.D[:PORT] of the source's offload link)");
    /* the whole request reaches the op */
    ctl_put_str(&w, CTL_TAG_HOST, "10.0.2.2:7404");
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, 2);
    ctl_put_u64(&w, CTL_TAG_OFFSET, 512);
    ctl_put_u64(&w, CTL_TAG_TOKEN_OFFSET, 4096);
    seen.msg = "pulling 3000000 bytes from 10.0.2.2:7404 into got.bin";
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL, a, w.len, &p, &n), CTL_OK);
    assert_memory_equal(seen.grant, grant, sizeof grant);
    assert_string_equal(seen.host, "10.0.2.2:7404");
    assert_string_equal(seen.range.file, "got.bin");
    assert_int_equal(seen.range.kind, 2);
    assert_int_equal(seen.range.offset, 512);
    assert_int_equal(seen.token_offset, 4096);
    assert_true(seen.length == UINT64_MAX);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_TEXT, &t));
    assert_int_equal(ask(f, CTL_MSG_OFFLOAD_PULL_STATUS, NULL, 0, &p, &n), CTL_OK);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_ACTIVE, &t) && ctl_tlv_u8(&t, &active));
    assert_int_equal(active, 0);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_DONE, &t) && ctl_tlv_u64(&t, &v));
    assert_int_equal(v, 3000000);
    assert_true(ctl_tlv_find(p, n, CTL_TAG_RESULT, &t));
    assert_false(f->ms.closed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unsupported_without_ops, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(read_request, setup, teardown),
        cmocka_unit_test_setup_teardown(read_refusals_keep_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(write_request, setup, teardown),
        cmocka_unit_test_setup_teardown(write_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(whole_write_request_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(fetch_request_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(store_request_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(pull_request_and_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
