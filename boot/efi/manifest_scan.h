/*
 * Finds the files a manifest asks the loader to load: the values of every `image`,
 * `initrd` and `identity-key` key (hv/core/config/manifest.md).  Deliberately shallow: sections,
 * other keys and values are the hypervisor's to validate.  A value that is not a valid
 * module name is skipped here so that the hypervisor reports it with file, line and key.
 * Portable: no EFI or hardware header.
 */
#ifndef ATOLL_BOOT_EFI_MANIFEST_SCAN_H
#define ATOLL_BOOT_EFI_MANIFEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/bootinfo.h"

#define MANIFEST_FILE_NAME "atoll.cfg"
#define MANIFEST_SCAN_MAX_FILES (BOOTINFO_MAX_MODS - 1) /* one module slot is atoll.cfg */

struct manifest_files {
    unsigned count;
    char names[MANIFEST_SCAN_MAX_FILES][BOOTINFO_NAME_LEN];
};

/* True when name[0..len) is a module name: [A-Za-z0-9._-]{1,63}. */
bool manifest_name_valid(const char *name, size_t len);

/* Collects distinct file names (never atoll.cfg itself) in order of appearance.
 * Returns 0, or -1 when more distinct names than MANIFEST_SCAN_MAX_FILES. */
int manifest_scan_files(const char *text, size_t len, struct manifest_files *out);

#endif
