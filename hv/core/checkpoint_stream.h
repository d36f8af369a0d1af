/*
 * The state stream of a checkpoint (hv/state/STREAM.md, "A checkpoint"): a 'CKPT' header
 * section (the partition's name, vCPU count, RAM size and CRC-32C, guest time at the
 * pause, how many device models follow), one 'VCPU' section per vCPU, then the device
 * models' sections.  The RAM itself travels beside the stream, covered by the header's
 * CRC-32C.  Opening checks the whole stream and its header before anything is restored.
 * Portable.
 */
#ifndef ATOLL_HV_CORE_CHECKPOINT_STREAM_H
#define ATOLL_HV_CORE_CHECKPOINT_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/state/state_stream.h"

#define CHECKPOINT_ID STATE_ID('C', 'K', 'P', 'T')
#define CHECKPOINT_NAME_LEN 32
#define CHECKPOINT_MAX_VCPUS 64
#define CHECKPOINT_MAX_RAM (3ull << 30)
#define CHECKPOINT_MAX_DEVICE_KINDS (STATE_MAX_KINDS - 2)
#define CHECKPOINT_TIMERS 67                /* the partition's timer table (PARTITION_MAX_TIMERS) */

struct checkpoint_header {
    char name[CHECKPOINT_NAME_LEN];     /* NUL-terminated, the manifest's rule */
    uint32_t vcpu_count;
    uint64_t ram_bytes;
    uint64_t guest_ns;                  /* the partition's guest time at the pause */
    uint32_t ram_crc32c;                /* of the RAM, guest-physical 0 up */
    uint32_t device_count;              /* device models whose sections follow */
    uint64_t timer_deadline[CHECKPOINT_TIMERS];   /* guest ns the devices asked to be
                                                   * called at, 0: none */
};

/* The header section; false when the writer failed. */
bool checkpoint_header_save(struct state_writer *w, const struct checkpoint_header *h);

/* A reader of a checkpoint's stream, with the table of kinds it reads by. */
struct checkpoint_reader {
    struct state_reader r;
    struct state_kind kinds[STATE_MAX_KINDS];
};

/* Validates buf[0..len) as a whole against the header, 'VCPU' and the device kinds given
 * (at most CHECKPOINT_MAX_DEVICE_KINDS), and loads the header, which must come first:
 * a valid name, 1..CHECKPOINT_MAX_VCPUS vCPUs whose sections are instances 0..n-1 in order
 * before any device section, RAM a non-zero multiple of 4 KiB up to CHECKPOINT_MAX_RAM.
 * 0 with cr->r positioned after the header, or -1 with one line in err. */
int checkpoint_stream_open(struct checkpoint_reader *cr, const void *buf, size_t len,
                           const struct state_kind *device_kinds, size_t device_kind_count,
                           struct checkpoint_header *h, char *err, size_t err_size);

#endif
