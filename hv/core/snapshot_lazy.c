/*
 * Lazy restore (hv/core/snapshot_lazy.h).  Locks: `load` (a ticket lock held with
 * interrupts on, across the file read) serialises every load, the loader's and the
 * hypervisor accesses'; `lock` (interrupts off, short) guards the block map, the parked
 * vCPUs and the loader's state.  load before lock.
 */
#include "hv/core/snapshot_lazy.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/guest_mem.h"
#include "hv/core/sched.h"
#include "hv/core/vcpu.h"
#include "hv/core/virt.h"
#include "hv/core/worker.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_lazy.h"

#define NOT_WAITING UINT32_MAX

struct guest_mem_lazy {
    struct partition *part;
    struct restore_file *r;         /* NULL once the load is over */
    struct snap_io io;              /* r's file, with its block index served from memory */
    uint8_t *index;                 /* the index region, read once (checked by CRC before) */
    size_t index_pages;
    uint32_t zero_crc;              /* CRC-32C of a block of zeros */
    char file[SNAPSHOT_PATH_LEN];
    spinlock_t load;
    spinlock_t lock;
    struct snap_lazy_map map;
    void *map_mem;
    size_t map_pages;
    uint32_t waiting[PARTITION_MAX_VCPUS];  /* the block each parked vCPU waits for */
    struct work_item work;
    bool active;                    /* the loader is queued or running */
    bool deferred;                  /* started, waiting for the first vCPU fault */
    bool detached;                  /* p has gone: the loader only checks the rest of the
                                     * file (for the RAM CRC-32C), then frees all this */
    bool failed;                    /* a block did not load: p is ending */
    bool over;                      /* every block in (or failed): r freed */
    bool end_frees;                 /* snapshot_lazy_end frees l once the loader is idle */
    char name[PARTITION_NAME_LEN];
    uint64_t ended_ns;
    uint32_t loaded_at_end;
    char err[200];
    uint64_t began_ns, checked_ns, created_ns, started_ns, first_ns, done_ns;
    uint64_t faults, parks;
    uint64_t load_ns;               /* spent loading blocks, all of them together */
};

static uint64_t us_since(uint64_t t0, uint64_t t) { return t > t0 ? (t - t0) / 1000 : 0; }

static int read_cached_index(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct guest_mem_lazy *l = ctx;
    const struct snap_header *h = &l->r->h;
    uint64_t index_len = (uint64_t)h->block_count * SNAP_INDEX_ENTRY_BYTES;
    if (off >= h->index_offset && len <= index_len && off - h->index_offset <= index_len - len) {
        memcpy(buf, l->index + (off - h->index_offset), len);
        return 0;
    }
    return l->r->io.read(l->r->io.ctx, off, buf, len);
}

/* The index entry of block b says it holds zero pages only (checked as snap_read_entry
 * checks it; the record is not read). */
static bool zero_block(struct guest_mem_lazy *l, uint32_t b)
{
    struct snap_index_entry e;
    char err[SNAP_ERR_LEN];
    return !snap_read_entry(&l->io, &l->r->h, b, &e, err, sizeof(err)) && !e.len &&
           e.zero_mask == 0xffff;
}

/* Wakes every vCPU parked on block b; lock held. */
static void wake_waiters(struct guest_mem_lazy *l, uint32_t b)
{
    struct partition *p = l->part;
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        if (l->waiting[i] != b)
            continue;
        l->waiting[i] = NOT_WAITING;
        struct vcpu *v = p->vcpus[i];
        enum vcpu_sched_state was = VCPU_PARKED;
        if (__atomic_compare_exchange_n(&v->state, &was, VCPU_RUNNABLE, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            if (!l->first_ns)
                l->first_ns = time_ns();
            sched_wake(v);
        }
    }
}

/* Loads block b (load held): read, checked and decoded from the file, into RAM, then
 * present.  False with l->err. */
