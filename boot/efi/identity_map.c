#include "boot/efi/identity_map.h"

#define GIB (1ull << 30)
#define ENTRIES 512u
#define PTE_PRESENT_WRITE 0x3ull
#define PTE_LARGE 0x80ull

static uint64_t gib_count(uint64_t top)
{
    if (top > IDENTITY_MAP_MAX_TOP)
        top = IDENTITY_MAP_MAX_TOP;
    return top ? (top + GIB - 1) / GIB : 1;
}

static uint64_t pdpt_count(uint64_t gibs)
{
    return (gibs + ENTRIES - 1) / ENTRIES;
}

size_t identity_map_pages(uint64_t top, bool five_level)
{
    uint64_t gibs = gib_count(top);
    return (size_t)(1 + five_level + pdpt_count(gibs) + gibs);
}

static uint64_t *page(uint64_t *tables, uint64_t index)
{
    return tables + index * ENTRIES;
}

static uint64_t phys(const uint64_t *p)
{
    return (uint64_t)(uintptr_t)p;
}

uint64_t identity_map_build(uint64_t *tables, uint64_t top, bool five_level)
{
    uint64_t gibs = gib_count(top), pdpts = pdpt_count(gibs);
    uint64_t *pml4 = page(tables, 0);
    uint64_t first_pdpt = 1 + five_level, first_pd = first_pdpt + pdpts;
    for (uint64_t i = 0; i < pdpts; i++)
        pml4[i] = phys(page(tables, first_pdpt + i)) | PTE_PRESENT_WRITE;
    for (uint64_t g = 0; g < gibs; g++) {
        uint64_t *pd = page(tables, first_pd + g);
        page(tables, first_pdpt)[g] = phys(pd) | PTE_PRESENT_WRITE;
        for (uint64_t i = 0; i < ENTRIES; i++)
            pd[i] = (g * GIB + i * (2ull << 20)) | PTE_PRESENT_WRITE | PTE_LARGE;
    }
    if (!five_level)
        return phys(pml4);
    uint64_t *pml5 = page(tables, 1);
    pml5[0] = phys(pml4) | PTE_PRESENT_WRITE;
    return phys(pml5);
}
