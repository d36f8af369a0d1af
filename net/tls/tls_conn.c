/* TLS connections on BearSSL: engine setup and a pump between engine and raw stream. */
#include "net/tls/tls_conn.h"
#include <string.h>

static const uint16_t suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
};

/* "CN=atoll-clients": the name a CertificateRequest must carry to ask for a client key. */
static const unsigned char client_ca_dn[] = {
    0x30, 0x18, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d,
    'a', 't', 'o', 'l', 'l', '-', 'c', 'l', 'i', 'e', 'n', 't', 's',
};
static const br_x500_name client_ca_names[] = { { (unsigned char *)client_ca_dn, sizeof client_ca_dn } };

static void configure_engine(br_ssl_engine_context *eng)
{
    br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(eng, suites, sizeof suites / sizeof suites[0]);
    br_ssl_engine_set_ec(eng, &br_ec_all_m31);
    br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(eng);
    br_ssl_engine_set_default_chapol(eng);
}

static int seed_engine(struct tls_conn *c, tls_entropy_fn entropy, void *ectx)
{
    uint8_t seed[32];
    if (!entropy || entropy(ectx, seed, sizeof seed) != 0)
        return TLS_ERR_NO_ENTROPY;
    br_ssl_engine_inject_entropy(c->eng, seed, sizeof seed);
    memset(seed, 0, sizeof seed);
    return TLS_OK;
}

static void common_init(struct tls_conn *c, const struct tls_raw_io *io,
                        const uint8_t (*allowed)[TLS_FP_SIZE], size_t n)
{
    c->io = *io;
    c->io_err = 0;
    c->handshake_done = false;
    tls_pin_init(&c->pin, allowed, n);
    configure_engine(c->eng);
    br_ssl_engine_set_x509(c->eng, &c->pin.vtable);
    br_ssl_engine_set_buffer(c->eng, c->iobuf, sizeof c->iobuf, 1);
}

int tls_conn_server_init(struct tls_conn *c, const struct tls_identity *id,
                         const uint8_t (*allowed)[TLS_FP_SIZE], size_t allowed_count,
                         const struct tls_raw_io *io, tls_entropy_fn entropy, void *ectx)
{
    br_ssl_server_context *sc = &c->u.server;
    br_ssl_server_zero(sc);
    c->eng = &sc->eng;
    common_init(c, io, allowed, allowed_count);
    br_ssl_server_set_single_ec(sc, &id->chain, 1, &id->key, BR_KEYTYPE_SIGN, BR_KEYTYPE_EC,
                                &br_ec_all_m31, &br_ecdsa_i31_sign_asn1);
    br_ssl_server_set_trust_anchor_names(sc, client_ca_names, 1);
    int rc = seed_engine(c, entropy, ectx);
    if (rc != TLS_OK)
        return rc;
    return br_ssl_server_reset(sc) ? TLS_OK : TLS_ERR_ENGINE;
}

int tls_conn_client_init(struct tls_conn *c, const struct tls_identity *id,
                         const uint8_t (*pinned)[TLS_FP_SIZE], size_t pinned_count,
                         const struct tls_raw_io *io, tls_entropy_fn entropy, void *ectx)
{
    br_ssl_client_context *cc = &c->u.client;
    br_ssl_client_zero(cc);
    c->eng = &cc->eng;
    common_init(c, io, pinned, pinned_count);
    br_ssl_client_set_single_ec(cc, &id->chain, 1, &id->key, BR_KEYTYPE_SIGN, BR_KEYTYPE_EC,
                                &br_ec_all_m31, &br_ecdsa_i31_sign_asn1);
    int rc = seed_engine(c, entropy, ectx);
    if (rc != TLS_OK)
        return rc;
    return br_ssl_client_reset(cc, NULL, 0) ? TLS_OK : TLS_ERR_ENGINE;
}

/* Moves one record chunk between engine and raw stream: output first, then input.
 * 1 progress, 0 would block / nothing to do, <0 the stream ended (c->io_err says how). */
