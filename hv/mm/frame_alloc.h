/*
 * Physical frame allocator built from the loader's memory map.  Portable: it touches
 * memory only through the phys_to_virt callback given at init, and the caller provides
 * the locking (the kernel wraps it in a spinlock).
 *
 * Only RAM the map calls USABLE is ever handed out.  Where entries overlap, any other
 * type wins over USABLE; usable ranges shrink inward to whole frames, everything else
 * grows outward.  The excluded ranges (kernel image, modules, boot_info...) and frame 0
 * are never handed out.  Usable frames below 1 MiB are kept for frame_alloc_low_pages()
 * (the SMP trampoline) and never returned by frame_alloc_pages().
 *
 * The metadata (two bitmaps, 2 bits per frame of the span from the lowest to the highest
 * usable frame) is carved out of the map's own usable RAM, above 1 MiB.
 */
#ifndef ATOLL_HV_MM_FRAME_ALLOC_H
#define ATOLL_HV_MM_FRAME_ALLOC_H
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"
#include "hv/lib/bitmap.h"

#define FRAME_SIZE               4096ull
#define FRAME_LOW_LIMIT          0x100000ull       /* below: only frame_alloc_low_pages */
#define FRAME_ALLOC_MAX_ALIGN    (1ull << 18)      /* pages: 1 GiB */
#define FRAME_ALLOC_MAX_PHYS     (1ull << 52)      /* RAM above is ignored */

enum frame_alloc_status {
    FA_OK = 0,
    FA_ERR_NO_RAM = -1,        /* init: the map has no usable frame */
    FA_ERR_NO_METADATA = -2,   /* init: no usable range can hold the bitmaps */
    FA_ERR_ALIGN = -3,         /* free: address not frame aligned */
    FA_ERR_RANGE = -4,         /* free: range empty or outside the managed span */
    FA_ERR_NOT_RAM = -5,       /* free: range includes frames this allocator never owned */
    FA_ERR_NOT_ALLOCATED = -6, /* free: range includes frames that are already free */
    FA_ERR_ARGS = -7,          /* bad arguments */
};

struct frame_range {
    uint64_t base;
    uint64_t length;
};

typedef void *(*frame_phys_to_virt)(uint64_t phys);

struct frame_alloc_config {
    const struct boot_mem_range *map;
    size_t map_count;
    const struct frame_range *exclude;
    size_t exclude_count;
    frame_phys_to_virt phys_to_virt;
};

struct frame_alloc {
    uint64_t base_frame;       /* frame number of bit 0; a multiple of FRAME_ALLOC_MAX_ALIGN */
    uint64_t frames;           /* bits in each bitmap */
    struct bitmap free;        /* 1: free frame */
    struct bitmap owned;       /* 1: usable RAM this allocator manages (fixed after init) */
    uint64_t meta_phys;
    uint64_t meta_bytes;
    uint64_t owned_frames;
    uint64_t free_frames;
};

int frame_alloc_init(struct frame_alloc *fa, const struct frame_alloc_config *cfg);

/*
 * count frames at or above 1 MiB, the first aligned to align_pages (0 or a power of two up
 * to FRAME_ALLOC_MAX_ALIGN), ending at or below max_phys (0: no limit).
 * Returns the physical address, or 0 when nothing fits.
 */
uint64_t frame_alloc_pages(struct frame_alloc *fa, uint64_t count, uint64_t align_pages,
                           uint64_t max_phys);

/* Same, from the usable frames below 1 MiB (never frame 0). */
uint64_t frame_alloc_low_pages(struct frame_alloc *fa, uint64_t count, uint64_t align_pages);

/* Returns FA_OK, or an error and changes nothing. */
int frame_free_pages(struct frame_alloc *fa, uint64_t phys, uint64_t count);

uint64_t frame_alloc_free_bytes(const struct frame_alloc *fa);
uint64_t frame_alloc_total_bytes(const struct frame_alloc *fa);

const char *frame_alloc_strerror(int status);

/*
 * Fills out[] with what a loader left in use per boot_info: the hypervisor image, the
 * boot_info block itself (at bi_phys) and every module.  Returns the number written.
 */
size_t frame_alloc_boot_excludes(const struct boot_info *bi, uint64_t bi_phys,
                                 struct frame_range *out, size_t max);

#endif
