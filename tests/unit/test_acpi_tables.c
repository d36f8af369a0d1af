#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/acpi/acpi_tables.h"

/* Synthetic "physical memory": MEM_SIZE bytes at MEM_BASE, in an exact-size heap block so
 * ASan catches any read past the window. */
#define MEM_BASE 0xe0000ull
#define MEM_SIZE 0x10000ull

static uint8_t *mem;
static uint64_t mem_limit;      /* readable window end (phys); lowered to truncate */

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
    if (phys < MEM_BASE || len > mem_limit - MEM_BASE || phys - MEM_BASE > mem_limit - MEM_BASE - len)
        return NULL;
    return mem + (phys - MEM_BASE);
}

static uint8_t *at(uint64_t phys)
{
    return mem + (phys - MEM_BASE);
}

static void w16(uint64_t phys, uint16_t v) { memcpy(at(phys), &v, 2); }
static void w32(uint64_t phys, uint32_t v) { memcpy(at(phys), &v, 4); }
static void w64(uint64_t phys, uint64_t v) { memcpy(at(phys), &v, 8); }

static void fix_checksum(uint64_t phys, uint32_t len, uint32_t csum_off)
{
    uint8_t s = 0;
    if (len > MEM_BASE + MEM_SIZE - phys)
        len = (uint32_t)(MEM_BASE + MEM_SIZE - phys); /* for deliberately bad lengths */
    at(phys)[csum_off] = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + at(phys)[i]);
    at(phys)[csum_off] = (uint8_t)-s;
}

/* Writes an SDT header for a table whose body is already at phys + 36. */
static void sdt(uint64_t phys, const char *sig, uint32_t len)
{
    memcpy(at(phys), sig, 4);
    w32(phys + 4, len);
    at(phys)[8] = 2;
    memcpy(at(phys) + 10, "ATOLL ", 6);
    fix_checksum(phys, len, 9);
}

static void rsdp(uint64_t phys, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
    memcpy(at(phys), "RSD PTR ", 8);
    memcpy(at(phys) + 9, "BOCHS ", 6);
    at(phys)[15] = rev;
    w32(phys + 16, rsdt);
    fix_checksum(phys, 20, 8);
    if (rev >= 2) {
        w32(phys + 20, 36);
        w64(phys + 24, xsdt);
        fix_checksum(phys, 36, 32);
    }
}

#define RSDP_AT 0xe0000ull
#define XSDT_AT 0xe1000ull
#define RSDT_AT 0xe1800ull
#define MADT_AT 0xe2000ull
#define FADT_AT 0xe3000ull
#define HPET_AT 0xe4000ull
#define SSDT_AT 0xe5000ull

static uint32_t madt_len;

static uint32_t madt_entry(uint32_t off, const uint8_t *e, uint8_t len)
{
    memcpy(at(MADT_AT + off), e, len);
    return off + len;
}

