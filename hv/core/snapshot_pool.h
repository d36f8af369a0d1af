/*
 * Snapshot files in the storage pool, as struct snap_io (hv/snapshot/snap_file.h): every
 * call takes the pool's lock (partition_disks.h).  Writing goes to "FILE.part", gathered
 * into large sequential writes, and becomes FILE only by snapshot_pool_commit, after the
 * data and the directory entry are durable.
 */
#ifndef ATOLL_HV_CORE_SNAPSHOT_POOL_H
#define ATOLL_HV_CORE_SNAPSHOT_POOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/snapshot/snap_file.h"
#include "hv/storage/fat32.h"

#define SNAPSHOT_PATH_LEN 120
#define SNAPSHOT_GATHER_BYTES (256u << 10)

struct snapshot_pool_file {
    struct fat_file f;
    bool open;
    char path[SNAPSHOT_PATH_LEN], tmp[SNAPSHOT_PATH_LEN + 8];
    uint8_t *gather;            /* SNAPSHOT_GATHER_BYTES: bytes not yet written */
    uint64_t gather_off;        /* file offset of gather[0] */
    size_t gather_len;
    bool failed;
    char err[160];
};

/* A file name the pool takes: 1..SNAPSHOT_PATH_LEN-1 bytes of [A-Za-z0-9._/-], not
 * ending in ".part". */
bool snapshot_path_valid(const char *path);
/* Creates path's temporary file (replacing a stale one).  False with one line in err. */
bool snapshot_pool_create(struct snapshot_pool_file *pf, const char *path, struct snap_io *io,
                          char *err, size_t err_size);
/* Writes what is gathered, flushes, and renames the temporary file to path (replacing an
 * older path).  False with one line in err: the temporary file is removed then. */
bool snapshot_pool_commit(struct snapshot_pool_file *pf, char *err, size_t err_size);
/* Removes the temporary file. */
void snapshot_pool_abort(struct snapshot_pool_file *pf);
/* Opens path for reading.  False with one line in err. */
bool snapshot_pool_open(struct snapshot_pool_file *pf, const char *path, struct snap_io *io,
                        char *err, size_t err_size);
void snapshot_pool_close(struct snapshot_pool_file *pf);

#endif
