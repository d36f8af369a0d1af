/*
 * Stands in for hv/mm/kmem.h in host tests of code that takes whole pages from the frame
 * allocator (hv/vmx/ept.c): a test builds that code with `-iquote tests/unit/fake_kmem`,
 * and tests/unit/fake_kmem.c gives it a small pool of pages whose "physical" addresses are
 * not their host addresses, a budget to run out of, and a count of pages not given back.
 * kmalloc/kfree and the aligned allocator are there so hv/core/guest_mem.c links (for its
 * real guest_mem_hpa): the pool has no 2 MiB runs to give.
 */
#ifndef ATOLL_TESTS_UNIT_FAKE_KMEM_H
#define ATOLL_TESTS_UNIT_FAKE_KMEM_H
#include <stddef.h>
#include <stdint.h>

#define FAKE_KMEM_PAGES      256
#define FAKE_KMEM_PHYS_BASE  0x7654300000ull

void *phys_to_virt(uint64_t phys);
uint64_t virt_to_phys(const void *va);
void *kmem_alloc_pages(size_t count);       /* count = 1 only */
void kmem_free_pages(void *va, size_t count);
void kmem_free_pages_unscrubbed(void *va, size_t count);  /* as kmem_free_pages here */
void *kmem_alloc_pages_aligned(size_t count, size_t align_pages, uint64_t max_phys); /* NULL */
void *kmalloc(size_t size);     /* zeroed */
void kfree(void *p);

void fake_kmem_reset(void);
/* Allocations that succeed from now on; -1: no limit. */
void fake_kmem_set_budget(long pages);
size_t fake_kmem_in_use(void);

#endif
