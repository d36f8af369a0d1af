/*
 * libFuzzer: hostile FAT32 volumes.  The input is a small volume image; it is mounted and
 * then walked, read, written, extended, truncated, renamed, linked (a second name, then
 * forgotten) and deleted.  Nothing may crash or read outside the image, whatever the boot
 * sector, FAT or directories say.  The disk's
 * sector size is what the boot sector claims (bytes 11-12) when that is 512 to 4096 bytes,
 * so both small and large sectors are explored.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/fat32.h"
#include "tests/unit/test_block_mem.h"

#define DISK_BYTES (2u << 20)

static bool visit(void *ctx, const char *name, const struct fat_stat *st)
{
    (*(unsigned *)ctx)++;
    return *(unsigned *)ctx > 4096;
}

static void exercise(struct fat_vol *v)
{
    static uint8_t buf[9000];
    struct fat_file f;
    unsigned n = 0;
    fat_list(v, "/", visit, &n);
    if (fat_open(v, "/POOL.BIN", 0, &f) == FAT_OK && !f.is_dir) {
        fat_read(&f, 0, buf, sizeof(buf));
        struct fat_extent ext[8];
        unsigned runs;
        if (f.size >= v->sector)
            fat_map(&f, 0, f.size / v->sector * v->sector, ext, 8, &runs);
        fat_write(&f, 100, buf, 5000);
        fat_truncate(&f, 700);
        fat_close(&f);
    }
    if (fat_open(v, "/a long created name.dat", FAT_O_CREATE, &f) == FAT_OK) {
        fat_write(&f, 3000, buf, 6000);
        fat_close(&f);
    }
    fat_mkdir(v, "/DIR/sub");
    fat_rename(v, "/DIR", "/moved dir");
    fat_list(v, "/moved dir", visit, &n);
    fat_link(v, "/POOL.BIN", "/second name.bin");
    fat_forget(v, "/second name.bin");
    fat_unlink(v, "/POOL.BIN");
    fat_unlink(v, "/moved dir/sub");
    fat_sync(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *disk;
    static struct fat_vol v;
    struct mem_disk m;
    struct block_io io;
    if (!disk)
        disk = malloc(DISK_BYTES);
    if (size > DISK_BYTES)
        size = DISK_BYTES;
    memset(disk, 0, DISK_BYTES);
    memcpy(disk, data, size);
    uint32_t sector = size >= 13 ? (uint32_t)data[11] | (uint32_t)data[12] << 8 : 512;
    if (sector < 512 || sector > 4096 || (sector & (sector - 1)))
        sector = 512;
    mem_disk_init(&m, disk, DISK_BYTES, sector, &io);
    if (fat_mount(&v, &io) == FAT_OK)
        exercise(&v);
    return 0;
}
