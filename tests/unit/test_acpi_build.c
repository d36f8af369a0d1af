/* The partition's ACPI tables: checksums, and what the hypervisor's own ACPI parser
 * (drivers/acpi, which reads real firmware) finds in them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/acpi/acpi_tables.h"
#include "hv/core/loader/acpi_build.h"

#define BASE 0xe0000ull

static uint8_t tables[ACPI_BUILD_SIZE];

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
    (void)ctx;
    if (phys < BASE || phys - BASE > ACPI_BUILD_SIZE || len > ACPI_BUILD_SIZE - (phys - BASE))
        return NULL;
    return tables + (phys - BASE);
}

static struct acpi_platform platform(unsigned vcpus, bool hw_reduced)
{
    return (struct acpi_platform){
        .vcpus = vcpus, .lapic_base = 0xfee00000u, .ioapic_base = 0xfec00000u,
        .ioapic_id = 0, .ioapic_gsi_base = 0, .pit_gsi = 2, .hw_reduced = hw_reduced,
        .pm1_base = 0x600, .sci_irq = 9,
    };
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void parse(struct acpi_info *info)
{
    char err[160] = "";
    int rc = acpi_parse(BASE, map, NULL, info, err, sizeof(err));
    if (rc != 0)
        fail_msg("acpi_parse: %s", err);
}

static void test_checksums_and_signatures(void **state)
{
    (void)state;
    struct acpi_platform p = platform(4, false);
    assert_true(acpi_build(tables, BASE, &p));
    assert_memory_equal(tables + ACPI_OFF_RSDP, "RSD PTR ", 8);
    assert_int_equal(sum(tables + ACPI_OFF_RSDP, 20), 0);
    assert_int_equal(sum(tables + ACPI_OFF_RSDP, 36), 0);
    static const struct { uint32_t off; const char *sig; } t[] = {
        { ACPI_OFF_XSDT, "XSDT" }, { ACPI_OFF_FADT, "FACP" }, { ACPI_OFF_MADT, "APIC" },
        { ACPI_OFF_DSDT, "DSDT" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const uint8_t *h = tables + t[i].off;
        assert_memory_equal(h, t[i].sig, 4);
        assert_in_range(le32(h + 4), 36, ACPI_BUILD_SIZE - t[i].off);
        assert_int_equal(sum(h, le32(h + 4)), 0);
    }
    assert_int_equal(le32(tables + ACPI_OFF_FADT + 4), 276);
    assert_memory_equal(tables + ACPI_OFF_FACS, "FACS", 4);
}

static void test_classic_platform(void **state)
{
    (void)state;
    struct acpi_platform p = platform(2, false);
    assert_true(acpi_build(tables, BASE, &p));
    struct acpi_info info;
    parse(&info);
    assert_int_equal(info.revision, 2);
    assert_true(info.via_xsdt);
    assert_true(info.have_madt);
    assert_int_equal(info.lapic_address, 0xfee00000u);
    assert_int_equal(info.madt_flags & 1, 1);
    assert_int_equal(info.cpu_count, 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(info.cpus[i].apic_id, i);
        assert_true(info.cpus[i].enabled);
    }
    assert_int_equal(info.ioapic_count, 1);
    assert_int_equal(info.ioapics[0].address, 0xfec00000u);
    assert_int_equal(info.ioapics[0].gsi_base, 0);
    assert_int_equal(info.override_count, 1);
    assert_int_equal(info.overrides[0].source, 0);
    assert_int_equal(info.overrides[0].gsi, 2);
    assert_true(info.have_fadt);
    assert_int_equal(info.fadt.dsdt, BASE + ACPI_OFF_DSDT);
    assert_int_equal(info.fadt.facs, BASE + ACPI_OFF_FACS);
    assert_int_equal(info.fadt.sci_irq, 9);
    assert_int_equal(info.fadt.smi_cmd, 0);
    assert_int_equal(info.fadt.pm1a_control.address, 0x604);
    assert_int_equal(info.fadt.pm_timer.address, 0x608);
    assert_true(info.fadt.pm_timer_32bit);
    assert_int_equal(info.fadt.flags & ACPI_FADT_HW_REDUCED, 0);
    assert_false(info.have_hpet);
}

/* The PM timer block: the 32-bit PM_TMR_BLK, its length and the extended GAS agree. */
static void test_pm_timer_fields(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, false);
    assert_true(acpi_build(tables, BASE, &p));
    const uint8_t *fadt = tables + ACPI_OFF_FADT;
    assert_int_equal(le32(fadt + 76), 0x608);
    assert_int_equal(fadt[91], 4);
    assert_true(le32(fadt + 112) & (1u << 8));      /* TMR_VAL_EXT */
    assert_int_equal(fadt[208], 1);                 /* X_PM_TMR_BLK in I/O space, 32 bits */
    assert_int_equal(fadt[209], 32);
    assert_int_equal(le32(fadt + 212), 0x608);
}

