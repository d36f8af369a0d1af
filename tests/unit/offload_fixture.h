/*
 * The offload tests' fixture: a provider on a FAT32 pool in memory, copied from one
 * pristine image a group makes, with host-side security callbacks: HMAC-SHA256 (BearSSL)
 * with `key`, "random" ids counted up from 1, and a clock that reads `now` (ms), which a
 * test moves on to expire tokens.
 */
#ifndef ATOLL_TESTS_UNIT_OFFLOAD_FIXTURE_H
#define ATOLL_TESTS_UNIT_OFFLOAD_FIXTURE_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/offload/offload_pool.h"
#include "tests/unit/test_block_mem.h"

struct offload_test_sec {
    uint8_t key[32];
    uint64_t now;
    uint32_t ids;
};

/* A platform with only the security callbacks set, on s. */
struct offload_platform offload_test_platform(struct offload_test_sec *s);

struct offload_fixture {
    uint8_t *data;              /* the pool's image, offload_image_bytes long */
    struct mem_disk m;
    struct block_io io;
    struct fat_vol v;
    struct offload_pool pool;
    struct offload_test_sec sec;
    struct offload_provider p;
    char msg[256];
};

extern uint64_t offload_image_bytes;

/* Makes (and drops) the group's pristine pool image of mib MiB: 0, or -1 when it can't. */
int offload_image_make(unsigned mib);
void offload_image_drop(void);

/* A fixture on a fresh copy of the pristine image, mounted as offload_fixture_mount does;
 * NULL when the copy will not mount. */
struct offload_fixture *offload_fixture_new(const struct vhdx_env *env, bool share,
                                            const uint8_t *issuer);

/* Mounts f->data afresh (after a cut: what landed) and makes the provider. */
int offload_fixture_mount(struct offload_fixture *f, const struct vhdx_env *env, bool share,
                          const uint8_t *issuer);

void offload_fixture_free(struct offload_fixture *f);

#endif