static bool load_block(struct guest_mem_lazy *l, uint32_t b, enum snap_lazy_cause cause)
{
    struct restore_file *r = l->r;
    struct partition *p = l->part;
    char err[SNAP_ERR_LEN];
    uint64_t gpa = (uint64_t)b * SNAP_BLOCK_SIZE;
    uint64_t t0 = time_ns();
    if (snap_read_block(&l->io, &r->h, b, r->codec, r->buf, r->block, err, sizeof(err))) {
        fmt_snprintf(l->err, sizeof(l->err), "%s", err);
        return false;
    }
    uint32_t crc = crc32c(0, r->block, SNAP_BLOCK_SIZE);
    if (!guest_mem_fill(&p->mem, gpa, r->block, SNAP_BLOCK_SIZE) ||
        !virt_set_ram_present(p, gpa, SNAP_BLOCK_SIZE, true)) {
        fmt_snprintf(l->err, sizeof(l->err), "block %u cannot be mapped", b);
        return false;
    }
    uint64_t f = spin_lock_irqsave(&l->lock);
    snap_lazy_done(&l->map, b, cause, crc);
    l->load_ns += time_ns() - t0;
    wake_waiters(l, b);
    spin_unlock_irqrestore(&l->lock, f);
    return true;
}

/* The partition loses itself, in one line; parked vCPUs see it ended. */
static void lose(struct guest_mem_lazy *l)
{
    uint64_t f = spin_lock_irqsave(&l->lock);
    bool first = !l->failed;
    l->failed = true;
    spin_unlock_irqrestore(&l->lock, f);
    if (first)
        partition_kill(l->part, "lazy restore from %s: %s", l->file, l->err);
}

static void release_file(struct guest_mem_lazy *l)
{
    if (l->r)
        restore_file_free(l->r);
    l->r = NULL;
    if (l->index)
        kmem_free_pages(l->index, l->index_pages);
    l->index = NULL;
}

/* Every block in: the RAM's CRC-32C from theirs against the snapshot's, and the times. */
static void report(struct guest_mem_lazy *l)
{
    uint32_t crc = snap_lazy_ram_crc(&l->map, SNAP_BLOCK_SIZE);
    uint32_t want = l->r->h.ram_crc;
    kprintf("restore: %s: %s: RAM crc32c 0x%08x (%s)\n", l->name, l->file, crc,
            crc == want ? "equal to the snapshot's" : "DIFFERENT from the snapshot's");
    char end[96] = "";
    if (l->detached)
        fmt_snprintf(end, sizeof(end), ", the partition ended after %lu us with %u loaded, "
                     "the rest checked in the file", us_since(l->began_ns, l->ended_ns),
                     l->loaded_at_end);
    kprintf("atoll: restore %s: lazy: vCPUs started after %lu us, first guest instruction "
            "after %lu us (its first fault served), fully loaded after %lu us%s; %u blocks by "
            "fault, %u by the worker, %u by hypervisor access, %u of zero pages there from the "
            "start; %lu faults; loading took %lu us; the file checked (not its blocks) in %lu "
            "us, the partition created in %lu us, its RAM made absent and its state restored "
            "in %lu us (host time from the restore command)\n",
            l->name, us_since(l->began_ns, l->started_ns),
            us_since(l->began_ns, l->first_ns ? l->first_ns : l->started_ns),
            us_since(l->began_ns, l->done_ns), end, l->map.by[SNAP_LAZY_BY_FAULT],
            l->map.by[SNAP_LAZY_BY_WORKER], l->map.by[SNAP_LAZY_BY_ACCESS],
            l->map.by[SNAP_LAZY_ZERO], l->faults, l->load_ns / 1000,
            us_since(l->began_ns, l->checked_ns), us_since(l->checked_ns, l->created_ns),
            us_since(l->created_ns, l->started_ns));
}

