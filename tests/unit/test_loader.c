/* The flat, Multiboot and ELF64 loaders: images below 1 MiB load wherever the platform
 * puts nothing, and are refused where it does; every boot method leaves ACPI tables that
 * the BIOS-area scan finds (EBDA pointer at 0x40E, RSDP in the EBDA and at 0xe0000) and
 * that the hypervisor's own ACPI parser reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/acpi/acpi_tables.h"
#include "hv/core/loader/loader_common.h"

#define RAM (8u << 20)
static uint8_t ram[RAM];
static uint8_t image[0x3000];
static char err[160];

static bool w(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    (void)ctx;
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memcpy(ram + gpa, buf, len);
    return true;
}

static bool z(void *ctx, uint64_t gpa, size_t len)
{
    (void)ctx;
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memset(ram + gpa, 0, len);
    return true;
}

static const struct guest_image_target target = { .write = w, .zero = z, .ram_bytes = RAM, .vcpus = 2 };

static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t r16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* A Multiboot ELF32 image: one segment (the whole file) at paddr, memsz = file + bss. */
static struct loader_input multiboot_image(uint32_t paddr, uint32_t bss)
{
    memset(image, 0, sizeof(image));
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 1, image[5] = 1, image[6] = 1;
    w16(image + 16, 2), w16(image + 18, 3), w32(image + 20, 1);
    w32(image + 24, paddr + 0x100);                         /* entry */
    w32(image + 28, 52);                                    /* phoff */
    w16(image + 40, 52), w16(image + 42, 32), w16(image + 44, 1);
    uint8_t *ph = image + 52;
    w32(ph, 1), w32(ph + 4, 0), w32(ph + 8, paddr), w32(ph + 12, paddr);
    w32(ph + 16, sizeof(image)), w32(ph + 20, sizeof(image) + bss);
    w32(image + 96, 0x1badb002u), w32(image + 100, 0), w32(image + 104, -0x1badb002u);
    memcpy(image + 0x200, "payload", 7);
    return (struct loader_input){ image, sizeof(image), "mb.elf", NULL, 0, "x" };
}

static struct loader_input elf64_image(uint64_t paddr)
{
    memset(image, 0, sizeof(image));
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 2, image[5] = 1, image[6] = 1;
    w16(image + 16, 2), w16(image + 18, 62), w32(image + 20, 1);
    w64(image + 24, paddr + 0x100), w64(image + 32, 64);
    w16(image + 52, 64), w16(image + 54, 56), w16(image + 56, 1);
    uint8_t *ph = image + 64;
    w32(ph, 1), w64(ph + 8, 0), w64(ph + 16, paddr), w64(ph + 24, paddr);
    w64(ph + 32, sizeof(image)), w64(ph + 40, sizeof(image));
    return (struct loader_input){ image, sizeof(image), "x.elf64", NULL, 0, "" };
}

static void test_multiboot_image_at_0x8000_loads(void **state)
{
    (void)state;
    struct loader_input in = multiboot_image(0x8000, 0x10000);
    struct vcpu_start st;
    memset(ram, 0xaa, 0x20000);
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), 0);
    assert_memory_equal(ram + 0x8200, "payload", 7);
    assert_int_equal(ram[0x8000 + sizeof(image) + 0x100], 0);  /* bss zeroed */
    assert_int_equal(st.rip, 0x8100);
    assert_int_equal(st.mode, START_PROTECTED_32);
}

static void test_elf64_image_below_1mib_loads(void **state)
{
    (void)state;
    struct loader_input in = elf64_image(0x20000);
    struct vcpu_start st;
    assert_int_equal(load_elf64(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.rip, 0x20100);
}

static void refused(uint32_t paddr, uint32_t bss, const char *what)
{
    struct loader_input in = multiboot_image(paddr, bss);
    struct vcpu_start st;
    err[0] = 0;
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), -1);
    if (!strstr(err, what))
        fail_msg("segment at %#x: '%s' does not name '%s'", paddr, err, what);
}

static void test_low_segments_over_the_platform_refused(void **state)
{
    (void)state;
    refused(0x0, 0, "BIOS data area");                     /* runs over 0x400-0x4ff */
    refused(0x480, 0, "BIOS data area");
    refused(0x6a000, 0, "boot information");                /* into the start-up stack */
    refused(0x6e000, 0, "boot information");
    refused(0x74000, 0, "boot information");                /* the page tables */
    refused(0x9e000, 0, "EBDA");
    refused(0xd0000, 0x20000, "EBDA");                      /* bss into the BIOS area */
    refused(0xfffff000u, 0, "memory");
    struct loader_input in = multiboot_image(0x500, 0);
    struct vcpu_start st;
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), 0);
    in = multiboot_image(0x76000, 0x26000);                 /* up to the EBDA exactly */
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), 0);
    in = multiboot_image(0x100000, 0);
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), 0);
}

