#include "boot/efi/loader.h"
#include "boot/efi/memory_map.h"

#define BELOW_4G 0xffffffffull

static UINTN page_count(UINT64 bytes)
{
    UINTN pages = EFI_SIZE_TO_PAGES(bytes);
    return pages ? pages : 1;
}

EFI_STATUS pages_alloc_low(UINT64 bytes, UINT64 *base)
{
    EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
    EFI_STATUS st = BS->AllocatePages(AllocateMaxAddress, UEFI_MEM_ATOLL_LOADER,
                                      page_count(bytes), &addr);
    if (!EFI_ERROR(st))
        *base = addr;
    return st;
}

EFI_STATUS pages_alloc_at(UINT64 base, UINT64 bytes)
{
    EFI_PHYSICAL_ADDRESS addr = base;
    return BS->AllocatePages(AllocateAddress, UEFI_MEM_ATOLL_LOADER, page_count(bytes), &addr);
}
