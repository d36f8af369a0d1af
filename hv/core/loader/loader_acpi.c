/*
 * The ACPI tables every partition gets, whatever its boot method, and where firmware
 * would leave them (ACPI 6.x 5.2.5.1): the RSDP at the start of the tables (0xe0000, in the
 * BIOS area, unless a flat image fills that), a copy of it in the first KiB of the EBDA,
 * and the EBDA's segment in the BIOS data area at 0x40E.  They describe the platform
 * hv/vdev/platform_devices builds: LAPICs, the IOAPIC, the PM block and timer, the HPET.
 */
#include "hv/core/loader/acpi_build.h"
#include "hv/core/loader/loader_common.h"
#include "hv/vdev/acpi_pm.h"
#include "hv/vdev/hpet.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic.h"
#include "hv/vdev/pci_host.h"
#include "hv/vdev/platform_devices.h"
#include "hv/vdev/reset_ctl.h"

#define ACPI_RSDP_LEN   36u
#define EBDA_RSDP       (LOADER_EBDA + 0x10)    /* after the EBDA's size byte */
#define ACPI_SCI_IRQ    9u

bool loader_write_acpi(const struct guest_image_target *t, uint64_t tables_base)
{
    static uint8_t tables[ACPI_BUILD_SIZE];     /* partitions are built one at a time */
    struct acpi_platform p = {
        .vcpus = t->vcpus, .lapic_base = (uint32_t)VLAPIC_DEFAULT_BASE,
        .ioapic_base = (uint32_t)VIOAPIC_DEFAULT_BASE, .ioapic_id = 0, .ioapic_gsi_base = 0,
        .pit_gsi = PLATFORM_PIT_GSI, .hw_reduced = false,   /* PIC and PIT are there */
        .pm1_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
        .reset_port = RESET_CTL_RCR, .reset_value = 0x06,  /* hard reset, as PCs do */
        .hpet_base = VHPET_DEFAULT_BASE, .hpet_block_id = VHPET_BLOCK_ID,
        .hpet_min_tick = VHPET_MIN_TICK,
        .pci_host = t->pci_host,
        .pci_mmio32_base = (uint32_t)PCI_MMIO32_BASE, .pci_mmio32_size = (uint32_t)PCI_MMIO32_SIZE,
        .pci_mmio64_base = PCI_MMIO64_BASE, .pci_mmio64_size = PCI_MMIO64_SIZE,
        .pci_intx_gsi_base = PCI_INTX_GSI(0), .pci_intx_gsi_count = 8,
    };
    uint8_t ebda_kib = (uint8_t)((0xa0000 - LOADER_EBDA) / 1024);
    uint16_t ebda_segment = (uint16_t)(LOADER_EBDA >> 4);
    uint8_t ebda_seg_le[2] = { (uint8_t)ebda_segment, (uint8_t)(ebda_segment >> 8) };
    return acpi_build(tables, tables_base, &p) &&
           t->write(t->ctx, tables_base, tables, sizeof(tables)) &&
           t->write(t->ctx, LOADER_EBDA, &ebda_kib, 1) &&
           t->write(t->ctx, EBDA_RSDP, tables + ACPI_OFF_RSDP, ACPI_RSDP_LEN) &&
           t->write(t->ctx, LOADER_BDA_EBDA_PTR, ebda_seg_le, sizeof(ebda_seg_le));
}
