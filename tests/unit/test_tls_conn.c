/* Unit tests: TLS identities, pinning and a full handshake between two in-memory peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "net/tls/tls_conn.h"
#include "net/tls/tls_identity.h"

static int counter_entropy(void *ctx, void *buf, size_t len)
{
    unsigned *n = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + *n * 7 + 1);
    (*n)++;
    return 0;
}

static int no_entropy(void *ctx, void *buf, size_t len) { return -1; }
static int stuck_entropy(void *ctx, void *buf, size_t len)
{
    memset(buf, 0xff, len);
    return 0;
}

static void keygen_pem_round_trip(void **state)
{
    static struct tls_identity a, b;
    unsigned n = 0;
    char pem[TLS_KEY_PEM_MAX], hex[TLS_FP_HEX_SIZE];
    assert_int_equal(tls_identity_generate(&a, counter_entropy, &n), TLS_OK);
    size_t len = tls_identity_to_pem(&a, pem, sizeof pem);
    assert_true(len > 0);
    assert_non_null(strstr(pem, "-----BEGIN EC PRIVATE KEY-----"));
    assert_int_equal(tls_identity_load(&b, pem, len), TLS_OK);
    assert_memory_equal(a.fingerprint, b.fingerprint, TLS_FP_SIZE);
    assert_memory_equal(a.public, b.public, 65);
    tls_fingerprint_hex(a.fingerprint, hex);
    assert_int_equal(strlen(hex), 64);
    assert_true(tls_identity_cert_pem(&a, pem, sizeof pem) > 0);
    assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
    /* a different seed, a different key */
    assert_int_equal(tls_identity_generate(&b, counter_entropy, &n), TLS_OK);
    assert_memory_not_equal(a.fingerprint, b.fingerprint, TLS_FP_SIZE);
}

static void entropy_refusal(void **state)
{
    static struct tls_identity a;
    assert_int_equal(tls_identity_generate(&a, no_entropy, NULL), TLS_ERR_NO_ENTROPY);
    assert_int_equal(tls_identity_generate(&a, stuck_entropy, NULL), TLS_ERR_NO_ENTROPY);
    assert_int_equal(tls_identity_generate(&a, NULL, NULL), TLS_ERR_NO_ENTROPY);
    assert_non_null(strstr(tls_error_text(TLS_ERR_NO_ENTROPY), "RDSEED"));
}

static void bad_keys(void **state)
{
    static struct tls_identity a;
    assert_int_equal(tls_identity_load(&a, "garbage", 7), TLS_ERR_BAD_KEY);
    const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(tls_identity_load(&a, pem, sizeof pem - 1), TLS_ERR_BAD_KEY);
}

static void fingerprint_parse(void **state)
{
    uint8_t fp[32], back[32];
    char hex[TLS_FP_HEX_SIZE], colons[128] = "sha256:";
    for (int i = 0; i < 32; i++)
        fp[i] = (uint8_t)(i * 9);
    tls_fingerprint_hex(fp, hex);
    assert_int_equal(tls_fingerprint_parse(hex, back), 0);
    assert_memory_equal(fp, back, 32);
    for (int i = 0; i < 32; i++) {
        strncat(colons, hex + 2 * i, 2);
        if (i < 31)
            strcat(colons, ":");
    }
    assert_int_equal(tls_fingerprint_parse(colons, back), 0);
    assert_memory_equal(fp, back, 32);
    assert_int_equal(tls_fingerprint_parse("abc", back), -1);
    hex[10] = 'g';
    assert_int_equal(tls_fingerprint_parse(hex, back), -1);
}

/* ---- two peers joined by in-memory pipes ---- */
struct pipe {
    uint8_t buf[65536];
    size_t len;
    bool closed;
};

struct end {
    struct pipe *rx, *tx;
};

static long pipe_recv(void *ctx, void *buf, size_t len)
{
    struct end *e = ctx;
    if (!e->rx->len)
        return e->rx->closed ? TLS_IO_EOF : 0;
    size_t n = e->rx->len < len ? e->rx->len : len;
    memcpy(buf, e->rx->buf, n);
    memmove(e->rx->buf, e->rx->buf + n, e->rx->len - n);
    e->rx->len -= n;
    return (long)n;
}

static long pipe_send(void *ctx, const void *buf, size_t len)
{
    struct end *e = ctx;
    if (e->tx->closed)
        return TLS_IO_ERROR;
    size_t n = sizeof e->tx->buf - e->tx->len;
    n = n < len ? n : len;
    memcpy(e->tx->buf + e->tx->len, buf, n);
    e->tx->len += n;
    return (long)n;
}

struct duo {
    struct tls_identity server_id, client_id, stranger_id;
    struct tls_conn server, client;
    struct pipe c2s, s2c;
    struct end s_end, c_end;
    uint8_t server_fp[1][32], client_fp[1][32];
    unsigned seed;
};

static int duo_setup(void **state)
{
    struct duo *d = calloc(1, sizeof *d);
    assert_int_equal(tls_identity_generate(&d->server_id, counter_entropy, &d->seed), TLS_OK);
    assert_int_equal(tls_identity_generate(&d->client_id, counter_entropy, &d->seed), TLS_OK);
    assert_int_equal(tls_identity_generate(&d->stranger_id, counter_entropy, &d->seed), TLS_OK);
    memcpy(d->server_fp[0], d->server_id.fingerprint, 32);
    memcpy(d->client_fp[0], d->client_id.fingerprint, 32);
    d->s_end = (struct end){ &d->c2s, &d->s2c };
    d->c_end = (struct end){ &d->s2c, &d->c2s };
    *state = d;
    return 0;
}

