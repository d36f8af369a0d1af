#include "hv/core/partition_disks.h"
#include "hv/vdev/virtio_blk_state.h"

#include <stddef.h>
#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/disk_ops.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_pause.h"
#include "hv/core/partition_tokens.h"
#include "hv/core/storage_migrate.h"
#include "hv/core/worker.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/block.h"
#include "hv/storage/pool.h"
#include "hv/storage/pool_io.h"
#include "hv/storage/pool_write_observer.h"
#include "hv/storage/rate_limit.h"
#include "hv/vdev/platform_devices.h"
#include "hv/vdev/virtio_blk.h"

#define BOUNCE_BYTES VIRTIO_BLK_PIECE_BYTES
#define MIB (1ull << 20)
#define DISK_DEPTH 8                /* pieces of one disk in transfer at once */
#define POLL_NS 1000000ull          /* an item polls its transfers this long at most */

_Static_assert(VIRTIO_BLK_PIECE_BYTES <= BOUNCE_BYTES, "one piece fits the bounce buffer");

/* One piece of a guest request, as a block request on the disk's queue; one per
 * virtio-blk request slot (a slot has at most one piece at the backend). */
struct disk_piece {
    struct block_request br;
    struct vblk_io *io;
    struct partition_disk *disk;
    struct partition_disk *copy_from;   /* a copy piece (a write): its data's disk */
    uint64_t copy_offset;
    int status;
    struct disk_piece *next_done;
};

/* A piece in transfer: mapped and queued on the pool disk, or done under the pool's lock. */
struct disk_slot {
    struct pool_io io;
    struct partition_disk *disk;
    struct block_request *r;    /* the piece (the disk's lock); NULL: free */
    struct pool_io_range range; /* what it touches, for the order of overlapping pieces */
    int status;
    uint8_t *bounce;
    struct disk_slot *next;
};

struct partition_disk {
    char path[128];
    struct partition *part;
    struct fat_file file;
    struct vhdx_io vio;
    struct vhdx *vhdx;          /* NULL: a raw file */
    struct disk_job *job;       /* a live job on it (disk_ops.c): writes mark it; pool lock */
    struct smig_remote_disk *remote;    /* "after" storage migration: units still on the
                                         * source (storage_migrate.h); partition's lock */
    uint64_t capacity;
    uint32_t sector;
    struct virtio_blk *dev;
    struct vblk_tokens *tokens; /* the partition's guest tokens (disk 0 owns them); NULL: none */

    spinlock_t lock;            /* everything below */
    struct block_device blk;
    struct block_request *started, *started_tail;  /* the driver's, in order */
    struct disk_slot slot[DISK_DEPTH];
    unsigned busy, max_busy;                        /* slots holding a piece */
    struct disk_slot *transferred;                  /* to finish and complete */
    struct disk_piece *completed;                   /* to hand to the device */
    struct work_item work;
    bool scheduled;             /* work is queued or running: it requeues itself */
    bool dying;                 /* detach: the item does no more pieces */
    bool limited;
    struct rate_limit limit;
    const struct block_request *granted;    /* the throttle let it go: not charged again */
    uint64_t retry_ns;          /* a throttled piece may start then (time_ns); 0: none */
    uint64_t pieces, bytes_read, bytes_written, item_cpus;

    struct disk_piece piece[VIRTQ_MAX_SIZE];
};

/* ---- the pool's lock ------------------------------------------------------------------
 * One FAT32 volume for every disk of every partition: FAT and VHDX calls hold it, with
 * interrupts on; never taken in an exit or under another lock. */

static volatile bool pool_busy;

static bool pool_trylock(void)
{
    return !__atomic_exchange_n(&pool_busy, true, __ATOMIC_ACQUIRE);
}

static void pool_lock(void)
{
    while (!pool_trylock())
        cpu_relax();
}

static void pool_unlock(void)
{
    __atomic_store_n(&pool_busy, false, __ATOMIC_RELEASE);
}

void partition_pool_lock(void) { pool_lock(); }
void partition_pool_unlock(void) { pool_unlock(); }

bool partition_disk_identity(struct partition *p, unsigned i, char *path, size_t path_size,
                             uint8_t data_write_guid[16])
{
    if (i >= p->disk_count || !p->disks[i])
        return false;
    struct partition_disk *d = p->disks[i];
    strlcpy(path, d->path, path_size);
    memset(data_write_guid, 0, 16);
    if (d->vhdx) {
        struct vhdx_info info;
        pool_lock();
        vhdx_get_info(d->vhdx, &info);
        pool_unlock();
        memcpy(data_write_guid, info.data_write_guid.b, 16);
    }
    return true;
}

/* ---- the file ---------------------------------------------------------------------------- */

static int disk_read(struct partition_disk *d, uint64_t off, void *buf, size_t len)
{
    struct vhdx_err err;
    if (d->vhdx)
        return vhdx_read(d->vhdx, off, buf, len, &err);
    return fat_read(&d->file, off, buf, len) == (long)len ? 0 : -1;
}

static int disk_write(struct partition_disk *d, uint64_t off, const void *buf, size_t len)
{
    struct vhdx_err err;
    if (d->vhdx)
        return vhdx_write(d->vhdx, off, buf, len, &err);
    return fat_write(&d->file, off, buf, len) == (long)len ? 0 : -1;
}

static int disk_flush(struct partition_disk *d)
{
    struct vhdx_err err;
    return d->vhdx ? vhdx_flush(d->vhdx, &err) : fat_flush(&d->file);
}

static int disk_trim(struct partition_disk *d, uint64_t off, uint64_t len)
{
    struct vhdx_err err;
    return d->vhdx ? vhdx_trim(d->vhdx, off, len, &err) : 0;
}

/* ---- waking the partition's CPUs ------------------------------------------------------ */

/* The disk timer is armed for now: the CPUs of the partition's vCPUs look at it at
 * their next pass or entry; an IPI makes that now (no vCPU changes state). */
static void kick_timers(struct partition *p)
{
    uint64_t sent = 0;
    unsigned me = this_cpu()->index;
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        unsigned c = p->vcpus[i]->pcpu;
        if (c == me || c >= 64 || (sent & (1ull << c)) || !cpus[c])
            continue;
        sent |= 1ull << c;
        lapic_send_ipi(cpus[c]->apic_id, VEC_IPI_KICK);
    }
}

