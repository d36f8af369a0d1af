/* The Linux loader: a synthetic bzImage (64-bit boot protocol) and a synthetic vmlinux
 * (PVH note) are loaded into fake guest memory; the zero page, the start info, the e820
 * map, the initrd, the command line and the ACPI tables are checked byte by byte, and
 * hostile headers are refused with one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/loader/loader.h"

#define RAM (64ull << 20)
#define RAM_MAX (256ull << 20)      /* the fake guest memory; each test's target takes a part */
#define KERNEL_AT 0x1000000ull
#define INIT_SIZE 0x800000u

static uint8_t *ram;
static uint8_t image[0x4000];
static uint8_t initrd[0x3000];
static char err[240];
static struct guest_image_target tgt;

/* The loader must stay inside the target's RAM: the callbacks refuse anything else. */
static bool mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    const struct guest_image_target *t = ctx;
    if (gpa > t->ram_bytes || len > t->ram_bytes - gpa)
        return false;
    memcpy(ram + gpa, buf, len);
    return true;
}

static bool mem_zero(void *ctx, uint64_t gpa, size_t len)
{
    const struct guest_image_target *t = ctx;
    if (gpa > t->ram_bytes || len > t->ram_bytes - gpa)
        return false;
    memset(ram + gpa, 0, len);
    return true;
}

static struct guest_image_target *target_of(uint64_t ram_bytes)
{
    tgt = (struct guest_image_target){ &tgt, mem_write, mem_zero, ram_bytes, 2, false };
    return &tgt;
}

#define target (*target_of(RAM))

static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t r16(uint64_t gpa) { uint16_t v; memcpy(&v, ram + gpa, 2); return v; }
static uint32_t r32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static uint64_t r64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM_MAX);
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

/* A bzImage of protocol 2.15: 2 setup sectors (boot sector + 1), then 0x3c00 bytes of
 * protected-mode code (syssize), relocatable, preferring 16 MiB. */
static size_t make_bzimage(void)
{
    memset(image, 0, sizeof(image));
    image[0x1f1] = 1;
    w32(image + 0x1f4, (sizeof(image) - 0x400) / 16);
    w16(image + 0x1fe, 0xaa55);
    image[0x200] = 0xeb, image[0x201] = 0x6a;
    memcpy(image + 0x202, "HdrS", 4);
    w16(image + 0x206, 0x20f);
    image[0x211] = 0x01;
    w32(image + 0x22c, 0x7fffffff);
    w32(image + 0x230, 0x200000);
    image[0x234] = 1;
    image[0x235] = 21;
    w16(image + 0x236, 0x7f);
    w32(image + 0x238, 2047);
    w32(image + 0x248, 0x100);
    w32(image + 0x24c, 0x2000);
    w64(image + 0x258, KERNEL_AT);
    w32(image + 0x260, INIT_SIZE);
    for (size_t i = 0x400; i < sizeof(image); i++)
        image[i] = (uint8_t)(i ^ 0x5a);
    return sizeof(image);
}

static struct loader_input input(size_t len, const char *cmdline)
{
    return (struct loader_input){ image, len, "kernel", initrd, sizeof(initrd), cmdline };
}

/* Loads and expects a refusal whose line holds every one of the words. */
static void refused(const struct guest_image_target *t, const struct loader_input *in,
                    const char *word, const char *word2)
{
    struct vcpu_start st;
    assert_int_equal(load_linux(t, in, &st, err, sizeof(err)), -1);
    assert_int_equal(strncmp(err, "kernel: ", 8), 0);
    if (!strstr(err, word) || (word2 && !strstr(err, word2)))
        fail_msg("refusal \"%s\" lacks \"%s\" / \"%s\"", err, word, word2 ? word2 : "");
}

