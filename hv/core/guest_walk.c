#include "hv/core/guest_walk.h"

#include "hv/lib/x86_bits.h"
#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#endif

#define PTE_P     1ull
#define PTE_RW    (1ull << 1)
#define PTE_US    (1ull << 2)
#define PTE_PS    (1ull << 7)
#define PTE_XD    (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull

/* The access rights of a translation: R/W and U/S of every level ANDed, XD ORed. */
struct rights {
    bool write, user, no_exec;
};

static void take_rights(struct rights *r, uint64_t entry, bool nxe)
{
    r->write &= (entry & PTE_RW) != 0;
    r->user &= (entry & PTE_US) != 0;
    r->no_exec |= nxe && (entry & PTE_XD);
}

/* Bits hi..lo set; none when hi < lo. */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
    if (hi < lo || lo > 63)
        return 0;
    return (~0ull >> (63 - hi)) & ~((1ull << lo) - 1);
}

static enum guest_walk_result walk_32bit(const struct guest_mem *m, const struct guest_paging *pg,
                                         const struct guest_walk_cpu *cpu, uint32_t linear,
                                         uint64_t *gpa, struct rights *r)
{
    uint32_t pde, pte;
    if (!guest_mem_read(m, (pg->cr3 & 0xfffff000u) + (linear >> 22) * 4, &pde, 4))
        return GUEST_WALK_OUTSIDE_RAM;
    if (!(pde & PTE_P))
        return GUEST_WALK_NOT_PRESENT;
    take_rights(r, pde, false);
    if ((pde & PTE_PS) && (pg->cr4 & CR4_PSE)) {    /* 4 MiB page; PSE-36 above 4 GiB */
        unsigned width = cpu->maxphyaddr < 40 ? cpu->maxphyaddr : 40;
        if (pde & ((1u << 21) | bit_range(20, width - 19)))
            return GUEST_WALK_RESERVED;
        *gpa = (pde & 0xffc00000u) | ((uint64_t)((pde >> 13) & 0xff) << 32) |
               (linear & 0x3fffffu);
        return GUEST_WALK_OK;
    }
    if (!guest_mem_read(m, (pde & 0xfffff000u) + ((linear >> 12) & 0x3ff) * 4, &pte, 4))
        return GUEST_WALK_OUTSIDE_RAM;
    if (!(pte & PTE_P))
        return GUEST_WALK_NOT_PRESENT;
    take_rights(r, pte, false);
    *gpa = (pte & 0xfffff000u) | (linear & 0xfffu);
    return GUEST_WALK_OK;
}

/* From the table at `top` (0 = page table) down; `reserved` holds the bits no entry may set. */
static enum guest_walk_result walk_levels(const struct guest_mem *m, const struct guest_walk_cpu *cpu,
                                          uint64_t table, int top, uint64_t reserved, bool nxe,
                                          uint64_t linear, uint64_t *gpa, struct rights *r)
{
    for (int level = top; level >= 0; level--) {
        unsigned shift = 12 + 9 * (unsigned)level;
        uint64_t e;
        if (!guest_mem_read(m, table + ((linear >> shift) & 511) * 8, &e, 8))
            return GUEST_WALK_OUTSIDE_RAM;
        if (!(e & PTE_P))
            return GUEST_WALK_NOT_PRESENT;
        if (e & reserved)
            return GUEST_WALK_RESERVED;
        take_rights(r, e, nxe);
        if (level > 0 && (e & PTE_PS)) {
            /* 2 MiB and (where supported) 1 GiB pages; PS is reserved higher up. */
            if (level > 2 || (level == 2 && !cpu->pages_1g) || (e & bit_range(shift - 1, 13)))
                return GUEST_WALK_RESERVED;
            uint64_t offset = (1ull << shift) - 1;
            *gpa = (e & ADDR_MASK & ~offset) | (linear & offset);
            return GUEST_WALK_OK;
        }
        table = e & ADDR_MASK;
    }
    *gpa = table | (linear & 0xfff);
    return GUEST_WALK_OK;
}

static enum guest_walk_result walk_pae(const struct guest_mem *m, const struct guest_paging *pg,
                                       const struct guest_walk_cpu *cpu, uint32_t linear,
                                       uint64_t *gpa, struct rights *r)
{
    uint64_t pdpte;
    if (!guest_mem_read(m, (pg->cr3 & 0xffffffe0u) + (linear >> 30) * 8, &pdpte, 8))
        return GUEST_WALK_OUTSIDE_RAM;
    if (!(pdpte & PTE_P))
        return GUEST_WALK_NOT_PRESENT;
    if (pdpte & (bit_range(63, cpu->maxphyaddr) | bit_range(8, 5) | bit_range(2, 1)))
        return GUEST_WALK_RESERVED;
    uint64_t reserved = bit_range(62, cpu->maxphyaddr) | ((pg->efer & EFER_NXE) ? 0 : PTE_XD);
    return walk_levels(m, cpu, pdpte & ADDR_MASK, 1, reserved, pg->efer & EFER_NXE, linear,
                       gpa, r);
}

