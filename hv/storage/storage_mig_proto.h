/*
 * The storage-migration protocol (hv/storage/storage_migration.md): a disk a partition is
 * using moves to another Atoll host over one pinned TLS connection, as framed messages.
 * Portable: no I/O, no allocation; the kernel (hv/core/storage_migrate_*.c) moves the bytes.
 *
 * A message is a 16-byte header and a payload, integers little-endian:
 *   0 u32 magic SMIG_MAGIC ("ATSM")   4 u16 type   6 u16 0
 *   8 u32 payload length (at most SMIG_MAX_PAYLOAD)   12 u32 CRC-32C of the payload
 *
 *   source                                  target
 *   HELLO (disk geometry, name, parents) ->
 *                                        <- READY (accepted, parents held; or refused)
 *   DATA (offset, length, bytes | ZERO)  ->  ... any number, any order, a later one wins
 *   COMMIT (bytes sent, CRC of the disk) ->
 *                                        <- DONE (durable under its name, CRC; or failed)
 *   ABORT (why)                          ->  the target discards what it has
 */
#ifndef ATOLL_HV_STORAGE_STORAGE_MIG_PROTO_H
#define ATOLL_HV_STORAGE_STORAGE_MIG_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/guid.h"

#define SMIG_MAGIC        0x4d535441u   /* "ATSM" read as little-endian bytes */
#define SMIG_VERSION      1u
#define SMIG_HEADER_SIZE  16u
#define SMIG_UNIT         (1024u * 1024u)   /* the most one DATA carries */
#define SMIG_DATA_HEADER  16u
#define SMIG_MAX_PAYLOAD  (SMIG_DATA_HEADER + SMIG_UNIT)
#define SMIG_NAME_LEN     112u          /* a pool path and its NUL */
#define SMIG_TEXT_LEN     96u
#define SMIG_MAX_PARENTS  4u
#define SMIG_HELLO_SIZE   (32u + SMIG_NAME_LEN + SMIG_MAX_PARENTS * (16u + SMIG_NAME_LEN))
#define SMIG_REPLY_SIZE   (24u + SMIG_TEXT_LEN)
#define SMIG_PORT_OFFSET  5u            /* control port + 5 */
#define SMIG_DEFAULT_PORT 7405u
#define SMIG_MAX_DISK     (1ull << 42)  /* 4 TiB */

enum smig_msg_type {
    SMIG_MSG_HELLO = 1,
    SMIG_MSG_READY = 2,
    SMIG_MSG_DATA = 3,
    SMIG_MSG_COMMIT = 4,
    SMIG_MSG_DONE = 5,
    SMIG_MSG_ABORT = 6,
    SMIG_MSG_READ = 7,          /* "after" mode, target -> source: a range it needs now */
    SMIG_MSG_PARENTS = 8,       /* a chain's parents: target -> source before READY, and */
    SMIG_MSG_PFILE = 9,         /* source -> target, the needed ones (storage_mig_chain.h) */
    SMIG_MSG_MAX = 9,
};

enum smig_status { SMIG_OK = 0, SMIG_REFUSED = 1, SMIG_FAILED = 2 };

#define SMIG_HELLO_VERIFY 1u    /* the target reports the CRC-32C of the whole disk at DONE */
#define SMIG_HELLO_AFTER  2u    /* "after" mode: the target pulls units with READ and serves a
                                 * partition from them meanwhile; the source sends no DATA
                                 * of its own */
#define SMIG_DATA_ZERO    1u    /* the range reads as zero; no bytes follow */
#define SMIG_DATA_FETCHED 2u    /* "after" mode: the answer to a READ of that range */
#define SMIG_COMMIT_CRC   1u    /* COMMIT carries the source disk's CRC-32C */

struct smig_header {
    uint16_t type;
    uint32_t length;
    uint32_t crc;
};

void smig_header_encode(uint8_t out[SMIG_HEADER_SIZE], uint16_t type, const void *payload,
                        uint32_t len);
/* 0, or -1 with one line in err (bad magic, type, reserved bits, length). */
int smig_header_decode(const uint8_t in[SMIG_HEADER_SIZE], struct smig_header *h, char *err,
                       size_t err_size);
bool smig_payload_ok(const struct smig_header *h, const void *payload);

