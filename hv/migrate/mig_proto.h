/*
 * The live-migration protocol (hv/migrate/MIGRATE.md): framed messages between a source
 * host and a target host over one TLS connection, and the page batches that carry guest
 * RAM.  Portable: no I/O, no allocation; the kernel (hv/core/migrate_*.c) moves the bytes.
 *
 * A message is a 16-byte header and a payload, integers little-endian:
 *   0 u32 magic MIG_MAGIC ("ATMG")   4 u16 type   6 u16 0
 *   8 u32 payload length (at most MIG_MAX_PAYLOAD)   12 u32 CRC-32C of the payload
 */
#ifndef ATOLL_HV_MIGRATE_MIG_PROTO_H
#define ATOLL_HV_MIGRATE_MIG_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC        0x474d5441u    /* "ATMG" read as little-endian bytes */
#define MIG_VERSION      1u
#define MIG_HEADER_SIZE  16u
#define MIG_PAGE_SIZE    4096u
#define MIG_BATCH_PAGES  16u            /* one snapshot codec block (snap_codec.h) */
#define MIG_BATCH_HEADER 16u
#define MIG_BATCH_MAX    (MIG_BATCH_HEADER + MIG_BATCH_PAGES * 4u + MIG_BATCH_PAGES * MIG_PAGE_SIZE)
#define MIG_MAX_PAYLOAD  (256u * 1024u) /* the largest message: the state stream */
#define MIG_NAME_LEN     32u
#define MIG_MAX_RAM      (3ull << 30)   /* as a checkpoint (checkpoint_stream.h) */
#define MIG_DEFAULT_PORT 7403u

enum mig_msg_type {
    MIG_MSG_HELLO = 1,      /* source: version, RAM, vCPUs, name, manifest section */
    MIG_MSG_READY = 2,      /* target: status, text (accepted, or why not) */
    MIG_MSG_PAGES = 3,      /* source: one page batch */
    MIG_MSG_ROUND = 4,      /* source: round number ended (u32), pages in it (u32) */
    MIG_MSG_STATE = 5,      /* source: guest TSC at the pause (u64), RAM CRC-32C (u32), stream */
    MIG_MSG_DONE  = 6,      /* target: status, RAM CRC-32C, text: resumed (0) or refused */
    MIG_MSG_MAX   = 6,
};

enum mig_status { MIG_OK = 0, MIG_REFUSED = 1, MIG_FAILED = 2 };

struct mig_header {
    uint16_t type;
    uint32_t length;
    uint32_t crc;
};

void mig_header_encode(uint8_t out[MIG_HEADER_SIZE], uint16_t type, const void *payload,
                       uint32_t len);
/* 0, or -1 with one line in err (bad magic, type, reserved bits, length). */
int mig_header_decode(const uint8_t in[MIG_HEADER_SIZE], struct mig_header *h, char *err,
                      size_t err_size);
/* The payload matches the header's CRC-32C. */
bool mig_payload_ok(const struct mig_header *h, const void *payload);

/* ---- HELLO ---------------------------------------------------------------------------- */
struct mig_hello {
    uint32_t version;
    uint64_t ram_bytes;             /* a non-zero multiple of 4 KiB up to MIG_MAX_RAM */
    uint32_t vcpus;
    char name[MIG_NAME_LEN];        /* NUL-terminated partition name */
    const char *manifest;           /* the partition's manifest section (not terminated) */
    uint32_t manifest_len;
};
#define MIG_HELLO_FIXED (4u + 8u + 4u + MIG_NAME_LEN)
/* Bytes written into out (cap), 0 when it does not fit. */
size_t mig_hello_encode(const struct mig_hello *h, uint8_t *out, size_t cap);
int mig_hello_decode(const uint8_t *p, uint32_t len, struct mig_hello *h, char *err,
                     size_t err_size);

/* ---- READY and DONE: status, CRC (DONE), text ------------------------------------------ */
struct mig_reply {
    uint32_t status;                /* enum mig_status */
    uint32_t ram_crc;               /* DONE: the target's RAM CRC-32C */
    char text[160];
};
size_t mig_reply_encode(const struct mig_reply *r, uint8_t *out, size_t cap);
int mig_reply_decode(const uint8_t *p, uint32_t len, struct mig_reply *r, char *err,
                     size_t err_size);

/* ---- ROUND ------------------------------------------------------------------------------ */
size_t mig_round_encode(uint32_t round, uint32_t pages, uint8_t *out, size_t cap);
int mig_round_decode(const uint8_t *p, uint32_t len, uint32_t *round, uint32_t *pages);

/* ---- STATE ------------------------------------------------------------------------------ */
#define MIG_STATE_FIXED 12u
struct mig_state {
    uint64_t guest_tsc0;            /* vCPU 0's guest TSC at the pause */
    uint32_t ram_crc;               /* of the source's RAM at the pause */
    const uint8_t *stream;          /* the checkpoint stream (checkpoint_stream.h) */
    uint32_t stream_len;
};
size_t mig_state_encode(const struct mig_state *s, uint8_t *out, size_t cap);
int mig_state_decode(const uint8_t *p, uint32_t len, struct mig_state *s, char *err,
                     size_t err_size);

/* ---- PAGES: a batch of up to MIG_BATCH_PAGES pages of guest RAM -------------------------
 *   0 u16 count (1..16)   2 u16 zero mask (bit i: page i is all zero, no data)
 *   4 u8 codec level (snap_level: store or an LZ4 level)   5..7 0
 *   8 u32 raw length (non-zero pages x 4096)   12 u32 data length
 *  16 count x u32 page frame numbers, then the data (snap_codec.h's encoded block) */
struct mig_batch {
    uint32_t count;
    uint32_t pfn[MIG_BATCH_PAGES];
    uint16_t zero_mask;
    uint8_t level;
    uint32_t raw_len, data_len;
    const uint8_t *data;
};
/* The pages (count pages of 4 KiB gathered at src, a buffer of MIG_BATCH_PAGES pages whose
 * pages past count are cleared here) encoded at level (a snap_level) with codec state
 * `codec` (snap_codec_state_size bytes) into out (MIG_BATCH_MAX bytes); returns the
 * payload length.  *b describes what was encoded. */
size_t mig_batch_encode(void *codec, unsigned level, const uint32_t *pfn, uint32_t count,
                        uint8_t *src, uint8_t *out, struct mig_batch *b);
/* Checks a PAGES payload against a RAM of ram_pages pages (frame numbers in range, lengths,
 * levels) and decodes its pages into dst (MIG_BATCH_PAGES x 4 KiB).  0, or -1 with err. */
int mig_batch_decode(void *codec, const uint8_t *p, uint32_t len, uint64_t ram_pages,
                     struct mig_batch *b, uint8_t *dst, char *err, size_t err_size);

/* "A.B.C.D" or "A.B.C.D:PORT" (PORT 1..65535; MIG_DEFAULT_PORT when absent): *ip in host
 * byte order.  False when it is anything else. */
bool mig_parse_host(const char *s, uint32_t *ip, uint16_t *port);

#endif
