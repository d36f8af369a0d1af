#include "hv/arch/x86/tsc.h"

#include "hv/arch/x86/cpu.h"

#define PIT_HZ 1193182u

static uint64_t hz;
static uint64_t tsc_base;

uint64_t pit_wait_ms(unsigned ms)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * ms / 1000);
    if (count > 0xffff)
        count = 0xffff;
    /* channel 2, gate on, speaker off, mode 0 (interrupt on terminal count) */
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    uint64_t start = rdtsc();
    for (unsigned long spins = 0; !(inb(0x61) & 0x20) && spins < 100000000ul; spins++)
        cpu_relax();
    return rdtsc() - start;
}

void tsc_calibrate(void)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < 3; i++) {
        uint64_t t = pit_wait_ms(10);
        if (t < best)
            best = t;
    }
    hz = best * 100;
    if (hz == 0)
        hz = 1000000000ull;
    tsc_base = rdtsc();
}

uint64_t tsc_hz(void) { return hz; }

uint64_t time_ns(void)
{
    uint64_t d = rdtsc() - tsc_base;
    return d / hz * 1000000000ull + (d % hz) * 1000000000ull / hz;
}

void udelay(uint64_t us)
{
    uint64_t end = rdtsc() + hz / 1000000ull * us;
    while ((int64_t)(rdtsc() - end) < 0)
        cpu_relax();
}
