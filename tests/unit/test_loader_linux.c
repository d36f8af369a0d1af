/* The Linux loader: a synthetic bzImage (64-bit boot protocol) and a synthetic vmlinux
 * (PVH note) are loaded into fake guest memory; the zero page, the start info, the e820
 * map, the initrd, the command line and the ACPI tables are checked byte by byte, and
 * hostile headers are refused with one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/loader/loader.h"

#define RAM (64ull << 20)
#define KERNEL_AT 0x1000000ull

static uint8_t *ram;
static uint8_t image[0x4000];
static uint8_t initrd[0x3000];
static char err[200];

static bool mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    (void)ctx;
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memcpy(ram + gpa, buf, len);
    return true;
}

static bool mem_zero(void *ctx, uint64_t gpa, size_t len)
{
    (void)ctx;
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memset(ram + gpa, 0, len);
    return true;
}

static struct guest_image_target target = { NULL, mem_write, mem_zero, RAM, 2, false };

static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t r16(uint64_t gpa) { uint16_t v; memcpy(&v, ram + gpa, 2); return v; }
static uint32_t r32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static uint64_t r64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM);
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 7 + 1);
    return ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

/* A bzImage: 2 setup sectors (boot sector + 1), then the protected-mode kernel. */
static size_t make_bzimage(void)
{
    memset(image, 0, sizeof(image));
    image[0x1f1] = 1;
    w16(image + 0x1fe, 0xaa55);
    image[0x200] = 0xeb, image[0x201] = 0x6a;
    memcpy(image + 0x202, "HdrS", 4);
    w16(image + 0x206, 0x20f);
    image[0x211] = 0x01;
    w32(image + 0x22c, 0x7fffffff);
    w32(image + 0x230, 0x200000);
    image[0x234] = 1;
    w16(image + 0x236, 0x7f);
    w32(image + 0x238, 2047);
    w64(image + 0x258, KERNEL_AT);
    w32(image + 0x260, 0x800000);
    for (size_t i = 0x400; i < sizeof(image); i++)
        image[i] = (uint8_t)(i ^ 0x5a);
    return sizeof(image);
}

static struct loader_input input(size_t len, const char *cmdline)
{
    return (struct loader_input){ image, len, "kernel", initrd, sizeof(initrd), cmdline };
}

static void check_e820_ranges(uint64_t at, unsigned stride, unsigned count)
{
    assert_int_equal(count, 4);
    assert_int_equal(r64(at), 0);
    assert_int_equal(r64(at + 8), 0x9fc00);
    assert_int_equal(r32(at + 16), 1);
    assert_int_equal(r64(at + 2 * stride), 0xe0000);
    assert_int_equal(r32(at + 2 * stride + 16), 2);
    assert_int_equal(r64(at + 3 * stride), 0x100000);
    assert_int_equal(r64(at + 3 * stride + 8), RAM - 0x100000);
    assert_int_equal(r32(at + 3 * stride + 16), 1);
}

static void check_initrd_and_acpi(uint64_t initrd_at)
{
    assert_int_equal(initrd_at & 0xfff, 0);
    assert_true(initrd_at + sizeof(initrd) <= RAM);
    assert_true(initrd_at >= RAM - sizeof(initrd) - 0x1000);
    assert_memory_equal(ram + initrd_at, initrd, sizeof(initrd));
    assert_memory_equal(ram + LOADER_ACPI_TABLES, "RSD PTR ", 8);
}

static void test_bzimage(void **state)
{
    (void)state;
    struct loader_input in = input(make_bzimage(), "console=ttyS0 quiet");
    struct vcpu_start st;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.mode, START_LONG_64);
    assert_int_equal(st.rip, KERNEL_AT + 0x200);
    assert_int_equal(st.rsi, LOADER_BOOT_INFO);
    assert_int_equal(st.cr3, LOADER_PAGE_TABLES);
    assert_memory_equal(ram + KERNEL_AT, image + 0x400, sizeof(image) - 0x400);
    uint64_t bp = LOADER_BOOT_INFO;
    assert_memory_equal(ram + bp + 0x202, "HdrS", 4);
    assert_int_equal(ram[bp + 0x210], 0xff);
    assert_int_equal(r32(bp + 0x228), LOADER_CMDLINE);
    assert_string_equal((char *)ram + LOADER_CMDLINE, "console=ttyS0 quiet");
    assert_int_equal(r32(bp + 0x21c), sizeof(initrd));
    assert_int_equal(r64(bp + 0x070), LOADER_ACPI_TABLES);
    assert_int_equal(r16(bp + 0x1fe), 0xaa55);
    check_e820_ranges(bp + 0x2d0, 20, ram[bp + 0x1e8]);
    check_initrd_and_acpi(r32(bp + 0x218));
}

static void test_bzimage_refusals(void **state)
{
    (void)state;
    struct vcpu_start st;
    size_t len = make_bzimage();
    struct loader_input in = input(len, "");
    w16(image + 0x206, 0x20b);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64-bit boot protocol"));
    make_bzimage();
    image[0x236] = 0;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_bzimage();
    w32(image + 0x260, 0xffffffff);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than the partition's memory"));
    make_bzimage();
    w16(image + 0x1fe, 0);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_bzimage();
    image[0x1f1] = 0xff;        /* setup longer than the file */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_bzimage();
    w32(image + 0x238, 4);      /* the kernel takes a 4-byte command line */
    in.cmdline = "quiet";
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "command line"));
    make_bzimage();
    w32(image + 0x22c, KERNEL_AT + 0x100000);   /* initrd_addr_max inside the kernel */
    in.cmdline = "";
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "initrd"));
}

