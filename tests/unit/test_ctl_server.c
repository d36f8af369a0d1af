/* Unit tests: the control server state machine over an in-memory stream. */
#define _GNU_SOURCE
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
    size_t chunk;            /* bytes per read (0: all) */
    bool eof;                /* after `in` is consumed */
    uint8_t out[CTL_HEADER_SIZE + CTL_MAX_REPLY_PAYLOAD + 64];
    size_t out_len;
    bool closed;
    const uint8_t *fp;
};

static long ms_read(void *s, void *buf, size_t len)
{
    struct mem_stream *m = s;
    size_t avail = m->in_len - m->in_off;
    if (!avail)
        return m->eof ? CTL_IO_EOF : 0;
    size_t n = avail < len ? avail : len;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->in + m->in_off, n);
    m->in_off += n;
    return (long)n;
}

static long ms_write(void *s, const void *buf, size_t len)
{
    struct mem_stream *m = s;
    size_t n = len < sizeof m->out - m->out_len ? len : sizeof m->out - m->out_len;
    memcpy(m->out + m->out_len, buf, n);
    m->out_len += n;
    return (long)n;
}

static int ms_flush(void *s) { return 1; }
static const uint8_t *ms_peer_key(void *s) { return ((struct mem_stream *)s)->fp; }
static void ms_close(void *s) { ((struct mem_stream *)s)->closed = true; }

static const struct ctl_stream_ops ms_ops = { ms_read, ms_write, ms_flush, ms_peer_key, ms_close };

static const uint8_t good_fp[1][32] = { { 1, 2, 3 } };
#define CLIENT_IP 0x0a000301u   /* 10.0.3.1 */
#define FLOOD_IP  0x0a000309u   /* 10.0.3.9 */
static const uint8_t bad_fp[32] = { 9 };

struct fixture {
    struct ctl_server srv;
    struct ctl_commands cmds;
    struct fake_hv hv;
    struct mem_stream ms;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct ctl_server_config cfg = { good_fp, 1, 1000, 100 };
    ctl_server_init(&f->srv, &cfg);
    fake_hv_init(&f->hv);
    assert_int_equal(ctl_commands_register(&f->srv, &f->cmds, &fake_hv_ops, &f->hv), 0);
    f->ms.fp = good_fp[0];
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void feed(struct mem_stream *m, uint16_t type, uint32_t id, const void *p, size_t n)
{
    m->in_len += ctl_message_build(m->in + m->in_len, sizeof m->in - m->in_len, type, id, p, n);
}

static void feed_raw(struct mem_stream *m, const void *p, size_t n)
{
    memcpy(m->in + m->in_len, p, n);
    m->in_len += n;
}

/* Decodes reply number `index` in the output; returns its status, fills *h and payload. */
static uint16_t reply(struct mem_stream *m, int index, struct ctl_header *h,
                      const uint8_t **payload)
{
    size_t off = 0;
    for (;;) {
        assert_true(off + CTL_HEADER_SIZE <= m->out_len);
        ctl_header_decode(m->out + off, h);
        assert_int_equal(h->magic, CTL_MAGIC);
        assert_true(off + CTL_HEADER_SIZE + h->length <= m->out_len);
        if (index-- == 0)
            break;
        off += CTL_HEADER_SIZE + h->length;
    }
    *payload = m->out + off + CTL_HEADER_SIZE;
    struct ctl_tlv t;
    uint16_t st;
    assert_true(ctl_tlv_valid(*payload, h->length));
    assert_true(ctl_tlv_find(*payload, h->length, CTL_TAG_STATUS, &t) && ctl_tlv_u16(&t, &st));
    return st;
}

static void run(struct fixture *f, uint64_t now)
{
    if (!f->srv.conns[0].stream && f->srv.stats.accepted == 0)
        assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &f->ms, CLIENT_IP), 0);
    ctl_server_poll(&f->srv, now);
}

static void status_request(void **state)
{
    struct fixture *f = *state;
    struct ctl_header h;
    const uint8_t *p;
    struct ctl_tlv t;
    char text[32];
    feed(&f->ms, CTL_MSG_STATUS, 42, NULL, 0);
    run(f, 1);
    assert_int_equal(reply(&f->ms, 0, &h, &p), CTL_OK);
    assert_int_equal(h.type, CTL_MSG_STATUS | CTL_REPLY_BIT);
    assert_int_equal(h.request_id, 42);
    assert_true(ctl_tlv_find(p, h.length, CTL_TAG_VERSION, &t) && ctl_tlv_text(&t, text, sizeof text));
    assert_string_equal(text, "0.1.0-fake");
    assert_false(f->ms.closed);
    assert_int_equal(f->srv.stats.active, 1);
}

