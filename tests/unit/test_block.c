/* The block layer with a fake driver: validation, bounded queues, weighted fairness between
 * classes, the throttle hook, completion callbacks, page-list buffers and the sync helper. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_bounded_queue),
        cmocka_unit_test(test_weighted_fairness),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_pages_and_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
