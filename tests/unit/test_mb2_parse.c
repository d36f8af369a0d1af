#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/mb2/mb2_parse.h"

#define MBI_PHYS 0x10000ull

/* Builds a Multiboot2 information block the way GRUB lays it out. */
struct mbi {
    uint64_t words[1024];
    size_t used;
};

static uint8_t *bytes(struct mbi *m)
{
    return (uint8_t *)m->words;
}

static void put32(struct mbi *m, size_t at, uint32_t v)
{
    memcpy(bytes(m) + at, &v, 4);
}

static void begin(struct mbi *m)
{
    memset(m, 0, sizeof(*m));
    m->used = 8;
}

/* Appends a tag with the given payload; returns its offset. */
static size_t tag(struct mbi *m, uint32_t type, const void *payload, size_t len)
{
    size_t at = m->used;
    put32(m, at, type);
    put32(m, at + 4, (uint32_t)(8 + len));
    if (len)
        memcpy(bytes(m) + at + 8, payload, len);
    m->used = (at + 8 + len + 7) & ~(size_t)7;
    return at;
}

static size_t finish(struct mbi *m)
{
    tag(m, MB2_TAG_END, NULL, 0);
    put32(m, 0, (uint32_t)m->used);
    return m->used;
}

static void mmap_tag(struct mbi *m, const uint64_t (*e)[3], size_t n)
{
    uint8_t p[8 + 24 * 16] = { 0 };
    uint32_t esize = 24, ver = 0;
    memcpy(p, &esize, 4);
    memcpy(p + 4, &ver, 4);
    for (size_t i = 0; i < n; i++) {
        memcpy(p + 8 + i * 24, &e[i][0], 8);
        memcpy(p + 16 + i * 24, &e[i][1], 8);
        uint32_t type = (uint32_t)e[i][2];
        memcpy(p + 24 + i * 24, &type, 4);
    }
    tag(m, MB2_TAG_MMAP, p, 8 + 24 * n);
}

static void module_tag(struct mbi *m, uint32_t start, uint32_t end, const char *name)
{
    uint8_t p[256];
    memcpy(p, &start, 4);
    memcpy(p + 4, &end, 4);
    size_t n = strlen(name) + 1;
    memcpy(p + 8, name, n);
    tag(m, MB2_TAG_MODULE, p, 8 + n);
}

static void rsdp_tag(struct mbi *m, uint32_t type, size_t len)
{
    uint8_t p[36] = "RSD PTR ";
    tag(m, type, p, len);
}

static void fb_tag(struct mbi *m, uint32_t pitch, uint32_t width, uint8_t bpp, uint8_t fbtype,
                   const uint8_t colour[6])
{
    uint8_t p[30] = { 0 };
    uint64_t base = 0xfd000000;
    uint32_t height = 768;
    memcpy(p, &base, 8);
    memcpy(p + 8, &pitch, 4);
    memcpy(p + 12, &width, 4);
    memcpy(p + 16, &height, 4);
    p[20] = bpp;
    p[21] = fbtype;
    if (colour)
        memcpy(p + 24, colour, 6);
    tag(m, MB2_TAG_FRAMEBUFFER, p, colour ? 30 : 22);
}

static const uint64_t pc_map[][3] = {
    { 0, 0x9fc00, 1 },          { 0x9fc00, 0x400, 2 },   { 0x100000, 0x7ee0000, 1 },
    { 0x7fe0000, 0x20000, 3 },  { 0xfffc0000, 0x40000, 2 }, { 0x8000000, 0x1000, 4 },
    { 0x9000000, 0x1000, 5 },   { 0xa000000, 0x1000, 7 },
};

static struct mbi m;
static struct boot_info bi;
static char err[256];

static int parse(void)
{
    err[0] = 0;
    return mb2_parse(m.words, m.used, MBI_PHYS, &bi, err, sizeof(err));
}

static void expect_error(const char *message)
{
    assert_int_equal(parse(), -1);
    assert_string_equal(err, message);
}

