/* The block layer with a fake driver: validation, bounded queues, weighted fairness between
 * classes, the throttle hook, completion callbacks, page-list buffers and the sync helper;
 * the lock hooks, completions from start() and from other threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/block.h"

#define DISK_SECTORS 4096
#define HW_DEPTH 2

static uint8_t disk[DISK_SECTORS * 512];
static struct block_request *hw[HW_DEPTH];
static enum block_class order[512];
static unsigned order_n;

static bool fake_start(struct block_device *d, struct block_request *r)
{
    for (int i = 0; i < HW_DEPTH; i++)
        if (!hw[i]) {
            hw[i] = r;
            if (order_n < 512)
                order[order_n++] = r->cls;
            return true;
        }
    return false;
}

static void fake_poll(struct block_device *d)
{
    for (int i = 0; i < HW_DEPTH; i++) {
        struct block_request *r = hw[i];
        if (!r)
            continue;
        hw[i] = NULL;
        size_t bytes = (size_t)r->count * 512, off = r->lba * 512;
        if (r->op == BLOCK_READ)
            block_req_copy_in(r, 0, disk + off, bytes);
        else if (r->op == BLOCK_WRITE)
            block_req_copy_out(r, 0, disk + off, bytes);
        block_complete(d, r, BLOCK_OK);
    }
}

static const struct block_driver_ops fake_ops = { fake_start, fake_poll };

static void *identity(uint64_t phys) { return (void *)(uintptr_t)phys; }

static void setup(struct block_device *d)
{
    memset(d, 0, sizeof(*d));
    memset(hw, 0, sizeof(hw));
    order_n = 0;
    strcpy(d->name, "fake0");
    d->sector_size = 512;
    d->sectors = DISK_SECTORS;
    d->max_sectors = 16;
    d->ops = &fake_ops;
    block_device_init(d);
    block_phys_map = identity;
}

static int completions;
static void count_done(struct block_request *r, int status)
{
    completions++;
    assert_int_equal(status, BLOCK_OK);
}

static void test_validation(void **state)
{
    struct block_device d;
    static uint8_t buf[512 * 16];
    setup(&d);
    struct block_request r = { .op = BLOCK_READ, .lba = DISK_SECTORS - 1, .count = 2, .buf = buf,
                               .done = count_done };
    assert_int_equal(block_submit(&d, &r), BLOCK_E_RANGE);
    r.lba = 0;
    r.count = 17;
    assert_int_equal(block_submit(&d, &r), BLOCK_E_INVALID);
    r.count = 1;
    r.done = NULL;
    assert_int_equal(block_submit(&d, &r), BLOCK_E_INVALID);
    r.done = count_done;
    r.buf = NULL;
    assert_int_equal(block_submit(&d, &r), BLOCK_E_INVALID);
    r.cls = (enum block_class)9;
    r.buf = buf;
    assert_int_equal(block_submit(&d, &r), BLOCK_E_INVALID);
}

static void test_bounded_queue(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    static struct block_request r[8];
    setup(&d);
    block_set_limit(&d, BLOCK_CLASS_MIGRATION, 4);
    completions = 0;
    for (int i = 0; i < 8; i++) {
        r[i] = (struct block_request){ .op = BLOCK_WRITE, .cls = BLOCK_CLASS_MIGRATION,
                                       .lba = (uint64_t)i, .count = 1, .buf = buf, .done = count_done };
        assert_int_equal(block_submit(&d, &r[i]), i < 4 ? BLOCK_OK : BLOCK_E_BUSY);
    }
    while (block_poll(&d))
        ;
    assert_int_equal(completions, 4);
}

/* Two classes flooding the disk: each gets dispatch share in proportion to its weight. */
static void test_weighted_fairness(void **state)
{
    struct block_device d;
    static uint8_t buf[512 * 8];
    static struct block_request g[60], b[60];
    setup(&d);
    block_set_limit(&d, BLOCK_CLASS_GUEST, 60);
    block_set_limit(&d, BLOCK_CLASS_BACKGROUND, 60);
    block_set_weight(&d, BLOCK_CLASS_GUEST, 32);
    block_set_weight(&d, BLOCK_CLASS_BACKGROUND, 8);
    completions = 0;
    for (int i = 0; i < 60; i++) {
        g[i] = (struct block_request){ .op = BLOCK_READ, .cls = BLOCK_CLASS_GUEST, .lba = 0,
                                       .count = 8, .buf = buf, .done = count_done };
        b[i] = g[i];
        b[i].cls = BLOCK_CLASS_BACKGROUND;
        assert_int_equal(block_submit(&d, &b[i]), BLOCK_OK);
        assert_int_equal(block_submit(&d, &g[i]), BLOCK_OK);
    }
    while (block_poll(&d))
        ;
    assert_int_equal(completions, 120);
    unsigned guest = 0;
    for (unsigned i = 0; i < 50; i++)
        guest += order[i] == BLOCK_CLASS_GUEST;
    /* 4:1 by weight: of the first 50 dispatches, 40 are the guest's */
    assert_in_range(guest, 38, 42);
    /* and background work was never starved */
    assert_in_range(50 - guest, 8, 12);
}

