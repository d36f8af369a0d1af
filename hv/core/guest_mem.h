/*
 * A partition's RAM: guest-physical [0, size) backed by host frames in 2 MiB chunks
 * (4 KiB frames where no 2 MiB run is free).  Nothing here is shared between partitions;
 * freed memory is scrubbed before it returns to the frame allocator, in the background
 * (hv/core/mem_scrub.h): guest_mem_free itself takes no time to speak of.
 */
#ifndef ATOLL_HV_CORE_GUEST_MEM_H
#define ATOLL_HV_CORE_GUEST_MEM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_CHUNK_SIZE (2ull << 20)
#define GUEST_PAGE_SIZE  4096ull

struct guest_chunk {
    uint64_t hpa;           /* 2 MiB aligned host-physical base, or 0 when split */
    uint64_t *pages;        /* when split: 512 host-physical 4 KiB frames */
};

/* RAM not all there yet (a lazy restore, hv/core/snapshot_lazy.h): before the hypervisor
 * touches guest memory, need(lazy, gpa, len) brings in what is missing of the range (it may
 * read a file and spin, so it is not for a caller that holds the pool's lock). */
struct guest_mem_lazy;
typedef void (*guest_mem_need_fn)(struct guest_mem_lazy *lazy, uint64_t gpa, uint64_t len);

struct guest_mem {
    uint64_t size;          /* bytes, multiple of 4 KiB */
    size_t chunk_count;
    struct guest_chunk *chunks;
    struct guest_mem_lazy *volatile lazy;   /* NULL: all of RAM is there */
    guest_mem_need_fn need;
};

/* Returns false (and frees what it took) when the frames are not there. */
bool guest_mem_alloc(struct guest_mem *m, uint64_t size);
void guest_mem_free(struct guest_mem *m);

/* Host-physical address of the page holding gpa, or 0 outside the partition's RAM. */
uint64_t guest_mem_hpa(const struct guest_mem *m, uint64_t gpa);
/* Hypervisor pointer to gpa, valid up to the end of its 4 KiB page; NULL outside RAM. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa);
/* Copies; false when any byte lies outside the partition's RAM (nothing is copied then). */
bool guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len);
bool guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len);
bool guest_mem_contains(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Writes RAM (zeros where buf is NULL) whether or not it is there yet: the lazy loader's
 * own path in. */
bool guest_mem_fill(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len);

#endif
