/*
 * Offload tokens: the fixed 512-byte, authenticated stand-in for a set of byte ranges of
 * pool files or virtual disks, as they were when an offload read issued it.  Whoever holds a
 * token can have the data written somewhere (offload write) without reading it.  This module
 * only encodes, decodes and checks tokens; the provider (hv/offload/offload.h) decides what
 * they mean and whether the data under one is still as it was.  Portable: the authenticator
 * (HMAC-SHA256 under the issuer's secret) is computed by the caller's mac function, so the
 * secret never passes through here.  Format and the reasons for it: hv/offload/TOKEN.md.
 */
#ifndef ATOLL_HV_OFFLOAD_TOKEN_H
#define ATOLL_HV_OFFLOAD_TOKEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/guid.h"

#define TOKEN_SIZE       512u
#define TOKEN_VERSION    1u
#define TOKEN_RANGES_MAX 8u   /* ranges one token holds */
#define TOKEN_ID_LEN     16u
#define TOKEN_ISSUER_LEN 32u  /* SHA-256 of the issuer's public key (SubjectPublicKeyInfo) */
#define TOKEN_MAC_LEN    32u
#define TOKEN_MAC_OFFSET (TOKEN_SIZE - TOKEN_MAC_LEN) /* the MAC covers bytes [0, this) */

enum token_range_kind {
    TOKEN_RANGE_FILE = 1, /* bytes of a pool file */
    TOKEN_RANGE_DISK = 2, /* bytes of a virtual disk's (VHDX) guest-visible contents */
};

struct token_range {
    uint8_t kind;             /* enum token_range_kind */
    uint32_t object;          /* the issuer's number for the file or disk */
    uint64_t offset, length;  /* length > 0; offset + length does not overflow */
    uint64_t generation;      /* the issuer's write generation of the object at issue */
    struct guid data_write_guid; /* a disk's DataWriteGuid at issue; zero for a file */
};

struct token {
    uint8_t issuer[TOKEN_ISSUER_LEN];
    uint8_t id[TOKEN_ID_LEN];
    uint64_t expiry_ms;       /* on the issuer's clock: only the issuer interprets it */
    uint64_t total;           /* sum of the ranges' lengths */
    uint32_t count;           /* ranges used, 1..TOKEN_RANGES_MAX */
    struct token_range range[TOKEN_RANGES_MAX];
};

enum token_status {
    TOKEN_OK = 0,
    TOKEN_E_TRUNCATED = -1, /* not exactly TOKEN_SIZE bytes */
    TOKEN_E_MAGIC = -2,     /* not a token */
    TOKEN_E_VERSION = -3,   /* a version this code does not know */
    TOKEN_E_ISSUER = -4,    /* issued by another provider */
    TOKEN_E_MAC = -5,       /* forged or damaged */
    TOKEN_E_RANGES = -6,    /* no ranges, too many, a bad kind, an overflow, a wrong total */
    TOKEN_E_EXPIRED = -7,
    TOKEN_E_INVALID = -8,   /* encode: the token given breaks these rules */
};

/* HMAC-SHA256 of data under the issuer's secret. */
typedef void (*token_mac_fn)(void *ctx, const void *data, size_t len,
                             uint8_t out[TOKEN_MAC_LEN]);

/* Serialises t and appends its MAC; TOKEN_E_INVALID when t has bad ranges or total. */
int token_encode(const struct token *t, token_mac_fn mac, void *mac_ctx,
                 uint8_t out[TOKEN_SIZE]);
/*
 * Checks buf (len bytes, from anyone) as a token issued by `issuer` and still valid at
 * now_ms, in this order: size, magic, version, issuer, MAC, ranges, expiry; fills *out only
 * when it returns TOKEN_OK.
 */
int token_decode(const uint8_t *buf, size_t len, const uint8_t issuer[TOKEN_ISSUER_LEN],
                 token_mac_fn mac, void *mac_ctx, uint64_t now_ms, struct token *out);
/* One line saying what the status means ("token expired", ...). */
const char *token_status_text(int status);

#endif
