/*
 * What the control server needs from the hypervisor: a table of operations the kernel
 * (or a test double) supplies.  Every name passed in has been validated (ctl_name_valid).
 */
#ifndef ATOLL_NET_CONTROL_CTL_HV_OPS_H
#define ATOLL_NET_CONTROL_CTL_HV_OPS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/control/ctl_proto.h"

struct ctl_hv_status {
    char version[32];
    char hostname[32];
    uint64_t uptime_ms;
    uint64_t mem_total, mem_free;
    uint32_t partitions;
    bool vmx;
};

struct ctl_partition_info {
    char name[CTL_NAME_MAX + 1];
    uint8_t state;          /* enum ctl_partition_state */
    uint32_t vcpus;
    uint64_t memory;
};

struct ctl_op_progress {
    uint64_t done, total;
    uint8_t state;          /* enum ctl_op_state */
    char message[64];
    /* A snapshot's (sent when set: a rate or passes of 0 and an empty text are not). */
    uint64_t rate;          /* bytes a second */
    uint32_t passes;
    char levels[96];
    uint16_t result;        /* enum ctl_status, once ended */
    char text[320];         /* once ended: the hypervisor's line */
};

struct ctl_migrate_status {
    bool active;
    char stage[16];
    uint32_t round;
    uint64_t pages_sent, ram_pages, pages_left, dirty_pages, wire_bytes, link_bps;
    char last[160];         /* the migration's last line */
};

/* A file or disk range of an offload request; kind 1 = pool file, 2 = a VHDX's contents. */
struct ctl_offload_range {
    uint8_t kind;
    char file[CTL_OFFLOAD_FILE_MAX + 1];
    uint64_t offset, length;    /* length UINT64_MAX: to the end */
};

/* The pull of a token from another host (CTL_MSG_OFFLOAD_PULL), under way or the last. */
struct ctl_offload_pull_status {
    bool active;
    uint64_t received, total;   /* bytes written into the destination; bytes asked */
    uint16_t result;            /* enum ctl_status once it ended */
    char last[200];             /* its last line */
};

/* Operations return enum ctl_status values.  start/stop may hand back an operation id
 * (*op, nonzero) when the work continues after the reply; 0 when already finished. */
