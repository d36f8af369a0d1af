/*
 * Multiboot2 boot information (what GRUB hands the kernel in EBX) into struct boot_info.
 * Portable: the caller maps the information block and says how many bytes of it may be
 * read; nothing outside [mbi, mbi + avail) is ever touched.
 */
#ifndef ATOLL_BOOT_MB2_MB2_PARSE_H
#define ATOLL_BOOT_MB2_MB2_PARSE_H
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u  /* in EAX at entry */

enum mb2_tag_type {
    MB2_TAG_END = 0,
    MB2_TAG_CMDLINE = 1,
    MB2_TAG_MODULE = 3,
    MB2_TAG_MMAP = 6,
    MB2_TAG_FRAMEBUFFER = 8,
    MB2_TAG_ACPI_OLD = 14,
    MB2_TAG_ACPI_NEW = 15,
};

/*
 * Fills *out (kernel_base/kernel_end are left 0: the kernel knows its own image).
 * mbi_phys is the block's physical address, used to record where the RSDP copy inside it
 * lies.  Returns 0, or -1 with a one-line reason in err ("multiboot2: ...").
 */
int mb2_parse(const void *mbi, size_t avail, uint64_t mbi_phys, struct boot_info *out,
              char *err, size_t err_size);

#endif
