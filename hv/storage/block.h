/*
 * The block layer: disks as drivers register them, asynchronous requests with completion
 * callbacks, a bounded queue per disk shared fairly by several users (weighted round-robin
 * over request classes, with a throttle hook), and a synchronous helper for boot-time use.
 * Portable: drivers plug in through struct block_driver_ops, memory through block_phys_map.
 *
 * Concurrency, per device.  With a lock (block_set_lock: the caller's spinlock behind two
 * hooks), any CPU may submit to and poll a disk at once: block_submit, block_poll and the
 * block_set_* calls take the lock, and the driver's start() and poll() only ever run under
 * it, so a driver's per-disk state needs no lock of its own (disks that share hardware,
 * two ATA disks on one channel, must share one lock).  Without a lock, one CPU drives the
 * disk (submit and poll from one context), as at boot.
 * block_complete() may be called from anywhere (the driver's start() or poll(), a worker
 * task, an interrupt): it only hands the request back on a lock-free list.  The `done`
 * callbacks run from block_poll, on whichever CPU polls, after the lock is dropped: a
 * callback may submit (its own next request) and poll.  The registry (block_register,
 * block_find, block_first) is for boot time, before other CPUs use it.
 */
#ifndef ATOLL_HV_STORAGE_BLOCK_H
#define ATOLL_HV_STORAGE_BLOCK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum block_op { BLOCK_READ, BLOCK_WRITE, BLOCK_FLUSH, BLOCK_TRIM };

/* Who asked: each class has its own queue and weight. */
enum block_class {
    BLOCK_CLASS_GUEST,      /* guest I/O */
    BLOCK_CLASS_SNAPSHOT,   /* RAM snapshot writers */
    BLOCK_CLASS_MIGRATION,  /* storage and live migration */
    BLOCK_CLASS_BACKGROUND, /* live disk operations, boot-time helpers */
    BLOCK_CLASSES
};

enum block_status {
    BLOCK_OK = 0,
    BLOCK_E_IO = -1,      /* the device reported an error */
    BLOCK_E_RANGE = -2,   /* LBA range outside the disk */
    BLOCK_E_BUSY = -3,    /* the class queue is full: try again after a poll */
    BLOCK_E_INVALID = -4, /* malformed request */
    BLOCK_E_TIMEOUT = -5, /* the device did not answer */
    BLOCK_E_UNSUPPORTED = -6,
};

struct block_request;
typedef void (*block_done_fn)(struct block_request *r, int status);

/*
 * The data is either `buf` (a kernel virtual address) or `pages` (physical addresses of
 * 4 KiB pages, the first one starting at `page_offset`); count * sector_size bytes.
 */
struct block_request {
    enum block_op op;
    enum block_class cls;
    uint64_t lba;
    uint32_t count;            /* sectors; 0 for FLUSH */
    void *buf;
    const uint64_t *pages;
    uint32_t page_count;
    uint32_t page_offset;
    block_done_fn done;        /* called once, from block_poll, without the device lock */
    void *ctx;
    /* owned by the block layer; from start() until block_complete() the driver may use
     * next (to keep its own list) and driver_tag */
    int status;
    uint64_t submit_ns;
    struct block_request *next;
    uint32_t driver_tag;
};

struct block_device;

struct block_driver_ops {
    /* Starts r on the hardware; false when the hardware has no room now (retried later). */
    bool (*start)(struct block_device *d, struct block_request *r);
    /* Reaps finished hardware work, calling block_complete() for each request; NULL when
     * requests finish elsewhere (a worker task calls block_complete). */
    void (*poll)(struct block_device *d);
};

/*
 * Decides whether r, the head of class cls, may dispatch now (e.g. a rate limit); NULL:
 * always.  Asked under the device lock, when it is the class's turn; once it says yes it
 * is not asked again about r (so it may take r's cost, as rate_limit_take does).  A class
 * it holds back waits until the next block_poll, which asks again; until then the class
 * is in block_device.held.
 */
typedef bool (*block_throttle_fn)(void *ctx, enum block_class cls, const struct block_request *r);

struct block_class_queue {
    struct block_request *head, *tail;
    uint32_t queued;
    uint32_t limit;           /* bound on queued requests */
    uint32_t weight;          /* sectors of credit per round (flush/trim count as 1) */
    int64_t credit;
    const struct block_request *admitted;   /* head the throttle has let through */
    uint64_t dispatched, sectors;
    uint64_t throttled;       /* times the throttle held the class back */
};