static void test_reset_register(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, false);
    assert_true(acpi_build(tables, BASE, &p));
    const uint8_t *fadt = tables + ACPI_OFF_FADT;
    assert_int_equal(le32(fadt + 112) & (1u << 10), 0);     /* none asked for */
    p.reset_port = 0xcf9, p.reset_value = 6;
    assert_true(acpi_build(tables, BASE, &p));
    assert_true(le32(fadt + 112) & (1u << 10));             /* RESET_REG_SUP */
    assert_int_equal(fadt[116], 1);                         /* I/O space, 8 bits */
    assert_int_equal(fadt[117], 8);
    assert_int_equal(le32(fadt + 120), 0xcf9);
    assert_int_equal(fadt[128], 6);
    assert_int_equal(sum(fadt, 276), 0);
}

static void test_hpet_table(void **state)
{
    (void)state;
    struct acpi_platform p = platform(2, false);
    p.hpet_base = 0xfed00000u, p.hpet_block_id = 0x8086a201u, p.hpet_min_tick = 100;
    assert_true(acpi_build(tables, BASE, &p));
    struct acpi_info info;
    parse(&info);
    assert_true(info.have_hpet);
    assert_int_equal(info.hpet_address, 0xfed00000u);
    assert_int_equal(info.hpet_block_id, 0x8086a201u);
    assert_int_equal(info.hpet_min_tick, 100);
    const uint8_t *h = tables + ACPI_OFF_HPET;
    assert_int_equal(le32(h + 4), 56);
    assert_int_equal(sum(h, 56), 0);
    assert_true(info.have_madt && info.have_fadt);
}

/* ACPI 1.0 readers follow the RSDT: it lists the same tables as the XSDT. */
static void test_rsdt_matches_xsdt(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, false);
    p.hpet_base = 0xfed00000u;
    assert_true(acpi_build(tables, BASE, &p));
    const uint8_t *rsdp = tables + ACPI_OFF_RSDP;
    assert_int_equal(le32(rsdp + 16), BASE + ACPI_OFF_RSDT);
    assert_int_equal(sum(rsdp, 20), 0);
    assert_int_equal(sum(rsdp, 36), 0);
    const uint8_t *rsdt = tables + ACPI_OFF_RSDT, *xsdt = tables + ACPI_OFF_XSDT;
    assert_memory_equal(rsdt, "RSDT", 4);
    assert_int_equal(le32(rsdt + 4), 36 + 3 * 4);
    assert_int_equal(sum(rsdt, le32(rsdt + 4)), 0);
    assert_int_equal(le32(xsdt + 4), 36 + 3 * 8);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(le32(rsdt + 36 + 4 * i), le32(xsdt + 36 + 8 * i));
    assert_true(ACPI_OFF_RSDT + le32(rsdt + 4) <= ACPI_OFF_FADT);
    assert_true(ACPI_OFF_XSDT + le32(xsdt + 4) <= ACPI_OFF_RSDT);
}

static void test_hw_reduced_platform(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, true);
    assert_true(acpi_build(tables, BASE, &p));
    struct acpi_info info;
    parse(&info);
    assert_int_equal(info.cpu_count, 1);
    assert_int_equal(info.madt_flags & 1, 0);
    assert_true(info.fadt.flags & ACPI_FADT_HW_REDUCED);
    assert_int_equal(info.fadt.pm1a_control.address, 0);
    assert_int_equal(info.fadt.facs, 0);
}

static void test_most_vcpus(void **state)
{
    (void)state;
    struct acpi_platform p = platform(ACPI_BUILD_MAX_VCPUS, false);
    assert_true(acpi_build(tables, BASE, &p));
    struct acpi_info info;
    parse(&info);
    assert_int_equal(info.cpu_count, ACPI_BUILD_MAX_VCPUS);
    assert_int_equal(info.cpus[ACPI_BUILD_MAX_VCPUS - 1].apic_id, ACPI_BUILD_MAX_VCPUS - 1);
    assert_true(ACPI_OFF_MADT + le32(tables + ACPI_OFF_MADT + 4) <= ACPI_OFF_HPET);
}

static void test_refusals(void **state)
{
    (void)state;
    struct acpi_platform p = platform(0, false);
    assert_false(acpi_build(tables, BASE, &p));
    p.vcpus = ACPI_BUILD_MAX_VCPUS + 1;
    assert_false(acpi_build(tables, BASE, &p));
    p.vcpus = 1;
    assert_false(acpi_build(tables, BASE + 8, &p));
    assert_false(acpi_build(tables, 0xfffff000ull, &p));
}

