/* A minimal self-signed X.509 v3 certificate (DER) carrying a P-256 key.  Portable. */
#ifndef ATOLL_NET_TLS_TLS_SELFCERT_H
#define ATOLL_NET_TLS_TLS_SELFCERT_H
#include <stddef.h>
#include <stdint.h>
#include "bearssl.h"

/* The DER SubjectPublicKeyInfo of a P-256 point: this prefix then the 65-byte point. */
#define TLS_SPKI_P256_PREFIX_LEN 26
extern const uint8_t tls_spki_p256_prefix[TLS_SPKI_P256_PREFIX_LEN];

/* Builds the certificate for `pub` signed by `key`, subject CN=`cn` (at most 64 bytes).
 * Returns the DER length, or 0 when it does not fit in cap. */
size_t tls_selfcert_build(uint8_t *out, size_t cap, const char *cn,
                          const br_ec_private_key *key, const uint8_t pub[65]);

#endif
