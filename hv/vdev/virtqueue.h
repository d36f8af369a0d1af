/*
 * Split virtqueues (virtio 1.x, 2.7) read and written in guest memory through the
 * platform's gpa_read/gpa_write: every index, descriptor and table is hostile.
 *
 * virtq_pop() walks one descriptor chain (direct and indirect) into a list of guest
 * segments.  Defects that make the ring untrustworthy (avail index jumping by more than
 * the queue size, head or next out of range, loops or chains longer than the queue,
 * nested or malformed indirect tables (with NEXT, a length of 0, not a multiple of 16 or
 * more entries than the queue; any alignment is fine), unreadable rings) return
 * VIRTQ_BROKEN: the device must enter NEEDS_RESET.  Defects of one request (zero-length
 * descriptor, device-readable after device-writable, too many segments, wrapping address)
 * keep the chain and set chain->error, so the device can fail just that request.
 */
#ifndef ATOLL_HV_VDEV_VIRTQUEUE_H
#define ATOLL_HV_VDEV_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/vdev.h"

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTQ_MAX_SIZE 128          /* largest queue the devices offer */
#define VIRTQ_MAX_SEGS 64           /* guest segments one request may use */

struct virtq {
    uint16_t size;
    uint16_t msix_vector;
    bool enabled;
    bool event_idx, indirect;       /* negotiated features */
    uint64_t desc, avail, used;     /* guest-physical ring addresses */
    uint16_t last_avail;            /* next avail entry to take */
    uint16_t used_idx;              /* next used entry to fill */
    uint16_t signalled_used;        /* used_idx when the driver was last interrupted */
};

struct virtq_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

struct virtq_chain {
    uint16_t head;
    unsigned nsegs;
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
    uint64_t out_bytes;             /* device-readable */
    uint64_t in_bytes;              /* device-writable */
    const char *error;              /* request-level defect, or NULL */
};

enum virtq_pop_result { VIRTQ_EMPTY, VIRTQ_CHAIN, VIRTQ_BROKEN };

/* Back to the state after a device reset (size = max, nothing mapped). */
void virtq_reset(struct virtq *q, uint16_t max_size);
/* Checks the ring geometry before the driver enables it; NULL or why not. */
const char *virtq_check_layout(const struct virtq *q);

/* Takes the next available chain.  On VIRTQ_BROKEN, *why says what was wrong. */
enum virtq_pop_result virtq_pop(struct virtq *q, const struct vdev_platform *p,
                                struct virtq_chain *chain, const char **why);
/* Walks the chain at descriptor `head` (taken from the avail ring earlier: a request
 * started again) without touching the avail ring.  VIRTQ_CHAIN or VIRTQ_BROKEN (*why). */
enum virtq_pop_result virtq_walk(const struct virtq *q, const struct vdev_platform *p,
                                 uint16_t head, struct virtq_chain *chain, const char **why);
/* At DRIVER_OK: the used ring's flags to 0 (the device never asks for no notifications;
 * virtio 1.2, 2.7.10.2: the device sets them to 0 or 1). */
void virtq_start(const struct virtq *q, const struct vdev_platform *p);
/* Whether an avail entry is waiting (false also when the ring cannot be read). */
bool virtq_has_work(const struct virtq *q, const struct vdev_platform *p);
/* Returns chain head to the driver with len bytes written; false when the used ring
 * cannot be written (the device must enter NEEDS_RESET). */
bool virtq_push(struct virtq *q, const struct vdev_platform *p, uint16_t head, uint32_t len);
/* After pushes: whether the driver wants an interrupt now (event index or flags). */
bool virtq_should_interrupt(struct virtq *q, const struct vdev_platform *p);

/* Copies between a host buffer and the chain's device-readable (out) or device-writable
 * (in) byte stream, starting pos bytes into that stream; false if out of range or guest
 * memory refuses. */
bool virtq_chain_read(const struct virtq_chain *c, const struct vdev_platform *p,
                      uint64_t pos, void *buf, uint64_t len);
bool virtq_chain_write(const struct virtq_chain *c, const struct vdev_platform *p,
                       uint64_t pos, const void *buf, uint64_t len);
/* Probes every page of every segment with a one-byte read; false when any is not RAM. */
bool virtq_chain_in_ram(const struct virtq_chain *c, const struct vdev_platform *p);

#endif
