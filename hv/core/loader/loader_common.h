/* Helpers the loaders share. */
#ifndef ATOLL_HV_CORE_LOADER_COMMON_H
#define ATOLL_HV_CORE_LOADER_COMMON_H
#include "hv/core/loader/loader.h"
#include "hv/lib/format.h"

#define loader_fail(err, size, ...) (fmt_snprintf((err), (size), __VA_ARGS__), -1)

static inline bool range_in(uint64_t off, uint64_t len, uint64_t total)
{
    return off <= total && len <= total - off;
}

/* What the platform places in [gpa, gpa + len): the name of the first reserved range it
 * overlaps (BIOS data area, start-up stack and boot information, EBDA/VGA/BIOS area with
 * the ACPI tables), or NULL when it overlaps none. */
const char *loader_reserved_overlap(uint64_t gpa, uint64_t len);

/* Places one loadable segment: file bytes [offset, offset+filesz) at guest-physical paddr,
 * zero-filled to memsz, entirely inside RAM and outside every reserved range (so low
 * memory is fine).  0, or -1 with the reason. */
int loader_place_segment(const struct guest_image_target *t, const struct loader_input *in,
                         unsigned index, uint64_t offset, uint64_t filesz, uint64_t paddr,
                         uint64_t memsz, char *err, size_t err_size);

/* A program header of either ELF class, as loader_place_segments reads it. */
struct loader_segment {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

/* Places every loadable segment (PT_LOAD, memsz > 0) of the program header table at phoff:
 * phnum entries phentsize bytes apart, each entry_size bytes in the file that read_entry
 * decodes.  0, or -1 with the reason (a header outside the file, a segment that does not
 * fit, no loadable segment). */
int loader_place_segments(const struct guest_image_target *t, const struct loader_input *in,
                          uint64_t phoff, unsigned phnum, unsigned phentsize, size_t entry_size,
                          void (*read_entry)(const uint8_t *entry, struct loader_segment *seg),
                          char *err, size_t err_size);

/* A GDT with flat 64-bit code (0x08) and data (0x10), plus 32-bit code at 0x18. */
bool loader_write_gdt(const struct guest_image_target *t, struct vcpu_start *st);
/* Identity map of the low 4 GiB with 2 MiB pages at LOADER_PAGE_TABLES. */
bool loader_write_identity_map(const struct guest_image_target *t, uint64_t *cr3);

/* The partition's ACPI tables (RSDP, XSDT, RSDT, FADT with the PM timer, FACS, MADT, HPET,
 * DSDT) at tables_base, the RSDP's copy in the EBDA and the EBDA pointer at 0x40E
 * (hv/core/loader/loader_acpi.c).  False when the tables cannot be built or written. */
bool loader_write_acpi(const struct guest_image_target *t, uint64_t tables_base);

#endif
