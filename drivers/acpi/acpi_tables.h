/*
 * ACPI static tables: RSDP -> XSDT (or RSDT) -> MADT, FADT, HPET, into struct acpi_info.
 * Portable: memory is reached only through a map callback that returns a view of
 * [phys, phys+len) or NULL when that range may not be read, so hostile tables (bad lengths,
 * wrong checksums, truncation) give an error and never a read out of bounds.
 */
#ifndef ATOLL_DRIVERS_ACPI_ACPI_TABLES_H
#define ATOLL_DRIVERS_ACPI_ACPI_TABLES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS        256
#define ACPI_MAX_IOAPICS     16
#define ACPI_MAX_OVERRIDES   24
#define ACPI_MAX_TABLE_LEN   (1u << 20)   /* longer tables are refused */
#define ACPI_MAX_ROOT_ENTRIES 256

/* Returns a readable view of [phys, phys + len), or NULL. */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, uint64_t len);

enum acpi_space { ACPI_SPACE_MEMORY = 0, ACPI_SPACE_IO = 1 };

/* Generic Address Structure. */
struct acpi_gas {
    uint8_t space;                  /* enum acpi_space or other ACPI address space id */
    uint8_t bit_width, bit_offset, access_size;
    uint64_t address;               /* 0: not present */
};

struct acpi_cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;              /* processor id (xAPIC entries) or UID (x2APIC entries) */
    bool enabled;
    bool online_capable;
    bool x2apic;                    /* from a Local x2APIC entry */
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

struct acpi_override {
    uint8_t bus, source;            /* ISA IRQ */
    uint32_t gsi;
    uint16_t flags;                 /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
};

#define ACPI_FADT_PM_TIMER_32BIT (1u << 8)   /* TMR_VAL_EXT */
#define ACPI_FADT_RESET_REG_SUP  (1u << 10)
#define ACPI_FADT_HW_REDUCED     (1u << 20)

struct acpi_fadt {
    uint64_t dsdt, facs;
    uint16_t sci_irq;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable;
    struct acpi_gas pm1a_control, pm1b_control;
    struct acpi_gas pm_timer;
    bool pm_timer_32bit;
    uint8_t century;                /* CMOS index of the century, 0: none */
    uint16_t boot_arch;             /* IAPC_BOOT_ARCH */
    uint32_t flags;
    bool reset_supported;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
};

struct acpi_info {
    uint8_t revision;               /* RSDP revision: 0 = ACPI 1.0 (RSDT), 2+ = XSDT */
    bool via_xsdt;
    char oem_id[7];

    bool have_madt;
    uint64_t lapic_address;         /* after any LAPIC address override */
    uint32_t madt_flags;            /* bit 0: dual 8259 PICs present */
    uint32_t cpu_count;
    uint32_t cpus_dropped;          /* entries beyond ACPI_MAX_CPUS */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    uint32_t ioapic_count;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    uint32_t override_count;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];

    bool have_fadt;
    struct acpi_fadt fadt;

    bool have_hpet;
    uint64_t hpet_address;
    uint32_t hpet_block_id;
    uint8_t hpet_number;
    uint16_t hpet_min_tick;
};

/* Returns 0, or -1 with a one-line reason in err ("acpi: ..."). */
int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx, struct acpi_info *out,
               char *err, size_t err_size);

#endif
