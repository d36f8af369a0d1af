/*
 * An X.509 "engine" for BearSSL that trusts no CA: it takes the peer's end-entity
 * certificate, extracts its P-256 key and accepts the peer only if the key's fingerprint
 * is on an allow list.  The signature in the TLS handshake then proves the peer holds the
 * key.  With an empty list nobody is accepted, but the fingerprint seen is still recorded
 * (so a client can say which key a server presented).
 */
#ifndef ATOLL_NET_TLS_TLS_PIN_H
#define ATOLL_NET_TLS_TLS_PIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bearssl.h"
#include "net/tls/tls_identity.h"

struct tls_pin {
    const br_x509_class *vtable;     /* first: BearSSL calls through it */
    const uint8_t (*allowed)[TLS_FP_SIZE];
    size_t allowed_count;
    br_x509_decoder_context decoder;
    unsigned cert_index;
    int err;
    bool seen;                       /* a P-256 key was presented: `fingerprint` is valid */
    bool trusted;                    /* ... and it is on the allow list (or any is set) */
    bool any;                        /* accept every P-256 key: the caller judges the
                                        fingerprint itself (net/kernel/offload_link.c) */
    uint8_t point[65];
    uint8_t fingerprint[TLS_FP_SIZE];
    br_x509_pkey pkey;
};

void tls_pin_init(struct tls_pin *pin, const uint8_t (*allowed)[TLS_FP_SIZE], size_t count);

#endif