/* Partition's lock held: a throttled piece gets the disk timer at its time. */
static void arm_retry(struct partition_disk *d)
{
    struct partition *p = d->part;
    uint64_t f = spin_lock_irqsave(&d->lock);
    uint64_t at = d->retry_ns;
    d->retry_ns = 0;
    spin_unlock_irqrestore(&d->lock, f);
    if (!at)
        return;
    uint64_t rel = at > p->start_ns ? at - p->start_ns : 1;
    uint64_t *due = &p->timer_deadline[PARTITION_TIMER_DISKS];
    if (!*due || rel < *due)
        *due = rel;
}

/* ---- the block driver: pieces run by the disk's worker item ------------------------------
 * The item takes started pieces (in order) into slots while their ranges allow: two that
 * overlap, one of them writing, never run at once, and a flush waits for everything before
 * it.  Under the pool's lock it maps each read or write to pool disk LBAs (pool_io.h); what
 * does not map (an allocating VHDX write, a parent's data, a fragmented range), a flush
 * and a trim it does there and then, as one synchronous step.  With the lock dropped it
 * queues the mapped transfers on the pool disk and polls it; a finished transfer puts its
 * slot on `transferred`, and the next run (on whichever CPU polled) copies reads to the
 * guest and completes the pieces.  The item requeues itself while slots are busy: it is
 * the disk's polling worker. */

static void work_run(struct work_item *w);

/* Disk's lock held. */
static bool has_work(const struct partition_disk *d)
{
    return d->started || d->busy || d->transferred;
}

/* Disk's lock held. */
static void kick_work(struct partition_disk *d)
{
    if (d->scheduled || !has_work(d) || d->dying)
        return;
    d->scheduled = true;
    int rc = worker_submit(&d->work);
    if (rc != WORK_OK) {
        d->scheduled = false;
        kprintf("atoll: %s: disk %s: %s\n", d->part->name, d->path, work_queue_error(rc));
    }
}

static bool drv_start(struct block_device *b, struct block_request *r)
{
    struct partition_disk *d = b->driver;
    if (r == d->granted)
        d->granted = NULL;
    r->next = NULL;
    if (d->started_tail)
        d->started_tail->next = r;
    else
        d->started = r;
    d->started_tail = r;
    kick_work(d);
    return true;
}

/* Pieces finish through block_complete from the item (finish_pieces). */
static const struct block_driver_ops driver_ops = { drv_start, NULL };

static uint64_t data_bytes(const struct partition_disk *d, const struct block_request *r)
{
    return r->op == BLOCK_READ || r->op == BLOCK_WRITE ? (uint64_t)r->count * d->sector : 0;
}

/* The block layer asks before it starts r; it may ask again about the same head. */
static bool throttle(void *ctx, enum block_class cls, const struct block_request *r)
{
    struct partition_disk *d = ctx;
    (void)cls;
    if (r == d->granted)
        return true;
    uint64_t now = time_ns(), bytes = data_bytes(d, r);
    if (!rate_limit_take(&d->limit, bytes, now)) {
        uint64_t wait = rate_limit_wait_ns(&d->limit, bytes, now);
        d->retry_ns = now + (wait ? wait : 1000);
        return false;
    }
    d->granted = r;
    return true;
}

/* Under the partition's lock, so a reset or the partition's end cannot race it; a page
 * per hold, so the partition's exits on other CPUs never wait for a whole piece. */
#define COPY_CHUNK 4096u

static bool guest_copy(struct partition_disk *d, struct disk_slot *s, size_t len, bool to_guest)
{
    struct partition *p = d->part;
    struct disk_piece *pc = s->r->ctx;
    bool ok = true;
    for (size_t pos = 0; pos < len && ok; pos += COPY_CHUNK) {
        size_t n = len - pos < COPY_CHUNK ? len - pos : COPY_CHUNK;
        uint64_t f = spin_lock_irqsave(&p->lock);
        ok = p->state != PART_DEAD &&
             (to_guest ? vblk_io_to_guest(pc->io, pos, s->bounce + pos, n)
                       : vblk_io_from_guest(pc->io, pos, s->bounce + pos, n));
        spin_unlock_irqrestore(&p->lock, f);
    }
    return ok;
}

static struct disk_piece *copy_piece(const struct block_request *r)
{
    struct disk_piece *pc = r->cls == BLOCK_CLASS_GUEST && r->op == BLOCK_WRITE ? r->ctx : NULL;
    return pc && pc->copy_from ? pc : NULL;
}

/* A piece done without the queue, the pool's lock held, interrupts on; a read's data stays
 * in the bounce buffer for finish_pieces; a copy piece's data comes from its source disk
 * into the host's bounce buffer, never the guest's memory. */
static int sync_piece(struct partition_disk *d, struct disk_slot *s)
{
    struct block_request *r = s->r;
    if (r->cls == BLOCK_CLASS_BACKGROUND)
        return disk_ops_run_step(r);
    uint64_t off = r->lba * d->sector;
    size_t len = (size_t)r->count * d->sector;
    switch (r->op) {
    case BLOCK_READ:
        return disk_read(d, off, s->bounce, len) == 0 ? BLOCK_OK : BLOCK_E_IO;
    case BLOCK_WRITE:
        if (copy_piece(r))
            return disk_read(copy_piece(r)->copy_from, copy_piece(r)->copy_offset, s->bounce,
                             len) == 0 && disk_write(d, off, s->bounce, len) == 0
                   ? BLOCK_OK : BLOCK_E_IO;
        return guest_copy(d, s, len, false) && disk_write(d, off, s->bounce, len) == 0
               ? BLOCK_OK : BLOCK_E_IO;
    case BLOCK_FLUSH:
        return disk_flush(d) == 0 ? BLOCK_OK : BLOCK_E_IO;
    case BLOCK_TRIM:
        return disk_trim(d, off, (uint64_t)r->count * d->sector) == 0 ? BLOCK_OK : BLOCK_E_IO;
    }
    return BLOCK_E_INVALID;
}

/* Finished pieces to the device, under the partition's lock (dropped when it is dead);
 * then the device's next budget of work, here rather than at the vCPU's next entry. */