/* After p has gone: block b read, checked and decoded, into nothing but its CRC-32C. */
static bool check_block(struct guest_mem_lazy *l, uint32_t b)
{
    struct restore_file *r = l->r;
    char err[SNAP_ERR_LEN];
    uint64_t t0 = time_ns();
    if (snap_read_block(&l->io, &r->h, b, r->codec, r->buf, r->block, err, sizeof(err))) {
        fmt_snprintf(l->err, sizeof(l->err), "%s", err);
        return false;
    }
    uint32_t crc = crc32c(0, r->block, SNAP_BLOCK_SIZE);
    uint64_t f = spin_lock_irqsave(&l->lock);
    snap_lazy_done(&l->map, b, SNAP_LAZY_BY_WORKER, crc);
    l->load_ns += time_ns() - t0;
    spin_unlock_irqrestore(&l->lock, f);
    return true;
}

static void free_lazy(struct guest_mem_lazy *l)
{
    release_file(l);
    kmem_free_pages(l->map_mem, l->map_pages);
    kfree(l);
}

/* The loader: one block a run, then again until all are in.  Once p has gone (detached)
 * it goes on reading and checking the rest of the file, for the RAM's CRC-32C, and then
 * frees everything. */
static void loader_run(struct work_item *w)
{
    struct guest_mem_lazy *l = w->arg;
    spin_lock(&l->load);
    bool detached = l->detached;        /* set under the load lock: stable in this run */
    if (!detached && (l->failed || l->part->state == PART_DEAD)) {
        /* p is ending: snapshot_lazy_end starts the loader again, detached */
        __atomic_store_n(&l->active, false, __ATOMIC_RELEASE);
        spin_unlock(&l->load);
        return;
    }
    uint32_t b;
    bool wanted = false;
    uint64_t f = spin_lock_irqsave(&l->lock);
    bool any = snap_lazy_next(&l->map, &b, &wanted);
    spin_unlock_irqrestore(&l->lock, f);
    bool ok = !any || (detached ? check_block(l, b)
                                : load_block(l, b, wanted ? SNAP_LAZY_BY_FAULT
                                                          : SNAP_LAZY_BY_WORKER));
    f = spin_lock_irqsave(&l->lock);
    bool complete = snap_lazy_complete(&l->map);
    spin_unlock_irqrestore(&l->lock, f);
    if (ok && complete) {
        l->done_ns = time_ns();
        report(l);
        release_file(l);
        __atomic_store_n(&l->over, true, __ATOMIC_RELEASE);
    }
    spin_unlock(&l->load);
    int rc = WORK_OK;
    if (ok && !complete && (rc = worker_submit(w)) == WORK_OK)
        return;
    if (ok && !complete)
        fmt_snprintf(l->err, sizeof(l->err), "the loader cannot queue its next block (%s)",
                     work_queue_error(rc));
    if (detached) {                     /* nobody else holds l now */
        if (!ok || !complete)
            kprintf("atoll: restore %s: lazy: after its end, %s: %s\n", l->name, l->file,
                    l->err);
        free_lazy(l);
        return;
    }
    if (!ok || !complete)
        lose(l);
    /* p may have gone since this run began: unless snapshot_lazy_end saw the load over and
     * waits to free l, this run is the last to hold it. */
    f = spin_lock_irqsave(&l->lock);
    bool last = l->detached && !l->end_frees;
    if (!last)
        __atomic_store_n(&l->active, false, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&l->lock, f);
    if (last)
        free_lazy(l);
}

/* guest_mem's hook: the hypervisor touches [gpa, gpa + len). */
static void need(struct guest_mem_lazy *l, uint64_t gpa, uint64_t len)
{
    if (__atomic_load_n(&l->over, __ATOMIC_ACQUIRE) || !len)
        return;
    uint32_t first = (uint32_t)(gpa / SNAP_BLOCK_SIZE);
    uint32_t last = (uint32_t)((gpa + len - 1) / SNAP_BLOCK_SIZE);
    for (uint32_t b = first; b <= last; b++) {
        uint64_t f = spin_lock_irqsave(&l->lock);
        bool in = snap_lazy_loaded(&l->map, b) || l->failed;
        spin_unlock_irqrestore(&l->lock, f);
        if (in)
            continue;
        spin_lock(&l->load);
        f = spin_lock_irqsave(&l->lock);
        in = snap_lazy_loaded(&l->map, b) || l->failed;
        spin_unlock_irqrestore(&l->lock, f);
        bool ok = in || !l->r || load_block(l, b, SNAP_LAZY_BY_ACCESS);
        spin_unlock(&l->load);
        if (!ok) {
            lose(l);
            return;
        }
    }
}