/* The caller's lock for one device: lock returns what unlock gets back (interrupt flags). */
struct block_lock_ops {
    uint64_t (*lock)(void *lock);
    void (*unlock)(void *lock, uint64_t token);
};

struct block_device {
    char name[16];              /* ata0, nvme0n1 */
    uint32_t sector_size;       /* bytes: 512 or 4096 */
    uint64_t sectors;
    uint32_t max_sectors;       /* per request the driver accepts (block_rw_sync splits) */
    const struct block_driver_ops *ops;
    void *driver;
    /* block layer state */
    struct block_class_queue q[BLOCK_CLASSES];
    unsigned rr;                /* class whose turn it is */
    uint32_t inflight;
    uint32_t max_inflight;      /* the most requests the driver has held at once */
    block_throttle_fn throttle;
    void *throttle_ctx;
    uint64_t completed, errors, flushes;
    struct block_device *next_dev;
    const struct block_lock_ops *lock_ops;  /* NULL: one CPU drives the disk */
    void *lock;
    struct block_request *finished;         /* completed, callbacks not yet run (atomic) */
    uint32_t held;              /* classes (bit per class) the throttle held at the last poll */
};

/* Translates a physical address for the portable code (phys_to_virt; identity on hosts). */
extern void *(*block_phys_map)(uint64_t phys);
/* Nanoseconds for request timestamps; may be left NULL. */
extern uint64_t (*block_clock_ns)(void);

/* Sets default weights and queue bounds; the driver fills name, sizes, ops, driver first. */
void block_device_init(struct block_device *d);
/* Adds a disk to the registry (block_find, block_first). */
void block_register(struct block_device *d);
struct block_device *block_find(const char *name);
struct block_device *block_first(void);
void block_set_weight(struct block_device *d, enum block_class cls, uint32_t weight);
void block_set_limit(struct block_device *d, enum block_class cls, uint32_t limit);
void block_set_throttle(struct block_device *d, block_throttle_fn fn, void *ctx);
/* Makes d safe to drive from several CPUs (see the top); set before it is shared. */
void block_set_lock(struct block_device *d, const struct block_lock_ops *ops, void *lock);

/* Queues r (it starts at a block_poll); 0 or a negative status (it is then not queued and
 * `done` is not called). */
int block_submit(struct block_device *d, struct block_request *r);
/* Reaps completions, dispatches queued work, then runs the callbacks of what finished;
 * returns requests still queued or in flight (after those callbacks, counting what they
 * submitted). */
uint32_t block_poll(struct block_device *d);
/* Starts what is queued, as block_poll does, without reaping or running callbacks: for a
 * submitter that wants its request on the hardware now and leaves completions to whoever
 * polls (a vCPU that submits, a worker that completes).  Returns what block_poll would. */
uint32_t block_kick(struct block_device *d);
/* For drivers, from any context: r has finished with status (its callback runs at the next
 * block_poll).  From start(), r must then be accepted (start returns true). */
void block_complete(struct block_device *d, struct block_request *r, int status);

/* Copies between a request's data and a flat buffer (byte offset into the request). */
void block_req_copy_out(const struct block_request *r, size_t off, void *dst, size_t len);
void block_req_copy_in(const struct block_request *r, size_t off, const void *src, size_t len);

/* Synchronous helper: submits and polls until done (boot-time code and the pool); other
 * users' callbacks may run inside it. */
int block_rw_sync(struct block_device *d, enum block_op op, uint64_t lba, uint32_t count,
                  void *buf);

const char *block_status_name(int status);

/*
 * A synchronous window of a disk (a partition, or all of it) as the file system and the
 * partition table see it.  Sector numbers are relative to the window.
 */
struct block_io {
    void *ctx;
    uint32_t sector_size;
    uint64_t sectors;
    int (*read)(void *ctx, uint64_t lba, uint32_t count, void *buf);
    int (*write)(void *ctx, uint64_t lba, uint32_t count, const void *buf);
    int (*flush)(void *ctx);
};

/* A window [start, start + sectors) of d; w must outlive io. */
struct block_window {
    struct block_device *dev;
    uint64_t start, sectors;
};
void block_io_window(struct block_io *io, struct block_window *w, struct block_device *d,
                     uint64_t start, uint64_t sectors);

#endif