static void check_e820_ranges(uint64_t at, unsigned stride, unsigned count, uint64_t ram_bytes)
{
    static const struct { uint64_t addr, size; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 }, { 0x100000, 0, 1 },
        { 0xfec00000, 0x1000, 2 }, { 0xfed00000, 0x1000, 2 }, { 0xfee00000, 0x1000, 2 },
    };
    assert_int_equal(count, 7);
    uint64_t prev_end = 0;
    for (unsigned i = 0; i < count; i++) {
        uint64_t e = at + (uint64_t)i * stride;
        assert_int_equal(r64(e), want[i].addr);
        assert_int_equal(r64(e + 8), want[i].size ? want[i].size : ram_bytes - 0x100000);
        assert_int_equal(r32(e + 16), want[i].type);
        assert_true(r64(e) >= prev_end);            /* sorted, no overlap */
        prev_end = r64(e) + r64(e + 8);
    }
}

static void check_initrd_and_acpi(uint64_t initrd_at)
{
    assert_int_equal(initrd_at & 0xfff, 0);
    assert_true(initrd_at + sizeof(initrd) <= RAM);
    assert_true(initrd_at >= RAM - sizeof(initrd) - 0x1000);
    assert_memory_equal(ram + initrd_at, initrd, sizeof(initrd));
    assert_memory_equal(ram + LOADER_ACPI_TABLES, "RSD PTR ", 8);
}

/* Walks the guest's 4-level page tables at cr3: the physical address gva maps to, or ~0. */
static uint64_t translate(uint64_t cr3, uint64_t gva)
{
    uint64_t table = cr3 & ~0xfffull;
    for (int level = 3; level >= 0; level--) {
        uint64_t e = r64(table + 8 * ((gva >> (12 + 9 * level)) & 511));
        if (!(e & 1) || !(e & 2))
            return ~0ull;                           /* not present, or not writable */
        uint64_t frame = e & 0x000ffffffffff000ull;
        if (level == 0 || (level <= 2 && (e & 0x80))) {
            uint64_t page = 1ull << (12 + 9 * level);
            return (frame & ~(page - 1)) | (gva & (page - 1));
        }
        table = frame;
    }
    return ~0ull;
}

static void check_identity(uint64_t cr3, uint64_t from, uint64_t len)
{
    for (uint64_t a = from; a < from + len; a += 0x1000)
        assert_int_equal(translate(cr3, a), a);
    assert_int_equal(translate(cr3, from + len - 1), from + len - 1);
}

/* The 64-bit entry's machine state (boot.rst, "64-bit Boot Protocol"). */
static void check_entry_state(const struct vcpu_start *st, uint64_t load, uint64_t footprint)
{
    assert_int_equal(st->mode, START_LONG_64);
    assert_int_equal(st->rip, load + 0x200);
    assert_int_equal(st->rsi, LOADER_BOOT_INFO);
    assert_int_equal(st->code_sel, 0x10);
    assert_int_equal(st->data_sel, 0x18);
    assert_true(st->gdt_limit >= 0x1f);
    assert_int_equal(r64(st->gdt_base + 0x10), 0x00af9b000000ffffull);  /* flat 64-bit code, R/X */
    assert_int_equal(r64(st->gdt_base + 0x18), 0x00cf93000000ffffull);  /* flat data, R/W */
    check_identity(st->cr3, load, footprint);
    check_identity(st->cr3, LOADER_BOOT_INFO, 0x1000);
    check_identity(st->cr3, r32(LOADER_BOOT_INFO + 0x228), 0x1000);
    if (r32(LOADER_BOOT_INFO + 0x21c))
        check_identity(st->cr3, r32(LOADER_BOOT_INFO + 0x218), r32(LOADER_BOOT_INFO + 0x21c));
}