/* A parent of the disk, nearest first: its pool path and DataWriteGuid. */
struct smig_parent {
    char name[SMIG_NAME_LEN];
    struct guid data_write;
};

struct smig_hello {
    uint32_t version, flags;
    uint64_t disk_size;             /* a non-zero multiple of sector_size, at most 4 TiB */
    uint32_t sector_size;           /* 512 or 4096 */
    uint32_t block_size;            /* the new VHDX's: 1..256 MiB, a power of two */
    char name[SMIG_NAME_LEN];       /* the pool path on the target */
    uint32_t parents;               /* at most SMIG_MAX_PARENTS */
    struct smig_parent parent[SMIG_MAX_PARENTS];
};

/* READY and DONE. */
struct smig_reply {
    uint32_t status;
    uint32_t crc;                   /* DONE with VERIFY: the target's disk CRC-32C */
    int32_t parent_held;            /* READY: the nearest parent held (index), -1 none */
    uint64_t bytes;                 /* DONE: DATA bytes the target wrote */
    char text[SMIG_TEXT_LEN];
};

struct smig_data {
    uint64_t offset;
    uint32_t length, flags;
    const uint8_t *bytes;           /* into the payload; NULL for ZERO */
};

/* READ ("after" mode): one unit-sized range at most, answered by DATA with FETCHED. */
struct smig_read {
    uint64_t offset;
    uint32_t length;
};

struct smig_commit {
    uint32_t flags, crc;
    uint64_t bytes;                 /* DATA bytes the source sent (ZERO ranges included) */
};

/* Encoders return the payload's length (0 when cap is too small). */
size_t smig_hello_encode(const struct smig_hello *h, uint8_t *out, size_t cap);
int smig_hello_decode(const uint8_t *in, uint32_t len, struct smig_hello *h, char *err,
                      size_t err_size);
size_t smig_reply_encode(const struct smig_reply *r, uint8_t *out, size_t cap);
int smig_reply_decode(const uint8_t *in, uint32_t len, struct smig_reply *r, char *err,
                      size_t err_size);
/* DATA's 16-byte head; `length` bytes follow it unless ZERO.  The payload's length. */
uint32_t smig_data_head_encode(uint8_t out[SMIG_DATA_HEADER], uint64_t offset, uint32_t length,
                               uint32_t flags);
/* Checks the range against the disk (sector-aligned, inside, at most SMIG_UNIT). */
int smig_data_decode(const uint8_t *in, uint32_t len, uint64_t disk_size, uint32_t sector_size,
                     struct smig_data *d, char *err, size_t err_size);
size_t smig_read_encode(const struct smig_read *r, uint8_t *out, size_t cap);
/* Checks the range as DATA's (sector-aligned, inside the disk, at most SMIG_UNIT). */
int smig_read_decode(const uint8_t *in, uint32_t len, uint64_t disk_size, uint32_t sector_size,
                     struct smig_read *r, char *err, size_t err_size);
size_t smig_commit_encode(const struct smig_commit *c, uint8_t *out, size_t cap);
int smig_commit_decode(const uint8_t *in, uint32_t len, struct smig_commit *c, char *err,
                       size_t err_size);
/* ABORT: a line of text (not terminated on the wire); into out, terminated. */
size_t smig_abort_encode(const char *why, uint8_t *out, size_t cap);
void smig_abort_decode(const uint8_t *in, uint32_t len, char *out, size_t out_size);

/*
 * The identity seed: which of the disk's parents the target already holds.  holds(ctx,
 * name, guid) says whether the target has a disk at that path whose DataWriteGuid is guid.
 * Returns the index of the nearest parent it holds (the source sends only the layers above
 * it, and the target makes the new disk a child of its copy), or -1: none is held with the
 * same DataWriteGuid (a parent with another DataWriteGuid changed since; it is sent).
 */
int smig_parent_held(const struct smig_hello *h,
                     bool (*holds)(void *ctx, const char *name, const struct guid *g),
                     void *ctx);
/* "A.B.C.D" or "A.B.C.D:PORT" (PORT 1..65535; default_port when absent): *ip in host byte
 * order.  False when it is anything else. */
bool smig_parse_host(const char *s, uint16_t default_port, uint32_t *ip, uint16_t *port);
/* A pool path a HELLO may name: printable, no blanks, no "..", not a directory. */
bool smig_path_ok(const char *s);

#endif
