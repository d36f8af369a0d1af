/* guest_walk: every paging mode, huge pages, reserved bits at each level, non-canonical
 * addresses, tables that loop or lie outside RAM, and reads that cross pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/guest_walk.h"
#include "tests/unit/guest_mem_flat.h"

#define RAM_SIZE (4ull << 20)
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD   0x3000ull
#define PT   0x4000ull
#define PML5 0x5000ull
#define DATA 0x10000ull
#define P    1ull
#define RW   2ull
#define PS   (1ull << 7)
#define XD   (1ull << 63)

#define CR0_PG   (1ull << 31)
#define CR0_PE   1ull
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static uint8_t ram[RAM_SIZE];
static struct guest_mem mem;
static struct guest_paging pg;
static struct guest_walk_cpu cpu;

static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint64_t entry(uint64_t table, uint64_t linear, unsigned level)
{
    return table + ((linear >> (12 + 9 * level)) & 511) * 8;
}

static enum guest_walk_result walk(uint64_t linear, uint64_t *gpa)
{
    *gpa = 0xdeadbeef;
    return guest_walk(&mem, &pg, &cpu, linear, gpa);
}

static int reset(void **state)
{
    (void)state;
    memset(ram, 0, sizeof(ram));
    guest_mem_flat_init(&mem, ram, RAM_SIZE);
    pg = (struct guest_paging){ .cr0 = CR0_PG | CR0_PE, .cr3 = PML4, .cr4 = CR4_PAE,
                                .efer = EFER_LME | EFER_LMA | EFER_NXE, .cs_long = true };
    cpu = (struct guest_walk_cpu){ .maxphyaddr = 46, .pages_1g = true };
    return 0;
}

/* linear -> PML4 -> PDPT -> PD -> PT -> page, one table per level. */
static void map_4k(uint64_t linear, uint64_t page)
{
    put64(entry(PML4, linear, 3), PDPT | P | RW);
    put64(entry(PDPT, linear, 2), PD | P | RW);
    put64(entry(PD, linear, 1), PT | P | RW);
    put64(entry(PT, linear, 0), page | P | RW);
}

static void no_paging_is_identity_below_4g(void **state)
{
    (void)state;
    uint64_t gpa;
    pg.cr0 = CR0_PE;
    assert_int_equal(walk(0x12345678, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x12345678);
    assert_int_equal(walk(0x100001000ull, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x1000);
}

static void four_level_4k_page(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0x00007f1234567abcull;
    map_4k(linear, DATA);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0xabc);
    assert_int_equal(walk(linear + 0x1000, &gpa), GUEST_WALK_NOT_PRESENT);
    /* CR3's low bits (PCID, PWT, PCD) and bit 63 are not part of the table's address. */
    pg.cr3 = PML4 | 0x18 | 0x5 | (1ull << 63);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0xabc);
}

static void not_present_at_each_level(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0x00001234567ff000ull;
    uint64_t entries[] = { entry(PML4, linear, 3), entry(PDPT, linear, 2),
                           entry(PD, linear, 1), entry(PT, linear, 0) };
    for (unsigned i = 0; i < 4; i++) {
        map_4k(linear, DATA);
        uint64_t e;
        memcpy(&e, ram + entries[i], 8);
        put64(entries[i], e & ~P);
        assert_int_equal(walk(linear, &gpa), GUEST_WALK_NOT_PRESENT);
    }
}

