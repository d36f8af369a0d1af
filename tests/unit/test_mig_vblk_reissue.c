/* Storage I/O in flight at a live migration's stop-and-copy (virtio_blk_cancel): requests
 * taken and not completed are cancelled on the source (no used entry, no data into guest
 * RAM), travel as heads in the device's state, and the target starts them again from the
 * ring's descriptors; when the migration fails the source starts them again itself.  Every
 * request the driver queued completes exactly once, where the guest runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/virtio_blk_state.h"
#include "tests/unit/test_bus_state.h"
#include "tests/unit/test_virtio_guest.h"

#define DISK (1u << 20)
#define STREAM_CAP (64u << 10)
#define POLL_TIMER 70

static struct tguest *fresh(void)
{
    struct tguest *g = tg_new(DISK, 512, false);
    assert_non_null(g);
    assert_true(virtio_blk_register_state(&g->blk, &g->bus, TG_SLOT));
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    return g;
}

static struct tguest *ready(void)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    tg_enable_msix(g);
    assert_int_equal(tg_driver_init(g, VIRTIO_BLK_F_FLUSH, 16, true), 0x0f);
    return g;
}

static size_t save(struct tguest *g, uint8_t *buf)
{
    struct state_writer w;
    state_writer_init(&w, buf, STREAM_CAP);
    bool ok = vdev_bus_save_state(&g->bus, &w);
    if (!ok)
        fail_msg("save: %s", w.err);
    return state_writer_finish(&w);
}

/* The target: RAM and disk as the source left them at the pause, the device's state. */
static struct tguest *migrate(struct tguest *a)
{
    static uint8_t buf[STREAM_CAP];
    size_t len = save(a, buf);
    struct tguest *b = fresh();
    tg_copy_contents(b, a, DISK);
    char err[STATE_ERR_LEN] = "";
    if (bus_restore_stream(&b->bus, buf, len, err))
        fail_msg("restore: %s", err);
    return b;
}

static void poll_all(struct tguest *g)
{
    for (unsigned i = 0; i < 100 && virtio_blk_poll(&g->blk); i++)
        ;
}

/* Used entries since the last call, heads into seen[] (counts per head). */
static unsigned used(struct tguest *g, unsigned seen[16])
{
    unsigned n = 0;
    uint16_t h;
    uint32_t len;
    while (tg_used(g, &h, &len)) {
        assert_true(h < 16);
        seen[h]++;
        n++;
    }
    return n;
}

/* Slot 0 writes sector 0, slot 1 reads sector 8 (which the disk holds), slot 2 writes
 * sector 16; the disk answers only when told (async). */
static void three_requests(struct tguest *g)
{
    g->disk.async = true;
    tg_fill_ram(g, TG_DATA, 512, 1);
    memset(g->disk_data + 8 * 512, 0x5a, 512);
    tg_fill_ram(g, TG_DATA + 0x2000, 512, 2);
    tg_request(g, 0, VIRTIO_BLK_T_OUT, 0, TG_DATA, 512, false);
    tg_request(g, 1, VIRTIO_BLK_T_IN, 8, TG_DATA + 0x1000, 512, false);
    tg_request(g, 2, VIRTIO_BLK_T_OUT, 16, TG_DATA + 0x2000, 512, false);
    poll_all(g);
    assert_int_equal(virtio_blk_inflight(&g->blk), 3);
}

