/*
 * virtio 1.2 device requirements that the other virtio tests do not reach: the used
 * length, write-through without VIRTIO_BLK_F_FLUSH, requests the spec allows that drivers
 * rarely send, descriptor layouts the device must take, the ISR's configuration bit and
 * config_generation.  Each case names the section it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/test_virtio_guest.h"

#define DISK (1u << 20)

static struct tguest *ready(uint64_t want, bool msix)
{
    struct tguest *g = tg_new(DISK, 512, false);
    tg_enable_pci(g);
    if (msix)
        tg_enable_msix(g);
    assert_int_equal(tg_driver_init(g, want, 16, msix), 0x0f);
    return g;
}

/* One chain at descriptor 0 with header {type, sector} at TG_HDR, notified; the status byte
 * (its segment is the caller's) and the used length come back; 0xEE: nothing used. */
static uint8_t run(struct tguest *g, const struct tg_seg *s, unsigned n, uint32_t type,
                   uint64_t sector, uint32_t *used_len)
{
    memset(g->ram + TG_HDR, 0, 16);
    memcpy(g->ram + TG_HDR, &type, 4);
    memcpy(g->ram + TG_HDR + 8, &sector, 8);
    g->ram[TG_STATUS] = 0xAA;
    tg_put_chain(g, 0, s, n);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    uint32_t len = ~0u;
    if (!tg_used(g, &h, &len) || h != 0)
        return 0xEE;
    if (used_len)
        *used_len = len;
    return g->ram[TG_STATUS];
}

#define HDR { TG_HDR, 16, 0 }
#define ST  { TG_STATUS, 1, VIRTQ_DESC_F_WRITE }

/* 2.7.8.2: len never counts bytes the device did not write from the first device-writable
 * byte on. */
static void used_len_is_what_was_written(void **state)
{
    struct tguest *g = ready(VIRTIO_BLK_F_FLUSH, true);
    uint32_t len;
    struct tg_seg rd[] = { HDR, { TG_DATA, 1024, VIRTQ_DESC_F_WRITE }, ST };
    assert_int_equal(run(g, rd, 3, VIRTIO_BLK_T_IN, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1025);
    /* a failed read wrote only its status byte, at the end: nothing from the start */
    assert_int_equal(run(g, rd, 3, VIRTIO_BLK_T_IN, DISK / 512, &len), VIRTIO_BLK_S_IOERR);
    assert_int_equal(len, 0);
    assert_int_equal(run(g, rd, 3, 99, 0, &len), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(len, 0);
    /* a write's only device-writable byte is its status */
    struct tg_seg wr[] = { HDR, { TG_DATA, 512, 0 }, ST };
    assert_int_equal(run(g, wr, 3, VIRTIO_BLK_T_OUT, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
    assert_int_equal(run(g, wr, 3, VIRTIO_BLK_T_OUT, DISK / 512, &len), VIRTIO_BLK_S_IOERR);
    assert_int_equal(len, 1);
    /* get-id: 20 bytes and the status; in a larger buffer the 20 bytes alone */
    struct tg_seg id[] = { HDR, { TG_DATA, 20, VIRTQ_DESC_F_WRITE }, ST };
    assert_int_equal(run(g, id, 3, VIRTIO_BLK_T_GET_ID, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 21);
    struct tg_seg id512[] = { HDR, { TG_DATA, 512, VIRTQ_DESC_F_WRITE }, ST };
    assert_int_equal(run(g, id512, 3, VIRTIO_BLK_T_GET_ID, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 20);
    tg_free(g);
}

/* 5.2.6.2: VIRTIO_BLK_F_FLUSH offered and not accepted (SeaBIOS): a write is stable when it
 * completes, so the backend is flushed before the completion; accepted: it is not. */
static void write_through_without_flush_feature(void **state)
{
    struct tguest *g = ready(0, true);
    tg_fill_ram(g, TG_DATA, 4096, 5);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 0, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk.flushes, 1);
    assert_int_equal(g->blk.stats.write_through_flushes, 1);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 0, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk.flushes, 1);
    /* asynchronous: the completion waits for the flush; a failed flush fails the write */
    g->disk.async = true;
    uint16_t h;
    uint32_t len;
    tg_request(g, 0, VIRTIO_BLK_T_OUT, 8, TG_DATA, 512, false);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);        /* the write */
    assert_false(tg_used(g, &h, &len));
    assert_int_equal(g->disk.npending, 1);                              /* its flush */
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk.flushes, 2);
    tg_request(g, 0, VIRTIO_BLK_T_OUT, 8, TG_DATA, 512, false);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    g->disk.fail_next = true;
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_IOERR);
    /* a reset while the flush is out: its completion is dropped */
    tg_request(g, 0, VIRTIO_BLK_T_OUT, 8, TG_DATA, 512, false);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    assert_int_equal(g->blk.stats.stale_completions, 1);
    g->disk.async = false;
    /* with VIRTIO_BLK_F_FLUSH the driver flushes when it wants */
    assert_int_equal(tg_driver_init(g, VIRTIO_BLK_F_FLUSH, 16, true), 0x0f);
    unsigned before = g->disk.flushes;
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 0, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk.flushes, before);
    tg_free(g);
}

