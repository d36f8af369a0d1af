/* The pinning X.509 engine: trust is a fingerprint on an allow list, nothing else. */
#include "net/tls/tls_pin.h"
#include <string.h>

static void pin_start_chain(const br_x509_class **ctx, const char *server_name)
{
    struct tls_pin *pin = (struct tls_pin *)ctx;
    pin->cert_index = 0;
    pin->err = BR_ERR_X509_EMPTY_CHAIN;
    pin->seen = pin->trusted = false;
}

static void pin_start_cert(const br_x509_class **ctx, uint32_t length)
{
    struct tls_pin *pin = (struct tls_pin *)ctx;
    if (pin->cert_index == 0)
        br_x509_decoder_init(&pin->decoder, NULL, NULL);
}

static void pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    struct tls_pin *pin = (struct tls_pin *)ctx;
    if (pin->cert_index == 0)
        br_x509_decoder_push(&pin->decoder, buf, len);
}

/* Only the end-entity certificate matters; the rest of a chain is ignored. */
static void pin_end_cert(const br_x509_class **ctx)
{
    struct tls_pin *pin = (struct tls_pin *)ctx;
    if (pin->cert_index++ != 0)
        return;
    int derr = br_x509_decoder_last_error(&pin->decoder);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&pin->decoder);
    if (derr != 0 || !pk) {
        pin->err = derr ? derr : BR_ERR_X509_INVALID_VALUE;
        return;
    }
    if (pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
        pk->key.ec.qlen != sizeof pin->point || pk->key.ec.q[0] != 0x04) {
        pin->err = BR_ERR_X509_WRONG_KEY_TYPE;
        return;
    }
    memcpy(pin->point, pk->key.ec.q, sizeof pin->point);
    tls_fingerprint_of_point(pin->point, pin->fingerprint);
    pin->seen = true;
    pin->err = BR_ERR_X509_NOT_TRUSTED;
    pin->trusted = pin->any;
    for (size_t i = 0; i < pin->allowed_count; i++)
        if (memcmp(pin->allowed[i], pin->fingerprint, TLS_FP_SIZE) == 0)
            pin->trusted = true;
    if (pin->trusted)
        pin->err = 0;
}

static unsigned pin_end_chain(const br_x509_class **ctx)
{
    struct tls_pin *pin = (struct tls_pin *)ctx;
    return (unsigned)pin->err;
}

static const br_x509_pkey *pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    struct tls_pin *pin = (struct tls_pin *)(void *)ctx;
    if (!pin->trusted)
        return NULL;
    pin->pkey.key_type = BR_KEYTYPE_EC;
    pin->pkey.key.ec.curve = BR_EC_secp256r1;
    pin->pkey.key.ec.q = pin->point;
    pin->pkey.key.ec.qlen = sizeof pin->point;
    if (usages)
        *usages = BR_KEYTYPE_SIGN;
    return &pin->pkey;
}

static const br_x509_class pin_vtable = {
    sizeof(struct tls_pin),
    pin_start_chain, pin_start_cert, pin_append, pin_end_cert, pin_end_chain, pin_get_pkey,
};

void tls_pin_init(struct tls_pin *pin, const uint8_t (*allowed)[TLS_FP_SIZE], size_t count)
{
    memset(pin, 0, sizeof *pin);
    pin->vtable = &pin_vtable;
    pin->allowed = allowed;
    pin->allowed_count = count;
}