static void non_canonical_addresses_fault(void **state)
{
    (void)state;
    uint64_t gpa;
    map_4k(0, DATA);
    map_4k(0xffff800000001000ull, DATA + 0x1000);
    assert_int_equal(walk(0x0000800000000000ull, &gpa), GUEST_WALK_NON_CANONICAL);
    assert_int_equal(walk(0xffff7fffffffffffull, &gpa), GUEST_WALK_NON_CANONICAL);
    assert_int_equal(walk(0x8000000000000000ull, &gpa), GUEST_WALK_NON_CANONICAL);
    assert_int_equal(walk(0xffff800000001000ull, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0x1000);
    /* 5-level paging: 57-bit canonical form. */
    pg.cr4 |= CR4_LA57;
    pg.cr3 = PML5;
    put64(PML5, PML4 | P);
    assert_int_equal(walk(0, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA);
    assert_int_equal(walk(0x0000800000001000ull, &gpa), GUEST_WALK_OK);   /* PML4[256] */
    assert_int_equal(gpa, DATA + 0x1000);
    assert_int_equal(walk(0x0001000000000000ull, &gpa), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(walk(0x0100000000000000ull, &gpa), GUEST_WALK_NON_CANONICAL);
    assert_int_equal(walk(0xfe00000000000000ull, &gpa), GUEST_WALK_NON_CANONICAL);
}

static void huge_pages(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0x0000004000000000ull + 0x40000000ull + 0x00600000ull + 0x1234;
    put64(entry(PML4, linear, 3), PDPT | P);
    put64(entry(PDPT, linear, 2), PD | P);
    put64(entry(PD, linear, 1), 0x00200000ull | PS | P | (1ull << 12));   /* PAT bit: fine */
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x00201234);
    for (unsigned bit = 13; bit <= 20; bit++) {
        put64(entry(PD, linear, 1), 0x00200000ull | PS | P | (1ull << bit));
        assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    }
    put64(entry(PDPT, linear, 2), 0x40000000ull | PS | P | (1ull << 12));
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x40601234);
    for (unsigned bit = 13; bit <= 29; bit++) {
        put64(entry(PDPT, linear, 2), 0x40000000ull | PS | P | (1ull << bit));
        assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    }
    put64(entry(PDPT, linear, 2), 0x40000000ull | PS | P);
    cpu.pages_1g = false;
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    cpu.pages_1g = true;
    /* PS in a PML4 (or PML5) entry is reserved, not a 512 GiB page. */
    put64(entry(PML4, linear, 3), PDPT | P | PS);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
}

static void reserved_bits_at_each_level(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0x0000123456789000ull;
    uint64_t entries[] = { entry(PML4, linear, 3), entry(PDPT, linear, 2),
                           entry(PD, linear, 1), entry(PT, linear, 0) };
    for (unsigned i = 0; i < 4; i++) {
        uint64_t bad[] = { 1ull << 46, 1ull << 51, XD };
        for (unsigned b = 0; b < 3; b++) {
            map_4k(linear, DATA);
            uint64_t e;
            memcpy(&e, ram + entries[i], 8);
            put64(entries[i], e | bad[b]);
            pg.efer &= ~EFER_NXE;
            assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
            pg.efer |= EFER_NXE;
            assert_int_equal(walk(linear, &gpa), bad[b] == XD ? GUEST_WALK_OK : GUEST_WALK_RESERVED);
            /* Bits 62:52 are ignored (or protection keys) in 4-level paging. */
            put64(entries[i], (e | (0x7ffull << 52)));
            assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
            assert_int_equal(gpa, DATA);
        }
    }
    /* With a 52-bit physical address width, bit 51 is an address bit (outside RAM here). */
    cpu.maxphyaddr = 52;
    map_4k(linear, DATA);
    put64(entry(PT, linear, 0), DATA | (1ull << 51) | P);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA | (1ull << 51));
    put64(entry(PD, linear, 1), PT | (1ull << 51) | P);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OUTSIDE_RAM);
}

static void tables_outside_ram(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0x7000;
    pg.cr3 = RAM_SIZE;
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OUTSIDE_RAM);
    pg.cr3 = 0xfffffffffffff000ull;
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OUTSIDE_RAM);
    pg.cr3 = PML4;
    map_4k(linear, DATA);
    put64(entry(PD, linear, 1), (RAM_SIZE - 0x1000 + 0x200000) | P);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OUTSIDE_RAM);
    /* A leaf may name any guest-physical address (a device); reading it is the caller's. */
    map_4k(linear, 0xfee00000ull);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0xfee00000ull);
    uint8_t b;
    assert_false(guest_read_linear(&mem, &pg, linear, &b, 1));
}

/* Recursive entries are legal (operating systems map their tables that way): the walk
 * reads one entry per level and gives the CPU's answer. */
