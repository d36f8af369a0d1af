/*
 * Write tracking over a partition's RAM by page group, driven by write faults.  While
 * tracking, a group is write-protected until the guest first writes to it: that write
 * faults once, marks the group written and opens the whole group again, so a guest that
 * fills a buffer page by page costs one exit per group, not one per page.  A harvest hands
 * over the written groups and protects them again: what live migration and RAM snapshots
 * copy on each pass.  Portable: the caller changes the page-table permissions (through
 * the callbacks) and flushes translations after a harvest, before it copies anything.
 */
#ifndef ATOLL_HV_CORE_WRITE_TRACK_H
#define ATOLL_HV_CORE_WRITE_TRACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WRITE_TRACK_MAX_GROUP_PAGES 512u        /* 2 MiB */
#define WRITE_TRACK_REGION_SHIFT    21u         /* per-region fault sizes: 2 MiB regions */

struct write_track {
    uint64_t ram_size;                  /* bytes, a multiple of 4 KiB */
    unsigned group_shift;               /* log2 of the group size in bytes */
    uint64_t group_count;
    uint64_t *written;                  /* one bit per group (the caller's words) */
    uint64_t written_now;               /* bits set in written */
    uint64_t faults;                    /* write faults taken */
    uint64_t noted;                     /* groups marked by writes not from the guest */
    uint64_t passes;                    /* harvests */
    uint64_t harvested;                 /* groups handed over, all passes together */
    uint64_t most_in_a_pass;
    /* Per 2 MiB region, when not NULL: log2 of the bytes a write fault that continues a
     * run there opens and marks (a power of two from the group size to 2 MiB), e.g. a
     * live migration's page-group sizes per region; NULL: every fault opens one group. */
    uint8_t *region_shift;
    uint64_t region_count;
};

/* 64-bit words the written bitmap needs; 0 when the arguments are invalid. */
size_t write_track_words(uint64_t ram_size, uint32_t group_pages);
/* group_pages: a power of two from 1 to WRITE_TRACK_MAX_GROUP_PAGES.  words: as many as
 * write_track_words says, cleared here.  Returns false on invalid arguments. */
bool write_track_init(struct write_track *t, uint64_t ram_size, uint32_t group_pages,
                      uint64_t *words);
/* Bytes of region shifts write_track_use_regions needs (one per 2 MiB region). */
size_t write_track_regions(uint64_t ram_size);
/* Per-region fault sizes in shifts (write_track_regions bytes, the caller's), every region
 * at the group size for a start. */
void write_track_use_regions(struct write_track *t, uint8_t *shifts);
/* A fault in region r may open (and mark written) up to `pages` pages, an aligned group of
 * them (write_track_fault says which part): a power of two from the group size to
 * WRITE_TRACK_MAX_GROUP_PAGES.  False (nothing changed) for another size, a region outside
 * RAM or no region shifts. */
bool write_track_set_region_pages(struct write_track *t, uint64_t region, uint32_t pages);
/* The guest wrote to gpa, which was protected: marks its group written and returns the
 * range (base, len) for the caller to open.  Where its region's fault size is wider than a
 * group, a write that continues a run (the group just before it written since the last
 * pass) also opens and marks the rest of the aligned region-sized group after it, one
 * that runs backwards (the group just after it written) the part before it, and one with
 * both the whole of it: a sequential writer takes one fault per region-sized group, a
 * scattered one's pages are not opened (and sent) with pages it never writes.  False
 * when gpa is outside RAM. */
bool write_track_fault(struct write_track *t, uint64_t gpa, uint64_t *base, uint64_t *len);
/* Something other than the guest's own stores (a device model, a hypercall) wrote
 * the range [gpa, gpa + len): marks those groups written, clipped to RAM; opens nothing. */
void write_track_note(struct write_track *t, uint64_t gpa, uint64_t len);
/* One pass: every written group is copied into out (when not NULL; the same number of
 * words), cleared, and protected again through protect(ctx, base, len), once per run of
 * adjacent groups.  Returns how many groups were handed over. */
uint64_t write_track_harvest(struct write_track *t, uint64_t *out,
                             void (*protect)(void *ctx, uint64_t base, uint64_t len),
                             void *ctx);

#endif
