/*
 * The one contract between a loader (boot/efi, boot/mb2) and the hypervisor.
 *
 * The loader fills a struct boot_info in memory it owns below 4 GiB, then enters the
 * hypervisor at the ELF entry point (a 64-bit physical address, see boot/entry.S) with
 *     RDI = physical address of struct boot_info,
 *     interrupts disabled, long mode, paging with the low 4 GiB identity mapped.
 * The Multiboot2 path builds the same structure from GRUB's tags inside the hypervisor.
 *
 * Everything here is fixed-width and position-independent: addresses are physical.
 */
#ifndef ATOLL_BOOT_BOOTINFO_H
#define ATOLL_BOOT_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC     0x4f464e49544f4f42ull /* "BOOTINFO" */
#define BOOTINFO_VERSION   1
#define BOOTINFO_MAX_MEM   256
#define BOOTINFO_MAX_MODS  32
#define BOOTINFO_NAME_LEN  64
#define BOOTINFO_CMDLINE   256

enum boot_loader_kind {
    BOOT_LOADER_EFI = 1,
    BOOT_LOADER_MULTIBOOT2 = 2,
};

enum boot_mem_type {
    BOOT_MEM_USABLE = 1,        /* free RAM */
    BOOT_MEM_RESERVED = 2,      /* never touch */
    BOOT_MEM_ACPI_RECLAIM = 3,  /* ACPI tables: keep until parsed, we never reclaim */
    BOOT_MEM_ACPI_NVS = 4,
    BOOT_MEM_BAD = 5,
    BOOT_MEM_FIRMWARE = 6,      /* EFI runtime services code/data */
    BOOT_MEM_LOADER = 7,        /* loader data still in use: boot_info, modules, kernel */
};

struct boot_mem_range {
    uint64_t base;
    uint64_t length;
    uint32_t type;              /* enum boot_mem_type */
    uint32_t reserved;
};

struct boot_module {
    uint64_t base;              /* physical, page aligned */
    uint64_t length;            /* bytes */
    char name[BOOTINFO_NAME_LEN]; /* file name as the manifest names it, NUL-terminated */
};

enum boot_fb_format {
    BOOT_FB_NONE = 0,
    BOOT_FB_RGBX = 1,           /* byte order R,G,B,X in memory */
    BOOT_FB_BGRX = 2,           /* byte order B,G,R,X (the common GOP layout) */
};

struct boot_framebuffer {
    uint64_t base;              /* physical */
    uint32_t width, height;     /* pixels */
    uint32_t pitch;             /* bytes per scan line */
    uint32_t bpp;               /* bits per pixel (32 for the formats above) */
    uint32_t format;            /* enum boot_fb_format */
    uint32_t reserved;
};

struct boot_info {
    uint64_t magic;             /* BOOTINFO_MAGIC */
    uint32_t version;           /* BOOTINFO_VERSION */
    uint32_t loader;            /* enum boot_loader_kind */
    uint64_t rsdp;              /* physical address of the ACPI RSDP, 0 if unknown */
    uint64_t kernel_base;       /* physical range the hypervisor image occupies */
    uint64_t kernel_end;
    char cmdline[BOOTINFO_CMDLINE];
    uint32_t mem_count;
    uint32_t module_count;
    struct boot_mem_range mem[BOOTINFO_MAX_MEM];
    struct boot_module modules[BOOTINFO_MAX_MODS];
    struct boot_framebuffer fb;
};

#endif
