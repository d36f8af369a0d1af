/*
 * virtio-blk (virtio spec 5.2) on the modern PCI transport: read, write, flush, discard
 * and get-id on one request queue, served by a backend (struct vblk_backend: a VHDX, a
 * raw file, RAM).
 *
 * Every request is checked before the backend sees it: header, direction of every
 * buffer, zero-length or out-of-RAM segments, sector range and alignment; a chain of more
 * than VIRTIO_BLK_MAX_REQUEST bytes (plus header and status) is refused before its pages
 * are probed, get-id buffers included; copy and discard need a write op.  A bad request
 * completes with VIRTIO_BLK_S_IOERR (or UNSUPP for an unknown type) and one log line; a
 * request whose status byte cannot be written, or a broken ring, puts the device in
 * NEEDS_RESET.  A request is reported done (status OK, used length covering its data)
 * only when every byte of it was transferred; the used length never counts a byte the
 * device did not write from the first device-writable byte on (a failed read: 0).  When
 * the driver did not accept VIRTIO_BLK_F_FLUSH (SeaBIOS), a write, copy or offload write
 * is reported only after the backend's flush (write-through).  A read or write of no
 * data, a discard of no sectors and a flush carrying data are valid and succeed.
 * Conformance to virtio 1.2, point by point: docs/virtio.md.
 *
 * Completion may be asynchronous: a backend op returns VBLK_PENDING and later calls
 * vblk_io_complete() under the partition's lock.
 *
 * The work one notify (or one poll) does is bounded: at most VIRTIO_BLK_BUDGET_REQUESTS
 * requests taken from the ring, VIRTIO_BLK_BUDGET_BYTES of data moved and no new piece
 * once VIRTIO_BLK_BUDGET_NS have passed; reads and writes go to the backend in pieces of
 * at most VIRTIO_BLK_PIECE_BYTES, a large one across several notifies or polls.  A piece
 * is one backend call (an asynchronous backend only queues it: hv/core/partition_disks.h;
 * the next piece of a request goes to the backend once the last one completed).  What is left
 * (requests in the ring, the rest of a request) is not forgotten: the device arms its
 * poll timer (virtio_blk_set_poll_timer) for now, and its owner calls virtio_blk_poll()
 * when that timer is due, at the vCPU's next entry or the CPU's next scheduling pass.
 * With a poll timer, a notify does nothing but arm it, so an exit costs no I/O at all.  A
 * driver that keeps the ring full, from any number of vCPUs, gets a bounded piece of work
 * per exit and per pass, never one exit that lasts as long as it keeps feeding it.  A request still pending when the
 * driver resets the device is dropped silently at completion, and its data helpers
 * refuse to touch guest memory from the moment of the reset.
 */
#ifndef ATOLL_HV_VDEV_VIRTIO_BLK_H
#define ATOLL_HV_VDEV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/vdev/pci_host.h"
#include "hv/vdev/vdev.h"
#include "hv/vdev/virtio_blk_copy.h"
#include "hv/vdev/virtio_blk_offload.h"
#include "hv/vdev/virtio_pci.h"
#include "hv/vdev/virtqueue.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX  (1ull << 2)
#define VIRTIO_BLK_F_RO       (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH    (1ull << 9)
#define VIRTIO_BLK_F_MQ       (1ull << 12)
#define VIRTIO_BLK_F_DISCARD  (1ull << 13)

#define VIRTIO_BLK_T_IN      0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_T_DISCARD 11

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES   20
#define VIRTIO_BLK_SEG_MAX    (VIRTQ_MAX_SEGS - 2)
/* size_max: with seg_max, what a driver that honours both sends stays under
 * VIRTIO_BLK_MAX_REQUEST (62 MiB of 64). */
#define VIRTIO_BLK_SIZE_MAX   (1u << 20)
#define VIRTIO_BLK_MAX_DISCARD_SECTORS 0x400000u     /* 2 GiB per discard */
#define VIRTIO_BLK_CONFIG_LEN 0x3c
#define VIRTIO_BLK_MAX_REQUEST (64u << 20)
#define VIRTIO_BLK_BUDGET_REQUESTS 8        /* taken from the ring per notify or poll */
#define VIRTIO_BLK_BUDGET_BYTES (64u << 10) /* data moved per notify or poll */
#define VIRTIO_BLK_BUDGET_NS   200000ull    /* no new piece after this long */
#define VIRTIO_BLK_PIECE_BYTES (16u << 10)  /* one backend call (a multiple of 4096) */
#define VIRTIO_BLK_NO_TIMER    (~0u)