enum snapshot_lazy_fault snapshot_lazy_fault(struct vcpu *v, uint64_t gpa)
{
    struct partition *p = v->part;
    struct guest_mem_lazy *l = p->mem.lazy;
    if (!l || !guest_mem_contains(&p->mem, gpa, 1))
        return LAZY_NOT_MINE;
    uint32_t b = (uint32_t)(gpa / SNAP_BLOCK_SIZE);
    uint64_t f = spin_lock_irqsave(&l->lock);
    enum snapshot_lazy_fault r;
    l->faults++;
    if (l->failed) {
        r = LAZY_LOST;
    } else if (snap_lazy_loaded(&l->map, b)) {
        r = LAZY_RETRY;
    } else {
        snap_lazy_want(&l->map, b);
        enum vcpu_sched_state was = VCPU_RUNNABLE;
        r = LAZY_RETRY;             /* not runnable (an INIT came): the run loop sees it */
        if (__atomic_compare_exchange_n(&v->state, &was, VCPU_PARKED, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            l->waiting[v->index] = b;
            l->parks++;
            r = LAZY_PARKED;
        }
    }
    bool start = r == LAZY_PARKED && l->deferred;
    if (start) {
        l->deferred = false;
        __atomic_store_n(&l->active, true, __ATOMIC_RELEASE);
    }
    spin_unlock_irqrestore(&l->lock, f);
    int rc = start ? worker_submit(&l->work) : WORK_OK;
    if (rc != WORK_OK) {
        __atomic_store_n(&l->active, false, __ATOMIC_RELEASE);
        fmt_snprintf(l->err, sizeof(l->err), "the loader cannot start (%s)", work_queue_error(rc));
        lose(l);
    }
    return r;
}

bool snapshot_lazy_arm(struct partition *q, struct restore_file *r, const char *file,
                       const struct restore_times *times, char *err, size_t err_size)
{
    struct guest_mem_lazy *l = kmalloc(sizeof(*l));
    if (!l) {
        restore_file_free(r);
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    memset(l, 0, sizeof(*l));
    l->part = q;
    l->r = r;
    l->began_ns = times->began;
    l->checked_ns = times->checked;
    l->created_ns = times->created;
    strlcpy(l->file, file, sizeof(l->file));
    strlcpy(l->name, q->name, sizeof(l->name));
    for (unsigned i = 0; i < PARTITION_MAX_VCPUS; i++)
        l->waiting[i] = NOT_WAITING;
    l->map_pages = (snap_lazy_map_bytes(r->h.block_count) + 4095) / 4096;
    l->map_mem = l->map_pages ? kmem_alloc_pages(l->map_pages) : NULL;
    if (!l->map_mem || !snap_lazy_map_init(&l->map, r->h.block_count, l->map_mem) ||
        (uint64_t)r->h.block_count * SNAP_BLOCK_SIZE != q->mem.size) {
        fmt_snprintf(err, err_size, l->map_mem ? "its RAM (%lu MiB) is not the new "
                     "partition's (%lu MiB)" : "out of memory for its block map",
                     (unsigned long)(r->h.ram_size >> 20), (unsigned long)(q->mem.size >> 20));
        goto fail;
    }
    uint64_t index_len = (uint64_t)r->h.block_count * SNAP_INDEX_ENTRY_BYTES;
    l->index_pages = (index_len + 4095) / 4096;
    l->index = kmem_alloc_pages(l->index_pages);
    if (!l->index || r->io.read(r->io.ctx, r->h.index_offset, l->index, index_len) ||
        crc32c(0, l->index, index_len) != r->h.index_crc) {
        fmt_snprintf(err, err_size, "cannot read its block index again");
        goto fail;
    }
    l->io = r->io;
    l->io.ctx = l;
    l->io.read = read_cached_index;
    memset(r->block, 0, SNAP_BLOCK_SIZE);
    l->zero_crc = crc32c(0, r->block, SNAP_BLOCK_SIZE);
    /* q's RAM is as guest_mem_alloc left it, zero (kmem zeroes the frames it hands out and
     * a restoring partition has no image loaded): a block of zero pages is there already.
     * Every other block is made absent. */
    for (uint32_t b = 0; b < r->h.block_count; b++) {
        if (zero_block(l, b)) {
            snap_lazy_done(&l->map, b, SNAP_LAZY_ZERO, l->zero_crc);
        } else if (!virt_set_ram_present(q, (uint64_t)b * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE,
                                         false)) {
            fmt_snprintf(err, err_size, "cannot make its RAM absent (out of page-table "
                         "frames?)");
            goto fail;
        }
    }
    l->work = (struct work_item){ .fn = loader_run, .arg = l, .prio = WORK_HIGH,
                                  .owner = q->id };
    q->mem.need = need;
    __atomic_store_n(&q->mem.lazy, l, __ATOMIC_RELEASE);
    return true;
fail:
    if (l->map_mem)
        kmem_free_pages(l->map_mem, l->map_pages);
    release_file(l);
    kfree(l);
    return false;
}

/* The loader begins with the block the first vCPU fault wants: before that fault it could
 * load the guest's own first blocks ahead of it, and no block would come by a fault. */
bool snapshot_lazy_start(struct partition *q, char *err, size_t err_size)
{
    struct guest_mem_lazy *l = q->mem.lazy;
    if (!l)
        return false;
    uint64_t f = spin_lock_irqsave(&l->lock);
    l->started_ns = time_ns();
    bool now = l->parks > 0;            /* a vCPU already waits */
    l->deferred = !now;
    if (now)
        __atomic_store_n(&l->active, true, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&l->lock, f);
    if (!now)
        return true;
    int rc = worker_submit(&l->work);
    if (rc != WORK_OK) {
        __atomic_store_n(&l->active, false, __ATOMIC_RELEASE);
        fmt_snprintf(err, err_size, "the loader cannot start (%s)", work_queue_error(rc));
        return false;
    }
    return true;
}

/* Under the load lock no block is being written into p's RAM, and after it none is: the
 * loader, running or queued, goes on detached (checking the rest of the file for the RAM's
 * CRC-32C) and frees l itself; one that has stopped is started again for that. */
void snapshot_lazy_end(struct partition *p)
{
    struct guest_mem_lazy *l = p->mem.lazy;
    if (!l)
        return;
    spin_lock(&l->load);
    __atomic_store_n(&p->mem.lazy, NULL, __ATOMIC_RELEASE);
    uint64_t f = spin_lock_irqsave(&l->lock);
    bool finished = __atomic_load_n(&l->over, __ATOMIC_ACQUIRE) || l->failed;
    bool restart = !finished && !__atomic_load_n(&l->active, __ATOMIC_ACQUIRE);
    l->detached = true;
    l->deferred = false;                /* no fault will start it now: restart does */
    l->end_frees = finished;
    l->ended_ns = time_ns();
    l->loaded_at_end = l->map.loaded;
    if (restart)
        __atomic_store_n(&l->active, true, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&l->lock, f);
    spin_unlock(&l->load);
    if (finished) {
        while (__atomic_load_n(&l->active, __ATOMIC_ACQUIRE))    /* its last run returns */
            cpu_relax();
        free_lazy(l);
        return;
    }
    if (restart) {
        int rc = worker_submit(&l->work);
        if (rc != WORK_OK) {
            kprintf("atoll: restore %s: lazy: ended with %u of %u blocks loaded; the rest is "
                    "not checked (%s)\n", l->name, l->map.loaded, l->map.block_count,
                    work_queue_error(rc));
            free_lazy(l);
        }
    }
}
