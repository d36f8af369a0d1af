#include "hv/vmx/ept.h"

#include <string.h>
#include "hv/mm/kmem.h"

#define EPT_MEMTYPE_WC  (1ull << 3)
#define EPT_MEMTYPE_WB  (6ull << 3)
#define EPT_LEAF_2M     (1ull << 7)
#define EPT_ADDR_MASK   0x000ffffffffff000ull
#define LEVELS          4
#define EPT_GPA_LIMIT   (1ull << 48)    /* what a 4-level walk reaches */
#define EPT_FOREIGN     (1ull << 11)    /* ignored by the CPU: mapped by ept_map_page */

static unsigned index_at(uint64_t gpa, int level) { return (gpa >> (12 + 9 * level)) & 511; }

static uint64_t *new_table(struct ept *e)
{
    uint64_t *t = kmem_alloc_pages(1);
    if (t)
        e->table_pages++;
    return t;
}

/* The table at `level` (0 = page table) covering gpa, created on demand; when that fails,
 * the tables this call made are taken out again. */
static uint64_t *table_for(struct ept *e, uint64_t gpa, int level)
{
    uint64_t *made[LEVELS];
    int count = 0;
    uint64_t *t = e->pml4;
    for (int l = LEVELS - 1; l > level; l--) {
        uint64_t *entry = &t[index_at(gpa, l)];
        if (!(*entry & EPT_RWX)) {
            uint64_t *next = new_table(e);
            if (!next)
                goto undo;
            *entry = virt_to_phys(next) | EPT_RWX;
            made[count++] = entry;
        } else if (*entry & EPT_LEAF_2M) {
            goto undo;
        }
        t = phys_to_virt(*entry & EPT_ADDR_MASK);
    }
    return t;
undo:
    while (count--) {
        kmem_free_pages(phys_to_virt(*made[count] & EPT_ADDR_MASK), 1);
        e->table_pages--;
        *made[count] = 0;
    }
    return NULL;
}

bool ept_build(struct ept *e, const struct guest_mem *m, bool large_pages)
{
    memset(e, 0, sizeof(*e));
    e->pml4 = new_table(e);
    if (!e->pml4)
        return false;
    e->eptp = virt_to_phys(e->pml4) | (3u << 3) | 6u;  /* 4-level walk, WB */
    for (uint64_t gpa = 0; gpa < m->size; ) {
        const struct guest_chunk *c = &m->chunks[gpa / GUEST_CHUNK_SIZE];
        if (large_pages && c->hpa && (gpa % GUEST_CHUNK_SIZE) == 0 &&
            m->size - gpa >= GUEST_CHUNK_SIZE) {
            uint64_t *pd = table_for(e, gpa, 1);
            if (!pd)
                goto fail;
            pd[index_at(gpa, 1)] = c->hpa | EPT_LEAF_2M | EPT_MEMTYPE_WB | EPT_RWX;
            gpa += GUEST_CHUNK_SIZE;
            continue;
        }
        uint64_t *pt = table_for(e, gpa, 0);
        if (!pt)
            goto fail;
        pt[index_at(gpa, 0)] = guest_mem_hpa(m, gpa) | EPT_MEMTYPE_WB | EPT_RWX;
        gpa += GUEST_PAGE_SIZE;
    }
    return true;
fail:
    ept_destroy(e);
    return false;
}

static void free_level(uint64_t *t, int level)
{
    if (level > 0)
        for (int i = 0; i < 512; i++)
            if ((t[i] & EPT_RWX) && !(t[i] & EPT_LEAF_2M))
                free_level(phys_to_virt(t[i] & EPT_ADDR_MASK), level - 1);
    kmem_free_pages(t, 1);
}

void ept_destroy(struct ept *e)
{
    if (e->pml4)
        free_level(e->pml4, LEVELS - 1);
    memset(e, 0, sizeof(*e));
}

static bool split_2m(struct ept *e, uint64_t *pde)
{
    uint64_t *pt = new_table(e);
    if (!pt)
        return false;
    uint64_t base = *pde & EPT_ADDR_MASK & ~((2ull << 20) - 1);
    uint64_t attrs = *pde & (EPT_MEMTYPE_WB | EPT_RWX);
    for (int i = 0; i < 512; i++)
        pt[i] = (base + ((uint64_t)i << 12)) | attrs;
    *pde = virt_to_phys(pt) | EPT_RWX;
    return true;
}

