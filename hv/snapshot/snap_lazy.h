/*
 * A lazy restore's bookkeeping (hv/core/snapshot_lazy.c): which blocks of RAM are loaded,
 * which ones a fault is waiting for, and in what order the rest come.  The guest's faults
 * come first, oldest first; then the blocks not loaded yet, in RAM order.  Each loaded
 * block leaves the CRC-32C of its decoded bytes, from which the RAM's CRC-32C is made once
 * all are in (the same value as crc32c over the RAM in order, whatever order the blocks
 * came in).  Portable and unlocked: the caller serialises, and loads one block at a time
 * (a block is loaded once: snap_lazy_done refuses a second time).
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_LAZY_H
#define ATOLL_HV_SNAPSHOT_SNAP_LAZY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum snap_lazy_cause {
    SNAP_LAZY_BY_FAULT,     /* a vCPU's access to it faulted */
    SNAP_LAZY_BY_WORKER,    /* the background loader's turn in RAM order */
    SNAP_LAZY_BY_ACCESS,    /* the hypervisor read or wrote it (a device, a hypercall) */
    SNAP_LAZY_ZERO,         /* zero pages only: nothing to read, there from the start */
    SNAP_LAZY_CAUSES,
};

struct snap_lazy_map {
    uint32_t block_count;
    uint32_t loaded;                    /* blocks in */
    uint32_t cursor;                    /* RAM-order scan: no block before it is absent */
    uint32_t wanted_head, wanted_count; /* ring of blocks faults wait for */
    uint32_t by[SNAP_LAZY_CAUSES];
    uint8_t *state;                     /* enum below, one byte a block */
    uint32_t *wanted;                   /* block_count entries */
    uint32_t *crc;                      /* each loaded block's CRC-32C */
};

/* Bytes of memory snap_lazy_map_init needs for block_count blocks; 0 when none. */
size_t snap_lazy_map_bytes(uint32_t block_count);
/* mem: snap_lazy_map_bytes(block_count) bytes, 4-byte aligned. Every block absent. */
bool snap_lazy_map_init(struct snap_lazy_map *m, uint32_t block_count, void *mem);
bool snap_lazy_loaded(const struct snap_lazy_map *m, uint32_t block);
bool snap_lazy_complete(const struct snap_lazy_map *m);
/* A fault on block: queued for the loader unless it is loaded or queued already.  True
 * when it was queued now. */
bool snap_lazy_want(struct snap_lazy_map *m, uint32_t block);
/* The block to load next: the oldest one a fault wants (*wanted true), else the first
 * absent one in RAM order.  False when nothing is left to load. */
bool snap_lazy_next(struct snap_lazy_map *m, uint32_t *block, bool *wanted);
/* block is in, decoded to bytes with CRC-32C crc.  False (nothing changes) when it was in
 * already or is out of range. */
bool snap_lazy_done(struct snap_lazy_map *m, uint32_t block, enum snap_lazy_cause cause,
                    uint32_t crc);
/* Every block in: the CRC-32C of the whole RAM (block_size bytes a block), as crc32c(0,
 * RAM, size) gives it.  0 before. */
uint32_t snap_lazy_ram_crc(const struct snap_lazy_map *m, uint64_t block_size);
/* CRC-32C of A followed by B, from crc(A), crc(B) and B's length. */
uint32_t snap_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

#endif