static void test_bzimage(void **state)
{
    (void)state;
    memset(ram + LOADER_BOOT_INFO, 0xcc, 0x1000);   /* screen_info, EDID & co. must come back 0 */
    struct loader_input in = input(make_bzimage(), "console=ttyS0 quiet");
    struct vcpu_start st;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    check_entry_state(&st, KERNEL_AT, INIT_SIZE);
    assert_int_equal(st.cr3, LOADER_PAGE_TABLES);
    assert_memory_equal(ram + KERNEL_AT, image + 0x400, sizeof(image) - 0x400);
    uint64_t bp = LOADER_BOOT_INFO;
    assert_memory_equal(ram + bp + 0x1f1, image + 0x1f1, 0x210 - 0x1f1);
    assert_memory_equal(ram + bp + 0x202, "HdrS", 4);
    assert_int_equal(ram[bp + 0x210], 0xff);                /* type_of_loader: undefined */
    assert_int_equal(ram[bp + 0x211], 0x01);                /* LOADED_HIGH only: no heap */
    assert_int_equal(r32(bp + 0x214), KERNEL_AT);           /* code32_start */
    assert_int_equal(r16(bp + 0x224), 0);                   /* heap_end_ptr */
    assert_int_equal(r16(bp + 0x226), 0);                   /* ext_loader_ver/type */
    assert_int_equal(r32(bp + 0x228), LOADER_CMDLINE);
    assert_string_equal((char *)ram + LOADER_CMDLINE, "console=ttyS0 quiet");
    assert_int_equal(r32(bp + 0x21c), sizeof(initrd));
    assert_int_equal(r32(bp + 0x23c), 0);                   /* hardware_subarch: PC */
    assert_int_equal(r64(bp + 0x240), 0);
    assert_int_equal(r64(bp + 0x250), 0);                   /* no setup_data */
    assert_int_equal(r32(bp + 0x0c0), 0);                   /* ext_ramdisk_image */
    assert_int_equal(r32(bp + 0x0c4), 0);
    assert_int_equal(r32(bp + 0x0c8), 0);                   /* ext_cmd_line_ptr */
    assert_int_equal(r64(bp + 0x070), LOADER_ACPI_TABLES);  /* acpi_rsdp_addr */
    assert_int_equal(r32(bp + 0x1e0), (RAM - 0x100000) / 1024);
    assert_int_equal(r16(bp + 0x1fe), 0xaa55);
    for (unsigned i = 0; i < 0x1e0; i++)                    /* screen_info ... EDID, efi_info */
        if (i < 0x70 || (i >= 0x78 && i < 0xc0) || i >= 0xcc)
            assert_int_equal(ram[bp + i], 0);
    assert_int_equal(ram[bp + 0x1ef], 0);                   /* sentinel */
    for (unsigned i = 0x26c; i < 0x2d0; i++)                /* past the header */
        assert_int_equal(ram[bp + i], 0);
    check_e820_ranges(bp + 0x2d0, 20, ram[bp + 0x1e8], RAM);
    check_initrd_and_acpi(r32(bp + 0x218));
}

/* A header the kernel's own fields make hostile: the loader overwrites every field a
 * loader writes, whatever the image holds there. */
static void test_bzimage_write_fields_overwritten(void **state)
{
    (void)state;
    struct loader_input in = input(make_bzimage(), "");
    in.initrd = NULL;
    image[0x211] = 0xff;                    /* KEEP_SEGMENTS, CAN_USE_HEAP, QUIET, KASLR */
    w16(image + 0x224, 0x9000);
    image[0x226] = 0x12, image[0x227] = 0x34;
    w32(image + 0x218, 0x123000), w32(image + 0x21c, 0x1000);
    w32(image + 0x23c, 2);                  /* Xen */
    w64(image + 0x240, 0x5000);
    w64(image + 0x250, 0x6000);             /* a setup_data chain the loader never wrote */
    struct vcpu_start st;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    uint64_t bp = LOADER_BOOT_INFO;
    assert_int_equal(ram[bp + 0x211], 0x01);
    assert_int_equal(r16(bp + 0x224), 0);
    assert_int_equal(r16(bp + 0x226), 0);
    assert_int_equal(r32(bp + 0x218), 0);   /* no initrd: both ramdisk fields 0 */
    assert_int_equal(r32(bp + 0x21c), 0);
    assert_int_equal(r32(bp + 0x23c), 0);
    assert_int_equal(r64(bp + 0x240), 0);
    assert_int_equal(r64(bp + 0x250), 0);
    assert_string_equal((char *)ram + LOADER_CMDLINE, "");
}

