/* ECDSA P-256 identities: generation from an entropy source, loading, PEM, fingerprints. */
#include "net/tls/tls_identity.h"
#include <string.h>
#include "hv/lib/hex.h"
#include "net/tls/tls_selfcert.h"

#define SEED_BYTES 48
#define DER_MAX    256

void tls_fingerprint_of_point(const uint8_t point[65], uint8_t fp[TLS_FP_SIZE])
{
    br_sha256_context sc;
    br_sha256_init(&sc);
    br_sha256_update(&sc, tls_spki_p256_prefix, TLS_SPKI_P256_PREFIX_LEN);
    br_sha256_update(&sc, point, 65);
    br_sha256_out(&sc, fp);
}

void tls_fingerprint_hex(const uint8_t fp[TLS_FP_SIZE], char out[TLS_FP_HEX_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < TLS_FP_SIZE; i++) {
        out[2 * i] = hex[fp[i] >> 4];
        out[2 * i + 1] = hex[fp[i] & 15];
    }
    out[2 * TLS_FP_SIZE] = '\0';
}

int tls_fingerprint_parse(const char *s, uint8_t fp[TLS_FP_SIZE])
{
    int n = 0, hi = -1;
    if (strncmp(s, "sha256:", 7) == 0 || strncmp(s, "SHA256:", 7) == 0)
        s += 7;
    for (; *s; s++) {
        if (*s == ':')
            continue;
        int d = hex_digit_value(*s);
        if (d < 0 || n == TLS_FP_SIZE)
            return -1;
        if (hi < 0) {
            hi = d;
        } else {
            fp[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    return n == TLS_FP_SIZE && hi < 0 ? 0 : -1;
}

/* With the secret in place: derive the public key, fingerprint and certificate. */
static int finish(struct tls_identity *id)
{
    char cn[32], hex[TLS_FP_HEX_SIZE];
    id->key.curve = BR_EC_secp256r1;
    id->key.x = id->secret;
    id->key.xlen = sizeof id->secret;
    if (br_ec_compute_pub(&br_ec_p256_m31, &id->pubkey, id->public, &id->key) != 65)
        return TLS_ERR_BAD_KEY;
    tls_fingerprint_of_point(id->public, id->fingerprint);
    tls_fingerprint_hex(id->fingerprint, hex);
    memcpy(cn, "atoll-", 6);
    memcpy(cn + 6, hex, 16);
    cn[22] = '\0';
    id->cert_len = tls_selfcert_build(id->cert, sizeof id->cert, cn, &id->key, id->public);
    if (!id->cert_len)
        return TLS_ERR_CERT;
    id->chain.data = id->cert;
    id->chain.data_len = id->cert_len;
    return TLS_OK;
}

static bool seed_plausible(const uint8_t *seed, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (seed[i] != seed[0])
            return true;
    return false;   /* a stuck source (all bytes equal) is no source */
}

int tls_identity_generate(struct tls_identity *id, tls_entropy_fn entropy, void *ctx)
{
    uint8_t seed[SEED_BYTES];
    br_hmac_drbg_context drbg;
    memset(id, 0, sizeof *id);
    if (!entropy || entropy(ctx, seed, sizeof seed) != 0 || !seed_plausible(seed, sizeof seed))
        return TLS_ERR_NO_ENTROPY;
    br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof seed);
    memset(seed, 0, sizeof seed);
    br_ec_private_key sk;
    uint8_t kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
    size_t n = br_ec_keygen(&drbg.vtable, &br_ec_p256_m31, &sk, kbuf, BR_EC_secp256r1);
    memset(&drbg, 0, sizeof drbg);
    if (n != sizeof id->secret)
        return TLS_ERR_BAD_KEY;
    memcpy(id->secret, kbuf, n);
    memset(kbuf, 0, sizeof kbuf);
    return finish(id);
}

static int load_der(struct tls_identity *id, const void *der, size_t len)
{
    br_skey_decoder_context dc;
    br_skey_decoder_init(&dc);
    br_skey_decoder_push(&dc, der, len);
    if (br_skey_decoder_last_error(&dc) != 0)
        return TLS_ERR_BAD_KEY;
    if (br_skey_decoder_key_type(&dc) != BR_KEYTYPE_EC)
        return TLS_ERR_NOT_P256;
    const br_ec_private_key *ek = br_skey_decoder_get_ec(&dc);
    if (ek->curve != BR_EC_secp256r1 || ek->xlen == 0 || ek->xlen > sizeof id->secret)
        return TLS_ERR_NOT_P256;
    memset(id->secret, 0, sizeof id->secret);
    memcpy(id->secret + sizeof id->secret - ek->xlen, ek->x, ek->xlen);
    memset(&dc, 0, sizeof dc);
    return finish(id);
}

struct der_sink {
    uint8_t buf[DER_MAX];
    size_t len;
    bool overflow;
};

static void der_append(void *ctx, const void *data, size_t len)
{
    struct der_sink *s = ctx;
    if (len > sizeof s->buf - s->len) {
        s->overflow = true;
        return;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
}

static bool is_key_banner(const char *name)
{
    return strcmp(name, "EC PRIVATE KEY") == 0 || strcmp(name, "PRIVATE KEY") == 0;
}

/* Extracts the first private-key object of a PEM text into s; false if there is none. */
static bool pem_to_der(const uint8_t *p, size_t len, struct der_sink *s)
{
    br_pem_decoder_context pc;
    bool in_key = false;
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t used = br_pem_decoder_push(&pc, p, len);
        p += used, len -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            in_key = is_key_banner(br_pem_decoder_name(&pc));
            s->len = 0;
            br_pem_decoder_setdest(&pc, in_key ? der_append : NULL, s);
            break;
        case BR_PEM_END_OBJ:
            if (in_key)
                return !s->overflow;
            break;
        case BR_PEM_ERROR:
            return false;
        default:
            break;
        }
    }
    return false;
}

int tls_identity_load(struct tls_identity *id, const void *data, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    memset(id, 0, sizeof *id);
    const uint8_t *p = data;
    bool pem = false;
    for (size_t i = 0; i + sizeof begin - 1 <= len && !pem; i++)
        pem = memcmp(p + i, begin, sizeof begin - 1) == 0;
    if (!pem)
        return load_der(id, data, len);
    struct der_sink s = { .len = 0 };
    int rc = pem_to_der(p, len, &s) ? load_der(id, s.buf, s.len) : TLS_ERR_BAD_KEY;
    memset(&s, 0, sizeof s);
    return rc;
}

static size_t pem_out(const void *der, size_t n, const char *banner, char *out, size_t cap)
{
    if (!n || br_pem_encode(NULL, der, n, banner, BR_PEM_LINE64) + 1 > cap)
        return 0;
    return br_pem_encode(out, der, n, banner, BR_PEM_LINE64);
}

size_t tls_identity_to_pem(const struct tls_identity *id, char *out, size_t cap)
{
    uint8_t der[DER_MAX];
    size_t n = br_encode_ec_raw_der(NULL, &id->key, &id->pubkey);
    if (n > sizeof der)
        return 0;
    n = br_encode_ec_raw_der(der, &id->key, &id->pubkey);
    size_t r = pem_out(der, n, "EC PRIVATE KEY", out, cap);
    memset(der, 0, sizeof der);
    return r;
}

size_t tls_identity_cert_pem(const struct tls_identity *id, char *out, size_t cap)
{
    return pem_out(id->cert, id->cert_len, "CERTIFICATE", out, cap);
}

void tls_identity_wipe(struct tls_identity *id)
{
    volatile uint8_t *p = (volatile uint8_t *)id;
    for (size_t i = 0; i < sizeof *id; i++)
        p[i] = 0;
}

const char *tls_error_text(int err)
{
    switch (err) {
    case TLS_OK: return "ok";
    case TLS_ERR_NO_ENTROPY:
        return "no hardware entropy source (RDSEED/RDRAND): cannot generate a key; supply one";
    case TLS_ERR_BAD_KEY: return "not a readable private key (PEM or DER)";
    case TLS_ERR_NOT_P256: return "the key is not an ECDSA P-256 key";
    case TLS_ERR_CERT: return "could not build the self-signed certificate";
    case TLS_ERR_SPACE: return "output buffer too small";
    case TLS_ERR_ENGINE: return "TLS engine setup failed";
    default: return "unknown TLS error";
    }
}
