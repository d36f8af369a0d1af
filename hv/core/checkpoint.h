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
#include <stddef.h>
#include "hv/core/partition.h"

enum checkpoint_result {
    CHECKPOINT_DONE,            /* restored and resumed */
    CHECKPOINT_NOT_RUNNING,     /* nothing done */
    CHECKPOINT_REFUSED,         /* not captured (no memory, a capture failed): p resumed */
    CHECKPOINT_LOST,            /* p ended: it could not be paused, or not restored */
};

/* Prints its lines; what happened, in one line, in msg either way. */
enum checkpoint_result checkpoint_partition(struct partition *p, char *msg, size_t msg_size);

#endif
