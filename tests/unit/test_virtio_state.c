/* PCI host, virtio-pci and virtio-blk state: a driver's device moved to a fresh partition
 * (RAM and disk copied, as a checkpoint does) goes on where it stopped; hostile sections
 * and a save with a request in flight are refused. */
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

static struct tguest *fresh(void)
{
    struct tguest *g = tg_new(DISK, 512, false);
    assert_non_null(g);
    assert_true(virtio_blk_register_state(&g->blk, &g->bus, TG_SLOT));
    return g;
}

static size_t save(struct tguest *g, uint8_t *buf, bool expect_ok)
{
    struct state_writer w;
    state_writer_init(&w, buf, STREAM_CAP);
    bool ok = vdev_bus_save_state(&g->bus, &w);
    assert_int_equal(ok, expect_ok);
    if (!ok) {
        assert_true(w.failed);
        return 0;
    }
    return state_writer_finish(&w);
}

static struct tguest *move(struct tguest *a)
{
    static uint8_t buf[STREAM_CAP], again[STREAM_CAP];
    size_t len = save(a, buf, true);
    struct tguest *b = fresh();
    tg_copy_contents(b, a, DISK);
    char err[STATE_ERR_LEN] = "";
    int rc = bus_restore_stream(&b->bus, buf, len, err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(save(b, again, true), len);
    assert_memory_equal(again, buf, len);
    return b;
}

static void same_view(struct tguest *a, struct tguest *b)
{
    for (unsigned off = 0; off < 256; off += 4)
        assert_int_equal(tg_cfg_read(b, TG_SLOT, off, 4), tg_cfg_read(a, TG_SLOT, off, 4));
    for (unsigned off = 0; off < 256; off += 4)
        assert_int_equal(tg_cfg_read(b, 0, off, 4), tg_cfg_read(a, 0, off, 4));
    for (unsigned off = 0; off < 0x30; off += 4)
        assert_int_equal(tg_mmio_read(b, TG_BAR1 + off, 4), tg_mmio_read(a, TG_BAR1 + off, 4));
    assert_int_equal(tg_mmio_read(b, TG_BAR1 + 0x800, 8), tg_mmio_read(a, TG_BAR1 + 0x800, 8));
    for (unsigned q = 0; q < 2; q++) {
        tg_common_write(a, VIRTIO_COMMON_Q_SELECT, 2, q);
        tg_common_write(b, VIRTIO_COMMON_Q_SELECT, 2, q);
        for (unsigned off = 0; off < VIRTIO_PCI_COMMON_LEN; off += 2)
            if (off != VIRTIO_COMMON_DF && off != VIRTIO_COMMON_DF + 2)
                assert_int_equal(tg_common_read(b, off, 2), tg_common_read(a, off, 2));
    }
    tg_common_write(a, VIRTIO_COMMON_Q_SELECT, 2, 0);
    tg_common_write(b, VIRTIO_COMMON_Q_SELECT, 2, 0);
    for (unsigned off = 0; off < VIRTIO_BLK_CONFIG_LEN; off += 4)
        assert_int_equal(tg_mmio_read(b, TG_BAR4 + VIRTIO_PCI_DEVICE_OFF + off, 4),
                         tg_mmio_read(a, TG_BAR4 + VIRTIO_PCI_DEVICE_OFF + off, 4));
}

static void test_msix_round_trip(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    tg_enable_pci(a);
    tg_enable_msix(a);
    assert_int_equal(tg_driver_init(a, VIRTIO_BLK_F_FLUSH, 16, true), 0x0f);
    tg_fill_ram(a, TG_DATA, 4096, 3);
    for (unsigned i = 0; i < 5; i++)        /* the ring's indices well away from 0 */
        assert_int_equal(tg_do(a, VIRTIO_BLK_T_OUT, i, TG_DATA, 512, false), VIRTIO_BLK_S_OK);
    tg_mmio_write(a, TG_BAR1 + 0x10 + 12, 4, 1);    /* mask the queue vector: pends */
    assert_int_equal(tg_do(a, VIRTIO_BLK_T_IN, 1, TG_DATA + 0x1000, 512, false), VIRTIO_BLK_S_OK);
    assert_true(tg_mmio_read(a, TG_BAR1 + 0x800, 8) & 2);
    struct tguest *b = move(a);
    same_view(a, b);
    assert_int_equal(b->blk.vp.queues[0].used_idx, 6);
    /* Unmasking delivers the pending vector on both. */
    unsigned msis = b->f.msi_count;
    tg_mmio_write(a, TG_BAR1 + 0x10 + 12, 4, 0);
    tg_mmio_write(b, TG_BAR1 + 0x10 + 12, 4, 0);
    assert_int_equal(b->f.msi_count, msis + 1);
    assert_int_equal(b->f.msis[msis].data, a->f.msis[a->f.msi_count - 1].data);
    /* The driver goes on with the next ring entries. */
    assert_int_equal(tg_do(b, VIRTIO_BLK_T_IN, 2, TG_DATA + 0x2000, 512, false), VIRTIO_BLK_S_OK);
    assert_memory_equal(b->ram + TG_DATA + 0x2000, b->disk_data + 2 * 512, 512);
    assert_int_equal(b->blk.vp.queues[0].used_idx, 7);
    assert_int_equal(tg_do(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    tg_free(a);
    tg_free(b);
}

static void test_intx_round_trip(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    tg_enable_pci(a);
    assert_int_equal(tg_driver_init(a, 0, 8, false), 0x0f);
    assert_int_equal(tg_do(a, VIRTIO_BLK_T_GET_ID, 0, TG_DATA, 20, false), VIRTIO_BLK_S_OK);
    unsigned gsi = PCI_INTX_GSI(TG_SLOT);
    assert_true(a->f.irq_level[gsi]);       /* ISR not read yet: INTx held */
    struct tguest *b = move(a);
    assert_true(b->f.irq_level[gsi]);       /* driven again in the new partition */
    same_view(a, b);
    assert_int_equal(tg_mmio_read(b, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1),
                     tg_mmio_read(a, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1));
    assert_false(b->f.irq_level[gsi]);
    tg_free(a);
    tg_free(b);
}

/* A driver mid-way through initialisation: features chosen, no FEATURES_OK yet. */
static void test_half_initialised_round_trip(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    tg_enable_pci(a);
    tg_common_write(a, VIRTIO_COMMON_STATUS, 1, 0);
    tg_common_write(a, VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    tg_common_write(a, VIRTIO_COMMON_GFSELECT, 4, 1);
    tg_common_write(a, VIRTIO_COMMON_GF, 4, 1);
    tg_common_write(a, VIRTIO_COMMON_Q_SIZE, 2, 32);
    tg_common_write(a, VIRTIO_COMMON_Q_DESCLO, 4, TG_DESC);
    struct tguest *b = move(a);
    same_view(a, b);
    tg_free(a);
    tg_free(b);
}

static enum vblk_status never_done(void *ctx, struct vblk_io *io)
{
    (void)ctx;
    (void)io;
    return VBLK_PENDING;
}

static void test_save_refused_in_flight(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    tg_enable_pci(a);
    tg_enable_msix(a);
    assert_int_equal(tg_driver_init(a, 0, 16, true), 0x0f);
    static struct vblk_backend slow;
    slow = *a->blk.backend;
    slow.read = never_done;
    a->blk.backend = &slow;
    tg_request(a, 0, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, false);
    assert_int_equal(virtio_blk_inflight(&a->blk), 1);
    static uint8_t buf[STREAM_CAP];
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    assert_false(vdev_bus_save_state(&a->bus, &w));
    assert_non_null(strstr(w.err, "1 request in flight"));
    tg_free(a);
}

/* Saves a (made hostile by the caller) and expects section id/instance refused by a fresh
 * device with `why` in the line, the fresh device unchanged. */
static void expect_refused(struct tguest *a, uint32_t id, uint16_t instance, const char *why)
{
    static uint8_t buf[STREAM_CAP], before[STREAM_CAP], after[STREAM_CAP];
    size_t len = save(a, buf, true);
    struct tguest *b = fresh();
    size_t n0 = save(b, before, true);
    char err[STATE_ERR_LEN];
    bus_expect_refused(&b->bus, buf, len, id, instance, why, err);
    assert_int_equal(save(b, after, true), n0);
    assert_memory_equal(after, before, n0);
    tg_free(b);
}

#define VPCI STATE_ID('V', 'P', 'C', 'I')
#define PCIF STATE_ID('P', 'C', 'I', 'F')
#define VBLK STATE_ID('V', 'B', 'L', 'K')

static void test_hostile_sections_refused(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    tg_enable_pci(a);
    tg_enable_msix(a);
    assert_int_equal(tg_driver_init(a, 0, 16, true), 0x0f);
    struct virtio_pci *vp = &a->blk.vp;
    struct virtio_pci keep = *vp;

    vp->queues[0].size = 24;
    expect_refused(a, VPCI, TG_SLOT, "power of two");
    vp->queues[0].size = 256;
    expect_refused(a, VPCI, TG_SLOT, "power of two");
    *vp = keep;
    vp->queues[0].desc = TG_DESC + 8;
    expect_refused(a, VPCI, TG_SLOT, "misaligned");
    *vp = keep;
    vp->queues[0].used = ~0ull - 63;
    expect_refused(a, VPCI, TG_SLOT, "wraps");
    *vp = keep;
    vp->status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    expect_refused(a, VPCI, TG_SLOT, "DRIVER_OK without FEATURES_OK");
    *vp = keep;
    vp->driver_features |= 1ull << 40;
    expect_refused(a, VPCI, TG_SLOT, "FEATURES_OK with features");
    *vp = keep;
    vp->queues[0].msix_vector = 9;
    expect_refused(a, VPCI, TG_SLOT, "vector beyond");
    *vp = keep;
    vp->queues[3].enabled = true;
    expect_refused(a, VPCI, TG_SLOT, "queue 3: a queue the device does not have");
    *vp = keep;

    struct pci_function *fn = vp->fn;
    fn->cfg[0] ^= 1;                        /* vendor ID */
    expect_refused(a, PCIF, TG_SLOT, "read-only configuration byte");
    fn->cfg[0] ^= 1;
    fn->msix[5].data = 1;
    expect_refused(a, PCIF, TG_SLOT, "beyond the table");
    fn->msix[5].data = 0;
    fn->msix[0].ctrl = 3;
    expect_refused(a, PCIF, TG_SLOT, "reserved bits");
    fn->msix[0].ctrl = 0;
    fn->intx_level = true;
    expect_refused(a, PCIF, TG_SLOT, "INTx status");
    fn->intx_level = false;

    a->blk.capacity += 512;
    expect_refused(a, VBLK, TG_SLOT, "disk of 1048576 bytes");
    a->blk.capacity -= 512;
    tg_free(a);
}

/* A function in a slot this partition leaves empty, and a device of another kind. */
static void test_other_layout_refused(void **state)
{
    (void)state;
    struct tguest *a = fresh();
    static uint8_t buf[STREAM_CAP];
    size_t len = save(a, buf, true);
    struct tguest *b = tg_new(DISK, 4096, false);   /* 4 KiB sectors, no VBLK registration */
    assert_true(virtio_blk_register_state(&b->blk, &b->bus, TG_SLOT));
    char err[STATE_ERR_LEN] = "";
    assert_int_equal(bus_restore_stream(&b->bus, buf, len, err), -1);
    assert_non_null(strstr(err, "512-byte"));
    tg_free(b);
    b = tg_new(DISK, 512, false);
    assert_true(virtio_blk_register_state(&b->blk, &b->bus, TG_SLOT + 1));
    struct state_kind kinds[STATE_MAX_KINDS];
    unsigned nk = vdev_bus_state_kinds(&b->bus, kinds, STATE_MAX_KINDS);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, nk), 0);
    struct state_section s;
    int refused = 0;
    while (state_reader_next(&r, &s) == 1)
        if (vdev_bus_restore_section(&b->bus, &s, err, sizeof(err)) == -1)
            refused++;
    assert_int_equal(refused, 2);           /* VPCI and VBLK of slot 3: nobody here */
    tg_free(a);
    tg_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msix_round_trip),
        cmocka_unit_test(test_intx_round_trip),
        cmocka_unit_test(test_half_initialised_round_trip),
        cmocka_unit_test(test_save_refused_in_flight),
        cmocka_unit_test(test_hostile_sections_refused),
        cmocka_unit_test(test_other_layout_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
