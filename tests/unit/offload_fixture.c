#include "tests/unit/offload_fixture.h"
#include <stdlib.h>
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

static uint8_t *pristine;
uint64_t offload_image_bytes;

int offload_image_make(unsigned mib)
{
    pristine = mem_disk_mkfs_fat(512, 8, "POOL", mib, &offload_image_bytes);
    return pristine ? 0 : -1;
}

void offload_image_drop(void)
{
    free(pristine);
    pristine = NULL;
}

int offload_fixture_mount(struct offload_fixture *f, const struct vhdx_env *env, bool share,
                          const uint8_t *issuer)
{
    mem_disk_init(&f->m, f->data, offload_image_bytes, 512, &f->io);
    if (fat_mount(&f->v, &f->io) != FAT_OK)
        return -1;
    f->pool = (struct offload_pool){ &f->v, env, share };
    f->sec.key[0] = 0x42;
    f->sec.now = 1000;
    struct offload_platform pf = offload_test_platform(&f->sec);
    offload_pool_platform(&f->pool, &pf);
    offload_init(&f->p, &pf, issuer);
    return 0;
}

struct offload_fixture *offload_fixture_new(const struct vhdx_env *env, bool share,
                                            const uint8_t *issuer)
{
    struct offload_fixture *f = calloc(1, sizeof(*f));
    f->data = malloc(offload_image_bytes);
    memcpy(f->data, pristine, offload_image_bytes);
    if (offload_fixture_mount(f, env, share, issuer) == 0)
        return f;
    offload_fixture_free(f);
    return NULL;
}

void offload_fixture_free(struct offload_fixture *f)
{
    free(f->data);
    free(f);
}