static void list_then_start_errors_keep_connection(void **state)
{
    struct fixture *f = *state;
    struct ctl_header h;
    const uint8_t *p;
    uint8_t args[64];
    struct ctl_tlv_writer w;
    feed(&f->ms, CTL_MSG_LIST, 1, NULL, 0);
    ctl_tlv_writer_init(&w, args, sizeof args);
    ctl_put_str(&w, CTL_TAG_NAME, "nope");
    feed(&f->ms, CTL_MSG_START, 2, args, w.len);
    ctl_tlv_writer_init(&w, args, sizeof args);
    ctl_put_str(&w, CTL_TAG_NAME, "linux");
    feed(&f->ms, CTL_MSG_START, 3, args, w.len);
    feed(&f->ms, CTL_MSG_STOP, 4, args, w.len);
    run(f, 1);
    assert_int_equal(reply(&f->ms, 0, &h, &p), CTL_OK);
    int parts = 0;
    struct ctl_tlv_reader r;
    struct ctl_tlv t;
    ctl_tlv_reader_init(&r, p, h.length);
    while (ctl_tlv_next(&r, &t) > 0)
        parts += t.tag == CTL_TAG_PARTITION;
    assert_int_equal(parts, 3);
    assert_int_equal(reply(&f->ms, 1, &h, &p), CTL_ERR_NOT_FOUND);
    assert_int_equal(reply(&f->ms, 2, &h, &p), CTL_ERR_BAD_STATE);   /* already running */
    assert_int_equal(reply(&f->ms, 3, &h, &p), CTL_OK);
    assert_int_equal(h.request_id, 4);
    assert_int_equal(f->hv.parts[0].state, CTL_PART_STOPPED);
    assert_false(f->ms.closed);
}

static void expect_closed_with(struct fixture *f, uint16_t status)
{
    struct ctl_header h;
    const uint8_t *p;
    assert_int_equal(reply(&f->ms, 0, &h, &p), status);
    assert_true(f->ms.closed);
    assert_int_equal(f->srv.stats.active, 0);
}

static void unknown_type_closes(void **state)
{
    struct fixture *f = *state;
    feed(&f->ms, 0x7777, 5, NULL, 0);
    feed(&f->ms, CTL_MSG_STATUS, 6, NULL, 0);   /* never served */
    run(f, 1);
    expect_closed_with(f, CTL_ERR_UNKNOWN_TYPE);
    assert_int_equal(f->ms.out_len, CTL_HEADER_SIZE + f->ms.out[15] + (f->ms.out[14] << 8));
}

static void garbage_closes(void **state)
{
    struct fixture *f = *state;
    feed_raw(&f->ms, "GET / HTTP/1.1\r\n\r\n", 18);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_MALFORMED);
}

static void oversized_closes_before_payload(void **state)
{
    struct fixture *f = *state;
    uint8_t hdr[CTL_HEADER_SIZE];
    ctl_header_encode(hdr, CTL_MSG_STATUS, 7, 0x10000000);
    feed_raw(&f->ms, hdr, sizeof hdr);
    feed_raw(&f->ms, "xxxx", 4);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_TOO_LARGE);
    assert_int_equal(f->ms.in_off, CTL_HEADER_SIZE);
}

static void version_mismatch_closes(void **state)
{
    struct fixture *f = *state;
    uint8_t hdr[CTL_HEADER_SIZE];
    ctl_header_encode(hdr, CTL_MSG_STATUS, 8, 0);
    hdr[5] = 9;
    feed_raw(&f->ms, hdr, sizeof hdr);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_VERSION);
}

static void malformed_tlv_closes(void **state)
{
    struct fixture *f = *state;
    const uint8_t bad[] = { 0, 3, 0, 200, 'x' };
    feed(&f->ms, CTL_MSG_START, 9, bad, sizeof bad);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_MALFORMED);
}

