/*
 * The Atoll control protocol, version 1: what travels on the wire.  Portable.
 *
 * Every message is a 16-byte header followed by a payload of TLV records, all integers
 * big-endian:
 *
 *   0  u32  magic          CTL_MAGIC ("ATCL")
 *   4  u16  version        CTL_VERSION
 *   6  u16  type           request type; a reply carries type | CTL_REPLY_BIT
 *   8  u32  request id     chosen by the client, echoed in the reply
 *  12  u32  payload length at most CTL_MAX_REQUEST_PAYLOAD / CTL_MAX_REPLY_PAYLOAD
 *
 * A TLV record is u16 tag, u16 length, then `length` bytes.  A reply's first record is
 * always CTL_TAG_STATUS (u16); an error reply adds CTL_TAG_MESSAGE (text).  A protocol
 * violation (bad magic, version, length, unknown type, malformed TLVs, truncation) gets an
 * error reply and the server closes the connection; a command that fails (no such
 * partition, wrong state) gets an error reply and the connection stays open.
 */
#ifndef ATOLL_NET_CONTROL_CTL_PROTO_H
#define ATOLL_NET_CONTROL_CTL_PROTO_H

#define CTL_MAGIC                 0x4154434Cu /* "ATCL" */
#define CTL_VERSION               1u
#define CTL_HEADER_SIZE           16u
#define CTL_TLV_HEADER_SIZE       4u
#define CTL_MAX_REQUEST_PAYLOAD   4096u
#define CTL_MAX_REPLY_PAYLOAD     16384u
#define CTL_REPLY_BIT             0x8000u
#define CTL_NAME_MAX              31u   /* partition names: [a-z0-9_-], 1..31 bytes (the manifest's rule) */
#define CTL_DEFAULT_PORT          7400u
#define CTL_OFFLOAD_TOKEN_SIZE    512u  /* hv/offload/token.h TOKEN_SIZE */
#define CTL_OFFLOAD_FILE_MAX      255u  /* a pool path in an offload request */
#define CTL_OFFLOAD_GRANT_SIZE    768u  /* hv/offload/grant.h GRANT_SIZE */
#define CTL_OFFLOAD_FETCH_MAX     12288u /* bytes a CTL_MSG_OFFLOAD_FETCH reply carries */
#define CTL_OFFLOAD_STORE_MAX     3584u  /* bytes a CTL_MSG_OFFLOAD_STORE request carries */