static enum guest_walk_result translate(const struct guest_mem *m, const struct guest_paging *pg,
                                        const struct guest_walk_cpu *cpu, uint64_t linear,
                                        uint64_t *gpa, struct rights *r)
{
    if (!(pg->cr0 & CR0_PG)) {
        *gpa = linear & 0xffffffffull;
        return GUEST_WALK_OK;
    }
    if (!(pg->cr4 & CR4_PAE))
        return walk_32bit(m, pg, cpu, (uint32_t)linear, gpa, r);
    if (!(pg->efer & EFER_LMA))
        return walk_pae(m, pg, cpu, (uint32_t)linear, gpa, r);
    unsigned width = (pg->cr4 & CR4_LA57) ? 57 : 48;
    if ((uint64_t)((int64_t)(linear << (64 - width)) >> (64 - width)) != linear)
        return GUEST_WALK_NON_CANONICAL;
    uint64_t reserved = bit_range(51, cpu->maxphyaddr) | ((pg->efer & EFER_NXE) ? 0 : PTE_XD);
    uint64_t root = pg->cr3 & ADDR_MASK & ~bit_range(51, cpu->maxphyaddr);
    return walk_levels(m, cpu, root, (pg->cr4 & CR4_LA57) ? 4 : 3, reserved,
                       pg->efer & EFER_NXE, linear, gpa, r);
}

enum guest_walk_result guest_walk(const struct guest_mem *m, const struct guest_paging *pg,
                                  const struct guest_walk_cpu *cpu, uint64_t linear,
                                  uint64_t *gpa)
{
    struct rights r = { true, true, false };
    return translate(m, pg, cpu, linear, gpa, &r);
}

/* SDM Vol. 3A, 4.6. */
static bool allowed(const struct guest_paging *pg, const struct guest_access *a,
                    const struct rights *r)
{
    if (!(pg->cr0 & CR0_PG))
        return true;
    if (a->user && !r->user)
        return false;
    if (!a->user && !a->fetch && r->user && (pg->cr4 & CR4_SMAP) && !a->ac)
        return false;
    if (a->write && !r->write && (a->user || (pg->cr0 & CR0_WP)))
        return false;
    if (a->fetch && (r->no_exec || (!a->user && r->user && (pg->cr4 & CR4_SMEP))))
        return false;
    return true;
}

enum guest_walk_result guest_walk_access(const struct guest_mem *m, const struct guest_paging *pg,
                                         const struct guest_walk_cpu *cpu, uint64_t linear,
                                         const struct guest_access *a, uint64_t *gpa)
{
    struct rights r = { true, true, false };
    enum guest_walk_result res = translate(m, pg, cpu, linear, gpa, &r);
    if (res == GUEST_WALK_OK && !allowed(pg, a, &r))
        return GUEST_WALK_PROTECTION;
    return res;
}

#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_ID   (1u << 4)

/* SDM Vol. 3A, 4.7; APM Vol. 2, 8.4.2.  A table outside RAM is taken as unassigned space,
 * which reads as all-ones on a machine: reserved bits set.  (The walk does not read device
 * registers or another partition's pages as tables.) */
bool guest_walk_fault(enum guest_walk_result r, const struct guest_paging *pg,
                      const struct guest_access *a, struct guest_fault *f)
{
    if (r == GUEST_WALK_OK)
        return false;
    if (r == GUEST_WALK_NON_CANONICAL) {
        *f = (struct guest_fault){ .vector = 13, .error = 0 };
        return true;
    }
    uint32_t e = 0;
    if (r == GUEST_WALK_PROTECTION)
        e |= PF_P;
    else if (r == GUEST_WALK_RESERVED || r == GUEST_WALK_OUTSIDE_RAM)
        e |= PF_P | PF_RSVD;
    e |= a->write ? PF_W : 0;
    e |= a->user ? PF_U : 0;
    bool nx = (pg->cr4 & CR4_PAE) && (pg->efer & EFER_NXE);
    e |= a->fetch && (nx || (pg->cr4 & CR4_SMEP)) ? PF_ID : 0;
    *f = (struct guest_fault){ .vector = 14, .error = e };
    return true;
}

/* The guest sees this CPU's physical address width and page sizes (cpuid_policy.c). */
static struct guest_walk_cpu walk_cpu(void)
{
#ifdef ATOLL_KERNEL
    return (struct guest_walk_cpu){ .maxphyaddr = cpuid(0x80000008u, 0).eax & 0xff,
                                    .pages_1g = (cpuid(0x80000001u, 0).edx >> 26) & 1 };
#else
    return (struct guest_walk_cpu){ .maxphyaddr = 52, .pages_1g = true };
#endif
}

bool guest_linear_to_phys(const struct guest_mem *m, const struct guest_paging *pg,
                          uint64_t linear, uint64_t *gpa)
{
    struct guest_walk_cpu cpu = walk_cpu();
    return guest_walk(m, pg, &cpu, linear, gpa) == GUEST_WALK_OK;
}

enum guest_walk_result guest_translate(const struct guest_mem *m, const struct guest_paging *pg,
                                       uint64_t linear, const struct guest_access *a,
                                       uint64_t *gpa)
{
    struct guest_walk_cpu cpu = walk_cpu();
    return guest_walk_access(m, pg, &cpu, linear, a, gpa);
}

bool guest_read_linear(const struct guest_mem *m, const struct guest_paging *pg,
                       uint64_t linear, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len) {
        size_t n = 4096 - (linear & 0xfff);
        if (n > len)
            n = len;
        uint64_t gpa;
        if (!guest_linear_to_phys(m, pg, linear, &gpa) || !guest_mem_read(m, gpa, out, n))
            return false;
        out += n, linear += n, len -= n;
    }
    return true;
}
