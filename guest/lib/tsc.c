#include "guest/lib/tsc.h"

#include "guest/lib/x86.h"

#define PIT_HZ        1193182ull
#define PIT_CH0       0x40
#define PIT_CMD       0x43
#define PIT_SAMPLE    11932u      /* 10 ms of PIT ticks */
#define FALLBACK_HZ   2000000000ull
#define MAX_READS     2000000

static uint64_t hz;
static bool measured;

static uint16_t pit_read(void)
{
    outb(PIT_CMD, 0x00); /* latch channel 0 */
    uint8_t lo = inb(PIT_CH0);
    uint8_t hi = inb(PIT_CH0);
    return (uint16_t)(lo | (hi << 8));
}

/*
 * Channel 0 in mode 2 counting down from 65536 (one wrap is 55 ms); counts elapsed PIT
 * ticks across wraps against the TSC.  A vCPU that loses its CPU between two reads for a
 * whole wrap or more would lose those ticks and read a TSC rate too high (seen 1.3x-5x
 * under contention), so a step whose TSC delta is far above the usual cost of one read
 * (GAP_FACTOR times the smallest step seen) counts neither its TSC nor its PIT ticks.
 */
#define GAP_FACTOR 32u
static bool measure(void)
{
    outb(PIT_CMD, 0x34);
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0);
    uint16_t prev = pit_read();
    uint64_t prev_tsc = rdtsc(), tsc_used = 0, min_step = ~0ull;
    uint32_t elapsed = 0;
    for (int i = 0; i < MAX_READS && elapsed < PIT_SAMPLE; i++) {
        uint16_t now = pit_read();
        uint64_t t = rdtsc(), step = t - prev_tsc;
        uint16_t ticks = (uint16_t)(prev - now);
        prev = now;
        prev_tsc = t;
        if (step && step < min_step)
            min_step = step;
        if (i >= 8 && step > min_step * GAP_FACTOR)
            continue;                   /* off the CPU meanwhile: a wrap may be lost */
        elapsed += ticks;
        tsc_used += step;
    }
    if (elapsed < PIT_SAMPLE)
        return false;
    hz = tsc_used * PIT_HZ / elapsed;
    return hz != 0;
}

uint64_t tsc_hz(void)
{
    if (!hz) {
        measured = measure();
        if (!measured)
            hz = FALLBACK_HZ;
    }
    return hz;
}

bool tsc_calibrated(void)
{
    tsc_hz();
    return measured;
}

void udelay(uint64_t us)
{
    uint64_t start = rdtsc(), ticks = us * (tsc_hz() / 1000000);
    while (rdtsc() - start < ticks)
        pause();
}

uint64_t tsc_to_us(uint64_t ticks)
{
    return ticks / (tsc_hz() / 1000000 ? tsc_hz() / 1000000 : 1);
}
