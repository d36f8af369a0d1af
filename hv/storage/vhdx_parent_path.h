/*
 * Where a differencing disk's parent lies in a pool (a FAT volume with '/' separators):
 * from the child's pool path and one of its parent locator's paths.  relative_path is
 * relative to the child's folder with '\' separators ("." and ".." segments allowed);
 * absolute_win32_path and volume_path name a file on a Windows volume, so only their part
 * after the volume ("C:", "\\?\C:", "\\?\Volume{GUID}") is taken, from the pool's root;
 * a network path ("\\server\share") is refused.  Portable.
 */
#ifndef ATOLL_HV_STORAGE_VHDX_PARENT_PATH_H
#define ATOLL_HV_STORAGE_VHDX_PARENT_PATH_H
#include <stdbool.h>
#include <stddef.h>

/* False when the locator path is empty, climbs above the root, or out is too small. */
bool vhdx_parent_pool_path(const char *child, const char *locator, bool relative, char *out,
                           size_t size);

/* The other way: a child at pool path `child` whose parent is the pool file `parent` gets
 * these locator paths (relative from the child's folder, and absolute from the pool's
 * root, both '\\'-separated).  False when either does not fit. */
bool vhdx_parent_locator(const char *child, const char *parent, char *rel, size_t rel_size,
                         char *abs, size_t abs_size);

#endif