static void test_bzimage_not_preferred_address(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    w64(image + 0x258, 0x1234);     /* misaligned: relocatable, so 16 MiB is used */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.rip, KERNEL_AT + 0x200);
    image[0x234] = 0;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
}

/* A vmlinux: ELF header, a PT_LOAD at KERNEL_AT, a PT_NOTE holding two notes. */
#define PVH_ENTRY (KERNEL_AT + 0x40)
static size_t make_vmlinux(uint32_t note_type, uint64_t entry)
{
    memset(image, 0, sizeof(image));
    memcpy(image, "\x7f" "ELF", 4);
    image[4] = 2, image[5] = 1, image[6] = 1;
    w16(image + 16, 2);
    w16(image + 18, 62);
    w64(image + 32, 64);
    w16(image + 54, 56);
    w16(image + 56, 2);
    uint8_t *ph = image + 64;
    w32(ph, 1);
    w64(ph + 8, 0x1000);
    w64(ph + 24, KERNEL_AT);
    w64(ph + 32, 0x1000);
    w64(ph + 40, 0x5000);
    ph += 56;
    w32(ph, 4);
    w64(ph + 8, 0x200);
    w64(ph + 32, 48);
    uint8_t *n = image + 0x200;
    w32(n, 4), w32(n + 4, 4), w32(n + 8, 6);
    memcpy(n + 12, "Xen", 4);
    n += 20;
    w32(n, 4), w32(n + 4, 8), w32(n + 8, note_type);
    memcpy(n + 12, "Xen", 4);
    w64(n + 16, entry);
    for (size_t i = 0x1000; i < 0x2000; i++)
        image[i] = (uint8_t)(i * 3);
    return 0x2000;
}

static void test_pvh(void **state)
{
    (void)state;
    memset(ram + KERNEL_AT + 0x1000, 0xcc, 0x4000);  /* the bss must come back zeroed */
    struct loader_input in = input(make_vmlinux(18, PVH_ENTRY), "console=ttyS0");
    struct vcpu_start st;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.mode, START_PROTECTED_32);
    assert_int_equal(st.rip, PVH_ENTRY);
    assert_int_equal(st.rbx, LOADER_BOOT_INFO);
    assert_memory_equal(ram + KERNEL_AT, image + 0x1000, 0x1000);
    for (size_t i = 0x1000; i < 0x5000; i++)
        assert_int_equal(ram[KERNEL_AT + i], 0);
    uint64_t si = LOADER_BOOT_INFO;
    assert_int_equal(r32(si), 0x336ec578u);
    assert_int_equal(r32(si + 4), 1);
    assert_int_equal(r32(si + 12), 1);
    uint64_t mod = r64(si + 16);
    assert_int_equal(r64(mod + 8), sizeof(initrd));
    check_initrd_and_acpi(r64(mod));
    assert_string_equal((char *)ram + r64(si + 24), "console=ttyS0");
    assert_int_equal(r64(si + 32), LOADER_ACPI_TABLES);
    check_e820_ranges(r64(si + 40), 24, r32(si + 48));
}

static void test_pvh_refusals(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_vmlinux(17, PVH_ENTRY), "");
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PVH entry"));
    in.image_len = make_vmlinux(18, 0x2000000);     /* entry outside the kernel */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_vmlinux(18, PVH_ENTRY);
    w32(image + 0x200, 0xfffffff0);                 /* a note name running off the segment */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_vmlinux(18, PVH_ENTRY);
    w64(image + 64 + 24, 0x80000);                  /* below 1 MiB */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_vmlinux(18, PVH_ENTRY);
    w64(image + 64 + 40, RAM);                      /* past the end of RAM */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    make_vmlinux(18, PVH_ENTRY);
    w64(image + 32, sizeof(image) - 8);             /* program headers outside the file */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
}

static void test_other_refusals(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    struct guest_image_target small = target;
    small.ram_bytes = 16ull << 20;
    assert_int_equal(load_linux(&small, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "memory"));
    memset(image, 0, sizeof(image));
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "neither a bzImage nor an ELF"));
    in.image_len = 3;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), -1);
    struct guest_image_target many = target;
    many.vcpus = 1000;
    in.image_len = make_bzimage();
    assert_int_equal(load_linux(&many, &in, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ACPI"));
}

static bool ram_has(uint64_t from, uint64_t len, const char *what)
{
    for (uint64_t i = from; i + strlen(what) <= from + len; i++)
        if (!memcmp(ram + i, what, strlen(what)))
            return true;
    return false;
}

static void test_acpi_with_pci_host(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    memset(ram + LOADER_ACPI_TABLES, 0, 0x2000);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_memory_equal(ram + LOADER_ACPI_TABLES, "RSD PTR ", 8);
    assert_false(ram_has(LOADER_ACPI_TABLES, 0x2000, "PCI0"));
    struct guest_image_target with_pci = target;
    with_pci.pci_host = true;
    assert_int_equal(load_linux(&with_pci, &in, &st, err, sizeof(err)), 0);
    assert_true(ram_has(LOADER_ACPI_TABLES, 0x2000, "PCI0"));
    assert_true(ram_has(LOADER_ACPI_TABLES, 0x2000, "_PRT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bzimage),
        cmocka_unit_test(test_bzimage_refusals),
        cmocka_unit_test(test_bzimage_not_preferred_address),
        cmocka_unit_test(test_pvh),
        cmocka_unit_test(test_pvh_refusals),
        cmocka_unit_test(test_other_refusals),
        cmocka_unit_test(test_acpi_with_pci_host),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
