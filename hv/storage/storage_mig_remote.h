/*
 * The "after" mode's unit map (storage_migration.md): the machine runs on the target while
 * its disk is still on the source.  Each unit (SMIG_UNIT of virtual disk) is ABSENT (only
 * the source holds it), FETCHING (a READ for it is out) or PRESENT (the local copy is the
 * disk's: fetched, or written whole by the guest here).  The target pulls absent units in
 * order in the background and fetches a unit a guest request needs before that request
 * goes on locally; a unit the guest wrote whole here is never overwritten by a fetch that
 * arrives later.  Portable: no I/O, no allocation (the map's memory is the caller's).
 */
#ifndef ATOLL_HV_STORAGE_STORAGE_MIG_REMOTE_H
#define ATOLL_HV_STORAGE_STORAGE_MIG_REMOTE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smig_unit_state { SMIG_UNIT_ABSENT = 0, SMIG_UNIT_FETCHING = 1, SMIG_UNIT_PRESENT = 2 };

struct smig_remote {
    uint64_t disk_size;
    uint32_t units, present, fetching;
    uint32_t pull_next;             /* the background pull's cursor */
    uint64_t dropped;               /* fetched units dropped: written whole here meanwhile */
    uint8_t *state;                 /* one enum smig_unit_state a unit */
};

/* The map's size for a disk: one byte a unit. */
size_t smig_remote_map_bytes(uint64_t disk_size);
/* Every unit ABSENT.  -1: the disk is empty or too big for SMIG_MAX_DISK, or map too small. */
int smig_remote_init(struct smig_remote *r, uint64_t disk_size, uint8_t *map, size_t map_size);

/* A guest read of [off, off+len) (inside the disk): the first unit it touches that is not
 * PRESENT, or -1 (it goes on locally). */
int64_t smig_remote_read_needs(const struct smig_remote *r, uint64_t off, uint64_t len);
/* A guest write of [off, off+len): the first unit it covers only in part that is not
 * PRESENT (its other bytes must come first), or -1.  Units it covers whole need nothing. */
int64_t smig_remote_write_needs(const struct smig_remote *r, uint64_t off, uint64_t len);
/* A guest write has landed locally (after write_needs said -1): the units it covers whole
 * are PRESENT. */
void smig_remote_written(struct smig_remote *r, uint64_t off, uint64_t len);

/* A guest request waits for unit u: true when a READ for it must go out now (it was
 * ABSENT: now FETCHING); false when one is out already or it is PRESENT. */
bool smig_remote_request(struct smig_remote *r, uint32_t u);
/* The background pull: the next ABSENT unit from the cursor (now FETCHING), or -1 when
 * none is left to ask for. */
int64_t smig_remote_next_pull(struct smig_remote *r);
/* Unit u's bytes arrived from the source: true, write them into the local copy (u is
 * PRESENT from then on); false, drop them (the guest wrote u whole here meanwhile). */
bool smig_remote_arrived(struct smig_remote *r, uint32_t u);
/* The link failed: the READs that were out will not be answered (FETCHING -> ABSENT). */
void smig_remote_link_lost(struct smig_remote *r);
/* The around mode's hand-over: each ABSENT unit whose bit is set in current (bit u of byte
 * u / 8, LSB first: the copy here is current) is PRESENT.  How many became so. */
uint32_t smig_remote_preset(struct smig_remote *r, const uint8_t *current);
/* Every unit PRESENT: the source's copy is no longer needed. */
bool smig_remote_complete(const struct smig_remote *r);

#endif