static void looping_tables(void **state)
{
    (void)state;
    uint64_t gpa;
    put64(PML4 + 511 * 8, PML4 | P | RW);
    assert_int_equal(walk(0xfffffffffffff008ull, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, PML4 + 8);
    put64(PML4, PML4 | P | RW);                      /* every level is the PML4 */
    assert_int_equal(walk(0x0000000000000abcull, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, PML4 + 0xabc);
    put64(PML4, PDPT | P);                           /* two tables pointing at each other */
    put64(PDPT, PML4 | P);
    assert_int_equal(walk(0x123, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, PML4 + 0x123);             /* PML4, PDPT, PML4, PDPT: the PML4 */
    put64(PDPT, PML4 | P | PS);                      /* the loop closed by a 1 GiB page */
    assert_int_equal(walk(0x123, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x123);                    /* bit 12 is PAT there, not address */
    put64(PDPT, PD | P | PS);                        /* 0x3000: bit 13 is reserved */
    assert_int_equal(walk(0x123, &gpa), GUEST_WALK_RESERVED);
}

static void paging_32bit(void **state)
{
    (void)state;
    uint64_t gpa;
    pg.cr4 = 0;
    pg.efer = 0;
    pg.cs_long = false;
    put32(PML4 + (0x00401000u >> 22) * 4, (uint32_t)PT | P);
    put32(PT + 1 * 4, (uint32_t)DATA | P);
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0xabc);
    assert_int_equal(walk(0x100401abcull, &gpa), GUEST_WALK_OK);     /* 32-bit linear */
    assert_int_equal(gpa, DATA + 0xabc);
    assert_int_equal(walk(0x00402000, &gpa), GUEST_WALK_NOT_PRESENT);
    /* PS without CR4.PSE is ignored: the entry names a page table. */
    put32(PML4 + (0x00401000u >> 22) * 4, (uint32_t)PT | P | PS);
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0xabc);
    pg.cr4 = CR4_PSE;                                    /* 4 MiB page */
    put32(PML4 + (0x00401000u >> 22) * 4, 0x00c00000u | P | PS);
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x00c01abc);
    put32(PML4 + (0x00401000u >> 22) * 4, 0x00c00000u | P | PS | (0x12u << 13));  /* PSE-36 */
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x1200c01abcull);
    put32(PML4 + (0x00401000u >> 22) * 4, 0x00c00000u | P | PS | (1u << 21));
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_RESERVED);
    cpu.maxphyaddr = 36;                                 /* bits 20:17 reserved */
    put32(PML4 + (0x00401000u >> 22) * 4, 0x00c00000u | P | PS | (1u << 17));
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_RESERVED);
    put32(PML4 + (0x00401000u >> 22) * 4, 0x00c00000u | P | PS | (1u << 16));
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x800c01abcull);
    pg.cr3 = RAM_SIZE;
    assert_int_equal(walk(0x00401abc, &gpa), GUEST_WALK_OUTSIDE_RAM);
}

static void paging_pae(void **state)
{
    (void)state;
    uint64_t gpa, linear = 0xc0601abc;
    pg.efer = 0;
    pg.cs_long = false;
    pg.cr3 = PML4 + 0x20;                                /* 32-byte aligned PDPT */
    put64(PML4 + 0x20 + 3 * 8, PD | P);
    put64(PD + 3 * 8, PT | P);
    put64(PT + 1 * 8, DATA | P);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, DATA + 0xabc);
    assert_int_equal(walk(linear | (1ull << 32), &gpa), GUEST_WALK_OK);
    assert_int_equal(walk(0x00601abc, &gpa), GUEST_WALK_NOT_PRESENT);
    unsigned pdpte_reserved[] = { 1, 2, 5, 6, 7, 8, 46, 63 };
    for (unsigned i = 0; i < 8; i++) {
        put64(PML4 + 0x20 + 3 * 8, PD | P | (1ull << pdpte_reserved[i]));
        assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    }
    put64(PML4 + 0x20 + 3 * 8, PD | P);
    put64(PT + 1 * 8, DATA | P | (1ull << 55));          /* 62:M reserved in PAE paging */
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    put64(PT + 1 * 8, DATA | P | XD);
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
    pg.efer = EFER_NXE;
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    put64(PD + 3 * 8, 0x00200000ull | P | PS);            /* 2 MiB page */
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_OK);
    assert_int_equal(gpa, 0x00201abc);
    put64(PD + 3 * 8, 0x00200000ull | P | PS | (1ull << 13));
    assert_int_equal(walk(linear, &gpa), GUEST_WALK_RESERVED);
}

