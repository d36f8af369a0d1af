/*
 * Observers of writes to the storage pool: a service above the storage layer (the offload
 * provider) registers a function, and every writer of a pool file or of a virtual disk's
 * contents calls pool_write_note() *before* the data changes.  The storage layer and the
 * partitions' disk path only point down to this registry; they never name who listens.
 *
 * A file is named by its pool path (case-insensitive, as FAT compares; a leading '/' or
 * not), a range in bytes; len POOL_WRITE_ALL: all of it (replaced, truncated, removed,
 * or its layout changed).  POOL_WRITE_DISK is a range of a VHDX image's guest-visible
 * contents (a guest write or trim); POOL_WRITE_FILE a range of the file's own bytes.
 *
 * Portable.  Observers are called on the writer's CPU with whatever lock the writer holds
 * (the pool's lock, for the partitions' disks): an observer must be short and must not
 * call back into the pool.  Registration is for the life of the host; a note racing a
 * registration may miss the new observer (register before the first request is served).
 */
#ifndef ATOLL_HV_STORAGE_POOL_WRITE_OBSERVER_H
#define ATOLL_HV_STORAGE_POOL_WRITE_OBSERVER_H
#include <stdint.h>

#define POOL_WRITE_OBSERVERS_MAX 4u
#define POOL_WRITE_ALL UINT64_MAX

enum pool_write_what {
    POOL_WRITE_FILE = 1,    /* bytes of a pool file */
    POOL_WRITE_DISK = 2,    /* bytes of a VHDX image's guest-visible contents */
};

typedef void (*pool_write_observer_fn)(void *ctx, enum pool_write_what what, const char *path,
                                       uint64_t off, uint64_t len);

/* 0, or -1 when POOL_WRITE_OBSERVERS_MAX are registered. */
int pool_write_observer_add(pool_write_observer_fn fn, void *ctx);
void pool_write_observer_remove(pool_write_observer_fn fn, void *ctx);

/* Tells every observer that [off, off + len) of path is about to change. */
void pool_write_note(enum pool_write_what what, const char *path, uint64_t off, uint64_t len);

#endif
