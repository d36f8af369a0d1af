/*
 * The checkpoint round trip: a running partition is paused, its RAM, vCPUs and devices
 * are captured into memory (one state stream, hv/core/checkpoint_stream.h, and a copy of
 * its RAM), it is destroyed, and a new partition made from the same manifest section is
 * restored from that capture and resumed under the same name, its clocks going on from
 * the pause.  The guest must not notice.  The CRC-32C of its RAM is printed before and
 * after:
 *
 *   checkpoint: NAME: paused at guest time T s, RAM 32 MiB crc32c 0x..., N vCPUs, M devices, stream K bytes
 *   checkpoint: NAME: restored, RAM crc32c 0x... (equal), resumed
 *
 * From the boot CPU's loop (the [script]'s `checkpoint NAME`, the control server's
 * checkpoint command), synchronously.
 */
#ifndef ATOLL_HV_CORE_CHECKPOINT_H
#define ATOLL_HV_CORE_CHECKPOINT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

enum checkpoint_result {
    CHECKPOINT_DONE,            /* restored and resumed */
    CHECKPOINT_NOT_RUNNING,     /* nothing done */
    CHECKPOINT_REFUSED,         /* not captured (no memory, a capture failed): p resumed */
    CHECKPOINT_LOST,            /* p ended: it could not be paused, or not restored */
};

/* Prints its lines; what happened, in one line, in msg either way. */
enum checkpoint_result checkpoint_partition(struct partition *p, char *msg, size_t msg_size);

/* ---- for RAM snapshots (hv/core/snapshot.h) ------------------------------------------------
 * The same state stream, written to a file beside the RAM and read back later. */
struct partition_pause;

struct checkpoint_saved {
    uint8_t *stream;            /* `pages` pages; checkpoint_saved_free gives them back */
    size_t pages, len;
    uint64_t guest_ns;          /* guest time at the pause */
    unsigned device_count;
};

/* p paused at `at`, its RAM's CRC-32C ram_crc: its vCPUs and devices as a checkpoint
 * stream.  False with one line in err (nothing kept). */
bool checkpoint_save_stream(struct partition *p, const struct partition_pause *at,
                            uint32_t ram_crc, struct checkpoint_saved *out, char *err,
                            size_t err_size);
void checkpoint_saved_free(struct checkpoint_saved *s);
/* q: created with spec.restoring (any name), not started, its RAM already loaded.  The
 * stream's vCPUs and devices go into q, its clocks go on from the pause (guest_tsc0: vCPU
 * 0's guest TSC then) and q runs.  *ram_crc: q's RAM's CRC-32C, checked against the
 * stream's; ram_crc NULL: q's RAM is loaded lazily, not checked here.  False with one line
 * in err: q is not started then (the caller ends it). */
bool checkpoint_restore_stream(struct partition *q, const void *stream, size_t len,
                               uint64_t guest_tsc0, uint32_t *ram_crc, char *err,
                               size_t err_size);

#endif
