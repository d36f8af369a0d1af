/*
 * Host tests' vhdx_env parents as the kernel's hv/storage/pool_vhdx.c opens them: the pool
 * file a child's locator names (its relative path first, then its absolute one), on the
 * volume the caller's function returns.  Set `.ctx = &some_pool_parents` beside
 * `.open_parent = pool_parent_open, .close_parent = pool_parent_close` (the env's other
 * functions ignore ctx).
 */
#ifndef ATOLL_TESTS_UNIT_POOL_PARENT_ENV_H
#define ATOLL_TESTS_UNIT_POOL_PARENT_ENV_H
#include <stdbool.h>
#include <stddef.h>
#include "hv/storage/vhdx.h"

struct fat_vol;

struct pool_parents {
    struct fat_vol *(*volume)(void);
};

int pool_parent_open(void *ctx, const char *child, const char *rel, const char *abs,
                     bool writable, struct vhdx_io *io, char *name, size_t name_size);
void pool_parent_close(void *ctx, struct vhdx_io *io);

#endif
