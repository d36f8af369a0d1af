/* The real offload provider on a pool image, for the host control daemon. */
#include "tests/net/fake_offload.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "hv/offload/offload_ctl.h"
#include "hv/offload/offload_pool.h"

static int fd = -1;
static struct fat_vol vol;
static struct offload_pool pool;
static struct offload_provider provider;
static uint8_t secret[32];

static int img_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
    (void)ctx;
    size_t n = (size_t)count * 512;
    return pread(fd, buf, n, (off_t)(lba * 512)) == (ssize_t)n ? 0 : BLOCK_E_IO;
}

static int img_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
    (void)ctx;
    size_t n = (size_t)count * 512;
    return pwrite(fd, buf, n, (off_t)(lba * 512)) == (ssize_t)n ? 0 : BLOCK_E_IO;
}

static int img_flush(void *ctx) { (void)ctx; return fdatasync(fd) ? BLOCK_E_IO : 0; }

static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }

static void urandom(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    int r = open("/dev/urandom", O_RDONLY);
    if (r < 0 || read(r, buf, len) != (ssize_t)len)
        abort(); /* no randomness: token ids would repeat */
    close(r);
}

static void env_guid(void *ctx, struct guid *out) { urandom(ctx, out->b, sizeof out->b); }
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid };

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    (void)ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, secret, sizeof secret);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool fake_offload_attach(struct ctl_hv_ops *ops, const char *image, const uint8_t *issuer)
{
    fd = open(image, O_RDWR);
    off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (size < 0 || size % 512) {
        fprintf(stderr, "offload: %s: cannot open as a pool image\n", image);
        return false;
    }
    struct block_io io = { .sector_size = 512, .sectors = (uint64_t)size / 512,
                           .read = img_read, .write = img_write, .flush = img_flush };
    if (fat_mount(&vol, &io) != FAT_OK) {
        fprintf(stderr, "offload: %s: %s\n", image, vol.err);
        return false;
    }
    urandom(NULL, secret, sizeof secret);
    pool = (struct offload_pool){ &vol, &env, false };
    struct offload_platform pf = { .mac = hmac, .random = urandom, .now_ms = now_ms };
    offload_pool_platform(&pool, &pf);
    offload_init(&provider, &pf, issuer);
    offload_pool_observe(&provider);   /* files replaced or removed revoke their tokens */
    offload_ctl_attach(&provider);
    offload_ctl_ops(ops);
    return true;
}

void fake_offload_detach(void)
{
    if (fd < 0)
        return;
    offload_pool_unobserve(&provider);
    fat_sync(&vol);
    offload_ctl_attach(NULL);
    close(fd);
    fd = -1;
}
