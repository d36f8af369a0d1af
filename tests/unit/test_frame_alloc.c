#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/mm/frame_alloc.h"

#define K 1024ull
#define M (1024ull * 1024)
#define G (1024ull * M)

/* The "physical memory" behind the allocator's metadata: a host buffer. */
#define META_MAX (4 * M)
static uint64_t meta_store[META_MAX / 8];
static uint64_t meta_phys_seen;

static void *host_phys_to_virt(uint64_t phys)
{
    meta_phys_seen = phys;
    return meta_store;
}

static struct boot_mem_range R(uint64_t base, uint64_t length, uint32_t type)
{
    return (struct boot_mem_range){ .base = base, .length = length, .type = type };
}

static int init(struct frame_alloc *fa, const struct boot_mem_range *map, size_t n,
                const struct frame_range *ex, size_t nex)
{
    struct frame_alloc_config cfg = { map, n, ex, nex, host_phys_to_virt };
    int rc = frame_alloc_init(fa, &cfg);
    if (rc == FA_OK) {
        assert_int_equal(meta_phys_seen, fa->meta_phys);
        assert_true(fa->meta_bytes <= META_MAX);
    }
    return rc;
}

static bool in_span(uint64_t a, uint64_t base, uint64_t len)
{
    return a >= base && a - base < len;
}

static void basic_pc_map_test(void **state)
{
    struct boot_mem_range map[] = {
        R(0, 640 * K, BOOT_MEM_USABLE),
        R(640 * K, 384 * K, BOOT_MEM_RESERVED),
        R(1 * M, 63 * M, BOOT_MEM_USABLE),
    };
    struct frame_range ex[] = { { 1 * M, 2 * M } };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 3, ex, 1), FA_OK);
    assert_int_equal(fa.meta_phys, 3 * M);
    assert_int_equal(fa.meta_bytes, 4096); /* 16384 frames, 2 bits each */
    uint64_t expect = (640 * K - 4 * K) + (64 * M - 3 * M - 4 * K);
    assert_int_equal(frame_alloc_total_bytes(&fa), expect);
    assert_int_equal(frame_alloc_free_bytes(&fa), expect);

    uint64_t p = frame_alloc_pages(&fa, 1, 0, 0);
    assert_int_equal(p, 3 * M + 4 * K);
    assert_int_equal(frame_alloc_free_bytes(&fa), expect - 4 * K);
    assert_int_equal(frame_alloc_low_pages(&fa, 1, 0), 4 * K);
    assert_int_equal(frame_alloc_low_pages(&fa, 2, 2), 8 * K);
    assert_int_equal(frame_alloc_low_pages(&fa, 160, 0), 0); /* 159 frames of low RAM left */
    assert_int_equal(frame_alloc_low_pages(&fa, 155, 0), 16 * K);
    assert_int_equal(frame_free_pages(&fa, p, 1), FA_OK);
    assert_int_equal(frame_free_pages(&fa, 4 * K, 1), FA_OK);
    assert_int_equal(frame_alloc_free_bytes(&fa), expect - 157 * 4 * K);
}

static void never_below_1m_test(void **state)
{
    struct boot_mem_range map[] = { R(0, 2 * M, BOOT_MEM_USABLE) };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 1, NULL, 0), FA_OK);
    assert_int_equal(fa.meta_phys, 1 * M);
    uint64_t p;
    int n = 0;
    while ((p = frame_alloc_pages(&fa, 1, 0, 0)) != 0) {
        assert_true(p >= 1 * M + 4 * K && p < 2 * M);
        n++;
    }
    assert_int_equal(n, 255);
    assert_int_equal(frame_alloc_low_pages(&fa, 255, 0), 4 * K);
    assert_int_equal(frame_alloc_low_pages(&fa, 1, 0), 0);
    assert_int_equal(frame_alloc_free_bytes(&fa), 0);
}

