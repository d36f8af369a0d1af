/* libFuzzer: hostile offload tokens for the decoder (hv/offload/token.c).  The MAC function
 * is a fixed pattern so that inputs get past the authenticator to the range parser. */
#include <stdint.h>
#include <string.h>

#include "hv/offload/token.h"

static void fixed_mac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    (void)ctx, (void)data, (void)len;
    memset(out, 0x5a, TOKEN_MAC_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t issuer[TOKEN_ISSUER_LEN];
    uint8_t buf[TOKEN_SIZE];
    struct token t;
    uint64_t now = 0;
    if (size >= 8)
        memcpy(&now, data, 8);
    /* as given (any length), then forced to the right length, issuer and MAC */
    (void)token_decode(data, size, issuer, fixed_mac, NULL, now, &t);
    memset(buf, 0, sizeof(buf));
    memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
    memcpy(buf, "ATOLLTOK", 8);
    buf[8] = 0, buf[9] = TOKEN_VERSION;
    memset(buf + 16, 0, TOKEN_ISSUER_LEN);
    memset(buf + TOKEN_MAC_OFFSET, 0x5a, TOKEN_MAC_LEN);
    if (token_decode(buf, sizeof(buf), issuer, fixed_mac, NULL, now, &t) == TOKEN_OK) {
        uint8_t again[TOKEN_SIZE];
        if (token_encode(&t, fixed_mac, NULL, again) != TOKEN_OK || memcmp(again, buf, TOKEN_SIZE))
            __builtin_trap(); /* a token accepted must encode back to the same bytes */
    }
    return 0;
}