static void grub_like_block_test(void **state)
{
    begin(&m);
    tag(&m, MB2_TAG_CMDLINE, "console=ttyS0 test", 19);
    tag(&m, 2, "GRUB 2.06", 10); /* boot loader name: ignored */
    module_tag(&m, 0x200000, 0x200123, "atoll.cfg");
    module_tag(&m, 0x201000, 0x901000, "vmlinuz");
    mmap_tag(&m, pc_map, 8);
    static const uint8_t bgr[6] = { 16, 8, 8, 8, 0, 8 };
    fb_tag(&m, 4096, 1024, 32, 1, bgr);
    rsdp_tag(&m, MB2_TAG_ACPI_OLD, 20);
    size_t new_at = m.used;
    rsdp_tag(&m, MB2_TAG_ACPI_NEW, 36);
    rsdp_tag(&m, MB2_TAG_ACPI_OLD, 20);     /* a later old RSDP does not replace the new one */
    finish(&m);
    assert_int_equal(parse(), 0);
    assert_int_equal(bi.magic, BOOTINFO_MAGIC);
    assert_int_equal(bi.loader, BOOT_LOADER_MULTIBOOT2);
    assert_string_equal(bi.cmdline, "console=ttyS0 test");
    assert_int_equal(bi.module_count, 2);
    assert_string_equal(bi.modules[0].name, "atoll.cfg");
    assert_int_equal(bi.modules[0].base, 0x200000);
    assert_int_equal(bi.modules[0].length, 0x123);
    assert_string_equal(bi.modules[1].name, "vmlinuz");
    assert_int_equal(bi.modules[1].length, 0x700000);
    assert_int_equal(bi.mem_count, 8);
    assert_int_equal(bi.mem[2].base, 0x100000);
    assert_int_equal(bi.mem[2].length, 0x7ee0000);
    assert_int_equal(bi.mem[0].type, BOOT_MEM_USABLE);
    assert_int_equal(bi.mem[1].type, BOOT_MEM_RESERVED);
    assert_int_equal(bi.mem[3].type, BOOT_MEM_ACPI_RECLAIM);
    assert_int_equal(bi.mem[5].type, BOOT_MEM_ACPI_NVS);
    assert_int_equal(bi.mem[6].type, BOOT_MEM_BAD);
    assert_int_equal(bi.mem[7].type, BOOT_MEM_RESERVED); /* unknown type 7 */
    assert_int_equal(bi.fb.base, 0xfd000000);
    assert_int_equal(bi.fb.width, 1024);
    assert_int_equal(bi.fb.height, 768);
    assert_int_equal(bi.fb.pitch, 4096);
    assert_int_equal(bi.fb.format, BOOT_FB_BGRX);
    assert_int_equal(bi.rsdp, MBI_PHYS + new_at + 8);
}

static void minimal_block_test(void **state)
{
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    rsdp_tag(&m, MB2_TAG_ACPI_OLD, 20);
    static const uint8_t rgb[6] = { 0, 8, 8, 8, 16, 8 };
    fb_tag(&m, 3200, 800, 32, 1, rgb);
    size_t at = m.used - 32; /* the RSDP tag: 8 + 20 rounded to 32 */
    finish(&m);
    assert_int_equal(parse(), 0);
    assert_int_equal(bi.rsdp, MBI_PHYS + at - 40 + 8);
    assert_int_equal(bi.module_count, 0);
    assert_string_equal(bi.cmdline, "");
    assert_int_equal(bi.fb.format, BOOT_FB_RGBX);
}

static void framebuffer_kinds_test(void **state)
{
    static const uint8_t rgb565[6] = { 11, 5, 5, 6, 0, 5 };
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    fb_tag(&m, 2048, 1024, 16, 1, rgb565);   /* not a 32-bit layout: no framebuffer */
    finish(&m);
    assert_int_equal(parse(), 0);
    assert_int_equal(bi.fb.format, BOOT_FB_NONE);
    assert_int_equal(bi.fb.base, 0);

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    fb_tag(&m, 160, 80, 16, 2, NULL);        /* EGA text */
    finish(&m);
    assert_int_equal(parse(), 0);
    assert_int_equal(bi.fb.format, BOOT_FB_NONE);

    static const uint8_t bgr[6] = { 16, 8, 8, 8, 0, 8 };
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    size_t at = m.used;
    fb_tag(&m, 1000, 1024, 32, 1, bgr);
    finish(&m);
    char expect[128];
    snprintf(expect, sizeof(expect),
             "multiboot2: tag type 8 at offset %zu: framebuffer pitch 1000 does not hold a line of width 1024",
             at);
    expect_error(expect);

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    at = m.used;
    fb_tag(&m, 4096, 1024, 32, 1, NULL);     /* RGB type without colour fields */
    finish(&m);
    snprintf(expect, sizeof(expect),
             "multiboot2: tag type 8 at offset %zu: RGB framebuffer tag size 30 is below 38", at);
    expect_error(expect);
}