static bool hold_background;
static bool throttle(void *ctx, enum block_class cls, const struct block_request *r)
{
    return !(hold_background && cls == BLOCK_CLASS_BACKGROUND);
}

static void test_throttle(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    struct block_request bg = { .op = BLOCK_WRITE, .cls = BLOCK_CLASS_BACKGROUND, .count = 1,
                                .buf = buf, .done = count_done };
    struct block_request gu = bg;
    gu.cls = BLOCK_CLASS_GUEST;
    setup(&d);
    block_set_throttle(&d, throttle, NULL);
    hold_background = true;
    completions = 0;
    assert_int_equal(block_submit(&d, &bg), BLOCK_OK);
    assert_int_equal(block_submit(&d, &gu), BLOCK_OK);
    for (int i = 0; i < 5; i++)
        block_poll(&d);
    assert_int_equal(completions, 1);
    assert_int_equal(block_poll(&d), 1);
    hold_background = false;
    while (block_poll(&d))
        ;
    assert_int_equal(completions, 2);
}

static void test_pages_and_sync(void **state)
{
    struct block_device d;
    setup(&d);
    uint8_t *a = aligned_alloc(4096, 4096), *b = aligned_alloc(4096, 4096);
    static uint8_t flat[4096], back[40 * 512];
    for (int i = 0; i < 4096; i++)
        flat[i] = (uint8_t)i;
    uint64_t pages[2] = { (uintptr_t)a, (uintptr_t)b };
    /* 4 KiB across two pages starting 1 KiB into the first */
    memset(a, 0, 4096);
    memcpy(a + 1024, flat, 3072);
    memcpy(b, flat + 3072, 1024);
    completions = 0;
    struct block_request r = { .op = BLOCK_WRITE, .lba = 100, .count = 8, .pages = pages,
                               .page_count = 2, .page_offset = 1024, .done = count_done };
    assert_int_equal(block_submit(&d, &r), BLOCK_OK);
    while (block_poll(&d))
        ;
    assert_int_equal(completions, 1);
    assert_memory_equal(disk + 100 * 512, flat, 4096);
    /* the sync helper splits 40 sectors into max_sectors pieces */
    assert_int_equal(block_rw_sync(&d, BLOCK_READ, 96, 40, back), BLOCK_OK);
    assert_memory_equal(back + 4 * 512, flat, 4096);
    assert_int_equal(block_rw_sync(&d, BLOCK_READ, DISK_SECTORS - 2, 4, back), BLOCK_E_RANGE);
    assert_int_equal(block_rw_sync(&d, BLOCK_FLUSH, 0, 0, NULL), BLOCK_OK);
    free(a);
    free(b);
}

/* A rate limit that takes a token each time it says yes (as rate_limit_take does): each
 * request costs one token, even when the hardware is full when the token is taken. */
static unsigned tokens, throttle_asks;
static bool token_throttle(void *ctx, enum block_class cls, const struct block_request *r)
{
    throttle_asks++;
    if (!tokens)
        return false;
    tokens--;
    return true;
}

static void test_throttle_charges_once(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    static struct block_request r[6];
    setup(&d);
    block_set_throttle(&d, token_throttle, NULL);
    tokens = 6;
    throttle_asks = 0;
    completions = 0;
    for (int i = 0; i < 6; i++) {
        r[i] = (struct block_request){ .op = BLOCK_READ, .cls = BLOCK_CLASS_GUEST, .lba = (uint64_t)i,
                                       .count = 1, .buf = buf, .done = count_done };
        assert_int_equal(block_submit(&d, &r[i]), BLOCK_OK);
    }
    /* the hardware takes 2 at a time: the third is let through, then refused by the
     * hardware, and must not pay again at the next poll */
    for (int i = 0; i < 20 && block_poll(&d); i++)
        ;
    assert_int_equal(completions, 6);
    assert_int_equal(tokens, 0);
    assert_int_equal(throttle_asks, 6);
}

