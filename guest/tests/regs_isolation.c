/*
 * Registers no VM exit saves must still be this partition's own: CR2 and DR0-DR3, DR6
 * (VT-x keeps neither in the VMCS), and DR7 (in the VMCS only when the exit saves it).  Two partitions share one CPU, each writing its own
 * pattern (tag=N on the command line) and reading it back after a spin that spans time
 * slices; a value from the other partition is an isolation failure.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("regs_isolation");

#define RUN_MS      300
#define SPIN_US     2000

static uint64_t pattern(uint64_t tag, uint64_t i, unsigned reg)
{
    return 0x1000ull * (tag * 0x10000 + (i & 0xffff) * 8 + reg) | (tag << 40);
}

static void set_regs(uint64_t tag, uint64_t i)
{
    uint64_t cr2 = pattern(tag, i, 0), d0 = pattern(tag, i, 1), d1 = pattern(tag, i, 2),
             d2 = pattern(tag, i, 3), d3 = pattern(tag, i, 4);
    uint64_t dr6 = 0xffff0ff0ull | (1ull << (tag & 3));
    /* L0/L1 enable execute breakpoints at DR0/DR1: addresses this guest never runs */
    uint64_t dr7 = 0x400 | (tag & 1 ? 1 : 4);
    __asm__ volatile("mov %0, %%cr2" : : "r"(cr2));
    __asm__ volatile("mov %0, %%db0" : : "r"(d0));
    __asm__ volatile("mov %0, %%db1" : : "r"(d1));
    __asm__ volatile("mov %0, %%db2" : : "r"(d2));
    __asm__ volatile("mov %0, %%db3" : : "r"(d3));
    __asm__ volatile("mov %0, %%db6" : : "r"(dr6));
    __asm__ volatile("mov %0, %%db7" : : "r"(dr7));
}

/* Bit mask of the registers (CR2, DR0-3, DR6, DR7) that do not hold what set_regs wrote. */
static unsigned changed_regs(uint64_t tag, uint64_t i)
{
    uint64_t r[7];
    __asm__ volatile("mov %%cr2, %0" : "=r"(r[0]));
    __asm__ volatile("mov %%db0, %0" : "=r"(r[1]));
    __asm__ volatile("mov %%db1, %0" : "=r"(r[2]));
    __asm__ volatile("mov %%db2, %0" : "=r"(r[3]));
    __asm__ volatile("mov %%db3, %0" : "=r"(r[4]));
    __asm__ volatile("mov %%db6, %0" : "=r"(r[5]));
    __asm__ volatile("mov %%db7, %0" : "=r"(r[6]));
    unsigned bad = 0;
    for (unsigned k = 0; k < 5; k++)
        bad |= (r[k] != pattern(tag, i, k)) << k;
    bad |= ((r[5] & 0xf) != (1ull << (tag & 3))) << 5;
    bad |= ((r[6] & 0xff) != (tag & 1 ? 1u : 4u)) << 6;
    return bad;
}

void test_main(void)
{
    uint64_t tag = cmdline_u64("tag", 1);
    uint64_t end = rdtsc() + tsc_hz() / 1000 * RUN_MS;
    unsigned rounds = 0, wrong = 0, which = 0;
    for (uint64_t i = 0; rdtsc() < end; i++) {
        set_regs(tag, i);
        udelay(SPIN_US);
        unsigned bad = changed_regs(tag, i);
        wrong += bad != 0;
        which |= bad;
        rounds++;
    }
    __asm__ volatile("mov %0, %%db7" : : "r"(0x400ull));
    report(rounds > 10, "regs_isolation: %u rounds of %u us over %u ms (tag %lu)", rounds,
           SPIN_US, RUN_MS, tag);
    report(wrong == 0, "CR2, DR0-DR3, DR6 and DR7 kept across time slices: %u rounds saw another "
           "value (registers %#x: bit 0 CR2, 1-4 DR0-DR3, 5 DR6, 6 DR7)", wrong, which);
}