static void truncated_by_eof(void **state)
{
    struct fixture *f = *state;
    uint8_t hdr[CTL_HEADER_SIZE];
    ctl_header_encode(hdr, CTL_MSG_START, 10, 50);
    feed_raw(&f->ms, hdr, sizeof hdr);
    feed_raw(&f->ms, "abc", 3);
    f->ms.eof = true;
    run(f, 1);
    expect_closed_with(f, CTL_ERR_TRUNCATED);
}

static void truncated_by_timeout(void **state)
{
    struct fixture *f = *state;
    feed_raw(&f->ms, "ATCL\0", 5);
    run(f, 1);
    assert_false(f->ms.closed);
    ctl_server_poll(&f->srv, 50);
    assert_false(f->ms.closed);
    ctl_server_poll(&f->srv, 102);   /* message timeout is 100 ms */
    expect_closed_with(f, CTL_ERR_TRUNCATED);
}

static void idle_timeout_closes_quietly(void **state)
{
    struct fixture *f = *state;
    run(f, 1);
    ctl_server_poll(&f->srv, 999);
    assert_false(f->ms.closed);
    ctl_server_poll(&f->srv, 1002);
    assert_true(f->ms.closed);
    assert_int_equal(f->ms.out_len, 0);
}

static void unauthenticated_peer_gets_short_timeout(void **state)
{
    struct fixture *f = *state;
    f->ms.fp = NULL;   /* e.g. a TLS handshake that never completes */
    run(f, 1);
    ctl_server_poll(&f->srv, 50);
    assert_false(f->ms.closed);
    ctl_server_poll(&f->srv, 102);
    assert_true(f->ms.closed);
    assert_int_equal(f->ms.out_len, 0);
}

static void unauthenticated_closes(void **state)
{
    struct fixture *f = *state;
    f->ms.fp = bad_fp;
    feed(&f->ms, CTL_MSG_STATUS, 11, NULL, 0);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_UNAUTHENTICATED);
    f->ms = (struct mem_stream){ .fp = NULL };
    assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &f->ms, CLIENT_IP), 0);
    feed(&f->ms, CTL_MSG_STATUS, 12, NULL, 0);
    ctl_server_poll(&f->srv, 2);
    expect_closed_with(f, CTL_ERR_UNAUTHENTICATED);
}

/* No control-clients configured: nobody is let in, whatever key the TLS layer saw. */
static void no_clients_configured_refuses_everyone(void **state)
{
    struct fixture *f = *state;
    struct ctl_server_config cfg = { NULL, 0, 1000, 100 };
    ctl_server_init(&f->srv, &cfg);
    assert_int_equal(ctl_commands_register(&f->srv, &f->cmds, &fake_hv_ops, &f->hv), 0);
    assert_false(ctl_server_key_allowed(&f->srv, good_fp[0]));
    assert_false(ctl_server_key_allowed(&f->srv, bad_fp));
    assert_false(ctl_server_key_allowed(&f->srv, NULL));
    feed(&f->ms, CTL_MSG_STATUS, 21, NULL, 0);
    run(f, 1);
    expect_closed_with(f, CTL_ERR_UNAUTHENTICATED);
}

static void byte_at_a_time(void **state)
{
    struct fixture *f = *state;
    struct ctl_header h;
    const uint8_t *p;
    f->ms.chunk = 1;
    feed(&f->ms, CTL_MSG_LOG, 13, NULL, 0);
    run(f, 1);
    assert_int_equal(reply(&f->ms, 0, &h, &p), CTL_OK);
    struct ctl_tlv t;
    assert_true(ctl_tlv_find(p, h.length, CTL_TAG_TEXT, &t));
    assert_non_null(memmem(t.value, t.len, "boot atoll-fake", 15));
}

static uint16_t big_handler(void *ctx, const struct ctl_request *req, struct ctl_tlv_writer *w,
                            const char **msg)
{
    static uint8_t junk[4000];
    for (int i = 0; i < 5; i++)
        ctl_put_bytes(w, 99, junk, sizeof junk);
    return CTL_OK;
}

static void registration_and_overflow(void **state)
{
    struct fixture *f = *state;
    struct ctl_header h;
    const uint8_t *p;
    assert_int_equal(ctl_server_register(&f->srv, CTL_MSG_STATUS, big_handler, NULL), -1);
    assert_int_equal(ctl_server_register(&f->srv, 0, big_handler, NULL), -1);
    assert_int_equal(ctl_server_register(&f->srv, 0x8001, big_handler, NULL), -1);
    assert_int_equal(ctl_server_register(&f->srv, CTL_MSG_SNAPSHOT_LAST, big_handler, NULL), 0);
    feed(&f->ms, CTL_MSG_SNAPSHOT_LAST, 14, NULL, 0);
    feed(&f->ms, CTL_MSG_STATUS, 15, NULL, 0);
    run(f, 1);
    assert_int_equal(reply(&f->ms, 0, &h, &p), CTL_ERR_INTERNAL);
    assert_int_equal(reply(&f->ms, 1, &h, &p), CTL_OK);
}