/* Request types.  Ranges are reserved for the subsystems that add commands later. */
enum ctl_msg_type {
    CTL_MSG_STATUS    = 0x0001, /* -> VERSION UPTIME_MS MEM_TOTAL MEM_FREE VMX PARTITIONS ... */
    CTL_MSG_LIST      = 0x0002, /* -> PARTITION* (each: NAME STATE VCPUS MEMORY) */
    CTL_MSG_START     = 0x0003, /* NAME -> [OP_ID] */
    CTL_MSG_STOP      = 0x0004, /* NAME -> [OP_ID] */
    CTL_MSG_LOG       = 0x0005, /* [MAX_BYTES] -> TEXT */
    CTL_MSG_OP_STATUS = 0x0006, /* OP_ID -> DONE TOTAL OP_STATE [MESSAGE] */
    CTL_MSG_CHECKPOINT = 0x0007, /* NAME -> TEXT (the round trip, done when it replies) */
    CTL_MSG_SNAPSHOT_FIRST  = 0x0100, CTL_MSG_SNAPSHOT_LAST  = 0x01ff,
    CTL_MSG_SNAPSHOT  = 0x0100, /* NAME FILE [STOP] [LIVE] -> OP_ID TEXT (begun; OP_STATUS
                                 * follows it: DONE/TOTAL RAM bytes, RATE, LEVEL_MIX, PASSES,
                                 * and once it ended RESULT and the hypervisor's line in TEXT),
                                 * or TEXT alone (refused at once, or done: no OP_ID) */
    CTL_MSG_RESTORE   = 0x0101, /* FILE [NAME] [LAZY] -> TEXT (restored and running, or refused) */
    CTL_MSG_MIGRATE_FIRST   = 0x0200, CTL_MSG_MIGRATE_LAST   = 0x02ff,
    CTL_MSG_MIGRATE   = 0x0200, /* NAME HOST -> TEXT (started; it goes on after the reply) */
    CTL_MSG_MIGRATE_STATUS = 0x0201, /* -> ACTIVE STAGE ROUND DONE TOTAL PAGES_LEFT DIRTY
                                      *    WIRE_BYTES LINK_BPS TEXT (the last line) */
    CTL_MSG_OFFLOAD_FIRST   = 0x0300, CTL_MSG_OFFLOAD_LAST   = 0x03ff,
    /* offload (hv/offload/TOKEN.md): FILE [OBJ_KIND] [OFFSET] [LENGTH] [LIFETIME_MS]
     * -> TOKEN COVERED;  TOKEN FILE [OBJ_KIND] [OFFSET] [TOKEN_OFFSET] [LENGTH] [WHOLE]
     * -> WRITTEN [TEXT] */
    CTL_MSG_OFFLOAD_READ    = 0x0300,
    CTL_MSG_OFFLOAD_WRITE   = 0x0301,
    /* between two hosts: GRANT HOST FILE [OBJ_KIND] [OFFSET] [TOKEN_OFFSET] [LENGTH] -> TEXT
     * (started: this host pulls the grant's token from HOST, the source provider's offload
     * link, into FILE; it goes on after the reply);  -> ACTIVE DONE TOTAL RESULT TEXT */
    CTL_MSG_OFFLOAD_PULL    = 0x0302,
    CTL_MSG_OFFLOAD_PULL_STATUS = 0x0303,
    /* plain reads and writes, the path of a client that copies through itself:
     * FILE [OBJ_KIND] [OFFSET] LENGTH -> DATA (at most CTL_OFFLOAD_FETCH_MAX; short at the
     * end);  FILE [OBJ_KIND] [OFFSET] DATA (at most CTL_OFFLOAD_STORE_MAX) -> WRITTEN */
    CTL_MSG_OFFLOAD_FETCH   = 0x0304,
    CTL_MSG_OFFLOAD_STORE   = 0x0305,
    CTL_MSG_DISK_FIRST      = 0x0400, CTL_MSG_DISK_LAST      = 0x04ff,   /* net/control/ctl_disk.h */
    CTL_MSG_DISK      = 0x0400, /* TEXT (PARTITION DISK VERB ...) -> TEXT [OP_ID] */
    CTL_MSG_DISK_JOBS = 0x0401, /* [OP_ID] -> DISK_JOB* (each: OP_ID TEXT JOB_STATE DONE TOTAL
                                 * ELAPSED_MS [ETA_MS] PASSES RECOPIED [MESSAGE]) */
    CTL_MSG_CAPTURE_FIRST   = 0x0500, CTL_MSG_CAPTURE_LAST   = 0x05ff,
    CTL_MSG_CAPTURE   = 0x0500, /* FILE -> TEXT (the display's framebuffer written to the pool
                                 * as PNG: hv/core/display_capture.h), or refused */
    CTL_MSG_TYPE_MAX        = 0x7fff,
};

