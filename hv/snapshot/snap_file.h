/*
 * The RAM snapshot file (format: hv/snapshot/SNAPSHOT.md): writing it block by block as
 * workers finish, and opening one with every structure checked before anything is
 * believed.  I/O goes through the caller's callbacks (the pool in the kernel, a file on
 * the host).  Portable: no allocation.
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_FILE_H
#define ATOLL_HV_SNAPSHOT_SNAP_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/snapshot/snap_codec.h"

#define SNAP_FILE_MAGIC       "ATSNAP\r\n"
#define SNAP_FILE_VERSION     2u     /* reads 1 and 2 */
#define SNAP_FLAG_LIVE        1u     /* blocks re-saved: the index names each one's latest copy */
#define SNAP_HEADER_BYTES     4096u
#define SNAP_RECORD_BYTES     16u
#define SNAP_INDEX_ENTRY_BYTES 32u
#define SNAP_DISK_BYTES       160u
#define SNAP_MAX_DISKS        8u
#define SNAP_MAX_MANIFEST     4096u
#define SNAP_MAX_STATE        (16u << 20)
#define SNAP_MAX_RAM          (64ull << 30)
#define SNAP_ERR_LEN          160

struct snap_io {
    void *ctx;
    uint64_t size;                                          /* of the file (reading) */
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);         /* 0 or < 0 */
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);  /* 0 or < 0 */
};

struct snap_index_entry {
    uint64_t offset;            /* of the record; 0 for a block of zero pages only */
    uint32_t len, raw_len;
    uint16_t zero_mask;
    uint8_t level;
    uint32_t crc;
};

struct snap_disk_id {
    char path[128];
    uint8_t data_write_guid[16];
};

struct snap_header {
    uint64_t ram_size;
    uint32_t block_count;
    uint64_t index_offset, state_offset, state_len, manifest_offset, manifest_len;
    uint64_t disks_offset;
    uint32_t disk_count;
    char name[32];
    uint64_t guest_tsc;
    uint32_t ram_crc;
    uint32_t index_crc, state_crc, manifest_crc, disks_crc;    /* CRC-32C of each region */
    uint32_t version, flags;            /* flags: SNAP_FLAG_LIVE */
    uint32_t live_passes;               /* re-save passes while the guest ran (live) */
    uint32_t resaved_blocks;            /* block copies superseded by a later one (live) */
};

/* ---- writing -------------------------------------------------------------------------- */

struct snap_writer {
    struct snap_io io;
    struct snap_header h;
    struct snap_index_entry *index;     /* block_count entries, the caller's memory */
    uint64_t next;                      /* where the next record goes */
    bool failed;
    char err[SNAP_ERR_LEN];
};

/* index must hold ram_size / SNAP_BLOCK_SIZE entries. */
void snap_writer_init(struct snap_writer *w, const struct snap_io *io, uint64_t ram_size,
                      const char *name, struct snap_index_entry *index);
/* One block, as the pipeline encoded it.  Not thread-safe: the caller serialises.  A block
 * written again (a live snapshot's re-save) gets a new record; the index names the latest,
 * and the caller says so in h.flags (SNAP_FLAG_LIVE), h.live_passes and h.resaved_blocks
 * before snap_writer_finish. */
bool snap_writer_block(struct snap_writer *w, uint32_t number, const struct snap_encoded *e,
                       const uint8_t *data);
/* The index, state, manifest and disks, then the header last.  Every block must be in. */
bool snap_writer_finish(struct snap_writer *w, const void *state, size_t state_len,
                        const char *manifest, size_t manifest_len,
                        const struct snap_disk_id *disks, unsigned disk_count,
                        uint64_t guest_tsc, uint32_t ram_crc);

/* ---- reading -------------------------------------------------------------------------- */

/* The header, checked: magic, version, CRC, sizes, every region inside the file and none
 * overlapping another.  0, or -1 with one line in err. */
int snap_read_header(const struct snap_io *io, struct snap_header *h, char *err, size_t err_size);
/* Index entry `number`, checked against the header and its block record. */
int snap_read_entry(const struct snap_io *io, const struct snap_header *h, uint32_t number,
                    struct snap_index_entry *e, char *err, size_t err_size);
/* Block `number` decoded into dst (SNAP_BLOCK_SIZE bytes); buf holds SNAP_ENCODED_MAX bytes;
 * codec_state as for snap_decode. */
int snap_read_block(const struct snap_io *io, const struct snap_header *h, uint32_t number,
                    void *codec_state, uint8_t *buf, uint8_t *dst, char *err, size_t err_size);
/* The CRC-32C of the index, state, manifest and disk list against the header's, read
 * through buf (any size).  0, or -1 with one line in err. */
int snap_verify_regions(const struct snap_io *io, const struct snap_header *h, uint8_t *buf,
                        size_t buf_size, char *err, size_t err_size);
int snap_read_disk(const struct snap_io *io, const struct snap_header *h, unsigned i,
                   struct snap_disk_id *d, char *err, size_t err_size);

#endif