static int duo_teardown(void **state)
{
    free(*state);
    return 0;
}

static void duo_start(struct duo *d, const struct tls_identity *client_key,
                      const uint8_t (*pin)[32])
{
    struct tls_raw_io sio = { pipe_recv, pipe_send, &d->s_end };
    struct tls_raw_io cio = { pipe_recv, pipe_send, &d->c_end };
    assert_int_equal(tls_conn_server_init(&d->server, &d->server_id, d->client_fp, 1, &sio,
                                          counter_entropy, &d->seed), TLS_OK);
    assert_int_equal(tls_conn_client_init(&d->client, client_key, pin, 1, &cio,
                                          counter_entropy, &d->seed), TLS_OK);
}

/* Runs both handshakes until both finish or one fails; returns client, server results. */
static void duo_handshake(struct duo *d, int *cr, int *sr)
{
    *cr = *sr = 0;
    for (int i = 0; i < 100 && (*cr == 0 || *sr == 0); i++) {
        if (*cr == 0)
            *cr = tls_conn_handshake(&d->client);
        if (*sr == 0)
            *sr = tls_conn_handshake(&d->server);
        if (*sr < 0)
            d->s2c.closed = true;   /* the server side drops the socket */
        if (*cr < 0)
            d->c2s.closed = true;
    }
}

static void handshake_and_data(void **state)
{
    struct duo *d = *state;
    int cr, sr;
    char buf[64];
    duo_start(d, &d->client_id, d->server_fp);
    duo_handshake(d, &cr, &sr);
    assert_int_equal(cr, 1);
    assert_int_equal(sr, 1);
    assert_memory_equal(tls_conn_peer_key(&d->server), d->client_fp[0], 32);
    assert_memory_equal(tls_conn_peer_key(&d->client), d->server_fp[0], 32);
    assert_string_equal(tls_conn_suite_name(&d->client), "ECDHE-ECDSA-CHACHA20-POLY1305");
    assert_int_equal(tls_conn_write(&d->client, "hello", 5), 5);
    assert_int_equal(tls_conn_flush(&d->client), 1);
    assert_int_equal(tls_conn_read(&d->server, buf, sizeof buf), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(tls_conn_read(&d->server, buf, sizeof buf), 0);   /* would block */
    assert_int_equal(tls_conn_write(&d->server, "world", 5), 5);
    assert_int_equal(tls_conn_flush(&d->server), 1);
    assert_int_equal(tls_conn_read(&d->client, buf, sizeof buf), 5);
    tls_conn_close(&d->client);
    assert_int_equal(tls_conn_read(&d->server, buf, sizeof buf), TLS_IO_EOF);
}

static void unknown_client_refused(void **state)
{
    struct duo *d = *state;
    int cr, sr;
    duo_start(d, &d->stranger_id, d->server_fp);
    duo_handshake(d, &cr, &sr);
    assert_true(sr < 0);
    assert_true(cr < 0);
    assert_int_equal(tls_conn_engine_error(&d->server), BR_ERR_X509_NOT_TRUSTED);
    assert_null(tls_conn_peer_key(&d->server));
    assert_true(d->server.pin.seen);
    assert_memory_equal(d->server.pin.fingerprint, d->stranger_id.fingerprint, 32);
}

/* pin.any (the offload link's listener): any key is let in, and the peer key it shows is
 * the one it authenticated with, for the caller to judge. */
static void any_key_admitted(void **state)
{
    struct duo *d = *state;
    int cr, sr;
    duo_start(d, &d->stranger_id, d->server_fp);
    d->server.pin.any = true;
    duo_handshake(d, &cr, &sr);
    assert_int_equal(cr, 1);
    assert_int_equal(sr, 1);
    assert_memory_equal(tls_conn_peer_key(&d->server), d->stranger_id.fingerprint, 32);
}

static void wrong_server_pin_refused(void **state)
{
    struct duo *d = *state;
    int cr, sr;
    duo_start(d, &d->client_id, d->client_fp);   /* pins the wrong key */
    duo_handshake(d, &cr, &sr);
    assert_true(cr < 0);
    assert_true(sr < 0);
    assert_int_equal(tls_conn_engine_error(&d->client), BR_ERR_X509_NOT_TRUSTED);
    assert_true(d->client.pin.seen);
    assert_memory_equal(d->client.pin.fingerprint, d->server_fp[0], 32);
}

static void conn_needs_entropy(void **state)
{
    struct duo *d = *state;
    struct tls_raw_io io = { pipe_recv, pipe_send, &d->s_end };
    assert_int_equal(tls_conn_server_init(&d->server, &d->server_id, d->client_fp, 1, &io,
                                          no_entropy, NULL), TLS_ERR_NO_ENTROPY);
}

int main(void)
{
#define D(fn) cmocka_unit_test_setup_teardown(fn, duo_setup, duo_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keygen_pem_round_trip), cmocka_unit_test(entropy_refusal),
        cmocka_unit_test(bad_keys), cmocka_unit_test(fingerprint_parse),
        D(handshake_and_data), D(unknown_client_refused), D(any_key_admitted), D(wrong_server_pin_refused),
        D(conn_needs_entropy),
    };
    return cmocka_run_group_tests_name("tls_conn", tests, NULL, NULL);
}