static void deliver(struct partition_disk *d, struct disk_piece *done)
{
    struct partition *p = d->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool alive = p->state != PART_DEAD && d->dev;
    for (struct disk_piece *pc = done; pc && alive; pc = pc->next_done)
        vblk_io_complete(pc->io, pc->status == BLOCK_OK ? VBLK_OK : VBLK_IOERR);
    if (alive) {
        arm_retry(d);
        partition_disks_poll(p, time_ns() - p->start_ns);
    }
    bool left = alive && p->timer_deadline[PARTITION_TIMER_DISKS];
    spin_unlock_irqrestore(&p->lock, f);
    if (left)
        kick_timers(p);
}

/* The last thing a run does: queue the item again while pieces wait or are in transfer
 * (dying: only until the transfers are over; partition_disks_detach runs it then). */
static void end_run(struct partition_disk *d)
{
    uint64_t f = spin_lock_irqsave(&d->lock);
    if ((d->started && !d->dying) || d->busy || d->transferred) {
        int rc = worker_submit(&d->work);
        if (rc != WORK_OK)
            d->scheduled = false;
    } else {
        d->scheduled = false;
    }
    spin_unlock_irqrestore(&d->lock, f);
}

static void note_piece(struct partition_disk *d, const struct block_request *r)
{
    d->pieces++;
    if (r->op == BLOCK_READ)
        d->bytes_read += data_bytes(d, r);
    else if (r->op == BLOCK_WRITE)
        d->bytes_written += data_bytes(d, r);
    unsigned me = this_cpu()->index;
    if (me < 64)
        d->item_cpus |= 1ull << me;
}

/* A slot's transfer is over (any CPU, no lock held): the item finishes it. */
static void transferred(struct disk_slot *s)
{
    struct partition_disk *d = s->disk;
    uint64_t f = spin_lock_irqsave(&d->lock);
    s->next = d->transferred;
    d->transferred = s;
    kick_work(d);
    spin_unlock_irqrestore(&d->lock, f);
}

static void transfer_done(struct pool_io *x)
{
    struct disk_slot *s = x->ctx;
    s->status = x->status;
    transferred(s);
}

/* Disk's lock held: a free slot for r if it may start beside the pieces in transfer. */
static struct disk_slot *claim_slot(struct partition_disk *d, struct block_request *r)
{
    struct pool_io_range g;
    pool_io_range(&g, r->op, r->lba * d->sector, (uint64_t)r->count * d->sector);
    struct disk_slot *free = NULL;
    for (unsigned i = 0; i < DISK_DEPTH; i++) {
        struct disk_slot *s = &d->slot[i];
        if (!s->r) {
            free = free ? free : s;
            continue;
        }
        if (pool_io_ranges_conflict(&s->range, &g))
            return NULL;
    }
    if (!free)
        return NULL;
    if (!(d->started = r->next))
        d->started_tail = NULL;
    free->r = r;
    free->range = g;
    free->status = BLOCK_OK;
    if (++d->busy > d->max_busy)
        d->max_busy = d->busy;
    return free;
}

/* Whoever watches the pool (offload tokens) is told of a guest write or trim before its
 * data changes, and again when it has landed: a token issued while it was in transfer
 * must not outlive it. */
static void note_observers(struct partition_disk *d, const struct block_request *r)
{
    if (r->cls == BLOCK_CLASS_GUEST && (r->op == BLOCK_WRITE || r->op == BLOCK_TRIM))
        pool_write_note(d->vhdx ? POOL_WRITE_DISK : POOL_WRITE_FILE, d->path,
                        r->lba * d->sector, (uint64_t)r->count * d->sector);
}

/* Takes what may start: mapped transfers are queued on the pool disk, the rest is done
 * here under the pool's lock (busy: another time). */
static void start_pieces(struct partition_disk *d)
{
    const struct block_window *w = pool_disk_window();
    struct disk_slot *go = NULL;
    if (!pool_trylock())
        return;
    for (;;) {
        uint64_t f = spin_lock_irqsave(&d->lock);
        struct disk_slot *s = d->started && !d->dying ? claim_slot(d, d->started) : NULL;
        spin_unlock_irqrestore(&d->lock, f);
        if (!s)
            break;
        struct block_request *r = s->r;
        note_observers(d, r);
        if (w && r->cls == BLOCK_CLASS_GUEST && (r->op == BLOCK_READ || r->op == BLOCK_WRITE) &&
            !copy_piece(r) &&
            pool_io_map(&s->io, w, &d->file, d->vhdx, r->op, BLOCK_CLASS_GUEST,
                        r->lba * d->sector, r->count * d->sector, s->bounce) == BLOCK_OK) {
            s->next = go;
            go = s;
            continue;
        }
        s->status = sync_piece(d, s);
        transferred(s);
    }
    pool_unlock();
    while (go) {
        struct disk_slot *s = go;
        go = s->next;
        if (s->r->op == BLOCK_WRITE && !guest_copy(d, s, s->r->count * d->sector, false)) {
            s->status = BLOCK_E_IO;
            transferred(s);
            continue;
        }
        pool_io_start(&s->io, transfer_done, s);
    }
}

/* A guest write or trim has landed: a live job on the disk copies its units again if it
 * has passed them (disk_job_note_write, under the pool's lock like the job's steps). */
static void note_job_write(struct partition_disk *d, const struct block_request *r)
{
    if (!__atomic_load_n(&d->job, __ATOMIC_ACQUIRE))
        return;     /* none, or one set after this write landed: its first pass reads it */
    pool_lock();
    disk_job_note_write(d->job, r->lba * d->sector, (uint64_t)r->count * d->sector);
    pool_unlock();
}