/* Allocates every frame one at a time and checks none is in any of the bad spans. */
static uint64_t drain_checking(struct frame_alloc *fa, const struct frame_range *bad, size_t nbad)
{
    uint64_t count = 0, p;
    while ((p = frame_alloc_pages(fa, 1, 0, 0)) != 0 || (p = frame_alloc_low_pages(fa, 1, 0)) != 0) {
        for (size_t i = 0; i < nbad; i++)
            assert_false(in_span(p, bad[i].base & ~4095ull,
                                 ((bad[i].base + bad[i].length + 4095) & ~4095ull) - (bad[i].base & ~4095ull)));
        assert_false(in_span(p, fa->meta_phys, fa->meta_bytes));
        count++;
    }
    assert_int_equal(frame_alloc_free_bytes(fa), 0);
    return count;
}

static void reserved_wins_over_usable_test(void **state)
{
    struct boot_mem_range map[] = {
        R(1 * M, 31 * M, BOOT_MEM_USABLE),
        R(8 * M + 100, 100, BOOT_MEM_RESERVED),            /* grows to one whole frame */
        R(12 * M, 2 * M, BOOT_MEM_ACPI_RECLAIM),
        R(20 * M - 4 * K, 8 * K, BOOT_MEM_ACPI_NVS),
        R(16 * M, 1 * M, BOOT_MEM_USABLE),                 /* duplicate of usable: harmless */
        R(24 * M, 1 * M, BOOT_MEM_BAD),
        R(26 * M, 1 * M, BOOT_MEM_FIRMWARE),
        R(28 * M, 1 * M, 99),                               /* unknown type: not usable */
        R(30 * M, 1 * M, BOOT_MEM_LOADER),
        R(30 * M + 512 * K, 1 * M, BOOT_MEM_USABLE),        /* overlaps LOADER: loses */
    };
    struct frame_range bad[] = {
        { 8 * M + 100, 100 }, { 12 * M, 2 * M }, { 20 * M - 4 * K, 8 * K }, { 24 * M, 1 * M },
        { 26 * M, 1 * M },    { 28 * M, 1 * M }, { 30 * M, 1 * M },
    };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, sizeof(map) / sizeof(map[0]), NULL, 0), FA_OK);
    uint64_t expect = 31 * M - 4 * K - 2 * M - 8 * K - 4 * M;
    assert_int_equal(frame_alloc_total_bytes(&fa), expect - fa.meta_bytes);
    assert_int_equal(drain_checking(&fa, bad, 7) * 4 * K, expect - fa.meta_bytes);
}

static void unsorted_with_holes_test(void **state)
{
    struct boot_mem_range map[] = {
        R(4 * G, 1 * G, BOOT_MEM_USABLE),
        R(0xfec00000, 0x1400000, BOOT_MEM_RESERVED),
        R(1 * M, 15 * M, BOOT_MEM_USABLE),
        R(0x9fc00, 0x400, BOOT_MEM_RESERVED),
        R(0, 0x9fc00, BOOT_MEM_USABLE),
        R(64 * M, 64 * M, BOOT_MEM_USABLE),
    };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, sizeof(map) / sizeof(map[0]), NULL, 0), FA_OK);
    /* span: 0 .. 5G = 1310720 frames, 2 bits each = 320 KiB at 1 MiB */
    assert_int_equal(fa.meta_phys, 1 * M);
    assert_int_equal(fa.meta_bytes, 320 * K);
    uint64_t low = 0x9f000 - 4 * K;
    assert_int_equal(frame_alloc_total_bytes(&fa), low + 15 * M - 320 * K + 64 * M + 1 * G);
    /* a run that fits only in the 64M..128M range, then only above 4G */
    assert_int_equal(frame_alloc_pages(&fa, 16 * M / 4096, 0, 0), 64 * M);
    assert_int_equal(frame_alloc_pages(&fa, 49 * M / 4096, 0, 0), 4 * G);
    assert_int_equal(frame_alloc_pages(&fa, 2 * G / 4096, 0, 0), 0);
    /* below 4G, nothing spans the hole at 16M..64M */
    assert_int_equal(frame_alloc_pages(&fa, 60 * M / 4096, 0, 4 * G), 0);
    assert_int_equal(frame_alloc_pages(&fa, 60 * M / 4096, 0, 0), 4 * G + 49 * M);
}