static void slots_full_and_fifty_in_a_row(void **state)
{
    struct fixture *f = *state;
    static struct mem_stream many[CTL_MAX_CONNECTIONS + 1];
    for (int i = 0; i <= CTL_MAX_CONNECTIONS; i++) {
        many[i] = (struct mem_stream){ .fp = good_fp[0] };
        int slot = ctl_server_attach(&f->srv, &ms_ops, &many[i], CLIENT_IP);
        assert_int_equal(slot, i < CTL_MAX_CONNECTIONS ? i : -1);
    }
    ctl_server_close_all(&f->srv);
    assert_int_equal(f->srv.stats.active, 0);
    for (int i = 0; i < 50; i++) {
        struct ctl_header h;
        const uint8_t *p;
        f->ms = (struct mem_stream){ .fp = good_fp[0], .eof = true };
        assert_true(ctl_server_attach(&f->srv, &ms_ops, &f->ms, CLIENT_IP) >= 0);
        feed(&f->ms, CTL_MSG_STATUS, (uint32_t)i, NULL, 0);
        ctl_server_poll(&f->srv, (uint64_t)i + 1);
        assert_int_equal(reply(&f->ms, 0, &h, &p), CTL_OK);
        assert_true(f->ms.closed);   /* clean EOF between messages: closed quietly */
    }
    assert_int_equal(f->srv.stats.active, 0);
    assert_int_equal(f->srv.stats.accepted, CTL_MAX_CONNECTIONS + 50);
}

/* Peers that never finish a handshake, or finish it with a key not on the list, cannot keep
 * an allowed client out: when every slot is busy the one attached longest ago among them
 * makes way; authenticated clients are never closed for a newcomer. */
static void handshake_stragglers_make_way(void **state)
{
    struct fixture *f = *state;
    static struct mem_stream s[CTL_MAX_CONNECTIONS + 3];
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++) {
        s[i] = (struct mem_stream){ .fp = i == 1 ? bad_fp : NULL };
        assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &s[i], CLIENT_IP), i);
    }
    ctl_server_poll(&f->srv, 1);
    /* a newcomer takes the slot of the first straggler, then of the second (bad key) */
    s[CTL_MAX_CONNECTIONS] = (struct mem_stream){ .fp = good_fp[0] };
    assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &s[CTL_MAX_CONNECTIONS], CLIENT_IP), 0);
    assert_true(s[0].closed);
    assert_false(s[1].closed || s[2].closed || s[3].closed);
    s[CTL_MAX_CONNECTIONS + 1] = (struct mem_stream){ .fp = NULL };
    assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &s[CTL_MAX_CONNECTIONS + 1],
                                       CLIENT_IP), 1);
    assert_true(s[1].closed);
    assert_int_equal(f->srv.stats.evicted, 2);
    /* the allowed client that came in is served and is never the one to make way */
    feed(&s[CTL_MAX_CONNECTIONS], CTL_MSG_STATUS, 7, NULL, 0);
    ctl_server_poll(&f->srv, 2);
    struct ctl_header h;
    const uint8_t *p;
    assert_int_equal(reply(&s[CTL_MAX_CONNECTIONS], 0, &h, &p), CTL_OK);
    for (int k = 0; k < 3; k++) {
        struct mem_stream *n = &s[CTL_MAX_CONNECTIONS + 2];
        *n = (struct mem_stream){ .fp = NULL };
        assert_true(ctl_server_attach(&f->srv, &ms_ops, n, CLIENT_IP) >= 0);
    }
    assert_false(s[CTL_MAX_CONNECTIONS].closed);
    assert_int_equal(f->srv.stats.active, CTL_MAX_CONNECTIONS);
}