/* A held class is asked once per poll (no spinning inside dispatch), is marked held, and
 * goes at the first poll after the throttle lets it. */
static void test_throttle_held_until_next_poll(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    struct block_request bg = { .op = BLOCK_WRITE, .cls = BLOCK_CLASS_BACKGROUND, .count = 1,
                                .buf = buf, .done = count_done };
    setup(&d);
    block_set_throttle(&d, token_throttle, NULL);
    tokens = 0;
    throttle_asks = 0;
    completions = 0;
    assert_int_equal(block_submit(&d, &bg), BLOCK_OK);
    for (unsigned i = 1; i <= 5; i++) {
        assert_int_equal(block_poll(&d), 1);
        assert_int_equal(throttle_asks, i);
        assert_int_equal(d.held, 1u << BLOCK_CLASS_BACKGROUND);
    }
    assert_int_equal(d.q[BLOCK_CLASS_BACKGROUND].throttled, 5);
    tokens = 1;
    block_poll(&d);                          /* started */
    assert_int_equal(d.held, 0);
    assert_int_equal(block_poll(&d), 0);     /* reaped and called back */
    assert_int_equal(completions, 1);
}

/* Requests of one class leave in order, also when the hardware refuses some at first. */
static void test_fifo_when_hardware_full(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    static struct block_request r[7];
    setup(&d);
    order_n = 0;
    completions = 0;
    for (int i = 0; i < 7; i++) {
        r[i] = (struct block_request){ .op = BLOCK_READ, .cls = BLOCK_CLASS_GUEST, .lba = (uint64_t)i,
                                       .count = 1, .buf = buf, .done = count_done };
        assert_int_equal(block_submit(&d, &r[i]), BLOCK_OK);
    }
    static uint64_t seen[7];
    unsigned n = 0;
    while (block_poll(&d))
        for (int i = 0; i < HW_DEPTH; i++)
            if (hw[i] && n < 7)
                seen[n++] = hw[i]->lba;
    assert_int_equal(completions, 7);
    assert_int_equal(n, 7);
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(seen[i], i);
}

/* ---- lock hooks, completion from start() and from elsewhere -------------------------- */

static bool locked;
static unsigned lock_calls;
static uint64_t test_lock(void *l)
{
    assert_false(locked);                   /* never taken twice (no recursion) */
    locked = true;
    lock_calls++;
    return 0x1234;
}
static void test_unlock(void *l, uint64_t token)
{
    assert_true(locked);
    assert_int_equal(token, 0x1234);
    locked = false;
}
static const struct block_lock_ops test_lock_ops = { test_lock, test_unlock };

/* A driver that finishes every request inside start (as ATA and NVMe do for TRIM), with
 * an error for writes beyond LBA 1000. */
static bool in_start;
static bool sync_start(struct block_device *d, struct block_request *r)
{
    assert_true(locked);
    in_start = true;
    block_complete(d, r, r->op == BLOCK_WRITE && r->lba >= 1000 ? BLOCK_E_IO : BLOCK_OK);
    in_start = false;
    return true;
}
static void no_poll(struct block_device *d) { fail_msg("poll with nothing in flight"); }
static const struct block_driver_ops sync_ops = { sync_start, no_poll };

static struct block_device *chain_dev;
static unsigned chain_left, chain_errors;
/* Each completion submits the next request and polls (a chain of dependent I/O). */
static void chain_done(struct block_request *r, int status)
{
    assert_false(locked);
    assert_false(in_start);
    completions++;
    chain_errors += status != BLOCK_OK;
    if (!chain_left)
        return;
    chain_left--;
    r->lba += 100;
    assert_int_equal(block_submit(chain_dev, r), BLOCK_OK);
    block_poll(chain_dev);
}

