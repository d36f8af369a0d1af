/*
 * The page tables the loader leaves the hypervisor on: [0, top) identity mapped with 2 MiB
 * pages, in loader memory, so that nothing the hypervisor frees or allocates (firmware
 * boot-services memory included) can be the tables it is running on.  Portable: it only
 * writes entries into pages it is given.
 */
#ifndef ATOLL_BOOT_EFI_IDENTITY_MAP_H
#define ATOLL_BOOT_EFI_IDENTITY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENTITY_MAP_MAX_TOP (1ull << 40) /* 1 TiB: at most 1024 page directories (4 MiB) */

/* How many 4 KiB pages identity_map_build needs for [0, top), top <= IDENTITY_MAP_MAX_TOP;
 * `five_level` when the CPU runs with CR4.LA57. */
size_t identity_map_pages(uint64_t top, bool five_level);

/* Fills `tables` (identity_map_pages() zeroed, 4 KiB aligned pages whose virtual address is
 * their physical address) and returns the value for CR3. */
uint64_t identity_map_build(uint64_t *tables, uint64_t top, bool five_level);

#endif
