/*
 * A FAT32 pool image file on the host, mounted for the real offload provider: its block
 * I/O by pread/pwrite, an HMAC-SHA256 secret from /dev/urandom, the monotonic clock.  The
 * host control daemon (tests/net/fake_offload.c) and the offload bench run on it.
 */
#ifndef ATOLL_TESTS_NET_HOST_POOL_FILE_H
#define ATOLL_TESTS_NET_HOST_POOL_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/offload/offload.h"
#include "hv/storage/fat32.h"

struct host_pool_file {
    int fd;
    bool durable;               /* a flush reaches the disk (fdatasync); else it is free */
    struct block_io io;
    struct fat_vol vol;
    uint8_t secret[32];
};

/* Opens and mounts image; false, with the reason in why (why_size bytes), when it cannot. */
bool host_pool_file_open(struct host_pool_file *h, const char *image, bool durable, char *why,
                         size_t why_size);
/* Syncs the volume and closes the file. */
void host_pool_file_close(struct host_pool_file *h);

/* The provider's security callbacks on h: HMAC with h's secret, urandom, the clock. */
struct offload_platform host_pool_file_platform(struct host_pool_file *h);

/* len bytes from /dev/urandom; aborts without them (token ids would repeat). */
void host_urandom(void *ctx, void *buf, size_t len);

#endif
