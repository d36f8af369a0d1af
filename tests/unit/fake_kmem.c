#include "hv/mm/kmem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint8_t pool[FAKE_KMEM_PAGES][4096] __attribute__((aligned(4096)));
static bool used[FAKE_KMEM_PAGES];
static long budget = -1;

void fake_kmem_reset(void)
{
    memset(used, 0, sizeof(used));
    budget = -1;
}

void fake_kmem_set_budget(long pages) { budget = pages; }

size_t fake_kmem_in_use(void)
{
    size_t n = 0;
    for (size_t i = 0; i < FAKE_KMEM_PAGES; i++)
        n += used[i];
    return n;
}

void *phys_to_virt(uint64_t phys)
{
    if (phys < FAKE_KMEM_PHYS_BASE || phys >= FAKE_KMEM_PHYS_BASE + sizeof(pool))
        abort();                    /* not a page this allocator gave out */
    return (uint8_t *)pool + (phys - FAKE_KMEM_PHYS_BASE);
}

uint64_t virt_to_phys(const void *va)
{
    const uint8_t *p = va;
    if (p < (const uint8_t *)pool || p >= (const uint8_t *)pool + sizeof(pool))
        abort();
    return FAKE_KMEM_PHYS_BASE + (uint64_t)(p - (const uint8_t *)pool);
}

void *kmem_alloc_pages(size_t count)
{
    if (count != 1 || budget == 0)
        return NULL;
    for (size_t i = 0; i < FAKE_KMEM_PAGES; i++) {
        if (!used[i]) {
            used[i] = true;
            if (budget > 0)
                budget--;
            memset(pool[i], 0, 4096);
            return pool[i];
        }
    }
    return NULL;
}

void kmem_free_pages(void *va, size_t count)
{
    size_t i = (size_t)((uint8_t *)va - (uint8_t *)pool) / 4096;
    if (count != 1 || i >= FAKE_KMEM_PAGES || !used[i] || va != pool[i])
        abort();                    /* a double free or a stray pointer */
    memset(pool[i], 0xa5, 4096);
    used[i] = false;
}

void kmem_free_pages_unscrubbed(void *va, size_t count) { kmem_free_pages(va, count); }

void *kmem_alloc_pages_aligned(size_t count, size_t align_pages, uint64_t max_phys)
{
    return NULL;
}

void *kmalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }
