/*
 * Block layer core: per-class bounded FIFOs, weighted round-robin dispatch (deficit
 * counting in sectors, so a class of big requests cannot starve one of small ones), a
 * throttle hook consulted before each dispatch, completions handed back on a lock-free
 * list and their callbacks run from poll outside the device lock.
 */
#include "hv/storage/block.h"

#include <string.h>

void *(*block_phys_map)(uint64_t phys);
uint64_t (*block_clock_ns)(void);

static struct block_device *devices;

static const uint32_t default_weight[BLOCK_CLASSES] = { 64, 32, 16, 8 };
static const uint32_t default_limit[BLOCK_CLASSES] = { 64, 32, 32, 16 };

void block_device_init(struct block_device *d)
{
    for (unsigned c = 0; c < BLOCK_CLASSES; c++) {
        memset(&d->q[c], 0, sizeof(d->q[c]));
        d->q[c].weight = default_weight[c];
        d->q[c].limit = default_limit[c];
    }
    d->rr = 0;
    d->inflight = d->max_inflight = 0;
    d->throttle = NULL;
    d->throttle_ctx = NULL;
    d->completed = d->errors = d->flushes = 0;
    d->lock_ops = NULL;
    d->lock = NULL;
    d->finished = NULL;
    d->held = 0;
    if (!d->max_sectors)
        d->max_sectors = 128;
}

void block_register(struct block_device *d)
{
    struct block_device **p = &devices;
    while (*p)
        p = &(*p)->next_dev;
    d->next_dev = NULL;
    *p = d;
}

