/* libFuzzer target: Multiboot2 information blocks into struct boot_info. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/mb2/mb2_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size, 8-aligned copy so ASan sees any read past the block. */
    uint8_t *copy = aligned_alloc(8, size ? (size + 7) & ~(size_t)7 : 8);
    memcpy(copy, data, size);
    static struct boot_info bi;
    char err[256];
    if (mb2_parse(copy, size, 0x8000, &bi, err, sizeof(err)) == 0) {
        if (bi.mem_count > BOOTINFO_MAX_MEM || bi.module_count > BOOTINFO_MAX_MODS ||
            strnlen(bi.cmdline, sizeof(bi.cmdline)) == sizeof(bi.cmdline))
            abort();
        for (uint32_t i = 0; i < bi.module_count; i++)
            if (strnlen(bi.modules[i].name, BOOTINFO_NAME_LEN) == BOOTINFO_NAME_LEN)
                abort();
    } else if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "multiboot2: ", 12)) {
        abort();
    }
    free(copy);
    return 0;
}
