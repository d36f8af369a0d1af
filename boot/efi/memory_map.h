/*
 * Turns a UEFI memory map into boot_info's memory ranges: sorted by address, adjacent
 * ranges of one type merged, at most `max` entries.  Portable: the UEFI descriptor layout
 * (UEFI 2.x, section 7.2, EFI_MEMORY_DESCRIPTOR) is restated here so host tests need no
 * EFI header.
 */
#ifndef ATOLL_BOOT_EFI_MEMORY_MAP_H
#define ATOLL_BOOT_EFI_MEMORY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"

/* Memory the loader allocates for what outlives it (kernel, modules, boot_info). It is
 * a type from the range UEFI reserves for OS loaders (0x80000000 and up), so it stays
 * distinguishable in the final map. */
#define UEFI_MEM_ATOLL_LOADER 0x80000001u

enum uefi_mem_type {
    UEFI_MEM_RESERVED = 0,
    UEFI_MEM_LOADER_CODE = 1,
    UEFI_MEM_LOADER_DATA = 2,
    UEFI_MEM_BOOT_CODE = 3,
    UEFI_MEM_BOOT_DATA = 4,
    UEFI_MEM_RUNTIME_CODE = 5,
    UEFI_MEM_RUNTIME_DATA = 6,
    UEFI_MEM_CONVENTIONAL = 7,
    UEFI_MEM_UNUSABLE = 8,
    UEFI_MEM_ACPI_RECLAIM = 9,
    UEFI_MEM_ACPI_NVS = 10,
    UEFI_MEM_MMIO = 11,
    UEFI_MEM_MMIO_PORT = 12,
};

struct uefi_mem_desc {
    uint32_t type;
    uint32_t pad;
    uint64_t phys_start;
    uint64_t virt_start;
    uint64_t pages;
    uint64_t attribute;
};

/* The boot_mem_type a UEFI memory type becomes. */
uint32_t memory_map_boot_type(uint32_t uefi_type);

/* Sorts `count` descriptors, `stride` bytes apart (the firmware's DescriptorSize, at least
 * sizeof(struct uefi_mem_desc)), by physical start, in place. */
void memory_map_sort(void *descs, size_t count, size_t stride);

/* Sorts, converts and merges into out[0..max); returns the number of ranges written.
 * Ranges that do not fit once `max` is reached are dropped. */
uint32_t memory_map_convert(void *descs, size_t count, size_t stride,
                            struct boot_mem_range *out, uint32_t max);

/* True when [base, end) is wholly covered by memory that is free once boot services have
 * exited (conventional and boot-services code/data).  Sorts the descriptors first. */
bool memory_map_reclaimable(void *descs, size_t count, size_t stride, uint64_t base,
                            uint64_t end);

/* Marks [base, end) as `type` in sorted, merged ranges out[0..n), splitting what it
 * overlaps and merging again; returns the new count (at most max: when there is no room
 * the highest ranges are dropped, which at worst hides RAM). */
uint32_t memory_map_claim(struct boot_mem_range *out, uint32_t n, uint32_t max,
                          uint64_t base, uint64_t end, uint32_t type);

#endif
