/*
 * Snapshot files in the storage pool, as struct snap_io (hv/snapshot/snap_file.h): every
 * call takes the pool's lock (partition_disks.h).  Writing goes to "FILE.part" and becomes
 * FILE only by snapshot_pool_commit, after the data and the directory entry are durable.
 *
 * Written bytes are gathered into chunks of SNAPSHOT_GATHER_BYTES.  A full chunk goes to
 * the disk as block requests of the SNAPSHOT class (block.h) at the sectors fat_place gives
 * it, asynchronously: up to SNAPSHOT_WRITE_CHUNKS chunks are on the class's queue or in
 * flight while the writer goes on, and the bytes they hold are the write queue whose depth
 * the compression policy reads (snapshot_pool_queued).  Whatever is not a whole chunk at a
 * sector (the file's tail, the header written last) is written synchronously through the
 * file system once every chunk has landed.  The guests' transfers to their pool files are
 * GUEST requests on the same disk (pool_io.h), which the block layer weighs twice the
 * SNAPSHOT class (64 to 32 sectors a round): while both wait, guests get two thirds.
 */
#ifndef ATOLL_HV_CORE_SNAPSHOT_POOL_H
#define ATOLL_HV_CORE_SNAPSHOT_POOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/snapshot/snap_file.h"
#include "hv/storage/block.h"
#include "hv/storage/fat32.h"

#define SNAPSHOT_PATH_LEN 120
#define SNAPSHOT_GATHER_BYTES (256u << 10)
#define SNAPSHOT_WRITE_CHUNKS 8
#define SNAPSHOT_CHUNK_REQUESTS 32      /* block requests one chunk may take */

struct snapshot_pool_file;

struct snapshot_chunk {
    struct snapshot_pool_file *pf;
    uint8_t *buf;                       /* SNAPSHOT_GATHER_BYTES */
    uint32_t pending;                   /* its requests not yet complete (atomic) */
    struct block_request req[SNAPSHOT_CHUNK_REQUESTS];
};

struct snapshot_pool_file {
    struct fat_file f;
    /* Opened for reading: f and a copy of it are two cursors in its cluster chain, which a
     * read moves forward from the nearer one (a FAT chain is walked only forward, from its
     * first cluster or a cursor): a restore reads the block index near the file's end and
     * each block's data in turn, and with one cursor each read walked from the start. */
    struct fat_file cursor2;
    bool cursor2_last;          /* cursor2 moved last (the other is reset first) */
    bool open;
    char path[SNAPSHOT_PATH_LEN], tmp[SNAPSHOT_PATH_LEN + 8];
    uint8_t *gather;            /* the current chunk's buffer: bytes not yet written */
    uint64_t gather_off;        /* file offset of gather[0] */
    size_t gather_len;
    struct snapshot_chunk chunk[SNAPSHOT_WRITE_CHUNKS];
    unsigned cur;               /* the chunk gathering */
    struct block_device *dev;   /* the pool's disk (NULL: everything goes through fat_write) */
    uint64_t volume_start;
    uint64_t in_flight;         /* bytes of SNAPSHOT requests submitted, not complete (atomic) */
    uint64_t async_bytes;       /* bytes submitted as SNAPSHOT requests (atomic) */
    uint64_t async_requests;    /* and how many requests */
    int io_status;              /* the first failed request's status (atomic; 0: none) */
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
/* For the writer between blocks: reaps finished SNAPSHOT requests and starts queued ones;
 * returns the bytes waiting to be written (on the class's queue, in flight, gathered). */
uint64_t snapshot_pool_poll(struct snapshot_pool_file *pf);
/* The same count without touching the disk (any CPU). */
uint64_t snapshot_pool_queued(const struct snapshot_pool_file *pf);
/* Bytes the SNAPSHOT requests have written so far (any CPU). */
uint64_t snapshot_pool_drained(const struct snapshot_pool_file *pf);

#endif
