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

/* Places one loadable segment: file bytes [offset, offset+filesz) at guest-physical paddr,
 * zero-filled to memsz, entirely inside RAM above 1 MiB.  0, or -1 with the reason. */
int loader_place_segment(const struct guest_image_target *t, const struct loader_input *in,
                         unsigned index, uint64_t offset, uint64_t filesz, uint64_t paddr,
                         uint64_t memsz, char *err, size_t err_size);

/* A GDT with flat 64-bit code (0x08) and data (0x10), plus 32-bit code at 0x18. */
bool loader_write_gdt(const struct guest_image_target *t, struct vcpu_start *st);
/* Identity map of the low 4 GiB with 2 MiB pages at LOADER_PAGE_TABLES. */
bool loader_write_identity_map(const struct guest_image_target *t, uint64_t *cr3);

#endif