static uint64_t *leaf_4k(struct ept *e, uint64_t gpa)
{
    uint64_t *t = e->pml4;
    for (int l = LEVELS - 1; l > 0; l--) {
        uint64_t *entry = &t[index_at(gpa, l)];
        if (!(*entry & EPT_RWX))
            return NULL;
        if ((*entry & EPT_LEAF_2M) && (l != 1 || !split_2m(e, entry)))
            return NULL;
        t = phys_to_virt(*entry & EPT_ADDR_MASK);
    }
    uint64_t *pte = &t[index_at(gpa, 0)];
    return (*pte & EPT_ADDR_MASK) ? pte : NULL;
}

bool ept_set_permissions(struct ept *e, uint64_t gpa, uint64_t len, unsigned perms)
{
    uint64_t end = gpa + len;
    if (end < gpa || end > EPT_GPA_LIMIT)
        return false;
    /* Every leaf split and every page found first: a split keeps the mapping as it was, so
     * running out of frames or meeting a page not mapped changes nothing. */
    for (uint64_t a = gpa & ~0xfffull; a < end; a += 4096)
        if (!leaf_4k(e, a))
            return false;
    for (uint64_t a = gpa & ~0xfffull; a < end; a += 4096) {
        uint64_t *pte = leaf_4k(e, a);
        *pte = (*pte & ~(uint64_t)EPT_RWX) | (perms & EPT_RWX);
    }
    return true;
}

bool ept_map_page(struct ept *e, uint64_t gpa, uint64_t hpa, unsigned perms,
                  bool write_combining)
{
    uint64_t *pt = gpa < EPT_GPA_LIMIT ? table_for(e, gpa, 0) : NULL;
    if (!pt || pt[index_at(gpa, 0)])        /* never over RAM or another foreign page */
        return false;
    pt[index_at(gpa, 0)] = (hpa & EPT_ADDR_MASK) |
                           (write_combining ? EPT_MEMTYPE_WC : EPT_MEMTYPE_WB) |
                           (perms & EPT_RWX) | EPT_FOREIGN;
    return true;
}

/* The page-table entry for gpa, splitting nothing; NULL under a 2 MiB leaf or no table. */
static uint64_t *pte_of(const struct ept *e, uint64_t gpa)
{
    uint64_t *t = e->pml4;
    for (int l = LEVELS - 1; l > 0; l--) {
        uint64_t entry = t[index_at(gpa, l)];
        if (!(entry & EPT_RWX) || (entry & EPT_LEAF_2M))
            return NULL;
        t = phys_to_virt(entry & EPT_ADDR_MASK);
    }
    return &t[index_at(gpa, 0)];
}

void ept_unmap_page(struct ept *e, uint64_t gpa)
{
    uint64_t *pte = gpa < EPT_GPA_LIMIT ? pte_of(e, gpa) : NULL;
    if (pte && (*pte & EPT_FOREIGN))        /* RAM stays mapped */
        *pte = 0;
}

uint64_t ept_translate(const struct ept *e, uint64_t gpa)
{
    if (gpa >= EPT_GPA_LIMIT)
        return ~0ull;
    const uint64_t *t = e->pml4;
    for (int l = LEVELS - 1; l >= 0; l--) {
        uint64_t entry = t[index_at(gpa, l)];
        if (!(entry & EPT_RWX) && !(entry & EPT_ADDR_MASK))
            return ~0ull;
        if (l == 0)
            return (entry & EPT_ADDR_MASK) | (gpa & 0xfff);
        if (l == 1 && (entry & EPT_LEAF_2M))
            return (entry & EPT_ADDR_MASK & ~((2ull << 20) - 1)) | (gpa & ((2ull << 20) - 1));
        t = phys_to_virt(entry & EPT_ADDR_MASK);
    }
    return ~0ull;
}

void ept_invalidate_local(const struct ept *e)
{
    struct { uint64_t eptp, reserved; } desc = { e->eptp, 0 };
    __asm__ volatile("invept %0, %1" : : "m"(desc), "r"(1ull) : "cc", "memory");
}