/* Every slot an authenticated client's: the newcomer is refused and nobody is closed. */
static void authenticated_clients_keep_their_slots(void **state)
{
    struct fixture *f = *state;
    static struct mem_stream s[CTL_MAX_CONNECTIONS + 1];
    for (int i = 0; i <= CTL_MAX_CONNECTIONS; i++) {
        s[i] = (struct mem_stream){ .fp = i < CTL_MAX_CONNECTIONS ? good_fp[0] : NULL };
        assert_int_equal(ctl_server_attach(&f->srv, &ms_ops, &s[i], CLIENT_IP),
                         i < CTL_MAX_CONNECTIONS ? i : -1);
    }
    assert_false(ctl_server_make_room(&f->srv, CLIENT_IP));
    for (int i = 0; i < CTL_MAX_CONNECTIONS; i++)
        assert_false(s[i].closed);
    assert_int_equal(f->srv.stats.evicted, 0);
    assert_int_equal(f->srv.stats.refused_full, 1);
}

/* One address opens connection after connection and never finishes a handshake, while a
 * client from another address is in its own: the flood takes only its own slots (and is
 * refused once it holds more than half), the client's handshake survives, it is served. */
static void flood_from_one_address_keeps_no_client_out(void **state)
{
    struct fixture *f = *state;
    static struct mem_stream flood[200], client, late;
    ctl_server_poll(&f->srv, 1);
    client = (struct mem_stream){ .fp = NULL };         /* its TLS handshake under way */
    int slot = ctl_server_attach(&f->srv, &ms_ops, &client, CLIENT_IP);
    assert_true(slot >= 0);
    unsigned refused = 0;
    for (int i = 0; i < 200; i++) {
        flood[i] = (struct mem_stream){ .fp = NULL };
        if (ctl_server_attach(&f->srv, &ms_ops, &flood[i], FLOOD_IP) < 0)
            refused++;
        ctl_server_poll(&f->srv, 2 + (uint64_t)i / 10);   /* within the message timeout */
        assert_false(client.closed);
    }
    assert_true(refused > 0);
    assert_int_equal(f->srv.stats.active, CTL_MAX_CONNECTIONS);
    client.fp = good_fp[0];                             /* the handshake completes */
    feed(&client, CTL_MSG_STATUS, 5, NULL, 0);
    ctl_server_poll(&f->srv, 30);
    struct ctl_header h;
    const uint8_t *p;
    assert_int_equal(reply(&client, 0, &h, &p), CTL_OK);
    assert_int_equal(h.request_id, 5);
    assert_false(client.closed);
    /* with the flood holding every other slot, a client from a third address comes in too */
    late = (struct mem_stream){ .fp = NULL };
    assert_true(ctl_server_attach(&f->srv, &ms_ops, &late, 0x0a000305u) >= 0);
    late.fp = good_fp[0];
    feed(&late, CTL_MSG_STATUS, 6, NULL, 0);
    for (int i = 0; i < 50; i++) {
        flood[i] = (struct mem_stream){ .fp = NULL };
        ctl_server_attach(&f->srv, &ms_ops, &flood[i], FLOOD_IP);
    }
    ctl_server_poll(&f->srv, 40);
    assert_int_equal(reply(&late, 0, &h, &p), CTL_OK);
    assert_false(late.closed || client.closed);
}

/* A key the TLS layer let through but the allow list does not hold gets only the short
 * message timeout, as a handshake in progress does. */
static void key_not_on_the_list_gets_short_timeout(void **state)
{
    struct fixture *f = *state;
    f->ms.fp = bad_fp;
    run(f, 1);
    ctl_server_poll(&f->srv, 50);
    assert_false(f->ms.closed);
    ctl_server_poll(&f->srv, 102);
    assert_true(f->ms.closed);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(status_request), T(list_then_start_errors_keep_connection), T(unknown_type_closes),
        T(garbage_closes), T(oversized_closes_before_payload), T(version_mismatch_closes),
        T(malformed_tlv_closes), T(truncated_by_eof), T(truncated_by_timeout),
        T(idle_timeout_closes_quietly), T(unauthenticated_peer_gets_short_timeout),
        T(unauthenticated_closes), T(no_clients_configured_refuses_everyone), T(byte_at_a_time),
        T(registration_and_overflow), T(slots_full_and_fifty_in_a_row),
        T(handshake_stragglers_make_way), T(authenticated_clients_keep_their_slots),
        T(flood_from_one_address_keeps_no_client_out),
        T(key_not_on_the_list_gets_short_timeout),
    };
    return cmocka_run_group_tests_name("ctl_server", tests, NULL, NULL);
}
