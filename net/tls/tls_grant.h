/*
 * The offload grant's crypto (hv/offload/grant.h) by BearSSL: SHA-256, a key's fingerprint
 * as TLS pins name it, ECDSA P-256 verification, and signing with a tls_identity's key.
 */
#ifndef ATOLL_NET_TLS_TLS_GRANT_H
#define ATOLL_NET_TLS_TLS_GRANT_H
#include "hv/offload/grant.h"
#include "net/tls/tls_identity.h"

/* A provider's checks: no signing. */
extern const struct grant_crypto tls_grant_verifier;

/* An initiator's: the verifier's calls and signing with id's key. */
struct grant_crypto tls_grant_signer(const struct tls_identity *id);

void tls_grant_sha256(void *ctx, const void *data, size_t len, uint8_t out[32]);

#endif
