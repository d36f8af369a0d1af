/* A disk in host memory as a struct block_io, with an optional power cut after N writes. */
#ifndef ATOLL_TESTS_UNIT_TEST_BLOCK_MEM_H
#define ATOLL_TESTS_UNIT_TEST_BLOCK_MEM_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/storage/block.h"

struct mem_disk {
    uint8_t *data;
    uint64_t sectors;
    uint32_t sector_size;
    uint64_t writes, reads, flushes;
    int64_t cut_after;  /* writes that still land; negative: never cut */
    bool cut;           /* the power went: later writes are lost */
};

/* Wraps data (not copied) as a disk; fills io. */
void mem_disk_init(struct mem_disk *m, void *data, uint64_t bytes, uint32_t sector_size,
                   struct block_io *io);
/* Reads a whole file into memory; NULL on failure. */
uint8_t *mem_disk_load(const char *path, uint64_t *bytes);
/* A fresh FAT32 image of `mib` MiB made by mkfs.fat (sector_size bytes a sector,
 * cluster_sectors a cluster, volume label `label`), read into memory; NULL on failure. */
uint8_t *mem_disk_mkfs_fat(uint32_t sector_size, uint32_t cluster_sectors, const char *label,
                           unsigned mib, uint64_t *bytes);
int mem_disk_save(const char *path, const uint8_t *data, uint64_t bytes);

#endif
