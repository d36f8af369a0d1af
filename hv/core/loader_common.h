/* Helpers the loaders share. */
#ifndef ATOLL_HV_CORE_LOADER_COMMON_H
#define ATOLL_HV_CORE_LOADER_COMMON_H
#include "hv/core/loader.h"
#include "hv/lib/format.h"

#define loader_fail(err, size, ...) (fmt_snprintf((err), (size), __VA_ARGS__), -1)

static inline bool range_in(uint64_t off, uint64_t len, uint64_t total)
{
    return off <= total && len <= total - off;
}

/* A GDT with flat 64-bit code (0x08) and data (0x10), plus 32-bit code at 0x18. */
bool loader_write_gdt(const struct guest_image_target *t, struct vcpu_start *st);
/* Identity map of the low 4 GiB with 2 MiB pages at LOADER_PAGE_TABLES. */
bool loader_write_identity_map(const struct guest_image_target *t, uint64_t *cr3);

#endif