static void header_errors_test(void **state)
{
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    finish(&m);
    assert_int_equal(mb2_parse(m.words, 8, MBI_PHYS, &bi, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot2: information block of 8 bytes is too small");
    assert_int_equal(mb2_parse(m.words, m.used - 1, MBI_PHYS, &bi, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot2: total_size 56 is more than the 55 bytes available");
    assert_int_equal(mb2_parse(bytes(&m) + 4, 40, MBI_PHYS + 4, &bi, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot2: information block at 0x10004 is not 8-byte aligned");
    put32(&m, 0, 12);
    expect_error("multiboot2: total_size 12 is below 16");
    put32(&m, 0, 48);  /* cuts the end tag off */
    expect_error("multiboot2: tag list has no end tag within total_size 48");

    begin(&m);
    tag(&m, MB2_TAG_CMDLINE, "x", 2);
    finish(&m);
    expect_error("multiboot2: no memory-map tag (type 6)");
}

static void tag_bounds_test(void **state)
{
    begin(&m);
    mmap_tag(&m, pc_map, 2);
    size_t at = tag(&m, MB2_TAG_CMDLINE, "hello", 6);
    finish(&m);
    put32(&m, at + 4, 4);
    expect_error("multiboot2: tag type 1 at offset 72: tag size 4 is below 8");
    put32(&m, at + 4, 0x1000);
    expect_error("multiboot2: tag type 1 at offset 72: tag size 4096 runs past total_size 96");
    put32(&m, at + 4, 0xffffffff);
    expect_error("multiboot2: tag type 1 at offset 72: tag size 4294967295 runs past total_size 96");
    put32(&m, at + 4, 8 + 5); /* string now lacks its NUL */
    expect_error("multiboot2: tag type 1 at offset 72: command line is not NUL-terminated inside its tag");
    put32(&m, at + 4, 14);
    assert_int_equal(parse(), 0);
    put32(&m, m.used - 4, 16); /* end tag with a wrong size */
    expect_error("multiboot2: tag type 0 at offset 88: tag size 16 runs past total_size 96");
}

static void mmap_errors_test(void **state)
{
    begin(&m);
    size_t at = m.used;
    mmap_tag(&m, pc_map, 3);
    finish(&m);
    put32(&m, at + 8, 20);
    expect_error("multiboot2: tag type 6 at offset 8: memory-map entry size 20 (must be a multiple of 8, at least 24)");
    put32(&m, at + 8, 28);
    expect_error("multiboot2: tag type 6 at offset 8: memory-map entry size 28 (must be a multiple of 8, at least 24)");
    put32(&m, at + 8, 32);
    expect_error("multiboot2: tag type 6 at offset 8: memory-map tag size 88 is not 16 plus whole entries of 32");
    put32(&m, at + 8, 72); /* one entry of 72 bytes: accepted, fields read from its start */
    assert_int_equal(parse(), 0);
    assert_int_equal(bi.mem_count, 1);
    put32(&m, at + 8, 24);
    put32(&m, at + 4, 12);
    expect_error("multiboot2: tag type 6 at offset 8: memory-map tag size 12 is below 16");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    mmap_tag(&m, pc_map, 1);
    finish(&m);
    expect_error("multiboot2: tag type 6 at offset 48: second memory-map tag");

    /* more entries than boot_info holds */
    begin(&m);
    put32(&m, 8, MB2_TAG_MMAP);
    put32(&m, 12, 16 + 24 * (BOOTINFO_MAX_MEM + 1));
    put32(&m, 16, 24);
    m.used = 8 + 16 + 24 * (BOOTINFO_MAX_MEM + 1);
    finish(&m);
    expect_error("multiboot2: tag type 6 at offset 8: memory map has 257 entries, more than 256");
}

static void module_errors_test(void **state)
{
    char expect[160];
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    module_tag(&m, 0x300000, 0x200000, "backwards");
    finish(&m);
    expect_error("multiboot2: tag type 3 at offset 48: module ends (0x200000) before it starts (0x300000)");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    module_tag(&m, 0x200000, 0x201000, "");
    finish(&m);
    expect_error("multiboot2: tag type 3 at offset 48: module has no name (give module2 the file name as its argument)");

    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = 0;
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    module_tag(&m, 0x200000, 0x201000, longname);
    finish(&m);
    expect_error("multiboot2: tag type 3 at offset 48: module name is 64 bytes, more than 63");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    module_tag(&m, 0x200000, 0x201000, "a");
    module_tag(&m, 0x202000, 0x203000, "a");
    finish(&m);
    expect_error("multiboot2: tag type 3 at offset 72: module 'a' appears twice");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    module_tag(&m, 0x200000, 0x202000, "a");
    module_tag(&m, 0x201000, 0x203000, "b");
    finish(&m);
    expect_error("multiboot2: tag type 3 at offset 72: module 'b' overlaps module 'a'");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    size_t at = m.used;
    module_tag(&m, 0x200000, 0x201000, "abc");
    finish(&m);
    put32(&m, at + 4, 16 + 3); /* name runs to the tag's end without its NUL */
    snprintf(expect, sizeof(expect), "multiboot2: tag type 3 at offset %zu: module name is not NUL-terminated inside its tag", at);
    expect_error(expect);
    put32(&m, at + 4, 12);
    snprintf(expect, sizeof(expect), "multiboot2: tag type 3 at offset %zu: module tag size 12 is below 17", at);
    expect_error(expect);

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    for (int i = 0; i <= BOOTINFO_MAX_MODS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%d", i);
        module_tag(&m, 0x200000 + 0x1000 * i, 0x200800 + 0x1000 * i, name);
    }
    finish(&m);
    assert_int_equal(parse(), -1);
    assert_non_null(strstr(err, "more than 32 modules"));
}

static void acpi_and_cmdline_errors_test(void **state)
{
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    rsdp_tag(&m, MB2_TAG_ACPI_NEW, 20);
    finish(&m);
    expect_error("multiboot2: tag type 15 at offset 48: ACPI RSDP tag size 28 is below 44");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    tag(&m, MB2_TAG_ACPI_OLD, "RSD PTX xxxxxxxxxxxxxxxxxxxx", 20);
    finish(&m);
    expect_error("multiboot2: tag type 14 at offset 48: ACPI RSDP copy has no 'RSD PTR ' signature");

    char longline[300];
    memset(longline, 'x', 256);
    longline[256] = 0;
    begin(&m);
    mmap_tag(&m, pc_map, 1);
    tag(&m, MB2_TAG_CMDLINE, longline, 257);
    finish(&m);
    expect_error("multiboot2: tag type 1 at offset 48: command line is 256 bytes, more than 255");

    begin(&m);
    mmap_tag(&m, pc_map, 1);
    tag(&m, MB2_TAG_CMDLINE, "a", 2);
    tag(&m, MB2_TAG_CMDLINE, "b", 2);
    finish(&m);
    expect_error("multiboot2: tag type 1 at offset 64: second command-line tag");
}

/* Every truncation of a good block parses or fails cleanly (ASan checks the reads). */
static void every_truncation_test(void **state)
{
    begin(&m);
    tag(&m, MB2_TAG_CMDLINE, "console=ttyS0", 14);
    module_tag(&m, 0x200000, 0x200123, "atoll.cfg");
    mmap_tag(&m, pc_map, 8);
    rsdp_tag(&m, MB2_TAG_ACPI_NEW, 36);
    size_t total = finish(&m);
    for (size_t cut = 0; cut < total; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, m.words, cut);
        if (cut >= 4) {
            uint32_t t = (uint32_t)cut;
            memcpy(copy, &t, 4);
        }
        assert_int_equal(mb2_parse(copy, cut, MBI_PHYS, &bi, err, sizeof(err)), -1);
        assert_true(strncmp(err, "multiboot2: ", 12) == 0);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grub_like_block_test),
        cmocka_unit_test(minimal_block_test),
        cmocka_unit_test(framebuffer_kinds_test),
        cmocka_unit_test(header_errors_test),
        cmocka_unit_test(tag_bounds_test),
        cmocka_unit_test(mmap_errors_test),
        cmocka_unit_test(module_errors_test),
        cmocka_unit_test(acpi_and_cmdline_errors_test),
        cmocka_unit_test(every_truncation_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