static void test_dsdt_has_s5(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, false);
    assert_true(acpi_build(tables, BASE, &p));
    const uint8_t *aml = tables + ACPI_OFF_DSDT + 36;
    assert_int_equal(aml[0], 0x08);
    assert_memory_equal(aml + 1, "_S5_", 4);
    assert_int_equal(aml[5], 0x12);
    uint32_t aml_len = le32(tables + ACPI_OFF_DSDT + 4) - 36;
    assert_int_equal(aml[6], aml_len - 6);      /* PkgLength counts itself to the end */
    assert_int_equal(aml[7], 4);
}

/* AML PkgLength at p: returns the encoded total, *n gets how many bytes it took. */
static uint32_t pkg_length(const uint8_t *p, uint32_t *n)
{
    *n = 1u + (p[0] >> 6);
    if (*n == 1)
        return p[0] & 0x3f;
    uint32_t v = p[0] & 0xf;
    for (uint32_t i = 1; i < *n; i++)
        v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    return v;
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(hay + i, needle, n))
            return hay + i;
    return NULL;
}

static void test_dsdt_pci_host(void **state)
{
    (void)state;
    struct acpi_platform p = platform(2, false);
    p.pci_host = true;
    p.pci_mmio32_base = 0xe0000000u, p.pci_mmio32_size = 0x10000000u;
    p.pci_mmio64_base = 0x8000000000ull, p.pci_mmio64_size = 0x1000000000ull;
    p.pci_intx_gsi_base = 16, p.pci_intx_gsi_count = 8;
    assert_true(acpi_build(tables, BASE, &p));
    const uint8_t *dsdt = tables + ACPI_OFF_DSDT;
    uint32_t len = le32(dsdt + 4), n;
    assert_int_equal(sum(dsdt, len), 0);
    const uint8_t *scope = dsdt + 36 + 14;          /* after Name(_S5_, ...) */
    assert_int_equal(scope[0], 0x10);
    assert_int_equal(pkg_length(scope + 1, &n), dsdt + len - scope - 1);  /* runs to the end */
    assert_memory_equal(scope + 1 + n, "\\_SB_", 5);
    const uint8_t *dev = scope + 1 + n + 5;
    assert_int_equal(dev[0], 0x5b);
    assert_int_equal(dev[1], 0x82);
    assert_int_equal(pkg_length(dev + 2, &n), dsdt + len - dev - 2);
    assert_memory_equal(dev + 2 + n, "PCI0", 4);
    static const uint8_t hid[] = { '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    assert_non_null(find(dsdt, len, hid, sizeof(hid)));
    /* _CRS: a buffer ending with the end tag, holding the 32-bit window */
    const uint8_t *crs = find(dsdt, len, "_CRS", 4);
    assert_non_null(crs);
    assert_int_equal(crs[4], 0x11);
    uint32_t buf_len = pkg_length(crs + 5, &n);
    const uint8_t *buf_end = crs + 5 + buf_len;
    assert_int_equal(buf_end[-2], 0x79);
    static const uint8_t win32[] = { 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xef };
    assert_non_null(find(crs, (size_t)(buf_end - crs), win32, sizeof(win32)));
    /* _PRT: 31 entries; slot 5 pin A is GSI 21 */
    const uint8_t *prt = find(dsdt, len, "_PRT", 4);
    assert_non_null(prt);
    assert_int_equal(prt[4], 0x12);
    pkg_length(prt + 5, &n);
    assert_int_equal(prt[5 + n], 31);
    static const uint8_t slot5[] = { 0x0c, 0xff, 0xff, 0x05, 0x00, 0x00, 0x00, 0x0a, 21 };
    assert_non_null(find(prt, (size_t)(dsdt + len - prt), slot5, sizeof(slot5)));
}

static void test_pci_window_refusals(void **state)
{
    (void)state;
    struct acpi_platform p = platform(1, false);
    p.pci_host = true;
    p.pci_mmio32_base = 0xf0000000u, p.pci_mmio32_size = 0x20000000u;    /* wraps */
    p.pci_mmio64_base = 0x8000000000ull, p.pci_mmio64_size = 0x1000000000ull;
    p.pci_intx_gsi_base = 16, p.pci_intx_gsi_count = 8;
    assert_false(acpi_build(tables, BASE, &p));
    p.pci_mmio32_size = 0x1000000u;
    p.pci_intx_gsi_count = 0;
    assert_false(acpi_build(tables, BASE, &p));
    p.pci_intx_gsi_count = 8;
    assert_true(acpi_build(tables, BASE, &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksums_and_signatures),
        cmocka_unit_test(test_classic_platform),
        cmocka_unit_test(test_pm_timer_fields),
        cmocka_unit_test(test_hpet_table),
        cmocka_unit_test(test_reset_register),
        cmocka_unit_test(test_rsdt_matches_xsdt),
        cmocka_unit_test(test_hw_reduced_platform),
        cmocka_unit_test(test_most_vcpus),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dsdt_has_s5),
        cmocka_unit_test(test_dsdt_pci_host),
        cmocka_unit_test(test_pci_window_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