struct block_device *block_find(const char *name)
{
    for (struct block_device *d = devices; d; d = d->next_dev)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

struct block_device *block_first(void) { return devices; }

static uint64_t lock_dev(struct block_device *d)
{
    return d->lock_ops ? d->lock_ops->lock(d->lock) : 0;
}

static void unlock_dev(struct block_device *d, uint64_t token)
{
    if (d->lock_ops)
        d->lock_ops->unlock(d->lock, token);
}

void block_set_lock(struct block_device *d, const struct block_lock_ops *ops, void *lock)
{
    d->lock_ops = ops;
    d->lock = lock;
}

void block_set_weight(struct block_device *d, enum block_class cls, uint32_t weight)
{
    if ((unsigned)cls >= BLOCK_CLASSES)
        return;
    uint64_t t = lock_dev(d);
    d->q[cls].weight = weight ? weight : 1;
    unlock_dev(d, t);
}

void block_set_limit(struct block_device *d, enum block_class cls, uint32_t limit)
{
    if ((unsigned)cls >= BLOCK_CLASSES)
        return;
    uint64_t t = lock_dev(d);
    d->q[cls].limit = limit ? limit : 1;
    unlock_dev(d, t);
}

void block_set_throttle(struct block_device *d, block_throttle_fn fn, void *ctx)
{
    uint64_t t = lock_dev(d);
    d->throttle = fn;
    d->throttle_ctx = ctx;
    for (unsigned c = 0; c < BLOCK_CLASSES; c++)
        d->q[c].admitted = NULL;
    unlock_dev(d, t);
}

static int check_request(const struct block_device *d, const struct block_request *r)
{
    if ((unsigned)r->cls >= BLOCK_CLASSES || !r->done)
        return BLOCK_E_INVALID;
    switch (r->op) {
    case BLOCK_FLUSH:
        return BLOCK_OK;
    case BLOCK_READ:
    case BLOCK_WRITE:
        if (!r->buf && (!r->pages || !r->page_count || r->page_offset >= 4096))
            return BLOCK_E_INVALID;
        if (!r->buf && r->page_offset + (uint64_t)r->count * d->sector_size >
                       (uint64_t)r->page_count * 4096)
            return BLOCK_E_INVALID;
        /* fall through */
    case BLOCK_TRIM:
        if (!r->count || r->count > d->max_sectors)
            return BLOCK_E_INVALID;
        if (r->lba >= d->sectors || r->count > d->sectors - r->lba)
            return BLOCK_E_RANGE;
        return BLOCK_OK;
    }
    return BLOCK_E_INVALID;
}

int block_submit(struct block_device *d, struct block_request *r)
{
    int err = check_request(d, r);
    if (err)
        return err;
    r->next = NULL;
    r->status = BLOCK_OK;
    r->submit_ns = block_clock_ns ? block_clock_ns() : 0;
    uint64_t t = lock_dev(d);
    struct block_class_queue *q = &d->q[r->cls];
    if (q->queued >= q->limit) {
        unlock_dev(d, t);
        return BLOCK_E_BUSY;
    }
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->queued++;
    d->flushes += r->op == BLOCK_FLUSH;
    unlock_dev(d, t);
    return BLOCK_OK;
}

static uint32_t cost_of(const struct block_request *r)
{
    return (r->op == BLOCK_READ || r->op == BLOCK_WRITE) ? r->count : 1;
}

/* Whether class c has a request to start now.  The throttle is asked about each head once
 * until it says yes, and at most once per poll while it says no (*held remembers). */
static bool class_ready(struct block_device *d, unsigned c, uint32_t *held)
{
    struct block_class_queue *q = &d->q[c];
    if (!q->head || (*held & 1u << c))
        return false;
    if (!d->throttle || q->admitted == q->head)
        return true;
    if (d->throttle(d->throttle_ctx, (enum block_class)c, q->head)) {
        q->admitted = q->head;
        return true;
    }
    *held |= 1u << c;
    q->throttled++;
    return false;
}

/* Whether class c has work this poll, without asking the throttle. */
static bool class_waiting(const struct block_device *d, unsigned c, uint32_t held)
{
    return d->q[c].head && !(held & 1u << c);
}

/* Starts the head of class c if the driver takes it; false when the hardware is full.
 * The driver may complete the request inside start (counted in flight before it is called). */
static bool start_head(struct block_device *d, unsigned c)
{
    struct block_class_queue *q = &d->q[c];
    struct block_request *r = q->head;
    uint32_t cost = cost_of(r);
    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    q->queued--;
    d->inflight++;
    if (!d->ops->start(d, r)) {
        d->inflight--;
        r->next = q->head;
        q->head = r;
        if (!q->tail)
            q->tail = r;
        q->queued++;
        return false;
    }
    if (d->inflight > d->max_inflight)
        d->max_inflight = d->inflight;
    q->admitted = NULL;
    q->credit -= cost;
    q->dispatched++;
    q->sectors += cost;
    return true;
}

/*
 * Deficit round-robin: the class whose turn it is spends its credit; when its credit runs
 * out (or it has nothing ready) the turn passes and the next class gets its weight added.
 * Ends when the hardware is full or no class has work it may start; a class the throttle
 * holds counts as having none until the next poll, so a held class never spins here.
 */
static void dispatch(struct block_device *d)
{
    uint32_t held = 0;
    unsigned idle_turns = 0;
    while (idle_turns < BLOCK_CLASSES) {
        unsigned c = d->rr;
        struct block_class_queue *q = &d->q[c];
        if (q->credit > 0 && class_ready(d, c, &held)) {
            if (!start_head(d, c))
                break;
            idle_turns = 0;
            continue;
        }
        if (!class_waiting(d, c, held))
            q->credit = 0;       /* an idle or held class banks no credit */
        else
            idle_turns = 0;      /* out of credit: it gets more on its next turn */
        d->rr = (c + 1) % BLOCK_CLASSES;
        if (class_waiting(d, d->rr, held))
            d->q[d->rr].credit += d->q[d->rr].weight;
        else
            idle_turns++;
    }
    d->held = held;
}

/* Takes the requests block_complete handed back, oldest first, and accounts for them
 * (under the lock); returns them linked through next, appended to *tail. */
static void reap(struct block_device *d, struct block_request ***tail)
{
    if (!__atomic_load_n(&d->finished, __ATOMIC_RELAXED))
        return;                          /* a later push is the next poll's */
    struct block_request *r = __atomic_exchange_n(&d->finished, NULL, __ATOMIC_ACQUIRE);
    struct block_request *fifo = NULL;
    while (r) {                          /* the list is newest first: reverse it */
        struct block_request *next = r->next;
        r->next = fifo;
        fifo = r;
        r = next;
    }
    for (r = fifo; r; r = r->next) {
        if (d->inflight)
            d->inflight--;
        d->completed++;
        if (r->status)
            d->errors++;
    }
    **tail = fifo;
    while (**tail)
        *tail = &(**tail)->next;
}

static uint32_t outstanding(const struct block_device *d)
{
    uint32_t n = d->inflight;
    for (unsigned c = 0; c < BLOCK_CLASSES; c++)
        n += d->q[c].queued;
    return n;
}

uint32_t block_poll(struct block_device *d)
{
    struct block_request *done = NULL, **tail = &done;
    uint64_t t = lock_dev(d);
    if (d->inflight && d->ops->poll)
        d->ops->poll(d);
    reap(d, &tail);
    dispatch(d);
    reap(d, &tail);                      /* what start() finished at once */
    uint32_t n = outstanding(d);
    unlock_dev(d, t);
    if (!done)
        return n;
    while (done) {
        struct block_request *r = done;
        done = r->next;                  /* r is the callback's from here on */
        r->done(r, r->status);
    }
    t = lock_dev(d);
    n = outstanding(d);
    unlock_dev(d, t);
    return n;
}

uint32_t block_kick(struct block_device *d)
{
    uint64_t t = lock_dev(d);
    dispatch(d);
    uint32_t n = outstanding(d);
    unlock_dev(d, t);
    return n;
}

void block_complete(struct block_device *d, struct block_request *r, int status)
{
    r->status = status;
    struct block_request *head = __atomic_load_n(&d->finished, __ATOMIC_RELAXED);
    do
        r->next = head;
    while (!__atomic_compare_exchange_n(&d->finished, &head, r, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

static void copy_pages(const struct block_request *r, size_t off, void *flat, size_t len,
                       bool out)
{
    uint8_t *p = flat;
    size_t pos = r->page_offset + off;
    while (len) {
        size_t page = pos / 4096, in_page = pos % 4096;
        size_t n = 4096 - in_page < len ? 4096 - in_page : len;
        uint8_t *va = (uint8_t *)block_phys_map(r->pages[page]) + in_page;
        if (out)
            memcpy(p, va, n);
        else
            memcpy(va, p, n);
        p += n;
        pos += n;
        len -= n;
    }
}

void block_req_copy_out(const struct block_request *r, size_t off, void *dst, size_t len)
{
    if (r->buf)
        memcpy(dst, (const uint8_t *)r->buf + off, len);
    else
        copy_pages(r, off, dst, len, true);
}

void block_req_copy_in(const struct block_request *r, size_t off, const void *src, size_t len)
{
    if (r->buf)
        memcpy((uint8_t *)r->buf + off, src, len);
    else
        copy_pages(r, off, (void *)src, len, false);
}

/* The waiter may return (and r go) as soon as it sees the result: this is r's last use. */
static void sync_done(struct block_request *r, int status)
{
    __atomic_store_n((int *)r->ctx, status, __ATOMIC_RELEASE);
}

static int sync_one(struct block_device *d, enum block_op op, uint64_t lba, uint32_t count,
                    void *buf)
{
    int result = 1;
    struct block_request r = {
        .op = op, .cls = BLOCK_CLASS_BACKGROUND, .lba = lba, .count = count, .buf = buf,
        .done = sync_done, .ctx = &result,
    };
    int err;
    while ((err = block_submit(d, &r)) == BLOCK_E_BUSY)
        block_poll(d);
    if (err)
        return err;
    while (__atomic_load_n(&result, __ATOMIC_ACQUIRE) == 1)
        block_poll(d);
    return __atomic_load_n(&result, __ATOMIC_ACQUIRE);
}

int block_rw_sync(struct block_device *d, enum block_op op, uint64_t lba, uint32_t count,
                  void *buf)
{
    if (op == BLOCK_FLUSH)
        return sync_one(d, op, 0, 0, NULL);
    uint8_t *p = buf;
    while (count) {
        uint32_t n = count < d->max_sectors ? count : d->max_sectors;
        int err = sync_one(d, op, lba, n, p);
        if (err)
            return err;
        lba += n;
        count -= n;
        if (p)
            p += (size_t)n * d->sector_size;
    }
    return BLOCK_OK;
}

const char *block_status_name(int status)
{
    switch (status) {
    case BLOCK_OK: return "ok";
    case BLOCK_E_IO: return "I/O error";
    case BLOCK_E_RANGE: return "LBA out of range";
    case BLOCK_E_BUSY: return "queue full";
    case BLOCK_E_INVALID: return "invalid request";
    case BLOCK_E_TIMEOUT: return "device timeout";
    case BLOCK_E_UNSUPPORTED: return "unsupported";
    default: return "unknown error";
    }
}

static int window_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
    struct block_window *w = ctx;
    if (lba >= w->sectors || count > w->sectors - lba)
        return BLOCK_E_RANGE;
    return block_rw_sync(w->dev, BLOCK_READ, w->start + lba, count, buf);
}

static int window_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
    struct block_window *w = ctx;
    if (lba >= w->sectors || count > w->sectors - lba)
        return BLOCK_E_RANGE;
    return block_rw_sync(w->dev, BLOCK_WRITE, w->start + lba, count, (void *)buf);
}

static int window_flush(void *ctx)
{
    struct block_window *w = ctx;
    return block_rw_sync(w->dev, BLOCK_FLUSH, 0, 0, NULL);
}

void block_io_window(struct block_io *io, struct block_window *w, struct block_device *d,
                     uint64_t start, uint64_t sectors)
{
    w->dev = d;
    w->start = start;
    w->sectors = sectors;
    io->ctx = w;
    io->sector_size = d->sector_size;
    io->sectors = sectors;
    io->read = window_read;
    io->write = window_write;
    io->flush = window_flush;
}
