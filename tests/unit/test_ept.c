/* ept: building a partition's EPT, 2 MiB -> 4 KiB splits that keep every permission and
 * the memory type, permission changes across 2 MiB boundaries, foreign (channel) pages,
 * and running out of frames midway: no half-done change, no page lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/mm/kmem.h"
#include "hv/vmx/ept.h"

#define MIB        (1ull << 20)
#define WB         (6ull << 3)
#define LEAF_2M    (1ull << 7)
#define ADDR       0x000ffffffffff000ull
#define RAM_SIZE   (7 * MIB)          /* 2 MiB, split 2 MiB, 2 MiB, 1 MiB */
#define SPLIT_BASE 0x50000000ull
#define TAIL_BASE  0x60000000ull
#define FOREIGN    0x7000000000ull    /* a window outside RAM, as the channels use */

static struct guest_chunk chunks[4];
static uint64_t split_pages[512], tail_pages[512];
static struct guest_mem mem = { .size = RAM_SIZE, .chunk_count = 4, .chunks = chunks };
static struct ept e;

/* Where the RAM at gpa lives on the host. */
static uint64_t ram_hpa(uint64_t gpa) { return guest_mem_hpa(&mem, gpa) | (gpa & 0xfff); }

static int setup(void **state)
{
    (void)state;
    fake_kmem_reset();
    chunks[0] = (struct guest_chunk){ .hpa = 0x40000000ull };
    chunks[1] = (struct guest_chunk){ .pages = split_pages };
    chunks[2] = (struct guest_chunk){ .hpa = 0x40400000ull };
    chunks[3] = (struct guest_chunk){ .pages = tail_pages };
    for (unsigned i = 0; i < 512; i++) {
        split_pages[i] = SPLIT_BASE + (uint64_t)(511 - i) * 0x3000;   /* scattered */
        tail_pages[i] = i < 256 ? TAIL_BASE + (uint64_t)i * 4096 : 0;
    }
    memset(&e, 0, sizeof(e));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ept_destroy(&e);
    assert_int_equal(fake_kmem_in_use(), 0);
    return 0;
}

/* The leaf entry mapping gpa and its level (0: 4 KiB, 1: 2 MiB); 0 when none. */
static uint64_t leaf(uint64_t gpa, int *level)
{
    uint64_t *t = e.pml4;
    for (int l = 3; l >= 0; l--) {
        uint64_t x = t[(gpa >> (12 + 9 * l)) & 511];
        if (l == 0 || (x & LEAF_2M) || !(x & 7)) {
            *level = l;
            return (l == 0 || (x & LEAF_2M)) ? x : 0;
        }
        t = phys_to_virt(x & ADDR);
    }
    return 0;
}

static void assert_ram_mapped(unsigned perms)
{
    for (uint64_t gpa = 0; gpa < RAM_SIZE; gpa += 4096) {
        int level;
        uint64_t x = leaf(gpa, &level);
        assert_int_equal(ept_translate(&e, gpa + 0x123), ram_hpa(gpa + 0x123));
        assert_int_equal(x & 7, perms);
        assert_int_equal(x & (7ull << 3), WB);
    }
}

static void build_maps_ram_and_nothing_else(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    assert_int_equal(e.eptp & 0xfff, (3u << 3) | 6u);
    assert_int_equal(e.eptp & ~0xfffull, virt_to_phys(e.pml4));
    assert_ram_mapped(EPT_RWX);
    int level;
    leaf(0, &level);
    assert_int_equal(level, 1);                     /* whole chunks: 2 MiB leaves */
    leaf(2 * MIB, &level);
    assert_int_equal(level, 0);
    assert_int_equal(e.table_pages, 5);             /* PML4, PDPT, PD, 2 PTs */
    assert_int_equal(fake_kmem_in_use(), 5);
    assert_int_equal(ept_translate(&e, RAM_SIZE), ~0ull);
    assert_int_equal(ept_translate(&e, 1ull << 32), ~0ull);
}

static void build_without_large_pages(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, false));
    assert_ram_mapped(EPT_RWX);
    int level;
    leaf(0, &level);
    assert_int_equal(level, 0);
    assert_int_equal(e.table_pages, 3 + 4);
}

