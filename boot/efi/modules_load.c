#include "boot/efi/loader.h"
#include "boot/efi/manifest_scan.h"

static void copy_name(char *dst, const char *src)
{
    UINTN i = 0;
    for (; src[i] && i < BOOTINFO_NAME_LEN - 1; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

static void load_module(const char *name, struct boot_module *m)
{
    EFI_FILE_HANDLE f;
    UINT64 size = 0, base = 0;
    EFI_STATUS st = volume_file_open(name, &f);
    if (!EFI_ERROR(st)) {
        st = volume_file_size(f, &size);
        if (!EFI_ERROR(st))
            st = pages_alloc_low(size, &base);
        if (!EFI_ERROR(st))
            st = volume_read_at(f, 0, (void *)(UINTN)base, size);
        f->Close(f);
    }
    if (EFI_ERROR(st))
        fatal_load_status(name, st);
    m->base = base;
    m->length = size;
    copy_name(m->name, name);
    Print(L"" LOADER_PREFIX "module %a (%ld KiB) at 0x%lx\n", name, (size + 1023) >> 10, base);
}

void modules_load(struct boot_info *bi)
{
    static struct manifest_files files;
    struct boot_module *cfg = &bi->modules[0];
    load_module(MANIFEST_FILE_NAME, cfg);
    bi->module_count = 1;
    if (manifest_scan_files((const char *)(UINTN)cfg->base, cfg->length, &files) != 0)
        fatal_load(MANIFEST_FILE_NAME, "it names more files than the loader can pass on");
    for (unsigned i = 0; i < files.count; i++)
        load_module(files.names[i], &bi->modules[bi->module_count++]);
}

void cmdline_load(struct boot_info *bi)
{
    EFI_FILE_HANDLE f;
    UINT64 size = 0;
    EFI_STATUS st = volume_file_open(CMDLINE_FILE_NAME, &f);
    if (st == EFI_NOT_FOUND)
        return;
    if (!EFI_ERROR(st)) {
        st = volume_file_size(f, &size);
        if (size > BOOTINFO_CMDLINE - 1)
            size = BOOTINFO_CMDLINE - 1;
        if (!EFI_ERROR(st))
            st = volume_read_at(f, 0, bi->cmdline, size);
        f->Close(f);
    }
    if (EFI_ERROR(st))
        fatal_load_status(CMDLINE_FILE_NAME, st);
    for (UINT64 i = 0; i < size; i++)
        if (bi->cmdline[i] == '\n' || bi->cmdline[i] == '\r')
            size = i;
    bi->cmdline[size] = '\0';
    Print(L"" LOADER_PREFIX "cmdline \"%a\"\n", bi->cmdline);
}
