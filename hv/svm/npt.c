#include "hv/svm/npt.h"

#include <string.h>
#include "hv/mm/kmem.h"

#define PTE_P           (1ull << 0)
#define PTE_RW          (1ull << 1)
#define PTE_US          (1ull << 2)
#define PTE_PS          (1ull << 7)
#define PTE_FOREIGN     (1ull << 9)     /* ignored by the CPU: mapped by npt_map_page */
#define PTE_ADDR_MASK   0x000ffffffffff000ull
#define PTE_TABLE       (PTE_P | PTE_RW | PTE_US)
#define LEVELS          4
#define NPT_GPA_LIMIT   (1ull << 48)

static unsigned index_at(uint64_t gpa, int level) { return (gpa >> (12 + 9 * level)) & 511; }

static uint64_t leaf_bits(unsigned perms)
{
    return (perms & NPT_READ ? PTE_P | PTE_US : 0) | (perms & NPT_WRITE ? PTE_RW : 0);
}

static uint64_t *new_table(struct npt *n)
{
    uint64_t *t = kmem_alloc_pages(1);
    if (t) {
        memset(t, 0, 4096);
        n->table_pages++;
    }
    return t;
}

/* The table at `level` (0 = page table) covering gpa, created on demand; when that fails,
 * the tables this call made are taken out again. */
static uint64_t *table_for(struct npt *n, uint64_t gpa, int level)
{
    uint64_t *made[LEVELS];
    int count = 0;
    uint64_t *t = n->pml4;
    for (int l = LEVELS - 1; l > level; l--) {
        uint64_t *entry = &t[index_at(gpa, l)];
        if (!(*entry & PTE_P)) {
            uint64_t *next = new_table(n);
            if (!next)
                goto undo;
            *entry = virt_to_phys(next) | PTE_TABLE;
            made[count++] = entry;
        } else if (*entry & PTE_PS) {
            goto undo;
        }
        t = phys_to_virt(*entry & PTE_ADDR_MASK);
    }
    return t;
undo:
    while (count--) {
        kmem_free_pages(phys_to_virt(*made[count] & PTE_ADDR_MASK), 1);
        n->table_pages--;
        *made[count] = 0;
    }
    return NULL;
}

bool npt_build(struct npt *n, const struct guest_mem *m, bool large_pages)
{
    memset(n, 0, sizeof(*n));
    n->pml4 = new_table(n);
    if (!n->pml4)
        return false;
    n->ncr3 = virt_to_phys(n->pml4);
    for (uint64_t gpa = 0; gpa < m->size; ) {
        const struct guest_chunk *c = &m->chunks[gpa / GUEST_CHUNK_SIZE];
        if (large_pages && c->hpa && (gpa % GUEST_CHUNK_SIZE) == 0 &&
            m->size - gpa >= GUEST_CHUNK_SIZE) {
            uint64_t *pd = table_for(n, gpa, 1);
            if (!pd)
                goto fail;
            pd[index_at(gpa, 1)] = c->hpa | PTE_PS | leaf_bits(NPT_ALL);
            gpa += GUEST_CHUNK_SIZE;
            continue;
        }
        uint64_t *pt = table_for(n, gpa, 0);
        if (!pt)
            goto fail;
        pt[index_at(gpa, 0)] = guest_mem_hpa(m, gpa) | leaf_bits(NPT_ALL);
        gpa += GUEST_PAGE_SIZE;
    }
    return true;
fail:
    npt_destroy(n);
    return false;
}

static void free_level(uint64_t *t, int level)
{
    if (level > 0)
        for (int i = 0; i < 512; i++)
            if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
                free_level(phys_to_virt(t[i] & PTE_ADDR_MASK), level - 1);
    kmem_free_pages(t, 1);
}

void npt_destroy(struct npt *n)
{
    if (n->pml4)
        free_level(n->pml4, LEVELS - 1);
    memset(n, 0, sizeof(*n));
}

static bool split_2m(struct npt *n, uint64_t *pde)
{
    uint64_t *pt = new_table(n);
    if (!pt)
        return false;
    uint64_t base = *pde & PTE_ADDR_MASK & ~((2ull << 20) - 1);
    uint64_t attrs = *pde & (PTE_P | PTE_RW | PTE_US);
    for (int i = 0; i < 512; i++)
        pt[i] = (base + ((uint64_t)i << 12)) | attrs;
    *pde = virt_to_phys(pt) | PTE_TABLE;
    return true;
}

/* RAM's 4 KiB entry for gpa (present or made absent), splitting a 2 MiB leaf on the way. */
static uint64_t *leaf_4k(struct npt *n, uint64_t gpa)
{
    uint64_t *t = n->pml4;
    for (int l = LEVELS - 1; l > 0; l--) {
        uint64_t *entry = &t[index_at(gpa, l)];
        if (!(*entry & PTE_P))
            return NULL;
        if ((*entry & PTE_PS) && (l != 1 || !split_2m(n, entry)))
            return NULL;
        t = phys_to_virt(*entry & PTE_ADDR_MASK);
    }
    uint64_t *pte = &t[index_at(gpa, 0)];
    return (*pte & PTE_ADDR_MASK) && !(*pte & PTE_FOREIGN) ? pte : NULL;
}

bool npt_set_permissions(struct npt *n, uint64_t gpa, uint64_t len, unsigned perms)
{
    uint64_t end = gpa + len;
    if (end < gpa || end > NPT_GPA_LIMIT)
        return false;
    for (uint64_t a = gpa & ~0xfffull; a < end; a += 4096)
        if (!leaf_4k(n, a))
            return false;
    for (uint64_t a = gpa & ~0xfffull; a < end; a += 4096) {
        uint64_t *pte = leaf_4k(n, a);
        *pte = (*pte & ~(PTE_P | PTE_RW | PTE_US)) | leaf_bits(perms);
    }
    return true;
}

bool npt_map_page(struct npt *n, uint64_t gpa, uint64_t hpa, unsigned perms)
{
    uint64_t *pt = gpa < NPT_GPA_LIMIT ? table_for(n, gpa, 0) : NULL;
    if (!pt || pt[index_at(gpa, 0)])
        return false;
    pt[index_at(gpa, 0)] = (hpa & PTE_ADDR_MASK) | leaf_bits(perms) | PTE_FOREIGN;
    return true;
}

void npt_unmap_page(struct npt *n, uint64_t gpa)
{
    if (gpa >= NPT_GPA_LIMIT)
        return;
    uint64_t *t = n->pml4;
    for (int l = LEVELS - 1; l > 0; l--) {
        uint64_t entry = t[index_at(gpa, l)];
        if (!(entry & PTE_P) || (entry & PTE_PS))
            return;
        t = phys_to_virt(entry & PTE_ADDR_MASK);
    }
    if (t[index_at(gpa, 0)] & PTE_FOREIGN)
        t[index_at(gpa, 0)] = 0;
}
