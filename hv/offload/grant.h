/*
 * Offload grants: how an initiator introduces two providers that have never met (issue 15,
 * item 5).  The initiator (atollctl), whose key both providers have pinned, holds a token
 * from provider A and signs a grant naming A's and B's keys (fingerprints), the token, a
 * fresh nonce and an expiry on A's clock; it gives the grant to B, and B presents it to A
 * over a TLS session in which B authenticates with its own key.  A accepts the grant only
 * when: it is for A, signed (ECDSA P-256) by an initiator A trusts, names the key B
 * authenticated with, is within its lifetime and was not seen before.  A then checks the
 * token inside as any token of its own (hv/offload/token.h).
 *
 * This module is the format and those checks; the TLS session and the transfer are the
 * offload link (net/kernel/offload_link.h).  Portable: hashing, fingerprints and ECDSA come through struct grant_crypto.
 * Layout: hv/offload/TOKEN.md.
 */
#ifndef ATOLL_HV_OFFLOAD_GRANT_H
#define ATOLL_HV_OFFLOAD_GRANT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/offload/token.h"

#define GRANT_SIZE        768u
#define GRANT_VERSION     1u
#define GRANT_KEY_LEN     65u  /* uncompressed P-256 point: 04 || X || Y */
#define GRANT_FP_LEN      32u  /* SHA-256 of a SubjectPublicKeyInfo */
#define GRANT_NONCE_LEN   16u
#define GRANT_SIG_LEN     64u  /* raw ECDSA r || s */
#define GRANT_SIGNED_LEN  684u /* the signature covers bytes [0, this) */
#define GRANT_REPLAY_MAX  64u  /* grants remembered until they expire */

struct grant {
    uint8_t initiator[GRANT_KEY_LEN];
    uint8_t source[GRANT_FP_LEN];      /* provider A: issued the token, serves the data */
    uint8_t destination[GRANT_FP_LEN]; /* provider B: presents the grant, receives the data */
    uint8_t nonce[GRANT_NONCE_LEN];
    uint64_t expiry_ms;                /* on A's clock (atollctl reads it from A's status) */
    uint8_t token[TOKEN_SIZE];
};

struct grant_crypto {
    void *ctx;
    void (*sha256)(void *ctx, const void *data, size_t len, uint8_t out[32]);
    /* The fingerprint of a public key (what control-clients and --server-key name). */
    void (*fingerprint)(void *ctx, const uint8_t key[GRANT_KEY_LEN], uint8_t fp[GRANT_FP_LEN]);
    bool (*verify)(void *ctx, const uint8_t key[GRANT_KEY_LEN], const uint8_t hash[32],
                   const uint8_t sig[GRANT_SIG_LEN]);
    /* The initiator's side: signs with its private key; NULL on a provider. */
    bool (*sign)(void *ctx, const uint8_t hash[32], uint8_t sig[GRANT_SIG_LEN]);
};

enum grant_status {
    GRANT_OK = 0,
    GRANT_E_FORMAT = -1,      /* not a grant: length, magic, version, reserved bytes */
    GRANT_E_SOURCE = -2,      /* for another source provider */
    GRANT_E_UNTRUSTED = -3,   /* signed by an initiator this host does not trust */
    GRANT_E_SIGNATURE = -4,   /* forged or damaged */
    GRANT_E_DESTINATION = -5, /* names another host than the one presenting it */
    GRANT_E_EXPIRED = -6,
    GRANT_E_REPLAYED = -7,    /* seen before */
    GRANT_E_BUSY = -8,        /* the replay memory is full of live grants */
    GRANT_E_SIGN = -9,        /* encode: signing failed */
};

/* Provider A's state for checking grants. */
struct grant_checker {
    uint8_t self[GRANT_FP_LEN];
    const struct grant_crypto *crypto;
    bool (*trusted)(void *ctx, const uint8_t fp[GRANT_FP_LEN]); /* an initiator A allows */
    void *trusted_ctx;
    struct { bool used; uint8_t nonce[GRANT_NONCE_LEN]; uint64_t expiry_ms; } seen[GRANT_REPLAY_MAX];
};

/* Serialises g and signs it with crypto->sign. */
int grant_encode(const struct grant *g, const struct grant_crypto *crypto, uint8_t out[GRANT_SIZE]);
/*
 * Checks buf (len bytes, from the peer that authenticated as `peer`) at now_ms in this
 * order: format, source, initiator trusted, signature, destination, expiry, replay; fills
 * *out and remembers the nonce only when all pass.
 */
int grant_check(struct grant_checker *k, const uint8_t *buf, size_t len,
                const uint8_t peer[GRANT_FP_LEN], uint64_t now_ms, struct grant *out);
/* One line per status ("grant replayed", ...). */
const char *grant_status_text(int status);

#endif
