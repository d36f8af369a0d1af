/*
 * Block layer at queue depth (issue 11, "the disk path"): requests per second of 4 KiB
 * random reads and writes through block_submit/block_poll, keeping 1, 8 or 32 requests
 * outstanding, against the synchronous path it replaces (block_rw_sync, one request at a
 * time, as the pool and the old virtio-blk backend did), same disk, same LBAs, same run.
 *
 * The disk is a RAM disk whose driver behaves like hardware with a queue: start() puts a
 * request in one of 32 device slots (false when they are full), poll() finishes what is
 * there, copying the data, and calls block_complete.  The device lock is a ticket spinlock
 * behind block_set_lock, as the kernel gives a shared disk; one thread submits and polls,
 * so the lock is never contended.  Each request in flight has its own 4 KiB buffer (a
 * guest page); the callback submits the next request.  Requests carry the buffer as `buf`,
 * as the anchor's do, so both ways copy with the same memcpy: a page list costs the same
 * copy in the kernel, but on the host gcc inlines copy_pages' bounded memcpy as rep movsq,
 * slower than glibc's memcpy, which would be charged to the block layer.
 *
 * What it measures: the block layer's own cost per request (queueing, the class
 * scheduler, the lock, the driver's start/poll round trips, the callback) and how much of
 * it depth amortises, with a 4 KiB copy per request as the only "device" work.  What it
 * does not: device latency (a RAM disk answers at once, so depth buys overlap of nothing;
 * on a real disk depth also hides the device's latency, which this cannot show), the FAT32
 * and VHDX layers above the disk, guest exits and interrupts, or contention between CPUs.
 *
 * Two more rows time the old virtio path's own per-request costs: block_rw_sync into the
 * partition disk's bounce buffer under the pool lock, then a copy into guest memory
 * (hv/core/partition_disks.c backend_read/backend_write), against plain block_rw_sync.
 *
 * Prints `NAME OURS ANCHOR RATIO` rows (IOPS, higher is better) and notes in ns/request.
 *   block-bench [--quick]
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/storage/block.h"
#include "tests/bench/bench_cli.h"

#define SECTOR       512u
#define DISK_BYTES   (64ull << 20)          /* bigger than the last-level cache */
#define REQ_SECTORS  8u                     /* 4 KiB */
#define HW_SLOTS     32u
#define MAX_DEPTH    32u

/* ---- a ticket spinlock, as hv/arch/x86/spinlock.h, behind the block layer's hooks ---- */

struct ticket_lock {
    uint32_t next, serving;
};

static uint64_t ticket_acquire(void *p)
{
    struct ticket_lock *l = p;
    uint32_t t = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != t)
        __builtin_ia32_pause();
    return 0;
}

static void ticket_release(void *p, uint64_t token)
{
    struct ticket_lock *l = p;
    (void)token;
    __atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}

static const struct block_lock_ops ticket_ops = { ticket_acquire, ticket_release };

/* ---- the RAM disk: a device queue of HW_SLOTS requests, finished at poll -------------- */

struct ram_disk {
    struct block_device dev;
    uint8_t *data;
    struct block_request *slot[HW_SLOTS];
    unsigned used;
};

static bool ram_start(struct block_device *d, struct block_request *r)
{
    struct ram_disk *rd = d->driver;
    if (rd->used == HW_SLOTS)
        return false;
    rd->slot[rd->used++] = r;
    return true;
}

static void ram_poll(struct block_device *d)
{
    struct ram_disk *rd = d->driver;
    for (unsigned i = 0; i < rd->used; i++) {
        struct block_request *r = rd->slot[i];
        uint8_t *at = rd->data + r->lba * SECTOR;
        size_t bytes = (size_t)r->count * SECTOR;
        if (r->op == BLOCK_READ)
            block_req_copy_in(r, 0, at, bytes);
        else if (r->op == BLOCK_WRITE)
            block_req_copy_out(r, 0, at, bytes);
        block_complete(d, r, BLOCK_OK);
    }
    rd->used = 0;
}

static const struct block_driver_ops ram_ops = { ram_start, ram_poll };

static void *identity(uint64_t phys) { return (void *)(uintptr_t)phys; }

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every 4 KiB block of the disk starts with its own LBA; a read checks it. */
static void stamp(uint8_t *block, uint64_t lba) { memcpy(block, &lba, sizeof(lba)); }
static bool stamped(const uint8_t *block, uint64_t lba)
{
    uint64_t v;
    memcpy(&v, block, sizeof(v));
    return v == lba;
}

/* ---- the workloads -------------------------------------------------------------------- */

struct run {
    struct ram_disk *rd;
    enum block_op op;
    const uint64_t *lbas;
    unsigned total, issued, completed, bad;
    struct block_request req[MAX_DEPTH];
    uint64_t page[MAX_DEPTH];               /* one guest page per request in flight */
};

static void async_done(struct block_request *r, int status);