static void reads_cross_pages(void **state)
{
    (void)state;
    uint64_t linear = 0x00007ffffffff000ull - 0x1000;
    map_4k(linear, DATA + 0x5000);
    map_4k(linear + 0x1000, DATA);                       /* the next page lies lower */
    ram[DATA + 0x5fff] = 0x11;
    ram[DATA] = 0x22;
    ram[DATA + 0xfff] = 0x33;
    static uint8_t b[0x2000];
    assert_true(guest_read_linear(&mem, &pg, linear + 0xfff, b, 2));
    assert_int_equal(b[0], 0x11);
    assert_int_equal(b[1], 0x22);
    /* The last canonical page, then the first non-canonical address. */
    assert_true(guest_read_linear(&mem, &pg, linear + 0x1fff, b, 1));
    assert_int_equal(b[0], 0x33);
    assert_false(guest_read_linear(&mem, &pg, linear + 0x1fff, b, 2));
    assert_true(guest_read_linear(&mem, &pg, linear, b, 0x2000));
    assert_false(guest_read_linear(&mem, &pg, linear, b, 0x2001));
    /* 32-bit paging wraps at 4 GiB. */
    pg = (struct guest_paging){ .cr0 = CR0_PG | CR0_PE, .cr3 = PML4 };
    put32(PML4 + 1023 * 4, (uint32_t)PT | P);
    put32(PT + 1023 * 4, (uint32_t)(DATA + 0x5000) | P);
    put32(PML4, (uint32_t)PD | P);
    put32(PD, (uint32_t)DATA | P);
    assert_true(guest_read_linear(&mem, &pg, 0xffffffffull, b, 2));
    assert_int_equal(b[0], 0x11);
    assert_int_equal(b[1], 0x22);
}

/* ---- access rights and the fault the CPU raises ------------------------------------- */

#define US      (1ull << 2)
#define CR0_WP  (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

static enum guest_walk_result access_ac(uint64_t linear, bool write, bool user, bool fetch,
                                        bool ac, struct guest_fault *f)
{
    uint64_t gpa;
    struct guest_access a = { .write = write, .user = user, .fetch = fetch, .ac = ac };
    enum guest_walk_result r = guest_walk_access(&mem, &pg, &cpu, linear, &a, &gpa);
    f->vector = 0xff;
    f->error = 0xdead;
    assert_int_equal(guest_walk_fault(r, &pg, &a, f), r != GUEST_WALK_OK);
    return r;
}

static enum guest_walk_result access(uint64_t linear, bool write, bool user, bool fetch,
                                     struct guest_fault *f)
{
    return access_ac(linear, write, user, fetch, false, f);
}

/* A 4 KiB page with the leaf's own bits; the tables above it allow everything. */
static void map_4k_leaf(uint64_t linear, uint64_t page, uint64_t bits)
{
    put64(entry(PML4, linear, 3), PDPT | P | RW | US);
    put64(entry(PDPT, linear, 2), PD | P | RW | US);
    put64(entry(PD, linear, 1), PT | P | RW | US);
    put64(entry(PT, linear, 0), page | bits);
}

static void rights_user_supervisor(void **state)
{
    (void)state;
    struct guest_fault f;
    map_4k_leaf(0x400000, DATA, P | RW);
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_OK);
    assert_int_equal(access(0x400000, false, true, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.error, 0x5);                 /* P | U/S */
    assert_int_equal(access(0x400000, true, true, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x7);                 /* P | W | U/S */
    /* U/S clear at one upper level is enough. */
    map_4k_leaf(0x400000, DATA, P | RW | US);
    assert_int_equal(access(0x400000, false, true, false, &f), GUEST_WALK_OK);
    put64(entry(PDPT, 0x400000, 2), PD | P | RW);
    assert_int_equal(access(0x400000, false, true, false, &f), GUEST_WALK_PROTECTION);
}

static void rights_write_protect(void **state)
{
    (void)state;
    struct guest_fault f;
    map_4k_leaf(0x400000, DATA, P | US);
    assert_int_equal(access(0x400000, true, false, false, &f), GUEST_WALK_OK);  /* WP = 0 */
    assert_int_equal(access(0x400000, true, true, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x7);
    pg.cr0 |= CR0_WP;
    assert_int_equal(access(0x400000, true, false, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x3);                 /* P | W */
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_OK);
}

static void rights_fetch(void **state)
{
    (void)state;
    struct guest_fault f;
    map_4k_leaf(0x400000, DATA, P | RW | XD);
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_OK);
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x11);                /* P | I/D */
    /* SMEP: a supervisor fetch from a user page. */
    map_4k_leaf(0x400000, DATA, P | RW | US);
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_OK);
    pg.cr4 |= CR4_SMEP;
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x11);
    assert_int_equal(access(0x400000, false, true, true, &f), GUEST_WALK_OK);
}

/* SMAP: a supervisor data access to a user page faults unless EFLAGS.AC is set; fetches
 * are SMEP's, user accesses and supervisor pages are untouched; with AC, CR0.WP still
 * decides a write to a read-only page. */
