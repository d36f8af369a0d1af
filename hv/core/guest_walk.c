#include "hv/core/guest_walk.h"

#define CR0_PG   (1ull << 31)
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define EFER_LMA (1ull << 10)
#define PTE_P    1ull
#define PTE_PS   (1ull << 7)
#define ADDR_MASK 0x000ffffffffff000ull

static bool read_entry(const struct guest_mem *m, uint64_t gpa, uint64_t *e, bool wide)
{
    if (wide)
        return guest_mem_read(m, gpa, e, 8);
    uint32_t e32;
    if (!guest_mem_read(m, gpa, &e32, 4))
        return false;
    *e = e32;
    return true;
}

bool guest_linear_to_phys(const struct guest_mem *m, const struct guest_paging *pg,
                          uint64_t linear, uint64_t *gpa)
{
    if (!(pg->cr0 & CR0_PG)) {
        *gpa = linear & 0xffffffffull;
        return true;
    }
    uint64_t e;
    if (!(pg->cr4 & CR4_PAE)) {         /* 32-bit paging */
        linear &= 0xffffffffull;
        if (!read_entry(m, (pg->cr3 & 0xfffff000ull) + ((linear >> 22) << 2), &e, false) || !(e & PTE_P))
            return false;
        if ((e & PTE_PS) && (pg->cr4 & CR4_PSE)) {
            *gpa = (e & 0xffc00000ull) | (linear & 0x3fffff);
            return true;
        }
        if (!read_entry(m, (e & 0xfffff000ull) + (((linear >> 12) & 0x3ff) << 2), &e, false) || !(e & PTE_P))
            return false;
        *gpa = (e & 0xfffff000ull) | (linear & 0xfff);
        return true;
    }
    int levels;
    uint64_t table;
    if (pg->efer & EFER_LMA) {
        levels = 4;
        table = pg->cr3 & ADDR_MASK;
    } else {                            /* PAE: the PDPTE first */
        linear &= 0xffffffffull;
        if (!read_entry(m, (pg->cr3 & 0xffffffe0ull) + ((linear >> 30) << 3), &e, true) || !(e & PTE_P))
            return false;
        levels = 2;
        table = e & ADDR_MASK;
    }
    for (int level = levels - 1; level >= 0; level--) {
        unsigned shift = 12 + 9 * (unsigned)level;
        if (!read_entry(m, table + (((linear >> shift) & 511) << 3), &e, true) || !(e & PTE_P))
            return false;
        if (level > 0 && level < 3 && (e & PTE_PS)) {
            uint64_t size = 1ull << shift;
            *gpa = (e & ADDR_MASK & ~(size - 1)) | (linear & (size - 1));
            return true;
        }
        table = e & ADDR_MASK;
    }
    *gpa = table | (linear & 0xfff);
    return true;
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
