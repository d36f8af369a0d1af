/* State of an open VHDX image shared by the vhdx_*.c files; not part of the API. */
#ifndef ATOLL_HV_STORAGE_VHDX_INTERNAL_H
#define ATOLL_HV_STORAGE_VHDX_INTERNAL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_format.h"

#define VHDX_NAME_MAX 256
#define VHDX_PATH_MAX 256
#define VHDX_TXN_MAX  24               /* 4 KiB sectors one log entry may carry */
#define VHDX_LOG_MAX  (64u * VHDX_MIB)  /* largest log we replay */
#define VHDX_BAT_MAX  (256u * VHDX_MIB) /* largest BAT we hold in memory */

struct vhdx_header {
    uint64_t seq;
    struct guid file_write, data_write, log_guid;
    uint16_t log_version, version;
    uint32_t log_len;
    uint64_t log_off;
};

/* A set of 4 KiB metadata sectors to change atomically through the log. */
struct vhdx_txn {
    unsigned n;
    struct {
        uint64_t off;
        const uint8_t *data; /* VHDX_LOG_SECTOR bytes, the new content */
    } s[VHDX_TXN_MAX];
};

/* A sector (or zeroed range) a log replayed in memory changed: a read-only open of an
 * image whose log needs replay sees the file through these. */
struct vhdx_overlay {
    uint64_t off, len;
    uint8_t *data; /* len bytes, or NULL: zeros */
};

struct vhdx {
    struct vhdx_env env;
    struct vhdx_io io;
    char name[VHDX_NAME_MAX];
    bool read_only;
    bool broken; /* a metadata update failed half-way: refuse further changes */

    struct vhdx_header hdr;
    int cur_header; /* 0: header 1 is current, 1: header 2 */

    uint64_t bat_off, meta_off;
    uint32_t bat_len, meta_len;

    uint64_t disk_size;
    uint32_t block_size, lss, pss;
    struct guid disk_id;
    bool has_parent, leave_allocated;
    struct guid parent_linkage, parent_linkage2;
    bool has_linkage2;
    char parent_rel[VHDX_PATH_MAX], parent_abs[VHDX_PATH_MAX], parent_vol[VHDX_PATH_MAX];

    uint32_t chunk_ratio, payload_blocks, bitmap_blocks, bat_entries;
    uint8_t *bat;       /* raw little-endian BAT, bat_bytes long */
    uint32_t bat_bytes; /* bat_entries * 8 rounded up to VHDX_LOG_SECTOR */
    uint8_t **bitmaps;  /* per chunk: VHDX_BITMAP_BLOCK bytes once loaded */
    uint64_t file_end;  /* where the next block goes: file size rounded up to 1 MiB */

    bool file_guid_new, data_guid_new; /* this session already changed them */
    uint64_t log_seq;
    uint32_t log_head;
    bool apply_pending; /* in-place metadata written since the last flush */
    uint32_t replayed;
    struct vhdx_overlay *overlay; /* read-only replay, in log order (later ones win) */
    uint32_t overlay_n, overlay_cap;
    uint64_t overlay_size;        /* the file's size as the replayed log leaves it */

    struct vhdx *parent;
    struct vhdx_io parent_io;
    bool parent_io_open;
    char parent_name[VHDX_NAME_MAX];
};

/* vhdx_util.c */
int vhdx_fail(struct vhdx_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *vhdx_alloc(const struct vhdx_env *env, size_t size);
void vhdx_free(const struct vhdx_env *env, void *p);
int vhdx_pread(struct vhdx *d, uint64_t off, void *buf, size_t len, struct vhdx_err *err);
int vhdx_pwrite(struct vhdx *d, uint64_t off, const void *buf, size_t len, struct vhdx_err *err);
int vhdx_sync(struct vhdx *d, struct vhdx_err *err);
/* The file's size, as a log replayed in memory leaves it. */
uint64_t vhdx_file_size(const struct vhdx *d);
uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_off);
bool vhdx_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/* vhdx_header.c */
int vhdx_read_headers(struct vhdx *d, struct vhdx_err *err);
int vhdx_read_regions(struct vhdx *d, struct vhdx_err *err);
int vhdx_update_header(struct vhdx *d, struct vhdx_err *err);
int vhdx_begin_change(struct vhdx *d, bool visible, struct vhdx_err *err);
void vhdx_encode_header(const struct vhdx_header *h, uint8_t *buf);