static void unaligned_ranges_shrink_test(void **state)
{
    struct boot_mem_range map[] = {
        R(1 * M + 1, 1 * M + 4094, BOOT_MEM_USABLE),       /* frames [1M+4K, 2M) */
        R(4 * M + 4095, 4 * K, BOOT_MEM_USABLE),           /* no whole frame */
        R(8 * M, 1 * M + 10, BOOT_MEM_USABLE),
    };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 3, NULL, 0), FA_OK);
    assert_int_equal(fa.meta_phys, 1 * M + 4 * K);
    assert_int_equal(frame_alloc_total_bytes(&fa), (1 * M - 4 * K) - 4 * K + 1 * M);
    uint64_t p;
    while ((p = frame_alloc_pages(&fa, 1, 0, 0)) != 0)
        assert_true((p >= 1 * M + 8 * K && p < 2 * M) || (p >= 8 * M && p < 9 * M));
}

static void modules_inside_ram_test(void **state)
{
    struct boot_mem_range map[] = { R(0, 256 * M, BOOT_MEM_USABLE) };
    struct boot_info bi;
    memset(&bi, 0, sizeof(bi));
    bi.kernel_base = 2 * M;
    bi.kernel_end = 3 * M + 123;
    bi.module_count = 3;
    bi.modules[0] = (struct boot_module){ 1 * M, 8 * K + 1, "atoll.cfg" };
    bi.modules[1] = (struct boot_module){ 16 * M, 8 * M, "vmlinuz" };
    bi.modules[2] = (struct boot_module){ 100 * M + 512, 1000, "odd" };
    struct frame_range ex[8];
    size_t nex = frame_alloc_boot_excludes(&bi, 5 * M, ex, 8);
    assert_int_equal(nex, 5);
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 1, ex, nex), FA_OK);
    /* 1M..1M+12K module, 2M..3M+4K kernel, 5M.. boot_info: metadata goes at 1M+12K */
    assert_int_equal(fa.meta_phys, 1 * M + 12 * K);
    drain_checking(&fa, ex, nex);
}

static void alignment_and_limit_test(void **state)
{
    struct boot_mem_range map[] = { R(1 * M, 63 * M, BOOT_MEM_USABLE) };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 1, NULL, 0), FA_OK);
    uint64_t a = frame_alloc_pages(&fa, 1, 512, 0);
    assert_int_equal(a, 2 * M);
    uint64_t b = frame_alloc_pages(&fa, 3, 4, 0);
    assert_int_equal(b, 1 * M + 16 * K);
    assert_int_equal(frame_alloc_pages(&fa, 1, 3, 0), 0);                  /* not a power of 2 */
    assert_int_equal(frame_alloc_pages(&fa, 1, FRAME_ALLOC_MAX_ALIGN * 2, 0), 0);
    assert_int_equal(frame_alloc_pages(&fa, 0, 0, 0), 0);
    /* limit: must end at or below max_phys */
    assert_int_equal(frame_alloc_pages(&fa, 256, 256, 2 * M), 0);
    uint64_t c = frame_alloc_pages(&fa, 2, 0, 1 * M + 32 * K);
    assert_int_equal(c, 1 * M + 4 * K);
    assert_int_equal(frame_alloc_pages(&fa, 1, 0, 1 * M + 8 * K), 0);
    assert_int_equal(frame_alloc_pages(&fa, 1, FRAME_ALLOC_MAX_ALIGN, 0), 0); /* no 1G frame */
    uint64_t big = frame_alloc_pages(&fa, 8 * M / 4096, 4 * M / 4096, 0);
    assert_int_equal(big, 4 * M);
}

