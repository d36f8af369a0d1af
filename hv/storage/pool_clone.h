/*
 * Linked clones of a pool VHDX: a copy of a whole disk that moves no payload.  The source's
 * file becomes a frozen base (a new name beside it), and both the source's name and the
 * destination's name become differencing disks of that base, each writing only its own
 * child.  The pool's delete removes a base with its last child.  Crash-safe through a
 * commit point and a recovery pass at mount: see hv/offload/TOKEN.md, "Block sharing:
 * linked clones".  Portable: a FAT32 volume and a vhdx_env; the caller holds the pool's
 * lock and has checked that no partition has either disk open (the kernel closes an
 * attached source's disk in a pause, then opens it again).
 */
#ifndef ATOLL_HV_STORAGE_POOL_CLONE_H
#define ATOLL_HV_STORAGE_POOL_CLONE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/fat32.h"
#include "hv/storage/vhdx.h"

/* Suffix of the clone's work files (a child made before the commit, renamed after it);
 * the pool reserves it: recovery removes or renames any file that ends so. */
#define POOL_CLONE_SUFFIX "~atoll-clone"
#define POOL_CLONE_DEPTH_MAX 8u   /* a source deeper in a chain is copied, not cloned */
#define POOL_CLONE_SCAN_MAX 256u  /* images checked for children of the source */

enum pool_clone_status {
    POOL_CLONE_OK = 0,
    POOL_CLONE_DECLINED = 1,  /* not a case for a clone (msg says why): copy instead */
    POOL_CLONE_CHANGED = -1,  /* the source is not the data the caller expects */
    POOL_CLONE_FAILED = -2,   /* storage failed; before the commit nothing changed, after
                                 it the recovery pass finishes the clone */
};

struct pool_clone_req {
    const char *src, *dst;     /* pool paths of two VHDX images */
    uint64_t length;           /* bytes to copy from offset 0: the source's whole disk */
    /* Optional: the source's DataWriteGuid as the caller knows it (changed: CHANGED). */
    const struct guid *src_data_write_guid;
    /* Optional: asked with the source open, just before the commit; false: CHANGED. */
    bool (*still_valid)(void *ctx);
    /* Optional: told the base's pool path once it names the source's file, before the
     * source's name is dropped (the source's old data lives on there, unchanged). */
    void (*committed)(void *ctx, const char *base);
    void *ctx;
};

/* Makes dst a clone of src when it can (POOL_CLONE_OK), else says why not. */
int pool_clone(struct fat_vol *v, const struct vhdx_env *env, const struct pool_clone_req *r,
               char *msg, size_t msg_size);

/*
 * Finishes or undoes every clone a cut interrupted: each `NAME~clone` in the pool is
 * either removed (its base does not exist: the cut came before the commit) or put in
 * place as NAME (it does).  Then removes every clone base no image names any more (a cut
 * between a delete of its last child and its own removal).  Run once after mounting,
 * before anything opens a pool file.  Returns how many files it handled, or a negative
 * enum fat_status.
 */
int pool_clone_recover(struct fat_vol *v, const struct vhdx_env *env);

/* Whether path is named as a clone's base is ("STEM-base-XXXXXXXX.vhdx"): the pool
 * reserves such names. */
bool pool_clone_is_base(const char *path);

/*
 * The pool's delete of a file: refuses an image some image of the pool names as its
 * parent (or when that cannot be told: an image that cannot be read now), removes path,
 * then removes its parent too where that is a clone's base no image names any more.
 * The caller holds the pool's lock and has checked that no partition has path attached;
 * in_use (optional) says whether a base is attached (by hand) to a partition: it stays.
 * POOL_CLONE_OK (msg: what was removed), POOL_CLONE_DECLINED (refused, msg says why;
 * nothing removed) or POOL_CLONE_FAILED (msg says why; a base left over is removed by
 * the next mount's pool_clone_recover).
 */
int pool_clone_delete(struct fat_vol *v, const struct vhdx_env *env, const char *path,
                      bool (*in_use)(const char *path), char *msg, size_t msg_size);

#endif
