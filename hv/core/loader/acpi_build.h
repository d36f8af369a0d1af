/*
 * The ACPI tables every partition's guest reads (hv/core/loader/loader_acpi.c places them; Linux
 * needs them to find its CPUs and the IOAPIC): RSDP, XSDT and RSDT, FADT (+ FACS), MADT,
 * HPET and a DSDT, built into one buffer that is copied to guest memory at a chosen
 * guest-physical base.  Portable.
 *
 * The RSDP (revision 2) leads to both an XSDT and an RSDT listing the same tables, so
 * ACPI 1.0 readers find them too.  The FADT is either hardware-reduced (no PM blocks, no
 * legacy PIC in the MADT flags) or classic with a PM1a event/control block at pm1_base and
 * the 32-bit PM timer at pm1_base + 8 (TMR_VAL_EXT); either may name a reset register
 * (RESET_REG_SUP).  Neither has SMI_CMD, so the guest
 * finds the platform already in ACPI mode.  With hpet_base, an HPET table describes the
 * HPET there.  The DSDT holds \_S5 and, with a PCI host, its root bridge.  No MCFG.
 */
#ifndef ATOLL_HV_CORE_ACPI_BUILD_H
#define ATOLL_HV_CORE_ACPI_BUILD_H
#include <stdbool.h>
#include <stdint.h>

#define ACPI_BUILD_SIZE      0x2000u    /* bytes of guest memory the tables occupy */
#define ACPI_BUILD_MAX_VCPUS 255u       /* xAPIC MADT entries carry 8-bit APIC IDs */

struct acpi_platform {
    unsigned vcpus;             /* vCPU i has APIC ID i and ACPI processor UID i */
    uint32_t lapic_base;
    uint32_t ioapic_base;
    uint8_t ioapic_id;
    uint32_t ioapic_gsi_base;
    uint32_t pit_gsi;           /* ISA IRQ 0 reaches the IOAPIC at this GSI */
    bool hw_reduced;
    uint16_t pm1_base;          /* classic only: PM1a_EVT at pm1_base (4), PM1a_CNT at +4 (2),
                                 * PM_TMR at +8 (4, 32-bit) */
    uint16_t sci_irq;           /* classic only */
    /* The FADT's RESET_REG: a byte port and the value that resets (0: none). */
    uint16_t reset_port;
    uint8_t reset_value;
    /* An HPET (IA-PC HPET 1.0a) at hpet_base (0: none), its GCAP_ID bits 31:0 as the
     * event timer block ID, and the smallest periodic tick it guarantees, in counter ticks. */
    uint64_t hpet_base;
    uint32_t hpet_block_id;
    uint16_t hpet_min_tick;
    /* A PCI host bridge (config mechanism #1, bus 0): the DSDT then has \_SB.PCI0 with its
     * I/O and memory windows and a _PRT routing slot s, pin A to GSI intx_gsi_base +
     * s % intx_gsi_count (Linux scans PCI only through ACPI once ACPI is on). */
    bool pci_host;
    uint32_t pci_mmio32_base, pci_mmio32_size;
    uint64_t pci_mmio64_base, pci_mmio64_size;
    uint32_t pci_intx_gsi_base, pci_intx_gsi_count;
};

/* Offsets inside the buffer. */
#define ACPI_OFF_RSDP  0x000u
#define ACPI_OFF_XSDT  0x040u
#define ACPI_OFF_RSDT  0x0c0u
#define ACPI_OFF_FADT  0x100u
#define ACPI_OFF_FACS  0x240u
#define ACPI_OFF_MADT  0x280u      /* up to 0x840 bytes for ACPI_BUILD_MAX_VCPUS */
#define ACPI_OFF_HPET  0xc00u
#define ACPI_OFF_DSDT  0x1000u

/*
 * Fills buf (ACPI_BUILD_SIZE bytes) with tables that will live at guest-physical base
 * (16-byte aligned, below 4 GiB); the RSDP is at base.  False when p->vcpus is 0 or above
 * ACPI_BUILD_MAX_VCPUS, base is unusable, or a PCI window is empty or wraps.
 */
bool acpi_build(uint8_t *buf, uint64_t base, const struct acpi_platform *p);

#endif