static void rights_smap(void **state)
{
    (void)state;
    struct guest_fault f;
    map_4k_leaf(0x400000, DATA, P | RW | US);
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_OK);
    pg.cr4 |= CR4_SMAP;
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.error, 0x1);                 /* P */
    assert_int_equal(access(0x400000, true, false, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x3);                 /* P | W */
    assert_int_equal(access_ac(0x400000, false, false, false, true, &f), GUEST_WALK_OK);
    assert_int_equal(access_ac(0x400000, true, false, false, true, &f), GUEST_WALK_OK);
    assert_int_equal(access(0x400000, true, true, false, &f), GUEST_WALK_OK);
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_OK);
    map_4k_leaf(0x400000, DATA, P | RW);
    assert_int_equal(access(0x400000, true, false, false, &f), GUEST_WALK_OK);
    map_4k_leaf(0x400000, DATA, P | US);
    pg.cr0 |= CR0_WP;
    assert_int_equal(access_ac(0x400000, true, false, false, true, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x3);
    pg.cr0 &= ~CR0_WP;
    assert_int_equal(access_ac(0x400000, true, false, false, true, &f), GUEST_WALK_OK);
}

/* I/D only where no-execute (PAE paging with EFER.NXE) or SMEP is on; P clear for a page
 * that is not there; RSVD with P for a reserved bit. */
static void fault_error_codes(void **state)
{
    (void)state;
    struct guest_fault f;
    assert_int_equal(access(0x800000, false, false, true, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.error, 0x10);
    assert_int_equal(access(0x800000, false, true, true, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.error, 0x14);
    assert_int_equal(access(0x800000, true, false, false, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.error, 0x2);
    pg.efer &= ~EFER_NXE;
    assert_int_equal(access(0x800000, false, false, true, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.error, 0);
    pg.cr4 |= CR4_SMEP;
    assert_int_equal(access(0x800000, false, false, true, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.error, 0x10);
    pg.cr4 &= ~CR4_SMEP;
    pg.efer |= EFER_NXE;
    map_4k_leaf(0x400000, DATA, P | RW | (1ull << 50));     /* beyond MAXPHYADDR 46 */
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_RESERVED);
    assert_int_equal(f.error, 0x9);                 /* P | RSVD */
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_RESERVED);
    assert_int_equal(f.error, 0x19);
    assert_int_equal(access(0x0000800000000000ull, false, false, true, &f),
                     GUEST_WALK_NON_CANONICAL);
    assert_int_equal(f.vector, 13);
    assert_int_equal(f.error, 0);
    pg.cr3 = RAM_SIZE + 0x1000;                     /* tables outside RAM: all-ones on a CPU */
    assert_int_equal(access(0x400000, false, false, false, &f), GUEST_WALK_OUTSIDE_RAM);
    assert_int_equal(f.error, 0x9);
}

/* 32-bit paging has no XD: I/D stays clear without SMEP. */
static void fault_error_codes_32bit(void **state)
{
    (void)state;
    struct guest_fault f;
    pg = (struct guest_paging){ .cr0 = CR0_PG | CR0_PE, .cr3 = PD, .efer = EFER_NXE };
    put32(PD + (0x400000 >> 22) * 4, (uint32_t)(PT | P | RW));
    put32(PT, (uint32_t)(DATA | P));
    assert_int_equal(access(0x400000, false, true, false, &f), GUEST_WALK_PROTECTION);
    assert_int_equal(f.error, 0x5);
    assert_int_equal(access(0x400000, false, false, true, &f), GUEST_WALK_OK);
    assert_int_equal(access(0x401000, false, false, true, &f), GUEST_WALK_NOT_PRESENT);
    assert_int_equal(f.error, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(no_paging_is_identity_below_4g, reset),
        cmocka_unit_test_setup(four_level_4k_page, reset),
        cmocka_unit_test_setup(not_present_at_each_level, reset),
        cmocka_unit_test_setup(non_canonical_addresses_fault, reset),
        cmocka_unit_test_setup(huge_pages, reset),
        cmocka_unit_test_setup(reserved_bits_at_each_level, reset),
        cmocka_unit_test_setup(tables_outside_ram, reset),
        cmocka_unit_test_setup(looping_tables, reset),
        cmocka_unit_test_setup(paging_32bit, reset),
        cmocka_unit_test_setup(paging_pae, reset),
        cmocka_unit_test_setup(reads_cross_pages, reset),
        cmocka_unit_test_setup(rights_user_supervisor, reset),
        cmocka_unit_test_setup(rights_write_protect, reset),
        cmocka_unit_test_setup(rights_fetch, reset),
        cmocka_unit_test_setup(rights_smap, reset),
        cmocka_unit_test_setup(fault_error_codes, reset),
        cmocka_unit_test_setup(fault_error_codes_32bit, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