static void test_bzimage_protocol_refusals(void **state)
{
    (void)state;
    struct loader_input in = input(make_bzimage(), "");
    w16(image + 0x206, 0x20b);
    refused(&target, &in, "boot protocol 2.11 is too old", "2.12");
    w16(image + 0x206, 0x201);
    refused(&target, &in, "2.01 is too old", "xloadflags");
    make_bzimage();
    memcpy(image + 0x202, "HdrX", 4);
    refused(&target, &in, "HdrS", "2.00");
    make_bzimage();
    image[0x211] = 0;
    refused(&target, &in, "zImage", "LOADED_HIGH");
    make_bzimage();
    w16(image + 0x236, 0x7e);
    refused(&target, &in, "XLF_KERNEL_64", "64-bit entry point");
    make_bzimage();
    image[0x201] = 0x60;                    /* a 2.15 header cut before kernel_info_offset */
    refused(&target, &in, "setup header ends at 0x262", NULL);
    image[0x201] = 0x90;                    /* a negative jump */
    refused(&target, &in, "setup header ends", NULL);
    make_bzimage();
    image[0x200] = 0xe9;
    refused(&target, &in, "setup header ends", NULL);
    make_bzimage();
    w16(image + 0x1fe, 0);
    refused(&target, &in, "neither a bzImage nor an ELF", NULL);
    make_bzimage();
    in.image_len = 0x300;
    refused(&target, &in, "too short", NULL);
}

static void test_bzimage_file_refusals(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    image[0x1f1] = 0xff;                    /* setup longer than the file */
    refused(&target, &in, "setup_sects 255", "past the end");
    make_bzimage();
    image[0x1f1] = 0x1f;                    /* setup ends exactly at the end of the file */
    refused(&target, &in, "setup_sects 31", NULL);
    make_bzimage();
    w32(image + 0x1f4, (sizeof(image) - 0x400) / 16 + 1);
    refused(&target, &in, "syssize", "the file holds 15360");
    w32(image + 0x1f4, 0xffffffff);
    refused(&target, &in, "syssize", NULL);
    w32(image + 0x1f4, 0);
    refused(&target, &in, "syssize", NULL);
    make_bzimage();
    w32(image + 0x24c, 0x3c00);             /* payload from 0x100 runs past syssize */
    refused(&target, &in, "payload_offset", NULL);
    w32(image + 0x248, 0xffffff00), w32(image + 0x24c, 0x200);
    refused(&target, &in, "payload_offset", NULL);
    make_bzimage();
    w32(image + 0x260, 0);
    refused(&target, &in, "init_size is 0", NULL);
    /* A file longer than syssize (a signature appended): only syssize bytes are the kernel. */
    make_bzimage();
    w32(image + 0x1f4, 0x200);
    w32(image + 0x24c, 0x1000);
    memset(ram + KERNEL_AT, 0xee, sizeof(image));
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_memory_equal(ram + KERNEL_AT, image + 0x400, 0x2000);
    assert_int_equal(ram[KERNEL_AT + 0x2000], 0xee);
    /* setup_sects 0 means 4: the kernel starts at 0xa00. */
    make_bzimage();
    image[0x1f1] = 0;
    w32(image + 0x1f4, (sizeof(image) - 0xa00) / 16);
    w32(image + 0x24c, 0x1000);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_memory_equal(ram + KERNEL_AT, image + 0xa00, sizeof(image) - 0xa00);
}

static void put_kernel_info(uint32_t at, uint32_t magic, uint32_t size, uint32_t total)
{
    w32(image + 0x268, at);
    w32(image + 0x400 + at, magic);
    w32(image + 0x400 + at + 4, size);
    w32(image + 0x400 + at + 8, total);
    w32(image + 0x400 + at + 12, 0x80000009u);
}

