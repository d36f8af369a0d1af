/* libFuzzer: hostile grants for the source provider's checks (hv/offload/grant.c).  The
 * crypto is stubbed (every key trusted, every signature good) so inputs reach the expiry
 * and replay checks; the input's first byte picks the peer and the clock. */
#include <stdint.h>
#include <string.h>

#include "hv/offload/grant.h"

static void sha(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    memset(out, 0, 32);
    for (size_t i = 0; i < len; i++)
        out[i % 32] ^= ((const uint8_t *)data)[i];
}
static void fp(void *ctx, const uint8_t key[GRANT_KEY_LEN], uint8_t out[GRANT_FP_LEN])
{
    (void)ctx;
    memcpy(out, key + 1, GRANT_FP_LEN);
}
static bool ok_sig(void *ctx, const uint8_t key[GRANT_KEY_LEN], const uint8_t hash[32],
                   const uint8_t sig[GRANT_SIG_LEN])
{
    (void)ctx, (void)key;
    return sig[0] == hash[0];
}
static bool trust_all(void *ctx, const uint8_t f[GRANT_FP_LEN]) { (void)ctx; return f[0] != 0xff; }

static const struct grant_crypto crypto = { NULL, sha, fp, ok_sig, NULL };
static struct grant_checker k = { .crypto = &crypto, .trusted = trust_all };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t peer[GRANT_FP_LEN] = { 0 };
    struct grant g;
    if (size > 0)
        peer[0] = data[0];
    (void)grant_check(&k, data, size, peer, size ? data[0] * 10ull : 0, &g);
    return 0;
}
