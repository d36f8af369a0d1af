#include "hv/core/loader/acpi_build.h"

#include <string.h>

#define SDT_HEADER_LEN 36u
#define RSDP_LEN       36u
#define FADT_LEN       276u             /* ACPI 6.x */
#define FACS_LEN       64u
#define HPET_LEN       56u
#define MADT_FLAG_PCAT_COMPAT 1u

#define FADT_WBINVD        (1u << 0)
#define FADT_PWR_BUTTON    (1u << 4)    /* power button is a control method (none here) */
#define FADT_SLP_BUTTON    (1u << 5)
#define FADT_TMR_VAL_EXT   (1u << 8)    /* the PM timer is 32 bits wide */
#define FADT_RESET_REG_SUP (1u << 10)
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
        put32(t + 76, p->pm1_base + 8u);        /* PM_TMR_BLK */
        t[88] = 4;              /* PM1_EVT_LEN */
        t[89] = 2;              /* PM1_CNT_LEN */
        t[91] = 4;              /* PM_TMR_LEN */
        gas_io(t + 148, p->pm1_base, 4);
        gas_io(t + 172, (uint16_t)(p->pm1_base + 4u), 2);
        gas_io(t + 208, (uint16_t)(p->pm1_base + 8u), 4);
        flags |= FADT_TMR_VAL_EXT;
        t[108] = 0x32;          /* CMOS century register */
    }
    if (p->reset_port) {
        gas_io(t + 116, p->reset_port, 1);      /* RESET_REG */
        t[128] = p->reset_value;
        flags |= FADT_RESET_REG_SUP;
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

/* IA-PC HPET 1.0a, 3.2.4: one event timer block, 4 KiB page protection absent. */
static void build_hpet(uint8_t *t, const struct acpi_platform *p)
{
    sdt_header(t, "HPET", HPET_LEN, 1);
    put32(t + 36, p->hpet_block_id);
    t[40] = 0;                  /* GAS: system memory, 64-bit register width */
    t[41] = 64;
    t[42] = 0;
    t[43] = 0;
    put64(t + 44, p->hpet_base);
    t[52] = 0;                  /* HPET number */
    put16(t + 53, p->hpet_min_tick);
    t[55] = 0;                  /* no page protection */
    sdt_finish(t);
}

/* ---- DSDT: a little AML writer ------------------------------------------------------ */

struct aml {
    uint8_t *p;
    uint32_t len, cap;
    bool overflow;
};

static void aml_put(struct aml *a, const void *src, uint32_t n)
{
    if (n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->p + a->len, src, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b) { aml_put(a, &b, 1); }

/* An object whose PkgLength covers what follows: open, write the body, close. */
static uint32_t aml_open(struct aml *a) { return a->len; }

static void aml_close(struct aml *a, uint32_t start)
{
    uint32_t body = a->len - start;
    uint32_t n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : 3;
    uint32_t total = body + n;
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memmove(a->p + start + n, a->p + start, body);
    a->len += n;
    uint8_t *q = a->p + start;
    if (n == 1) {
        q[0] = (uint8_t)total;
        return;
    }
    q[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
    q[1] = (uint8_t)(total >> 4);
    if (n == 3)
        q[2] = (uint8_t)(total >> 12);
}

static void aml_int(struct aml *a, uint64_t v)
{
    uint8_t b[9];
    unsigned n;
    if (v <= 1) {
        aml_byte(a, (uint8_t)v);            /* ZeroOp, OneOp */
        return;
    }
    if (v <= 0xff)
        b[0] = 0x0a, n = 1;
    else if (v <= 0xffff)
        b[0] = 0x0b, n = 2;
    else if (v <= 0xffffffffull)
        b[0] = 0x0c, n = 4;
    else
        b[0] = 0x0e, n = 8;
    put64(b + 1, v);
    aml_put(a, b, 1 + n);
}

static void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, 0x08);                      /* NameOp */
    aml_put(a, name, 4);
}

/* Name(_S5, Package { 5, 5, 0, 0 }): the S5 sleep type values. */
static void aml_s5(struct aml *a)
{
    aml_name(a, "_S5_");
    aml_byte(a, 0x12);                      /* PackageOp */
    uint32_t pkg = aml_open(a);
    aml_byte(a, 4);
    aml_int(a, 5), aml_int(a, 5), aml_int(a, 0), aml_int(a, 0);
    aml_close(a, pkg);
}

/* An address space descriptor (WordBusNumber/WordIO, DWord and QWord memory): a
 * producer with fixed minimum and maximum, granularity 0, no translation. */
static uint32_t address_desc(uint8_t *d, uint8_t type, uint8_t type_flags, unsigned width,
                             uint64_t min, uint64_t len)
{
    uint8_t tag = width == 2 ? 0x88 : width == 4 ? 0x87 : 0x8a;
    uint16_t body = (uint16_t)(3 + 5 * width);
    d[0] = tag;
    put16(d + 1, body);
    d[3] = type, d[4] = 0x0c, d[5] = type_flags;
    uint8_t *f = d + 6;
    uint64_t vals[5] = { 0, min, min + len - 1, 0, len };
    for (unsigned i = 0; i < 5; i++, f += width) {
        if (width == 2)
            put16(f, (uint16_t)vals[i]);
        else if (width == 4)
            put32(f, (uint32_t)vals[i]);
        else
            put64(f, vals[i]);
    }
    return 3u + body;
}

static uint32_t pci_resources(uint8_t *d, const struct acpi_platform *p)
{
    static const uint8_t cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
    uint32_t n = address_desc(d, 2, 0, 2, 0, 1);               /* bus 0 */
    memcpy(d + n, cf8, sizeof(cf8));
    n += sizeof(cf8);
    n += address_desc(d + n, 1, 3, 2, 0, 0xcf8);                /* I/O below 0xcf8 */
    n += address_desc(d + n, 1, 3, 2, 0xd00, 0x10000 - 0xd00);
    n += address_desc(d + n, 0, 1, 4, p->pci_mmio32_base, p->pci_mmio32_size);
    n += address_desc(d + n, 0, 1, 8, p->pci_mmio64_base, p->pci_mmio64_size);
    d[n++] = 0x79, d[n++] = 0;                                  /* EndTag */
    return n;
}

/* Package { address (slot << 16 | 0xffff), pin A, 0 (a GSI, no link device), GSI } per slot. */
static void aml_prt(struct aml *a, const struct acpi_platform *p)
{
    aml_name(a, "_PRT");
    aml_byte(a, 0x12);
    uint32_t prt = aml_open(a);
    aml_byte(a, 31);
    for (uint32_t slot = 1; slot < 32; slot++) {
        aml_byte(a, 0x12);
        uint32_t e = aml_open(a);
        aml_byte(a, 4);
        aml_int(a, slot << 16 | 0xffff);
        aml_int(a, 0), aml_int(a, 0);
        aml_int(a, p->pci_intx_gsi_base + slot % p->pci_intx_gsi_count);
        aml_close(a, e);
    }
    aml_close(a, prt);
}

/* Scope(\_SB) { Device(PCI0) { _HID PNP0A03, _UID 0, _BBN 0, _SEG 0, _CRS, _PRT } } */
static void aml_pci_host(struct aml *a, const struct acpi_platform *p)
{
    static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    uint8_t crs[160];       /* 130 bytes of descriptors */
    aml_byte(a, 0x10);                      /* ScopeOp */
    uint32_t scope = aml_open(a);
    aml_put(a, "\\_SB_", 5);
    aml_byte(a, 0x5b), aml_byte(a, 0x82);   /* DeviceOp */
    uint32_t dev = aml_open(a);
    aml_put(a, "PCI0", 4);
    aml_name(a, "_HID"), aml_put(a, pnp0a03, sizeof(pnp0a03));
    aml_name(a, "_UID"), aml_int(a, 0);
    aml_name(a, "_BBN"), aml_int(a, 0);
    aml_name(a, "_SEG"), aml_int(a, 0);
    uint32_t crs_len = pci_resources(crs, p);
    aml_name(a, "_CRS");
    aml_byte(a, 0x11);                      /* BufferOp */
    uint32_t buf = aml_open(a);
    aml_int(a, crs_len);
    aml_put(a, crs, crs_len);
    aml_close(a, buf);
    aml_prt(a, p);
    aml_close(a, dev);
    aml_close(a, scope);
}

static bool build_dsdt(uint8_t *t, const struct acpi_platform *p)
{
    struct aml a = { t + SDT_HEADER_LEN, 0, ACPI_BUILD_SIZE - ACPI_OFF_DSDT - SDT_HEADER_LEN, false };
    aml_s5(&a);
    if (p->pci_host)
        aml_pci_host(&a, p);
    if (a.overflow)
        return false;
    sdt_header(t, "DSDT", SDT_HEADER_LEN + a.len, 2);
    sdt_finish(t);
    return true;
}

static bool pci_windows_ok(const struct acpi_platform *p)
{
    return !p->pci_host ||
           (p->pci_mmio32_size && p->pci_mmio32_base <= 0xffffffffu - (p->pci_mmio32_size - 1) &&
            p->pci_mmio64_size && p->pci_mmio64_base <= ~0ull - (p->pci_mmio64_size - 1) &&
            p->pci_intx_gsi_count);
}

/* The tables the XSDT and RSDT list; returns how many. */
static unsigned listed_tables(uint64_t base, const struct acpi_platform *p, uint64_t out[3])
{
    unsigned n = 0;
    out[n++] = base + ACPI_OFF_FADT;
    out[n++] = base + ACPI_OFF_MADT;
    if (p->hpet_base)
        out[n++] = base + ACPI_OFF_HPET;
    return n;
}

static void build_xsdt(uint8_t *t, uint64_t base, const struct acpi_platform *p)
{
    uint64_t tables[3];
    unsigned n = listed_tables(base, p, tables);
    sdt_header(t, "XSDT", SDT_HEADER_LEN + 8 * n, 1);
    for (unsigned i = 0; i < n; i++)
        put64(t + SDT_HEADER_LEN + 8 * i, tables[i]);
    sdt_finish(t);
}

static void build_rsdt(uint8_t *t, uint64_t base, const struct acpi_platform *p)
{
    uint64_t tables[3];
    unsigned n = listed_tables(base, p, tables);
    sdt_header(t, "RSDT", SDT_HEADER_LEN + 4 * n, 1);
    for (unsigned i = 0; i < n; i++)
        put32(t + SDT_HEADER_LEN + 4 * i, (uint32_t)tables[i]);
    sdt_finish(t);
}

static void build_rsdp(uint8_t *r, uint64_t base)
{
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "ATOLL ", 6);
    r[15] = 2;                  /* ACPI 2.0+: the XSDT is used, the RSDT for 1.0 readers */
    put32(r + 16, (uint32_t)(base + ACPI_OFF_RSDT));
    put32(r + 20, RSDP_LEN);
    put64(r + 24, base + ACPI_OFF_XSDT);
    r[8] = checksum(r, 20);
    r[32] = checksum(r, RSDP_LEN);
}

bool acpi_build(uint8_t *buf, uint64_t base, const struct acpi_platform *p)
{
    if (p->vcpus == 0 || p->vcpus > ACPI_BUILD_MAX_VCPUS || (base & 15) ||
        base > 0xffffffffull - ACPI_BUILD_SIZE || !pci_windows_ok(p))
        return false;
    memset(buf, 0, ACPI_BUILD_SIZE);
    build_rsdp(buf + ACPI_OFF_RSDP, base);
    build_xsdt(buf + ACPI_OFF_XSDT, base, p);
    build_rsdt(buf + ACPI_OFF_RSDT, base, p);
    build_fadt(buf + ACPI_OFF_FADT, base, p);
    if (!p->hw_reduced)
        build_facs(buf + ACPI_OFF_FACS);
    build_madt(buf + ACPI_OFF_MADT, p);
    if (p->hpet_base)
        build_hpet(buf + ACPI_OFF_HPET, p);
    return build_dsdt(buf + ACPI_OFF_DSDT, p);
}
