/* The guest tokens of one partition (hv/core/partition_tokens.h). */
#include "hv/core/partition_tokens.h"

#include <string.h>

#include <bearssl.h>

#include "hv/arch/x86/tsc.h"
#include "hv/mm/kmem.h"

struct partition_tokens {
    struct vblk_tokens t;       /* first: the pointer handed out */
    uint8_t secret[32];
};

static bool rdrand64(uint64_t *v)
{
    for (int i = 0; i < 16; i++) {
        uint8_t ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
        if (ok)
            return true;
    }
    return false;
}

static bool has_rdrand(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return c & (1u << 30);
}

/* Fills buf from RDRAND; false when the CPU has none or it keeps failing. */
static bool fill(void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len) {
        uint64_t v;
        if (!rdrand64(&v))
            return false;
        size_t n = len < sizeof v ? len : sizeof v;
        memcpy(out, &v, n);
        out += n, len -= n;
    }
    return true;
}

static void random_bytes(void *ctx, void *buf, size_t len)
{
    if (fill(buf, len))
        return;
    static uint64_t state;      /* a token id need only not repeat: the secret is RDRAND's */
    for (uint8_t *p = buf; len; p++, len--) {
        uint64_t v = (state += time_ns() + 0x9e3779b97f4a7c15ull);
        v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
        *p = (uint8_t)(v ^ (v >> 31));
    }
}

static uint64_t now_ms(void *ctx) { return time_ns() / 1000000; }

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    struct partition_tokens *pt = ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, pt->secret, sizeof pt->secret);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

struct vblk_tokens *partition_tokens_make(void)
{
    struct partition_tokens *pt = kmalloc(sizeof(*pt));
    if (!pt)
        return NULL;
    if (!has_rdrand() || !fill(pt->secret, sizeof pt->secret)) {
        kfree(pt);
        return NULL;
    }
    vblk_tokens_init(&pt->t, hmac, pt, random_bytes, now_ms, pt);
    return &pt->t;
}

void partition_tokens_free(struct vblk_tokens *t)
{
    if (!t)
        return;
    struct partition_tokens *pt = (struct partition_tokens *)t;
    memset(pt->secret, 0, sizeof pt->secret);
    kfree(pt);
}
