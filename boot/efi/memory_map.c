#include "boot/efi/memory_map.h"

#define UEFI_PAGE_SHIFT 12

uint32_t memory_map_boot_type(uint32_t uefi_type)
{
    switch (uefi_type) {
    case UEFI_MEM_CONVENTIONAL:
    case UEFI_MEM_BOOT_CODE:
    case UEFI_MEM_BOOT_DATA:
    case UEFI_MEM_LOADER_CODE:
    case UEFI_MEM_LOADER_DATA:
        return BOOT_MEM_USABLE;
    case UEFI_MEM_ACPI_RECLAIM:
        return BOOT_MEM_ACPI_RECLAIM;
    case UEFI_MEM_ACPI_NVS:
        return BOOT_MEM_ACPI_NVS;
    case UEFI_MEM_RUNTIME_CODE:
    case UEFI_MEM_RUNTIME_DATA:
        return BOOT_MEM_FIRMWARE;
    case UEFI_MEM_UNUSABLE:
        return BOOT_MEM_BAD;
    case UEFI_MEM_ATOLL_LOADER:
        return BOOT_MEM_LOADER;
    default:
        return BOOT_MEM_RESERVED;
    }
}

static struct uefi_mem_desc *desc_at(void *descs, size_t i, size_t stride)
{
    return (struct uefi_mem_desc *)((unsigned char *)descs + i * stride);
}

static void swap_bytes(void *a, void *b, size_t n)
{
    unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        unsigned char t = x[i];
        x[i] = y[i];
        y[i] = t;
    }
}

void memory_map_sort(void *descs, size_t count, size_t stride)
{
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0; j--) {
            struct uefi_mem_desc *prev = desc_at(descs, j - 1, stride);
            struct uefi_mem_desc *cur = desc_at(descs, j, stride);
            if (prev->phys_start <= cur->phys_start)
                break;
            swap_bytes(prev, cur, stride);
        }
}

static int append_range(struct boot_mem_range *out, uint32_t n, uint32_t max,
                        uint64_t base, uint64_t length, uint32_t type)
{
    if (n > 0) {
        struct boot_mem_range *last = &out[n - 1];
        if (last->type == type && last->base + last->length == base) {
            last->length += length;
            return 0;
        }
    }
    if (n == max)
        return 0;
    out[n] = (struct boot_mem_range){.base = base, .length = length, .type = type};
    return 1;
}

uint32_t memory_map_convert(void *descs, size_t count, size_t stride,
                            struct boot_mem_range *out, uint32_t max)
{
    memory_map_sort(descs, count, stride);
    uint32_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const struct uefi_mem_desc *d = desc_at(descs, i, stride);
        if (d->pages == 0 || d->pages > (UINT64_MAX - d->phys_start) >> UEFI_PAGE_SHIFT)
            continue;
        n += append_range(out, n, max, d->phys_start, d->pages << UEFI_PAGE_SHIFT,
                          memory_map_boot_type(d->type));
    }
    return n;
}

static bool reclaimable_type(uint32_t type)
{
    return type == UEFI_MEM_CONVENTIONAL || type == UEFI_MEM_BOOT_CODE ||
           type == UEFI_MEM_BOOT_DATA;
}

bool memory_map_reclaimable(void *descs, size_t count, size_t stride, uint64_t base,
                            uint64_t end)
{
    memory_map_sort(descs, count, stride);
    uint64_t covered = base;
    for (size_t i = 0; i < count && covered < end; i++) {
        const struct uefi_mem_desc *d = desc_at(descs, i, stride);
        uint64_t d_end = d->phys_start + (d->pages << UEFI_PAGE_SHIFT);
        if (d_end <= covered)
            continue;
        if (d->phys_start > covered || !reclaimable_type(d->type))
            return false;
        covered = d_end;
    }
    return covered >= end;
}

/* Rebuilds out[] with [base, end) cut out of every range, then inserts it. */
static uint32_t cut_out(struct boot_mem_range *out, uint32_t n, uint32_t max,
                        uint64_t base, uint64_t end)
{
    struct boot_mem_range tmp[BOOTINFO_MAX_MEM + 2];
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct boot_mem_range r = out[i];
        uint64_t r_end = r.base + r.length;
        if (r_end <= base || r.base >= end) {
            tmp[m++] = r;
            continue;
        }
        if (r.base < base)
            tmp[m++] = (struct boot_mem_range){.base = r.base, .length = base - r.base,
                                               .type = r.type};
        if (r_end > end)
            tmp[m++] = (struct boot_mem_range){.base = end, .length = r_end - end,
                                               .type = r.type};
    }
    if (m > max)
        m = max;
    for (uint32_t i = 0; i < m; i++)
        out[i] = tmp[i];
    return m;
}

uint32_t memory_map_claim(struct boot_mem_range *out, uint32_t n, uint32_t max,
                          uint64_t base, uint64_t end, uint32_t type)
{
    if (max > BOOTINFO_MAX_MEM || n > max || base >= end)
        return n;
    n = cut_out(out, n, max, base, end);
    uint32_t at = 0;
    while (at < n && out[at].base < base)
        at++;
    if (n == max) {
        n--; /* drop the highest range to make room */
        at = at > n ? n : at;
    }
    for (uint32_t i = n; i > at; i--)
        out[i] = out[i - 1];
    out[at] = (struct boot_mem_range){.base = base, .length = end - base, .type = type};
    n++;
    uint32_t merged = 0;
    for (uint32_t i = 0; i < n; i++)
        merged += append_range(out, merged, max, out[i].base, out[i].length, out[i].type);
    return merged;
}
