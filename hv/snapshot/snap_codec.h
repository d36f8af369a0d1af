/*
 * One block of guest RAM in, its encoded form out, at a level of the ladder
 * (snap_policy.h).  A block is SNAP_BLOCK_PAGES pages: 64 KiB gives LZ4 enough context to
 * find repeats across pages (measured by `make bench`'s snapshot rows), while a 256 MiB partition still splits into 4096 blocks to share among workers and to
 * keep the write queue moving.  All-zero pages are not encoded at all: a bit in the
 * block's zero mask stands for each.  When a level does not shrink the data, the block is
 * stored.  Portable; LZ4 supplies the compressors (freestanding in the kernel).
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_CODEC_H
#define ATOLL_HV_SNAPSHOT_SNAP_CODEC_H
#include <stddef.h>
#include <stdint.h>
#include "hv/snapshot/snap_policy.h"

#define SNAP_PAGE_SIZE   4096u
#define SNAP_BLOCK_PAGES 16u
#define SNAP_BLOCK_SIZE  (SNAP_PAGE_SIZE * SNAP_BLOCK_PAGES)
/* Encoded data never exceeds this (stored blocks are the raw non-zero pages). */
#define SNAP_ENCODED_MAX SNAP_BLOCK_SIZE

/* Pages a zero mask stands for (no __builtin_popcount: the kernel has no libgcc). */
static inline unsigned snap_mask_pages(uint16_t mask)
{
    unsigned n = 0;
    for (; mask; mask &= (uint16_t)(mask - 1))
        n++;
    return n;
}

/* A worker's scratch state for the compressors: snap_codec_state_size() bytes, 8-aligned. */
size_t snap_codec_state_size(void);

struct snap_encoded {
    uint16_t zero_mask;         /* bit i: page i is all zero and not in the data */
    enum snap_level level;      /* the level actually used (SNAP_STORE if nothing shrank) */
    uint32_t raw_len;           /* bytes of non-zero pages */
    uint32_t len;               /* bytes in out[] */
};

/* Encodes SNAP_BLOCK_SIZE bytes of src into out (SNAP_ENCODED_MAX bytes) at `level`. */
void snap_encode(void *state, enum snap_level level, const uint8_t *src, uint8_t *out,
                 struct snap_encoded *e);
/* Decodes into dst (SNAP_BLOCK_SIZE bytes) with a worker's state as scratch; 0, or -1
 * when the data does not decode to exactly the pages the mask says (a corrupt block). */
int snap_decode(void *state, const struct snap_encoded *e, const uint8_t *data, uint8_t *dst);

#endif