static void test_complete_from_start(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    setup(&d);
    d.ops = &sync_ops;
    block_set_lock(&d, &test_lock_ops, NULL);
    lock_calls = 0;
    completions = 0;
    chain_errors = 0;
    chain_dev = &d;
    chain_left = 20;
    struct block_request r = { .op = BLOCK_WRITE, .cls = BLOCK_CLASS_GUEST, .lba = 0, .count = 1,
                               .buf = buf, .done = chain_done };
    assert_int_equal(block_submit(&d, &r), BLOCK_OK);
    while (block_poll(&d))
        ;
    assert_int_equal(completions, 21);
    /* LBAs 1000..2000 fail: 11 of the 21 writes */
    assert_int_equal(chain_errors, 11);
    assert_int_equal(d.errors, 11);
    assert_int_equal(d.completed, 21);
    assert_int_equal(d.inflight, 0);
    assert_false(locked);
    assert_true(lock_calls > 0);
    /* the sync helper sees the driver's error */
    assert_int_equal(block_rw_sync(&d, BLOCK_WRITE, 1500, 1, buf), BLOCK_E_IO);
    assert_int_equal(block_rw_sync(&d, BLOCK_WRITE, 15, 1, buf), BLOCK_OK);
}

/* The fake driver again, with the lock: start and poll run under it, callbacks outside. */
static bool checked_start(struct block_device *d, struct block_request *r)
{
    assert_true(locked);
    return fake_start(d, r);
}
static void checked_poll(struct block_device *d)
{
    assert_true(locked);
    fake_poll(d);
}
static const struct block_driver_ops checked_ops = { checked_start, checked_poll };

static void unlocked_done(struct block_request *r, int status)
{
    assert_false(locked);
    completions++;
}

static void test_lock_held_for_driver_only(void **state)
{
    struct block_device d;
    static uint8_t buf[512 * 16];
    static struct block_request r[10];
    setup(&d);
    d.ops = &checked_ops;
    block_set_lock(&d, &test_lock_ops, NULL);
    completions = 0;
    for (int i = 0; i < 10; i++) {
        r[i] = (struct block_request){ .op = BLOCK_READ, .cls = (enum block_class)(i % BLOCK_CLASSES),
                                       .lba = (uint64_t)i, .count = 1, .buf = buf,
                                       .done = unlocked_done };
        assert_int_equal(block_submit(&d, &r[i]), BLOCK_OK);
    }
    block_set_weight(&d, BLOCK_CLASS_GUEST, 4);
    while (block_poll(&d))
        assert_false(locked);
    assert_int_equal(completions, 10);
    assert_int_equal(block_rw_sync(&d, BLOCK_READ, 0, 16, buf), BLOCK_OK);
    assert_false(locked);
}

/* block_kick starts queued work at once and leaves the callbacks to the next poll. */
static struct block_request *handed;
static bool handoff_start(struct block_device *d, struct block_request *r)
{
    assert_true(locked);
    if (handed)
        return false;
    handed = r;
    return true;
}
static const struct block_driver_ops handoff_ops = { handoff_start, NULL };

static void test_kick(void **state)
{
    struct block_device d;
    static uint8_t buf[512];
    setup(&d);
    d.ops = &handoff_ops;
    block_set_lock(&d, &test_lock_ops, NULL);
    handed = NULL;
    completions = 0;
    struct block_request a = { .op = BLOCK_READ, .cls = BLOCK_CLASS_GUEST, .count = 1, .buf = buf,
                               .done = unlocked_done };
    struct block_request b = a;
    assert_int_equal(block_submit(&d, &a), BLOCK_OK);
    assert_int_equal(block_submit(&d, &b), BLOCK_OK);
    assert_int_equal(block_kick(&d), 2);     /* a started, b waits for room */
    assert_ptr_equal(handed, &a);
    block_complete(&d, &a, BLOCK_OK);        /* the "worker" finishes a */
    handed = NULL;
    assert_int_equal(block_kick(&d), 2);     /* b starts; a is not called back here */
    assert_ptr_equal(handed, &b);
    assert_int_equal(completions, 0);
    assert_int_equal(block_poll(&d), 1);     /* a's callback runs, b still out */
    assert_int_equal(completions, 1);
    block_complete(&d, &b, BLOCK_OK);
    assert_int_equal(block_poll(&d), 0);
    assert_int_equal(completions, 2);
    assert_false(locked);
}

/*
 * Threads: submitters on several CPUs, each also polling; the "hardware" is a worker thread
 * that finishes requests in its own time and calls block_complete (driver poll is NULL).
 * Every request is called back exactly once and the counters add up.
 */
#define SUBMITTERS 4
#define PER_SUBMITTER 3000

static pthread_mutex_t dev_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t mutex_lock(void *l) { pthread_mutex_lock(l); return 0; }
static void mutex_unlock(void *l, uint64_t t) { pthread_mutex_unlock(l); }
static const struct block_lock_ops mutex_ops = { mutex_lock, mutex_unlock };

