/*
 * BOOTX64.EFI: loads the Atoll hypervisor and its modules from the volume it was started
 * from and enters it with a struct boot_info (boot/bootinfo.h).  Any failure is one line
 * on the console and a power-off; this application never returns to the firmware.
 */
#include "boot/efi/loader.h"

static struct boot_info *boot_info_alloc(void)
{
    UINT64 base;
    EFI_STATUS st = pages_alloc_low(sizeof(struct boot_info), &base);
    if (EFI_ERROR(st)) {
        Print(L"" LOADER_PREFIX "error: cannot allocate boot_info\n");
        fatal_stop(st);
    }
    struct boot_info *bi = (struct boot_info *)(UINTN)base;
    SetMem(bi, sizeof(*bi), 0);
    bi->magic = BOOTINFO_MAGIC;
    bi->version = BOOTINFO_VERSION;
    bi->loader = BOOT_LOADER_EFI;
    return bi;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    static struct kernel_image kernel;
    InitializeLib(image, systab);
    BS->SetWatchdogTimer(0, 0, 0, NULL);
    Print(L"" LOADER_PREFIX "Atoll UEFI loader " ATOLL_VERSION "\n");
    EFI_STATUS st = volume_open(image);
    if (EFI_ERROR(st))
        fatal_load_status("the boot volume", st);
    /* The kernel goes first: it needs fixed addresses, everything else can move. */
    kernel_load(&kernel);
    struct boot_info *bi = boot_info_alloc();
    bi->kernel_base = kernel.base;
    bi->kernel_end = kernel.end;
    modules_load(bi);
    cmdline_load(bi);
    firmware_info_collect(bi);
    Print(L"" LOADER_PREFIX "loaded %a (%ld KiB), %d modules\n", KERNEL_FILE_NAME,
          (kernel.file_size + 1023) >> 10, bi->module_count);
    handoff(image, bi, &kernel);
}
