#include "tests/unit/offload_test_sec.h"
#include <string.h>
#include <bearssl.h>

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    struct offload_test_sec *s = ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, s->key, sizeof(s->key));
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

static void rnd(void *ctx, void *buf, size_t len)
{
    struct offload_test_sec *s = ctx;
    memset(buf, 0, len);
    s->ids++;
    memcpy(buf, &s->ids, len < 4 ? len : 4);
}

static uint64_t now_ms(void *ctx) { return ((struct offload_test_sec *)ctx)->now; }

struct offload_platform offload_test_platform(struct offload_test_sec *s)
{
    return (struct offload_platform){ .sec_ctx = s, .mac = hmac, .random = rnd,
                                      .now_ms = now_ms };
}
