/* A pool file (FAT32) as the byte-addressed view a VHDX image is read and written through.
 * Portable. */
#ifndef ATOLL_HV_STORAGE_POOL_VHDX_IO_H
#define ATOLL_HV_STORAGE_POOL_VHDX_IO_H

#include "hv/storage/fat32.h"
#include "hv/storage/vhdx.h"

/* io reads, writes, flushes, sizes and resizes the open file f. */
void pool_vhdx_io(struct fat_file *f, struct vhdx_io *io);

#endif
