/*
 * A differencing disk's parents in a storage migration ("before" mode; protocol:
 * hv/storage/storage_mig_chain.h, design: hv/storage/storage_migration.md).  The source
 * lists the chain in HELLO and sends the parents the target needs whole, as files,
 * farthest first, before the child's units; the target answers per parent (held with the
 * same DataWriteGuid, needed, below a held one), takes each needed file as PARENT.tmp,
 * checks its DataWriteGuid, renames it and keeps it (a parent, opened read-only), then
 * makes the new disk a differencing child of its copy of the nearest parent.  Boot CPU.
 *
 * Lines (source):
 *   storage-migrate: outgoing NAME to HOST: parent P held there (same DataWriteGuid): not sent (N bytes)
 *   storage-migrate: outgoing NAME to HOST: parent P not there: sent whole first (N bytes)
 *   storage-migrate: outgoing NAME to HOST: parent P sent (N bytes)
 * Lines (target):
 *   storage-migrate: incoming NAME from PEER: parent P held here (same DataWriteGuid): not sent
 *   storage-migrate: incoming NAME from PEER: parent P received whole (N bytes), DataWriteGuid checked; kept as a parent
 */
#ifndef ATOLL_HV_CORE_STORAGE_MIGRATE_PARENTS_H
#define ATOLL_HV_CORE_STORAGE_MIGRATE_PARENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/fat32.h"
#include "hv/storage/storage_mig_chain.h"

struct vhdx;
struct vhdx_io;

/* ---- source ---- */
struct smig_src_chain {
    uint32_t count;
    char name[SMIG_MAX_PARENTS][SMIG_NAME_LEN];
    uint64_t file_size[SMIG_MAX_PARENTS];
    struct smig_parents answers;
    bool answered;
    int cur;                        /* the parent being sent; -1 none left */
    uint64_t off;
    uint64_t sent_bytes, held_bytes;
};
/* The pool's lock held: disk's parents into h (nearest first) and c.  False with err: a
 * chain deeper than SMIG_MAX_PARENTS, a path HELLO cannot carry. */
bool smig_src_chain_list(struct vhdx *disk, struct smig_hello *h, struct smig_src_chain *c,
                         char *err, size_t err_size);
/* PARENTS came (decoded against c->count): one line per parent; sending starts. */
void smig_src_chain_answered(struct smig_src_chain *c, const struct smig_parents *a,
                             void (*say)(const char *line));
/* Parent files still to go out: the child's units wait. */
bool smig_src_chain_pending(const struct smig_src_chain *c);
/* The next PFILE message, framed, into m (SMIG_HEADER_SIZE + SMIG_MAX_PAYLOAD bytes): its
 * length, 0 when none is left, -1 with err (a read failed, the file changed size).  Takes
 * the pool's lock; keeps no file open between calls. */
long smig_src_chain_next(struct smig_src_chain *c, uint8_t *m, void (*say)(const char *line),
                         char *err, size_t err_size);

/*
 * The pool's lock held: bit u of bitmap ((units + 7) / 8 bytes) set when unit u
 * (SMIG_UNIT bytes) of disk, a differencing VHDX, has nothing in its own layer — every
 * sector reads through to its parents (BAT state NOT_PRESENT, UNDEFINED or UNMAPPED, or
 * PARTIALLY_PRESENT with none of the unit's sector bits set): a target holding the same
 * parents reads it from them.  A unit with any sector of its own (FULLY_PRESENT, ZERO —
 * which reads zero, not the parent's —, or a sector bit set) is clear.  How many are set,
 * or -1 with err (a sector bitmap unreadable).
 */
long smig_src_chain_layer_map(struct vhdx *disk, uint64_t disk_size, uint8_t *bitmap,
                              char *err, size_t err_size);

/* ---- target ---- */
struct smig_tgt_chain {
    struct smig_parents answers;
    struct smig_pfile_rx rx;
    bool open;
    struct fat_file f;
    char tmp[SMIG_NAME_LEN + 8];
};
/* The pool's lock held: what the pool holds under each of h's parents, and the answers
 * (the PARENTS message's).  -1 with err: refused (another disk under a needed parent's
 * name, or a hostile list). */
int smig_tgt_chain_decide(const struct smig_hello *h, struct smig_tgt_chain *c,
                          void (*say)(const char *line), char *err, size_t err_size);
/* Every needed parent is here: the child may be made. */
bool smig_tgt_chain_ready(const struct smig_tgt_chain *c);
/* A PFILE: the chunk written (the pool's lock taken); the last one makes the file a parent
 * here after its DataWriteGuid is checked against h's.  False with err. */
bool smig_tgt_chain_take(struct smig_tgt_chain *c, const struct smig_hello *h,
                         const uint8_t *pl, uint32_t len, void (*say)(const char *line),
                         char *err, size_t err_size);
/* The pool's lock held: a parent file half received goes (those committed stay: a later
 * migration finds them held). */
void smig_tgt_chain_discard(struct smig_tgt_chain *c);
/* The pool's lock held: name (its file io, empty) made a differencing VHDX of h's nearest
 * parent, as the target holds it (locator from name's folder).  False with err. */
bool smig_tgt_chain_create_child(const struct smig_hello *h, const char *name,
                                 const struct vhdx_io *io, char *err, size_t err_size);

#endif