static int step(struct tls_conn *c, bool allow_recv)
{
    unsigned st = br_ssl_engine_current_state(c->eng);
    size_t len;
    if (st & BR_SSL_CLOSED)
        return TLS_IO_ERROR;
    if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))
        c->handshake_done = true;
    if (c->io_err)
        return c->io_err;
    if (st & BR_SSL_SENDREC) {
        unsigned char *buf = br_ssl_engine_sendrec_buf(c->eng, &len);
        long n = c->io.send(c->io.ctx, buf, len);
        if (n < 0)
            return c->io_err = (int)n;
        if (n > 0)
            br_ssl_engine_sendrec_ack(c->eng, (size_t)n);
        return n > 0;
    }
    if (allow_recv && (st & BR_SSL_RECVREC)) {
        unsigned char *buf = br_ssl_engine_recvrec_buf(c->eng, &len);
        long n = c->io.recv(c->io.ctx, buf, len);
        if (n < 0)
            return c->io_err = (int)n;
        if (n > 0)
            br_ssl_engine_recvrec_ack(c->eng, (size_t)n);
        return n > 0;
    }
    return 0;
}

/* The value a read or write reports once the engine is closed or the stream is gone. */
static long ended(const struct tls_conn *c)
{
    int err = br_ssl_engine_last_error(c->eng);
    if ((br_ssl_engine_current_state(c->eng) & BR_SSL_CLOSED) && err == BR_ERR_OK)
        return TLS_IO_EOF;
    if (c->io_err && err == BR_ERR_OK)
        return c->io_err;
    return TLS_IO_ERROR;
}

/* Drives the engine until its state shows one of `want` (application data to read, room
 * to write): 1 then (the handshake is done), 0 when the stream would block, <0 TLS_IO_*. */
static long run_until_app(struct tls_conn *c, unsigned want)
{
    for (;;) {
        unsigned st = br_ssl_engine_current_state(c->eng);
        if (st & want) {
            c->handshake_done = true;
            return 1;
        }
        int r = (st & BR_SSL_CLOSED) ? -1 : step(c, true);
        if (r < 0)
            return ended(c);
        if (r == 0)
            return 0;
    }
}

long tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
    long r = run_until_app(c, BR_SSL_RECVAPP);
    if (r != 1)
        return r;
    size_t avail;
    unsigned char *p = br_ssl_engine_recvapp_buf(c->eng, &avail);
    size_t n = avail < len ? avail : len;
    memcpy(buf, p, n);
    br_ssl_engine_recvapp_ack(c->eng, n);
    return (long)n;
}

long tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
    long r = run_until_app(c, BR_SSL_SENDAPP);
    if (r != 1)
        return r;
    size_t room;
    unsigned char *p = br_ssl_engine_sendapp_buf(c->eng, &room);
    size_t n = room < len ? room : len;
    memcpy(p, buf, n);
    br_ssl_engine_sendapp_ack(c->eng, n);
    return (long)n;
}

int tls_conn_flush(struct tls_conn *c)
{
    br_ssl_engine_flush(c->eng, 0);
    for (;;) {
        unsigned st = br_ssl_engine_current_state(c->eng);
        if (st & BR_SSL_CLOSED)
            return (int)ended(c);
        if (!(st & BR_SSL_SENDREC))
            return 1;
        int r = step(c, false);
        if (r <= 0)
            return r < 0 ? (int)ended(c) : 0;
    }
}

int tls_conn_handshake(struct tls_conn *c)
{
    return (int)run_until_app(c, BR_SSL_SENDAPP | BR_SSL_RECVAPP);
}

void tls_conn_close(struct tls_conn *c)
{
    br_ssl_engine_close(c->eng);
    for (int i = 0; i < 16 && step(c, false) > 0; i++) {
    }
}

const uint8_t *tls_conn_peer_key(const struct tls_conn *c)
{
    return c->handshake_done && c->pin.trusted ? c->pin.fingerprint : NULL;
}

int tls_conn_engine_error(const struct tls_conn *c)
{
    return br_ssl_engine_last_error(c->eng);
}

const char *tls_conn_suite_name(const struct tls_conn *c)
{
    switch (c->eng->session.cipher_suite) {
    case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
        return "ECDHE-ECDSA-CHACHA20-POLY1305";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "ECDHE-ECDSA-AES128-GCM-SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "ECDHE-ECDSA-AES256-GCM-SHA384";
    default: return "none";
    }
}