#ifndef VIRTIO_BLK_POOL
#define VIRTIO_BLK_POOL 4           /* devices that virtio_blk_attach can hand out */
#endif

/* Result of a backend operation; OK, IOERR and UNSUPP are the status byte values. */
enum vblk_status { VBLK_OK = 0, VBLK_IOERR = 1, VBLK_UNSUPP = 2, VBLK_PENDING = 3 };

struct virtio_blk;

/* One backend operation: byte offset and length on the disk (aligned to its sector). */
struct vblk_io {
    uint64_t offset, length;
    uint64_t source_offset;         /* a copy piece: its source, bytes on source_disk */
    uint32_t source_disk;
    /* the device's own */
    struct virtio_blk *dev;
    uint32_t reset_count;
    bool copy_failed;
};

/*
 * The disk behind a device.  read moves data to the guest with vblk_io_to_guest, write
 * takes it with vblk_io_from_guest (in any pieces and order).  Each returns the final
 * status, or VBLK_PENDING and calls vblk_io_complete later (under the partition lock).
 * write NULL: read-only disk.  flush NULL: nothing to flush.  discard NULL: no discard.
 */
struct vblk_backend {
    enum vblk_status (*read)(void *ctx, struct vblk_io *io);
    enum vblk_status (*write)(void *ctx, struct vblk_io *io);
    enum vblk_status (*flush)(void *ctx, struct vblk_io *io);
    enum vblk_status (*discard)(void *ctx, struct vblk_io *io);
    uint64_t (*capacity)(void *ctx);        /* bytes, a multiple of sector_size */
    uint32_t (*sector_size)(void *ctx);     /* 512 or 4096 */
    /* Atoll's copy extension (virtio_blk_copy.h), offered when both are set: copy_check
     * says why a whole copy to dst_sector is refused (NULL: it may go), then copy moves
     * each piece (io->source_*) inside the host; guest memory is never touched. */
    const char *(*copy_check)(void *ctx, const struct vblk_copy *c, uint64_t dst_sector);
    enum vblk_status (*copy)(void *ctx, struct vblk_io *io);
    /* Optional, with copy: the partition's guest tokens (virtio_blk_offload.h) and this
     * disk's number among its disks; offload read and write are served when it is set. */
    struct vblk_tokens *(*tokens)(void *ctx, uint32_t *self_disk);
};

struct vblk_req {
    struct vblk_io io;              /* the piece at the backend now */
    enum vblk_status (*op)(void *ctx, struct vblk_io *io);
    uint64_t offset, length, done;  /* the whole read or write: bytes, bytes moved */
    uint64_t source_offset;         /* the whole copy's source */
    uint32_t source_disk;
    uint8_t token_id[TOKEN_ID_LEN]; /* an offload write: its token, checked at each piece */
    bool busy;
    bool resume;                    /* a piece is done, the next waits for a budget */
    bool flushing;                  /* a write-through write's flush is at the backend */
    bool cancelled;                 /* virtio_blk_cancel: its completion is dropped */
    uint32_t seq;                   /* order taken from the ring */
    uint8_t type;
    uint16_t queue;
    uint32_t written;               /* device-writable data bytes on success */
    struct virtq_chain chain;
};

struct virtio_blk_stats {
    uint64_t reads, writes, flushes, discards, get_ids, copies, offload_reads, offload_writes;
    uint64_t bytes_read, bytes_written, bytes_copied;
    uint64_t ioerr, unsupp, stale_completions;
    uint64_t budget_stops;          /* notifies and polls that left work for later */
    uint64_t cancelled, reissued;   /* virtio_blk_cancel, and started again from its list */
    uint64_t write_through_flushes; /* flushes after writes: VIRTIO_BLK_F_FLUSH not accepted */
};