/* 5.2.6.1: requests a driver may send even if drivers seldom do: no data (a multiple of
 * 512 too), a flush with data (SHOULD NOT, so allowed), a discard of no sectors. */
static void legal_but_unusual_requests(void **state)
{
    struct tguest *g = ready(VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD, true);
    uint32_t len;
    struct tg_seg nd[] = { HDR, ST };
    assert_int_equal(run(g, nd, 2, VIRTIO_BLK_T_IN, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
    assert_int_equal(run(g, nd, 2, VIRTIO_BLK_T_OUT, DISK / 512, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(run(g, nd, 2, VIRTIO_BLK_T_IN, DISK / 512 + 1, &len), VIRTIO_BLK_S_IOERR);
    struct tg_seg fd[] = { HDR, { TG_DATA, 512, 0 }, { TG_DATA + 512, 64, VIRTQ_DESC_F_WRITE }, ST };
    unsigned flushes = g->disk.flushes;
    assert_int_equal(run(g, fd, 4, VIRTIO_BLK_T_FLUSH, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 0);
    assert_int_equal(g->disk.flushes, flushes + 1);
    memset(g->ram + TG_DATA, 0, 16);                /* sector 0, 0 sectors, no flags */
    struct tg_seg dz[] = { HDR, { TG_DATA, 16, 0 }, ST };
    assert_int_equal(run(g, dz, 3, VIRTIO_BLK_T_DISCARD, 0, &len), VIRTIO_BLK_S_OK);
    /* discard's unmap flag: UNSUPP (5.2.6.2) */
    g->ram[TG_DATA + 12] = 1;
    assert_int_equal(run(g, dz, 3, VIRTIO_BLK_T_DISCARD, 0, &len), VIRTIO_BLK_S_UNSUPP);
    /* types the device does not offer, write zeroes and zoned ones included: UNSUPP */
    static const uint32_t unknown[] = { 2, 3, 5, 10, 13, 14, 15, 16, 18, 26, 0x80000001u };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_int_equal(run(g, nd, 2, unknown[i], 0, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(tg_status(g) & VIRTIO_STATUS_NEEDS_RESET, 0);
    tg_free(g);
}

/* 2.7.4.1: no assumption about the arrangement of descriptors; 2.7.5.3.2: direct
 * descriptors followed by one indirect, and the indirect's WRITE flag ignored; an
 * indirect table needs no alignment. */
static void any_descriptor_layout(void **state)
{
    struct tguest *g = ready(VIRTIO_F_INDIRECT_DESC | VIRTIO_BLK_F_FLUSH, true);
    uint32_t len;
    tg_fill_ram(g, TG_DATA, 1024, 7);
    /* header split 4 + 12, data split 100 + 412 + 512 */
    struct tg_seg w[] = { { TG_HDR, 4, 0 }, { TG_HDR + 4, 12, 0 }, { TG_DATA, 100, 0 },
                          { TG_DATA + 100, 412, 0 }, { TG_DATA + 512, 512, 0 }, ST };
    assert_int_equal(run(g, w, 6, VIRTIO_BLK_T_OUT, 2, &len), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->disk_data + 1024, g->ram + TG_DATA, 1024);
    /* header and data in one device-readable buffer */
    memcpy(g->ram + TG_DATA + 0x1000 + 16, g->ram + TG_DATA, 512);
    uint32_t out = VIRTIO_BLK_T_OUT;
    uint64_t sector = 9;
    memset(g->ram + TG_DATA + 0x1000, 0, 16);
    memcpy(g->ram + TG_DATA + 0x1000, &out, 4);
    memcpy(g->ram + TG_DATA + 0x1000 + 8, &sector, 8);
    struct tg_seg one[] = { { TG_DATA + 0x1000, 16 + 512, 0 }, ST };
    tg_put_chain(g, 0, one, 2);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(g->disk_data + 9 * 512, g->ram + TG_DATA, 512);
    /* a read whose data and status share one device-writable buffer */
    struct tg_seg rs[] = { HDR, { TG_DATA + 0x2000, 513, VIRTQ_DESC_F_WRITE } };
    memset(g->ram + TG_HDR, 0, 16);
    g->ram[TG_HDR + 8] = 9;
    g->ram[TG_DATA + 0x2000 + 512] = 0xAA;
    tg_put_chain(g, 0, rs, 2);
    tg_avail(g, 0);
    tg_notify(g);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(len, 513);
    assert_int_equal(g->ram[TG_DATA + 0x2000 + 512], VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA + 0x2000, g->ram + TG_DATA, 512);
    /* header direct, then an indirect table (its descriptor marked WRITE) with data and
     * status */
    memset(g->ram + TG_HDR, 0, 16);                 /* a read of sector 2 */
    g->ram[TG_HDR + 8] = 2;
    g->ram[TG_STATUS] = 0xAA;
    tg_write_desc(g, TG_DESC, 0, TG_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    tg_write_desc(g, TG_DESC, 1, TG_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    tg_write_desc(g, TG_INDIRECT, 0, TG_DATA + 0x3000, 1024, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    tg_write_desc(g, TG_INDIRECT, 1, TG_STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    tg_avail(g, 0);
    tg_notify(g);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(len, 1025);
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA + 0x3000, g->disk_data + 1024, 1024);
    /* an indirect table 8-byte aligned, across a page boundary */
    uint64_t table = TG_INDIRECT + 0x1000 - 24;
    g->ram[TG_STATUS] = 0xAA;
    tg_write_desc(g, table, 0, TG_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    tg_write_desc(g, table, 1, TG_DATA + 0x3000, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    tg_write_desc(g, table, 2, TG_STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    tg_write_desc(g, TG_DESC, 0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
    tg_avail(g, 0);
    tg_notify(g);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(len, 513);
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(tg_status(g) & VIRTIO_STATUS_NEEDS_RESET, 0);
    tg_free(g);
}

/* 4.1.4.5.1: the configuration bit is set in the ISR before a configuration notification,
 * with MSI-X too; 4.1.5.4: none when its vector is NO_VECTOR. */
static void config_interrupt_sets_isr(void **state)
{
    struct tguest *g = ready(0, true);
    unsigned msis = g->f.msi_count;
    virtio_blk_capacity_changed(&g->blk);
    assert_int_equal(g->f.msi_count, msis + 1);
    assert_int_equal(g->f.msis[msis].data, TG_CONFIG_VEC);
    assert_false(g->f.irq_level[PCI_INTX_GSI(TG_SLOT)]);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), 0);
    /* queue interrupts under MSI-X leave the ISR alone */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), 0);
    tg_common_write(g, VIRTIO_COMMON_MSIX, 2, PCI_MSIX_NO_VECTOR);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_MSIX, 2), PCI_MSIX_NO_VECTOR);
    msis = g->f.msi_count;
    virtio_blk_capacity_changed(&g->blk);
    assert_int_equal(g->f.msi_count, msis);
    /* MSI-X turned off with the bit still set and unread: no level interrupt left up
     * for a handler that is not there (the bit stays for the driver to read) */
    unsigned cap = tg_cfg_read(g, TG_SLOT, PCI_CAP_PTR, 1);
    tg_cfg_write(g, TG_SLOT, cap + 2, 2, 0);
    assert_false(g->f.irq_level[PCI_INTX_GSI(TG_SLOT)]);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
    tg_free(g);
    /* INTx: ISR bit 1 and the line */
    g = ready(0, false);
    virtio_blk_capacity_changed(&g->blk);
    assert_true(g->f.irq_level[PCI_INTX_GSI(TG_SLOT)]);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_false(g->f.irq_level[PCI_INTX_GSI(TG_SLOT)]);
    tg_free(g);
}

/* 4.1.4.3.1: config_generation differs after the driver read a field that changed since
 * its last read of the configuration, however many changes came between (an 8-bit
 * counter per change would come back to the same value after 256). */
static void config_generation_never_wraps_back(void **state)
{
    struct tguest *g = ready(0, true);
    uint64_t dev = TG_BAR4 + VIRTIO_PCI_DEVICE_OFF;
    uint8_t gen = (uint8_t)tg_common_read(g, VIRTIO_COMMON_CFGGEN, 1);
    assert_int_equal(tg_mmio_read(g, dev, 4), DISK / 512);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_CFGGEN, 1), gen);  /* nothing changed */
    for (unsigned i = 0; i < 256; i++)
        virtio_blk_capacity_changed(&g->blk);
    assert_int_equal(tg_mmio_read(g, dev, 4), DISK / 512);
    uint8_t now = (uint8_t)tg_common_read(g, VIRTIO_COMMON_CFGGEN, 1);
    assert_int_not_equal(now, gen);
    /* read again with no change: stable, so the driver's loop ends */
    assert_int_equal(tg_mmio_read(g, dev + 4, 4), 0);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_CFGGEN, 1), now);
    /* through the PCI configuration access capability as well */
    virtio_blk_capacity_changed(&g->blk);
    unsigned c = tg_find_cap(g, TG_SLOT, VIRTIO_PCI_CAP_PCI_CFG);
    tg_cfg_write(g, TG_SLOT, c + 4, 1, VIRTIO_PCI_REGS_BAR);
    tg_cfg_write(g, TG_SLOT, c + 8, 4, VIRTIO_PCI_DEVICE_OFF);
    tg_cfg_write(g, TG_SLOT, c + 12, 4, 4);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, c + 16, 4), DISK / 512);
    assert_int_not_equal(tg_common_read(g, VIRTIO_COMMON_CFGGEN, 1), now);
    tg_free(g);
}

/* 5.2.4 / 5.2.5.2: the block configuration's fields at their offsets, padding and the
 * fields of features not offered 0; a read-only disk offers no discard. */
static void config_layout(void **state)
{
    struct tguest *g = ready(0, false);
    uint64_t dev = TG_BAR4 + VIRTIO_PCI_DEVICE_OFF;
    assert_int_equal(tg_mmio_read(g, dev + 0x00, 4), DISK / 512);
    assert_int_equal(tg_mmio_read(g, dev + 0x08, 4), VIRTIO_BLK_SIZE_MAX);
    assert_true((uint64_t)VIRTIO_BLK_SIZE_MAX * VIRTIO_BLK_SEG_MAX <= VIRTIO_BLK_MAX_REQUEST);
    assert_int_equal(tg_mmio_read(g, dev + 0x0c, 4), VIRTIO_BLK_SEG_MAX);
    assert_int_equal(tg_mmio_read(g, dev + 0x14, 4), 512);
    assert_int_equal(tg_mmio_read(g, dev + 0x20, 1), 0);                /* writeback */
    assert_int_equal(tg_mmio_read(g, dev + 0x21, 1), 0);                /* unused0 */
    assert_int_equal(tg_mmio_read(g, dev + 0x22, 2), 1);                /* num_queues */
    assert_int_equal(tg_mmio_read(g, dev + 0x24, 4), VIRTIO_BLK_MAX_DISCARD_SECTORS);
    assert_int_equal(tg_mmio_read(g, dev + 0x28, 4), 1);
    assert_int_equal(tg_mmio_read(g, dev + 0x2c, 4), 1);
    for (unsigned off = 0x30; off < VIRTIO_BLK_CONFIG_LEN; off += 4)  /* write zeroes, unused1 */
        assert_int_equal(tg_mmio_read(g, dev + off, 4), 0);
    tg_free(g);
    g = tg_new(DISK, 512, true);
    tg_enable_pci(g);
    tg_common_write(g, VIRTIO_COMMON_DFSELECT, 4, 0);
    uint32_t f = (uint32_t)tg_common_read(g, VIRTIO_COMMON_DF, 4);
    assert_true(f & VIRTIO_BLK_F_SIZE_MAX);
    assert_true(f & VIRTIO_BLK_F_RO);
    assert_false(f & VIRTIO_BLK_F_DISCARD);
    assert_true(f & VIRTIO_BLK_F_FLUSH);
    assert_int_equal(tg_mmio_read(g, dev + 0x24, 4), 0);
    tg_free(g);
}

/* 2.7.10.2: the device sets the used ring's flags to 0 or 1; at DRIVER_OK it writes 0. */
static void used_flags_cleared_at_driver_ok(void **state)
{
    struct tguest *g = ready(0, true);
    g->ram[TG_USED] = 0xff;
    g->ram[TG_USED + 1] = 0xff;
    virtq_start(&g->blk.vp.queues[0], &g->f.plat);
    assert_int_equal(g->ram[TG_USED], 0);
    assert_int_equal(g->ram[TG_USED + 1], 0);
    /* a used ring outside RAM is no fault here */
    struct virtq q = g->blk.vp.queues[0];
    q.used = TG_RAM_SIZE + 0x1000;
    virtq_start(&q, &g->f.plat);
    tg_free(g);
}

/* 2.4 / 4.1.4.3.1: reset reads back 0 at once and nothing in flight touches the rings
 * after it; the queue's vector and enable read back as after a reset. */
static void reset_reads_back_zero(void **state)
{
    struct tguest *g = ready(VIRTIO_BLK_F_FLUSH, true);
    g->disk.async = true;
    tg_request(g, 0, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, false);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(tg_status(g), 0);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_MSIX, 2), PCI_MSIX_NO_VECTOR);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_MSIX, 2), PCI_MSIX_NO_VECTOR);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    unsigned msis = g->f.msi_count;
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);
    assert_int_equal(g->ram[TG_USED + 2], 0);
    assert_int_equal(g->f.msi_count, msis);
    tg_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(used_len_is_what_was_written),
        cmocka_unit_test(write_through_without_flush_feature),
        cmocka_unit_test(legal_but_unusual_requests),
        cmocka_unit_test(any_descriptor_layout),
        cmocka_unit_test(config_interrupt_sets_isr),
        cmocka_unit_test(config_generation_never_wraps_back),
        cmocka_unit_test(config_layout),
        cmocka_unit_test(used_flags_cleared_at_driver_ok),
        cmocka_unit_test(reset_reads_back_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
