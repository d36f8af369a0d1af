/* PCI host bridge and virtio-pci transport, driven through ports and MMIO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/test_virtio_guest.h"

#define DISK (1u << 20)

static struct tguest *fresh(void)
{
    return tg_new(DISK, 512, false);
}

static void host_bridge_and_empty_slots(void **state)
{
    struct tguest *g = fresh();
    assert_int_equal(tg_cfg_read(g, 0, 0, 4), 0x12378086);
    assert_int_equal(tg_cfg_read(g, 0, 0x0a, 2), 0x0600);
    assert_int_equal(tg_cfg_read(g, 5, 0, 4), 0xffffffff);
    assert_int_equal(tg_cfg_read(g, 31, 0, 2), 0xffff);
    /* function 1 of the virtio slot, bus 1: nobody */
    uint32_t a = 0x80000000u | TG_SLOT << 11 | 1 << 8, v = 0;
    vdev_bus_io(&g->bus, 0xcf8, 4, true, &a);
    vdev_bus_io(&g->bus, 0xcfc, 4, false, &v);
    assert_int_equal(v, 0xffffffff);
    a = 0x80010000u;
    vdev_bus_io(&g->bus, 0xcf8, 4, true, &a);
    vdev_bus_io(&g->bus, 0xcfc, 4, false, &v);
    assert_int_equal(v, 0xffffffff);
    vdev_bus_io(&g->bus, 0xcf8, 4, false, &v);
    assert_int_equal(v, 0x80010000u);
    /* enable bit off: all-ones */
    a = 0;
    vdev_bus_io(&g->bus, 0xcf8, 4, true, &a);
    vdev_bus_io(&g->bus, 0xcfc, 4, false, &v);
    assert_int_equal(v, 0xffffffff);
    /* host bridge header is read-only */
    tg_cfg_write(g, 0, 0, 4, 0);
    assert_int_equal(tg_cfg_read(g, 0, 0, 4), 0x12378086);
    tg_free(g);
}

static void virtio_identity_and_caps(void **state)
{
    struct tguest *g = fresh();
    assert_int_equal(tg_cfg_read(g, TG_SLOT, 0, 4), 0x10421af4);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_REVISION, 1), 1);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_SUBSYS_VENDOR, 2), 0x1af4);
    assert_true(tg_cfg_read(g, TG_SLOT, PCI_STATUS, 2) & PCI_STATUS_CAPS);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_INTR_PIN, 1), 1);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_INTR_LINE, 1), PCI_INTX_GSI(TG_SLOT));
    unsigned cap = tg_cfg_read(g, TG_SLOT, PCI_CAP_PTR, 1);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, cap, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, cap + 2, 2) & 0x7ff, 1);   /* 2 vectors */
    assert_int_equal(tg_cfg_read(g, TG_SLOT, cap + 4, 4), 1);           /* table: BAR1+0 */
    assert_int_equal(tg_cfg_read(g, TG_SLOT, cap + 8, 4), 0x801);       /* PBA: BAR1+0x800 */
    static const struct { uint8_t type; uint32_t off; } want[] = {
        { VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_COMMON_OFF }, { VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF },
        { VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_ISR_OFF }, { VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_DEVICE_OFF },
    };
    for (unsigned i = 0; i < 4; i++) {
        unsigned c = tg_find_cap(g, TG_SLOT, want[i].type);
        assert_true(c >= 0x40);
        assert_int_equal(tg_cfg_read(g, TG_SLOT, c + 4, 1), VIRTIO_PCI_REGS_BAR);
        assert_int_equal(tg_cfg_read(g, TG_SLOT, c + 8, 4), want[i].off);
    }
    unsigned n = tg_find_cap(g, TG_SLOT, VIRTIO_PCI_CAP_NOTIFY);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, n + 2, 1), 20);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, n + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
    assert_true(tg_find_cap(g, TG_SLOT, VIRTIO_PCI_CAP_PCI_CFG) != 0);
    /* capabilities are read-only */
    tg_cfg_write(g, TG_SLOT, n + 8, 4, 0x1234);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, n + 8, 4), VIRTIO_PCI_NOTIFY_OFF);
    tg_free(g);
}

