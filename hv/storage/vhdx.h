/*
 * VHDX virtual disks ([MS-VHDX]): dynamic and differencing images, log replay on open,
 * BAT and sector bitmaps, parent identity checked through parent_linkage.  Portable: the
 * image is reached only through struct vhdx_io, memory and GUIDs through struct vhdx_env.
 * On the host it runs on a file; in the hypervisor on a FAT32 pool file.  Not thread-safe:
 * one caller at a time per open disk.
 */
#ifndef ATOLL_HV_STORAGE_VHDX_H
#define ATOLL_HV_STORAGE_VHDX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/guid.h"

/* Byte-addressed storage holding one image.  Every call returns 0 or a negative value. */
struct vhdx_io {
    void *ctx;
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);  /* short read = error */
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
    int (*flush)(void *ctx);                                      /* durable when it returns */
    uint64_t (*size)(void *ctx);
    int (*resize)(void *ctx, uint64_t new_size);                  /* new bytes read as zero */
};

/* The platform: memory, fresh GUIDs, and how to reach a parent image. */
struct vhdx_env {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size); /* zero-filled, or NULL */
    void (*free)(void *ctx, void *p);
    void (*random_guid)(void *ctx, struct guid *out);
    /*
     * Opens the parent of `child_name` named by its locator (relative_path uses '\' as
     * separator; either path may be empty).  Fills *io and the parent's display name.
     * NULL when the platform has no parents to offer.
     */
    int (*open_parent)(void *ctx, const char *child_name, const char *relative_path,
                       const char *absolute_path, bool writable, struct vhdx_io *io,
                       char *name, size_t name_size);
    void (*close_parent)(void *ctx, struct vhdx_io *io);
};

enum vhdx_status {
    VHDX_OK = 0,
    VHDX_E_IO = -1,          /* the storage failed */
    VHDX_E_CORRUPT = -2,     /* the image breaks the format */
    VHDX_E_NOMEM = -3,
    VHDX_E_INVALID = -4,     /* bad argument */
    VHDX_E_STALE_PARENT = -5,/* parent_linkage differs from the parent's DataWriteGuid */
    VHDX_E_READ_ONLY = -6,
    VHDX_E_UNSUPPORTED = -7,
    VHDX_E_NO_PARENT = -8,   /* the parent could not be opened */
};

/* One-line, human-readable reason for the last failure. */
struct vhdx_err {
    int code;
    char msg[640];
};

enum vhdx_open_flags {
    VHDX_OPEN_READ_ONLY = 1u << 0,
    VHDX_OPEN_NO_PARENT = 1u << 1, /* differencing disk without its chain (info, check) */
    VHDX_OPEN_PARENT_RW = 1u << 2, /* parent opened writable (merge) */
};

struct vhdx;

struct vhdx_info {
    uint64_t disk_size;
    uint64_t file_size;
    uint32_t block_size;
    uint32_t logical_sector_size;
    uint32_t physical_sector_size;
    uint32_t chunk_ratio;
    uint32_t payload_blocks;
    uint32_t blocks_present; /* fully or partially present payload blocks */
    uint32_t blocks_zero;
    uint32_t bitmap_blocks_present;
    uint32_t log_entries_replayed; /* at this open */
    bool has_parent;
    bool read_only;
    uint64_t header_sequence;
    uint32_t log_length;
    uint64_t log_offset;
    struct guid file_write_guid, data_write_guid, log_guid, virtual_disk_id;
    struct guid parent_linkage;
    char parent_relative_path[256];
    char parent_absolute_path[256];
    char parent_volume_path[256];
    char parent_name[256]; /* as opened, empty when no parent was opened */
};

struct vhdx_create_params {
    uint64_t disk_size;            /* ignored for a child: taken from the parent */
    uint32_t block_size;           /* 0: 32 MiB (1 MiB for a child) */
    uint32_t logical_sector_size;  /* 0: 512; ignored for a child */
    uint32_t physical_sector_size; /* 0: 4096 */
    uint32_t log_size;             /* 0: 1 MiB */
    struct vhdx *parent;           /* non-NULL: create a differencing disk of this parent */
    const char *parent_relative_path;
    const char *parent_absolute_path;
};

struct vhdx_check_report {
    uint32_t errors;       /* damaged structures left as found (lost redundancy included) */
    uint32_t repaired;     /* damaged structures rewritten from their good copy */
    uint32_t blocks_checked;
    uint64_t leaked_bytes; /* file space no structure uses (after a crash); not an error */
    char first_error[256];
};

struct vhdx_check_opts {
    bool repair;           /* rewrite a damaged header or region table from its good copy */
    void (*note)(void *ctx, bool repaired, const char *line); /* each problem, in order */
    void *ctx;
};

/* Progress of a merge: called after each block is durable in the parent. */
typedef void (*vhdx_progress_fn)(void *ctx, uint32_t block, uint32_t blocks);

int vhdx_create(const struct vhdx_env *env, const struct vhdx_io *io,
                const struct vhdx_create_params *p, struct vhdx_err *err);
int vhdx_open(const struct vhdx_env *env, const struct vhdx_io *io, const char *name,
              unsigned flags, struct vhdx **out, struct vhdx_err *err);
/* Flushes, marks the log empty and frees everything, including the parent chain. */
int vhdx_close(struct vhdx *d, struct vhdx_err *err);

/* Offsets and lengths are multiples of the logical sector size. */
int vhdx_read(struct vhdx *d, uint64_t off, void *buf, size_t len, struct vhdx_err *err);
int vhdx_write(struct vhdx *d, uint64_t off, const void *buf, size_t len, struct vhdx_err *err);
int vhdx_trim(struct vhdx *d, uint64_t off, uint64_t len, struct vhdx_err *err);
int vhdx_flush(struct vhdx *d, struct vhdx_err *err);

void vhdx_get_info(const struct vhdx *d, struct vhdx_info *out);
struct vhdx *vhdx_parent(const struct vhdx *d);
/* Whether [off, off+len) has data in this layer (not its parents); *run: bytes alike. */
int vhdx_layer_extent(struct vhdx *d, uint64_t off, uint64_t len, bool *present,
                      uint64_t *run, struct vhdx_err *err);
int vhdx_check(struct vhdx *d, struct vhdx_check_report *rep, struct vhdx_err *err);
/* The same, each problem passed to opts->note; opts->repair needs an image opened writable. */
int vhdx_check_ex(struct vhdx *d, const struct vhdx_check_opts *opts,
                  struct vhdx_check_report *rep, struct vhdx_err *err);
/*
 * Copies every sector the child holds into its parent (the child opened writable, the
 * parent with VHDX_OPEN_PARENT_RW).  Crash-safe and resumable (see vhdx_merge.c): a cut
 * leaves the chain whole, and merging again finishes the job.
 */
int vhdx_merge_into_parent(struct vhdx *child, vhdx_progress_fn progress, void *ctx,
                           struct vhdx_err *err);
/* The same in pieces: begin once (or to resume), then merge ranges, then flush the parent. */
int vhdx_merge_begin(struct vhdx *child, struct vhdx_err *err);
int vhdx_merge_range(struct vhdx *child, uint64_t off, uint64_t len, uint8_t *buf_1mib,
                     uint64_t *copied, struct vhdx_err *err);
/* Whether an earlier merge of this child into its parent was cut short. */
bool vhdx_merge_in_progress(const struct vhdx *child);

const char *vhdx_status_name(int code);

#endif
