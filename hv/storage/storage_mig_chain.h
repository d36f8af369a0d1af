/*
 * Storage migration of a differencing chain (hv/storage/storage_migration.md, "The identity
 * seed"): HELLO lists the disk's parents nearest first (pool path, DataWriteGuid); the
 * target answers each with PARENTS (right before READY) — held here with the same
 * DataWriteGuid, needed, or below a held one — and the source sends the needed ones whole,
 * as files, farthest first, in PFILE messages, before the child's units.  A parent the
 * target holds under that path with another DataWriteGuid is never overwritten: the
 * migration is refused, naming it and both GUIDs.  Portable: no I/O, no allocation.
 *
 *   PARENTS  u32 count (= HELLO's parents), u32 0, count x u8 answer
 *   PFILE    u64 offset, u32 parent index, u32 flags (LAST), then 1..SMIG_UNIT bytes of
 *            the file; offsets follow each other from 0; LAST ends the file (its size)
 */
#ifndef ATOLL_HV_STORAGE_STORAGE_MIG_CHAIN_H
#define ATOLL_HV_STORAGE_STORAGE_MIG_CHAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/storage_mig_proto.h"

#define SMIG_PFILE_HEADER 16u
#define SMIG_PFILE_CHUNK  SMIG_UNIT   /* head and chunk: SMIG_MAX_PAYLOAD */
#define SMIG_PFILE_LAST   1u

enum smig_parent_answer {
    SMIG_PARENT_NEEDED = 1,         /* not here: sent whole before the child */
    SMIG_PARENT_HELD = 2,           /* here, same DataWriteGuid: not sent, the new child's
                                     * chain goes through it */
    SMIG_PARENT_BELOW = 3,          /* under a held parent: the target's own chain */
};

struct smig_parents {
    uint32_t count;
    uint8_t answer[SMIG_MAX_PARENTS];
};

/* What the target finds under a parent's pool path. */
enum smig_parent_found { SMIG_FOUND_NONE, SMIG_FOUND_SAME, SMIG_FOUND_OTHER };
struct smig_parent_probe {
    enum smig_parent_found found;
    struct guid here;               /* OTHER: the DataWriteGuid of the file here */
};

/*
 * The target's answers from what it found under each parent's path (found[i] for
 * h->parent[i]): parents nearer than the nearest held one are needed, those below it are
 * not.  -1 with one line in err: a needed parent whose path holds another disk here
 * (another DataWriteGuid: never overwritten; it may be other disks' parent), a parent
 * path that is the disk's own name (or its .tmp) or another parent's (same_path: the
 * pool's equality, fat_same_path).
 */
int smig_parents_decide(const struct smig_hello *h, const struct smig_parent_probe *found,
                        bool (*same_path)(const char *a, const char *b),
                        struct smig_parents *out, char *err, size_t err_size);
/* The nearest held parent's index, or -1 (none: the whole chain is sent). */
int smig_parents_held(const struct smig_parents *p);
/* Whether parent i is sent. */
bool smig_parents_needed(const struct smig_parents *p, uint32_t i);

size_t smig_parents_encode(const struct smig_parents *p, uint8_t *out, size_t cap);
/* Checks the count against HELLO's and the answers' order (needed..., [held, below...]). */
int smig_parents_decode(const uint8_t *in, uint32_t len, uint32_t hello_parents,
                        struct smig_parents *p, char *err, size_t err_size);

struct smig_pfile {
    uint64_t offset;
    uint32_t index, flags, length;
    const uint8_t *bytes;           /* into the payload */
};
/* PFILE's 16-byte head; `length` bytes follow it.  The payload's length. */
uint32_t smig_pfile_head_encode(uint8_t out[SMIG_PFILE_HEADER], uint64_t offset, uint32_t index,
                                uint32_t flags, uint32_t length);
int smig_pfile_decode(const uint8_t *in, uint32_t len, struct smig_pfile *f, char *err,
                      size_t err_size);

/* The most a parent's file may hold for a disk of disk_size (data, sector bitmaps, BAT,
 * metadata and log with room to spare): a longer stream is refused. */
uint64_t smig_parent_file_max(uint64_t disk_size);

/*
 * The target's order check on PFILE messages: needed parents farthest first, each file's
 * chunks in order from offset 0, no file longer than smig_parent_file_max.
 */
struct smig_pfile_rx {
    struct smig_parents answers;
    uint64_t disk_size;
    int next;                       /* the parent index expected; -1: every file is here */
    uint64_t received;              /* of that file */
};
void smig_pfile_rx_init(struct smig_pfile_rx *rx, const struct smig_parents *answers,
                        uint64_t disk_size);
bool smig_pfile_rx_done(const struct smig_pfile_rx *rx);
/* 1 the chunk goes on (write it at f->offset), 2 it ends the file (write it, then the file
 * is whole: rx->received is its size), -1 out of order (err). */
int smig_pfile_rx_take(struct smig_pfile_rx *rx, const struct smig_pfile *f, char *err,
                       size_t err_size);
/* After take returned 2 and the file was made whole: the next parent is due. */
void smig_pfile_rx_next(struct smig_pfile_rx *rx);
/* The source's order, farthest first: the highest needed index below `below` (start with
 * SMIG_MAX_PARENTS), or -1 when none is left. */
int smig_parents_next_to_send(const struct smig_parents *p, int below);

#endif
