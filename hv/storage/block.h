/*
 * The block layer: disks as drivers register them, asynchronous requests with completion
 * callbacks, a bounded queue per disk shared fairly by several users (weighted round-robin
 * over request classes, with a throttle hook), and a synchronous helper for boot-time use.
 * Portable: drivers plug in through struct block_driver_ops, memory through block_phys_map.
 * Not thread-safe: one CPU drives a disk (submit and poll from the same context).
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
    block_done_fn done;        /* called once, from block_poll */
    void *ctx;
    /* owned by the block layer and the driver */
    int status;
    uint64_t submit_ns;
    struct block_request *next;
    uint32_t driver_tag;
};

struct block_device;

struct block_driver_ops {
    /* Starts r on the hardware; false when the hardware has no room now (retried later). */
    bool (*start)(struct block_device *d, struct block_request *r);
    /* Reaps finished hardware work, calling block_complete() for each request. */
    void (*poll)(struct block_device *d);
};

/* Decides whether a class may dispatch now (e.g. a rate limit); NULL: always. */
typedef bool (*block_throttle_fn)(void *ctx, enum block_class cls, const struct block_request *r);

struct block_class_queue {
    struct block_request *head, *tail;
    uint32_t queued;
    uint32_t limit;           /* bound on queued requests */
    uint32_t weight;          /* sectors of credit per round (flush/trim count as 1) */
    int64_t credit;
    uint64_t dispatched, sectors;
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
    block_throttle_fn throttle;
    void *throttle_ctx;
    uint64_t completed, errors, flushes;
    struct block_device *next_dev;
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

/* Queues r; 0 or a negative status (it is then not queued and `done` is not called). */
int block_submit(struct block_device *d, struct block_request *r);
/* Reaps completions and dispatches queued work; returns requests still outstanding. */
uint32_t block_poll(struct block_device *d);
/* For drivers: r has finished with status. */
void block_complete(struct block_device *d, struct block_request *r, int status);

/* Copies between a request's data and a flat buffer (byte offset into the request). */
void block_req_copy_out(const struct block_request *r, size_t off, void *dst, size_t len);
void block_req_copy_in(const struct block_request *r, size_t off, const void *src, size_t len);

/* Synchronous helper: submits and polls until done (boot-time code and the pool). */
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