static void test_bzimage_kernel_info(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    put_kernel_info(0x3000, 0x506f544c, 16, 32);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    put_kernel_info(0x3000, 0x506f544d, 16, 32);
    refused(&target, &in, "kernel_info at 0x3000", "LToP");
    make_bzimage();
    put_kernel_info(0x3bf0, 0x506f544c, 16, 0x20);    /* size_total past syssize */
    refused(&target, &in, "kernel_info", NULL);
    make_bzimage();
    put_kernel_info(0x3000, 0x506f544c, 12, 32);      /* shorter than its fixed fields */
    refused(&target, &in, "kernel_info", NULL);
    make_bzimage();
    w32(image + 0x268, 0x3bf8);
    refused(&target, &in, "kernel_info_offset 0x3bf8", "outside");
    w32(image + 0x268, 0xfffffff8);
    refused(&target, &in, "kernel_info_offset", NULL);
    w16(image + 0x206, 0x20e);              /* before 2.15 the field is not read */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
}

static void test_bzimage_placement(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    w64(image + 0x258, 0x1234567);          /* misaligned: rounded up to 2 MiB */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    check_entry_state(&st, 0x1400000, INIT_SIZE);
    assert_int_equal(r32(LOADER_BOOT_INFO + 0x214), 0x1400000);
    w64(image + 0x258, 0);                  /* no preference: the lowest aligned address above 1 MiB */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.rip, 0x200000 + 0x200);
    w64(image + 0x258, 0x3c00000);          /* relocatable, but 60 MiB + 8 MiB > 64 MiB */
    refused(&target, &in, "relocatable kernel needs 0x3c00000-0x43fffff", "64 MiB");
    w64(image + 0x258, ~0ull);
    refused(&target, &in, "beyond the partition's 64 MiB", NULL);
    make_bzimage();
    w32(image + 0x230, 0x300000);           /* not a power of two */
    refused(&target, &in, "kernel_alignment 0x300000", NULL);
    w32(image + 0x230, 0);
    refused(&target, &in, "kernel_alignment 0", NULL);
    w32(image + 0x230, 0x100000);           /* min_alignment 2^21 > 1 MiB */
    refused(&target, &in, "min_alignment 2^21", NULL);
    image[0x235] = 40;
    refused(&target, &in, "min_alignment 2^40", NULL);
    make_bzimage();
    w32(image + 0x260, 0xffffffff);         /* init_size beyond RAM */
    refused(&target, &in, "init_size 0xffffffff", "beyond");
    /* Not relocatable: exactly at pref_address, whatever its alignment, or refused. */
    make_bzimage();
    image[0x234] = 0;
    w64(image + 0x258, 0x2345000);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    check_entry_state(&st, 0x2345000, INIT_SIZE);
    w64(image + 0x258, 0x3900000);          /* 57 MiB + 8 MiB > 64 MiB */
    refused(&target, &in, "non-relocatable kernel needs 0x3900000-0x40fffff", "pref_address");
    w64(image + 0x258, 0x10000000000ull);   /* 1 TiB, outside RAM */
    refused(&target, &in, "non-relocatable", "beyond the partition's 64 MiB");
    w64(image + 0x258, 0x90000);            /* below 1 MiB, among the boot data */
    refused(&target, &in, "below 1 MiB", NULL);
    w64(image + 0x258, 0);                  /* the bzImage default, 1 MiB */
    w32(image + 0x230, 0x300000);           /* alignment is not read for a fixed kernel */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(st.rip, 0x100000 + 0x200);
    /* init_size smaller than the code: the code counts. */
    make_bzimage();
    w32(image + 0x260, 0x100);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_true(r32(LOADER_BOOT_INFO + 0x218) >= KERNEL_AT + sizeof(image) - 0x400);
}

static void test_bzimage_cmdline(void **state)
{
    (void)state;
    static char line[5000];
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), line);
    w32(image + 0x238, 10);                 /* 10 characters and the NUL */
    memset(line, 'a', 10);
    line[10] = 0;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_string_equal((char *)ram + LOADER_CMDLINE, line);
    line[10] = 'b', line[11] = 0;
    refused(&target, &in, "command line of 11 characters", "the kernel takes (cmdline_size)");
    w32(image + 0x238, 0);
    refused(&target, &in, "command line of 11", NULL);
    in.cmdline = "";
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    in.cmdline = NULL;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(ram[LOADER_CMDLINE], 0);
    /* cmdline_size beyond Atoll's page for it: 4095 characters and the NUL at most. */
    in.cmdline = line;
    w32(image + 0x238, 0xffffffff);
    memset(line, 'c', 4095);
    line[4095] = 0;
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(strlen((char *)ram + LOADER_CMDLINE), 4095);
    assert_int_equal(r64(LOADER_GDT + 0x10), 0x00af9b000000ffffull);   /* not overwritten */
    line[4095] = 'c', line[4096] = 0;
    refused(&target, &in, "command line of 4096 characters", "command line buffer");
}

