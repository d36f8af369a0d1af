/*
 * The snapshot file of a host test, in memory: `file` holds up to SNAP_MEM_FILE_CAP bytes
 * (defined before this is included), `file_size` is how much is written, and mem_read and
 * mem_write are the snap_io callbacks over it (reads past the end and writes past the
 * capacity fail, as a short pool file would).
 */
#ifndef ATOLL_TESTS_UNIT_SNAP_MEM_FILE_H
#define ATOLL_TESTS_UNIT_SNAP_MEM_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint8_t file[SNAP_MEM_FILE_CAP];
static uint64_t file_size;

static int mem_read(void *ctx, uint64_t off, void *b, size_t len)
{
    (void)ctx;
    if (off > file_size || len > file_size - off)
        return -1;
    memcpy(b, file + off, len);
    return 0;
}

static int mem_write(void *ctx, uint64_t off, const void *b, size_t len)
{
    (void)ctx;
    if (off > SNAP_MEM_FILE_CAP || len > SNAP_MEM_FILE_CAP - off)
        return -1;
    memcpy(file + off, b, len);
    if (off + len > file_size)
        file_size = off + len;
    return 0;
}

#endif
