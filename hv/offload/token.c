/* Offload tokens: encoding, decoding and checks (layout in hv/offload/TOKEN.md). */
#include "hv/offload/token.h"

#include <string.h>
#include "hv/lib/be.h"

static const uint8_t token_magic[8] = { 'A', 'T', 'O', 'L', 'L', 'T', 'O', 'K' };

#define OFF_MAGIC    0
#define OFF_VERSION  8
#define OFF_COUNT    10
#define OFF_FLAGS    12
#define OFF_ISSUER   16
#define OFF_ID       48
#define OFF_EXPIRY   64
#define OFF_TOTAL    72
#define OFF_RANGES   80
#define RANGE_SIZE   48
#define OFF_RESERVED (OFF_RANGES + TOKEN_RANGES_MAX * RANGE_SIZE) /* 464 .. 480: zero */

_Static_assert(OFF_RESERVED <= TOKEN_MAC_OFFSET, "token ranges overlap the MAC");


static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static bool same_mac(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0; /* constant time: the MAC is a secret's output */
    for (size_t i = 0; i < TOKEN_MAC_LEN; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

static bool ranges_valid(const struct token *t)
{
    if (t->count == 0 || t->count > TOKEN_RANGES_MAX)
        return false;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const struct token_range *r = &t->range[i];
        if (r->kind != TOKEN_RANGE_FILE && r->kind != TOKEN_RANGE_DISK)
            return false;
        if (r->length == 0 || r->offset + r->length < r->offset)
            return false;
        if (sum + r->length < sum)
            return false;
        sum += r->length;
    }
    return sum == t->total;
}

int token_encode(const struct token *t, token_mac_fn mac, void *mac_ctx,
                 uint8_t out[TOKEN_SIZE])
{
    if (!ranges_valid(t))
        return TOKEN_E_INVALID;
    memset(out, 0, TOKEN_SIZE);
    memcpy(out + OFF_MAGIC, token_magic, sizeof(token_magic));
    put_be16(out + OFF_VERSION, TOKEN_VERSION);
    put_be16(out + OFF_COUNT, (uint16_t)t->count);
    memcpy(out + OFF_ISSUER, t->issuer, TOKEN_ISSUER_LEN);
    memcpy(out + OFF_ID, t->id, TOKEN_ID_LEN);
    put_be64(out + OFF_EXPIRY, t->expiry_ms);
    put_be64(out + OFF_TOTAL, t->total);
    for (uint32_t i = 0; i < t->count; i++) {
        const struct token_range *r = &t->range[i];
        uint8_t *p = out + OFF_RANGES + i * RANGE_SIZE;
        p[0] = r->kind;
        put_be32(p + 4, r->object);
        put_be64(p + 8, r->offset);
        put_be64(p + 16, r->length);
        put_be64(p + 24, r->generation);
        memcpy(p + 32, r->data_write_guid.b, sizeof(r->data_write_guid.b));
    }
    mac(mac_ctx, out, TOKEN_MAC_OFFSET, out + TOKEN_MAC_OFFSET);
    return TOKEN_OK;
}

/* Fills t from an authenticated buffer; false when a field breaks the rules. */
static bool parse(const uint8_t *buf, struct token *t)
{
    memset(t, 0, sizeof(*t));
    if (be32(buf + OFF_FLAGS) != 0 || !all_zero(buf + OFF_RESERVED, TOKEN_MAC_OFFSET - OFF_RESERVED))
        return false;
    t->count = be16(buf + OFF_COUNT);
    if (t->count == 0 || t->count > TOKEN_RANGES_MAX)
        return false;
    memcpy(t->issuer, buf + OFF_ISSUER, TOKEN_ISSUER_LEN);
    memcpy(t->id, buf + OFF_ID, TOKEN_ID_LEN);
    t->expiry_ms = be64(buf + OFF_EXPIRY);
    t->total = be64(buf + OFF_TOTAL);
    for (uint32_t i = 0; i < TOKEN_RANGES_MAX; i++) {
        const uint8_t *p = buf + OFF_RANGES + i * RANGE_SIZE;
        if (i >= t->count) {
            if (!all_zero(p, RANGE_SIZE))
                return false;
            continue;
        }
        if (p[1] | p[2] | p[3])
            return false;
        struct token_range *r = &t->range[i];
        r->kind = p[0];
        r->object = be32(p + 4);
        r->offset = be64(p + 8);
        r->length = be64(p + 16);
        r->generation = be64(p + 24);
        memcpy(r->data_write_guid.b, p + 32, sizeof(r->data_write_guid.b));
    }
    return ranges_valid(t);
}

int token_decode(const uint8_t *buf, size_t len, const uint8_t issuer[TOKEN_ISSUER_LEN],
                 token_mac_fn mac, void *mac_ctx, uint64_t now_ms, struct token *out)
{
    if (len != TOKEN_SIZE)
        return TOKEN_E_TRUNCATED;
    if (memcmp(buf + OFF_MAGIC, token_magic, sizeof(token_magic)) != 0)
        return TOKEN_E_MAGIC;
    if (be16(buf + OFF_VERSION) != TOKEN_VERSION)
        return TOKEN_E_VERSION;
    if (memcmp(buf + OFF_ISSUER, issuer, TOKEN_ISSUER_LEN) != 0)
        return TOKEN_E_ISSUER;
    uint8_t want[TOKEN_MAC_LEN];
    mac(mac_ctx, buf, TOKEN_MAC_OFFSET, want);
    if (!same_mac(want, buf + TOKEN_MAC_OFFSET))
        return TOKEN_E_MAC;
    struct token t;
    if (!parse(buf, &t))
        return TOKEN_E_RANGES;
    if (now_ms >= t.expiry_ms)
        return TOKEN_E_EXPIRED;
    *out = t;
    return TOKEN_OK;
}

const char *token_status_text(int status)
{
    switch (status) {
    case TOKEN_OK:          return "token valid";
    case TOKEN_E_TRUNCATED: return "not a token: wrong length (512 bytes expected)";
    case TOKEN_E_MAGIC:     return "not a token: bad magic";
    case TOKEN_E_VERSION:   return "token version not supported";
    case TOKEN_E_ISSUER:    return "token issued by another provider";
    case TOKEN_E_MAC:       return "token authenticator does not match (forged or damaged)";
    case TOKEN_E_RANGES:    return "token ranges invalid";
    case TOKEN_E_EXPIRED:   return "token expired";
    case TOKEN_E_INVALID:   return "token to encode is invalid";
    default:                return "unknown token status";
    }
}
