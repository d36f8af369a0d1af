#include "tests/net/host_pool_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

static int img_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
    struct host_pool_file *h = ctx;
    size_t n = (size_t)count * 512;
    return pread(h->fd, buf, n, (off_t)(lba * 512)) == (ssize_t)n ? 0 : BLOCK_E_IO;
}

static int img_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
    struct host_pool_file *h = ctx;
    size_t n = (size_t)count * 512;
    return pwrite(h->fd, buf, n, (off_t)(lba * 512)) == (ssize_t)n ? 0 : BLOCK_E_IO;
}

static int img_flush(void *ctx)
{
    struct host_pool_file *h = ctx;
    return h->durable && fdatasync(h->fd) ? BLOCK_E_IO : 0;
}

bool host_pool_file_open(struct host_pool_file *h, const char *image, bool durable, char *why,
                         size_t why_size)
{
    h->durable = durable;
    h->fd = open(image, O_RDWR);
    off_t size = h->fd < 0 ? -1 : lseek(h->fd, 0, SEEK_END);
    if (size < 0 || size % 512) {
        snprintf(why, why_size, "cannot open as a pool image");
        if (h->fd >= 0)
            close(h->fd);
        h->fd = -1;
        return false;
    }
    h->io = (struct block_io){ .ctx = h, .sector_size = 512, .sectors = (uint64_t)size / 512,
                               .read = img_read, .write = img_write, .flush = img_flush };
    if (fat_mount(&h->vol, &h->io) != FAT_OK) {
        snprintf(why, why_size, "%s", h->vol.err);
        close(h->fd);
        h->fd = -1;
        return false;
    }
    host_urandom(NULL, h->secret, sizeof h->secret);
    return true;
}

void host_pool_file_close(struct host_pool_file *h)
{
    if (h->fd < 0)
        return;
    fat_sync(&h->vol);
    close(h->fd);
    h->fd = -1;
}

void host_urandom(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    int r = open("/dev/urandom", O_RDONLY);
    if (r < 0 || read(r, buf, len) != (ssize_t)len)
        abort();
    close(r);
}

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    struct host_pool_file *h = ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, h->secret, sizeof h->secret);
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

struct offload_platform host_pool_file_platform(struct host_pool_file *h)
{
    return (struct offload_platform){ .sec_ctx = h, .mac = hmac, .random = host_urandom,
                                      .now_ms = now_ms };
}
