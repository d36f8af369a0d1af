/*
 * The steps of the UEFI loader (BOOTX64.EFI), in the order efi_main runs them.
 * Everything the hypervisor keeps is allocated as UEFI_MEM_ATOLL_LOADER pages below 4 GiB,
 * so it shows up as BOOT_MEM_LOADER in the memory map handed over.
 */
#ifndef ATOLL_BOOT_EFI_LOADER_H
#define ATOLL_BOOT_EFI_LOADER_H

#include <efi.h>
#include <efilib.h>

#include "boot/bootinfo.h"
#include "boot/efi/elf_plan.h"

#define LOADER_PREFIX "atoll-efi: "
#define KERNEL_FILE_NAME "atoll.elf"
#define CMDLINE_FILE_NAME "atoll.cmdline"

/* main.c: called by gnu-efi's crt0 (System V ABI, after self-relocation). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* fatal.c: one line `atoll-efi: error: cannot load 'NAME': REASON`, a pause, power off.
 * Never returns: a returning app leaves OVMF in its setup screen. */
__attribute__((noreturn)) void fatal_load(const char *name, const char *reason);
__attribute__((noreturn)) void fatal_load_status(const char *name, EFI_STATUS status);
__attribute__((noreturn)) void fatal_load_text(const char *name, const CHAR16 *reason);
__attribute__((noreturn)) void fatal_stop(EFI_STATUS status); /* after printing its own line */

/* volume.c: files at the root of the volume BOOTX64.EFI was loaded from. */
EFI_STATUS volume_open(EFI_HANDLE image);
EFI_STATUS volume_file_open(const char *name, EFI_FILE_HANDLE *file);
EFI_STATUS volume_file_size(EFI_FILE_HANDLE file, UINT64 *size);
EFI_STATUS volume_read_at(EFI_FILE_HANDLE file, UINT64 offset, void *buf, UINT64 len);

/* pages.c: page allocations that outlive the loader. */
EFI_STATUS pages_alloc_low(UINT64 bytes, UINT64 *base);
EFI_STATUS pages_alloc_at(UINT64 base, UINT64 bytes);

/* kernel_load.c: loads atoll.elf at its physical addresses.  A range the firmware still
 * uses for boot-services data (OVMF keeps its early memory around 16 MiB) is staged
 * elsewhere and copied into place once boot services have exited. */
struct kernel_copy {
    UINT64 target, source, length;
};

struct kernel_image {
    UINT64 entry;
    UINT64 base, end;         /* page range the image occupies */
    UINT64 file_size;
    UINT32 copy_count;
    struct kernel_copy copies[ELF_PLAN_MAX_LOADS];
};

void kernel_load(struct kernel_image *kernel);

/* modules_load.c: atoll.cfg and every file it names, then atoll.cmdline. */
void modules_load(struct boot_info *bi);
void cmdline_load(struct boot_info *bi);

/* firmware_info.c: GOP framebuffer and ACPI RSDP. */
void firmware_info_collect(struct boot_info *bi);

/* handoff.c: own page tables and stack, final memory map, ExitBootServices, staged kernel
 * copies, jump to the hypervisor. */
__attribute__((noreturn)) void handoff(EFI_HANDLE image, struct boot_info *bi,
                                       const struct kernel_image *kernel);

#endif