static void bar_sizing_and_decoding(void **state)
{
    struct tguest *g = fresh();
    /* pre-assigned in the 32-bit window, decoding off */
    uint32_t b1 = tg_cfg_read(g, TG_SLOT, PCI_BAR0 + 4, 4);
    assert_true(b1 >= PCI_MMIO32_BASE && b1 < PCI_MMIO32_BASE + PCI_MMIO32_SIZE);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0 + 16, 4) & 0xf, PCI_BAR_MEM64);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0, 4), 0);          /* BAR0 absent */
    tg_cfg_write(g, TG_SLOT, PCI_BAR0, 4, 0xffffffff);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0, 4), 0);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 4, 4, 0xffffffff);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0 + 4, 4), 0xfffff000);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 16, 4, 0xffffffff);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 20, 4, 0xffffffff);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0 + 16, 4), 0xffffc004);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, PCI_BAR0 + 20, 4), 0xffffffff);
    /* programmed, but memory decoding still off: unclaimed */
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 16, 4, (uint32_t)TG_BAR4);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 20, 4, 0);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_COMMON_NUMQ, 2), 0xffff);
    tg_enable_pci(g);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_NUMQ, 2), 1);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    /* move BAR4 into the 64-bit window */
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 16, 4, 0);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 20, 4, (uint32_t)(PCI_MMIO64_BASE >> 32));
    assert_int_equal(tg_mmio_read(g, PCI_MMIO64_BASE + VIRTIO_COMMON_NUMQ, 2), 1);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_COMMON_NUMQ, 2), 0xffff);
    /* outside every window: nobody decodes it */
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 20, 4, 0x10);
    uint64_t a;
    assert_false(pci_function_bar_addr(g->blk.vp.fn, VIRTIO_PCI_REGS_BAR, &a));
    tg_cfg_write(g, TG_SLOT, PCI_COMMAND, 2, 0);
    assert_false(pci_function_bar_addr(g->blk.vp.fn, VIRTIO_PCI_MSIX_BAR, &a));
    tg_free(g);
}

static void msix_table_mask_and_pba(void **state)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    tg_enable_msix(g);
    assert_int_equal(tg_mmio_read(g, TG_BAR1 + 8, 4), TG_CONFIG_VEC);
    assert_int_equal(tg_mmio_read(g, TG_BAR1 + 16, 8), TG_MSI_ADDR);
    struct pci_function *fn = g->blk.vp.fn;
    assert_true(pci_function_msix_notify(fn, 1));
    assert_int_equal(g->f.msi_count, 1);
    assert_int_equal(g->f.msis[0].addr, TG_MSI_ADDR);
    assert_int_equal(g->f.msis[0].data, TG_QUEUE_VEC);
    /* mask vector 1: pending bit, then delivery on unmask */
    tg_mmio_write(g, TG_BAR1 + 16 + 12, 4, 1);
    assert_true(pci_function_msix_notify(fn, 1));
    assert_int_equal(g->f.msi_count, 1);
    assert_int_equal(tg_mmio_read(g, TG_BAR1 + 0x800, 8), 2);
    tg_mmio_write(g, TG_BAR1 + 16 + 12, 4, 0);
    assert_int_equal(g->f.msi_count, 2);
    assert_int_equal(tg_mmio_read(g, TG_BAR1 + 0x800, 4), 0);
    /* function mask */
    unsigned cap = tg_cfg_read(g, TG_SLOT, PCI_CAP_PTR, 1);
    tg_cfg_write(g, TG_SLOT, cap + 2, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
    pci_function_msix_notify(fn, 0);
    assert_int_equal(g->f.msi_count, 2);
    tg_cfg_write(g, TG_SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
    assert_int_equal(g->f.msi_count, 3);
    assert_int_equal(g->f.msis[2].data, TG_CONFIG_VEC);
    /* out of range / no vector; odd-sized table access ignored */
    assert_false(pci_function_msix_notify(fn, 2));
    assert_false(pci_function_msix_notify(fn, PCI_MSIX_NO_VECTOR));
    tg_mmio_write(g, TG_BAR1 + 9, 1, 0x77);
    assert_int_equal(tg_mmio_read(g, TG_BAR1 + 8, 4), TG_CONFIG_VEC);
    tg_free(g);
}

static void feature_negotiation(void **state)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    tg_common_write(g, VIRTIO_COMMON_DFSELECT, 4, 1);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_DF, 4), 1);        /* VERSION_1 */
    tg_common_write(g, VIRTIO_COMMON_DFSELECT, 4, 0);
    uint32_t lo = (uint32_t)tg_common_read(g, VIRTIO_COMMON_DF, 4);
    assert_true(lo & VIRTIO_F_INDIRECT_DESC);
    assert_true(lo & VIRTIO_F_EVENT_IDX);
    assert_true(lo & VIRTIO_BLK_F_FLUSH);
    assert_true(lo & VIRTIO_BLK_F_DISCARD);
    assert_false(lo & VIRTIO_BLK_F_RO);
    /* no VERSION_1: FEATURES_OK refused */
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3);
    tg_common_write(g, VIRTIO_COMMON_GFSELECT, 4, 0);
    tg_common_write(g, VIRTIO_COMMON_GF, 4, VIRTIO_BLK_F_FLUSH);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(tg_status(g), 3);
    /* DRIVER_OK without FEATURES_OK: ignored */
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(tg_status(g), 3);
    /* a feature never offered: refused */
    tg_common_write(g, VIRTIO_COMMON_GFSELECT, 4, 1);
    tg_common_write(g, VIRTIO_COMMON_GF, 4, 1 | 2);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(tg_status(g), 3);
    tg_common_write(g, VIRTIO_COMMON_GF, 4, 1);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(tg_status(g), 3 | VIRTIO_STATUS_FEATURES_OK);
    /* frozen after FEATURES_OK */
    tg_common_write(g, VIRTIO_COMMON_GFSELECT, 4, 0);
    tg_common_write(g, VIRTIO_COMMON_GF, 4, 0xffffffff);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_GF, 4), VIRTIO_BLK_F_FLUSH);
    assert_int_equal(virtio_pci_features(&g->blk.vp), VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH);
    /* reset clears everything */
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(tg_status(g), 0);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_GF, 4), 0);
    assert_true(strstr(g->f.console, "virtio-blk 00:03.0: features") != NULL);
    tg_free(g);
}

