#include "boot/efi/loader.h"

static uint32_t fb_format(EFI_GRAPHICS_PIXEL_FORMAT format)
{
    switch (format) {
    case PixelRedGreenBlueReserved8BitPerColor:
        return BOOT_FB_RGBX;
    case PixelBlueGreenRedReserved8BitPerColor:
        return BOOT_FB_BGRX;
    default:
        return BOOT_FB_NONE; /* bit masks or no linear framebuffer at all */
    }
}

static void framebuffer_collect(struct boot_framebuffer *fb)
{
    EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
    if (EFI_ERROR(LibLocateProtocol(&GraphicsOutputProtocol, (void **)&gop)) || !gop->Mode ||
        !gop->Mode->Info) {
        Print(L"" LOADER_PREFIX "no framebuffer\n");
        return;
    }
    const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
    fb->format = fb_format(info->PixelFormat);
    if (fb->format == BOOT_FB_NONE) {
        Print(L"" LOADER_PREFIX "framebuffer has no usable pixel format (%d)\n",
              info->PixelFormat);
        return;
    }
    fb->base = gop->Mode->FrameBufferBase;
    fb->width = info->HorizontalResolution;
    fb->height = info->VerticalResolution;
    fb->pitch = info->PixelsPerScanLine * 4;
    fb->bpp = 32;
    Print(L"" LOADER_PREFIX "framebuffer %dx%d at 0x%lx (%ld KiB)\n", fb->width, fb->height,
          fb->base, gop->Mode->FrameBufferSize >> 10);
}

static UINT64 rsdp_find(void)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    EFI_GUID *wanted[] = {&acpi20, &acpi10};
    for (UINTN w = 0; w < 2; w++)
        for (UINTN i = 0; i < ST->NumberOfTableEntries; i++)
            if (!CompareGuid(&ST->ConfigurationTable[i].VendorGuid, wanted[w]))
                return (UINT64)(UINTN)ST->ConfigurationTable[i].VendorTable;
    return 0;
}

void firmware_info_collect(struct boot_info *bi)
{
    framebuffer_collect(&bi->fb);
    bi->rsdp = rsdp_find();
    if (bi->rsdp)
        Print(L"" LOADER_PREFIX "acpi rsdp at 0x%lx\n", bi->rsdp);
    else
        Print(L"" LOADER_PREFIX "the firmware names no ACPI RSDP; the hypervisor will look "
              "for one in the BIOS area\n");
}
