/*
 * Loading a partition's image into its memory and choosing its first instruction.
 * Portable: images are hostile input, so every loader checks every offset and length, and
 * writes guest memory only through the callback (which refuses anything outside RAM).
 */
#ifndef ATOLL_HV_CORE_LOADER_H
#define ATOLL_HV_CORE_LOADER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/virt.h"

struct guest_image_target {
    void *ctx;
    bool (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
    bool (*zero)(void *ctx, uint64_t gpa, size_t len);
    uint64_t ram_bytes;
    unsigned vcpus;
    bool pci_host;      /* a PCI host bridge (Linux finds it only through ACPI) */
};

struct loader_input {
    const uint8_t *image;
    size_t image_len;
    const char *image_name;
    const uint8_t *initrd;       /* linux only; NULL when none */
    size_t initrd_len;
    const char *cmdline;
};

/* Each returns 0 and fills *start, or -1 with a one-line reason in err. */
int load_flat(const struct guest_image_target *t, const struct loader_input *in,
              struct vcpu_start *start, char *err, size_t err_size);
int load_multiboot(const struct guest_image_target *t, const struct loader_input *in,
                   struct vcpu_start *start, char *err, size_t err_size);
int load_elf64(const struct guest_image_target *t, const struct loader_input *in,
               struct vcpu_start *start, char *err, size_t err_size);
/* Linux: a bzImage (64-bit boot protocol) or an uncompressed vmlinux (PVH entry), with the
 * partition's ACPI tables at LOADER_ACPI_TABLES (hv/core/loader/loader_linux.c). */
int load_linux(const struct guest_image_target *t, const struct loader_input *in,
               struct vcpu_start *start, char *err, size_t err_size);

/*
 * Guest-physical layout the loaders share, below 1 MiB.  Every partition gets ACPI tables
 * (hv/core/loader/loader_acpi.c), found as firmware leaves them: the RSDP at the start of the
 * tables, a copy of it in the first KiB of the EBDA, and the EBDA's segment in the BIOS
 * data area at 0x40E.  An image's segments may go anywhere in RAM except the ranges
 * listed by loader_reserved_overlap (hv/core/loader/loader_common.h).
 */
#define LOADER_BDA_EBDA_PTR  0x40eull     /* BIOS data area: the EBDA's real-mode segment */
#define LOADER_STACK_BOTTOM  0x6c000ull   /* ELF64: a 4 KiB start-up stack */
#define LOADER_STACK_TOP     0x6d000ull
#define LOADER_BOOT_INFO     0x6d000ull   /* Multiboot info + memory map */
#define LOADER_CMDLINE       0x6e000ull
#define LOADER_GDT           0x6f000ull
#define LOADER_PAGE_TABLES   0x70000ull   /* 6 pages: identity map of the low 4 GiB */
#define LOADER_BOOT_AREA_END 0x76000ull
#define LOADER_LOW_RAM_END   0x9fc00ull
#define LOADER_EBDA          0x9fc00ull   /* 1 KiB, up to the VGA hole at 0xa0000 */
#define LOADER_ACPI_TABLES   0xe0000ull   /* in the reserved 0xe0000-0xfffff range */
/* A flat image fills 0xe0000-0xfffff itself: its tables sit in low RAM below the EBDA. */
#define LOADER_ACPI_TABLES_FLAT 0x9dc00ull

#endif
