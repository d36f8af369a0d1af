#include "net/tls/tls_grant.h"

void tls_grant_sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    br_sha256_context sc;
    br_sha256_init(&sc);
    br_sha256_update(&sc, data, len);
    br_sha256_out(&sc, out);
}

static void fingerprint(void *ctx, const uint8_t key[GRANT_KEY_LEN], uint8_t fp[GRANT_FP_LEN])
{
    (void)ctx;
    tls_fingerprint_of_point(key, fp);
}

static bool verify(void *ctx, const uint8_t key[GRANT_KEY_LEN], const uint8_t hash[32],
                   const uint8_t sig[GRANT_SIG_LEN])
{
    (void)ctx;
    br_ec_public_key pk = { BR_EC_secp256r1, (unsigned char *)key, GRANT_KEY_LEN };
    return br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, 32, &pk, sig, GRANT_SIG_LEN) == 1;
}

static bool sign(void *ctx, const uint8_t hash[32], uint8_t sig[GRANT_SIG_LEN])
{
    const struct tls_identity *id = ctx;
    return br_ecdsa_i31_sign_raw(&br_ec_p256_m31, &br_sha256_vtable, hash, &id->key, sig) ==
           GRANT_SIG_LEN;
}

const struct grant_crypto tls_grant_verifier = { NULL, tls_grant_sha256, fingerprint, verify,
                                                 NULL };

struct grant_crypto tls_grant_signer(const struct tls_identity *id)
{
    struct grant_crypto c = tls_grant_verifier;
    c.ctx = (void *)id;   /* sign reads it only */
    c.sign = sign;
    return c;
}