enum ctl_tag {
    CTL_TAG_STATUS      = 1,  /* u16, enum ctl_status */
    CTL_TAG_MESSAGE     = 2,  /* text */
    CTL_TAG_NAME        = 3,  /* partition name */
    CTL_TAG_VERSION     = 4,  /* text: hypervisor version */
    CTL_TAG_UPTIME_MS   = 5,  /* u64 */
    CTL_TAG_MEM_TOTAL   = 6,  /* u64 bytes */
    CTL_TAG_MEM_FREE    = 7,  /* u64 bytes */
    CTL_TAG_VMX         = 8,  /* u8: 1 when VT-x is usable */
    CTL_TAG_PARTITION   = 9,  /* container of NAME STATE VCPUS MEMORY */
    CTL_TAG_STATE       = 10, /* u8, enum ctl_partition_state */
    CTL_TAG_VCPUS       = 11, /* u32 */
    CTL_TAG_MEMORY      = 12, /* u64 bytes */
    CTL_TAG_MAX_BYTES   = 13, /* u32 */
    CTL_TAG_TEXT        = 14, /* text */
    CTL_TAG_FINGERPRINT = 15, /* 32 bytes: SHA-256 of a public key's SubjectPublicKeyInfo */
    CTL_TAG_CONNECTIONS = 16, /* u32: control connections open now */
    CTL_TAG_SERVED      = 17, /* u64: control connections accepted since boot */
    CTL_TAG_OP_ID       = 18, /* u32 */
    CTL_TAG_DONE        = 19, /* u64 units done */
    CTL_TAG_TOTAL       = 20, /* u64 units in all */
    CTL_TAG_OP_STATE    = 21, /* u8, enum ctl_op_state */
    CTL_TAG_PARTITIONS  = 22, /* u32 */
    CTL_TAG_HOSTNAME    = 23, /* text */
    CTL_TAG_FILE        = 24, /* text: a file in the storage pool */
    CTL_TAG_STOP        = 25, /* u8: 1 = stop the partition after its snapshot */
    CTL_TAG_LAZY        = 26, /* u8: 1 = restore lazily (runs before its RAM is loaded) */
    /* Snapshot progress (0x0100-0x01ff: the snapshot subsystem's, like its messages). */
    CTL_TAG_LIVE        = 0x0100, /* u8: 1 = a live snapshot (the partition keeps running) */
    CTL_TAG_LEVEL_MIX   = 0x0101, /* text: "store 3, lz4 120", blocks written at each level */
    CTL_TAG_RATE        = 0x0102, /* u64: bytes of RAM a second, since the operation began */
    CTL_TAG_PASSES      = 0x0103, /* u32: a live snapshot's re-save passes so far */
    CTL_TAG_RESULT      = 0x0104, /* u16, enum ctl_status: what an ended operation came to
                                   * (OP_STATE FAILED: why; TEXT has its line) */
    /* offload's tags, numbered in its message range */
    CTL_TAG_TOKEN        = 0x0300, /* CTL_OFFLOAD_TOKEN_SIZE bytes, opaque to the client */
    CTL_TAG_OBJ_KIND     = 0x0301, /* u8: 1 = pool file (default), 2 = a VHDX's contents */
    CTL_TAG_OFFSET       = 0x0302, /* u64 bytes into the file or disk */
    CTL_TAG_LENGTH       = 0x0303, /* u64 bytes; absent: to the end */
    CTL_TAG_LIFETIME_MS  = 0x0304, /* u32; absent: the provider's longest */
    CTL_TAG_COVERED      = 0x0305, /* u64 bytes the token stands for */
    CTL_TAG_TOKEN_OFFSET = 0x0306, /* u64 bytes into the token's data */
    CTL_TAG_WRITTEN      = 0x0307, /* u64 bytes written */
    CTL_TAG_GRANT        = 0x0308, /* CTL_OFFLOAD_GRANT_SIZE bytes (hv/offload/TOKEN.md) */
    CTL_TAG_DATA         = 0x0309, /* bytes of a file or disk (FETCH, STORE) */
    CTL_TAG_WHOLE        = 0x030a, /* u8: 1 = this WRITE begins one of the whole token into
                                    * the whole destination (TOKEN_OFFSET and OFFSET 0): the
                                    * provider may do all of it at once, WRITTEN > LENGTH */
    /* migration's tags, numbered in its message range */
    CTL_TAG_HOST        = 0x0200, /* text: A.B.C.D[:PORT], a migration's target */
    CTL_TAG_ACTIVE      = 0x0201, /* u8: 1 while a migration runs */
    CTL_TAG_STAGE       = 0x0202, /* text: a migration's stage */
    CTL_TAG_ROUND       = 0x0203, /* u32: a migration's pre-copy round */
    CTL_TAG_PAGES_LEFT  = 0x0204, /* u64: pages left in the round */
    CTL_TAG_DIRTY       = 0x0205, /* u64: pages the last round left dirty */
    CTL_TAG_WIRE_BYTES  = 0x0206, /* u64: bytes sent so far */
    CTL_TAG_LINK_BPS    = 0x0207, /* u64: measured link rate, bytes per second */
    /* Live disk operations (0x0400..0x04ff, as their message types). */
    CTL_TAG_DISK_JOB    = 0x0400, /* container: one job of CTL_MSG_DISK_JOBS */
    CTL_TAG_JOB_STATE   = 0x0401, /* text: queued running paused done failed cancelled */
    CTL_TAG_ELAPSED_MS  = 0x0402, /* u64 */
    CTL_TAG_ETA_MS      = 0x0403, /* u64; absent: unknown */
    CTL_TAG_JOB_PASSES  = 0x0404, /* u32: a disk job's passes */
    CTL_TAG_RECOPIED    = 0x0405, /* u32: units the guest wrote after the job passed them */
};

enum ctl_status {
    CTL_OK               = 0,
    /* protocol violations: the server closes the connection after the reply */
    CTL_ERR_MALFORMED    = 1,
    CTL_ERR_UNKNOWN_TYPE = 2,
    CTL_ERR_TOO_LARGE    = 3,
    CTL_ERR_VERSION      = 4,
    CTL_ERR_UNAUTHENTICATED = 5,
    CTL_ERR_TRUNCATED    = 6,
    /* command failures: the connection stays open */
    CTL_ERR_NOT_FOUND    = 16,
    CTL_ERR_BAD_STATE    = 17,
    CTL_ERR_BAD_ARGUMENT = 18,
    CTL_ERR_BUSY         = 19,
    CTL_ERR_UNSUPPORTED  = 20,
    CTL_ERR_INTERNAL     = 21,
};

#define CTL_STATUS_CLOSES(s) ((s) >= CTL_ERR_MALFORMED && (s) <= CTL_ERR_TRUNCATED)

enum ctl_partition_state {
    CTL_PART_STOPPED = 0, CTL_PART_STARTING = 1, CTL_PART_RUNNING = 2,
    CTL_PART_STOPPING = 3, CTL_PART_FAILED = 4,
};

enum ctl_op_state { CTL_OP_RUNNING = 0, CTL_OP_DONE = 1, CTL_OP_FAILED = 2 };

#endif
