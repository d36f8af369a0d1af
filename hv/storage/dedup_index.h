/*
 * The de-duplication index: payload units (1 MiB of virtual disk) by content hash
 * (SHA-256, supplied by the platform), so that a copy or move can skip a unit the
 * destination already holds.  In memory only, never written to disk: a restart rebuilds it
 * by scanning, so a crash cannot leave it wrong.  Invariant: an entry (obj, unit, h) exists
 * only while obj's unit has content hashing to h; every write to an indexed object must
 * call dedup_forget for the units it touches (under the disk's lock, before the write
 * completes).  All-zero units are not indexed (they are recognised without a hash).
 * Portable; not thread-safe.  Design and memory cost: hv/storage/disk_jobs.md.
 */
#ifndef ATOLL_HV_STORAGE_DEDUP_INDEX_H
#define ATOLL_HV_STORAGE_DEDUP_INDEX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/vhdx.h"

#define DEDUP_HASH_LEN 32
#define DEDUP_UNIT     (1024u * 1024u) /* bytes of virtual disk one entry covers */

typedef void (*dedup_hash_fn)(void *ctx, const void *data, size_t len,
                              uint8_t out[DEDUP_HASH_LEN]);

struct dedup_loc {
    uint32_t obj;  /* the caller's number for a disk of the pool */
    uint32_t unit; /* virtual offset / DEDUP_UNIT */
};

struct dedup_index;

/* capacity: most entries held; NULL when out of memory. */
struct dedup_index *dedup_create(const struct vhdx_env *env, uint32_t capacity,
                                 dedup_hash_fn hash, void *hash_ctx);
void dedup_destroy(struct dedup_index *x);

void dedup_hash(const struct dedup_index *x, const void *data, size_t len,
                uint8_t out[DEDUP_HASH_LEN]);
/* Records that obj's unit holds content h (replacing what was known of it); false when full. */
bool dedup_insert(struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN], uint32_t obj,
                  uint32_t unit);
/* Whether obj's unit is known to hold content h. */
bool dedup_holds(const struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN], uint32_t obj,
                 uint32_t unit);
/* Any unit of the pool known to hold content h. */
bool dedup_find(const struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN],
                struct dedup_loc *out);
/* A write to obj's bytes [off, off+len): what the index knew of those units is dropped. */
void dedup_forget(struct dedup_index *x, uint32_t obj, uint64_t off, uint64_t len);
void dedup_forget_obj(struct dedup_index *x, uint32_t obj);

uint32_t dedup_count(const struct dedup_index *x);
/* Bytes the index occupies (entries and both bucket arrays). */
size_t dedup_memory(const struct dedup_index *x);

/* Indexes every non-zero unit of disk d (its whole chain's view) as obj; buf: DEDUP_UNIT bytes. */
int dedup_index_disk(struct dedup_index *x, uint32_t obj, struct vhdx *d, uint8_t *buf,
                     struct vhdx_err *err);

#endif