static void build_out_of_frames_leaves_nothing(void **state)
{
    (void)state;
    for (long budget = 0; budget < 5; budget++) {
        fake_kmem_set_budget(budget);
        assert_false(ept_build(&e, &mem, true));
        assert_int_equal(fake_kmem_in_use(), 0);
        assert_null(e.pml4);
    }
    fake_kmem_set_budget(5);
    assert_true(ept_build(&e, &mem, true));
}

static void split_keeps_permissions_and_type(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    uint64_t gpa = 4 * MIB + 0x5000;                /* inside the second 2 MiB leaf */
    assert_true(ept_set_permissions(&e, gpa, 0x2000, EPT_READ | EPT_EXEC));
    assert_int_equal(e.table_pages, 6);
    for (uint64_t a = 4 * MIB; a < 6 * MIB; a += 4096) {
        int level;
        uint64_t x = leaf(a, &level);
        assert_int_equal(level, 0);
        assert_int_equal(x & ADDR, 0x40400000ull + (a - 4 * MIB));
        assert_int_equal(x & (7ull << 3), WB);
        bool changed = a >= gpa && a < gpa + 0x2000;
        assert_int_equal(x & 7, changed ? (EPT_READ | EPT_EXEC) : EPT_RWX);
    }
    int level;
    leaf(0, &level);
    assert_int_equal(level, 1);                     /* the other leaf stays whole */
    assert_true(ept_set_permissions(&e, gpa, 0x2000, EPT_RWX));
    assert_ram_mapped(EPT_RWX);
    assert_int_equal(e.table_pages, 6);             /* nothing split twice */
}

static void range_straddling_two_large_pages(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    /* The last two pages of chunk 1 (4 KiB pages) and the first two of chunk 2 (2 MiB). */
    assert_true(ept_set_permissions(&e, 4 * MIB - 0x2000, 0x4000, EPT_READ));
    for (uint64_t a = 4 * MIB - 0x4000; a < 4 * MIB + 0x4000; a += 4096) {
        int level;
        uint64_t x = leaf(a, &level);
        bool changed = a >= 4 * MIB - 0x2000 && a < 4 * MIB + 0x2000;
        assert_int_equal(x & 7, changed ? EPT_READ : EPT_RWX);
        assert_int_equal(ept_translate(&e, a), ram_hpa(a));
    }
    /* Chunk 0 to chunk 2 in one call: every page of 6 MiB. */
    assert_true(ept_set_permissions(&e, 0, 6 * MIB, EPT_READ | EPT_EXEC));
    for (uint64_t a = 0; a < 6 * MIB; a += 4096) {
        int level;
        assert_int_equal(leaf(a, &level) & 7, EPT_READ | EPT_EXEC);
    }
    int level;
    assert_int_equal(leaf(6 * MIB, &level) & 7, EPT_RWX);
}

/* Every permission as it was: the whole change or none of it. */
static void out_of_frames_midway_changes_nothing(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    fake_kmem_set_budget(1);                        /* splits chunk 0, not chunk 2 */
    assert_false(ept_set_permissions(&e, MIB, 4 * MIB, EPT_READ));
    for (uint64_t a = 0; a < RAM_SIZE; a += 4096) {
        int level;
        assert_int_equal(leaf(a, &level) & 7, EPT_RWX);
        assert_int_equal(ept_translate(&e, a), ram_hpa(a));
    }
    fake_kmem_set_budget(-1);
    assert_true(ept_set_permissions(&e, MIB, 4 * MIB, EPT_READ));
}

static void range_leaving_ram_changes_nothing(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    assert_false(ept_set_permissions(&e, RAM_SIZE - 0x2000, 0x3000, EPT_READ));
    assert_false(ept_set_permissions(&e, 0x1000, ~0ull - 0x800, EPT_READ));   /* wraps */
    assert_ram_mapped(EPT_RWX);
    assert_true(ept_set_permissions(&e, 0, 0, EPT_READ));
    assert_ram_mapped(EPT_RWX);
}