static void issue(struct run *w, unsigned i)
{
    struct block_request *r = &w->req[i];
    uint64_t lba = w->lbas[w->issued++];
    *r = (struct block_request){ .op = w->op, .cls = BLOCK_CLASS_GUEST, .lba = lba,
                                 .count = REQ_SECTORS, .buf = (void *)(uintptr_t)w->page[i],
                                 .done = async_done, .ctx = w };
    if (w->op == BLOCK_WRITE)
        stamp((uint8_t *)(uintptr_t)w->page[i], lba);
    if (block_submit(&w->rd->dev, r) != BLOCK_OK)
        w->bad++;
}

static void async_done(struct block_request *r, int status)
{
    struct run *w = r->ctx;
    unsigned i = (unsigned)(r - w->req);
    if (status != BLOCK_OK ||
        (r->op == BLOCK_READ && !stamped((const uint8_t *)(uintptr_t)w->page[i], r->lba)))
        w->bad++;
    w->completed++;
    if (w->issued < w->total)
        issue(w, i);                        /* the callback submits the next request */
}

/* Seconds for w->total requests kept `depth` deep through block_submit/block_poll. */
static double run_async(struct run *w, unsigned depth)
{
    w->issued = w->completed = 0;
    uint64_t t0 = clock_ns();
    for (unsigned i = 0; i < depth && w->issued < w->total; i++)
        issue(w, i);
    while (w->completed < w->total)
        block_poll(&w->rd->dev);
    return (double)(clock_ns() - t0) / 1e9;
}

/* The anchor: one block_rw_sync per request straight into the caller's buffer. */
static double run_sync(struct run *w)
{
    uint8_t *buf = (uint8_t *)(uintptr_t)w->page[0];
    uint64_t t0 = clock_ns();
    for (unsigned i = 0; i < w->total; i++) {
        uint64_t lba = w->lbas[i];
        if (w->op == BLOCK_WRITE)
            stamp(buf, lba);
        if (block_rw_sync(&w->rd->dev, w->op, lba, REQ_SECTORS, buf) != BLOCK_OK ||
            (w->op == BLOCK_READ && !stamped(buf, lba)))
            w->bad++;
    }
    return (double)(clock_ns() - t0) / 1e9;
}

/* The old virtio-blk backend per request: the pool lock, block_rw_sync into the disk's
 * bounce buffer, a copy to (or from) guest memory. */
static double run_sync_bounce(struct run *w, struct ticket_lock *pool_lock, uint8_t *bounce)
{
    uint8_t *guest = (uint8_t *)(uintptr_t)w->page[0];
    uint64_t t0 = clock_ns();
    for (unsigned i = 0; i < w->total; i++) {
        uint64_t lba = w->lbas[i];
        uint64_t tok = ticket_acquire(pool_lock);
        int rc;
        if (w->op == BLOCK_WRITE) {
            stamp(guest, lba);
            memcpy(bounce, guest, REQ_SECTORS * SECTOR);
            rc = block_rw_sync(&w->rd->dev, w->op, lba, REQ_SECTORS, bounce);
        } else {
            rc = block_rw_sync(&w->rd->dev, w->op, lba, REQ_SECTORS, bounce);
            memcpy(guest, bounce, REQ_SECTORS * SECTOR);
        }
        ticket_release(pool_lock, tok);
        if (rc != BLOCK_OK || (w->op == BLOCK_READ && !stamped(guest, lba)))
            w->bad++;
    }
    return (double)(clock_ns() - t0) / 1e9;
}

/* No block layer at all: the 4 KiB copies alone, the floor under every way above. */
static double run_copy_only(struct run *w)
{
    uint8_t *guest = (uint8_t *)(uintptr_t)w->page[0];
    uint64_t t0 = clock_ns();
    for (unsigned i = 0; i < w->total; i++) {
        uint8_t *at = w->rd->data + w->lbas[i] * SECTOR;
        if (w->op == BLOCK_WRITE) {
            stamp(guest, w->lbas[i]);
            memcpy(at, guest, REQ_SECTORS * SECTOR);
        } else {
            memcpy(guest, at, REQ_SECTORS * SECTOR);
            w->bad += !stamped(guest, w->lbas[i]);
        }
    }
    return (double)(clock_ns() - t0) / 1e9;
}

static double min2(double a, double b) { return a < b ? a : b; }

static void row(const char *op, const char *ours_label, double ours_s, double anchor_s,
                unsigned total)
{
    char name[64];
    snprintf(name, sizeof(name), "block 4K %s %s IOPS vs sync", op, ours_label);
    double ours = total / ours_s, anch = total / anchor_s;
    printf("%-44s %16.0f %16.0f %8.2f\n", name, ours, anch, ours / anch);
}