static pthread_mutex_t worker_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct block_request *worker_list;
static bool worker_stop;
static struct block_device thread_dev;

static bool worker_start(struct block_device *d, struct block_request *r)
{
    pthread_mutex_lock(&worker_mutex);
    struct block_request **p = &worker_list;   /* the driver owns r->next until it completes r */
    r->next = NULL;
    while (*p)
        p = &(*p)->next;
    *p = r;
    pthread_mutex_unlock(&worker_mutex);
    return true;
}
static const struct block_driver_ops worker_ops = { worker_start, NULL };

static void *worker_main(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&worker_mutex);
        struct block_request *r = worker_list;
        if (r)
            worker_list = r->next;
        bool stop = worker_stop;
        pthread_mutex_unlock(&worker_mutex);
        if (r) {
            memset(r->buf, (int)(r->lba & 0xff), 512);
            block_complete(&thread_dev, r, BLOCK_OK);
        } else if (stop) {
            return NULL;
        }
    }
}

struct submitter {
    struct block_request r[8];
    uint8_t buf[8][512];
    unsigned done_count[8];
    unsigned completed, bad;
};

static void thread_done(struct block_request *r, int status)
{
    struct submitter *s = r->ctx;
    unsigned i = (unsigned)(r - s->r);
    const uint8_t *b = r->buf;
    if (status != BLOCK_OK || b[0] != (uint8_t)(r->lba & 0xff) || b[511] != b[0])
        __atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->completed, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->done_count[i], 1, __ATOMIC_RELEASE);   /* r is free again */
}

static void *submitter_main(void *arg)
{
    struct submitter *s = arg;
    unsigned issued = 0, slot_busy[8] = { 0 };
    while (__atomic_load_n(&s->completed, __ATOMIC_ACQUIRE) < PER_SUBMITTER) {
        for (unsigned i = 0; i < 8 && issued < PER_SUBMITTER; i++) {
            if (slot_busy[i] != __atomic_load_n(&s->done_count[i], __ATOMIC_ACQUIRE))
                continue;                        /* still in flight */
            s->r[i] = (struct block_request){ .op = BLOCK_READ, .cls = (enum block_class)(issued % 3),
                                              .lba = issued % DISK_SECTORS, .count = 1,
                                              .buf = s->buf[i], .done = thread_done, .ctx = s };
            int rc = block_submit(&thread_dev, &s->r[i]);
            if (rc == BLOCK_E_BUSY)
                break;
            if (rc != BLOCK_OK)
                __atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
            slot_busy[i]++;
            issued++;
        }
        block_kick(&thread_dev);
        block_poll(&thread_dev);
    }
    return NULL;
}

static void test_threads(void **state)
{
    setup(&thread_dev);
    thread_dev.ops = &worker_ops;
    block_set_lock(&thread_dev, &mutex_ops, &dev_mutex);
    worker_stop = false;
    pthread_t worker, sub[SUBMITTERS];
    static struct submitter s[SUBMITTERS];
    memset(s, 0, sizeof(s));
    assert_int_equal(pthread_create(&worker, NULL, worker_main, NULL), 0);
    for (int i = 0; i < SUBMITTERS; i++)
        assert_int_equal(pthread_create(&sub[i], NULL, submitter_main, &s[i]), 0);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(sub[i], NULL);
    pthread_mutex_lock(&worker_mutex);
    worker_stop = true;
    pthread_mutex_unlock(&worker_mutex);
    pthread_join(worker, NULL);
    unsigned total = 0;
    for (int i = 0; i < SUBMITTERS; i++) {
        assert_int_equal(s[i].completed, PER_SUBMITTER);
        assert_int_equal(s[i].bad, 0);
        total += s[i].completed;
    }
    assert_int_equal(thread_dev.completed, total);
    assert_int_equal(thread_dev.inflight, 0);
    assert_int_equal(block_poll(&thread_dev), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_bounded_queue),
        cmocka_unit_test(test_weighted_fairness),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_pages_and_sync),
        cmocka_unit_test(test_throttle_charges_once),
        cmocka_unit_test(test_throttle_held_until_next_poll),
        cmocka_unit_test(test_fifo_when_hardware_full),
        cmocka_unit_test(test_complete_from_start),
        cmocka_unit_test(test_lock_held_for_driver_only),
        cmocka_unit_test(test_kick),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