static void foreign_pages(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    size_t before = fake_kmem_in_use();
    assert_true(ept_map_page(&e, FOREIGN, 0x9000000ull, EPT_RWX, false));
    assert_true(ept_map_page(&e, FOREIGN + 0x1000, 0x9005000ull, EPT_READ | EPT_EXEC, false));
    assert_int_equal(ept_translate(&e, FOREIGN + 0x10), 0x9000010ull);
    assert_int_equal(ept_translate(&e, FOREIGN + 0x1010), 0x9005010ull);
    int level;
    assert_int_equal(leaf(FOREIGN + 0x1000, &level) & 7, EPT_READ | EPT_EXEC);
    assert_int_equal(leaf(FOREIGN, &level) >> 3 & 7, 6);           /* write-back */
    assert_true(ept_map_page(&e, FOREIGN + 0x2000, 0x9007000ull, EPT_RWX, true));
    assert_int_equal(leaf(FOREIGN + 0x2000, &level) >> 3 & 7, 1);  /* write-combining */
    assert_int_equal(leaf(FOREIGN + 0x2000, &level) >> 6 & 1, 0);   /* the guest's PAT counts */
    ept_unmap_page(&e, FOREIGN + 0x2000);
    assert_int_equal(fake_kmem_in_use(), before + 2);   /* a PD and a PT for the window */
    ept_unmap_page(&e, FOREIGN);
    assert_int_equal(ept_translate(&e, FOREIGN), ~0ull);
    assert_int_equal(ept_translate(&e, FOREIGN + 0x1000), 0x9005000ull);
    ept_unmap_page(&e, FOREIGN + 0x1000);
    ept_unmap_page(&e, FOREIGN + 0x2000);               /* never mapped */
    assert_int_equal(ept_translate(&e, FOREIGN + 0x1000), ~0ull);
    assert_ram_mapped(EPT_RWX);
}

/* A foreign page never replaces RAM, and unmapping never removes RAM. */
static void foreign_pages_stay_out_of_ram(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    assert_false(ept_map_page(&e, 2 * MIB + 0x3000, 0x9000000ull, EPT_RWX, false));   /* 4 KiB RAM */
    assert_false(ept_map_page(&e, 0x3000, 0x9000000ull, EPT_RWX, false));             /* 2 MiB RAM */
    assert_true(ept_map_page(&e, FOREIGN, 0x9000000ull, EPT_RWX, false));
    assert_false(ept_map_page(&e, FOREIGN, 0x9001000ull, EPT_RWX, false));            /* taken */
    ept_unmap_page(&e, 2 * MIB + 0x3000);
    ept_unmap_page(&e, 0x3000);
    assert_ram_mapped(EPT_RWX);
    int level;
    leaf(0x3000, &level);
    assert_int_equal(level, 1);                         /* not split by the unmap */
    assert_int_equal(ept_translate(&e, FOREIGN), 0x9000000ull);
}

/* A 4-level EPT reaches 48 bits: nothing above may alias an address below. */
static void addresses_beyond_the_ept(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    assert_false(ept_map_page(&e, (1ull << 48) + FOREIGN, 0x9000000ull, EPT_RWX, false));
    assert_false(ept_map_page(&e, 0xfffffffffffff000ull, 0x9000000ull, EPT_RWX, false));
    assert_int_equal(ept_translate(&e, FOREIGN), ~0ull);
    assert_int_equal(ept_translate(&e, 1ull << 48), ~0ull);
    ept_unmap_page(&e, (1ull << 48) + 0x3000);
    assert_false(ept_set_permissions(&e, (1ull << 48), 0x1000, EPT_READ));
    assert_ram_mapped(EPT_RWX);
}

static void foreign_map_out_of_frames(void **state)
{
    (void)state;
    assert_true(ept_build(&e, &mem, true));
    size_t before = fake_kmem_in_use();
    for (long budget = 0; budget < 3; budget++) {
        fake_kmem_set_budget(budget);
        assert_false(ept_map_page(&e, FOREIGN + (uint64_t)budget * (1ull << 39), 0x9000000ull,
                                  EPT_RWX, false));
        assert_int_equal(ept_translate(&e, FOREIGN + (uint64_t)budget * (1ull << 39)), ~0ull);
        assert_int_equal(fake_kmem_in_use(), before);   /* the tables it made are gone */
    }
    fake_kmem_set_budget(-1);
    assert_true(ept_map_page(&e, FOREIGN, 0x9000000ull, EPT_RWX, false));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(build_maps_ram_and_nothing_else),
        T(build_without_large_pages),
        T(build_out_of_frames_leaves_nothing),
        T(split_keeps_permissions_and_type),
        T(range_straddling_two_large_pages),
        T(out_of_frames_midway_changes_nothing),
        T(range_leaving_ram_changes_nothing),
        T(foreign_pages),
        T(foreign_pages_stay_out_of_ram),
        T(addresses_beyond_the_ept),
        T(foreign_map_out_of_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