static void build_madt(void)
{
    uint32_t off = 44;
    w32(MADT_AT + 36, 0xfee00000);
    w32(MADT_AT + 40, 1);
    const uint8_t lapic0[8] = { 0, 8, 0, 0, 1, 0, 0, 0 };
    const uint8_t lapic1[8] = { 0, 8, 1, 2, 0, 0, 0, 0 };           /* disabled */
    const uint8_t lapic2[8] = { 0, 8, 2, 4, 2, 0, 0, 0 };           /* online capable */
    const uint8_t lapic_ff[8] = { 0, 8, 3, 0xff, 1, 0, 0, 0 };      /* see x2APIC */
    const uint8_t lapic_dup[8] = { 0, 8, 9, 0, 1, 0, 0, 0 };        /* same APIC ID as cpu 0 */
    const uint8_t ioapic[12] = { 1, 12, 2, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0 };
    const uint8_t iso0[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
    const uint8_t iso9[10] = { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0 };
    const uint8_t nmi[6] = { 4, 6, 0xff, 5, 0, 1 };
    const uint8_t x2[16] = { 9, 16, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0 };
    const uint8_t unknown[3] = { 0x7f, 3, 0 };
    off = madt_entry(off, lapic0, 8);
    off = madt_entry(off, lapic1, 8);
    off = madt_entry(off, lapic2, 8);
    off = madt_entry(off, lapic_ff, 8);
    off = madt_entry(off, lapic_dup, 8);
    off = madt_entry(off, ioapic, 12);
    off = madt_entry(off, iso0, 10);
    off = madt_entry(off, iso9, 10);
    off = madt_entry(off, nmi, 6);
    off = madt_entry(off, x2, 16);
    off = madt_entry(off, unknown, 3);
    madt_len = off;
    sdt(MADT_AT, "APIC", madt_len);
}

static void build_fadt(uint32_t len)
{
    memset(at(FADT_AT), 0, 276);
    w32(FADT_AT + 36, 0xe6000);      /* FACS */
    w32(FADT_AT + 40, 0xe7000);      /* DSDT */
    w16(FADT_AT + 46, 9);            /* SCI */
    w32(FADT_AT + 48, 0xb2);
    at(FADT_AT)[52] = 0xf1;
    at(FADT_AT)[53] = 0xf0;
    w32(FADT_AT + 64, 0xb004);       /* PM1a_CNT_BLK */
    w32(FADT_AT + 76, 0xb008);       /* PM_TMR_BLK */
    at(FADT_AT)[89] = 2;             /* PM1_CNT_LEN */
    at(FADT_AT)[91] = 4;             /* PM_TMR_LEN */
    at(FADT_AT)[108] = 0x32;         /* century */
    w16(FADT_AT + 109, 0x3);
    w32(FADT_AT + 112, ACPI_FADT_PM_TIMER_32BIT | ACPI_FADT_RESET_REG_SUP);
    const uint8_t reset[12] = { 1, 8, 0, 1, 0xf9, 0x0c, 0, 0, 0, 0, 0, 0 };
    memcpy(at(FADT_AT + 116), reset, 12);
    at(FADT_AT)[128] = 6;
    w64(FADT_AT + 140, 0x7fe1000);   /* X_DSDT */
    const uint8_t x_tmr[12] = { 1, 32, 0, 3, 0x08, 0x06, 0, 0, 0, 0, 0, 0 };
    memcpy(at(FADT_AT + 208), x_tmr, 12);
    sdt(FADT_AT, "FACP", len);
}

static void build_hpet(uint8_t space)
{
    w32(HPET_AT + 36, 0x8086a201);
    const uint8_t base[12] = { space, 64, 0, 0, 0x00, 0x00, 0xd0, 0xfe, 0, 0, 0, 0 };
    memcpy(at(HPET_AT + 40), base, 12);
    at(HPET_AT)[52] = 0;
    w16(HPET_AT + 53, 0x80);
    sdt(HPET_AT, "HPET", 56);
}

static void build_roots(void)
{
    const uint64_t tables[] = { FADT_AT, SSDT_AT, MADT_AT, HPET_AT };
    for (int i = 0; i < 4; i++) {
        w64(XSDT_AT + 36 + 8 * i, tables[i]);
        w32(RSDT_AT + 36 + 4 * i, (uint32_t)tables[i]);
    }
    sdt(XSDT_AT, "XSDT", 36 + 8 * 4);
    sdt(RSDT_AT, "RSDT", 36 + 4 * 4);
}

static void build_system(void)
{
    memset(mem, 0, MEM_SIZE);
    mem_limit = MEM_BASE + MEM_SIZE;
    build_madt();
    build_fadt(276);
    build_hpet(0);
    sdt(SSDT_AT, "SSDT", 40);
    build_roots();
    rsdp(RSDP_AT, 2, RSDT_AT, XSDT_AT);
}

static struct acpi_info info;
static char err[256];

static int parse(void)
{
    err[0] = 0;
    return acpi_parse(RSDP_AT, map, NULL, &info, err, sizeof(err));
}

static void expect_error(const char *message)
{
    assert_int_equal(parse(), -1);
    assert_string_equal(err, message);
}

static int setup(void **state)
{
    mem = malloc(MEM_SIZE);
    return mem ? 0 : -1;
}

static int teardown(void **state)
{
    free(mem);
    return 0;
}

static void full_system_test(void **state)
{
    build_system();
    assert_int_equal(parse(), 0);
    assert_true(info.via_xsdt);
    assert_int_equal(info.revision, 2);
    assert_string_equal(info.oem_id, "BOCHS ");
    assert_true(info.have_madt);
    assert_int_equal(info.madt_flags, 1);
    assert_int_equal(info.lapic_address, 0xfee00000);
    assert_int_equal(info.cpu_count, 4);
    assert_int_equal(info.cpus[0].apic_id, 0);
    assert_true(info.cpus[0].enabled);
    assert_int_equal(info.cpus[1].apic_id, 2);
    assert_false(info.cpus[1].enabled);
    assert_int_equal(info.cpus[1].acpi_uid, 1);
    assert_int_equal(info.cpus[2].apic_id, 4);
    assert_false(info.cpus[2].enabled);
    assert_true(info.cpus[2].online_capable);
    assert_int_equal(info.cpus[3].apic_id, 256);
    assert_true(info.cpus[3].x2apic);
    assert_true(info.cpus[3].enabled);
    assert_int_equal(info.cpus[3].acpi_uid, 7);
    assert_int_equal(info.ioapic_count, 1);
    assert_int_equal(info.ioapics[0].id, 2);
    assert_int_equal(info.ioapics[0].address, 0xfec00000);
    assert_int_equal(info.ioapics[0].gsi_base, 0);
    assert_int_equal(info.override_count, 2);
    assert_int_equal(info.overrides[0].source, 0);
    assert_int_equal(info.overrides[0].gsi, 2);
    assert_int_equal(info.overrides[1].source, 9);
    assert_int_equal(info.overrides[1].gsi, 9);
    assert_int_equal(info.overrides[1].flags, 0xd);

    assert_true(info.have_fadt);
    assert_int_equal(info.fadt.sci_irq, 9);
    assert_int_equal(info.fadt.smi_cmd, 0xb2);
    assert_int_equal(info.fadt.acpi_enable, 0xf1);
    assert_int_equal(info.fadt.facs, 0xe6000);
    assert_int_equal(info.fadt.dsdt, 0x7fe1000);
    assert_int_equal(info.fadt.pm1a_control.space, ACPI_SPACE_IO);
    assert_int_equal(info.fadt.pm1a_control.address, 0xb004);
    assert_int_equal(info.fadt.pm1a_control.bit_width, 16);
    assert_int_equal(info.fadt.pm1b_control.address, 0);
    assert_int_equal(info.fadt.pm_timer.address, 0x608);   /* X_PM_TMR_BLK wins */
    assert_int_equal(info.fadt.pm_timer.bit_width, 32);
    assert_true(info.fadt.pm_timer_32bit);
    assert_int_equal(info.fadt.century, 0x32);
    assert_int_equal(info.fadt.boot_arch, 3);
    assert_true(info.fadt.reset_supported);
    assert_int_equal(info.fadt.reset_reg.space, ACPI_SPACE_IO);
    assert_int_equal(info.fadt.reset_reg.address, 0xcf9);
    assert_int_equal(info.fadt.reset_value, 6);

    assert_true(info.have_hpet);
    assert_int_equal(info.hpet_address, 0xfed00000);
    assert_int_equal(info.hpet_block_id, 0x8086a201);
    assert_int_equal(info.hpet_min_tick, 0x80);
}

static void acpi1_rsdt_test(void **state)
{
    build_system();
    build_fadt(116);                     /* ACPI 1.0 FADT: legacy blocks only */
    build_roots();
    rsdp(RSDP_AT, 0, RSDT_AT, 0);
    memset(at(RSDP_AT + 20), 0xee, 16);  /* v1 RSDP: bytes past 20 are not read */
    assert_int_equal(parse(), 0);
    assert_false(info.via_xsdt);
    assert_int_equal(info.fadt.pm_timer.address, 0xb008);
    assert_int_equal(info.fadt.pm_timer.space, ACPI_SPACE_IO);
    assert_int_equal(info.fadt.dsdt, 0xe7000);
    assert_false(info.fadt.reset_supported);
    assert_int_equal(info.cpu_count, 4);

    /* revision 2 with no XSDT address falls back to the RSDT */
    rsdp(RSDP_AT, 2, RSDT_AT, 0);
    assert_int_equal(parse(), 0);
    assert_false(info.via_xsdt);
}

static void rsdp_errors_test(void **state)
{
    build_system();
    at(RSDP_AT)[0] = 'X';
    expect_error("acpi: RSDP at 0xe0000 has no 'RSD PTR ' signature");
    build_system();
    at(RSDP_AT)[9] ^= 1;
    expect_error("acpi: RSDP at 0xe0000: checksum is wrong");
    build_system();
    at(RSDP_AT)[30] ^= 1;
    expect_error("acpi: RSDP at 0xe0000: extended checksum is wrong");
    build_system();
    w32(RSDP_AT + 20, 20);
    fix_checksum(RSDP_AT, 20, 8);
    expect_error("acpi: RSDP at 0xe0000: extended length 20 is bad or unreadable");
    assert_int_equal(acpi_parse(0, map, NULL, &info, err, sizeof(err)), -1);
    assert_string_equal(err, "acpi: RSDP at 0 is not in readable memory");
    assert_int_equal(acpi_parse(MEM_BASE + MEM_SIZE - 10, map, NULL, &info, err, sizeof(err)), -1);
    assert_string_equal(err, "acpi: RSDP at 0xefff6 is not in readable memory");
}

static void table_errors_test(void **state)
{
    build_system();
    *at(XSDT_AT + 20) ^= 1;
    expect_error("acpi: XSDT at 0xe1000: checksum is wrong");

    build_system();
    w64(XSDT_AT + 36 + 8, 0x12345678);
    sdt(XSDT_AT, "XSDT", 36 + 32);
    expect_error("acpi: root table entry 0x12345678 is not in readable memory");

    build_system();
    w64(XSDT_AT + 36 + 8, 0);
    sdt(XSDT_AT, "XSDT", 36 + 32);
    expect_error("acpi: root table entry 0 is not in readable memory");

    build_system();
    sdt(XSDT_AT, "XSDT", 36 + 31);
    expect_error("acpi: XSDT: length 67 is not a header plus whole entries");

    build_system();
    sdt(XSDT_AT, "XSDT", 20);
    expect_error("acpi: XSDT at 0xe1000: length 20 is out of range");

    build_system();
    sdt(XSDT_AT, "XSDT", 0x7fffffff);
    expect_error("acpi: XSDT at 0xe1000: length 2147483647 is out of range");

    build_system();
    sdt(XSDT_AT, "XSDT", 0x20000);
    expect_error("acpi: XSDT at 0xe1000: its 131072 bytes are not in readable memory");

    build_system();
    sdt(XSDT_AT, "XSDT", 36 + 8 * 257);
    expect_error("acpi: XSDT: 257 entries, more than 256");

    build_system();
    rsdp(RSDP_AT, 2, RSDT_AT, MADT_AT);
    expect_error("acpi: table at 0xe2000 is 'APIC', expected 'XSDT'");

    build_system();
    *at(MADT_AT + 50) ^= 1;
    expect_error("acpi: APIC at 0xe2000: checksum is wrong");
}

static void madt_errors_test(void **state)
{
    build_system();
    *at(MADT_AT + 44 + 1) = 0;
    sdt(MADT_AT, "APIC", madt_len);
    expect_error("acpi: MADT: entry type 0 at offset 44 has bad length 0");

    build_system();
    *at(MADT_AT + 44 + 1) = 7;   /* a LAPIC entry needs 8 */
    sdt(MADT_AT, "APIC", madt_len);
    expect_error("acpi: MADT: entry type 0 at offset 44 has bad length 7");

    build_system();
    sdt(MADT_AT, "APIC", madt_len - 1);   /* last entry (3 bytes) cut by one */
    char expect[96];
    snprintf(expect, sizeof(expect), "acpi: MADT: entry type 127 at offset %u has bad length 3",
             madt_len - 3);
    expect_error(expect);

    build_system();
    sdt(MADT_AT, "APIC", madt_len - 2);
    snprintf(expect, sizeof(expect), "acpi: MADT: entry at offset %u is cut off", madt_len - 3);
    expect_error(expect);

    build_system();
    sdt(MADT_AT, "APIC", 40);
    expect_error("acpi: MADT: length 40 is below 44");

    build_system();
    memcpy(at(MADT_AT), "APIX", 4);
    fix_checksum(MADT_AT, madt_len, 9);
    expect_error("acpi: no MADT (APIC) table");

    build_system();
    uint32_t off = 44;
    for (int i = 0; i < 17; i++) {
        const uint8_t io[12] = { 1, 12, (uint8_t)i, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0 };
        off = madt_entry(off, io, 12);
    }
    sdt(MADT_AT, "APIC", off);
    expect_error("acpi: MADT: more than 16 IOAPICs");
}

static void many_cpus_test(void **state)
{
    build_system();
    uint32_t off = 44;
    for (uint32_t i = 0; i < 300; i++) {
        uint8_t x2[16] = { 9, 16, 0, 0 };
        memcpy(x2 + 4, &i, 4);
        x2[8] = 1;
        off = madt_entry(off, x2, 16);
    }
    sdt(MADT_AT, "APIC", off);
    assert_int_equal(parse(), 0);
    assert_int_equal(info.cpu_count, ACPI_MAX_CPUS);
    assert_int_equal(info.cpus_dropped, 300 - ACPI_MAX_CPUS);
}

static void other_tables_test(void **state)
{
    build_system();
    build_hpet(1);
    expect_error("acpi: HPET: base address 0xfed00000 in space 1 is not a memory address");
    build_system();
    build_fadt(100);
    expect_error("acpi: FADT: length 100 is below 116");
    build_system();
    sdt(HPET_AT, "HPET", 50);
    expect_error("acpi: HPET: length 50 is below 56");
    /* a bad checksum in a table we do not use is not an error */
    build_system();
    *at(SSDT_AT + 9) ^= 1;
    assert_int_equal(parse(), 0);
}

/* Every readable-window size that cuts into the tables parses or fails, never reads past. */
static void truncated_memory_test(void **state)
{
    build_system();
    for (uint64_t end = MEM_BASE; end < HPET_AT + 64; end += 1) {
        mem_limit = end;
        int rc = parse();
        if (end < HPET_AT + 56)
            assert_int_equal(rc, -1);
        assert_true(rc == 0 || strncmp(err, "acpi: ", 6) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_system_test),
        cmocka_unit_test(acpi1_rsdt_test),
        cmocka_unit_test(rsdp_errors_test),
        cmocka_unit_test(table_errors_test),
        cmocka_unit_test(madt_errors_test),
        cmocka_unit_test(many_cpus_test),
        cmocka_unit_test(other_tables_test),
        cmocka_unit_test(truncated_memory_test),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