struct ctl_hv_ops {
    uint16_t (*status)(void *ctx, struct ctl_hv_status *out);
    /* Fills *out with partition number `index`; returns false past the last one. */
    bool (*partition_at)(void *ctx, size_t index, struct ctl_partition_info *out);
    uint16_t (*start)(void *ctx, const char *name, uint32_t *op);
    uint16_t (*stop)(void *ctx, const char *name, uint32_t *op);
    /* Copies up to max bytes of the newest log text into buf; returns the count. */
    size_t (*log_tail)(void *ctx, char *buf, size_t max);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED). */
    uint16_t (*op_progress)(void *ctx, uint32_t op, struct ctl_op_progress *out);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED).  Checkpoints partition name (pause, capture,
     * destroy, restore, resume) before it returns; one line in msg saying what happened,
     * on success and on failure (CTL_ERR_NOT_FOUND, CTL_ERR_BAD_STATE: not running;
     * CTL_ERR_BUSY: not captured, the partition resumed; CTL_ERR_INTERNAL: it ended). */
    uint16_t (*checkpoint)(void *ctx, const char *name, char *msg, size_t msg_size);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED).  Snapshots partition name into pool file `file`
     * (stopped: pause, write, resume or stop; live: write while it runs, then pause for the
     * rest); one line in msg either way (CTL_ERR_NOT_FOUND, CTL_ERR_BAD_STATE: not running;
     * CTL_ERR_BUSY: not written, the partition resumed; CTL_ERR_INTERNAL: it ended).  *op
     * nonzero: begun, op_progress follows it to its end (its result and line). */
    uint16_t (*snapshot)(void *ctx, const char *name, const char *file, bool stop, bool live,
                         uint32_t *op, char *msg, size_t msg_size);
    /* Optional.  Restores pool file `file` into a new partition (named as_name, or "" for
     * the name in the file); one line in msg either way (CTL_ERR_NOT_FOUND: no such file;
     * CTL_ERR_BUSY: refused, nothing restored; CTL_ERR_INTERNAL: the new partition ended). */
    uint16_t (*restore)(void *ctx, const char *file, const char *as_name, char *msg,
                        size_t msg_size);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED).  The same, lazily: the partition runs before its
     * RAM is loaded (hv/core/snapshot_lazy.h); msg says it runs, and the hypervisor's log
     * gets the RAM's CRC-32C and the timings once the last block is in. */
    uint16_t (*restore_lazy)(void *ctx, const char *file, const char *as_name, char *msg,
                             size_t msg_size);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED).  Writes the display's framebuffer to pool file
     * `file` as PNG; one line in msg either way (CTL_ERR_NOT_FOUND: no framebuffer;
     * CTL_ERR_INTERNAL: not written). */
    uint16_t (*capture)(void *ctx, const char *file, char *msg, size_t msg_size);
    /* Optional (NULL: CTL_ERR_UNSUPPORTED).  Offload read: a token for src (cut at the end
     * of the file or disk; *covered says how much); lifetime_ms 0: the longest allowed. */
    uint16_t (*offload_read)(void *ctx, const struct ctl_offload_range *src, uint32_t lifetime_ms,
                             uint8_t token[CTL_OFFLOAD_TOKEN_SIZE], uint64_t *covered,
                             char *msg, size_t msg_size);
    /* Optional.  Offload write of token bytes [token_offset, +length) to dst at dst->offset
     * (dst->length unused); *written may be short, msg says why (also on failure).  whole
     * (token_offset and dst->offset 0): the client writes the whole token into the whole
     * destination, so all of it may be written at once (*written up to the token's end). */
    uint16_t (*offload_write)(void *ctx, const uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                              uint64_t token_offset, uint64_t length, bool whole,
                              const struct ctl_offload_range *dst, uint64_t *written,
                              char *msg, size_t msg_size);
    /* Optional.  Starts pulling bytes [token_offset, +length) of the token in grant from
     * the source provider's offload link at host (A.B.C.D[:PORT]) into dst; it goes on
     * after the reply (offload_pull_status follows it).  One line in msg either way. */
    uint16_t (*offload_pull)(void *ctx, const uint8_t grant[CTL_OFFLOAD_GRANT_SIZE],
                             const char *host, uint64_t token_offset, uint64_t length,
                             const struct ctl_offload_range *dst, char *msg, size_t msg_size);
    uint16_t (*offload_pull_status)(void *ctx, struct ctl_offload_pull_status *out);
    /* Optional.  Plain read of up to len (<= CTL_OFFLOAD_FETCH_MAX) bytes of r at r->offset
     * into buf (*got: how many; short at the end), and plain write of buf (len <=
     * CTL_OFFLOAD_STORE_MAX) at r->offset (r->length unused); one line in msg on failure. */
    uint16_t (*offload_fetch)(void *ctx, const struct ctl_offload_range *r, uint8_t *buf,
                              size_t len, size_t *got, char *msg, size_t msg_size);
    uint16_t (*offload_store)(void *ctx, const struct ctl_offload_range *r, const uint8_t *buf,
                              size_t len, char *msg, size_t msg_size);
    /* Optional.  Starts a live migration of partition name to host (A.B.C.D[:PORT]); it goes
     * on after the reply (migrate_status follows it).  One line in msg either way
     * (CTL_ERR_NOT_FOUND; CTL_ERR_BUSY: not started). */
    uint16_t (*migrate)(void *ctx, const char *name, const char *host, char *msg,
                        size_t msg_size);
    /* Optional.  The migration under way, or the last one's last line. */
    uint16_t (*migrate_status)(void *ctx, struct ctl_migrate_status *out);
};

#endif