/* Completes the pieces whose transfers are over; true if there were any. */
static bool finish_pieces(struct partition_disk *d)
{
    uint64_t f = spin_lock_irqsave(&d->lock);
    struct disk_slot *s = d->transferred;
    d->transferred = NULL;
    spin_unlock_irqrestore(&d->lock, f);
    if (!s)
        return false;
    while (s) {
        struct disk_slot *next = s->next;
        struct block_request *r = s->r;
        if (s->status == BLOCK_OK && r->cls == BLOCK_CLASS_GUEST && r->op == BLOCK_READ &&
            !guest_copy(d, s, (size_t)r->count * d->sector, true))
            s->status = BLOCK_E_IO;
        if (s->status == BLOCK_OK && r->cls == BLOCK_CLASS_GUEST &&
            (r->op == BLOCK_WRITE || r->op == BLOCK_TRIM))
            note_job_write(d, r);
        note_observers(d, r);
        f = spin_lock_irqsave(&d->lock);
        note_piece(d, r);
        block_complete(&d->blk, r, s->status);
        s->r = NULL;
        d->busy--;
        spin_unlock_irqrestore(&d->lock, f);
        s = next;
    }
    f = spin_lock_irqsave(&d->lock);
    block_poll(&d->blk);            /* runs piece_finished for them, starts what waits */
    struct disk_piece *done = d->completed;
    d->completed = NULL;
    spin_unlock_irqrestore(&d->lock, f);
    deliver(d, done);
    return true;
}

static bool in_transfer(struct partition_disk *d)
{
    uint64_t f = spin_lock_irqsave(&d->lock);
    bool busy = d->busy != 0;
    spin_unlock_irqrestore(&d->lock, f);
    return busy;
}

/* The disk's worker item: finishes, starts, and polls the pool disk a little while its
 * transfers run (they may also finish on another disk's item, which polls the same disk). */
static void work_run(struct work_item *w)
{
    struct partition_disk *d = w->arg;
    const struct block_window *pw = pool_disk_window();
    finish_pieces(d);
    start_pieces(d);
    uint64_t until = time_ns() + POLL_NS;
    while (pw && in_transfer(d) && time_ns() <= until) {
        block_poll(pw->dev);
        if (finish_pieces(d))
            start_pieces(d);
        else
            cpu_relax();
    }
    finish_pieces(d);
    end_run(d);
}

/* block_complete's callback, under the disk's lock: the device hears of it in deliver. */
static void piece_finished(struct block_request *r, int status)
{
    struct disk_piece *pc = r->ctx;
    struct partition_disk *d = pc->disk;
    pc->status = status;
    pc->next_done = d->completed;
    d->completed = pc;
}

/* ---- the virtio-blk backend (the partition's lock held, in an exit or a pass) ----------- */

static struct disk_piece *piece_of(struct partition_disk *d, struct vblk_io *io)
{
    struct vblk_req *req = (struct vblk_req *)((char *)io - offsetof(struct vblk_req, io));
    if (!d->dev || req < d->dev->req || req >= d->dev->req + VIRTQ_MAX_SIZE)
        return NULL;
    return &d->piece[req - d->dev->req];
}

static enum vblk_status queue_piece_from(struct partition_disk *d, struct vblk_io *io,
                                         enum block_op op, struct partition_disk *from)
{
    struct disk_piece *pc = piece_of(d, io);
    uint32_t ss = d->sector;
    if (!pc || io->offset % ss || io->length % ss ||
        (op != BLOCK_FLUSH && (io->length == 0 || io->length / ss > UINT32_MAX)) ||
        ((op == BLOCK_READ || op == BLOCK_WRITE) && io->length > BOUNCE_BYTES))
        return VBLK_IOERR;
    pc->io = io;
    pc->copy_from = from;
    pc->copy_offset = io->source_offset;
    pc->br = (struct block_request){
        .op = op, .cls = BLOCK_CLASS_GUEST,
        .lba = op == BLOCK_FLUSH ? 0 : io->offset / ss,
        .count = op == BLOCK_FLUSH ? 0 : (uint32_t)(io->length / ss),
        .buf = d->slot[0].bounce,   /* the queue checks there is one; a slot's carries it */
        .done = piece_finished, .ctx = pc,
    };
    uint64_t f = spin_lock_irqsave(&d->lock);
    int rc = d->dying ? BLOCK_E_IO : block_submit(&d->blk, &pc->br);
    if (rc == BLOCK_OK)
        block_poll(&d->blk);
    spin_unlock_irqrestore(&d->lock, f);
    if (rc != BLOCK_OK)
        return VBLK_IOERR;
    arm_retry(d);
    return VBLK_PENDING;
}

static enum vblk_status queue_piece(struct partition_disk *d, struct vblk_io *io,
                                    enum block_op op)
{
    return queue_piece_from(d, io, op, NULL);
}

/* ---- the "after" storage migration's gate (hv/core/storage_migrate.h) -------------------
 * A disk whose units are still partly on another host asks before each piece: one whose
 * units are here goes on; one that waits for a fetch is parked there and the disk's poll
 * timer looks again each millisecond (the vCPU goes back to its guest meanwhile); one whose
 * units cannot come (the link is gone) fails. */
#define REMOTE_POLL_NS 1000000ull

static const enum block_op gate_block_op[] = {
    [SMIG_OP_READ] = BLOCK_READ, [SMIG_OP_WRITE] = BLOCK_WRITE, [SMIG_OP_TRIM] = BLOCK_TRIM,
};

/* Partition's lock held. */
static void arm_remote_poll(struct partition_disk *d)
{
    struct partition *p = d->part;
    uint64_t rel = time_ns() - p->start_ns + REMOTE_POLL_NS;
    uint64_t *due = &p->timer_deadline[PARTITION_TIMER_DISKS];
    if (!*due || rel < *due)
        *due = rel;
}

/* Partition's lock held: VBLK_PENDING when parked, VBLK_IOERR when it fails, VBLK_OK to go. */
static enum vblk_status remote_gate(struct partition_disk *d, struct vblk_io *io,
                                    enum smig_gate_op op)
{
    if (!d->remote)
        return VBLK_OK;
    switch (storage_migrate_remote_gate(d->remote, io, io->offset, io->length, op)) {
    case SMIG_GATE_GO:
        return VBLK_OK;
    case SMIG_GATE_WAIT:
        arm_remote_poll(d);
        return VBLK_PENDING;
    case SMIG_GATE_FAIL:
        break;
    }
    return VBLK_IOERR;
}

