/* npt: a partition's nested page tables: RAM mapped (2 MiB leaves where the backing is
 * contiguous), write protection and absence per 4 KiB page splitting a 2 MiB leaf without
 * changing its other pages, foreign (channel) pages outside RAM only, and running out of
 * frames midway: nothing half done, no page lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/mm/kmem.h"
#include "hv/svm/npt.h"

#define MIB        (1ull << 20)
#define P          (1ull << 0)
#define RW         (1ull << 1)
#define US         (1ull << 2)
#define PS         (1ull << 7)
#define ADDR       0x000ffffffffff000ull
#define RAM_SIZE   (4 * MIB)          /* a 2 MiB chunk, then one of scattered pages */
#define SCATTERED  0x50000000ull
#define FOREIGN    0x7000000000ull

static struct guest_chunk chunks[2];
static uint64_t pages[512];
static struct guest_mem mem = { .size = RAM_SIZE, .chunk_count = 2, .chunks = chunks };
static struct npt n;

static int setup(void **state)
{
    (void)state;
    fake_kmem_reset();
    chunks[0] = (struct guest_chunk){ .hpa = 0x40000000ull };
    chunks[1] = (struct guest_chunk){ .pages = pages };
    for (unsigned i = 0; i < 512; i++)
        pages[i] = SCATTERED + (uint64_t)(511 - i) * 0x3000;
    memset(&n, 0, sizeof(n));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    npt_destroy(&n);
    assert_int_equal(fake_kmem_in_use(), 0);
    return 0;
}

/* The leaf entry for gpa and its level (0: 4 KiB, 1: 2 MiB); 0 when none. */
static uint64_t leaf(uint64_t gpa, int *level)
{
    uint64_t *t = n.pml4;
    for (int l = 3; l >= 0; l--) {
        uint64_t x = t[(gpa >> (12 + 9 * l)) & 511];
        if (l == 0 || (x & PS)) {
            *level = l;
            return x;
        }
        if (!(x & P))
            return 0;
        assert_true((x & (P | RW | US)) == (P | RW | US));     /* tables never restrict */
        t = phys_to_virt(x & ADDR);
    }
    return 0;
}

static uint64_t host_of(uint64_t gpa)
{
    int level;
    uint64_t x = leaf(gpa, &level);
    uint64_t mask = level ? (2 * MIB - 1) : 0xfff;
    return (x & ADDR & ~mask) | (gpa & mask);
}

static void ram_is_mapped_with_large_leaves(void **state)
{
    (void)state;
    assert_true(npt_build(&n, &mem, true));
    assert_int_equal(n.ncr3, virt_to_phys(n.pml4));
    int level;
    uint64_t x = leaf(0x1000, &level);
    assert_int_equal(level, 1);
    assert_true((x & (P | RW | US)) == (P | RW | US));
    for (uint64_t gpa = 0; gpa < RAM_SIZE; gpa += 0x1000)
        assert_int_equal(host_of(gpa + 0x123), guest_mem_hpa(&mem, gpa) | 0x123);
    assert_int_equal(leaf(RAM_SIZE, &level), 0);            /* nothing beyond RAM */
}

static void write_protection_splits_and_keeps_the_rest(void **state)
{
    (void)state;
    assert_true(npt_build(&n, &mem, true));
    assert_true(npt_set_permissions(&n, 0x5000, 0x2000, NPT_READ));
    int level;
    for (uint64_t gpa = 0; gpa < 2 * MIB; gpa += 0x1000) {
        uint64_t x = leaf(gpa, &level);
        assert_int_equal(level, 0);
        bool ro = gpa == 0x5000 || gpa == 0x6000;
        assert_true((x & (P | US)) == (P | US));
        assert_int_equal(!!(x & RW), !ro);
        assert_int_equal(host_of(gpa), 0x40000000ull + gpa);
    }
    assert_true(npt_set_permissions(&n, 0x5000, 0x2000, NPT_ALL));
    assert_true(leaf(0x5000, &level) & RW);
}

static void absent_pages_keep_their_frame(void **state)
{
    (void)state;
    assert_true(npt_build(&n, &mem, true));
    assert_true(npt_set_permissions(&n, 2 * MIB, 2 * MIB, 0));
    int level;
    for (uint64_t gpa = 2 * MIB; gpa < 4 * MIB; gpa += 0x1000) {
        uint64_t x = leaf(gpa, &level);
        assert_false(x & (P | RW | US));
        assert_int_equal(x & ADDR, guest_mem_hpa(&mem, gpa));
    }
    assert_true(npt_set_permissions(&n, 2 * MIB, 2 * MIB, NPT_ALL));
    assert_true(leaf(3 * MIB, &level) & P);
    assert_false(npt_set_permissions(&n, RAM_SIZE - 0x1000, 0x2000, 0));  /* past RAM */
    assert_true(leaf(RAM_SIZE - 0x1000, &level) & P);      /* ... and nothing changed */
}

static void foreign_pages_only_outside_ram(void **state)
{
    (void)state;
    assert_true(npt_build(&n, &mem, true));
    assert_false(npt_map_page(&n, 0x3000, 0x90000000ull, NPT_ALL));         /* RAM */
    assert_false(npt_map_page(&n, 1ull << 48, 0x90000000ull, NPT_ALL));     /* too far */
    assert_true(npt_map_page(&n, FOREIGN, 0x90000000ull, NPT_READ));
    assert_false(npt_map_page(&n, FOREIGN, 0x91000000ull, NPT_ALL));        /* taken */
    int level;
    uint64_t x = leaf(FOREIGN, &level);
    assert_int_equal(x & ADDR, 0x90000000ull);
    assert_true((x & (P | US)) == (P | US));
    assert_false(x & RW);
    assert_false(npt_set_permissions(&n, FOREIGN, 0x1000, NPT_ALL));        /* not RAM */
    npt_unmap_page(&n, FOREIGN);
    assert_int_equal(leaf(FOREIGN, &level), 0);
    npt_unmap_page(&n, 2 * MIB + 0x1000);                   /* RAM stays */
    assert_true(leaf(2 * MIB + 0x1000, &level) & P);
}

static void out_of_frames_changes_nothing(void **state)
{
    (void)state;
    assert_true(npt_build(&n, &mem, true));
    fake_kmem_set_budget(0);
    assert_false(npt_set_permissions(&n, 0x1000, 0x1000, NPT_READ));
    int level;
    uint64_t x = leaf(0x1000, &level);
    assert_int_equal(level, 1);
    assert_true(x & RW);
    assert_false(npt_map_page(&n, FOREIGN, 0x90000000ull, NPT_ALL));
    fake_kmem_set_budget(-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ram_is_mapped_with_large_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(write_protection_splits_and_keeps_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_pages_keep_their_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_pages_only_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_frames_changes_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