static void test_bzimage_initrd(void **state)
{
    (void)state;
    struct vcpu_start st;
    struct loader_input in = input(make_bzimage(), "");
    /* initrd_addr_max is the highest byte it may use. */
    w32(image + 0x22c, 0x2000fff);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    uint32_t at = r32(LOADER_BOOT_INFO + 0x218);
    assert_true(at + sizeof(initrd) - 1 <= 0x2000fff);
    assert_int_equal(at, 0x2001000 - 0x3000);
    assert_true(at >= KERNEL_AT + INIT_SIZE);
    assert_memory_equal(ram + at, initrd, sizeof(initrd));
    /* initrd_addr_max inside the kernel: it goes below the kernel, above 1 MiB. */
    w32(image + 0x22c, KERNEL_AT + 0x100000);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    at = r32(LOADER_BOOT_INFO + 0x218);
    assert_int_equal(at, KERNEL_AT - 0x3000);
    check_entry_state(&st, KERNEL_AT, INIT_SIZE);
    assert_memory_equal(ram + at, initrd, sizeof(initrd));
    /* ... and refused when there is no room there either. */
    w32(image + 0x22c, 0x100fff);
    refused(&target, &in, "initrd of 12288 bytes does not fit", NULL);
    /* An initrd larger than RAM minus the kernel. */
    make_bzimage();
    static uint8_t big[48u << 20];
    in.initrd = big;
    in.initrd_len = RAM - KERNEL_AT - INIT_SIZE + 0x1000;
    refused(&target, &in, "initrd of", "does not fit");
    in.initrd_len = RAM - KERNEL_AT - INIT_SIZE;        /* exactly the room above the kernel */
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(r32(LOADER_BOOT_INFO + 0x218), KERNEL_AT + INIT_SIZE);
    assert_int_equal(r32(LOADER_BOOT_INFO + 0x21c), in.initrd_len);
    in.initrd_len = KERNEL_AT - 0x100000;               /* all the room below the kernel */
    w32(image + 0x22c, KERNEL_AT + 0x100000);
    assert_int_equal(load_linux(&target, &in, &st, err, sizeof(err)), 0);
    assert_int_equal(r32(LOADER_BOOT_INFO + 0x218), 0x100000);
    in.initrd_len = sizeof(big);
    refused(&target, &in, "initrd of 50331648 bytes does not fit", NULL);
}