static void free_errors_test(void **state)
{
    struct boot_mem_range map[] = {
        R(1 * M, 15 * M, BOOT_MEM_USABLE),
        R(6 * M, 1 * M, BOOT_MEM_RESERVED),
    };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 2, NULL, 0), FA_OK);
    uint64_t p = frame_alloc_pages(&fa, 4, 0, 0);
    assert_true(p != 0);
    uint64_t before = frame_alloc_free_bytes(&fa);
    assert_int_equal(frame_free_pages(&fa, p + 1, 1), FA_ERR_ALIGN);
    assert_int_equal(frame_free_pages(&fa, p, 0), FA_ERR_RANGE);
    assert_int_equal(frame_free_pages(&fa, 64 * M, 1), FA_ERR_RANGE);
    assert_int_equal(frame_free_pages(&fa, 15 * M, 1024), FA_ERR_RANGE);
    assert_int_equal(frame_free_pages(&fa, UINT64_MAX & ~4095ull, 1), FA_ERR_RANGE);
    assert_int_equal(frame_free_pages(&fa, 6 * M, 1), FA_ERR_NOT_RAM);
    assert_int_equal(frame_free_pages(&fa, fa.meta_phys, 1), FA_ERR_NOT_RAM);
    assert_int_equal(frame_free_pages(&fa, 0, 1), FA_ERR_NOT_RAM);
    assert_int_equal(frame_free_pages(&fa, p + 16 * K, 1), FA_ERR_NOT_ALLOCATED);
    assert_int_equal(frame_free_pages(&fa, p, 5), FA_ERR_NOT_ALLOCATED); /* one too many */
    assert_int_equal(frame_alloc_free_bytes(&fa), before);                /* nothing changed */
    assert_int_equal(frame_free_pages(&fa, p + 4 * K, 2), FA_OK);
    assert_int_equal(frame_free_pages(&fa, p + 4 * K, 1), FA_ERR_NOT_ALLOCATED);
    assert_int_equal(frame_free_pages(&fa, p, 1), FA_OK);
    assert_int_equal(frame_free_pages(&fa, p + 12 * K, 1), FA_OK);
    assert_int_equal(frame_alloc_free_bytes(&fa), before + 16 * K);
    assert_string_equal(frame_alloc_strerror(FA_ERR_NOT_ALLOCATED),
                        "range includes frames that are already free");
}

static void init_errors_test(void **state)
{
    struct frame_alloc fa;
    struct boot_mem_range reserved_only[] = { R(0, 1 * G, BOOT_MEM_RESERVED) };
    assert_int_equal(init(&fa, reserved_only, 1, NULL, 0), FA_ERR_NO_RAM);
    assert_int_equal(init(&fa, NULL, 0, NULL, 0), FA_ERR_NO_RAM);
    struct boot_mem_range low_only[] = { R(0, 640 * K, BOOT_MEM_USABLE) };
    assert_int_equal(init(&fa, low_only, 1, NULL, 0), FA_ERR_NO_METADATA);
    struct boot_mem_range tiny[] = { R(4 * K, 100, BOOT_MEM_USABLE) };
    assert_int_equal(init(&fa, tiny, 1, NULL, 0), FA_ERR_NO_RAM);
    struct boot_mem_range all_excluded[] = { R(1 * M, 1 * M, BOOT_MEM_USABLE) };
    struct frame_range ex[] = { { 0, 2 * M } };
    assert_int_equal(init(&fa, all_excluded, 1, ex, 1), FA_ERR_NO_METADATA);
    struct frame_alloc_config no_cb = { low_only, 1, NULL, 0, NULL };
    assert_int_equal(frame_alloc_init(&fa, &no_cb), FA_ERR_ARGS);
    /* a failed init leaves an allocator that hands out nothing */
    assert_int_equal(frame_alloc_pages(&fa, 1, 0, 0), 0);
    assert_int_equal(frame_free_pages(&fa, 1 * M, 1), FA_ERR_RANGE);
}

static void hostile_ranges_test(void **state)
{
    struct boot_mem_range map[] = {
        R(1 * M, 7 * M, BOOT_MEM_USABLE),
        R(UINT64_MAX - 4095, 1 * M, BOOT_MEM_USABLE),     /* wraps: above the limit */
        R(1ull << 60, 1 * G, BOOT_MEM_USABLE),             /* beyond FRAME_ALLOC_MAX_PHYS */
        R(3 * M, UINT64_MAX, BOOT_MEM_RESERVED),           /* wraps: reserves everything above */
        R(2 * M, 0, BOOT_MEM_RESERVED),                    /* empty */
    };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 5, NULL, 0), FA_OK);
    assert_int_equal(frame_alloc_total_bytes(&fa), 2 * M - fa.meta_bytes);
    struct frame_range bad[] = { { 3 * M, 5 * M } };
    assert_int_equal(drain_checking(&fa, bad, 1) * 4 * K, 2 * M - fa.meta_bytes);
}

