/* Unit tests: boot/efi/memory_map (UEFI memory map to boot_info ranges) and
 * boot/efi/identity_map (the hand-off page tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/efi/identity_map.h"
#include "boot/efi/memory_map.h"

#define STRIDE 48 /* OVMF's DescriptorSize: larger than the struct */
#define MIB (1ull << 20)

static unsigned char map[64 * STRIDE];
static size_t count;
static struct boot_mem_range out[BOOTINFO_MAX_MEM];

static void add(uint32_t type, uint64_t base, uint64_t bytes)
{
    struct uefi_mem_desc d = {.type = type, .phys_start = base, .pages = bytes >> 12};
    memset(map + count * STRIDE, 0xa5, STRIDE);
    memcpy(map + count * STRIDE, &d, sizeof(d));
    count++;
}

static void setup_map(void)
{
    count = 0;
    memset(out, 0, sizeof(out));
}

static void assert_range(uint32_t i, uint64_t base, uint64_t length, uint32_t type)
{
    assert_int_equal(out[i].base, base);
    assert_int_equal(out[i].length, length);
    assert_int_equal(out[i].type, type);
}

static void test_types(void **state)
{
    assert_int_equal(memory_map_boot_type(UEFI_MEM_CONVENTIONAL), BOOT_MEM_USABLE);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_BOOT_DATA), BOOT_MEM_USABLE);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_LOADER_CODE), BOOT_MEM_USABLE);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_ACPI_RECLAIM), BOOT_MEM_ACPI_RECLAIM);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_ACPI_NVS), BOOT_MEM_ACPI_NVS);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_RUNTIME_CODE), BOOT_MEM_FIRMWARE);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_RUNTIME_DATA), BOOT_MEM_FIRMWARE);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_UNUSABLE), BOOT_MEM_BAD);
    assert_int_equal(memory_map_boot_type(UEFI_MEM_ATOLL_LOADER), BOOT_MEM_LOADER);
    assert_int_equal(memory_map_boot_type(11 /* MMIO */), BOOT_MEM_RESERVED);
    assert_int_equal(memory_map_boot_type(0x80000002u), BOOT_MEM_RESERVED);
}

static void test_sorts_and_merges(void **state)
{
    setup_map();
    add(UEFI_MEM_BOOT_DATA, 2 * MIB, MIB);
    add(UEFI_MEM_CONVENTIONAL, 0, MIB);
    add(UEFI_MEM_ATOLL_LOADER, 4 * MIB, MIB);
    add(UEFI_MEM_LOADER_DATA, MIB, MIB);
    add(UEFI_MEM_ATOLL_LOADER, 5 * MIB, MIB);
    add(UEFI_MEM_CONVENTIONAL, 3 * MIB, MIB);
    add(UEFI_MEM_CONVENTIONAL, 8 * MIB, MIB); /* hole before: not merged */
    add(UEFI_MEM_RUNTIME_DATA, 9 * MIB, 0);   /* empty: dropped */
    assert_int_equal(memory_map_convert(map, count, STRIDE, out, BOOTINFO_MAX_MEM), 3);
    assert_range(0, 0, 4 * MIB, BOOT_MEM_USABLE);
    assert_range(1, 4 * MIB, 2 * MIB, BOOT_MEM_LOADER);
    assert_range(2, 8 * MIB, MIB, BOOT_MEM_USABLE);
}

static void test_truncates_at_max_and_skips_overflow(void **state)
{
    setup_map();
    for (int i = 0; i < 10; i++)
        add(i % 2 ? UEFI_MEM_CONVENTIONAL : UEFI_MEM_ACPI_NVS, (uint64_t)i * MIB, MIB);
    add(UEFI_MEM_CONVENTIONAL, UINT64_MAX & ~0xfffull, 2 * 4096); /* wraps: skipped */
    assert_int_equal(memory_map_convert(map, count, STRIDE, out, 4), 4);
    assert_range(3, 3 * MIB, MIB, BOOT_MEM_USABLE);
}

static void test_reclaimable(void **state)
{
    setup_map();
    add(UEFI_MEM_CONVENTIONAL, 0, 8 * MIB);
    add(UEFI_MEM_BOOT_DATA, 8 * MIB, 8 * MIB);
    add(UEFI_MEM_RUNTIME_DATA, 16 * MIB, MIB);
    add(UEFI_MEM_BOOT_CODE, 20 * MIB, MIB);
    assert_true(memory_map_reclaimable(map, count, STRIDE, 7 * MIB, 12 * MIB));
    assert_true(memory_map_reclaimable(map, count, STRIDE, 0, 16 * MIB));
    assert_false(memory_map_reclaimable(map, count, STRIDE, 15 * MIB, 17 * MIB));
    assert_false(memory_map_reclaimable(map, count, STRIDE, 17 * MIB, 18 * MIB)); /* hole */
    assert_false(memory_map_reclaimable(map, count, STRIDE, 20 * MIB, 22 * MIB));
    assert_true(memory_map_reclaimable(map, count, STRIDE, 20 * MIB, 21 * MIB));
}