static const char usage[] =
    "usage: block-bench [--quick]\n"
    "\n"
    "The block layer's own cost per request: 4 KiB random reads and writes through\n"
    "block_submit/block_poll keeping 1, 8 or 32 requests outstanding, and the old virtio\n"
    "path (pool lock and bounce copy), against block_rw_sync one request at a time (the\n"
    "anchor), on a 64 MiB RAM disk, one thread.  Rows in IOPS (ours, anchor, ratio; higher\n"
    "is better), notes in ns per request.  See tests/bench/block_bench.c for what it does\n"
    "not measure.\n"
    "\n"
    "  --quick    20000 requests per way, best of 1 (default 100000, best of 5)\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!bench_cli_option("block-bench", usage, argv[i]))
            bench_cli_usage_error("block-bench", usage, "takes no arguments, only options");
    }
    unsigned total = quick ? 20000 : 100000;
    static struct ram_disk rd;
    static struct ticket_lock dev_lock, pool_lock;
    rd.data = aligned_alloc(4096, DISK_BYTES);
    uint64_t *lbas = malloc(sizeof(uint64_t) * total);
    uint8_t *pages = aligned_alloc(4096, 4096 * MAX_DEPTH);
    uint8_t *bounce = aligned_alloc(4096, 4096);
    if (!rd.data || !lbas || !pages || !bounce) {
        fprintf(stderr, "block-bench: out of memory\n");
        return 1;
    }
    uint64_t blocks = DISK_BYTES / 4096;
    for (uint64_t b = 0; b < blocks; b++) {
        memset(rd.data + b * 4096, (int)b, 4096);
        stamp(rd.data + b * 4096, b * REQ_SECTORS);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;     /* xorshift64: the same LBAs for every way */
    for (unsigned i = 0; i < total; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lbas[i] = (x % blocks) * REQ_SECTORS;
    }

    strcpy(rd.dev.name, "ram0");
    rd.dev.sector_size = SECTOR;
    rd.dev.sectors = DISK_BYTES / SECTOR;
    rd.dev.max_sectors = 128;
    rd.dev.ops = &ram_ops;
    rd.dev.driver = &rd;
    block_device_init(&rd.dev);
    block_set_lock(&rd.dev, &ticket_ops, &dev_lock);
    block_phys_map = identity;
    block_clock_ns = clock_ns;

    static struct run w;
    w.rd = &rd;
    w.lbas = lbas;
    w.total = total;
    for (unsigned i = 0; i < MAX_DEPTH; i++)
        w.page[i] = (uintptr_t)(pages + 4096 * i);

    /* Each way runs ROUNDS times, interleaved with the others, and keeps its best time:
     * the machine's noise only ever adds time. */
    enum { QD1, QD8, QD32, SYNC, BOUNCE, COPY, WAYS };
    static const unsigned depths[] = { 1, 8, 32 };
    static const struct { enum block_op op; const char *name; } ops[] = {
        { BLOCK_READ, "randread" }, { BLOCK_WRITE, "randwrite" },
    };
    unsigned rounds = quick ? 1 : 5;
    for (unsigned o = 0; o < 2; o++) {
        double best[WAYS];
        for (unsigned k = 0; k < WAYS; k++)
            best[k] = 1e30;
        w.op = ops[o].op;
        run_sync(&w);                       /* warm the disk's pages and the caches */
        for (unsigned round = 0; round < rounds; round++) {
            for (unsigned k = QD1; k <= QD32; k++)
                best[k] = min2(best[k], run_async(&w, depths[k]));
            best[SYNC] = min2(best[SYNC], run_sync(&w));
            best[BOUNCE] = min2(best[BOUNCE], run_sync_bounce(&w, &pool_lock, bounce));
            best[COPY] = min2(best[COPY], run_copy_only(&w));
        }
        for (unsigned k = QD1; k <= QD32; k++) {
            char label[8];
            snprintf(label, sizeof(label), "QD%u", depths[k]);
            row(ops[o].name, label, best[k], best[SYNC], total);
        }
        row(ops[o].name, "old virtio", best[BOUNCE], best[SYNC], total);
        printf(" block-bench %s ns/request (best of %u): sync %.0f, old virtio path (pool lock + "
               "bounce copy) %.0f, QD1 %.0f, QD8 %.0f, QD32 %.0f; the 4 KiB copy alone %.0f\n",
               ops[o].name, rounds, best[SYNC] * 1e9 / total, best[BOUNCE] * 1e9 / total,
               best[QD1] * 1e9 / total, best[QD8] * 1e9 / total, best[QD32] * 1e9 / total,
               best[COPY] * 1e9 / total);
    }
    printf(" block-bench: RAM disk, one thread, no device latency: the block layer's own cost "
           "per 4 KiB request (see tests/bench/block_bench.c)\n");
    for (uint64_t b = 0; b < blocks; b++)   /* the writes wrote each block's own stamp */
        w.bad += !stamped(rd.data + b * 4096, b * REQ_SECTORS);
    if (w.bad || rd.dev.errors || rd.dev.inflight) {
        fprintf(stderr, "block-bench: %u bad requests, %llu errors, %u left in flight\n", w.bad,
                (unsigned long long)rd.dev.errors, rd.dev.inflight);
        return 1;
    }
    return 0;
}
