#include "hv/arch/x86/paging.h"

#include <string.h>
#include "hv/arch/x86/boot_layout.h"
#include "hv/arch/x86/cpu.h"

#define PTE_P    0x001ull
#define PTE_W    0x002ull
#define PTE_PS   0x080ull
#define PTE_G    0x100ull
#define GIB      (1ull << 30)
#define MAX_2M_PDS  64              /* 64 GiB direct map without 1 GiB pages */
#define MAX_PDPTS   4               /* 2 TiB direct map with 1 GiB pages */

typedef uint64_t table_t[512] __attribute__((aligned(4096)));

static table_t pml4, kernel_pdpt, direct_pdpts[MAX_PDPTS], direct_pds[MAX_2M_PDS];

static uint64_t phys_of(const void *kernel_va) { return (uint64_t)kernel_va - KERNEL_VIRT_OFFSET; }

static bool has_1g_pages(void)
{
    return cpuid(0x80000001, 0).edx & (1u << 26);
}

uint64_t paging_init(uint64_t top)
{
    bool big = has_1g_pages();
    uint64_t gib = (top + GIB - 1) / GIB;
    if (gib < 4)
        gib = 4;
    uint64_t max_gib = big ? MAX_PDPTS * 512ull : MAX_2M_PDS;
    if (gib > max_gib)
        gib = max_gib;

    for (uint64_t g = 0; g < gib; g++) {
        uint64_t *pdpt = direct_pdpts[g / 512];
        if (big) {
            pdpt[g % 512] = (g * GIB) | PTE_P | PTE_W | PTE_PS | PTE_G;
        } else {
            for (unsigned i = 0; i < 512; i++)
                direct_pds[g][i] = (g * GIB + ((uint64_t)i << 21)) | PTE_P | PTE_W | PTE_PS | PTE_G;
            pdpt[g % 512] = phys_of(direct_pds[g]) | PTE_P | PTE_W;
        }
    }
    for (uint64_t p = 0; p * 512 < gib; p++)
        pml4[256 + p] = phys_of(direct_pdpts[p]) | PTE_P | PTE_W;
    pml4[0] = pml4[256];            /* identity, until every CPU is in the high half */

    /* -2 GiB -> physical 0..1 GiB: the kernel image and its static data. */
    if (big)
        kernel_pdpt[510] = 0 | PTE_P | PTE_W | PTE_PS | PTE_G;
    else
        kernel_pdpt[510] = phys_of(direct_pds[0]) | PTE_P | PTE_W;
    pml4[511] = phys_of(kernel_pdpt) | PTE_P | PTE_W;

    write_cr4(read_cr4() | (1u << 7));     /* PGE */
    write_cr3(phys_of(pml4));
    return gib * GIB;
}

uint64_t paging_root(void) { return phys_of(pml4); }

void paging_drop_identity(void)
{
    pml4[0] = 0;
    write_cr3(phys_of(pml4));
}
