/* The real offload provider on a pool image, for the host control daemon. */
#include "tests/net/fake_offload.h"

#include <stdio.h>
#include <stdlib.h>

#include "hv/offload/offload_ctl.h"
#include "hv/offload/offload_pool.h"
#include "tests/net/host_pool_file.h"

static struct host_pool_file file = { .fd = -1 };
static struct offload_pool pool;
static struct offload_provider provider;

static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }

static void env_guid(void *ctx, struct guid *out) { host_urandom(ctx, out->b, sizeof out->b); }
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid };

bool fake_offload_attach(struct ctl_hv_ops *ops, const char *image, const uint8_t *issuer)
{
    char why[128];
    if (!host_pool_file_open(&file, image, true, why, sizeof why)) {
        fprintf(stderr, "offload: %s: %s\n", image, why);
        return false;
    }
    pool = (struct offload_pool){ &file.vol, &env, false };
    struct offload_platform pf = host_pool_file_platform(&file);
    offload_pool_platform(&pool, &pf);
    offload_init(&provider, &pf, issuer);
    offload_pool_observe(&provider);   /* files replaced or removed revoke their tokens */
    offload_ctl_attach(&provider);
    offload_ctl_ops(ops);
    return true;
}

void fake_offload_detach(void)
{
    if (file.fd < 0)
        return;
    offload_pool_unobserve(&provider);
    offload_ctl_attach(NULL);
    host_pool_file_close(&file);
}
