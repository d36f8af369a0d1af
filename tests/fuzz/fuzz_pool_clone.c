/*
 * libFuzzer: the linked-clone recovery (hv/storage/pool_clone.c) on hostile pool volumes.
 * The input is a small FAT32 volume; it is mounted, every `NAME~atoll-clone` in it is
 * settled (its VHDX opened without its parent, its locator resolved, names linked and
 * forgotten) and bases no image names are removed, then a clone of /a.vhdx onto /b.vhdx
 * is tried, then the pool's delete of one of them.  Nothing may crash or read
 * outside the image, whatever the directories and the images' headers and locators say.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/pool_clone.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx_parent_path.h"
#include "tests/unit/test_block_mem.h"
#include "tests/unit/pool_parent_env.h"

#define DISK_BYTES (4u << 20)

static struct fat_vol v;


static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out) { (void)ctx; memset(out, 0x42, sizeof(*out)); }

static struct fat_vol *parent_volume(void) { return &v; }
static const struct pool_parents parents = { parent_volume };

static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid,
                                     .ctx = (void *)&parents, .open_parent = pool_parent_open,
                                     .close_parent = pool_parent_close };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *disk;
    struct mem_disk m;
    struct block_io io;
    if (!disk)
        disk = malloc(DISK_BYTES);
    if (size > DISK_BYTES)
        size = DISK_BYTES;
    memset(disk, 0, DISK_BYTES);
    memcpy(disk, data, size);
    mem_disk_init(&m, disk, DISK_BYTES, 512, &io);
    if (fat_mount(&v, &io) != FAT_OK)
        return 0;
    pool_clone_recover(&v, &env);
    struct pool_clone_req r = { .src = "a.vhdx", .dst = "b.vhdx", .length = 1u << 20 };
    char msg[200];
    pool_clone(&v, &env, &r, msg, sizeof msg);
    /* the pool's delete: its parent checks, then the bases up the chain */
    pool_clone_delete(&v, &env, size & 1 ? "b.vhdx" : "a.vhdx", NULL, msg, sizeof msg);
    return 0;
}
