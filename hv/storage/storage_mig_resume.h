/*
 * Liveness and resume on a storage-migration link (hv/storage/storage_migration.md,
 * "Liveness and resume").  Portable: no I/O, no allocation.
 *
 * KEEPALIVE (type 11, either way, empty payload): sent when the sender has sent nothing for
 * a keepalive period; the channel swallows it.  A side that receives nothing for the idle
 * timeout (idle=S; a small multiple of the period) counts its peer as gone.
 *
 * RESUME (type 12) has one payload each way:
 *   source -> target, before HELLO, the migration's identity (48 bytes):
 *     0 session GUID (the source picks it when the migration starts; kept across reconnects)
 *    16 the source disk's DataWriteGuid   32 u32 flags (RETRY: a reconnect)
 *    36 u32 idle timeout, seconds (1..3600)   40 u32 attempt   44 u32 0
 *   target -> source, after HELLO and before READY, in order of units (HELD):
 *     0 u32 first unit   4 u32 count (1..SMIG_HELD_MAX)   8 u32 units of the disk   12 u32 0
 *    16 count u32: the CRC-32C of each unit as the target's NAME.tmp reads now
 *   The source sends again every unit it has passed whose CRC here differs from what it
 *   last staged for it (smig_resume_plan); a fresh NAME.tmp reads as zero everywhere.
 *
 * The target's record NAME.tmp.smig (written and synced before READY, removed with NAME.tmp):
 *     0 u32 magic "ATSR"   4 u32 version 1   8 session GUID   24 DataWriteGuid
 *    40 u64 disk size   48 u32 sector size   52 u32 block size   56 name[SMIG_NAME_LEN]
 *    56+N u32 CRC-32C of bytes 0..56+N
 * It holds no unit list: what NAME.tmp holds is read from NAME.tmp itself when the source
 * comes back, so a power cut can never make the target claim a unit it does not hold.
 */
#ifndef ATOLL_HV_STORAGE_STORAGE_MIG_RESUME_H
#define ATOLL_HV_STORAGE_STORAGE_MIG_RESUME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/guid.h"
#include "hv/storage/storage_mig_proto.h"

#define SMIG_MSG_KEEPALIVE 11u
#define SMIG_MSG_RESUME    12u

#define SMIG_KEEPALIVE_S      5u     /* the period at the default idle timeout */
#define SMIG_IDLE_DEFAULT_S   30u    /* nothing received for this long: the peer is gone */
#define SMIG_IDLE_MAX_S       3600u
#define SMIG_RESUME_ID_SIZE   48u
#define SMIG_RESUME_RETRY     1u     /* flags: a reconnect of a migration cut mid-way */
#define SMIG_HELD_HEAD        16u
#define SMIG_HELD_MAX         256u   /* units per HELD message */
#define SMIG_HELD_SIZE(n)     (SMIG_HELD_HEAD + 4u * (n))
#define SMIG_RECORD_SIZE      (60u + SMIG_NAME_LEN)
#define SMIG_RECORD_SUFFIX    ".smig"

/* The keepalive period for an idle timeout: a sixth of it, at least 1 s. */
uint32_t smig_keepalive_period_s(uint32_t idle_s);
/* KEEPALIVE carries nothing: 0, or -1 (err) for a payload. */
int smig_keepalive_decode(uint32_t len, char *err, size_t err_size);

struct smig_resume_id {
    struct guid session, data_write;
    uint32_t flags, idle_s, attempt;
};
size_t smig_resume_id_encode(const struct smig_resume_id *id, uint8_t *out, size_t cap);
/* 0, or -1 with one line in err (size, flags, reserved bits, idle outside 1..3600, no session). */
int smig_resume_id_decode(const uint8_t *in, uint32_t len, struct smig_resume_id *id, char *err,
                          size_t err_size);

/* HELD: count CRCs from crc[] (host order) for units first..first+count-1. */
size_t smig_held_encode(uint32_t first, uint32_t count, uint32_t units, const uint32_t *crc,
                        uint8_t *out, size_t cap);
/* Checks a HELD against the disk's units and the next unit expected (they come in order):
 * 0 with *count and *crcs (4 bytes each, little-endian, into in), or -1 (err). */
int smig_held_decode(const uint8_t *in, uint32_t len, uint32_t units, uint32_t next,
                     uint32_t *count, const uint8_t **crcs, char *err, size_t err_size);
uint32_t smig_held_crc(const uint8_t *crcs, uint32_t i);

/* The CRC-32C of `len` zero bytes (a unit nothing was written to). */
uint32_t smig_zero_crc(uint32_t len);
/* The size of unit u of a disk (the last one may be short). */
uint32_t smig_unit_len(uint64_t disk_size, uint32_t u);

/*
 * The resume's decision, source side: for each unit u < passed (the copy's cursor), bit u
 * of resend is set when theirs[u] (the target's CRC) differs from known[u] (the CRC of what
 * the source last staged for u, or of zeros when it never staged it).  Units at or past
 * `passed` go out with the first pass anyway.  How many are set.
 */
uint32_t smig_resume_plan(uint32_t units, uint32_t passed, const uint32_t *known,
                          const uint32_t *theirs, uint8_t *resend);

/* The target's record of what NAME.tmp is a copy of. */
struct smig_record {
    struct guid session, data_write;
    uint64_t disk_size;
    uint32_t sector_size, block_size;
    char name[SMIG_NAME_LEN];
};
size_t smig_record_encode(const struct smig_record *r, uint8_t *out, size_t cap);
int smig_record_decode(const uint8_t *in, size_t len, struct smig_record *r, char *err,
                       size_t err_size);
/* Whether NAME.tmp (recorded as r) may be resumed by this HELLO and identity: true, or
 * false with why (one line: another session, disk, size, geometry or name). */
bool smig_record_matches(const struct smig_record *r, const struct smig_hello *h,
                         const struct smig_resume_id *id, char *why, size_t why_size);

#endif