/* Partition's lock held: parked pieces that may go on go on; those that cannot fail. */
static void remote_dispatch(struct partition_disk *d)
{
    if (!d->remote || !d->dev)
        return;
    enum smig_gate_op op;
    bool fail;
    struct vblk_io *io;
    while ((io = storage_migrate_remote_next(d->remote, &op, &fail)) != NULL) {
        enum vblk_status st = fail ? VBLK_IOERR : queue_piece(d, io, gate_block_op[op]);
        if (st != VBLK_PENDING)
            vblk_io_complete(io, st);
    }
    if (storage_migrate_remote_waiting(d->remote))
        arm_remote_poll(d);
}

/* Partition's lock held: the pieces still parked end with an I/O error (a live migration's
 * cancelled ones are dropped by the device and start again; a checkpoint's pause cannot wait
 * for units that only the network poll, on the pausing CPU, brings).  How many. */
static unsigned remote_end_parked(struct partition_disk *d)
{
    unsigned n = 0;
    struct vblk_io *io;
    while (d->remote && (io = storage_migrate_remote_take(d->remote)) != NULL) {
        vblk_io_complete(io, VBLK_IOERR);
        n++;
    }
    return n;
}

static enum vblk_status backend_read(void *ctx, struct vblk_io *io)
{
    enum vblk_status g = remote_gate(ctx, io, SMIG_OP_READ);
    return g != VBLK_OK ? g : queue_piece(ctx, io, BLOCK_READ);
}

static enum vblk_status backend_write(void *ctx, struct vblk_io *io)
{
    enum vblk_status g = remote_gate(ctx, io, SMIG_OP_WRITE);
    return g != VBLK_OK ? g : queue_piece(ctx, io, BLOCK_WRITE);
}

static enum vblk_status backend_flush(void *ctx, struct vblk_io *io)
{
    return queue_piece(ctx, io, BLOCK_FLUSH);
}

static enum vblk_status backend_discard(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx;
    if (!d->vhdx)
        return VBLK_OK;         /* a raw file keeps its bytes: discard is only a hint */
    enum vblk_status g = remote_gate(d, io, SMIG_OP_TRIM);
    return g != VBLK_OK ? g : queue_piece(d, io, BLOCK_TRIM);
}

static uint64_t backend_capacity(void *ctx) { return ((struct partition_disk *)ctx)->capacity; }
static uint32_t backend_sector(void *ctx) { return ((struct partition_disk *)ctx)->sector; }

static const struct vblk_backend backend = {
    .read = backend_read, .write = backend_write, .flush = backend_flush,
    .discard = backend_discard, .capacity = backend_capacity, .sector_size = backend_sector,
};

/* Atoll's copy extension between the partition's disks (hv/vdev/virtio_blk_copy.h): a copy
 * piece is a write of the destination whose data the item reads from the source disk
 * under the pool's lock, so it is throttled, ordered and noted as a guest write. */
static struct partition_disk *disk_number(struct partition_disk *d, uint32_t i)
{
    return i < d->part->disk_count ? d->part->disks[i] : NULL;
}

static const char *backend_copy_check(void *ctx, const struct vblk_copy *c, uint64_t dst_sector)
{
    struct partition_disk *d = ctx, *src = disk_number(d, c->source_disk);
    uint32_t self = 0;
    while (self < d->part->disk_count && d->part->disks[self] != d)
        self++;
    struct vblk_copy_disk dg = { d->capacity, d->sector }, sg;
    if (src)
        sg = (struct vblk_copy_disk){ src->capacity, src->sector };
    return vblk_copy_check(c, self, dst_sector, &dg, true, src ? &sg : NULL);
}

static enum vblk_status backend_copy(void *ctx, struct vblk_io *io)
{
    struct partition_disk *d = ctx, *src = disk_number(d, io->source_disk);
    if (!src || io->source_offset > src->capacity || io->length > src->capacity - io->source_offset)
        return VBLK_IOERR;
    if (src->remote || d->remote)
        return VBLK_IOERR;      /* not while a disk's units are still on another host */
    return queue_piece_from(d, io, BLOCK_WRITE, src);
}

/* The partition's guest tokens (offload read and write), used under the partition's lock
 * as every request of its devices is. */
static struct vblk_tokens *backend_tokens(void *ctx, uint32_t *self)
{
    struct partition_disk *d = ctx;
    *self = 0;
    while (*self < d->part->disk_count && d->part->disks[*self] != d)
        (*self)++;
    return d->tokens;
}

static const struct vblk_backend backend_with_copy = {
    .read = backend_read, .write = backend_write, .flush = backend_flush,
    .discard = backend_discard, .capacity = backend_capacity, .sector_size = backend_sector,
    .copy_check = backend_copy_check, .copy = backend_copy, .tokens = backend_tokens,
};

/* ---- set-up and end ------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static struct vhdx_info chain_info;     /* the pool's lock */

/* The pool's lock held: layer k of disk e's chain (0: its own file), its pool path and
 * whether it is open writable; false past the chain's end. */
static bool chain_layer(struct partition_disk *e, unsigned k, char *name, size_t size,
                        bool *writable)
{
    strlcpy(name, e->path, size);
    *writable = true;
    if (!e->vhdx)
        return k == 0 && e->file.v;
    struct vhdx *l = e->vhdx;
    for (unsigned i = 0; i < k; i++) {
        struct vhdx *parent = vhdx_parent(l);
        if (!parent)
            return false;
        vhdx_get_info(l, &chain_info);
        strlcpy(name, chain_info.parent_name, size);
        l = parent;
    }
    vhdx_get_info(l, &chain_info);
    *writable = !chain_info.read_only;
    return true;
}

/*
 * The pool's lock held: whether a parent in d's chain is open in another attached disk's
 * chain, or d's own file is a parent there, with either of them writable: a child's parent
 * must not change under it (a merge writes its parent; a disk attached writable may be
 * someone's parent).  Read-only sharing (two children of one parent) is fine; two disks
 * on one file (a partition restarting or restored beside its old self) are not a chain's
 * business.
 */
