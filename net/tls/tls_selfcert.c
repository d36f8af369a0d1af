/* A minimal self-signed X.509 v3 certificate (DER): enough for a TLS Certificate message. */
#include "net/tls/tls_selfcert.h"
#include <string.h>

const uint8_t tls_spki_p256_prefix[TLS_SPKI_P256_PREFIX_LEN] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

static const uint8_t version_v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
static const uint8_t ecdsa_sha256[] = {
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const uint8_t oid_cn[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
static const char not_before[] = "000101000000Z";   /* UTCTime, 2000-01-01 */
static const char not_after[] = "99991231235959Z";  /* GeneralizedTime: no expiry (RFC 5280) */

#define DER_FAIL ((size_t)-1)

/* A growing DER buffer; any overflow sticks. */
struct der {
    uint8_t *p;
    size_t cap, len;
};

static void der_raw(struct der *d, const void *src, size_t n)
{
    if (d->len == DER_FAIL || n > d->cap - d->len) {
        d->len = DER_FAIL;
        return;
    }
    memcpy(d->p + d->len, src, n);
    d->len += n;
}

static void der_head(struct der *d, uint8_t tag, size_t n)
{
    uint8_t h[4] = { tag };
    size_t hl;
    if (n < 0x80) {
        h[1] = (uint8_t)n, hl = 2;
    } else if (n < 0x100) {
        h[1] = 0x81, h[2] = (uint8_t)n, hl = 3;
    } else {
        h[1] = 0x82, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n, hl = 4;
    }
    der_raw(d, h, hl);
}

static void der_tlv(struct der *d, uint8_t tag, const void *v, size_t n)
{
    der_head(d, tag, n);
    der_raw(d, v, n);
}

static void der_name(struct der *d, const char *cn)
{
    size_t n = strlen(cn);
    size_t atv = sizeof oid_cn + 2 + n;   /* cn <= 64, so short-form lengths throughout */
    der_head(d, 0x30, atv + 4);
    der_head(d, 0x31, atv + 2);
    der_head(d, 0x30, atv);
    der_raw(d, oid_cn, sizeof oid_cn);
    der_tlv(d, 0x0c, cn, n);
}

static void der_serial(struct der *d, const uint8_t pub[65])
{
    uint8_t h[32], serial[8];
    br_sha256_context sc;
    br_sha256_init(&sc);
    br_sha256_update(&sc, pub, 65);
    br_sha256_out(&sc, h);
    memcpy(serial, h, sizeof serial);
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);   /* positive, minimal */
    der_tlv(d, 0x02, serial, sizeof serial);
}

static size_t build_tbs(uint8_t *out, size_t cap, const char *cn, const uint8_t pub[65])
{
    uint8_t body[400];
    struct der b = { body, sizeof body, 0 };
    der_raw(&b, version_v3, sizeof version_v3);
    der_serial(&b, pub);
    der_raw(&b, ecdsa_sha256, sizeof ecdsa_sha256);
    der_name(&b, cn);
    der_head(&b, 0x30, 2 + 13 + 2 + 15);
    der_tlv(&b, 0x17, not_before, 13);
    der_tlv(&b, 0x18, not_after, 15);
    der_name(&b, cn);
    der_raw(&b, tls_spki_p256_prefix, sizeof tls_spki_p256_prefix);
    der_raw(&b, pub, 65);
    if (b.len == DER_FAIL)
        return 0;
    struct der t = { out, cap, 0 };
    der_tlv(&t, 0x30, body, b.len);
    return t.len == DER_FAIL ? 0 : t.len;
}

size_t tls_selfcert_build(uint8_t *out, size_t cap, const char *cn,
                          const br_ec_private_key *key, const uint8_t pub[65])
{
    uint8_t tbs[420], hash[32], sig[1 + 80];
    if (strlen(cn) > 64)
        return 0;
    size_t tbs_len = build_tbs(tbs, sizeof tbs, cn, pub);
    if (!tbs_len)
        return 0;
    br_sha256_context sc;
    br_sha256_init(&sc);
    br_sha256_update(&sc, tbs, tbs_len);
    br_sha256_out(&sc, hash);
    sig[0] = 0;   /* BIT STRING: no unused bits */
    size_t sig_len = br_ecdsa_i31_sign_asn1(&br_ec_p256_m31, &br_sha256_vtable, hash, key, sig + 1);
    if (!sig_len)
        return 0;
    size_t body_len = tbs_len + sizeof ecdsa_sha256 + 2 + 1 + sig_len;
    struct der d = { out, cap, 0 };
    der_head(&d, 0x30, body_len);
    der_raw(&d, tbs, tbs_len);
    der_raw(&d, ecdsa_sha256, sizeof ecdsa_sha256);
    der_tlv(&d, 0x03, sig, 1 + sig_len);
    return d.len == DER_FAIL ? 0 : d.len;
}
