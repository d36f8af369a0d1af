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
    CTL_MSG_SNAPSHOT  = 0x0100, /* NAME FILE [STOP] -> TEXT (written, done when it replies) */
    CTL_MSG_RESTORE   = 0x0101, /* FILE [NAME] [LAZY] -> TEXT (restored and running, or refused) */
    CTL_MSG_MIGRATE_FIRST   = 0x0200, CTL_MSG_MIGRATE_LAST   = 0x02ff,
    CTL_MSG_OFFLOAD_FIRST   = 0x0300, CTL_MSG_OFFLOAD_LAST   = 0x03ff,
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