static bool chain_conflict(struct partition_disk *d, char *err, size_t err_size)
{
    char a[128], b[128];
    bool aw, bw;
    for (unsigned k = 0; chain_layer(d, k, a, sizeof(a), &aw); k++)
        for (unsigned i = 0; i < partition_count; i++) {
            struct partition *q = partitions[i];
            if (!q || q->state == PART_DEAD)
                continue;
            for (unsigned n = 0; n < q->disk_count; n++) {
                struct partition_disk *e = q->disks[n];
                if (!e || e == d)
                    continue;
                for (unsigned m = 0; chain_layer(e, m, b, sizeof(b), &bw); m++)
                    if ((k || m) && (aw || bw) && fat_same_path(a, b)) {
                        fmt_snprintf(err, err_size, "disk %s: %s is open%s in partition "
                                     "%s's disk %s%s", d->path, a, bw ? " writable" : "",
                                     q->name, e->path, m ? " (its chain)" : "");
                        return true;
                    }
            }
        }
    return false;
}

/* The pool's lock held. */
static bool open_disk(struct partition_disk *d, const char *path, unsigned vhdx_flags,
                      char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    char tmp[128];
    bool is_vhdx = ends_with(path, ".vhdx");   /* NAME's: NAME.tmp is what NAME will be */
    if (v && !d->remote && (d->remote = storage_migrate_remote_claim(path, tmp, sizeof(tmp))))
        path = tmp;             /* NAME.tmp: its units come from the source as needed */
    strlcpy(d->path, path, sizeof(d->path));
    if (!v) {
        fmt_snprintf(err, err_size, "disk %s: no storage pool is mounted", path);
        return false;
    }
    if (fat_open(v, path, 0, &d->file) != 0) {
        fmt_snprintf(err, err_size, "disk %s: no such file in the pool", path);
        return false;
    }
    d->sector = 512;
    if (!is_vhdx) {
        d->capacity = d->file.size & ~511ull;
        return d->capacity > 0 || (fmt_snprintf(err, err_size, "disk %s: empty file", path), false);
    }
    if (!(vhdx_flags & VHDX_OPEN_READ_ONLY))   /* opening it writable rewrites its header */
        pool_write_note(POOL_WRITE_FILE, path, 0, POOL_WRITE_ALL);
    struct vhdx_err verr;
    pool_vhdx_io(&d->file, &d->vio);
    int rc = vhdx_open(pool_vhdx_env(), &d->vio, path, vhdx_flags, &d->vhdx, &verr);
    if (rc == VHDX_E_READ_ONLY && !(vhdx_flags & (VHDX_OPEN_READ_ONLY | VHDX_OPEN_PARENT_RW)))
        /* A differencing disk whose parent has a log to replay (a merge was cut): the
         * parent opened writable replays it; the chain reads as before. */
        rc = vhdx_open(pool_vhdx_env(), &d->vio, path, vhdx_flags | VHDX_OPEN_PARENT_RW,
                       &d->vhdx, &verr);
    if (rc != 0) {
        fmt_snprintf(err, err_size, "disk %s: %s", path, verr.msg);
        d->vhdx = NULL;
        return false;
    }
    if (chain_conflict(d, err, err_size))
        return false;               /* the caller closes it */
    struct vhdx_info info;
    vhdx_get_info(d->vhdx, &info);
    d->capacity = info.disk_size;
    d->sector = info.logical_sector_size;
    return true;
}

/* The block layer's view of the file: pieces of GUEST class, throttled when limited. */
static void init_queue(struct partition_disk *d, uint32_t iops, uint32_t mbps)
{
    fmt_snprintf(d->blk.name, sizeof(d->blk.name), "%s.%u", d->part->name, d->part->disk_count);
    d->blk.sector_size = d->sector;
    d->blk.sectors = d->capacity / d->sector;
    d->blk.max_sectors = (uint32_t)((uint64_t)VIRTIO_BLK_MAX_DISCARD_SECTORS * 512 / d->sector);
    d->blk.ops = &driver_ops;
    d->blk.driver = d;
    block_device_init(&d->blk);
    block_set_limit(&d->blk, BLOCK_CLASS_GUEST, VIRTQ_MAX_SIZE);
    d->limited = iops || mbps;
    if (d->limited) {
        rate_limit_init(&d->limit, iops, (uint64_t)mbps * MIB, time_ns());
        block_set_throttle(&d->blk, throttle, d);
    }
    d->work = (struct work_item){ .fn = work_run, .arg = d, .prio = WORK_HIGH,
                                  .owner = d->part->id };
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
        d->piece[i].disk = d;
    for (unsigned i = 0; i < DISK_DEPTH; i++)
        d->slot[i].disk = d;
}

/* The pool's lock held. */
static void close_disk(struct partition_disk *d)
{
    struct vhdx_err err;
    if (d->remote) {
        storage_migrate_remote_release(d->remote);
        d->remote = NULL;
    }
    if (d->vhdx)
        vhdx_close(d->vhdx, &err);
    else if (d->file.v)
        fat_close(&d->file);
    d->vhdx = NULL;
    d->file.v = NULL;
}

static void free_disk(struct partition_disk *d)
{
    for (unsigned i = 0; i < DISK_DEPTH; i++)
        kfree(d->slot[i].bounce);
    kfree(d);
}

static bool alloc_bounces(struct partition_disk *d)
{
    for (unsigned i = 0; i < DISK_DEPTH; i++)
        if (!(d->slot[i].bounce = kmalloc(BOUNCE_BYTES)))
            return false;
    return true;
}

/* ---- the "after" storage migration's side of the disk ---------------------------------- */

/* The pool's lock held: fetched bytes into the disk's file. */
static int remote_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    return disk_write(ctx, off, buf, len);
}

static int remote_trim(void *ctx, uint64_t off, uint64_t len)
{
    return disk_trim(ctx, off, len);
}

/* Boot CPU: every unit is here; with the partition paused (its disks quiesced: no piece
 * waits, all units being present) the disk closes NAME.tmp, which becomes NAME, and
 * opens NAME. */