/* The file at ATOLL_LINUX_BZIMAGE, else build/guest/linux/bzImage (make linux-guest), or NULL. */
static uint8_t *read_debian_kernel(size_t *len)
{
    const char *path = getenv("ATOLL_LINUX_BZIMAGE");
    FILE *f = fopen(path ? path : "build/guest/linux/bzImage", "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        buf = n > 0 ? malloc((size_t)n) : NULL;
        if (buf && (fseek(f, 0, SEEK_SET) != 0 || fread(buf, 1, (size_t)n, f) != (size_t)n)) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Debian's kernel as shipped, then with one header field flipped at a time. */
static void test_debian_kernel(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *k = read_debian_kernel(&len);
    if (!k)
        skip();
    uint32_t setup_len = ((k[0x1f1] ? k[0x1f1] : 4) + 1u) * 512u;
    uint32_t code_len, init_size, cmdline_size;
    memcpy(&code_len, k + 0x1f4, 4);
    code_len *= 16;
    memcpy(&init_size, k + 0x260, 4);
    memcpy(&cmdline_size, k + 0x238, 4);
    uint64_t pref;
    memcpy(&pref, k + 0x258, 8);
    struct guest_image_target *t = target_of(256ull << 20);
    struct loader_input in = { k, len, "kernel", initrd, sizeof(initrd),
                               "console=ttyS0,115200 quiet nokaslr" };
    struct vcpu_start st;
    assert_int_equal(load_linux(t, &in, &st, err, sizeof(err)), 0);
    check_entry_state(&st, pref, init_size);
    assert_memory_equal(ram + pref, k + setup_len, code_len);
    uint64_t bp = LOADER_BOOT_INFO;
    assert_true(r16(bp + 0x206) >= 0x20c);
    assert_memory_equal(ram + bp + 0x1f1, k + 0x1f1, 0x210 - 0x1f1);
    assert_int_equal(ram[bp + 0x210], 0xff);
    uint32_t rd = r32(bp + 0x218), rd_max;
    memcpy(&rd_max, k + 0x22c, 4);
    assert_true(rd >= pref + init_size && rd + sizeof(initrd) - 1 <= rd_max);
    assert_memory_equal(ram + rd, initrd, sizeof(initrd));
    check_e820_ranges(bp + 0x2d0, 20, ram[bp + 0x1e8], 256ull << 20);

    uint8_t *flip = malloc(len);
    in.image = flip;
    memcpy(flip, k, len);
    w16(flip + 0x206, 0x20b);
    refused(t, &in, "2.11 is too old", NULL);
    memcpy(flip, k, len);
    flip[0x236] &= (uint8_t)~1;
    refused(t, &in, "XLF_KERNEL_64", NULL);
    memcpy(flip, k, len);
    flip[0x234] = 0;
    w64(flip + 0x258, 0x20000000);          /* fixed at 512 MiB in a 256 MiB partition */
    refused(t, &in, "non-relocatable kernel needs 0x20000000", NULL);
    memcpy(flip, k, len);
    w32(flip + 0x260, 0xf0000000);
    refused(t, &in, "init_size 0xf0000000", "beyond");
    memcpy(flip, k, len);
    w32(flip + 0x1f4, (uint32_t)((len - setup_len) / 16 + 1));
    refused(t, &in, "syssize", NULL);
    memcpy(flip, k, len);
    flip[0x1f1] = 0xff;
    w32(flip + 0x1f4, (uint32_t)((len - 0x20000) / 16));
    refused(t, &in, "payload_offset", NULL);    /* the payload no longer lies in the code */
    free(flip);

    in.image = k;
    static char line[4096];
    memset(line, 'x', cmdline_size + 1);
    line[cmdline_size + 1] = 0;
    in.cmdline = line;
    refused(t, &in, "command line of", "cmdline_size");
    line[cmdline_size] = 0;
    assert_int_equal(load_linux(t, &in, &st, err, sizeof(err)), 0);
    in.cmdline = "";
    in.initrd_len = (256u << 20) - pref - init_size + 0x1000;   /* RAM minus the kernel, and a page */
    uint8_t *big = calloc(1, in.initrd_len);
    in.initrd = big;
    refused(t, &in, "initrd of", "does not fit");
    free(big);
    in.initrd = initrd;
    in.initrd_len = sizeof(initrd);
    t = target_of(64ull << 20);             /* 16 MiB + init_size is more than 64 MiB */
    refused(t, &in, "relocatable kernel needs", "64 MiB");
    free(k);
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
    check_e820_ranges(r64(si + 40), 24, r32(si + 48), RAM);
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
        cmocka_unit_test(test_bzimage_write_fields_overwritten),
        cmocka_unit_test(test_bzimage_protocol_refusals),
        cmocka_unit_test(test_bzimage_file_refusals),
        cmocka_unit_test(test_bzimage_kernel_info),
        cmocka_unit_test(test_bzimage_placement),
        cmocka_unit_test(test_bzimage_cmdline),
        cmocka_unit_test(test_bzimage_initrd),
        cmocka_unit_test(test_debian_kernel),
        cmocka_unit_test(test_pvh),
        cmocka_unit_test(test_pvh_refusals),
        cmocka_unit_test(test_other_refusals),
        cmocka_unit_test(test_acpi_with_pci_host),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
