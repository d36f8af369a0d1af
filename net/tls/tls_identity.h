/*
 * A host's (or a client's) TLS identity: an ECDSA P-256 key, its self-signed certificate
 * and its fingerprint.  Peers never trust the certificate itself, only the pinned
 * fingerprint: SHA-256 of the DER SubjectPublicKeyInfo, the same value that
 * `openssl pkey -pubout -outform der | sha256sum` prints.  Portable (BearSSL only).
 *
 * A tls_identity holds pointers into itself: initialise it in place, never copy it.
 */
#ifndef ATOLL_NET_TLS_TLS_IDENTITY_H
#define ATOLL_NET_TLS_TLS_IDENTITY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bearssl.h"

#define TLS_FP_SIZE      32
#define TLS_FP_HEX_SIZE  65   /* 64 hex digits and a NUL */
#define TLS_CERT_MAX     512
#define TLS_KEY_PEM_MAX  512

enum tls_error {
    TLS_OK = 0,
    TLS_ERR_NO_ENTROPY = -1,  /* the entropy source failed or is absent */
    TLS_ERR_BAD_KEY = -2,     /* not a readable private key */
    TLS_ERR_NOT_P256 = -3,    /* a key, but not ECDSA P-256 */
    TLS_ERR_CERT = -4,        /* could not build the certificate */
    TLS_ERR_SPACE = -5,       /* output buffer too small */
    TLS_ERR_ENGINE = -6,      /* TLS engine setup failed */
};

/* Fills buf with len bytes of hardware-grade entropy; 0 on success, nonzero if none. */
typedef int (*tls_entropy_fn)(void *ctx, void *buf, size_t len);

struct tls_identity {
    uint8_t secret[32];
    uint8_t public[65];            /* uncompressed point 04 || X || Y */
    br_ec_private_key key;
    br_ec_public_key pubkey;
    uint8_t fingerprint[TLS_FP_SIZE];
    uint8_t cert[TLS_CERT_MAX];
    size_t cert_len;
    br_x509_certificate chain;     /* one self-signed certificate */
};

int tls_identity_generate(struct tls_identity *id, tls_entropy_fn entropy, void *ctx);
/* Loads a P-256 private key: PEM ("EC PRIVATE KEY" or "PRIVATE KEY") or raw DER. */
int tls_identity_load(struct tls_identity *id, const void *data, size_t len);
/* Writes the key as PEM "EC PRIVATE KEY" (NUL-terminated); returns its length or 0. */
size_t tls_identity_to_pem(const struct tls_identity *id, char *out, size_t cap);
/* Writes the certificate as PEM "CERTIFICATE"; returns its length or 0. */
size_t tls_identity_cert_pem(const struct tls_identity *id, char *out, size_t cap);
void tls_identity_wipe(struct tls_identity *id);

/* SHA-256 of the SubjectPublicKeyInfo of a P-256 point (65 bytes, uncompressed). */
void tls_fingerprint_of_point(const uint8_t point[65], uint8_t fp[TLS_FP_SIZE]);
void tls_fingerprint_hex(const uint8_t fp[TLS_FP_SIZE], char out[TLS_FP_HEX_SIZE]);
/* Accepts 64 hex digits, optionally with ':' separators and a "sha256:" prefix.  0 or -1. */
int tls_fingerprint_parse(const char *s, uint8_t fp[TLS_FP_SIZE]);

const char *tls_error_text(int err);

#endif