static bool remote_commit(void *ctx, const char *tmp, const char *name, char *err,
                          size_t err_size)
{
    struct partition_disk *d = ctx;
    struct partition *p = d->part;
    unsigned i = 0;
    while (i < p->disk_count && p->disks[i] != d)
        i++;
    struct partition_pause at;
    if (i == p->disk_count || !partition_pause(p, &at, err, err_size))
        return false;
    pool_lock();
    d->remote = NULL;               /* closing is not a release: the module commits it */
    bool ok = partition_disk_switch_file(p, i, NULL, 0, err, err_size);
    if (ok && (fat_rename(pool_volume(), tmp, name) || fat_sync(pool_volume()))) {
        fmt_snprintf(err, err_size, "renaming %s to %s: %s", tmp, name,
                     pool_volume()->err[0] ? pool_volume()->err : "failed");
        ok = false;
    }
    if (!partition_disk_switch_file(p, i, ok ? name : tmp, 0, err, err_size)) {
        partition_disk_fail(p, i);
        ok = false;
    }
    pool_unlock();
    partition_resume(p, &at);
    return ok;
}

static const struct smig_remote_ops remote_ops = {
    .write = remote_write, .trim = remote_trim, .commit = remote_commit,
};

bool partition_disk_attached_anywhere(const char *path)
{
    bool found = false;
    pool_lock();        /* a disk leaves its partition's array under it, closed (detach) */
    for (unsigned i = 0; i < partition_count && !found; i++) {
        struct partition *q = partitions[i];
        for (unsigned n = 0; q && n < q->disk_count && !found; n++)
            found = q->disks[n] && fat_same_path(q->disks[n]->path, path);
    }
    pool_unlock();
    return found;
}

bool partition_disks_attach(struct partition *p, const struct partition_spec *spec,
                            char *err, size_t err_size)
{
    unsigned count = spec->disk_count;
    if (count == 0)
        return true;
    if (count > PARTITION_MAX_DISKS) {
        fmt_snprintf(err, err_size, "at most %d disks per partition", PARTITION_MAX_DISKS);
        return false;
    }
    const struct vdev_platform *fabric = platform_devices_platform(p->devices);
    p->pci = pci_host_create(&p->bus, fabric);
    if (!p->pci) {
        fmt_snprintf(err, err_size, "no PCI host bridge left for its disks");
        return false;
    }
    for (unsigned i = 0; i < count; i++) {
        const char *path = spec->disks[i];
        struct partition_disk *d = kmalloc(sizeof(*d));
        if (!d || !alloc_bounces(d)) {
            if (d)
                free_disk(d);
            fmt_snprintf(err, err_size, "out of memory for disk %s", path);
            return false;
        }
        d->part = p;
        d->tokens = i == 0 ? (count >= 2 ? partition_tokens_make() : NULL) : p->disks[0]->tokens;
        pool_lock();
        bool ok = open_disk(d, path, 0, err, err_size);
        if (!ok)
            close_disk(d);
        pool_unlock();
        if (!ok) {
            if (i == 0)
                partition_tokens_free(d->tokens);
            free_disk(d);
            return false;
        }
        if (d->remote) {
            pool_lock();
            storage_migrate_remote_bind(d->remote, &remote_ops, d);
            pool_unlock();
        }
        init_queue(d, spec->disk_iops ? spec->disk_iops[i] : 0,
                   spec->disk_mbps ? spec->disk_mbps[i] : 0);
        p->disks[p->disk_count++] = d;
        d->dev = virtio_blk_attach(p->pci, PARTITION_DISK_FIRST_SLOT + i, fabric,
                                   count >= 2 ? &backend_with_copy : &backend, d);
        if (!d->dev) {
            fmt_snprintf(err, err_size, "disk %s: no virtio-blk device left", path);
            return false;
        }
        virtio_blk_set_poll_timer(d->dev, PARTITION_TIMER_DISKS);
        if (!virtio_blk_register_state(d->dev, &p->bus,
                                       (uint16_t)(PARTITION_DISK_FIRST_SLOT + i))) {
            fmt_snprintf(err, err_size, "disk %s: its state cannot be registered", path);
            return false;
        }
    }
    return true;
}

void partition_disks_poll(struct partition *p, uint64_t now_ns)
{
    uint64_t due = p->timer_deadline[PARTITION_TIMER_DISKS];
    if (!due || due > now_ns)
        return;
    p->timer_deadline[PARTITION_TIMER_DISKS] = 0;
    for (unsigned i = 0; i < p->disk_count; i++) {
        struct partition_disk *d = p->disks[i];
        if (!d->dev)
            continue;
        remote_dispatch(d);
        virtio_blk_poll(d->dev);
        uint64_t f = spin_lock_irqsave(&d->lock);
        block_poll(&d->blk);        /* pieces the throttle held back */
        spin_unlock_irqrestore(&d->lock, f);
        arm_retry(d);
    }
}

/* The item neither queued nor running, and never again; transfers in flight are waited
 * for (the item runs here while they last, so no other CPU is needed). */
static void stop_work(struct partition_disk *d)
{
    for (;;) {
        uint64_t f = spin_lock_irqsave(&d->lock);
        d->dying = true;
        bool run = false, running = d->scheduled;
        if (d->scheduled && worker_cancel(&d->work))
            run = true;             /* still `scheduled`: it is ours to run */
        else if (!d->scheduled && (d->busy || d->transferred))
            run = d->scheduled = true;
        spin_unlock_irqrestore(&d->lock, f);
        if (run)
            work_run(&d->work);
        else if (running)
            cpu_relax();
        else
            return;
    }
}

static void report(struct partition *p, struct partition_disk *d)
{
    char cpus_text[64] = "none";
    size_t n = 0;
    for (unsigned c = 0; c < 64 && n < sizeof(cpus_text) - 4; c++)
        if (d->item_cpus & (1ull << c))
            n += (size_t)fmt_snprintf(cpus_text + n, sizeof(cpus_text) - n, n ? ",%u" : "%u", c);
    kprintf("atoll: %s disk %s: %lu pieces (%lu KiB read, %lu KiB written) by worker items on cpus %s, at most %u in transfer at once%s\n",
            p->name, d->path, d->pieces, d->bytes_read >> 10, d->bytes_written >> 10, cpus_text,
            d->max_busy, rate_limit_note(d->limited ? &d->limit : NULL).text);
}

