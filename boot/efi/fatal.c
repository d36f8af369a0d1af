#include "boot/efi/loader.h"

#define FATAL_PAUSE_US 1000000

void fatal_stop(EFI_STATUS status)
{
    BS->Stall(FATAL_PAUSE_US);
    RT->ResetSystem(EfiResetShutdown, status, 0, NULL);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void fatal_load(const char *name, const char *reason)
{
    Print(L"" LOADER_PREFIX "error: cannot load '%a': %a\n", name, reason);
    fatal_stop(EFI_LOAD_ERROR);
}

void fatal_load_text(const char *name, const CHAR16 *reason)
{
    Print(L"" LOADER_PREFIX "error: cannot load '%a': %s\n", name, reason);
    fatal_stop(EFI_LOAD_ERROR);
}

void fatal_load_status(const char *name, EFI_STATUS status)
{
    CHAR16 text[64];
    StatusToString(text, status);
    Print(L"" LOADER_PREFIX "error: cannot load '%a': %s\n", name, text);
    fatal_stop(status);
}