struct virtio_blk {
    struct virtio_pci vp;
    struct virtio_device_ops ops;
    const struct vblk_backend *backend;
    void *backend_ctx;
    uint64_t capacity;              /* bytes */
    uint32_t sector_size;
    char serial[VIRTIO_BLK_ID_BYTES];
    struct vblk_req req[VIRTQ_MAX_SIZE];
    unsigned inflight;
    bool in_notify, irq_pending, stalled;
    bool intake_paused;             /* virtio_blk_pause_intake: no new request from the ring */
    unsigned poll_timer;            /* timer id for virtio_blk_poll, or VIRTIO_BLK_NO_TIMER */
    /* Heads of requests cancelled in flight (virtio_blk_cancel), in the order they were
     * taken: started again, before the ring's next entries, once intake is on; saved with
     * the device's state, so a live migration's target starts them. */
    uint16_t reissue[VIRTQ_MAX_SIZE];
    uint16_t reissue_count;
    uint32_t next_seq;
    struct virtio_blk_stats stats;
    bool in_use;
};

/* Puts a virtio-blk function (1AF4:1042) in slot of host, served by backend.  False
 * when the slot is taken, the backend is incomplete (read, capacity, sector_size) or
 * reports a sector size other than 512 or 4096. */
bool virtio_blk_init(struct virtio_blk *b, struct pci_host *host, unsigned slot,
                     const struct vdev_platform *plat, const struct vblk_backend *backend,
                     void *backend_ctx);
/* Same, with storage from a static pool of VIRTIO_BLK_POOL; NULL when refused. */
struct virtio_blk *virtio_blk_attach(struct pci_host *host, unsigned slot,
                                     const struct vdev_platform *plat,
                                     const struct vblk_backend *backend, void *backend_ctx);
/* Gives a pool device back; only once virtio_blk_inflight() is 0. */
void virtio_blk_detach(struct virtio_blk *b);

/* The get-id string (up to 20 bytes; default "atoll-vblk-SS"). */
void virtio_blk_set_serial(struct virtio_blk *b, const char *serial);
/* Re-reads the backend's capacity and tells the driver (configuration interrupt). */
void virtio_blk_capacity_changed(struct virtio_blk *b);
unsigned virtio_blk_inflight(const struct virtio_blk *b);
/* The platform timer the device arms (deadline: now) when a notify leaves work. */
void virtio_blk_set_poll_timer(struct virtio_blk *b, unsigned timer_id);
/* Does the next budget of work left over; true when some is still left. */
bool virtio_blk_poll(struct virtio_blk *b);
/* paused: notifies and polls go on with the pieces of requests already taken but take
 * no new one from the ring (a checkpoint waits for virtio_blk_inflight() to reach 0);
 * the ring stays as the driver left it.  Unpaused: the ring is looked at again (the poll
 * timer is armed).  A device reset keeps the setting. */
void virtio_blk_pause_intake(struct virtio_blk *b, bool paused);

/* A live migration's stop-and-copy: intake off (as virtio_blk_pause_intake) and every
 * request taken from the ring and not completed is cancelled: its completion and its
 * data never reach the guest (a read's data is not copied in, a write's not copied out
 * once cancelled), a request between two pieces is dropped now, one with a piece at the
 * backend once that piece ends (virtio_blk_inflight() counts it until then).  Their heads
 * go to the reissue list, and the request starts again from its first byte once intake is
 * on (here, when the migration fails; on the target, after the state's restore).  Reads,
 * writes of the same guest data, flushes and discards done again are not seen by the
 * guest.  Returns how many were cancelled. */
unsigned virtio_blk_cancel(struct virtio_blk *b);

/* Backend side of a request. */
void vblk_io_complete(struct vblk_io *io, enum vblk_status status);
/* Data of a read request to the guest, pos bytes into the piece at the backend (io);
 * false when refused (the request will then fail whatever the backend reports). */
bool vblk_io_to_guest(struct vblk_io *io, uint64_t pos, const void *buf, size_t len);
/* Data of a write request from the guest. */
bool vblk_io_from_guest(struct vblk_io *io, uint64_t pos, void *buf, size_t len);

#endif
