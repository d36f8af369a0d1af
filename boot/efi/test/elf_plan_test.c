/* Unit tests: boot/efi/elf_plan (checking atoll.elf and placing its segments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/efi/elf_plan.h"

struct ehdr {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define FILE_SIZE 0x10000ull

static struct ehdr eh;
static struct phdr ph[8];
static struct elf_plan plan;

static void good_header(uint16_t phnum)
{
    memset(&eh, 0, sizeof(eh));
    memcpy(eh.ident, "\x7f" "ELF\x02\x01\x01", 7);
    eh.type = 2;
    eh.machine = 62;
    eh.version = 1;
    eh.entry = 0x200000;
    eh.phoff = 64;
    eh.phentsize = sizeof(struct phdr);
    eh.phnum = phnum;
    memset(ph, 0, sizeof(ph));
}

static void load(int i, uint64_t offset, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
    ph[i] = (struct phdr){.type = 1, .offset = offset, .vaddr = 0xffffffff80000000ull + paddr,
                          .paddr = paddr, .filesz = filesz, .memsz = memsz};
}

static const char *run(void)
{
    const char *why = elf_plan_header(&eh, FILE_SIZE, &plan);
    return why ? why : elf_plan_segments(ph, FILE_SIZE, &plan);
}

static void test_good_kernel(void **state)
{
    good_header(4);
    load(0, 0x1000, 0x200000, 0x3000, 0x3000);
    load(1, 0x4000, 0x203800, 0x800, 0x2000); /* shares a page with segment 0, has .bss */
    ph[2].type = 4;                            /* PT_NOTE: ignored */
    load(3, 0x5000, 0x400000, 0x100, 0x100);
    assert_null(run());
    assert_int_equal(plan.entry, 0x200000);
    assert_int_equal(plan.load_count, 3);
    assert_int_equal(plan.loads[1].paddr, 0x203800);
    assert_int_equal(plan.range_count, 2);
    assert_int_equal(plan.ranges[0].base, 0x200000);
    assert_int_equal(plan.ranges[0].end, 0x206000);
    assert_int_equal(plan.ranges[1].base, 0x400000);
    assert_int_equal(plan.ranges[1].end, 0x401000);
}

static void test_ranges_sorted_whatever_order(void **state)
{
    good_header(3);
    eh.entry = 0x900000;
    load(0, 0x1000, 0x900000, 0x1000, 0x1000);
    load(1, 0x2000, 0x100000, 0x1000, 0x1000);
    load(2, 0x3000, 0x101000, 0x1000, 0x1000); /* adjacent to 1: merged */
    assert_null(run());
    assert_int_equal(plan.range_count, 2);
    assert_int_equal(plan.ranges[0].base, 0x100000);
    assert_int_equal(plan.ranges[0].end, 0x102000);
    assert_int_equal(plan.ranges[1].base, 0x900000);
}

static void test_bad_headers(void **state)
{
    good_header(1);
    load(0, 0x1000, 0x200000, 0x10, 0x10);
    eh.ident[4] = 1;
    assert_string_equal(run(), "not an x86-64 ELF64 file");
    good_header(1);
    eh.machine = 3;
    assert_string_equal(run(), "not an x86-64 ELF64 file");
    good_header(1);
    eh.type = 3;
    assert_string_equal(run(), "not an ELF executable (ET_EXEC)");
    good_header(0);
    assert_string_equal(run(), "bad program header table size");
    good_header(1);
    eh.phentsize = 32;
    assert_string_equal(run(), "bad program header table size");
    good_header(1);
    eh.phoff = FILE_SIZE - 10;
    assert_string_equal(run(), "program headers lie outside the file");
    good_header(1);
    eh.phoff = UINT64_MAX - 8;
    assert_string_equal(run(), "program headers lie outside the file");
    good_header(1);
    assert_string_equal(elf_plan_header(&eh, 20, &plan), "not an x86-64 ELF64 file");
}

static void test_bad_segments(void **state)
{
    good_header(1);
    load(0, 0x1000, 0x200000, 0x2000, 0x1000);
    assert_string_equal(run(), "a segment's file size exceeds its memory size");
    load(0, FILE_SIZE - 0x10, 0x200000, 0x20, 0x20);
    assert_string_equal(run(), "a segment lies outside the file");
    load(0, UINT64_MAX - 4, 0x200000, 0x20, 0x20);
    assert_string_equal(run(), "a segment lies outside the file");
    load(0, 0x1000, 0xfffff000, 0x10, 0x2000);
    assert_string_equal(run(), "a segment lies above 4 GiB");
    load(0, 0x1000, UINT64_MAX - 0x10, 0x10, 0x100);
    assert_string_equal(run(), "a segment lies above 4 GiB");
    ph[0].type = 2;
    assert_string_equal(run(), "no PT_LOAD segment");
    good_header(2);
    load(0, 0x1000, 0x200000, 0x1000, 0x1000);
    load(1, 0x2000, 0x200800, 0x1000, 0x1000);
    assert_string_equal(run(), "two segments overlap in memory");
    good_header(1);
    load(0, 0x1000, 0x200000, 0x1000, 0x1000);
    eh.entry = 0x201000;
    assert_string_equal(run(), "the entry point is outside every segment");
}

static void test_too_many_loads(void **state)
{
    static struct phdr many[ELF_PLAN_MAX_LOADS + 1];
    good_header(ELF_PLAN_MAX_LOADS + 1);
    for (unsigned i = 0; i <= ELF_PLAN_MAX_LOADS; i++)
        many[i] = (struct phdr){.type = 1, .offset = 0x1000, .paddr = 0x200000 + i * 0x2000,
                                .filesz = 0x10, .memsz = 0x10};
    assert_null(elf_plan_header(&eh, FILE_SIZE, &plan));
    assert_string_equal(elf_plan_segments(many, FILE_SIZE, &plan), "too many PT_LOAD segments");
    good_header(ELF_PLAN_MAX_LOADS);
    assert_null(elf_plan_header(&eh, FILE_SIZE, &plan));
    assert_null(elf_plan_segments(many, FILE_SIZE, &plan));
    assert_int_equal(plan.range_count, ELF_PLAN_MAX_LOADS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_kernel),
        cmocka_unit_test(test_ranges_sorted_whatever_order),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_segments),
        cmocka_unit_test(test_too_many_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