static void test_claim_splits_and_merges(void **state)
{
    out[0] = (struct boot_mem_range){0, 16 * MIB, BOOT_MEM_USABLE, 0};
    out[1] = (struct boot_mem_range){16 * MIB, MIB, BOOT_MEM_LOADER, 0};
    out[2] = (struct boot_mem_range){17 * MIB, 15 * MIB, BOOT_MEM_USABLE, 0};
    uint32_t n = memory_map_claim(out, 3, BOOTINFO_MAX_MEM, 15 * MIB, 16 * MIB, BOOT_MEM_LOADER);
    assert_int_equal(n, 3);
    assert_range(0, 0, 15 * MIB, BOOT_MEM_USABLE);
    assert_range(1, 15 * MIB, 2 * MIB, BOOT_MEM_LOADER);
    n = memory_map_claim(out, n, BOOTINFO_MAX_MEM, 20 * MIB, 21 * MIB, BOOT_MEM_LOADER);
    assert_int_equal(n, 5);
    assert_range(2, 17 * MIB, 3 * MIB, BOOT_MEM_USABLE);
    assert_range(3, 20 * MIB, MIB, BOOT_MEM_LOADER);
    assert_range(4, 21 * MIB, 11 * MIB, BOOT_MEM_USABLE);
    n = memory_map_claim(out, n, BOOTINFO_MAX_MEM, 20 * MIB, 21 * MIB, BOOT_MEM_USABLE);
    assert_int_equal(n, 3);
    assert_range(2, 17 * MIB, 15 * MIB, BOOT_MEM_USABLE);
}

static void test_claim_when_full_drops_highest(void **state)
{
    for (uint32_t i = 0; i < 4; i++)
        out[i] = (struct boot_mem_range){i * 2 * MIB, MIB, BOOT_MEM_USABLE, 0};
    uint32_t n = memory_map_claim(out, 4, 4, 0x800000, 0x900000, BOOT_MEM_LOADER);
    assert_int_equal(n, 4);
    assert_range(3, 0x800000, MIB, BOOT_MEM_LOADER);
    n = memory_map_claim(out, 4, 4, MIB / 2, MIB, BOOT_MEM_LOADER);
    assert_int_equal(n, 4);
    assert_range(0, 0, MIB / 2, BOOT_MEM_USABLE);
    assert_range(1, MIB / 2, MIB / 2, BOOT_MEM_LOADER);
    assert_range(3, 4 * MIB, MIB, BOOT_MEM_USABLE);
}

static void test_identity_map(void **state)
{
    for (int five = 0; five < 2; five++) {
        uint64_t top = 6ull << 30;
        size_t pages = identity_map_pages(top, five);
        assert_int_equal(pages, 1 + five + 1 + 6);
        uint64_t *t = aligned_alloc(4096, pages * 4096);
        memset(t, 0, pages * 4096);
        uint64_t root = identity_map_build(t, top, five);
        uint64_t *pml4 = five ? (uint64_t *)(uintptr_t)(((uint64_t *)(uintptr_t)root)[0] & ~0xfffull)
                              : (uint64_t *)(uintptr_t)root;
        assert_ptr_equal(pml4, t);
        uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
        assert_int_equal(pml4[1], 0);
        uint64_t *pd5 = (uint64_t *)(uintptr_t)(pdpt[5] & ~0xfffull);
        assert_int_equal(pdpt[6], 0);
        assert_int_equal(pd5[3], (5ull << 30) + 3 * (2ull << 20) + 0x83);
        free(t);
    }
    assert_int_equal(identity_map_pages(1ull << 50, false), 1 + 2 + 1024);
    assert_int_equal(identity_map_pages(0, false), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_sorts_and_merges),
        cmocka_unit_test(test_truncates_at_max_and_skips_overflow),
        cmocka_unit_test(test_reclaimable),
        cmocka_unit_test(test_claim_splits_and_merges),
        cmocka_unit_test(test_claim_when_full_drops_highest),
        cmocka_unit_test(test_identity_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