static void cancelled_on_the_source_started_again_on_the_target(void **state)
{
    struct tguest *a = ready();
    unsigned seen[16] = { 0 };
    three_requests(a);
    assert_int_equal(vblk_ram_complete(&a->disk, 1, false), 1);     /* slot 0 completes */
    assert_int_equal(used(a, seen), 1);
    assert_int_equal(seen[0], 1);
    /* stop-and-copy: the two others are cancelled; their pieces at the disk end later */
    assert_int_equal(virtio_blk_cancel(&a->blk), 2);
    assert_int_equal(a->blk.reissue_count, 2);
    assert_int_equal(a->blk.reissue[0], 4);                         /* oldest first */
    assert_int_equal(a->blk.reissue[1], 8);
    assert_int_equal(virtio_blk_inflight(&a->blk), 2);
    assert_int_equal(vblk_ram_complete(&a->disk, 2, false), 2);
    poll_all(a);
    assert_int_equal(virtio_blk_inflight(&a->blk), 0);
    assert_int_equal(used(a, seen), 0);                             /* never reach the guest */
    assert_int_equal(a->ram[TG_DATA + 0x1000], 0);                  /* no read data either */
    assert_int_equal(a->ram[TG_STATUS + 1], 0xAA);
    assert_int_equal(a->blk.stats.cancelled, 2);
    /* the state carries them; the target starts them again and completes them */
    struct tguest *b = migrate(a);
    assert_int_equal(b->blk.reissue_count, 2);
    b->disk.async = false;
    poll_all(b);
    assert_int_equal(b->blk.stats.reissued, 2);
    assert_int_equal(used(b, seen), 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[4], 1);
    assert_int_equal(seen[8], 1);
    assert_int_equal(b->ram[TG_STATUS + 1], VIRTIO_BLK_S_OK);
    assert_int_equal(b->ram[TG_STATUS + 2], VIRTIO_BLK_S_OK);
    assert_memory_equal(b->ram + TG_DATA + 0x1000, b->disk_data + 8 * 512, 512);
    assert_memory_equal(b->disk_data + 16 * 512, b->ram + TG_DATA + 0x2000, 512);
    assert_memory_equal(b->disk_data, b->ram + TG_DATA, 512);
    /* and the driver goes on with the ring */
    tg_request(b, 3, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
    poll_all(b);
    assert_int_equal(used(b, seen), 1);
    assert_int_equal(seen[12], 1);
    assert_int_equal(b->ram[TG_STATUS + 3], VIRTIO_BLK_S_OK);
    tg_free(a);
    tg_free(b);
}

static void a_failed_migration_starts_them_again_on_the_source(void **state)
{
    struct tguest *a = ready();
    unsigned seen[16] = { 0 };
    three_requests(a);
    assert_int_equal(virtio_blk_cancel(&a->blk), 3);
    assert_int_equal(vblk_ram_complete(&a->disk, 3, true), 3);      /* dropped */
    assert_int_equal(used(a, seen), 0);
    a->disk.async = false;
    virtio_blk_pause_intake(&a->blk, false);                        /* the source resumes */
    poll_all(a);
    assert_int_equal(a->blk.stats.reissued, 3);
    assert_int_equal(used(a, seen), 3);
    assert_int_equal(seen[0] + seen[4] + seen[8], 3);
    assert_int_equal(seen[0] * seen[4] * seen[8], 1);
    assert_memory_equal(a->ram + TG_DATA + 0x1000, a->disk_data + 8 * 512, 512);
    assert_memory_equal(a->disk_data + 16 * 512, a->ram + TG_DATA + 0x2000, 512);
    tg_free(a);
}

/* A large read between two pieces is dropped at once and started again from byte 0. */
static void a_request_between_pieces_starts_again_whole(void **state)
{
    struct tguest *a = ready();
    unsigned seen[16] = { 0 };
    memset(a->disk_data, 0x3c, 128u << 10);
    tg_request(a, 0, VIRTIO_BLK_T_IN, 0, TG_DATA, 128u << 10, false);
    virtio_blk_poll(&a->blk);                   /* one budget: 64 KiB of 128 */
    assert_int_equal(virtio_blk_inflight(&a->blk), 1);
    memset(a->ram + TG_DATA, 0, 128u << 10);    /* what reached RAM is of no account */
    assert_int_equal(virtio_blk_cancel(&a->blk), 1);
    assert_int_equal(virtio_blk_inflight(&a->blk), 0);
    struct tguest *b = migrate(a);
    poll_all(b);
    assert_int_equal(used(b, seen), 1);
    assert_int_equal(b->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(b->ram + TG_DATA, b->disk_data, 128u << 10);
    tg_free(a);
    tg_free(b);
}

static void a_driver_reset_drops_them(void **state)
{
    struct tguest *a = ready();
    three_requests(a);
    assert_int_equal(virtio_blk_cancel(&a->blk), 3);
    tg_common_write(a, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(a->blk.reissue_count, 0);
    assert_int_equal(vblk_ram_complete(&a->disk, 3, false), 3);
    tg_free(a);
}

static void hostile_lists_are_refused(void **state)
{
    static uint8_t buf[STREAM_CAP];
    struct tguest *a = ready();
    three_requests(a);
    virtio_blk_cancel(&a->blk);
    vblk_ram_complete(&a->disk, 3, false);
    /* too many: refused, the device as it was */
    a->blk.reissue_count = VIRTQ_MAX_SIZE + 1;
    size_t len = save(a, buf);
    struct tguest *b = fresh();
    char err[STATE_ERR_LEN] = "";
    assert_int_equal(bus_restore_stream(&b->bus, buf, len, err), -1);
    assert_non_null(strstr(err, "requests to start again, at most 128"));
    assert_int_equal(b->blk.reissue_count, 0);
    tg_free(b);
    /* a head outside the queue: the device needs a reset, nothing else happens */
    a->blk.reissue_count = 1;
    a->blk.reissue[0] = 999;
    b = migrate(a);
    poll_all(b);
    assert_true(virtio_pci_broken(&b->blk.vp));
    assert_int_equal(virtio_blk_inflight(&b->blk), 0);
    tg_free(a);
    tg_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancelled_on_the_source_started_again_on_the_target),
        cmocka_unit_test(a_failed_migration_starts_them_again_on_the_source),
        cmocka_unit_test(a_request_between_pieces_starts_again_whole),
        cmocka_unit_test(a_driver_reset_drops_them),
        cmocka_unit_test(hostile_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
