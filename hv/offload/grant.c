/* Offload grants: encoding and the source provider's checks (hv/offload/grant.h). */
#include "hv/offload/grant.h"

#include <string.h>

static const uint8_t grant_magic[8] = { 'A', 'T', 'O', 'L', 'L', 'G', 'N', 'T' };

#define OFF_VERSION   8
#define OFF_FLAGS     10   /* u16 0, then u32 0 */
#define OFF_KEY       16
#define OFF_SOURCE    84   /* after the key and 3 zero bytes */
#define OFF_DEST      116
#define OFF_NONCE     148
#define OFF_EXPIRY    164
#define OFF_TOKEN     172
#define OFF_SIG       GRANT_SIGNED_LEN
#define OFF_RESERVED  (OFF_SIG + GRANT_SIG_LEN) /* 748 .. 768: zero */

_Static_assert(OFF_TOKEN + TOKEN_SIZE == GRANT_SIGNED_LEN, "grant layout");
_Static_assert(OFF_RESERVED <= GRANT_SIZE, "grant layout");

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static bool zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int grant_encode(const struct grant *g, const struct grant_crypto *crypto, uint8_t out[GRANT_SIZE])
{
    memset(out, 0, GRANT_SIZE);
    memcpy(out, grant_magic, sizeof grant_magic);
    out[OFF_VERSION] = 0, out[OFF_VERSION + 1] = GRANT_VERSION;
    memcpy(out + OFF_KEY, g->initiator, GRANT_KEY_LEN);
    memcpy(out + OFF_SOURCE, g->source, GRANT_FP_LEN);
    memcpy(out + OFF_DEST, g->destination, GRANT_FP_LEN);
    memcpy(out + OFF_NONCE, g->nonce, GRANT_NONCE_LEN);
    put64(out + OFF_EXPIRY, g->expiry_ms);
    memcpy(out + OFF_TOKEN, g->token, TOKEN_SIZE);
    uint8_t hash[32];
    crypto->sha256(crypto->ctx, out, GRANT_SIGNED_LEN, hash);
    if (!crypto->sign || !crypto->sign(crypto->ctx, hash, out + OFF_SIG))
        return GRANT_E_SIGN;
    return GRANT_OK;
}

static bool well_formed(const uint8_t *buf, size_t len)
{
    return len == GRANT_SIZE && !memcmp(buf, grant_magic, sizeof grant_magic) &&
           buf[OFF_VERSION] == 0 && buf[OFF_VERSION + 1] == GRANT_VERSION &&
           zero(buf + OFF_FLAGS, OFF_KEY - OFF_FLAGS) && buf[OFF_KEY] == 0x04 &&
           zero(buf + OFF_KEY + GRANT_KEY_LEN, OFF_SOURCE - OFF_KEY - GRANT_KEY_LEN) &&
           zero(buf + OFF_RESERVED, GRANT_SIZE - OFF_RESERVED);
}

/* Forgets expired grants; whether the nonce is remembered; a free slot in *slot. */
static bool seen_before(struct grant_checker *k, const uint8_t *nonce, uint64_t now_ms, int *slot)
{
    *slot = -1;
    for (uint32_t i = 0; i < GRANT_REPLAY_MAX; i++) {
        if (k->seen[i].used && now_ms >= k->seen[i].expiry_ms)
            k->seen[i].used = false;
        if (k->seen[i].used && !memcmp(k->seen[i].nonce, nonce, GRANT_NONCE_LEN))
            return true;
        if (!k->seen[i].used && *slot < 0)
            *slot = (int)i;
    }
    return false;
}

int grant_check(struct grant_checker *k, const uint8_t *buf, size_t len,
                const uint8_t peer[GRANT_FP_LEN], uint64_t now_ms, struct grant *out)
{
    const struct grant_crypto *c = k->crypto;
    if (!well_formed(buf, len))
        return GRANT_E_FORMAT;
    if (memcmp(buf + OFF_SOURCE, k->self, GRANT_FP_LEN) != 0)
        return GRANT_E_SOURCE;
    uint8_t fp[GRANT_FP_LEN], hash[32];
    c->fingerprint(c->ctx, buf + OFF_KEY, fp);
    if (!k->trusted(k->trusted_ctx, fp))
        return GRANT_E_UNTRUSTED;
    c->sha256(c->ctx, buf, GRANT_SIGNED_LEN, hash);
    if (!c->verify(c->ctx, buf + OFF_KEY, hash, buf + OFF_SIG))
        return GRANT_E_SIGNATURE;
    if (memcmp(buf + OFF_DEST, peer, GRANT_FP_LEN) != 0)
        return GRANT_E_DESTINATION;
    uint64_t expiry = get64(buf + OFF_EXPIRY);
    if (now_ms >= expiry)
        return GRANT_E_EXPIRED;
    int slot;
    if (seen_before(k, buf + OFF_NONCE, now_ms, &slot))
        return GRANT_E_REPLAYED;
    if (slot < 0)
        return GRANT_E_BUSY;
    k->seen[slot].used = true;
    memcpy(k->seen[slot].nonce, buf + OFF_NONCE, GRANT_NONCE_LEN);
    k->seen[slot].expiry_ms = expiry;
    memcpy(out->initiator, buf + OFF_KEY, GRANT_KEY_LEN);
    memcpy(out->source, buf + OFF_SOURCE, GRANT_FP_LEN);
    memcpy(out->destination, buf + OFF_DEST, GRANT_FP_LEN);
    memcpy(out->nonce, buf + OFF_NONCE, GRANT_NONCE_LEN);
    out->expiry_ms = expiry;
    memcpy(out->token, buf + OFF_TOKEN, TOKEN_SIZE);
    return GRANT_OK;
}

const char *grant_status_text(int status)
{
    switch (status) {
    case GRANT_OK:            return "grant accepted";
    case GRANT_E_FORMAT:      return "not a grant";
    case GRANT_E_SOURCE:      return "grant is for another source provider";
    case GRANT_E_UNTRUSTED:   return "grant signed by an initiator this host does not trust";
    case GRANT_E_SIGNATURE:   return "grant signature does not verify (forged or damaged)";
    case GRANT_E_DESTINATION: return "grant names another host than the one presenting it";
    case GRANT_E_EXPIRED:     return "grant expired";
    case GRANT_E_REPLAYED:    return "grant replayed";
    case GRANT_E_BUSY:        return "too many live grants: try when some expire";
    case GRANT_E_SIGN:        return "grant could not be signed";
    default:                  return "unknown grant status";
    }
}