static void exhaust_and_refill_test(void **state)
{
    struct boot_mem_range map[] = { R(1 * M, 3 * M, BOOT_MEM_USABLE) };
    struct frame_alloc fa;
    assert_int_equal(init(&fa, map, 1, NULL, 0), FA_OK);
    uint64_t total = frame_alloc_free_bytes(&fa);
    static uint64_t pages[1024];
    size_t n = 0;
    while ((pages[n] = frame_alloc_pages(&fa, 1, 0, 0)) != 0)
        n++;
    assert_int_equal(n * 4 * K, total);
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(frame_free_pages(&fa, pages[i], 1), FA_OK);
    assert_int_equal(frame_alloc_pages(&fa, 2, 0, 0), 0); /* fragmented */
    for (size_t i = 1; i < n; i += 2)
        assert_int_equal(frame_free_pages(&fa, pages[i], 1), FA_OK);
    assert_int_equal(frame_alloc_free_bytes(&fa), total);
    assert_int_not_equal(frame_alloc_pages(&fa, n, 0, 0), 0);
}

/* Random maps in a 64 MiB window against a frame-by-frame model of the rules. */
static bool model_owned(const struct boot_mem_range *map, size_t n, const struct frame_range *ex,
                        size_t nex, const struct frame_alloc *fa, uint64_t f)
{
    uint64_t a = f * 4096, b = a + 4096;
    bool usable = false;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = map[i].base, e = map[i].base + map[i].length;
        if (map[i].type == BOOT_MEM_USABLE && s <= a && b <= e)
            usable = true;
        if (map[i].type != BOOT_MEM_USABLE && s < b && a < e)
            return false;
    }
    for (size_t i = 0; i < nex; i++)
        if (ex[i].length && ex[i].base < b && a < ex[i].base + ex[i].length)
            return false;
    if (f == 0 || (a >= fa->meta_phys && a < fa->meta_phys + fa->meta_bytes))
        return false;
    return usable;
}

static void random_maps_model_test(void **state)
{
    uint64_t seed = 0x1234567;
    for (int round = 0; round < 300; round++) {
        struct boot_mem_range map[12];
        struct frame_range ex[3];
        size_t n = 0;
        for (; n < 12; n++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t base = (seed >> 8) % (64 * M), len = (seed >> 36) % (16 * M);
            if (seed & 1)
                base &= ~4095ull;
            map[n] = R(base, len, (seed >> 4) % 3 ? BOOT_MEM_USABLE : BOOT_MEM_RESERVED);
        }
        for (size_t i = 0; i < 3; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            ex[i] = (struct frame_range){ (seed >> 8) % (64 * M), (seed >> 40) % (2 * M) };
        }
        struct frame_alloc fa;
        int rc = init(&fa, map, n, ex, 3);
        if (rc != FA_OK)
            continue;
        uint64_t owned = 0;
        for (uint64_t f = 0; f < 96 * M / 4096; f++) {
            bool expect = model_owned(map, n, ex, 3, &fa, f);
            owned += expect;
            bool got = f >= fa.base_frame && f - fa.base_frame < fa.frames &&
                       bitmap_test(&fa.owned, f - fa.base_frame);
            if (expect != got)
                fail_msg("round %d frame %#llx: expected %d", round, (unsigned long long)f, expect);
        }
        assert_int_equal(owned * 4096, frame_alloc_total_bytes(&fa));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_pc_map_test),
        cmocka_unit_test(never_below_1m_test),
        cmocka_unit_test(reserved_wins_over_usable_test),
        cmocka_unit_test(unsorted_with_holes_test),
        cmocka_unit_test(unaligned_ranges_shrink_test),
        cmocka_unit_test(modules_inside_ram_test),
        cmocka_unit_test(alignment_and_limit_test),
        cmocka_unit_test(free_errors_test),
        cmocka_unit_test(init_errors_test),
        cmocka_unit_test(hostile_ranges_test),
        cmocka_unit_test(exhaust_and_refill_test),
        cmocka_unit_test(random_maps_model_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