static void queue_setup_checks(void **state)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 3);
    tg_common_write(g, VIRTIO_COMMON_Q_SELECT, 2, 0);
    tg_common_write(g, VIRTIO_COMMON_Q_SIZE, 2, 100);               /* not a power of 2 */
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    tg_common_write(g, VIRTIO_COMMON_Q_SIZE, 2, 256);               /* above max */
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    tg_common_write(g, VIRTIO_COMMON_Q_SIZE, 2, 16);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), 16);
    tg_common_write(g, VIRTIO_COMMON_Q_DESCLO, 4, 0x1008);           /* misaligned */
    tg_common_write(g, VIRTIO_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_ENABLE, 2), 0);
    tg_common_write(g, VIRTIO_COMMON_Q_DESCLO, 8, 0x1000);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_DESCLO, 8), 0x1000);
    tg_common_write(g, VIRTIO_COMMON_Q_MSIX, 2, 7);                 /* no such vector */
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_MSIX, 2), PCI_MSIX_NO_VECTOR);
    tg_common_write(g, VIRTIO_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_ENABLE, 2), 1);
    /* enabled queue: frozen */
    tg_common_write(g, VIRTIO_COMMON_Q_SIZE, 2, 8);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), 16);
    /* queue 1 does not exist */
    tg_common_write(g, VIRTIO_COMMON_Q_SELECT, 2, 1);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SIZE, 2), 0);
    /* wrong widths ignored */
    tg_common_write(g, VIRTIO_COMMON_Q_SELECT, 4, 0);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SELECT, 2), 1);
    tg_free(g);
}

static void device_config_and_pci_cfg_window(void **state)
{
    struct tguest *g = tg_new(8u << 20, 4096, false);
    tg_enable_pci(g);
    uint64_t dev = TG_BAR4 + VIRTIO_PCI_DEVICE_OFF;
    assert_int_equal(tg_mmio_read(g, dev, 4), (8u << 20) / 512);
    assert_int_equal(tg_mmio_read(g, dev + 4, 4), 0);
    assert_int_equal(tg_mmio_read(g, dev + 0x0c, 4), VIRTIO_BLK_SEG_MAX);
    assert_int_equal(tg_mmio_read(g, dev + 0x14, 4), 4096);
    assert_int_equal(tg_mmio_read(g, dev + 0x22, 2), 1);
    assert_int_equal(tg_mmio_read(g, dev + 0x28, 4), 1);
    assert_int_equal(tg_mmio_read(g, dev + 0x2c, 4), 8);
    assert_int_equal(tg_mmio_read(g, dev + VIRTIO_BLK_CONFIG_LEN, 4), 0);
    /* VIRTIO_PCI_CAP_PCI_CFG: reach num_queues through config space */
    unsigned c = tg_find_cap(g, TG_SLOT, VIRTIO_PCI_CAP_PCI_CFG);
    tg_cfg_write(g, TG_SLOT, c + 4, 1, VIRTIO_PCI_REGS_BAR);
    tg_cfg_write(g, TG_SLOT, c + 8, 4, VIRTIO_COMMON_NUMQ);
    tg_cfg_write(g, TG_SLOT, c + 12, 4, 2);
    assert_int_equal(tg_cfg_read(g, TG_SLOT, c + 16, 4), 1);
    tg_cfg_write(g, TG_SLOT, c + 8, 4, VIRTIO_COMMON_Q_SELECT);
    tg_cfg_write(g, TG_SLOT, c + 16, 4, 5);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SELECT, 2), 5);
    /* a bad window does nothing */
    tg_cfg_write(g, TG_SLOT, c + 12, 4, 3);
    tg_cfg_write(g, TG_SLOT, c + 16, 4, 9);
    assert_int_equal(tg_common_read(g, VIRTIO_COMMON_Q_SELECT, 2), 5);
    tg_free(g);
}

