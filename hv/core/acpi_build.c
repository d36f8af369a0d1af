#include "hv/core/acpi_build.h"

#include <string.h>

#define SDT_HEADER_LEN 36u
#define RSDP_LEN       36u
#define FADT_LEN       276u             /* ACPI 6.x */
#define FACS_LEN       64u
#define MADT_FLAG_PCAT_COMPAT 1u

#define FADT_WBINVD        (1u << 0)
#define FADT_PWR_BUTTON    (1u << 4)    /* power button is a control method (none here) */
#define FADT_SLP_BUTTON    (1u << 5)
#define FADT_HW_REDUCED    (1u << 20)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t checksum(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;
    while (len--)
        sum = (uint8_t)(sum + *p++);
    return (uint8_t)-sum;
}

static void sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "ATOLL ", 6);
    memcpy(t + 16, "ATOLLPRT", 8);
    put32(t + 24, 1);
    memcpy(t + 28, "ATOL", 4);
    put32(t + 32, 1);
}

static void sdt_finish(uint8_t *t)
{
    uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
                   (uint32_t)t[7] << 24;
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* Generic Address Structure for an I/O port block. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t bytes)
{
    g[0] = 1;
    g[1] = (uint8_t)(bytes * 8);
    g[2] = 0;
    g[3] = bytes == 4 ? 3 : bytes == 2 ? 2 : 1;
    put64(g + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t base, const struct acpi_platform *p)
{
    sdt_header(t, "FACP", FADT_LEN, 6);
    uint64_t dsdt = base + ACPI_OFF_DSDT;
    put32(t + 40, (uint32_t)dsdt);
    put64(t + 140, dsdt);
    uint32_t flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
    if (p->hw_reduced) {
        flags |= FADT_HW_REDUCED;
    } else {
        uint64_t facs = base + ACPI_OFF_FACS;
        put32(t + 36, (uint32_t)facs);
        put64(t + 132, facs);
        put16(t + 46, p->sci_irq);
        put32(t + 56, p->pm1_base);
        put32(t + 64, p->pm1_base + 4u);
        t[88] = 4;              /* PM1_EVT_LEN */
        t[89] = 2;              /* PM1_CNT_LEN */
        gas_io(t + 148, p->pm1_base, 4);
        gas_io(t + 172, (uint16_t)(p->pm1_base + 4u), 2);
        t[108] = 0x32;          /* CMOS century register */
    }
    put16(t + 109, BOOT_ARCH_VGA_NOT_PRESENT);
    put32(t + 112, flags);
    t[131] = 0;                 /* FADT minor version */
    sdt_finish(t);
}

static void build_facs(uint8_t *t)
{
    memcpy(t, "FACS", 4);
    put32(t + 4, FACS_LEN);
    t[32] = 2;                  /* version */
}

static uint32_t madt_entries(uint8_t *e, const struct acpi_platform *p)
{
    uint8_t *at = e;
    for (unsigned i = 0; i < p->vcpus; i++, at += 8) {
        at[0] = MADT_LAPIC, at[1] = 8, at[2] = (uint8_t)i, at[3] = (uint8_t)i;
        put32(at + 4, 1);       /* enabled */
    }
    at[0] = MADT_IOAPIC, at[1] = 12, at[2] = p->ioapic_id, at[3] = 0;
    put32(at + 4, p->ioapic_base);
    put32(at + 8, p->ioapic_gsi_base);
    at += 12;
    at[0] = MADT_OVERRIDE, at[1] = 10, at[2] = 0, at[3] = 0;    /* ISA IRQ 0 */
    put32(at + 4, p->pit_gsi);
    put16(at + 8, 0);           /* conforming: edge, active high */
    at += 10;
    at[0] = MADT_LAPIC_NMI, at[1] = 6, at[2] = 0xff;            /* every processor */
    put16(at + 3, 0);
    at[5] = 1;                  /* LINT1 */
    at += 6;
    return (uint32_t)(at - e);
}

static void build_madt(uint8_t *t, const struct acpi_platform *p)
{
    uint32_t len = SDT_HEADER_LEN + 8 + madt_entries(t + SDT_HEADER_LEN + 8, p);
    sdt_header(t, "APIC", len, 5);
    put32(t + 36, p->lapic_base);
    put32(t + 40, p->hw_reduced ? 0 : MADT_FLAG_PCAT_COMPAT);
    sdt_finish(t);
}

/* A DSDT whose only object is \_S5 = Package { 5, 5, 0, 0 }. */
static void build_dsdt(uint8_t *t)
{
    static const uint8_t aml[] = {
        0x08, '_', 'S', '5', '_',           /* NameOp "_S5_" */
        0x12, 0x08, 0x04,                   /* PackageOp, PkgLength 8, 4 elements */
        0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00, /* BytePrefix 5, BytePrefix 5, Zero, Zero */
    };
    sdt_header(t, "DSDT", SDT_HEADER_LEN + (uint32_t)sizeof(aml), 2);
    memcpy(t + SDT_HEADER_LEN, aml, sizeof(aml));
    sdt_finish(t);
}

static void build_xsdt(uint8_t *t, uint64_t base)
{
    sdt_header(t, "XSDT", SDT_HEADER_LEN + 16, 1);
    put64(t + SDT_HEADER_LEN, base + ACPI_OFF_FADT);
    put64(t + SDT_HEADER_LEN + 8, base + ACPI_OFF_MADT);
    sdt_finish(t);
}

static void build_rsdp(uint8_t *r, uint64_t base)
{
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "ATOLL ", 6);
    r[15] = 2;                  /* ACPI 2.0+: the XSDT is used */
    put32(r + 20, RSDP_LEN);
    put64(r + 24, base + ACPI_OFF_XSDT);
    r[8] = checksum(r, 20);
    r[32] = checksum(r, RSDP_LEN);
}

bool acpi_build(uint8_t *buf, uint64_t base, const struct acpi_platform *p)
{
    if (p->vcpus == 0 || p->vcpus > ACPI_BUILD_MAX_VCPUS || (base & 15) ||
        base > 0xffffffffull - ACPI_BUILD_SIZE)
        return false;
    memset(buf, 0, ACPI_BUILD_SIZE);
    build_rsdp(buf + ACPI_OFF_RSDP, base);
    build_xsdt(buf + ACPI_OFF_XSDT, base);
    build_fadt(buf + ACPI_OFF_FADT, base, p);
    if (!p->hw_reduced)
        build_facs(buf + ACPI_OFF_FACS);
    build_madt(buf + ACPI_OFF_MADT, p);
    build_dsdt(buf + ACPI_OFF_DSDT);
    return true;
}