void partition_disks_detach(struct partition *p)
{
    for (unsigned i = 0; i < p->disk_count; i++)
        stop_work(p->disks[i]);
    disk_ops_partition_gone(p);
    struct vblk_tokens *tokens = p->disk_count ? p->disks[0]->tokens : NULL;
    bool used = false;
    for (unsigned i = 0; i < p->disk_count; i++) {
        struct partition_disk *d = p->disks[i];
        used |= d->pieces != 0;
        if (d->pieces)
            report(p, d);
        uint64_t f = spin_lock_irqsave(&p->lock);
        struct virtio_blk *dev = d->dev;
        d->dev = NULL;
        spin_unlock_irqrestore(&p->lock, f);
        if (dev)
            virtio_blk_detach(dev);
        pool_lock();
        close_disk(d);
        p->disks[i] = NULL;
        pool_unlock();
        free_disk(d);
    }
    p->disk_count = 0;
    partition_tokens_free(tokens);      /* the devices are gone: nobody uses them now */
    if (used)
        pool_disk_report();
    if (p->pci)
        pci_host_destroy(p->pci);
    p->pci = NULL;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

static void set_intake(struct partition *p, bool paused)
{
    uint64_t f = spin_lock_irqsave(&p->lock);
    for (unsigned i = 0; i < p->disk_count; i++)
        if (p->disks[i]->dev)
            virtio_blk_pause_intake(p->disks[i]->dev, paused);
    spin_unlock_irqrestore(&p->lock, f);
}

/* Pieces left to start, started or running, or requests between two pieces. */
static bool disks_busy(struct partition *p)
{
    bool busy = false;
    uint64_t f = spin_lock_irqsave(&p->lock);
    for (unsigned i = 0; i < p->disk_count; i++) {
        struct partition_disk *d = p->disks[i];
        if (!d->dev)
            continue;
        remote_dispatch(d);         /* pieces whose units have come */
        unsigned failed = remote_end_parked(d);
        if (failed)
            kprintf("atoll: %s: disk %s: %u piece%s waiting for units still on the source "
                    "failed: the pause cannot wait for the link\n", p->name, d->path, failed,
                    failed == 1 ? "" : "s");
        virtio_blk_poll(d->dev);    /* next pieces of requests already taken */
        busy |= virtio_blk_inflight(d->dev) != 0;
    }
    spin_unlock_irqrestore(&p->lock, f);
    return busy;
}

/* Runs the disk's item here when it is queued; starts throttled pieces when due. */
static void drive(struct partition_disk *d)
{
    uint64_t f = spin_lock_irqsave(&d->lock);
    block_poll(&d->blk);
    bool run = d->scheduled && worker_cancel(&d->work);
    spin_unlock_irqrestore(&d->lock, f);
    if (run)
        work_run(&d->work);
    else
        cpu_relax();
}

void partition_disks_quiesce(struct partition *p)
{
    set_intake(p, true);
    while (disks_busy(p))
        for (unsigned i = 0; i < p->disk_count; i++)
            drive(p->disks[i]);
}

unsigned partition_disks_cancel(struct partition *p)
{
    unsigned n = 0;
    uint64_t f = spin_lock_irqsave(&p->lock);
    for (unsigned i = 0; i < p->disk_count; i++)
        if (p->disks[i]->dev) {
            n += virtio_blk_cancel(p->disks[i]->dev);
            remote_end_parked(p->disks[i]);     /* dropped as cancelled: started again */
        }
    spin_unlock_irqrestore(&p->lock, f);
    return n;
}

unsigned partition_disks_reissue_pending(struct partition *p)
{
    unsigned n = 0;
    uint64_t f = spin_lock_irqsave(&p->lock);
    for (unsigned i = 0; i < p->disk_count; i++)
        if (p->disks[i]->dev)
            n += p->disks[i]->dev->reissue_count + (unsigned)p->disks[i]->dev->stats.reissued;
    spin_unlock_irqrestore(&p->lock, f);
    return n;
}

void partition_disks_resume(struct partition *p)
{
    set_intake(p, false);
    kick_timers(p);
}

/* ---- live disk operations (hv/core/disk_ops.c) ----------------------------------------- */

int partition_disk_find(struct partition *p, const char *path)
{
    for (unsigned i = 0; i < p->disk_count; i++)
        if (p->disks[i] && !strcmp(p->disks[i]->path, path))
            return (int)i;
    return -1;
}

struct vhdx *partition_disk_vhdx(struct partition *p, unsigned i)
{
    return i < p->disk_count ? p->disks[i]->vhdx : NULL;
}

void partition_disk_set_job(struct partition *p, unsigned i, struct disk_job *job)
{
    if (i < p->disk_count)
        __atomic_store_n(&p->disks[i]->job, job, __ATOMIC_RELEASE);
}

bool partition_disk_has_job(struct partition *p, unsigned i)
{
    return i < p->disk_count && p->disks[i] &&
           (__atomic_load_n(&p->disks[i]->job, __ATOMIC_ACQUIRE) || p->disks[i]->remote);
}

int partition_disk_submit_background(struct partition *p, unsigned i, struct block_request *r)
{
    if (i >= p->disk_count)
        return BLOCK_E_INVALID;
    struct partition_disk *d = p->disks[i];
    r->cls = BLOCK_CLASS_BACKGROUND;
    uint64_t f = spin_lock_irqsave(&d->lock);
    int rc = d->dying ? BLOCK_E_IO : block_submit(&d->blk, r);
    if (rc == BLOCK_OK)
        block_poll(&d->blk);
    spin_unlock_irqrestore(&d->lock, f);
    return rc;
}

bool partition_disk_switch_file(struct partition *p, unsigned i, const char *path,
                                unsigned vhdx_flags, char *err, size_t err_size)
{
    if (i >= p->disk_count)
        return false;
    struct partition_disk *d = p->disks[i];
    uint64_t capacity = d->capacity;
    uint32_t sector = d->sector;
    close_disk(d);
    if (!path)
        return true;
    bool opened = open_disk(d, path, vhdx_flags, err, err_size);
    if (opened && d->capacity == capacity && d->sector == sector)
        return true;
    if (opened)     /* (a failed open has said why) */
        fmt_snprintf(err, err_size, "disk %s: its size or sector size differs", path);
    close_disk(d);
    return false;
}

void partition_disk_fail(struct partition *p, unsigned i)
{
    if (i < p->disk_count) {
        uint64_t f = spin_lock_irqsave(&p->disks[i]->lock);
        p->disks[i]->dying = true;
        spin_unlock_irqrestore(&p->disks[i]->lock, f);
    }
}