/* vhdx_metadata.c */
int vhdx_read_metadata(struct vhdx *d, struct vhdx_err *err);
size_t vhdx_build_metadata(uint8_t *region, uint32_t region_len, uint32_t block_size,
                           bool has_parent, uint64_t disk_size, const struct guid *disk_id,
                           uint32_t lss, uint32_t pss, const struct guid *linkage,
                           const char *rel_path, const char *abs_path);

/* The parent's metadata items marked IsVirtualDisk that vhdx_build_metadata does not
 * write (user metadata about the virtual disk, which a child carries over), appended to
 * region past its *used bytes. */
int vhdx_copy_vdisk_items(struct vhdx *parent, uint8_t *region, uint32_t region_len,
                          size_t *used, struct vhdx_err *err);

/* vhdx_log.c */
int vhdx_log_replay(struct vhdx *d, struct vhdx_err *err);
void vhdx_log_overlay_free(struct vhdx *d);
/* Applies the in-memory replay to buf, which holds [off, off+len) of the file. */
void vhdx_log_overlay_apply(const struct vhdx *d, uint64_t off, uint8_t *buf, size_t len);
int vhdx_log_commit(struct vhdx *d, const struct vhdx_txn *t, struct vhdx_err *err);
void vhdx_txn_add(struct vhdx_txn *t, uint64_t off, const uint8_t *data);

/* vhdx_utf16.c: the parent locator's strings.  UTF-16LE (a trailing NUL dropped) into a
 * NUL-terminated UTF-8 string of at most size bytes: its length, or one of these. */
#define VHDX_UTF_INVALID  (-1) /* a control character, a lone surrogate, an odd length */
#define VHDX_UTF_TOO_LONG (-2)
int vhdx_utf16_to_utf8(const uint8_t *p, uint32_t bytes, char *out, size_t size);
bool vhdx_utf8_valid(const char *s);
/* s (valid UTF-8) as UTF-16LE at p, at most 2 bytes per byte of s; returns bytes written. */
uint32_t vhdx_utf8_to_utf16(uint8_t *p, const char *s);
/* Whether the UTF-16LE string at p (bytes long) is exactly `ascii` (a locator key). */
bool vhdx_utf16_is(const uint8_t *p, uint32_t bytes, const char *ascii);

/* vhdx_bat.c */
void vhdx_geometry(struct vhdx *d);
int vhdx_bat_load(struct vhdx *d, struct vhdx_err *err);
uint32_t vhdx_payload_index(const struct vhdx *d, uint32_t block);
uint32_t vhdx_bitmap_index(const struct vhdx *d, uint32_t chunk);
uint64_t vhdx_bat_get(const struct vhdx *d, uint32_t index);
void vhdx_bat_set(struct vhdx *d, uint32_t index, uint64_t entry, struct vhdx_txn *t);
int vhdx_bitmap_get(struct vhdx *d, uint32_t chunk, uint8_t **out, struct vhdx_err *err);
int vhdx_alloc_space(struct vhdx *d, uint64_t size, uint64_t *off, struct vhdx_err *err);
bool vhdx_state_valid(const struct vhdx *d, unsigned state);
/* A parent locator (VHDX type) in loc from n key/value pairs, skipping empty values, with
 * room for n entries before the strings (UTF-16LE); returns its length in bytes. */
uint32_t vhdx_put_locator(uint8_t *loc, const char *const *keys, const char *const *vals,
                          unsigned n);


#endif
