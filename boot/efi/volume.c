#include "boot/efi/loader.h"

#define READ_CHUNK (4ull << 20)

static EFI_FILE_HANDLE root;

EFI_STATUS volume_open(EFI_HANDLE image)
{
    EFI_LOADED_IMAGE *loaded;
    EFI_FILE_IO_INTERFACE *fs;
    EFI_STATUS st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&loaded);
    if (!EFI_ERROR(st))
        st = BS->HandleProtocol(loaded->DeviceHandle, &FileSystemProtocol, (void **)&fs);
    if (!EFI_ERROR(st))
        st = fs->OpenVolume(fs, &root);
    return st;
}

EFI_STATUS volume_file_open(const char *name, EFI_FILE_HANDLE *file)
{
    CHAR16 path[BOOTINFO_NAME_LEN + 1];
    UINTN i = 0;
    path[0] = L'\\';
    for (; name[i] && i < BOOTINFO_NAME_LEN - 1; i++)
        path[i + 1] = (CHAR16)(unsigned char)name[i];
    path[i + 1] = 0;
    return root->Open(root, file, path, EFI_FILE_MODE_READ, 0);
}

EFI_STATUS volume_file_size(EFI_FILE_HANDLE file, UINT64 *size)
{
    EFI_FILE_INFO *info = LibFileInfo(file);
    if (!info)
        return EFI_DEVICE_ERROR;
    if (info->Attribute & EFI_FILE_DIRECTORY) {
        FreePool(info);
        return EFI_NOT_FOUND;
    }
    *size = info->FileSize;
    FreePool(info);
    return EFI_SUCCESS;
}

EFI_STATUS volume_read_at(EFI_FILE_HANDLE file, UINT64 offset, void *buf, UINT64 len)
{
    EFI_STATUS st = file->SetPosition(file, offset);
    UINT8 *dst = buf;
    while (!EFI_ERROR(st) && len > 0) {
        UINTN n = len < READ_CHUNK ? len : READ_CHUNK;
        st = file->Read(file, &n, dst);
        if (!EFI_ERROR(st) && n == 0)
            st = EFI_END_OF_FILE;
        dst += n;
        len -= n;
    }
    return st;
}