static void intx_and_isr(void **state)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    assert_int_equal(tg_driver_init(g, 0, 8, false) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
    unsigned gsi = PCI_INTX_GSI(TG_SLOT);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    assert_true(g->f.irq_level[gsi]);
    assert_true(tg_cfg_read(g, TG_SLOT, PCI_STATUS, 2) & PCI_STATUS_INTX);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), 1);
    assert_false(g->f.irq_level[gsi]);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), 0);
    /* INTx disabled in the command register: line stays low */
    tg_cfg_write(g, TG_SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    assert_false(g->f.irq_level[gsi]);
    assert_int_equal(tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_ISR_OFF, 1), 1);
    tg_free(g);
}

static void intx_lines_are_shared(void **state)
{
    struct tguest *g = fresh();
    struct virtio_blk *other = calloc(1, sizeof(*other));
    assert_true(virtio_blk_init(other, &g->host, TG_SLOT + 8, &g->f.plat, &vblk_ram_backend, &g->disk));
    unsigned gsi = PCI_INTX_GSI(TG_SLOT);
    assert_int_equal(PCI_INTX_GSI(TG_SLOT + 8), gsi);
    pci_function_set_intx(g->blk.vp.fn, true);
    pci_function_set_intx(other->vp.fn, true);
    pci_function_set_intx(g->blk.vp.fn, false);
    assert_true(g->f.irq_level[gsi]);
    pci_function_set_intx(other->vp.fn, false);
    assert_false(g->f.irq_level[gsi]);
    /* the host bridge has no pin: writing its command register drives nothing */
    unsigned before = g->f.irq_count;
    tg_cfg_write(g, 0, PCI_COMMAND, 2, 0);
    assert_int_equal(g->f.irq_count, before);
    free(other);
    tg_free(g);
}

static void notify_needs_bus_master(void **state)
{
    struct tguest *g = fresh();
    tg_enable_pci(g);
    tg_driver_init(g, 0, 8, false);
    tg_cfg_write(g, TG_SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), 0xEE);
    tg_cfg_write(g, TG_SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    tg_notify(g);
    uint16_t h;
    uint32_t len;
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    tg_free(g);
}

static void pool_and_bad_descs(void **state)
{
    struct vdev_bus bus;
    struct fake_platform f;
    fake_platform_init(&f);
    vdev_bus_init(&bus);
    struct pci_host *h = pci_host_create(&bus, &f.plat);
    assert_non_null(h);
    assert_null(pci_host_create(&bus, &f.plat));    /* same ports: bus refuses */
    struct pci_function_desc d = { .vendor = 1 };
    d.bars[0] = (struct pci_bar_desc){ .size = 3000 };
    assert_null(pci_host_add_function(h, 1, &d));
    d.bars[0] = (struct pci_bar_desc){ .size = 4096, .is64 = true };
    d.bars[1].size = 4096;
    assert_null(pci_host_add_function(h, 1, &d));
    d.bars[1].size = 0;
    d.msix_vectors = 4;
    d.msix_bar = 0;
    d.msix_table_off = 4090;
    assert_null(pci_host_add_function(h, 1, &d));
    d.msix_table_off = 0;
    d.msix_pba_off = 0x800;
    assert_non_null(pci_host_add_function(h, 1, &d));
    assert_null(pci_host_add_function(h, 1, &d));
    assert_null(pci_host_add_function(h, 0, &d));
    assert_null(pci_host_add_function(h, 32, &d));
    pci_host_destroy(h);
    vdev_bus_init(&bus);
    struct pci_host *h2 = pci_host_create(&bus, &f.plat);
    assert_ptr_equal(h, h2);
    pci_host_destroy(h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_bridge_and_empty_slots),
        cmocka_unit_test(virtio_identity_and_caps),
        cmocka_unit_test(bar_sizing_and_decoding),
        cmocka_unit_test(msix_table_mask_and_pba),
        cmocka_unit_test(feature_negotiation),
        cmocka_unit_test(queue_setup_checks),
        cmocka_unit_test(device_config_and_pci_cfg_window),
        cmocka_unit_test(intx_and_isr),
        cmocka_unit_test(intx_lines_are_shared),
        cmocka_unit_test(notify_needs_bus_master),
        cmocka_unit_test(pool_and_bad_descs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
