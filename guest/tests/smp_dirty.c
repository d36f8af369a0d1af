/*
 * Two vCPUs writing memory without pause, the load a live snapshot must keep up with: each
 * owns half a buffer and goes round it, word by word, checking that every word still holds
 * what it wrote the round before and writing the round number into it.  A snapshot taken
 * meanwhile (live or stopped) and restored goes on from the pause: any word that does not
 * hold its last round (a block restored from a copy older than the pause) is counted bad.
 * It prints "smp_dirty: writing" once both write and "smp_dirty: halfway" at half time, for
 * a [script] to act on.  Knobs: `kib=N` (1024, the buffer), `ms=N` (4000, guest time).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("smp_dirty");

#define CPUS 2

static uint64_t base, half_bytes, end_tsc;
static volatile uint64_t rounds[CPUS], bad[CPUS];
static volatile uint32_t writing[CPUS], done[CPUS];

static uint64_t value(uint64_t addr, uint64_t round)
{
    return addr * 0x9e3779b97f4a7c15ull ^ round;
}

static void write_rounds(unsigned cpu)
{
    uint64_t from = base + cpu * half_bytes, to = from + half_bytes;
    for (uint64_t a = from; a < to; a += 8)
        *(volatile uint64_t *)(uintptr_t)a = value(a, 0);
    __atomic_store_n(&writing[cpu], 1, __ATOMIC_RELEASE);
    uint64_t r = 1, wrong = 0;
    for (; rdtsc() < end_tsc; r++) {
        for (uint64_t a = from; a < to; a += 8) {
            volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)a;
            wrong += *w != value(a, r - 1);
            *w = value(a, r);
        }
        rounds[cpu] = r;
    }
    bad[cpu] = wrong;
    __atomic_store_n(&done[cpu], 1, __ATOMIC_RELEASE);
}

static void ap_main(unsigned cpu)
{
    write_rounds(cpu);
}

static bool wait_flag(volatile uint32_t *flag, uint64_t us)
{
    uint64_t limit = rdtsc() + us * (tsc_hz() / 1000000);
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && rdtsc() < limit)
        pause();
    return *flag;
}

void test_main(void)
{
    uint64_t bytes = cmdline_u64("kib", 1024) << 10, ms = cmdline_u64("ms", 4000);
    base = (image_end() + 0xfffff) & ~0xfffffull;
    half_bytes = bytes / CPUS;
    if (boot.cpus < CPUS)
        report_fatal("needs %u vCPUs, the partition has %u", CPUS, boot.cpus);
    if (base + bytes > boot_ram_end())
        report_fatal("no room for %lu KiB above %#lx", (unsigned long)(bytes >> 10),
                     (unsigned long)base);
    lapic_enable(LAPIC_XAPIC);
    end_tsc = rdtsc() + ms * (tsc_hz() / 1000);
    uint64_t half_tsc = rdtsc() + ms / 2 * (tsc_hz() / 1000);
    report(smp_start_ap(1, 1, ap_main), "AP 1 started");
    if (!wait_flag(&writing[1], 1000000))
        report_fatal("AP 1 did not begin writing");
    printf("smp_dirty: writing: 2 vCPUs, %lu KiB each, for %lu ms\n",
           (unsigned long)(half_bytes >> 10), (unsigned long)ms);
    /* The BSP writes too; it looks up at half time to say so. */
    uint64_t from = base, to = base + half_bytes, r = 1, wrong = 0;
    for (uint64_t a = from; a < to; a += 8)
        *(volatile uint64_t *)(uintptr_t)a = value(a, 0);
    bool said = false;
    for (; rdtsc() < end_tsc; r++) {
        for (uint64_t a = from; a < to; a += 8) {
            volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)a;
            wrong += *w != value(a, r - 1);
            *w = value(a, r);
        }
        if (!said && rdtsc() >= half_tsc) {
            printf("smp_dirty: halfway: %lu and %lu rounds\n", (unsigned long)r,
                   (unsigned long)rounds[1]);
            said = true;
        }
    }
    rounds[0] = r - 1;
    bad[0] = wrong;
    report(wait_flag(&done[1], 2000000), "AP 1 finished");
    for (unsigned c = 0; c < CPUS; c++)
        report(bad[c] == 0 && rounds[c] >= 1, "vCPU %u: %lu rounds over %lu KiB, %lu words not "
               "as last written", c, (unsigned long)rounds[c], (unsigned long)(half_bytes >> 10),
               (unsigned long)bad[c]);
}
