/* Kernel memory: the direct map, whole pages from the frame allocator, and a small heap. */
#ifndef ATOLL_HV_MM_KMEM_H
#define ATOLL_HV_MM_KMEM_H
#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/arch/x86/boot_layout.h"

static inline void *phys_to_virt(uint64_t phys) { return (void *)(phys + DIRECT_MAP_BASE); }

static inline uint64_t virt_to_phys(const void *va)
{
    uint64_t a = (uint64_t)va;
    return a >= KERNEL_VIRT_OFFSET ? a - KERNEL_VIRT_OFFSET : a - DIRECT_MAP_BASE;
}

/* Returns 0 or a message saying why memory could not be set up. */
const char *kmem_init(const struct boot_info *bi, uint64_t bi_phys);

/* Zeroed pages, direct-mapped; NULL when out of memory. */
void *kmem_alloc_pages(size_t count);
/* Same with alignment (pages, power of two) and an upper physical bound (0: none). */
void *kmem_alloc_pages_aligned(size_t count, size_t align_pages, uint64_t max_phys);
/* Scrubbed before they go back. */
void kmem_free_pages(void *va, size_t count);
/*
 * For a lot of memory at once (a finished partition's RAM): the pages go to the scrub
 * queue (hv/mm/scrub_queue.h) as they are and come back to the allocator only once
 * kmem_scrub_step has zeroed them.  Until then they are counted free (kmem_free_bytes) and
 * handed to no one: an allocation that finds nothing else free scrubs them itself first.
 * Where the queue is full they are scrubbed now, as kmem_free_pages does.
 */
void kmem_free_pages_unscrubbed(void *va, size_t count);
/* Zeroes and frees at most max_bytes (whole pages, at least one) of the oldest queued
 * pages; returns the bytes done, 0 when none were queued.  Any CPU, interrupts on, no lock
 * held; it takes as long as zeroing that much. */
uint64_t kmem_scrub_step(uint64_t max_bytes);
/* Queued or being scrubbed. */
uint64_t kmem_scrub_pending_bytes(void);
/* Since boot: what allocations that found nothing else free scrubbed themselves. */
uint64_t kmem_scrub_reclaimed_bytes(void);
/* fn is called (by whoever freed, no lock held) when pages are queued where none were. */
void kmem_scrub_set_notify(void (*fn)(void));
/* A page below 1 MiB (SMP trampoline); returns its physical address or 0. */
uint64_t kmem_alloc_low_page(void);

void *kmalloc(size_t size);     /* zeroed */
void kfree(void *p);

/* Free frames and those pending scrub (an allocation gets them once scrubbed). */
uint64_t kmem_free_bytes(void);
uint64_t kmem_total_bytes(void);

#endif