static void test_reserved_overlap_edges(void **state)
{
    (void)state;
    assert_null(loader_reserved_overlap(0x500, 0x6bb00));
    assert_non_null(loader_reserved_overlap(0x500, 0x6bb01));
    assert_null(loader_reserved_overlap(0x76000, 0x9fc00 - 0x76000));
    assert_non_null(loader_reserved_overlap(0x76000, 0x9fc01 - 0x76000));
    assert_null(loader_reserved_overlap(0x100000, ~0ull - 0x100000));
    assert_non_null(loader_reserved_overlap(0x0, ~0ull));
    assert_null(loader_reserved_overlap(0x400, 0));
}

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
    (void)ctx;
    if (phys > RAM || len > RAM - phys)
        return NULL;
    return ram + phys;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* What an OS does without a boot-protocol pointer: the EBDA's first KiB, then the BIOS area. */
static uint64_t bios_scan(void)
{
    uint64_t ebda = (uint64_t)r16(ram + 0x40e) << 4;
    assert_int_equal(ebda, 0x9fc00);
    for (uint64_t a = ebda; a < ebda + 1024; a += 16)
        if (!memcmp(ram + a, "RSD PTR ", 8) && sum(ram + a, 20) == 0)
            return a;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (!memcmp(ram + a, "RSD PTR ", 8) && sum(ram + a, 20) == 0)
            return a;
    return 0;
}

static void acpi_found(uint64_t tables)
{
    uint64_t rsdp = bios_scan();
    assert_int_not_equal(rsdp, 0);
    assert_int_equal(sum(ram + rsdp, 36), 0);
    struct acpi_info info;
    char why[160] = "";
    if (acpi_parse(rsdp, map, NULL, &info, why, sizeof(why)) != 0)
        fail_msg("acpi_parse: %s", why);
    assert_true(info.via_xsdt);
    assert_true(info.have_fadt && info.have_madt && info.have_hpet);
    assert_int_equal(info.cpu_count, 2);
    assert_int_equal(info.hpet_address, 0xfed00000u);
    assert_int_equal(info.fadt.pm_timer.address, 0x608);
    assert_int_equal(info.fadt.dsdt, tables + 0x1000);
    assert_true(info.fadt.reset_supported);             /* RESET_REG: 0x06 to port 0xcf9 */
    assert_int_equal(info.fadt.reset_reg.address, 0xcf9);
    assert_int_equal(info.fadt.reset_value, 6);
}

static void test_acpi_for_multiboot(void **state)
{
    (void)state;
    memset(ram, 0, 0x100000);
    struct loader_input in = multiboot_image(0x100000, 0);
    struct vcpu_start st;
    assert_int_equal(load_multiboot(&target, &in, &st, err, sizeof(err)), 0);
    acpi_found(LOADER_ACPI_TABLES);
    assert_memory_equal(ram + 0xe0000, "RSD PTR ", 8);      /* in the BIOS area too */
}

static void test_acpi_for_elf64(void **state)
{
    (void)state;
    memset(ram, 0, 0x100000);
    struct loader_input in = elf64_image(0x100000);
    struct vcpu_start st;
    assert_int_equal(load_elf64(&target, &in, &st, err, sizeof(err)), 0);
    acpi_found(LOADER_ACPI_TABLES);
}

static void test_acpi_for_flat(void **state)
{
    (void)state;
    memset(ram, 0, 0x100000);
    static uint8_t rom[0x20000];
    memset(rom, 0x90, sizeof(rom));
    struct loader_input in = { rom, sizeof(rom), "x.flat", NULL, 0, "" };
    struct vcpu_start st;
    assert_int_equal(load_flat(&target, &in, &st, err, sizeof(err)), 0);
    acpi_found(LOADER_ACPI_TABLES_FLAT);
    assert_memory_equal(ram + 0xe0000, rom, sizeof(rom));  /* the image is intact */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiboot_image_at_0x8000_loads),
        cmocka_unit_test(test_elf64_image_below_1mib_loads),
        cmocka_unit_test(test_low_segments_over_the_platform_refused),
        cmocka_unit_test(test_reserved_overlap_edges),
        cmocka_unit_test(test_acpi_for_multiboot),
        cmocka_unit_test(test_acpi_for_elf64),
        cmocka_unit_test(test_acpi_for_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
